// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for the crypto backend (lib/crypto/backend.h).
 *
 * Built twice: test_crypto links libcore (lib/crypto/openssl.c) and checks
 * everything against published vectors and against OpenSSL's EVP called
 * directly here; test_crypto_portable (ES_TEST_PORTABLE) links the
 * portable backend the boot build has instead (portable.c and the
 * *_portable.c files) and libcrypto only as the oracle, and runs the same checks
 * on everything the portable backend implements, plus its internal SHA-512
 * and AES block cipher.
 *
 * Vectors: AES-256-XTS from IEEE Std 1619-2007 (vectors 10-14), AES-256-GCM
 * from the GCM specification (McGrew & Viega, test cases 13 to 16), HKDF
 * from RFC 5869 (test cases 1 and 3), HMAC-SHA256/512 from RFC 4231 (test
 * cases 1, 2 and 6), Ed25519 from RFC 8032 (section 7.1, tests 1-3), AES
 * from FIPS 197 (appendix C.3), SHA-512 from FIPS 180-4 ("abc"), Argon2id
 * from RFC 9106 (section 5.3), X25519 from RFC 7748 (sections 5.2 and
 * 6.1).  Other inputs come from a fixed-seed generator.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "seeded_rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "crypto/backend.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#ifdef ES_TEST_PORTABLE
#include "crypto/aes_portable.h"
#include "crypto/sha512.h"
#else
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "crypto/sign_internal.h"
#include "fixed_keys.h"
#endif

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t prng_state = 0x243f6a8885a308d3ull;

static void fill_prng(uint8_t *buf, size_t len)
{
	seeded_fill(&prng_state, buf, len);
}

/* ---- wipe and constant-time compare (both backends) ------------------- */

static void test_wipe(void **state)
{
	uint8_t buf[300];

	(void)state;
	for (size_t len = 0; len < 64; len++) {
		memset(buf, 0xa5, sizeof(buf));
		es_crypto_wipe(buf + 7, len);
		assert_true(all_zero(buf + 7, len));
		/* exactly len bytes, no more, no fewer */
		assert_int_equal(buf[6], 0xa5);
		assert_int_equal(buf[7 + len], 0xa5);
	}
	memset(buf, 0x5a, sizeof(buf));
	es_crypto_wipe(buf, sizeof(buf));
	assert_true(all_zero(buf, sizeof(buf)));
	es_crypto_wipe(NULL, 0);
}

static void test_memcmp(void **state)
{
	uint8_t a[64], b[64];

	(void)state;
	fill_prng(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_int_equal(es_crypto_memcmp(a, b, sizeof(a)), 0);
	assert_int_equal(es_crypto_memcmp(a, b, 0), 0);
	for (size_t i = 0; i < sizeof(a); i++) {
		for (unsigned int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(es_crypto_memcmp(a, b, sizeof(a)), 0);
			/* a difference past len does not count */
			assert_int_equal(es_crypto_memcmp(a, b, i), 0);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned int byte;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
		out[i] = (uint8_t)byte;
	}
}

#ifndef ES_TEST_PORTABLE
/* ---- random (hosted) ------------------------------------------------------ */

static void test_random(void **state)
{
	uint8_t a[64], b[64];

	(void)state;
	/* 2^-512 chance of a false failure per comparison */
	assert_int_equal(es_crypto_random(a, sizeof(a)), 0);
	assert_int_equal(es_crypto_random(b, sizeof(b)), 0);
	assert_false(all_zero(a, sizeof(a)));
	assert_int_not_equal(memcmp(a, b, sizeof(a)), 0);
	assert_int_equal(es_crypto_random_secret(a, sizeof(a)), 0);
	assert_int_equal(es_crypto_random_secret(b, sizeof(b)), 0);
	assert_false(all_zero(a, sizeof(a)));
	assert_int_not_equal(memcmp(a, b, sizeof(a)), 0);
	assert_int_equal(es_crypto_random(NULL, 0), 0);
	assert_int_equal(es_crypto_random(NULL, 1), -EINVAL);
}
#endif

/* ---- AES-256-XTS ------------------------------------------------------ */

/* IEEE 1619 vectors 10-14: this key, plaintext 00 01 .. ff twice. */
static const char ieee_xts_key[] =
	"2718281828459045235360287471352662497757247093699959574966967627"
	"3141592653589793238462643383279502884197169399375105820974944592";

static const struct {
	uint64_t data_unit;		/* sequence number: the tweak, LE */
	const char *ciphertext;
} ieee_xts_vectors[] = {
	{ /* Vector 10 */
	  UINT64_C(0xff),
		"1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
		"5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
		"5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
		"c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
		"2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
		"b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
		"93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
		"583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
		"84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
		"505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
		"9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
		"a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
		"6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
		"645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
		"1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
		"773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151" },
	{ /* Vector 11 */
	  UINT64_C(0xffff),
		"77a31251618a15e6b92d1d66dffe7b50b50bad552305ba0217a610688eff7e11"
		"e1d0225438e093242d6db274fde801d4cae06f2092c728b2478559df58e837c2"
		"469ee4a4fa794e4bbc7f39bc026e3cb72c33b0888f25b4acf56a2a9804f1ce6d"
		"3d6e1dc6ca181d4b546179d55544aa7760c40d06741539c7e3cd9d2f6650b201"
		"3fd0eeb8c2b8e3d8d240ccae2d4c98320a7442e1c8d75a42d6e6cfa4c2eca179"
		"8d158c7aecdf82490f24bb9b38e108bcda12c3faf9a21141c3613b58367f922a"
		"aa26cd22f23d708dae699ad7cb40a8ad0b6e2784973dcb605684c08b8d6998c6"
		"9aac049921871ebb65301a4619ca80ecb485a31d744223ce8ddc2394828d6a80"
		"470c092f5ba413c3378fa6054255c6f9df4495862bbb3287681f931b687c888a"
		"bf844dfc8fc28331e579928cd12bd2390ae123cf03818d14dedde5c0c24c8ab0"
		"18bfca75ca096f2d531f3d1619e785f1ada437cab92e980558b3dce1474afb75"
		"bfedbf8ff54cb2618e0244c9ac0d3c66fb51598cd2db11f9be39791abe447c63"
		"094f7c453b7ff87cb5bb36b7c79efb0872d17058b83b15ab0866ad8a58656c5a"
		"7e20dbdf308b2461d97c0ec0024a2715055249cf3b478ddd4740de654f75ca68"
		"6e0d7345c69ed50cdc2a8b332b1f8824108ac937eb050585608ee734097fc090"
		"54fbff89eeaeea791f4a7ab1f9868294a4f9e27b42af8100cb9d59cef9645803" },
	{ /* Vector 12 */
	  UINT64_C(0xffffff),
		"e387aaa58ba483afa7e8eb469778317ecf4cf573aa9d4eac23f2cdf914e4e200"
		"a8b490e42ee646802dc6ee2b471b278195d60918ececb44bf79966f83faba049"
		"9298ebc699c0c8634715a320bb4f075d622e74c8c932004f25b41e361025b5a8"
		"7815391f6108fc4afa6a05d9303c6ba68a128a55705d415985832fdeaae6c8e1"
		"9110e84d1b1f199a2692119edc96132658f09da7c623efcec712537a3d94c0bf"
		"5d7e352ec94ae5797fdb377dc1551150721adf15bd26a8efc2fcaad56881fa9e"
		"62462c28f30ae1ceaca93c345cf243b73f542e2074a705bd2643bb9f7cc79bb6"
		"e7091ea6e232df0f9ad0d6cf502327876d82207abf2115cdacf6d5a48f6c1879"
		"a65b115f0f8b3cb3c59d15dd8c769bc014795a1837f3901b5845eb491adfefe0"
		"97b1fa30a12fc1f65ba22905031539971a10f2f36c321bb51331cdefb39e3964"
		"c7ef079994f5b69b2edd83a71ef549971ee93f44eac3938fcdd61d01fa71799d"
		"a3a8091c4c48aa9ed263ff0749df95d44fef6a0bb578ec69456aa5408ae32c7a"
		"f08ad7ba8921287e3bbee31b767be06a0e705c864a769137df28292283ea81a2"
		"480241b44d9921cdbec1bc28dc1fda114bd8e5217ac9d8ebafa720e9da4f9ace"
		"231cc949e5b96fe76ffc21063fddc83a6b8679c00d35e09576a875305bed5f36"
		"ed242c8900dd1fa965bc950dfce09b132263a1eef52dd6888c309f5a7d712826" },
	{ /* Vector 13 */
	  UINT64_C(0xffffffff),
		"bf53d2dade78e822a4d949a9bc6766b01b06a8ef70d26748c6a7fc36d80ae4c5"
		"520f7c4ab0ac8544424fa405162fef5a6b7f229498063618d39f0003cb5fb8d1"
		"c86b643497da1ff945c8d3bedeca4f479702a7a735f043ddb1d6aaade3c4a0ac"
		"7ca7f3fa5279bef56f82cd7a2f38672e824814e10700300a055e1630b8f1cb0e"
		"919f5e942010a416e2bf48cb46993d3cb6a51c19bacf864785a00bc2ecff15d3"
		"50875b246ed53e68be6f55bd7e05cfc2b2ed6432198a6444b6d8c247fab941f5"
		"69768b5c429366f1d3f00f0345b96123d56204c01c63b22ce78baf116e525ed9"
		"0fdea39fa469494d3866c31e05f295ff21fea8d4e6e13d67e47ce722e9698a1c"
		"1048d68ebcde76b86fcf976eab8aa9790268b7068e017a8b9b749409514f1053"
		"027fd16c3786ea1bac5f15cb79711ee2abe82f5cf8b13ae73030ef5b9e4457e7"
		"5d1304f988d62dd6fc4b94ed38ba831da4b7634971b6cd8ec325d9c61c00f1df"
		"73627ed3745a5e8489f3a95c69639c32cd6e1d537a85f75cc844726e8a72fc00"
		"77ad22000f1d5078f6b866318c668f1ad03d5a5fced5219f2eabbd0aa5c0f460"
		"d183f04404a0d6f469558e81fab24a167905ab4c7878502ad3e38fdbe62a4155"
		"6cec37325759533ce8f25f367c87bb5578d667ae93f9e2fd99bcbc5f2fbba88c"
		"f6516139420fcff3b7361d86322c4bd84c82f335abb152c4a93411373aaa8220" },
	{ /* Vector 14 */
	  UINT64_C(0xffffffffff),
		"64497e5a831e4a932c09be3e5393376daa599548b816031d224bbf50a818ed23"
		"50eae7e96087c8a0db51ad290bd00c1ac1620857635bf246c176ab463be30b80"
		"8da548081ac847b158e1264be25bb0910bbc92647108089415d45fab1b3d2604"
		"e8a8eff1ae4020cfa39936b66827b23f371b92200be90251e6d73c5f86de5fd4"
		"a950781933d79a28272b782a2ec313efdfcc0628f43d744c2dc2ff3dcb66999b"
		"50c7ca895b0c64791eeaa5f29499fb1c026f84ce5b5c72ba1083cddb5ce45434"
		"631665c333b60b11593fb253c5179a2c8db813782a004856a1653011e93fb6d8"
		"76c18366dd8683f53412c0c180f9c848592d593f8609ca736317d356e13e2bff"
		"3a9f59cd9aeb19cd482593d8c46128bb32423b37a9adfb482b99453fbe25a41b"
		"f6feb4aa0bef5ed24bf73c762978025482c13115e4015aac992e5613a3b5c2f6"
		"85b84795cb6e9b2656d8c88157e52c42f978d8634c43d06fea928f2822e465aa"
		"6576e9bf419384506cc3ce3c54ac1a6f67dc66f3b30191e698380bc999b05abc"
		"e19dc0c6dcc2dd001ec535ba18deb2df1a101023108318c75dc98611a09dc48a"
		"0acdec676fabdf222f07e026f059b672b56e5cbc8e1d21bbd867dd9272120546"
		"81d70ea737134cdfce93b6f82ae22423274e58a0821cc5502e2d0ab4585e94de"
		"6975be5e0b4efce51cd3e70c25a1fbbbd609d273ad5b0d59631c531f6a0a57b9" },
};

/* AES-256-XTS through OpenSSL's EVP directly: the oracle. */
static void evp_xts(int enc, const uint8_t key[64], const uint8_t tweak[16],
		    const uint8_t *in, uint8_t *out, size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, fin = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, key,
					   tweak, enc), 1);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &outl, in, (int)len), 1);
	assert_int_equal(EVP_CipherFinal_ex(ctx, out + outl, &fin), 1);
	assert_int_equal((size_t)(outl + fin), len);
	EVP_CIPHER_CTX_free(ctx);
}

static void test_xts_ieee1619(void **state)
{
	struct es_crypto_xts enc, dec;
	uint8_t key[64], pt[512], ct[512], want[512], tweak[16];

	(void)state;
	hex_to_bytes(ieee_xts_key, key, sizeof(key));
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)i;
	/* one context each for all vectors: a new tweak restarts the unit */
	assert_int_equal(es_crypto_xts_init(&enc, ES_CRYPTO_ENCRYPT), 0);
	assert_int_equal(es_crypto_xts_init(&dec, ES_CRYPTO_DECRYPT), 0);
	assert_int_equal(es_crypto_xts_setkey(&enc, key), 0);
	assert_int_equal(es_crypto_xts_setkey(&dec, key), 0);
	for (size_t v = 0; v < sizeof(ieee_xts_vectors) / sizeof(ieee_xts_vectors[0]); v++) {
		hex_to_bytes(ieee_xts_vectors[v].ciphertext, want, sizeof(want));
		es_crypto_xts_tweak(ieee_xts_vectors[v].data_unit, tweak);

		/* the oracle agrees with the standard... */
		evp_xts(1, key, tweak, pt, ct, sizeof(pt));
		assert_memory_equal(ct, want, sizeof(want));
		/* ...and so does the backend, both ways */
		memset(ct, 0, sizeof(ct));
		assert_int_equal(es_crypto_xts_crypt(&enc, tweak, pt, ct, sizeof(pt)), 0);
		assert_memory_equal(ct, want, sizeof(want));
		assert_int_equal(es_crypto_xts_crypt(&dec, tweak, want, ct, sizeof(ct)), 0);
		assert_memory_equal(ct, pt, sizeof(pt));
	}
	es_crypto_xts_release(&enc);
	es_crypto_xts_release(&dec);
}

static void test_xts_tweak_encoding(void **state)
{
	uint8_t tweak[16];
	static const uint8_t want[16] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	};

	(void)state;
	memset(tweak, 0xee, sizeof(tweak));
	es_crypto_xts_tweak(UINT64_C(0x0102030405060708), tweak);
	assert_memory_equal(tweak, want, sizeof(want));
	es_crypto_xts_tweak(0, tweak);
	assert_true(all_zero(tweak, sizeof(tweak)));
}

/* Whole 4 KiB units, many keys and tweaks, in and out of place, vs EVP. */
static void test_xts_4k_units_vs_evp(void **state)
{
	static const uint64_t indexes[] = {
		0, 1, 2, 255, 256, UINT64_C(0xffffffff), UINT64_C(0x100000000),
		UINT64_MAX,
	};
	enum { UNIT = ES_CRYPTO_XTS_UNIT_SIZE };
	struct es_crypto_xts enc, dec;
	uint8_t *pt = malloc(UNIT), *ct = malloc(UNIT), *want = malloc(UNIT);
	uint8_t *buf = malloc(UNIT), key[64], tweak[16];

	(void)state;
	assert_non_null(pt && ct && want && buf);
	assert_int_equal(es_crypto_xts_init(&enc, ES_CRYPTO_ENCRYPT), 0);
	assert_int_equal(es_crypto_xts_init(&dec, ES_CRYPTO_DECRYPT), 0);
	for (int k = 0; k < 4; k++) {
		/* rekeying the same contexts, as a writer does per chunk */
		fill_prng(key, sizeof(key));
		assert_int_equal(es_crypto_xts_setkey(&enc, key), 0);
		assert_int_equal(es_crypto_xts_setkey(&dec, key), 0);
		for (size_t t = 0; t < sizeof(indexes) / sizeof(indexes[0]); t++) {
			fill_prng(pt, UNIT);
			es_crypto_xts_tweak(indexes[t], tweak);
			evp_xts(1, key, tweak, pt, want, UNIT);

			assert_int_equal(es_crypto_xts_crypt(&enc, tweak, pt, ct, UNIT), 0);
			assert_memory_equal(ct, want, UNIT);
			memcpy(buf, pt, UNIT);
			assert_int_equal(es_crypto_xts_crypt(&enc, tweak, buf, buf, UNIT), 0);
			assert_memory_equal(buf, want, UNIT);

			assert_int_equal(es_crypto_xts_crypt(&dec, tweak, ct, buf, UNIT), 0);
			assert_memory_equal(buf, pt, UNIT);
			assert_int_equal(es_crypto_xts_crypt(&dec, tweak, ct, ct, UNIT), 0);
			assert_memory_equal(ct, pt, UNIT);
			evp_xts(0, key, tweak, want, buf, UNIT);
			assert_memory_equal(buf, pt, UNIT);
		}
	}
	es_crypto_xts_release(&enc);
	es_crypto_xts_release(&dec);
	free(pt);
	free(ct);
	free(want);
	free(buf);
}

static void test_xts_refuses(void **state)
{
	static const size_t bad_lengths[] = {
		0, 1, 15, 17, 100, ES_CRYPTO_XTS_UNIT_SIZE - 1,
		ES_CRYPTO_XTS_UNIT_SIZE + 1, ES_CRYPTO_XTS_UNIT_SIZE + 16,
	};
	struct es_crypto_xts x, zeroed;
	uint8_t key[64], tweak[16] = { 0 };
	uint8_t *buf = calloc(1, 2 * ES_CRYPTO_XTS_UNIT_SIZE);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(es_crypto_xts_init(&x, ES_CRYPTO_ENCRYPT), 0);
	/* no key yet */
	assert_int_equal(es_crypto_xts_crypt(&x, tweak, buf, buf, 16), -EINVAL);
	/* equal halves (IEEE 1619 / SP 800-38E), then no key again */
	fill_prng(key, 32);
	memcpy(key + 32, key, 32);
	assert_int_equal(es_crypto_xts_setkey(&x, key), -EINVAL);
	assert_int_equal(es_crypto_xts_crypt(&x, tweak, buf, buf, 16), -EINVAL);
	key[63] ^= 1;
	assert_int_equal(es_crypto_xts_setkey(&x, key), 0);
	for (size_t i = 0; i < sizeof(bad_lengths) / sizeof(bad_lengths[0]); i++)
		assert_int_equal(es_crypto_xts_crypt(&x, tweak, buf, buf,
						     bad_lengths[i]), -EINVAL);
	assert_int_equal(es_crypto_xts_crypt(&x, tweak, buf, buf, 16), 0);
	assert_int_equal(es_crypto_xts_crypt(&x, tweak, buf, buf, 512), 0);
	es_crypto_xts_release(&x);
	es_crypto_xts_release(&x);	/* harmless twice */
	memset(&zeroed, 0, sizeof(zeroed));
	es_crypto_xts_release(&zeroed);
	free(buf);
}

/* ---- AES-256-GCM ------------------------------------------------------ */

static const char gcm_key_hex[] =
	"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char gcm_nonce_hex[] = "cafebabefacedbaddecaf888";
static const char gcm_pt_hex[] =	/* test case 15; 16 drops the last 4 bytes */
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
static const char gcm_ct_hex[] =
	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
static const char gcm_aad16_hex[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char gcm_tag15_hex[] = "b094dac5d93471bdec1a502270e3cc6c";
static const char gcm_tag16_hex[] = "76fc6ece0f4e1768cddf8853bb2d551b";

static void test_gcm_spec_vectors(void **state)
{
	uint8_t key[32], nonce[12], pt[64], ct[64], aad[20], tag[16];
	uint8_t out[64], got_tag[16];

	(void)state;
	hex_to_bytes(gcm_key_hex, key, sizeof(key));
	hex_to_bytes(gcm_nonce_hex, nonce, sizeof(nonce));
	hex_to_bytes(gcm_pt_hex, pt, sizeof(pt));
	hex_to_bytes(gcm_ct_hex, ct, sizeof(ct));
	hex_to_bytes(gcm_aad16_hex, aad, sizeof(aad));

	/* test case 15: 64 bytes, no associated data */
	hex_to_bytes(gcm_tag15_hex, tag, sizeof(tag));
	assert_int_equal(es_crypto_aead_seal(key, nonce, NULL, 0, pt, 64, out,
					     got_tag), 0);
	assert_memory_equal(out, ct, 64);
	assert_memory_equal(got_tag, tag, 16);
	assert_int_equal(es_crypto_aead_open(key, nonce, NULL, 0, ct, 64, tag,
					     out), 0);
	assert_memory_equal(out, pt, 64);

	/* test case 16: 60 bytes, 20 bytes of associated data */
	hex_to_bytes(gcm_tag16_hex, tag, sizeof(tag));
	assert_int_equal(es_crypto_aead_seal(key, nonce, aad, sizeof(aad), pt,
					     60, out, got_tag), 0);
	assert_memory_equal(out, ct, 60);
	assert_memory_equal(got_tag, tag, 16);
	assert_int_equal(es_crypto_aead_open(key, nonce, aad, sizeof(aad), ct,
					     60, tag, out), 0);
	assert_memory_equal(out, pt, 60);
}

/* A 4 KiB key-table segment: round trip in and out of place, then tamper. */
static void test_gcm_round_trip_and_tamper(void **state)
{
	enum { LEN = 4096 };
	uint8_t key[32], nonce[12], aad[57], tag[16], bad_tag[16];
	uint8_t *pt = malloc(LEN), *ct = malloc(LEN), *out = malloc(LEN);

	(void)state;
	assert_non_null(pt && ct && out);
	fill_prng(key, sizeof(key));
	fill_prng(nonce, sizeof(nonce));
	fill_prng(aad, sizeof(aad));
	fill_prng(pt, LEN);

	assert_int_equal(es_crypto_aead_seal(key, nonce, aad, sizeof(aad), pt,
					     LEN, ct, tag), 0);
	assert_int_not_equal(memcmp(ct, pt, LEN), 0);
	assert_int_equal(es_crypto_aead_open(key, nonce, aad, sizeof(aad), ct,
					     LEN, tag, out), 0);
	assert_memory_equal(out, pt, LEN);
	memcpy(out, pt, LEN);
	assert_int_equal(es_crypto_aead_seal(key, nonce, aad, sizeof(aad), out,
					     LEN, out, bad_tag), 0);
	assert_memory_equal(out, ct, LEN);
	assert_memory_equal(bad_tag, tag, 16);
	assert_int_equal(es_crypto_aead_open(key, nonce, aad, sizeof(aad), out,
					     LEN, tag, out), 0);
	assert_memory_equal(out, pt, LEN);

	/* one flipped bit anywhere: refused, and no plaintext comes out */
#define EXPECT_REFUSED(k, n, a, alen, c, t) do {				\
		memset(out, 0x77, LEN);						\
		assert_int_equal(es_crypto_aead_open(k, n, a, alen, c, LEN, t, \
						     out), -EBADMSG);		\
		assert_true(all_zero(out, LEN));				\
	} while (0)
	for (size_t bit = 0; bit < 8 * LEN; bit += 8 * LEN / 64 + 3) {
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		EXPECT_REFUSED(key, nonce, aad, sizeof(aad), ct, tag);
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 128; bit++) {
		memcpy(bad_tag, tag, 16);
		bad_tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		EXPECT_REFUSED(key, nonce, aad, sizeof(aad), ct, bad_tag);
	}
	for (size_t i = 0; i < sizeof(aad); i++) {
		aad[i] ^= 0x10;
		EXPECT_REFUSED(key, nonce, aad, sizeof(aad), ct, tag);
		aad[i] ^= 0x10;
	}
	EXPECT_REFUSED(key, nonce, aad, sizeof(aad) - 1, ct, tag);
	EXPECT_REFUSED(key, nonce, NULL, 0, ct, tag);
	nonce[11] ^= 1;
	EXPECT_REFUSED(key, nonce, aad, sizeof(aad), ct, tag);
	nonce[11] ^= 1;
	key[0] ^= 0x80;
	EXPECT_REFUSED(key, nonce, aad, sizeof(aad), ct, tag);
	key[0] ^= 0x80;
	/* a shorter ciphertext is a different message */
	memset(out, 0x77, LEN);
	assert_int_equal(es_crypto_aead_open(key, nonce, aad, sizeof(aad), ct,
					     LEN - 16, tag, out), -EBADMSG);
	assert_true(all_zero(out, LEN - 16));
#undef EXPECT_REFUSED
	/* untouched, it still opens */
	assert_int_equal(es_crypto_aead_open(key, nonce, aad, sizeof(aad), ct,
					     LEN, tag, out), 0);
	assert_memory_equal(out, pt, LEN);
	free(pt);
	free(ct);
	free(out);
}

/* Authentication only: no plaintext, the associated data still counts. */
static void test_gcm_empty_message(void **state)
{
	uint8_t key[32], nonce[12], aad[16], tag[16];

	(void)state;
	fill_prng(key, sizeof(key));
	fill_prng(nonce, sizeof(nonce));
	fill_prng(aad, sizeof(aad));
	assert_int_equal(es_crypto_aead_seal(key, nonce, aad, sizeof(aad), NULL,
					     0, NULL, tag), 0);
	assert_int_equal(es_crypto_aead_open(key, nonce, aad, sizeof(aad), NULL,
					     0, tag, NULL), 0);
	aad[3] ^= 1;
	assert_int_equal(es_crypto_aead_open(key, nonce, aad, sizeof(aad), NULL,
					     0, tag, NULL), -EBADMSG);
	assert_int_equal(es_crypto_aead_seal(key, nonce, NULL, 1, NULL, 0, NULL,
					     tag), -EINVAL);
	assert_int_equal(es_crypto_aead_seal(key, nonce, NULL, 0, NULL, 0, NULL,
					     NULL), -EINVAL);
}

/* ---- HMAC and HKDF ------------------------------------------------------ */

static void test_hmac_rfc4231(void **state)
{
	static const char msg6[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131], out[32], want[32];
	unsigned int len = 0;

	(void)state;
	/* test case 2 */
	hex_to_bytes("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		     want, 32);
	assert_int_equal(es_crypto_hmac_sha256("Jefe", 4,
					       "what do ya want for nothing?",
					       28, out), 0);
	assert_memory_equal(out, want, 32);
	/* test case 6: a key longer than the block is hashed first */
	memset(key, 0xaa, sizeof(key));
	hex_to_bytes("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		     want, 32);
	assert_int_equal(es_crypto_hmac_sha256(key, sizeof(key), msg6,
					       strlen(msg6), out), 0);
	assert_memory_equal(out, want, 32);
	/* empty key and message, against OpenSSL's HMAC() */
	assert_non_null(HMAC(EVP_sha256(), "", 0, NULL, 0, want, &len));
	assert_int_equal(es_crypto_hmac_sha256(NULL, 0, NULL, 0, out), 0);
	assert_memory_equal(out, want, 32);
}

static void test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[22], salt[13], info[10], prk[32], okm[42], want[42];

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t)(0xf0 + i);

	/* test case 1: Extract and Expand, then Expand alone from its PRK */
	hex_to_bytes("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
		     "2d56ecc4c5bf34007208d5b887185865", want, sizeof(want));
	assert_int_equal(es_crypto_hkdf(ES_CRYPTO_SHA256, salt, sizeof(salt),
					 ikm, sizeof(ikm), info, sizeof(info),
					 okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want, sizeof(want));
	hex_to_bytes("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
		     prk, sizeof(prk));
	memset(okm, 0, sizeof(okm));
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA256, prk, sizeof(prk),
						info, sizeof(info), okm,
						sizeof(okm)), 0);
	assert_memory_equal(okm, want, sizeof(want));

	/* test case 3: empty salt and info */
	hex_to_bytes("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec345"
		     "4e5f3c738d2d9d201395faa4b61a96c8", want, sizeof(want));
	assert_int_equal(es_crypto_hkdf(ES_CRYPTO_SHA256, NULL, 0, ikm,
					 sizeof(ikm), NULL, 0, okm,
					 sizeof(okm)), 0);
	assert_memory_equal(okm, want, sizeof(want));
}

/*
 * HKDF-Expand-SHA512 to 64 bytes, the chunk-key derivation of
 * ENCRYPTION.md, against RFC 5869's definition computed here with
 * OpenSSL's HMAC(): T(1) = HMAC(PRK, info ‖ 1), T(2) = HMAC(PRK, T(1) ‖
 * info ‖ 2), and past one output block (100 bytes).
 */
static void test_hkdf_expand_sha512(void **state)
{
	uint8_t prk[32], info[40], t[3][64], msg[64 + 40 + 1], okm[192];
	unsigned int len;

	(void)state;
	fill_prng(prk, sizeof(prk));
	fill_prng(info, sizeof(info));
	for (int i = 0; i < 3; i++) {
		size_t n = 0;

		if (i) {
			memcpy(msg, t[i - 1], 64);
			n = 64;
		}
		memcpy(msg + n, info, sizeof(info));
		n += sizeof(info);
		msg[n++] = (uint8_t)(i + 1);
		len = 0;
		assert_non_null(HMAC(EVP_sha512(), prk, sizeof(prk), msg, n,
				     t[i], &len));
		assert_int_equal(len, 64);
	}
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA512, prk, sizeof(prk),
						info, sizeof(info), okm, 64), 0);
	assert_memory_equal(okm, t[0], 64);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA512, prk, sizeof(prk),
						info, sizeof(info), okm, 150), 0);
	assert_memory_equal(okm, t, 150);

	/* RFC 5869 test case 3's inputs with SHA-512 (dotnet/runtime's vector) */
	{
		uint8_t ikm[22], want[42];

		memset(ikm, 0x0b, sizeof(ikm));
		hex_to_bytes("f5fa02b18298a72a8c23898a8703472c6eb179dc204c03425c97"
			     "0e3b164bf90fff22d04836d0e2343bac", want, sizeof(want));
		assert_int_equal(es_crypto_hkdf(ES_CRYPTO_SHA512, NULL, 0, ikm,
						 sizeof(ikm), NULL, 0, okm, 42), 0);
		assert_memory_equal(okm, want, sizeof(want));
	}
}

/*
 * The MAC engine (es_crypto_mac, es_crypto_mac_expand) against RFC 4231
 * and OpenSSL's HMAC(), under keys that change from call to call as a
 * build's do, and its one-block HKDF-Expand against T(1) of RFC 5869.
 */
static void test_mac_engine(void **state)
{
	struct es_crypto_mac *m = NULL;
	uint8_t key[3][32], msg[100], out[64], want[64], prk[32], info[20], t1[64];
	unsigned int len;

	(void)state;
#ifndef ES_TEST_PORTABLE
	/* the portable backend has no engine to fetch (and no heap): NULL */
	assert_int_equal(es_crypto_mac_new(&m), 0);
#endif
	hex_to_bytes("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
		     want, 64);
	assert_int_equal(es_crypto_mac(m, ES_CRYPTO_SHA512, "Jefe", 4,
				       "what do ya want for nothing?", 28, out), 0);
	assert_memory_equal(out, want, 64);
	fill_prng(key[0], sizeof(key));
	fill_prng(msg, sizeof(msg));
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < 3; k++) {
			len = 0;
			assert_non_null(HMAC(EVP_sha256(), key[k], 32, msg, sizeof(msg) - k,
					     want, &len));
			assert_int_equal(es_crypto_mac(m, ES_CRYPTO_SHA256, key[k], 32, msg,
						       sizeof(msg) - k, out), 0);
			assert_memory_equal(out, want, 32);
			assert_int_equal(es_crypto_mac(NULL, ES_CRYPTO_SHA256, key[k], 32, msg,
						       sizeof(msg) - k, out), 0);
			assert_memory_equal(out, want, 32);
		}
	}
	/* every key length class: empty, short, a block, longer (hashed first) */
	{
		static const size_t klens[] = { 0, 1, 63, 64, 65, 127, 128, 129, 200 };
		uint8_t big[200];

		fill_prng(big, sizeof(big));
		for (size_t i = 0; i < sizeof(klens) / sizeof(klens[0]); i++) {
			for (int h = 0; h < 2; h++) {
				const size_t sz = h ? 64 : 32;

				len = 0;
				assert_non_null(HMAC(h ? EVP_sha512() : EVP_sha256(), big,
						     (int)klens[i], msg, i, want, &len));
				assert_int_equal(es_crypto_mac(m, h ? ES_CRYPTO_SHA512 :
							       ES_CRYPTO_SHA256, big, klens[i],
							       msg, i, out), 0);
				assert_memory_equal(out, want, sz);
			}
		}
	}
	fill_prng(prk, sizeof(prk));
	fill_prng(info, sizeof(info));
	memcpy(msg, info, sizeof(info));
	msg[sizeof(info)] = 1;
	len = 0;
	assert_non_null(HMAC(EVP_sha512(), prk, sizeof(prk), msg, sizeof(info) + 1, t1, &len));
	assert_int_equal(es_crypto_mac_expand(m, ES_CRYPTO_SHA512, prk, sizeof(prk), info,
					      sizeof(info), out, 64), 0);
	assert_memory_equal(out, t1, 64);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA512, prk, sizeof(prk), info,
					       sizeof(info), want, 64), 0);
	assert_memory_equal(out, want, 64);
	/* more than one block is what es_crypto_hkdf_expand is for */
	assert_int_equal(es_crypto_mac_expand(m, ES_CRYPTO_SHA256, prk, sizeof(prk), info,
					      sizeof(info), out, 33), -EINVAL);
#ifndef ES_TEST_PORTABLE
	es_crypto_mac_free(m);
#endif
}

static void test_hkdf_refuses(void **state)
{
	uint8_t prk[32] = { 1 }, info[ES_CRYPTO_HKDF_INFO_MAX + 1] = { 0 };
	uint8_t *out = malloc(255 * 64 + 1);

	(void)state;
	assert_non_null(out);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA256, prk, 32, NULL,
						0, out, 0), -EINVAL);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA256, prk, 32, NULL,
						0, out, 255 * 32 + 1), -EINVAL);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA256, prk, 32, NULL,
						0, out, 255 * 32), 0);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA512, prk, 32, NULL,
						0, out, 255 * 64 + 1), -EINVAL);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA512, prk, 32, NULL,
						0, out, 255 * 64), 0);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA256, prk, 0, NULL,
						0, out, 32), -EINVAL);
	assert_int_equal(es_crypto_hkdf_expand((enum es_crypto_hash)7, prk, 32,
						NULL, 0, out, 32), -EINVAL);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA256, prk, 32, info,
						sizeof(info), out, 32), -EINVAL);
	assert_int_equal(es_crypto_hkdf_expand(ES_CRYPTO_SHA256, prk, 32, info,
						sizeof(info) - 1, out, 32), 0);
	assert_int_equal(es_crypto_hkdf(ES_CRYPTO_SHA256, NULL, 1, prk, 32,
					 NULL, 0, out, 32), -EINVAL);
	free(out);
}

/* ---- the backend against OpenSSL's EVP on seeded inputs ----------------- */

/* HMAC lengths: empty, single bytes, around both hashes' blocks, KiBs. */
static const size_t edge_lengths[] = {
	0, 1, 2, 15, 16, 17, 31, 32, 33, 55, 56, 63, 64, 65, 111, 112, 127,
	128, 129, 255, 256, 1000, 1024, 4095, 4096, 4097, 8191,
};
#define N_EDGE (sizeof(edge_lengths) / sizeof(edge_lengths[0]))

static void test_hmac_vs_evp(void **state)
{
	static const size_t key_lengths[] = { 0, 1, 20, 32, 63, 64, 65, 127, 128, 129, 300 };
	uint8_t key[300], *msg = malloc(8191), out[64], want[64];

	(void)state;
	assert_non_null(msg);
	for (size_t m = 0; m < N_EDGE; m++) {
		for (size_t k = 0; k < sizeof(key_lengths) / sizeof(key_lengths[0]); k++) {
			for (int sha512 = 0; sha512 < 2; sha512++) {
				size_t size = sha512 ? 64 : 32;
				unsigned int len = 0;

				fill_prng(key, key_lengths[k]);
				fill_prng(msg, edge_lengths[m]);
				assert_non_null(HMAC(sha512 ? EVP_sha512() : EVP_sha256(), key,
						     (int)key_lengths[k], msg, edge_lengths[m],
						     want, &len));
				assert_int_equal(len, size);
				memset(out, 0, sizeof(out));
				assert_int_equal(es_crypto_mac(NULL, sha512 ? ES_CRYPTO_SHA512 :
							       ES_CRYPTO_SHA256, key, key_lengths[k],
							       msg, edge_lengths[m], out), 0);
				assert_memory_equal(out, want, size);
				if (!sha512) {
					assert_int_equal(es_crypto_hmac_sha256(key, key_lengths[k], msg,
									       edge_lengths[m], out), 0);
					assert_memory_equal(out, want, size);
				}
			}
		}
	}
	assert_int_equal(es_crypto_mac(NULL, (enum es_crypto_hash)3, key, 1, msg, 1, out), -EINVAL);
	assert_int_equal(es_crypto_mac(NULL, ES_CRYPTO_SHA256, NULL, 1, msg, 1, out), -EINVAL);
	assert_int_equal(es_crypto_mac(NULL, ES_CRYPTO_SHA256, key, 1, NULL, 1, out), -EINVAL);
	free(msg);
}

#ifndef ES_TEST_PORTABLE
/*
 * The engine keeps a key's HMAC-SHA256 states for the next call (on
 * SHA-NI): one key many times, keys that differ in one byte or in length
 * only, every message length class, with the instructions and masked off.
 */
static void test_mac_engine_prepared_key(void **state)
{
	static const size_t key_lengths[] = { 0, 1, 31, 32, 33, 63, 64, 65 };
	uint8_t key[65], *msg = malloc(8191), out[32], want[32];

	(void)state;
	assert_non_null(msg);
	fill_prng(key, sizeof(key));
	fill_prng(msg, 8191);
	for (int masked = 0; masked < 2; masked++) {
		struct es_crypto_mac *m = NULL;

		if (masked)
			assert_int_equal(setenv("ES_SHA256_NO_SHANI", "1", 1), 0);
		assert_int_equal(es_crypto_mac_new(&m), 0);
		if (masked)
			assert_int_equal(unsetenv("ES_SHA256_NO_SHANI"), 0);
		for (size_t k = 0; k < sizeof(key_lengths) / sizeof(key_lengths[0]); k++) {
			for (size_t i = 0; i < N_EDGE; i++) {
				unsigned int len = 0;

				/* the same key again, then one byte of it changed */
				for (int flip = 0; flip < 3; flip++) {
					if (flip == 2 && key_lengths[k])
						key[key_lengths[k] - 1] ^= 0x01;
					assert_non_null(HMAC(EVP_sha256(), key,
							     (int)key_lengths[k], msg,
							     edge_lengths[i], want, &len));
					assert_int_equal(es_crypto_mac(m, ES_CRYPTO_SHA256, key,
								       key_lengths[k], msg,
								       edge_lengths[i], out), 0);
					assert_memory_equal(out, want, 32);
				}
			}
		}
		es_crypto_mac_free(m);
	}
	free(msg);
}
#endif

/* RFC 4231 test cases 1 and 6 with HMAC-SHA512 (the SHA-256 ones above). */
static void test_hmac_sha512_rfc4231(void **state)
{
	static const char msg6[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131], out[64], want[64];

	(void)state;
	memset(key, 0x0b, 20);
	hex_to_bytes("87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
		     want, 64);
	assert_int_equal(es_crypto_mac(NULL, ES_CRYPTO_SHA512, key, 20, "Hi There", 8, out), 0);
	assert_memory_equal(out, want, 64);
	memset(key, 0xaa, sizeof(key));
	hex_to_bytes("80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
		     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
		     want, 64);
	assert_int_equal(es_crypto_mac(NULL, ES_CRYPTO_SHA512, key, sizeof(key), msg6,
				       strlen(msg6), out), 0);
	assert_memory_equal(out, want, 64);
}

/* HKDF through OpenSSL's EVP_KDF directly: the oracle. */
static void evp_hkdf(int mode, bool sha512, const uint8_t *salt, size_t salt_len,
		     const uint8_t *key, size_t key_len, const uint8_t *info,
		     size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[6], *p = params;

	assert_non_null(ctx);
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						sha512 ? "SHA512" : "SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							 (void *)salt, salt_len);
	if (info_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(ctx, out, out_len, params), 1);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
}

static void test_hkdf_vs_evp(void **state)
{
	static const size_t out_lengths[] = { 1, 16, 31, 32, 33, 63, 64, 65, 100, 1000,
					      255 * 32 };
	static const size_t in_lengths[] = { 0, 1, 13, 32, 64, 65, 128, 129, 300 };
	uint8_t salt[300], ikm[300], info[ES_CRYPTO_HKDF_INFO_MAX];
	uint8_t *out = malloc(255 * 64), *want = malloc(255 * 64);

	(void)state;
	assert_non_null(out && want);
	for (size_t o = 0; o < sizeof(out_lengths) / sizeof(out_lengths[0]); o++) {
		for (size_t i = 0; i < sizeof(in_lengths) / sizeof(in_lengths[0]); i++) {
			size_t n = in_lengths[i], salt_len = in_lengths[(i + o) % 9];
			size_t info_len = i == 8 ? ES_CRYPTO_HKDF_INFO_MAX : in_lengths[(i + 3) % 9];
			size_t ikm_len = n ? n : 1;

			fill_prng(salt, salt_len);
			fill_prng(ikm, ikm_len);
			fill_prng(info, info_len);
			for (int sha512 = 0; sha512 < 2; sha512++) {
				enum es_crypto_hash h = sha512 ? ES_CRYPTO_SHA512 : ES_CRYPTO_SHA256;
				size_t len = out_lengths[o];

				evp_hkdf(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, sha512, salt,
					 salt_len, ikm, ikm_len, info, info_len, want, len);
				assert_int_equal(es_crypto_hkdf(h, salt, salt_len, ikm, ikm_len,
								info, info_len, out, len), 0);
				assert_memory_equal(out, want, len);
				evp_hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, sha512, NULL, 0, ikm,
					 ikm_len, info, info_len, want, len);
				assert_int_equal(es_crypto_hkdf_expand(h, ikm, ikm_len, info,
								       info_len, out, len), 0);
				assert_memory_equal(out, want, len);
				if (len <= (sha512 ? 64u : 32u)) {
					memset(out, 0, len);
					assert_int_equal(es_crypto_mac_expand(NULL, h, ikm, ikm_len,
									      info, info_len,
									      out, len), 0);
					assert_memory_equal(out, want, len);
				}
			}
		}
	}
	free(out);
	free(want);
}

/* Every length from one block to a 4 KiB unit, both ways, vs EVP. */
static void test_xts_all_lengths_vs_evp(void **state)
{
	enum { UNIT = ES_CRYPTO_XTS_UNIT_SIZE };
	struct es_crypto_xts enc, dec;
	uint8_t *pt = malloc(UNIT), *ct = malloc(UNIT), *want = malloc(UNIT);
	uint8_t key[64], tweak[16];

	(void)state;
	assert_non_null(pt && ct && want);
	assert_int_equal(es_crypto_xts_init(&enc, ES_CRYPTO_ENCRYPT), 0);
	assert_int_equal(es_crypto_xts_init(&dec, ES_CRYPTO_DECRYPT), 0);
	for (size_t len = 16; len <= UNIT; len += 16) {
		fill_prng(key, sizeof(key));
		fill_prng(tweak, sizeof(tweak));
		fill_prng(pt, len);
		assert_int_equal(es_crypto_xts_setkey(&enc, key), 0);
		assert_int_equal(es_crypto_xts_setkey(&dec, key), 0);
		evp_xts(1, key, tweak, pt, want, len);
		assert_int_equal(es_crypto_xts_crypt(&enc, tweak, pt, ct, len), 0);
		assert_memory_equal(ct, want, len);
		/* a ciphertext of EVP's, decrypted in place */
		assert_int_equal(es_crypto_xts_crypt(&dec, tweak, ct, ct, len), 0);
		assert_memory_equal(ct, pt, len);
		evp_xts(0, key, tweak, pt, want, len);
		assert_int_equal(es_crypto_xts_crypt(&dec, tweak, pt, ct, len), 0);
		assert_memory_equal(ct, want, len);
	}
	es_crypto_xts_release(&enc);
	es_crypto_xts_release(&dec);
	free(pt);
	free(ct);
	free(want);
}

/* The GCM specification's test cases 13 and 14: zero key and nonce. */
static void test_gcm_zero_key_vectors(void **state)
{
	uint8_t key[32] = { 0 }, nonce[12] = { 0 }, zeros[16] = { 0 };
	uint8_t tag[16], want[16], ct[16];

	(void)state;
	hex_to_bytes("530f8afbc74536b9a963b4f1c4cb738b", want, 16);
	assert_int_equal(es_crypto_aead_seal(key, nonce, NULL, 0, NULL, 0, NULL, tag), 0);
	assert_memory_equal(tag, want, 16);
	hex_to_bytes("cea7403d4d606b6e074ec5d3baf39d18", want, 16);
	assert_int_equal(es_crypto_aead_seal(key, nonce, NULL, 0, zeros, 16, ct, tag), 0);
	assert_memory_equal(ct, want, 16);
	hex_to_bytes("d0d1c8a799996bf0265b98b5d48ab919", want, 16);
	assert_memory_equal(tag, want, 16);
}

static void evp_gcm_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
			 size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
			 uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce), 1);
	if (aad_len)
		assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len), 1);
	if (len)
		assert_int_equal(EVP_EncryptUpdate(ctx, out, &outl, in, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len, &outl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* Message and associated-data lengths around and across blocks, vs EVP. */
static void test_gcm_lengths_vs_evp(void **state)
{
	static const size_t aad_lengths[] = { 0, 1, 12, 15, 16, 17, 32, 57, 100, 1000 };
	uint8_t key[32], nonce[12], aad[1000], tag[16], want_tag[16];
	uint8_t *pt = malloc(8191), *ct = malloc(8191), *want = malloc(8191);

	(void)state;
	assert_non_null(pt && ct && want);
	for (size_t m = 0; m < N_EDGE; m++) {
		for (size_t a = 0; a < sizeof(aad_lengths) / sizeof(aad_lengths[0]); a++) {
			size_t len = edge_lengths[m], aad_len = aad_lengths[a];

			fill_prng(key, sizeof(key));
			fill_prng(nonce, sizeof(nonce));
			fill_prng(aad, aad_len);
			fill_prng(pt, len);
			evp_gcm_seal(key, nonce, aad, aad_len, pt, len, want, want_tag);
			assert_int_equal(es_crypto_aead_seal(key, nonce, aad, aad_len, pt, len,
							     ct, tag), 0);
			assert_memory_equal(ct, want, len);
			assert_memory_equal(tag, want_tag, 16);
			memset(ct, 0x55, len);
			assert_int_equal(es_crypto_aead_open(key, nonce, aad, aad_len, want, len,
							     want_tag, ct), 0);
			assert_memory_equal(ct, pt, len);
			/* a flipped tag bit: refused, and nothing of the plaintext out */
			want_tag[(m + a) % 16] ^= (uint8_t)(1u << (a % 8));
			memset(ct, 0x55, len);
			assert_int_equal(es_crypto_aead_open(key, nonce, aad, aad_len, want, len,
							     want_tag, ct), -EBADMSG);
			assert_true(all_zero(ct, len));
			if (len) {
				want_tag[(m + a) % 16] ^= (uint8_t)(1u << (a % 8));
				want[len / 2] ^= 0x01;
				memset(ct, 0x55, len);
				assert_int_equal(es_crypto_aead_open(key, nonce, aad, aad_len, want,
								     len, want_tag, ct), -EBADMSG);
				assert_true(all_zero(ct, len));
			}
		}
	}
	free(pt);
	free(ct);
	free(want);
}

/* ---- Ed25519 verification --------------------------------------------- */

/* OpenSSL's verdict on sig over msg with the raw public key: the oracle. */
static bool evp_ed25519_verifies(const uint8_t pub[32], const uint8_t *msg, size_t len,
				 const uint8_t sig[64])
{
	static const uint8_t empty[1];
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r;

	assert_non_null(pk);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk), 1);
	r = EVP_DigestVerify(ctx, sig, 64, len ? msg : empty, len);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r == 1;
}

/* A key pair from a seed and a signature, by OpenSSL. */
static void evp_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, size_t len,
			     uint8_t pub[32], uint8_t sig[64])
{
	static const uint8_t empty[1];
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t pub_len = 32, sig_len = 64;

	assert_non_null(pk);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &pub_len), 1);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, len ? msg : empty, len), 1);
	assert_int_equal(sig_len, 64);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
}

/* Ours refuses exactly what OpenSSL refuses; returns our code. */
static int ed25519_agrees(const uint8_t pub[32], const uint8_t *msg, size_t len,
			  const uint8_t sig[64])
{
	int ret = es_crypto_ed25519_verify(pub, msg, len, sig);

	assert_true(ret == 0 || ret == -EBADMSG || ret == -EINVAL);
	assert_int_equal(ret == 0, evp_ed25519_verifies(pub, msg, len, sig));
	return ret;
}

/* RFC 8032 section 7.1, tests 1-3: OpenSSL signs to them, we verify them. */
static void test_ed25519_rfc8032(void **state)
{
	static const struct {
		const char *seed, *pub, *msg, *sig;
	} vectors[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
		  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
		{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
		  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	};

	(void)state;
	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		uint8_t seed[32], pub[32], msg[2], sig[64], got_pub[32], got_sig[64];
		size_t len = strlen(vectors[v].msg) / 2;

		hex_to_bytes(vectors[v].seed, seed, 32);
		hex_to_bytes(vectors[v].pub, pub, 32);
		hex_to_bytes(vectors[v].msg, msg, len);
		hex_to_bytes(vectors[v].sig, sig, 64);
		evp_ed25519_sign(seed, msg, len, got_pub, got_sig);
		assert_memory_equal(got_pub, pub, 32);
		assert_memory_equal(got_sig, sig, 64);
		assert_int_equal(es_crypto_ed25519_verify(pub, len ? msg : NULL, len, sig), 0);
		/* another message */
		assert_int_equal(es_crypto_ed25519_verify(pub, "x", 1, sig), -EBADMSG);
	}
}

/*
 * Keys and messages from the seeded generator, signed by OpenSSL: ours
 * verifies them all, and every single-bit change of the signature, the key
 * or (short messages) the message gets OpenSSL's verdict, a refusal.
 */
static void test_ed25519_random_and_bit_flips(void **state)
{
	static const size_t lengths[] = { 0, 1, 31, 32, 33, 64, 111, 112, 127, 128, 129,
					  255, 1000, 4096, 5000 };
	uint8_t seed[32], pub[32], sig[64], *msg = malloc(5000);

	(void)state;
	assert_non_null(msg);
	for (size_t i = 0; i < 2 * sizeof(lengths) / sizeof(lengths[0]); i++) {
		size_t len = lengths[i % (sizeof(lengths) / sizeof(lengths[0]))];

		fill_prng(seed, sizeof(seed));
		fill_prng(msg, len);
		evp_ed25519_sign(seed, msg, len, pub, sig);
		assert_int_equal(es_crypto_ed25519_verify(pub, msg, len, sig), 0);
		if (i >= 3)
			continue;
		for (size_t bit = 0; bit < 512; bit++) {
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_not_equal(ed25519_agrees(pub, msg, len, sig), 0);
			sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		for (size_t bit = 0; bit < 256; bit++) {
			pub[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_not_equal(ed25519_agrees(pub, msg, len, sig), 0);
			pub[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		for (size_t bit = 0; bit < 8 * len; bit++) {
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(es_crypto_ed25519_verify(pub, msg, len, sig), -EBADMSG);
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		assert_int_equal(es_crypto_ed25519_verify(pub, msg, len, sig), 0);
	}
	assert_int_equal(es_crypto_ed25519_verify(NULL, msg, 1, sig), -EINVAL);
	assert_int_equal(es_crypto_ed25519_verify(pub, NULL, 1, sig), -EINVAL);
	assert_int_equal(es_crypto_ed25519_verify(pub, msg, 1, NULL), -EINVAL);
	free(msg);
}

/* 32-byte little-endian a + b (mod 2^256). */
static void add_le256(uint8_t a[32], const uint8_t b[32])
{
	unsigned int carry = 0;

	for (int i = 0; i < 32; i++) {
		carry += (unsigned int)a[i] + b[i];
		a[i] = (uint8_t)carry;
		carry >>= 8;
	}
}

/* S >= L is a malformed signature (no malleability); S < L but wrong is not. */
static void test_ed25519_s_range(void **state)
{
	uint8_t order[32], seed[32], pub[32], sig[64], bad[64], msg[40];

	(void)state;
	hex_to_bytes("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
		     order, 32);
	fill_prng(seed, sizeof(seed));
	fill_prng(msg, sizeof(msg));
	evp_ed25519_sign(seed, msg, sizeof(msg), pub, sig);
	/* S + L is the same scalar mod L: OpenSSL and we refuse it */
	memcpy(bad, sig, 64);
	add_le256(bad + 32, order);
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), bad), -EINVAL);
	/* L itself, L + 1, L - 1, 2^256 - 1, 2^253 */
	memcpy(bad + 32, order, 32);
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), bad), -EINVAL);
	bad[32] += 1;
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), bad), -EINVAL);
	bad[32] -= 2;
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), bad), -EBADMSG);
	memset(bad + 32, 0xff, 32);
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), bad), -EINVAL);
	memset(bad + 32, 0, 32);
	bad[63] = 0x20;
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), bad), -EINVAL);
	/* each byte of L one less, the rest as L: below L, so only a mismatch */
	for (int i = 0; i < 32; i++) {
		if (!order[i])
			continue;
		memcpy(bad + 32, order, 32);
		bad[32 + i] -= 1;
		assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), bad), -EBADMSG);
	}
}

/*
 * Non-canonical encodings.  The identity (0, 1) signs anything with
 * R = identity and S = 0, which makes every encoding that decodes to it
 * visible: y = 1 + p, and x = 0 with the sign bit set.  Ours gives
 * OpenSSL's verdict on each of them, on every y from p to 2^255 - 1 with
 * either sign, and on R in non-canonical form (never accepted: R is
 * compared as an encoding).
 */
static void test_ed25519_noncanonical(void **state)
{
	uint8_t pub[32], sig[64], msg[3] = { 'a', 'b', 'c' };

	(void)state;
	memset(sig, 0, sizeof(sig));
	sig[0] = 1;				/* R = (0, 1), S = 0 */
	memset(pub, 0, sizeof(pub));
	pub[0] = 1;
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), sig), 0);
	for (unsigned int y = 0; y < 19; y++) {
		for (unsigned int sign = 0; sign < 2; sign++) {
			/* y + p = 2^255 - 19 + y */
			memset(pub, 0xff, sizeof(pub));
			pub[0] = (uint8_t)(0xed + y);
			pub[31] = sign ? 0xff : 0x7f;
			ed25519_agrees(pub, msg, sizeof(msg), sig);
		}
	}
	/* x = 0 with the sign bit: (0, 1) and (0, -1) */
	memset(pub, 0, sizeof(pub));
	pub[0] = 1;
	pub[31] = 0x80;
	ed25519_agrees(pub, msg, sizeof(msg), sig);
	memset(pub, 0xff, sizeof(pub));
	pub[0] = 0xec;
	ed25519_agrees(pub, msg, sizeof(msg), sig);
	pub[31] = 0x7f;
	ed25519_agrees(pub, msg, sizeof(msg), sig);
	/* R = (0, 1) as y = 1 + p, and with the sign bit */
	memset(pub, 0, sizeof(pub));
	pub[0] = 1;
	memset(sig, 0xff, 32);
	sig[0] = 0xee;
	sig[31] = 0x7f;
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), sig), -EBADMSG);
	memset(sig, 0, 32);
	sig[0] = 1;
	sig[31] = 0x80;
	assert_int_equal(ed25519_agrees(pub, msg, sizeof(msg), sig), -EBADMSG);
}

/*
 * Public keys that are no curve point: the portable backend says so
 * (-EINVAL), OpenSSL cannot tell them from a wrong signature (-EBADMSG).
 */
static void test_ed25519_not_a_point(void **state)
{
	uint8_t pub[32], sig[64], msg[1] = { 0 };
	int refused = 0;

	(void)state;
	memset(sig, 0, sizeof(sig));
	sig[0] = 1;
	for (unsigned int y = 2; y < 40; y++) {
		int ret;

		memset(pub, 0, sizeof(pub));
		pub[0] = (uint8_t)y;
		ret = ed25519_agrees(pub, msg, sizeof(msg), sig);
		assert_int_not_equal(ret, 0);
#ifdef ES_TEST_PORTABLE
		refused += ret == -EINVAL;
#else
		refused += ret == -EBADMSG;
#endif
	}
	/* about half of all y have no x */
	assert_true(refused > 5);
}

#ifdef ES_TEST_PORTABLE
/* ---- the portable backend's internal primitives --------------------------- */

/* FIPS 180-4's "abc", then every split of many lengths vs EVP's SHA-512. */
static void test_sha512_vs_evp(void **state)
{
	uint8_t *msg = malloc(8191), out[64], want[64];
	struct es_sha512_ctx ctx;
	unsigned int len;

	(void)state;
	assert_non_null(msg);
	hex_to_bytes("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
		     want, 64);
	es_sha512_init(&ctx);
	es_sha512_update(&ctx, "abc", 3);
	es_sha512_final(&ctx, out);
	assert_memory_equal(out, want, 64);
	for (size_t m = 0; m < N_EDGE; m++) {
		size_t n = edge_lengths[m];

		fill_prng(msg, n);
		assert_int_equal(EVP_Digest(msg, n, want, &len, EVP_sha512(), NULL), 1);
		/* in one piece, in two at every cut of short ones, bytewise */
		for (size_t cut = 0; cut <= n; cut += n < 300 ? 1 : 97) {
			es_sha512_init(&ctx);
			es_sha512_update(&ctx, msg, cut);
			es_sha512_update(&ctx, msg + cut, n - cut);
			es_sha512_final(&ctx, out);
			assert_memory_equal(out, want, 64);
		}
		es_sha512_init(&ctx);
		for (size_t i = 0; i < n; i++)
			es_sha512_update(&ctx, msg + i, 1);
		es_sha512_final(&ctx, out);
		assert_memory_equal(out, want, 64);
	}
	free(msg);
}

/* FIPS 197 appendix C.3, then random keys and blocks vs EVP's AES-256-ECB. */
static void test_aes256_block(void **state)
{
	uint32_t rk[ES_AES256_SCHEDULE];
	uint8_t key[32], pt[16], ct[16], out[16], want[16];

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	hex_to_bytes("00112233445566778899aabbccddeeff", pt, 16);
	hex_to_bytes("8ea2b7ca516745bfeafc49904b496089", ct, 16);
	es_aes256_expand(rk, key);
	es_aes256_encrypt(rk, pt, out);
	assert_memory_equal(out, ct, 16);
	es_aes256_decrypt(rk, ct, out);
	assert_memory_equal(out, pt, 16);
	for (int i = 0; i < 500; i++) {
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		int outl = 0;

		assert_non_null(ctx);
		fill_prng(key, sizeof(key));
		fill_prng(pt, sizeof(pt));
		assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, key, NULL), 1);
		assert_int_equal(EVP_EncryptUpdate(ctx, want, &outl, pt, 16), 1);
		EVP_CIPHER_CTX_free(ctx);
		es_aes256_expand(rk, key);
		memcpy(out, pt, 16);
		es_aes256_encrypt(rk, out, out);	/* in place */
		assert_memory_equal(out, want, 16);
		es_aes256_decrypt(rk, out, out);
		assert_memory_equal(out, pt, 16);
	}
}
#endif

#ifndef ES_TEST_PORTABLE

/* ---- signatures by key type --------------------------------------------- */

static void test_sign_verify_by_key_type(void **state)
{
	static const struct {
		const char *pem, *other_pem;
		enum es_crypto_key_type type;
		const char *name;
	} keys[] = {
		{ test_key_rsa, test_key_rsa2, ES_CRYPTO_KEY_RSA, "rsa" },
		{ test_key_ec, test_key_ec2, ES_CRYPTO_KEY_EC, "ecdsa" },
		{ test_key_ed, test_key_ed2, ES_CRYPTO_KEY_ED25519, "ed25519" },
	};
	uint8_t msg[333], id[32], want_id[32];

	(void)state;
	fill_prng(msg, sizeof(msg));
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		EVP_PKEY *pk = fixed_key(keys[k].pem), *other;
		const struct es_crypto_pkey *key = es_crypto_pkey_of(pk);
		unsigned char *der = NULL;
		struct es_err err = { 0 };
		uint8_t *sig = NULL, *sig2 = NULL;
		size_t sig_len = 0, sig2_len = 0;
		unsigned int md_len = 0;
		int der_len;

		assert_int_equal(es_crypto_pkey_type(key), keys[k].type);
		assert_string_equal(es_crypto_key_type_name(keys[k].type),
				    keys[k].name);
		/* key id = SHA-256 of the DER SubjectPublicKeyInfo */
		der_len = i2d_PUBKEY(pk, &der);
		assert_true(der_len > 0);
		assert_int_equal(EVP_Digest(der, (size_t)der_len, want_id,
					    &md_len, EVP_sha256(), NULL), 1);
		OPENSSL_free(der);
		assert_int_equal(es_crypto_pkey_id(key, id, &err), 0);
		assert_memory_equal(id, want_id, 32);

		assert_int_equal(es_crypto_sign(key, msg, sizeof(msg), &sig,
						&sig_len, &err), 0);
		assert_int_equal(err.code, 0);
		if (keys[k].type == ES_CRYPTO_KEY_ED25519)
			assert_int_equal(sig_len, 64);
		assert_int_equal(es_crypto_verify(key, sig, sig_len, msg,
						  sizeof(msg), "sig", &err), 0);
		/* the scheme is the type's: OpenSSL agrees without being told */
		{
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();

			assert_int_equal(EVP_DigestVerifyInit(ctx, NULL,
				keys[k].type == ES_CRYPTO_KEY_ED25519 ? NULL :
				EVP_sha256(), NULL, pk), 1);
			assert_int_equal(EVP_DigestVerify(ctx, sig, sig_len, msg,
							  sizeof(msg)), 1);
			EVP_MD_CTX_free(ctx);
		}
		/* RSA and Ed25519 are deterministic */
		assert_int_equal(es_crypto_sign(key, msg, sizeof(msg), &sig2,
						&sig2_len, &err), 0);
		if (keys[k].type != ES_CRYPTO_KEY_EC) {
			assert_int_equal(sig2_len, sig_len);
			assert_memory_equal(sig2, sig, sig_len);
		}
		/* the empty message is a message */
		free(sig2);
		assert_int_equal(es_crypto_sign(key, NULL, 0, &sig2, &sig2_len,
						&err), 0);
		assert_int_equal(es_crypto_verify(key, sig2, sig2_len, NULL, 0,
						  "sig", &err), 0);
		assert_int_equal(es_crypto_verify(key, sig2, sig2_len, msg, 1,
						  "sig", &err), -EBADMSG);
		es_err_clear(&err);
		free(sig2);

		/* tampered message or signature */
		msg[100] ^= 4;
		assert_int_equal(es_crypto_verify(key, sig, sig_len, msg,
						  sizeof(msg), "test signature",
						  &err), -EBADMSG);
		assert_non_null(strstr(err.msg,
			"test signature does not match the message"));
		es_err_clear(&err);
		msg[100] ^= 4;
		sig[sig_len / 2] ^= 0x20;
		assert_int_equal(es_crypto_verify(key, sig, sig_len, msg,
						  sizeof(msg), "sig", &err), -EBADMSG);
		es_err_clear(&err);
		sig[sig_len / 2] ^= 0x20;
		assert_int_equal(es_crypto_verify(key, sig, sig_len - 1, msg,
						  sizeof(msg), "sig", &err), -EBADMSG);
		es_err_clear(&err);
		/* another key of the same type does not verify it */
		other = fixed_key(keys[k].other_pem);
		assert_int_equal(es_crypto_verify(es_crypto_pkey_of(other), sig,
						  sig_len, msg, sizeof(msg),
						  "sig", &err), -EBADMSG);
		es_err_clear(&err);
		EVP_PKEY_free(other);
		free(sig);
		EVP_PKEY_free(pk);
	}
}

/* ---- Argon2id ------------------------------------------------------------ */

static void test_argon2id_rfc9106(void **state)
{
	const struct es_crypto_argon2id_params p = { .t_cost = 3, .m_cost_kib = 32, .lanes = 4 };
	uint8_t pwd[32], salt[16], secret[8], ad[12], out[32], want[32];

	(void)state;
	memset(pwd, 0x01, sizeof(pwd));
	memset(salt, 0x02, sizeof(salt));
	memset(secret, 0x03, sizeof(secret));
	memset(ad, 0x04, sizeof(ad));
	hex_to_bytes("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
		     want, sizeof(want));
	assert_int_equal(es_crypto_argon2id_ext(pwd, sizeof(pwd), salt, sizeof(salt), secret,
						sizeof(secret), ad, sizeof(ad), &p, out,
						sizeof(out)), 0);
	assert_memory_equal(out, want, sizeof(want));
	/* the caller's buffers are not cleared (libargon2 clears its copies) */
	for (size_t i = 0; i < sizeof(pwd); i++)
		assert_int_equal(pwd[i], 0x01);
	for (size_t i = 0; i < sizeof(secret); i++)
		assert_int_equal(secret[i], 0x03);
}

static void test_argon2id_bounds(void **state)
{
	struct es_crypto_argon2id_params p = { .t_cost = 1, .m_cost_kib = 8, .lanes = 1 };
	uint8_t salt[16] = { 0 }, out[32];

	(void)state;
	assert_int_equal(es_crypto_argon2id("pw", 2, salt, sizeof(salt), &p, out, sizeof(out)), 0);
	assert_false(all_zero(out, sizeof(out)));
	/* every bound is refused before anything is allocated or computed */
	p.t_cost = ES_CRYPTO_ARGON2_MAX_TIME + 1;
	assert_int_equal(es_crypto_argon2id("pw", 2, salt, sizeof(salt), &p, out, sizeof(out)),
			 -ERANGE);
	assert_true(all_zero(out, sizeof(out)));
	p.t_cost = 0;
	assert_int_equal(es_crypto_argon2id_check(&p), -ERANGE);
	p.t_cost = 1;
	p.lanes = ES_CRYPTO_ARGON2_MAX_LANES + 1;
	p.m_cost_kib = 8 * p.lanes;
	assert_int_equal(es_crypto_argon2id_check(&p), -ERANGE);
	p.lanes = 2;
	p.m_cost_kib = 15;		/* under 8 KiB per lane */
	assert_int_equal(es_crypto_argon2id_check(&p), -ERANGE);
	/* 64 GiB does not fit in 32 bits of KiB; the largest value does not pass */
	p.m_cost_kib = UINT32_MAX;
	assert_int_equal(es_crypto_argon2id_check(&p), -ERANGE);
	p.m_cost_kib = es_crypto_argon2id_max_memory_kib() + 1;
	assert_int_equal(es_crypto_argon2id_check(&p), -ERANGE);
	assert_true(es_crypto_argon2id_max_memory_kib() <= ES_CRYPTO_ARGON2_MAX_MEMORY_KIB);
	/* a salt under 8 bytes */
	p.m_cost_kib = 16;
	assert_int_equal(es_crypto_argon2id("pw", 2, salt, 7, &p, out, sizeof(out)), -EINVAL);
}

/* ---- X25519 ---------------------------------------------------------------- */

static void test_x25519_rfc7748(void **state)
{
	static const struct {
		const char *scalar, *u, *out;
	} v[] = {
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	uint8_t a[32], b[32], apub[32], bpub[32], k[32], want[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex_to_bytes(v[i].scalar, a, 32);
		hex_to_bytes(v[i].u, b, 32);
		hex_to_bytes(v[i].out, want, 32);
		assert_int_equal(es_crypto_x25519(a, b, k), 0);
		assert_memory_equal(k, want, 32);
	}
	/* section 6.1: Alice and Bob */
	hex_to_bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
	hex_to_bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
	assert_int_equal(es_crypto_x25519_public(a, apub), 0);
	assert_int_equal(es_crypto_x25519_public(b, bpub), 0);
	hex_to_bytes("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want, 32);
	assert_memory_equal(apub, want, 32);
	hex_to_bytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want, 32);
	assert_memory_equal(bpub, want, 32);
	hex_to_bytes("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
	assert_int_equal(es_crypto_x25519(a, bpub, k), 0);
	assert_memory_equal(k, want, 32);
	assert_int_equal(es_crypto_x25519(b, apub, k), 0);
	assert_memory_equal(k, want, 32);
}

static void test_x25519_low_order_and_keygen(void **state)
{
	uint8_t priv[32], pub[32], other[32], opub[32], k1[32], k2[32], zero[32] = { 0 };
	uint8_t one[32] = { 1 };

	(void)state;
	assert_int_equal(es_crypto_x25519_keygen(priv, pub), 0);
	assert_int_equal(es_crypto_x25519_public(priv, other), 0);
	assert_memory_equal(pub, other, 32);
	assert_int_equal(es_crypto_x25519_keygen(other, opub), 0);
	assert_memory_not_equal(pub, opub, 32);
	assert_int_equal(es_crypto_x25519(priv, opub, k1), 0);
	assert_int_equal(es_crypto_x25519(other, pub, k2), 0);
	assert_memory_equal(k1, k2, 32);
	/* low-order points give an all-zero secret: refused, output wiped */
	memset(k1, 0xaa, sizeof(k1));
	assert_int_equal(es_crypto_x25519(priv, zero, k1), -EBADMSG);
	assert_true(all_zero(k1, sizeof(k1)));
	assert_int_equal(es_crypto_x25519(priv, one, k1), -EBADMSG);
}

/* PEM files as `openssl genpkey -algorithm X25519` writes them */
static void test_x25519_pem(void **state)
{
	char priv_path[] = "/tmp/es-x25519-priv-XXXXXX", pub_path[] = "/tmp/es-x25519-pub-XXXXXX";
	char ed_path[] = "/tmp/es-ed25519-XXXXXX";
	uint8_t raw[32], pub[32], priv2[32], pub2[32];
	struct es_err err = { 0 };
	EVP_PKEY *pk, *ed;
	FILE *f;
	int fd;

	(void)state;
	fill_prng(raw, sizeof(raw));
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, raw, sizeof(raw));
	assert_non_null(pk);
	fd = mkstemp(priv_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	fd = mkstemp(pub_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
	fclose(f);
	EVP_PKEY_free(pk);

	assert_int_equal(es_crypto_x25519_public(raw, pub), 0);
	assert_int_equal(es_crypto_x25519_load_private(priv_path, priv2, pub2, &err), 0);
	assert_memory_equal(priv2, raw, 32);
	assert_memory_equal(pub2, pub, 32);
	assert_int_equal(es_crypto_x25519_load_public(pub_path, pub2, &err), 0);
	assert_memory_equal(pub2, pub, 32);
	/* a private key is no recipient; a public key cannot unlock */
	assert_int_equal(es_crypto_x25519_load_public(priv_path, pub2, &err), -EINVAL);
	es_err_clear(&err);
	assert_int_not_equal(es_crypto_x25519_load_private(pub_path, priv2, pub2, &err), 0);
	es_err_clear(&err);
	/* a key of another type */
	ed = fixed_key(test_key_ed);
	fd = mkstemp(ed_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(PEM_write_PrivateKey(f, ed, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(ed);
	assert_int_equal(es_crypto_x25519_load_private(ed_path, priv2, pub2, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not an X25519"));
	unlink(priv_path);
	unlink(pub_path);
	unlink(ed_path);
}

#endif /* !ES_TEST_PORTABLE */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_memcmp),
#ifdef ES_TEST_PORTABLE
		cmocka_unit_test(test_sha512_vs_evp),
		cmocka_unit_test(test_aes256_block),
#else
		cmocka_unit_test(test_random),
#endif
		cmocka_unit_test(test_xts_ieee1619),
		cmocka_unit_test(test_xts_tweak_encoding),
		cmocka_unit_test(test_xts_4k_units_vs_evp),
		cmocka_unit_test(test_xts_refuses),
		cmocka_unit_test(test_gcm_spec_vectors),
		cmocka_unit_test(test_gcm_round_trip_and_tamper),
		cmocka_unit_test(test_gcm_empty_message),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_hkdf_expand_sha512),
		cmocka_unit_test(test_hkdf_refuses),
		cmocka_unit_test(test_mac_engine),
#ifndef ES_TEST_PORTABLE
		cmocka_unit_test(test_mac_engine_prepared_key),
#endif
		cmocka_unit_test(test_hmac_vs_evp),
		cmocka_unit_test(test_hmac_sha512_rfc4231),
		cmocka_unit_test(test_hkdf_vs_evp),
		cmocka_unit_test(test_xts_all_lengths_vs_evp),
		cmocka_unit_test(test_gcm_zero_key_vectors),
		cmocka_unit_test(test_gcm_lengths_vs_evp),
		cmocka_unit_test(test_ed25519_rfc8032),
		cmocka_unit_test(test_ed25519_random_and_bit_flips),
		cmocka_unit_test(test_ed25519_s_range),
		cmocka_unit_test(test_ed25519_noncanonical),
		cmocka_unit_test(test_ed25519_not_a_point),
#ifndef ES_TEST_PORTABLE
		cmocka_unit_test(test_sign_verify_by_key_type),
		cmocka_unit_test(test_argon2id_rfc9106),
		cmocka_unit_test(test_argon2id_bounds),
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_x25519_low_order_and_keygen),
		cmocka_unit_test(test_x25519_pem),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
