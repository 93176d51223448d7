/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * SHA-256 of many independent messages of equal length, such as the 4 KiB
 * blocks of an fs-verity Merkle tree (lib/crypto/sha256_mb.c).
 *
 * One stream of SHA-256 leaves most of an x86 core idle: each SHA-NI round
 * instruction waits for the previous one.  Hashing two messages at once,
 * their rounds interleaved, keeps the unit busy (the Linux kernel does the
 * same for fs-verity); on CPUs without SHA-NI, or when the caller masks it
 * off, the messages go one by one through erofs/sha256.h, whatever backend
 * is linked there.  The digests are the same either way.
 *
 *	struct es_sha256_mb mb;
 *	ret = es_sha256_mb_init(&mb, 0);
 *	ret = es_sha256_mb_blocks(&mb, data, n, 4096, digests);
 *	es_sha256_mb_release(&mb);
 *
 * The choice of code is made once, by es_sha256_mb_init(), and kept in the
 * context: ES_SHA256_MB_NO_SHANI in flags, or the environment variable
 * ES_SHA256_NO_SHANI set to anything but "" or "0", selects the one-by-one
 * path even where the CPU has SHA-NI (tests and benchmarks use this).
 *
 * A context serves one thread at a time.  Errors are negative errno values
 * from the erofs/sha256.h backend; the SHA-NI path cannot fail.  Hosted
 * builds only.
 */
#ifndef EROFS_SHA256_MB_H
#define EROFS_SHA256_MB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/sha256.h"

/* es_sha256_mb_init() flags */
#define ES_SHA256_MB_NO_SHANI	0x1u	/* hash one by one, never SHA-NI */

struct es_sha256_mb {
	struct es_sha256_ctx seq;	/* the one-by-one path */
	bool shani;			/* the interleaved SHA-NI code is used */
};

/* Whether this CPU has the SHA-NI, SSSE3 and SSE4.1 instructions. */
bool es_sha256_mb_cpu_has_shani(void);

/* Choose the code (see above); -ENOMEM or -EIO from the backend. */
int es_sha256_mb_init(struct es_sha256_mb *mb, unsigned int flags);
/* Harmless on a released context. */
void es_sha256_mb_release(struct es_sha256_mb *mb);

/* "sha-ni x2" or "one by one": what the context uses, for reports. */
const char *es_sha256_mb_impl(const struct es_sha256_mb *mb);

/* Digests of two messages of len bytes each (any length). */
int es_sha256_mb_x2(struct es_sha256_mb *mb, const void *a, const void *b,
		    size_t len, uint8_t out_a[ES_SHA256_DIGEST_SIZE],
		    uint8_t out_b[ES_SHA256_DIGEST_SIZE]);

/* Digests of n messages of len bytes each: digest i at digests + 32 * i. */
int es_sha256_mb_many(struct es_sha256_mb *mb, const void *const *msgs,
		      size_t n, size_t len, uint8_t *digests);

/* The same for n messages laid end to end: message i at data + i * len. */
int es_sha256_mb_blocks(struct es_sha256_mb *mb, const void *data, size_t n,
			size_t len, uint8_t *digests);

#endif
