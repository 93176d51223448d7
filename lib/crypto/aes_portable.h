/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The AES-256 block cipher (FIPS 197) in plain C, for the portable XTS and
 * GCM (lib/crypto/xts_portable.c, gcm_portable.c).  Internal to
 * lib/crypto/.  One key schedule serves both directions (the inverse
 * cipher runs it backwards).  in and out may be the same block.
 */
#ifndef EROFS_CRYPTO_AES_PORTABLE_H
#define EROFS_CRYPTO_AES_PORTABLE_H

#include <stdint.h>

#define ES_AES256_KEY_SIZE	32
#define ES_AES256_SCHEDULE	60	/* 32-bit words: 15 round keys */

void es_aes256_expand(uint32_t rk[ES_AES256_SCHEDULE], const uint8_t key[ES_AES256_KEY_SIZE]);
void es_aes256_encrypt(const uint32_t rk[ES_AES256_SCHEDULE], const uint8_t in[16],
		       uint8_t out[16]);
void es_aes256_decrypt(const uint32_t rk[ES_AES256_SCHEDULE], const uint8_t in[16],
		       uint8_t out[16]);

#endif
