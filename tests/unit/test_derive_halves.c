// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * es_derive_chunk_key() refuses a key whose two XTS halves are equal.  No
 * real chunk secret is known to give one (probability 2^-256), so this
 * test links lib/keys/derive.c against a stub backend instead of libcore:
 * its HKDF-Expand (one block, through the MAC engine's expand) returns
 * whatever the test asks for, after checking that
 * the derivation asked for exactly ENCRYPTION.md's HKDF-Expand-SHA512 of
 * the secret with info L("xts") | u32le(suite).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/keytable.h"

static uint8_t stub_okm[ES_CHUNK_KEY_SIZE];
static const uint8_t *stub_expected_prk;

int es_crypto_mac_expand(struct es_crypto_mac *m, enum es_crypto_hash hash,
			 const void *prk, size_t prk_len, const void *info, size_t info_len,
			 void *out, size_t out_len)
{
	/* L("xts") | 01 00 00: the literal's NUL is u32le(1)'s last byte */
	static const uint8_t want_info[] = "erofs-seal/v1/xts\0\x01\0\0";

	assert_null(m);
	assert_int_equal(hash, ES_CRYPTO_SHA512);
	assert_int_equal(prk_len, ES_CHUNK_SECRET_SIZE);
	assert_memory_equal(prk, stub_expected_prk, prk_len);
	assert_int_equal(info_len, sizeof(want_info));
	assert_memory_equal(info, want_info, info_len);
	assert_int_equal(out_len, sizeof(stub_okm));
	memcpy(out, stub_okm, out_len);
	return 0;
}

/* derive.c links against these too; the test never reaches them */
int es_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg,
			  size_t len, uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	(void)key, (void)key_len, (void)msg, (void)len, (void)out;
	fail_msg("unexpected HMAC");
	return -EIO;
}

int es_crypto_mac(struct es_crypto_mac *m, enum es_crypto_hash hash, const void *key,
		  size_t key_len, const void *msg, size_t len, void *out)
{
	(void)m, (void)hash, (void)key, (void)key_len, (void)msg, (void)len, (void)out;
	fail_msg("unexpected HMAC");
	return -EIO;
}

int es_crypto_hkdf_expand(enum es_crypto_hash hash, const void *prk,
			  size_t prk_len, const void *info, size_t info_len,
			  void *out, size_t out_len)
{
	(void)hash, (void)prk, (void)prk_len, (void)info, (void)info_len, (void)out,
	(void)out_len;
	fail_msg("unexpected HKDF");
	return -EIO;
}

static void test_equal_halves(void **state)
{
	uint8_t secret[ES_CHUNK_SECRET_SIZE], key[ES_CHUNK_KEY_SIZE];

	(void)state;
	memset(secret, 0x3c, sizeof(secret));
	stub_expected_prk = secret;

	/* different halves: the key as HKDF gave it */
	for (unsigned int i = 0; i < sizeof(stub_okm); i++)
		stub_okm[i] = (uint8_t)(i * 3 + 1);
	assert_int_equal(es_derive_chunk_key(secret, ES_SUITE_XTS_V1, key), 0);
	assert_memory_equal(key, stub_okm, sizeof(key));

	/* equal halves are refused; halves one bit apart are not */
	memcpy(stub_okm + 32, stub_okm, 32);
	memset(key, 0xa5, sizeof(key));
	assert_int_equal(es_derive_chunk_key(secret, ES_SUITE_XTS_V1, key), -EINVAL);
	/* and nothing of the weak key is left */
	for (unsigned int i = 0; i < sizeof(key); i++)
		assert_int_equal(key[i], 0);
	for (unsigned int bit = 0; bit < 256; bit++) {
		stub_okm[32 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(es_derive_chunk_key(secret, ES_SUITE_XTS_V1, key), 0);
		stub_okm[32 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_halves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
