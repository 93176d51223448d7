// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fs-verity digests with several threads.  The data blocks (all but ~1/128
 * of the work) are split into large contiguous ranges, one per thread, each
 * a whole number of level-0 tree blocks (128 data blocks): a thread reads
 * its range into a small reused buffer (it stays in cache between the copy
 * and the hashing, and is faulted in once), hashes the blocks two at a time
 * with the multi-message code straight into their slots of level 0 of the
 * tree, then hashes its own level-0 tree blocks into level 1 the same way.
 * The calling thread hashes the first range itself, then the few upper
 * levels, each level as one multi-message batch.  No thread waits on
 * another before the end, and the tree and digest are the same whatever
 * the thread count.
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

/* Read batch: 64 blocks, small enough to stay in L2 until it is hashed. */
#define HASH_READ_BLOCKS 64u
#define ES_MAX_THREADS 64
/* No thread gets fewer level-0 tree blocks than this (8 MiB of data). */
#define MIN_GROUPS_PER_THREAD 16u

struct hash_job {
	int fd;
	const volatile sig_atomic_t *stop;
	const struct es_verity_geom *g;
	uint8_t *tree;
	uint64_t first_group, end_group;	/* level-0 tree blocks */
	int ret;
};

/* Level-0 digests of the job's data blocks, then their level-1 digests. */
static int hash_range(struct hash_job *job)
{
	const struct es_verity_geom *g = job->g;
	uint64_t first = job->first_group << ES_VERITY_LOG_ARITY;
	uint64_t end = job->end_group << ES_VERITY_LOG_ARITY;
	uint8_t *level0 = job->tree + g->level_offset[0];
	struct es_sha256_mb mb;
	uint8_t *buf;
	int ret;

	if (end > g->data_blocks)
		end = g->data_blocks;
	if (posix_memalign((void **)&buf, ES_VERITY_BLOCK_SIZE,
			   HASH_READ_BLOCKS * ES_VERITY_BLOCK_SIZE))
		return -ENOMEM;
	es_prefault(buf, HASH_READ_BLOCKS * ES_VERITY_BLOCK_SIZE);
	ret = es_sha256_mb_init(&mb, 0);
	for (uint64_t blk = first; !ret && blk < end;) {
		uint64_t off = blk * ES_VERITY_BLOCK_SIZE;
		uint64_t n = end - blk < HASH_READ_BLOCKS ? end - blk : HASH_READ_BLOCKS;
		uint64_t want = n * ES_VERITY_BLOCK_SIZE;
		ssize_t got;

		if (job->stop && *job->stop) {
			ret = -ECANCELED;
			break;
		}
		if (off + want > g->data_size)
			want = g->data_size - off;
		got = es_pread_full(job->fd, buf, (size_t)want, off);
		if (got < 0) {
			ret = (int)got;
			break;
		}
		if ((uint64_t)got != want) {
			ret = -EIO;
			break;
		}
		/* zero-pad the last partial block, as fs-verity does */
		if (want % ES_VERITY_BLOCK_SIZE)
			memset(buf + want, 0, ES_VERITY_BLOCK_SIZE - want % ES_VERITY_BLOCK_SIZE);
		ret = es_sha256_mb_blocks(&mb, buf, (size_t)n, ES_VERITY_BLOCK_SIZE,
					  level0 + blk * ES_VERITY_HASH_SIZE);
		blk += n;
	}
	/* the level-0 tree blocks of this range are complete: level 1 */
	if (!ret && g->levels > 1)
		ret = es_sha256_mb_blocks(&mb, level0 + (job->first_group << ES_VERITY_LOG_BLOCK_SIZE),
					  (size_t)(job->end_group - job->first_group),
					  ES_VERITY_BLOCK_SIZE,
					  job->tree + g->level_offset[1] +
					  job->first_group * ES_VERITY_HASH_SIZE);
	es_sha256_mb_release(&mb);
	free(buf);
	return ret;
}

static void *hash_thread(void *arg)
{
	struct hash_job *job = arg;

	job->ret = hash_range(job);
	return NULL;
}

/* Zero the unused end of the last block of each level. */
static void zero_level_tails(const struct es_verity_geom *g, uint8_t *tree)
{
	for (unsigned int l = 0; l < g->levels; l++) {
		uint64_t fill = l ? g->level_blocks[l - 1] : g->data_blocks;
		uint64_t cap = g->level_blocks[l] << ES_VERITY_LOG_ARITY;

		memset(tree + g->level_offset[l] + fill * ES_VERITY_HASH_SIZE, 0,
		       (size_t)(cap - fill) * ES_VERITY_HASH_SIZE);
	}
}

/* Levels from..levels-1 into the level above, the top one into root. */
static int hash_upper_levels(const struct es_verity_geom *g, uint8_t *tree,
			     unsigned int from, uint8_t root[ES_VERITY_HASH_SIZE])
{
	struct es_sha256_mb mb;
	int ret = es_sha256_mb_init(&mb, 0);

	for (unsigned int l = from; !ret && l < g->levels; l++)
		ret = es_sha256_mb_blocks(&mb, tree + g->level_offset[l],
					  (size_t)g->level_blocks[l], ES_VERITY_BLOCK_SIZE,
					  l + 1 < g->levels ? tree + g->level_offset[l + 1]
							    : root);
	es_sha256_mb_release(&mb);
	return ret;
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
	struct es_verity_geom g;
	uint8_t root[ES_VERITY_HASH_SIZE];
	uint8_t *t;
	unsigned int started = 0;
	uint64_t groups;
	int ret;

	if (fd < 0 || !digest || (tree && !tree_len))
		return -EINVAL;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	ret = es_verity_geometry(size, &g);
	if (ret)
		return ret;
	/* a file of at most one block has no tree */
	if (!g.levels)
		return es_verity_digest_fd(fd, size, digest, tree, tree_len);
	if ((size_t)g.tree_size != g.tree_size)
		return -EFBIG;
	t = malloc((size_t)g.tree_size);
	if (!t)
		return -ENOMEM;
	es_prefault(t, (size_t)g.tree_size);
	zero_level_tails(&g, t);

	groups = g.level_blocks[0];
	if (!nthreads)
		nthreads = 1;
	if (nthreads > ES_MAX_THREADS)
		nthreads = ES_MAX_THREADS;
	if (nthreads > groups / MIN_GROUPS_PER_THREAD)
		nthreads = groups / MIN_GROUPS_PER_THREAD ? (unsigned int)(groups /
							       MIN_GROUPS_PER_THREAD) : 1;
	for (unsigned int i = 0; i < nthreads; i++)
		jobs[i] = (struct hash_job){
			.fd = fd, .stop = stop, .g = &g, .tree = t,
			.first_group = groups * i / nthreads,
			.end_group = groups * (i + 1) / nthreads,
		};
	/* the calling thread takes the first range itself */
	for (unsigned int i = 1; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, hash_thread, &jobs[i]))
			break;
		started++;
	}
	ret = started == nthreads - 1 ? 0 : -EAGAIN;
	jobs[0].ret = ret ? ret : hash_range(&jobs[0]);
	ret = jobs[0].ret;
	for (unsigned int i = 1; i <= started; i++) {
		pthread_join(tids[i], NULL);
		if (!ret)
			ret = jobs[i].ret;
	}
	/* levels 0 and 1 are done when there is a level 1 */
	if (!ret)
		ret = hash_upper_levels(&g, t, g.levels > 1 ? 1 : 0, root);
	if (!ret)
		ret = es_verity_file_digest(size, root, digest);
	if (!ret && tree) {
		*tree = t;
		*tree_len = (size_t)g.tree_size;
		t = NULL;
	}
	free(t);
	return ret;
}
