/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * SHA-256 for libcore.
 *
 * Two interchangeable backends implement this interface; link exactly one:
 *
 *   lib/crypto/sha256_openssl.c   OpenSSL 3 EVP (the normal build: uses
 *                                 SHA-NI or whatever the CPU offers)
 *   lib/crypto/sha256_portable.c  plain C, no allocation, no libc beyond
 *                                 memcpy/memset; builds with -ffreestanding
 *                                 for the boot reader
 *
 * Lifecycle of a context (stack allocation is fine):
 *
 *	es_sha256_init()          acquire backend resources, start a message
 *	es_sha256_update() ...    feed any number of bytes, any chunking
 *	es_sha256_final()         write the digest and release the context
 *
 * Every successful es_sha256_init() must be matched by es_sha256_final() or
 * es_sha256_release().  To hash many short messages (e.g. 4 KiB blocks)
 * without re-acquiring anything per message, end each message with
 * es_sha256_final_reset(), which writes the digest and immediately starts
 * the next message on the same context, and call es_sha256_release() at the
 * end.
 *
 * Errors are negative errno values.  The portable backend never fails.  The
 * OpenSSL backend returns -ENOMEM when it cannot allocate a context and -EIO
 * when an EVP call fails; a failure inside es_sha256_update() is remembered
 * and reported by the next final/final_reset.
 */
#ifndef EROFS_SHA256_H
#define EROFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define ES_SHA256_DIGEST_SIZE	32
#define ES_SHA256_BLOCK_SIZE	64	/* compression function input */

struct es_sha256_ctx {
	union {
		/* lib/crypto/sha256_portable.c */
		struct {
			uint32_t state[8];
			uint64_t total_len;	/* message bytes so far */
			uint8_t buf[ES_SHA256_BLOCK_SIZE];
			unsigned int buf_len;	/* bytes pending in buf */
		} portable;
		/* lib/crypto/sha256_openssl.c */
		struct {
			void *md_ctx;		/* EVP_MD_CTX * */
			void *md;		/* EVP_MD *, fetched once */
		} evp;
	} u;
	int error;	/* first failure seen since init, 0 if none */
};

int es_sha256_init(struct es_sha256_ctx *ctx);
void es_sha256_update(struct es_sha256_ctx *ctx, const void *data, size_t len);
/* Write the digest and release the context (also on failure). */
int es_sha256_final(struct es_sha256_ctx *ctx,
		    uint8_t out[ES_SHA256_DIGEST_SIZE]);
/* Write the digest and start a new message; the context stays acquired. */
int es_sha256_final_reset(struct es_sha256_ctx *ctx,
			  uint8_t out[ES_SHA256_DIGEST_SIZE]);
/* Release without producing a digest; harmless after es_sha256_final(). */
void es_sha256_release(struct es_sha256_ctx *ctx);

/* One-shot digest of a buffer. */
int es_sha256(const void *data, size_t len, uint8_t out[ES_SHA256_DIGEST_SIZE]);

#endif
