// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * AES-256-XTS (IEEE 1619, SP 800-38E) of one data unit, in plain C for the
 * freestanding boot build, over aes_portable.c: es_crypto_xts_* of
 * lib/crypto/backend.h with the same rules as the OpenSSL backend (equal
 * key halves refused, whole blocks only, 16 to 4096 bytes, no ciphertext
 * stealing).  The key schedules live in the context: nothing allocated.
 */
#include <errno.h>
#include <string.h>
#include "crypto/aes_portable.h"
#include "crypto/backend.h"

int es_crypto_xts_init(struct es_crypto_xts *x, enum es_crypto_dir dir)
{
	memset(x, 0, sizeof(*x));
	x->dir = dir;
	return 0;
}

int es_crypto_xts_setkey(struct es_crypto_xts *x,
			 const uint8_t key[ES_CRYPTO_XTS_KEY_SIZE])
{
	const size_t half = ES_CRYPTO_XTS_KEY_SIZE / 2;

	x->keyed = false;
	es_crypto_wipe(&x->u, sizeof(x->u));
	if (!key || !es_crypto_memcmp(key, key + half, half))
		return -EINVAL;
	es_aes256_expand(x->u.portable.data, key);
	es_aes256_expand(x->u.portable.tweak, key + half);
	x->keyed = true;
	return 0;
}

/* Multiply the tweak by x in GF(2^128) (little-endian, x^128 = x^7+x^2+x+1). */
static void next_tweak(uint8_t t[16])
{
	uint8_t carry = t[15] >> 7;

	for (int i = 15; i > 0; i--)
		t[i] = (uint8_t)(t[i] << 1 | t[i - 1] >> 7);
	/* a mask, not a branch: the tweak derives from a secret key */
	t[0] = (uint8_t)(t[0] << 1) ^ (uint8_t)(0x87 & -carry);
}

int es_crypto_xts_crypt(struct es_crypto_xts *x,
			const uint8_t tweak[ES_CRYPTO_XTS_TWEAK_SIZE],
			const void *in, void *out, size_t len)
{
	const uint8_t *src = in;
	uint8_t *dst = out, t[16], block[16];

	if (!x->keyed || !tweak || !in || !out ||
	    len < ES_CRYPTO_AES_BLOCK_SIZE || len > ES_CRYPTO_XTS_UNIT_SIZE ||
	    len % ES_CRYPTO_AES_BLOCK_SIZE)
		return -EINVAL;
	es_aes256_encrypt(x->u.portable.tweak, tweak, t);
	for (size_t off = 0; off < len; off += 16) {
		for (int i = 0; i < 16; i++)
			block[i] = src[off + i] ^ t[i];
		if (x->dir == ES_CRYPTO_ENCRYPT)
			es_aes256_encrypt(x->u.portable.data, block, block);
		else
			es_aes256_decrypt(x->u.portable.data, block, block);
		for (int i = 0; i < 16; i++)
			dst[off + i] = block[i] ^ t[i];
		next_tweak(t);
	}
	es_crypto_wipe(t, sizeof(t));
	es_crypto_wipe(block, sizeof(block));
	return 0;
}

void es_crypto_xts_release(struct es_crypto_xts *x)
{
	es_crypto_wipe(x, sizeof(*x));
}
