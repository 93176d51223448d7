// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fs-verity digests with several threads.  The data blocks (all but ~1/128
 * of the work) are cut into pieces of a few level-0 tree blocks (128 data
 * blocks each) that the threads claim in turn from one counter: a thread
 * reads its piece into a small reused buffer (it stays in cache between the
 * copy and the hashing, and is faulted in once), hashes the blocks two at a
 * time with the multi-message code straight into their slots of level 0 of
 * the tree, then hashes the piece's level-0 tree blocks into level 1 the
 * same way.  Claiming pieces rather than owning one fixed range means a
 * thread that starts late or runs slower (the caller's thread starts after
 * the helpers; a shared machine steals time) leaves no tail for the others
 * to wait on.  The calling thread hashes too, then the few upper levels,
 * each level as one multi-message batch.  The tree and digest are the same
 * whatever the thread count and whoever hashes which piece.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
/* Level-0 tree blocks a thread claims at a time (2 MiB of data): small
 * enough that the last piece adds little to the wall time, large enough
 * that the counter is touched a few hundred times per GiB. */
#define GROUPS_PER_PIECE 4u

/* What the threads share; next is the only field they write. */
struct hash_shared {
	int fd;
	const volatile sig_atomic_t *stop;
	const struct es_verity_geom *g;
	uint8_t *tree;
	uint64_t groups;		/* level-0 tree blocks in all */
	atomic_uint_fast64_t next;	/* first level-0 tree block not claimed */
	atomic_int failed;		/* set by the first thread that fails */
};

struct hash_job {
	struct hash_shared *sh;
	int ret;
};

/* Level-0 digests of the data blocks of level-0 tree blocks
 * [first_group, end_group), then their level-1 digests. */
static int hash_piece(const struct hash_shared *sh, struct es_sha256_mb *mb, uint8_t *buf,
		      uint64_t first_group, uint64_t end_group)
{
	const struct es_verity_geom *g = sh->g;
	uint64_t first = first_group << ES_VERITY_LOG_ARITY;
	uint64_t end = end_group << ES_VERITY_LOG_ARITY;
	uint8_t *level0 = sh->tree + g->level_offset[0];
	int ret = 0;

	if (end > g->data_blocks)
		end = g->data_blocks;
	for (uint64_t blk = first; !ret && blk < end;) {
		uint64_t off = blk * ES_VERITY_BLOCK_SIZE;
		uint64_t n = end - blk < HASH_READ_BLOCKS ? end - blk : HASH_READ_BLOCKS;
		uint64_t want = n * ES_VERITY_BLOCK_SIZE;
		ssize_t got;

		if (sh->stop && *sh->stop) {
			ret = -ECANCELED;
			break;
		}
		if (off + want > g->data_size)
			want = g->data_size - off;
		got = es_pread_full(sh->fd, buf, (size_t)want, off);
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
		ret = es_sha256_mb_blocks(mb, buf, (size_t)n, ES_VERITY_BLOCK_SIZE,
					  level0 + blk * ES_VERITY_HASH_SIZE);
		blk += n;
	}
	/* the level-0 tree blocks of this piece are complete: level 1 */
	if (!ret && g->levels > 1)
		ret = es_sha256_mb_blocks(mb, level0 + (first_group << ES_VERITY_LOG_BLOCK_SIZE),
					  (size_t)(end_group - first_group), ES_VERITY_BLOCK_SIZE,
					  sh->tree + g->level_offset[1] +
					  first_group * ES_VERITY_HASH_SIZE);
	return ret;
}

/* Pieces claimed from the shared counter until none is left or a thread fails. */
static int hash_pieces(struct hash_shared *sh)
{
	struct es_sha256_mb mb;
	uint8_t *buf;
	int ret;

	if (posix_memalign((void **)&buf, ES_VERITY_BLOCK_SIZE,
			   HASH_READ_BLOCKS * ES_VERITY_BLOCK_SIZE))
		return -ENOMEM;
	es_prefault(buf, HASH_READ_BLOCKS * ES_VERITY_BLOCK_SIZE);
	ret = es_sha256_mb_init(&mb, 0);
	while (!ret && !atomic_load_explicit(&sh->failed, memory_order_relaxed)) {
		uint64_t first = atomic_fetch_add_explicit(&sh->next, GROUPS_PER_PIECE,
							   memory_order_relaxed);

		if (first >= sh->groups)
			break;
		ret = hash_piece(sh, &mb, buf, first,
				 sh->groups - first < GROUPS_PER_PIECE ? sh->groups
								       : first + GROUPS_PER_PIECE);
	}
	if (ret)
		atomic_store_explicit(&sh->failed, 1, memory_order_relaxed);
	es_sha256_mb_release(&mb);
	free(buf);
	return ret;
}

static void *hash_thread(void *arg)
{
	struct hash_job *job = arg;

	job->ret = hash_pieces(job->sh);
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
	struct hash_shared sh;
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
	t = es_alloc_big((size_t)g.tree_size);
	if (!t)
		return -ENOMEM;
	zero_level_tails(&g, t);

	groups = g.level_blocks[0];
	if (!nthreads)
		nthreads = 1;
	if (nthreads > ES_MAX_THREADS)
		nthreads = ES_MAX_THREADS;
	if (nthreads > groups / MIN_GROUPS_PER_THREAD)
		nthreads = groups / MIN_GROUPS_PER_THREAD ? (unsigned int)(groups /
							       MIN_GROUPS_PER_THREAD) : 1;
	sh = (struct hash_shared){ .fd = fd, .stop = stop, .g = &g, .tree = t, .groups = groups };
	atomic_init(&sh.next, 0);
	atomic_init(&sh.failed, 0);
	for (unsigned int i = 0; i < nthreads; i++)
		jobs[i] = (struct hash_job){ .sh = &sh };
	/* the calling thread hashes pieces too, once the helpers are started;
	 * a helper that cannot be started only leaves more pieces to the rest */
	for (unsigned int i = 1; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, hash_thread, &jobs[i]))
			break;
		started++;
	}
	ret = jobs[0].ret = hash_pieces(&sh);
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
