/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * fs-verity digests of a file with several threads (lib/crypto/hashpool.c):
 * the same digest and tree as the one-thread builder of erofs/verity.h,
 * whatever the thread count.  Hosted only (pthreads, pread()).
 */
#ifndef ES_CRYPTO_HASHPOOL_H
#define ES_CRYPTO_HASHPOOL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Parallel fs-verity digest of the first size bytes of fd. */
int es_verity_digest_fd_parallel(int fd, uint64_t size, unsigned int nthreads,
				 uint8_t digest[32], uint8_t **tree, size_t *tree_len);
/* The same, giving up with -ECANCELED soon after *stop becomes non-zero
 * (stop may be NULL); the digest does not depend on either. */
int es_verity_digest_fd_stoppable(int fd, uint64_t size, unsigned int nthreads,
				  const volatile sig_atomic_t *stop, uint8_t digest[32],
				  uint8_t **tree, size_t *tree_len);

#endif
