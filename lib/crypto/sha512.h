/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * SHA-512 (FIPS 180-4) in plain C, for the portable HMAC/HKDF and Ed25519
 * (lib/crypto/sha512_portable.c).  Internal to lib/crypto/: hosted builds
 * get SHA-512 from OpenSSL through backend.h and never link this.  No
 * allocation, never fails.  Wipe a context that hashed a secret with
 * es_crypto_wipe() (es_sha512_final does).
 */
#ifndef EROFS_CRYPTO_SHA512_H
#define EROFS_CRYPTO_SHA512_H

#include <stddef.h>
#include <stdint.h>

#define ES_SHA512_DIGEST_SIZE	64
#define ES_SHA512_BLOCK_SIZE	128

struct es_sha512_ctx {
	uint64_t state[8];
	uint64_t total_len;		/* message bytes so far */
	uint8_t buf[ES_SHA512_BLOCK_SIZE];
	unsigned int buf_len;		/* bytes pending in buf */
};

void es_sha512_init(struct es_sha512_ctx *ctx);
void es_sha512_update(struct es_sha512_ctx *ctx, const void *data, size_t len);
/* Write the digest and wipe the context. */
void es_sha512_final(struct es_sha512_ctx *ctx, uint8_t out[ES_SHA512_DIGEST_SIZE]);

#endif
