// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fs-verity digests with several threads: the data-block digests (all but
 * ~1/128 of the work) are computed in parallel over disjoint ranges of the
 * file, then fed in order to the tree builder, which hashes the few upper
 * levels.  The result is identical whatever the thread count.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/hashpool.h"
#include "erofs/sha256_mb.h"
#include "erofs/verity.h"
#include "io.h"

#define HASH_READ_SIZE (1u << 20)
#define ES_MAX_THREADS 64

struct hash_job {
	int fd;
	const volatile sig_atomic_t *stop;
	uint64_t size;
	uint64_t first_block, end_block;
	uint8_t *digests;		/* 32 bytes per block, whole file */
	int ret;
};

static void *hash_range(void *arg)
{
	struct hash_job *job = arg;
	uint8_t *buf = malloc(HASH_READ_SIZE);
	struct es_sha256_mb mb;
	int ret;

	if (!buf) {
		job->ret = -ENOMEM;
		return NULL;
	}
	ret = es_sha256_mb_init(&mb, 0);
	for (uint64_t blk = job->first_block; !ret && blk < job->end_block;) {
		uint64_t off = blk * ES_VERITY_BLOCK_SIZE;
		uint64_t want = (job->end_block - blk) * ES_VERITY_BLOCK_SIZE;
		ssize_t got;
		size_t n;

		if (job->stop && *job->stop) {
			ret = -ECANCELED;
			break;
		}
		if (want > HASH_READ_SIZE)
			want = HASH_READ_SIZE;
		if (off + want > job->size)
			want = job->size - off;
		got = es_pread_full(job->fd, buf, (size_t)want, off);
		if (got < 0) {
			ret = (int)got;
			break;
		}
		if ((uint64_t)got != want) {
			ret = -EIO;
			break;
		}
		n = (size_t)got;
		/* zero-pad the last partial block, as fs-verity does */
		if (n % ES_VERITY_BLOCK_SIZE) {
			size_t pad = ES_VERITY_BLOCK_SIZE - n % ES_VERITY_BLOCK_SIZE;

			memset(buf + n, 0, pad);
			n += pad;
		}
		ret = es_sha256_mb_blocks(&mb, buf, n / ES_VERITY_BLOCK_SIZE, ES_VERITY_BLOCK_SIZE,
					  job->digests + blk * ES_VERITY_HASH_SIZE);
		blk += n / ES_VERITY_BLOCK_SIZE;
	}
	es_sha256_mb_release(&mb);
	free(buf);
	job->ret = ret;
	return NULL;
}

int es_verity_digest_fd_parallel(int fd, uint64_t size, unsigned int nthreads,
				 uint8_t digest[32], uint8_t **tree, size_t *tree_len)
{
	return es_verity_digest_fd_stoppable(fd, size, nthreads, NULL, digest, tree,
					     tree_len);
}

int es_verity_digest_fd_stoppable(int fd, uint64_t size, unsigned int nthreads,
				  const volatile sig_atomic_t *stop, uint8_t digest[32],
				  uint8_t **tree, size_t *tree_len)
{
	struct hash_job jobs[ES_MAX_THREADS];
	pthread_t tids[ES_MAX_THREADS];
	struct es_verity_builder b;
	uint64_t blocks = (size + ES_VERITY_BLOCK_SIZE - 1) / ES_VERITY_BLOCK_SIZE;
	uint8_t *digests;
	unsigned int started = 0;
	int ret;

	if (!nthreads)
		nthreads = 1;
	/* small files, and a single thread nobody may stop, need no pool */
	if ((nthreads == 1 && !stop) || blocks < 2 * nthreads * 256)
		return es_verity_digest_fd(fd, size, digest, tree, tree_len);
	if (nthreads > ES_MAX_THREADS)
		nthreads = ES_MAX_THREADS;
	digests = malloc(blocks * ES_VERITY_HASH_SIZE);
	if (!digests)
		return -ENOMEM;
	for (unsigned int t = 0; t < nthreads; t++) {
		jobs[t] = (struct hash_job){
			.fd = fd, .stop = stop, .size = size, .digests = digests,
			.first_block = blocks * t / nthreads,
			.end_block = blocks * (t + 1) / nthreads,
		};
		if (pthread_create(&tids[t], NULL, hash_range, &jobs[t]))
			break;
		started++;
	}
	ret = started == nthreads ? 0 : -EAGAIN;
	for (unsigned int t = 0; t < started; t++) {
		pthread_join(tids[t], NULL);
		if (!ret)
			ret = jobs[t].ret;
	}
	if (!ret)
		ret = es_verity_builder_init(&b, size);
	if (!ret) {
		for (uint64_t i = 0; !ret && i < blocks; i++)
			ret = es_verity_builder_add_block_digest(&b, digests + i * ES_VERITY_HASH_SIZE);
		if (!ret)
			ret = es_verity_builder_final(&b, NULL, digest);
		if (!ret && tree)
			*tree = es_verity_builder_take_tree(&b, tree_len);
		es_verity_builder_free(&b);
	}
	free(digests);
	return ret;
}
