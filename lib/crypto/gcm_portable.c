// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * AES-256-GCM (SP 800-38D) with a 12-byte nonce and a 16-byte tag, in
 * plain C for the freestanding boot build, over aes_portable.c:
 * es_crypto_aead_seal/open of lib/crypto/backend.h.  GHASH multiplies bit
 * by bit with masks instead of branches or tables (constant time, a few
 * dozen bytes of code); GCM only protects the small key tables, so its
 * speed does not matter.  Open checks the tag before it decrypts anything
 * and compares it in constant time.
 */
#include <errno.h>
#include <string.h>
#include "crypto/aes_portable.h"
#include "crypto/backend.h"
#include "crypto/be.h"

/* the OpenSSL backend's limit (INT_MAX), so that both refuse the same */
#define GCM_LEN_MAX	0x7fffffffu

struct gcm {
	uint32_t rk[ES_AES256_SCHEDULE];
	uint64_t h[2];			/* the hash key E(K, 0), big-endian halves */
	uint64_t y[2];			/* GHASH so far */
	uint8_t counter[16];		/* nonce | 32-bit block counter */
};

/* y = (y + block) * h in GF(2^128), GCM's reflected bit order. */
static void ghash_block(struct gcm *g, const uint8_t block[16])
{
	uint64_t x0 = g->y[0] ^ es_load_be64(block), x1 = g->y[1] ^ es_load_be64(block + 8);
	uint64_t v0 = g->h[0], v1 = g->h[1], z0 = 0, z1 = 0;

	for (int i = 0; i < 128; i++) {
		uint64_t bit = (i < 64 ? x0 >> (63 - i) : x1 >> (127 - i)) & 1;
		uint64_t reduce = 0 - (v1 & 1);

		z0 ^= v0 & (0 - bit);
		z1 ^= v1 & (0 - bit);
		v1 = v1 >> 1 | v0 << 63;
		v0 = v0 >> 1 ^ (0xe100000000000000ull & reduce);
	}
	g->y[0] = z0;
	g->y[1] = z1;
}

/* GHASH over data, the last partial block padded with zeros. */
static void ghash(struct gcm *g, const uint8_t *data, size_t len)
{
	uint8_t block[16];

	for (; len >= 16; data += 16, len -= 16)
		ghash_block(g, data);
	if (len) {
		memset(block, 0, sizeof(block));
		memcpy(block, data, len);
		ghash_block(g, block);
		es_crypto_wipe(block, sizeof(block));
	}
}

/* in to out with the key stream from counter block 2 on. */
static void ctr(struct gcm *g, const uint8_t *in, uint8_t *out, size_t len)
{
	uint8_t stream[16];

	for (uint32_t n = 2; len; n++) {
		size_t take = len < 16 ? len : 16;

		g->counter[12] = (uint8_t)(n >> 24);
		g->counter[13] = (uint8_t)(n >> 16);
		g->counter[14] = (uint8_t)(n >> 8);
		g->counter[15] = (uint8_t)n;
		es_aes256_encrypt(g->rk, g->counter, stream);
		for (size_t i = 0; i < take; i++)
			out[i] = in[i] ^ stream[i];
		in += take;
		out += take;
		len -= take;
	}
	es_crypto_wipe(stream, sizeof(stream));
}

/*
 * Key, nonce and the associated data; then the caller hashes the
 * ciphertext and calls tag().
 */
static void start(struct gcm *g, const uint8_t *key, const uint8_t *nonce,
		  const uint8_t *aad, size_t aad_len)
{
	uint8_t zero[16];

	memset(g, 0, sizeof(*g));
	memset(zero, 0, sizeof(zero));
	es_aes256_expand(g->rk, key);
	es_aes256_encrypt(g->rk, zero, zero);
	g->h[0] = es_load_be64(zero);
	g->h[1] = es_load_be64(zero + 8);
	es_crypto_wipe(zero, sizeof(zero));
	memcpy(g->counter, nonce, ES_CRYPTO_GCM_NONCE_SIZE);
	ghash(g, aad, aad_len);
}

/* E(K, nonce | 1) + GHASH(..., bit lengths). */
static void tag(struct gcm *g, size_t aad_len, size_t len, uint8_t out[16])
{
	uint8_t block[16];

	es_store_be64(block, (uint64_t)aad_len << 3);
	es_store_be64(block + 8, (uint64_t)len << 3);
	ghash_block(g, block);
	g->counter[12] = g->counter[13] = g->counter[14] = 0;
	g->counter[15] = 1;
	es_aes256_encrypt(g->rk, g->counter, block);
	es_store_be64(out, es_load_be64(block) ^ g->y[0]);
	es_store_be64(out + 8, es_load_be64(block + 8) ^ g->y[1]);
	es_crypto_wipe(block, sizeof(block));
}

static int check_args(const uint8_t *key, const uint8_t *nonce, const void *aad,
		      size_t aad_len, const void *in, size_t len, const void *out,
		      const uint8_t *tag_buf)
{
	if (!key || !nonce || !tag_buf || (!aad && aad_len) || ((!in || !out) && len))
		return -EINVAL;
	if (len > GCM_LEN_MAX || aad_len > GCM_LEN_MAX)
		return -EFBIG;
	return 0;
}

int es_crypto_aead_seal(const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			const void *aad, size_t aad_len,
			const void *in, size_t len, void *out,
			uint8_t tag_out[ES_CRYPTO_GCM_TAG_SIZE])
{
	struct gcm g;
	int ret = check_args(key, nonce, aad, aad_len, in, len, out, tag_out);

	if (ret)
		return ret;
	start(&g, key, nonce, aad, aad_len);
	ctr(&g, in, out, len);
	ghash(&g, out, len);
	tag(&g, aad_len, len, tag_out);
	es_crypto_wipe(&g, sizeof(g));
	return 0;
}

int es_crypto_aead_open(const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			const void *aad, size_t aad_len,
			const void *in, size_t len,
			const uint8_t tag_in[ES_CRYPTO_GCM_TAG_SIZE], void *out)
{
	struct gcm g;
	uint8_t want[ES_CRYPTO_GCM_TAG_SIZE];
	int ret = check_args(key, nonce, aad, aad_len, in, len, out, tag_in);

	if (ret)
		return ret;
	start(&g, key, nonce, aad, aad_len);
	ghash(&g, in, len);
	tag(&g, aad_len, len, want);
	if (es_crypto_memcmp(want, tag_in, sizeof(want))) {
		/* the promise: a failed open leaves out all zeros */
		es_crypto_wipe(out, len);
		ret = -EBADMSG;
	} else {
		ctr(&g, in, out, len);
	}
	es_crypto_wipe(&g, sizeof(g));
	es_crypto_wipe(want, sizeof(want));
	return ret;
}
