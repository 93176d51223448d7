// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The chunk pipeline of a build: a bounded window of chunks, read in input
 * order (possibly from many small files), is hashed (and, encrypted, their
 * keyed identifiers derived and the chunks encrypted in place) on the
 * worker pool; then the dedup decisions and block placement are made one
 * chunk at a time in input order, exactly as a one-thread build makes
 * them; then the new chunks are written, in runs of consecutive blocks (one
 * gathering write each).  Only the hashing, the encryption and the writes
 * run in parallel with the rest, each depends on its chunk alone and every
 * chunk's place is fixed before, so the image is the same byte for byte
 * whatever the thread count.
 *
 * A chunk's ciphertext depends on its plaintext alone (keyed convergent
 * encryption), so it is made with the chunk's identity, before anyone
 * knows whether the chunk is new: a duplicate's encryption is wasted (a
 * few percent of chunks in the builds measured), but the work is spread
 * over the pool instead of lengthening the one writer thread, the longest
 * serial stage when it also encrypted (2.4% off an encrypted --chunk-dict
 * build of minbase on 2 CPUs).
 *
 * With helper threads the building thread reads the next window while the
 * helpers identify the full one (wb_pipe_rotate), and a writer thread
 * writes the window before: copying the bytes into the page cache costs as
 * much CPU as hashing them, and would otherwise be the building thread's.
 * (One writer: buffered writes to one file take its inode lock, so more
 * would only wait for each other.)  Writes retire in order on the building
 * thread, which reports the first failure and notes the write-back.
 *
 * The blob's fs-verity digest hashes every block of it.  Rather than read
 * the blob back when it is complete, whoever writes a window hashes its
 * blocks as it writes them (the bytes are in cache then), and the digests
 * are kept in blob order: the blob's tree is then made from them
 * (wb_pipe_blob_leaves).  Anything else that writes the blob leaves a gap
 * in them or says so (wb_pipe_leaves_void), and the blob is read back as
 * before.
 *
 * Memory: the window (WPIPE_WINDOW_SIZE; three with helper threads) and
 * one slot record per block of it, whatever the size of the files; with
 * the blob's digests, 32 bytes per block written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "base/workpool.h"
#include "base/workq.h"
#include "crypto/backend.h"
#include "erofs/verity.h"
#include "erofs/format.h"
#include "erofs/sha256.h"
#include "erofs/sha256_mb.h"
#include "io.h"
#include "wtree.h"

/* A chunk read and waiting for its turn. */
struct wslot {
	struct wnode *n;
	uint64_t index;			/* of the chunk in its file */
	uint32_t len, nblocks;
	uint8_t *buf;			/* nblocks blocks, zero-padded */
	unsigned int name;		/* of its file, in names[] */
	int ret;			/* of the parallel steps */
	bool zero;
	uint8_t digest[32];		/* SHA-256 of the len bytes */
	uint8_t key[32];		/* the dedup key: digest, or keyed id */
	struct wdict_use dict;		/* a dictionary chunk's first use */
	const struct es_io *dict_io;	/* where its bytes are: a device of a */
	unsigned int dict_dev;		/* dictionary's checking source */
	uint64_t dict_off;
	uint8_t secret_out[32];		/* encrypted: its secret, made with its
					   ciphertext, until it goes into the map
					   (new or a dictionary's) or is wiped */
};

/* What one thread owns. */
struct wlane {
	struct wcrypt_lane *crypt;	/* encrypted builds */
	struct es_sha256_ctx sha;
	bool sha_ready;
	struct es_sha256_mb mb;		/* two chunks at once */
	bool mb_ready;
	uint8_t *dict_read;		/* a dictionary chunk's bytes */
	size_t dict_cap;
};

/* Consecutive new chunks (stored[from..to)), written with one pwritev. */
struct wrun {
	size_t from, to;
	uint64_t blk;			/* where the first one goes */
};

/* A run ends at this many bytes or chunks (well below IOV_MAX). */
#define WRUN_BYTES (256u << 10)
#define WRUN_CHUNKS 64

/* A window of chunks. */
struct wwin {
	struct wpipe *p;
	uint8_t *window;
	size_t used;			/* bytes of the window taken */
	struct wslot *slots;
	size_t nslots;
	size_t *stored;			/* the slots of new chunks, in order */
	size_t nstored;
	size_t *dicts;			/* the slots of dictionary chunks to check */
	size_t ndicts;
	struct wrun *runs;		/* the new chunks cut into runs */
	size_t nruns;
	struct iovec *iov;		/* one per new chunk, run after run */
	const void **blocks;		/* of the new chunks, for their digests */
	uint8_t *leaves;		/* their digests, when they are made */
	bool make_leaves;		/* set before the write is queued */
	bool leaves_ok;			/* they were made (under wlock) */
	uint64_t first;			/* block of the first new chunk */
	uint64_t nblocks;		/* of the new chunks */
	bool queued;			/* its write is not retired yet */
	bool writing;			/* the writer has it (under wlock) */
	int write_ret;			/* of that write (under wlock) */
	char **names;			/* the files the window's slots come from */
	size_t nnames;
	const struct wnode *last;	/* the file of names[nnames - 1] */
};

/*
 * With helper threads there are three windows: while the helpers identify
 * the chunks of a full one, the building thread reads into the next and
 * the writer writes the one before.
 */
struct wpipe {
	struct wbuild *b;
	struct es_workpool *pool;
	struct wlane *lanes;		/* one per pool thread */
	unsigned int nlanes;
	size_t max_slots;
	struct wwin win[3];
	unsigned int nwin;		/* 1, or 3 with helper threads */
	unsigned int cur;		/* the window being filled */
	unsigned int pending_win;	/* the window being identified */
	bool pending;			/* one is */
	struct es_workq *writer;	/* with helper threads */
	pthread_mutex_t wlock;
	pthread_cond_t written;		/* a window's write is done */
	bool wsync_ready;
	/* the blob's data block digests: on the writer thread, or on the
	   building thread without one (never both) */
	bool leaves_on;			/* still made, from block 0 on */
	struct es_sha256_mb leaf_mb;	/* the writer's */
	bool leaf_mb_ready;
	uint8_t *leaves;		/* blocks [0, nleaves) of the blob */
	uint64_t nleaves, leaves_cap;
};

static int win_init(struct wpipe *p, struct wwin *w)
{
	w->p = p;
	w->window = es_alloc_big(WPIPE_WINDOW_SIZE);
	w->slots = calloc(p->max_slots, sizeof(*w->slots));
	w->stored = calloc(p->max_slots, sizeof(*w->stored));
	w->names = calloc(p->max_slots, sizeof(*w->names));
	w->dicts = calloc(p->max_slots, sizeof(*w->dicts));
	w->runs = calloc(p->max_slots, sizeof(*w->runs));
	w->iov = calloc(p->max_slots, sizeof(*w->iov));
	if (!w->window || !w->slots || !w->stored || !w->names || !w->dicts || !w->runs ||
	    !w->iov)
		return es_fail(p->b->err, -ENOMEM, "out of memory");
	if (p->leaves_on) {
		/* a window's blocks: one per slot at most */
		w->blocks = calloc(p->max_slots, sizeof(*w->blocks));
		w->leaves = malloc(p->max_slots * ES_VERITY_HASH_SIZE);
		if (!w->blocks || !w->leaves)
			return es_fail(p->b->err, -ENOMEM, "out of memory");
	}
	return 0;
}

/*
 * The digests of a run's blocks (before it is written: the bytes are in
 * cache), at their place in the window's; false when one failed, which
 * only means that the blob is read back to hash it.
 */
static bool hash_run(struct wwin *w, const struct wrun *r)
{
	struct wpipe *p = w->p;
	size_t n = 0, at = (size_t)(r->blk - w->first);	/* blocks are 4 KiB */

	for (size_t i = r->from; i < r->to; i++)
		for (size_t off = 0; off < w->iov[i].iov_len; off += ES_VERITY_BLOCK_SIZE)
			w->blocks[n++] = (const uint8_t *)w->iov[i].iov_base + off;
	return !es_sha256_mb_many(&p->leaf_mb, w->blocks, n, ES_VERITY_BLOCK_SIZE,
				  w->leaves + at * ES_VERITY_HASH_SIZE);
}

/* Write a committed window's runs (their digests first, when made); 0 or
 * -errno. */
static int write_runs(struct wwin *w)
{
	const struct wbuild *b = w->p->b;
	int fd = b->blob_fd >= 0 ? b->blob_fd : b->image_fd;
	bool leaves = w->make_leaves;

	for (size_t i = 0; i < w->nruns; i++) {
		const struct wrun *r = &w->runs[i];
		int ret;

		if (leaves)
			leaves = hash_run(w, r);
		ret = es_pwritev_full(fd, &w->iov[r->from], (int)(r->to - r->from),
				      r->blk << b->blkszbits);
		if (ret)
			return ret;
	}
	w->leaves_ok = leaves;
	return 0;
}

/* On the writer thread: one window. */
static void writer_run(void *ctx, void *state, void *job)
{
	struct wpipe *p = ctx;
	struct wwin *w = job;
	int ret;

	(void)state;
	ret = write_runs(w);
	pthread_mutex_lock(&p->wlock);
	w->write_ret = ret;
	w->writing = false;
	pthread_cond_broadcast(&p->written);
	pthread_mutex_unlock(&p->wlock);
}

static int writer_init(void *ctx, unsigned int i, void **state, struct es_err *err)
{
	(void)ctx;
	(void)i;
	(void)err;
	*state = NULL;
	return 0;
}

static void writer_fini(void *ctx, void *state)
{
	(void)ctx;
	(void)state;
}

static const struct es_workq_ops writer_ops = {
	.thread_init = writer_init,
	.run = writer_run,
	.thread_fini = writer_fini,
};

static int start_writer(struct wpipe *p)
{
	if (pthread_mutex_init(&p->wlock, NULL))
		return es_fail(p->b->err, -ENOMEM, "out of memory");
	if (pthread_cond_init(&p->written, NULL)) {
		pthread_mutex_destroy(&p->wlock);
		return es_fail(p->b->err, -ENOMEM, "out of memory");
	}
	p->wsync_ready = true;
	return es_workq_start(&p->writer, 1, 3, &writer_ops, p, p->b->err);
}

int wb_pipe_init(struct wbuild *b)
{
	struct wpipe *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->pipe = p;
	p->b = b;
	p->max_slots = WPIPE_WINDOW_SIZE >> b->blkszbits;
	p->pool = b->pool;
	p->nlanes = es_workpool_size(p->pool);
	p->nwin = p->nlanes > 1 ? 3 : 1;
	/* the fs-verity blocks of the blob are its blocks */
	p->leaves_on = b->blob_fd >= 0 && b->blksz == ES_VERITY_BLOCK_SIZE;
	for (unsigned int i = 0; i < p->nwin; i++) {
		ret = win_init(p, &p->win[i]);
		if (ret)
			return ret;
	}
	if (p->leaves_on) {
		ret = es_sha256_mb_init(&p->leaf_mb, 0);
		if (ret)
			return es_fail(b->err, ret, "SHA-256 unavailable");
		p->leaf_mb_ready = true;
	}
	if (p->nwin > 1) {
		ret = start_writer(p);
		if (ret)
			return ret;
	}
	p->lanes = calloc(p->nlanes, sizeof(*p->lanes));
	if (!p->lanes)
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < p->nlanes; i++) {
		ret = es_sha256_init(&p->lanes[i].sha);
		if (ret)
			return es_fail(b->err, ret, "SHA-256 unavailable");
		p->lanes[i].sha_ready = true;
		ret = es_sha256_mb_init(&p->lanes[i].mb, 0);
		if (ret)
			return es_fail(b->err, ret, "SHA-256 unavailable");
		p->lanes[i].mb_ready = true;
		if (b->crypt) {
			ret = wb_crypt_lane_new(b, &p->lanes[i].crypt);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void forget_names(struct wwin *w)
{
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i]);
	w->nnames = 0;
	w->last = NULL;
}

static void win_free(const struct wbuild *b, struct wwin *w)
{
	if (w->window && b->crypt)
		es_crypto_wipe(w->window, WPIPE_WINDOW_SIZE);	/* plaintext */
	free(w->window);
	free(w->slots);
	free(w->stored);
	free(w->dicts);
	free(w->runs);
	free(w->iov);
	free(w->blocks);
	free(w->leaves);
	if (w->names)
		forget_names(w);
	free(w->names);
}

void wb_pipe_free(struct wbuild *b)
{
	struct wpipe *p = b->pipe;

	if (!p)
		return;
	es_workpool_wait(p->pool);	/* a window being identified */
	if (p->writer)
		es_workq_finish(p->writer);	/* the windows being written */
	if (p->leaf_mb_ready)
		es_sha256_mb_release(&p->leaf_mb);
	free(p->leaves);
	if (p->wsync_ready) {
		pthread_cond_destroy(&p->written);
		pthread_mutex_destroy(&p->wlock);
	}
	for (unsigned int i = 0; p->lanes && i < p->nlanes; i++) {
		if (p->lanes[i].sha_ready)
			es_sha256_release(&p->lanes[i].sha);
		if (p->lanes[i].mb_ready)
			es_sha256_mb_release(&p->lanes[i].mb);
		wb_crypt_lane_free(p->lanes[i].crypt);
		free(p->lanes[i].dict_read);
	}
	free(p->lanes);
	for (unsigned int i = 0; i < 3; i++)
		win_free(b, &p->win[i]);
	free(p);
	b->pipe = NULL;
}

/*
 * Once the data region is complete the windows are idle: their memory goes
 * back now, and what the seal allocates next reuses pages this process
 * touched already instead of first-touching new ones (on some hosts that
 * costs more than filling them).  Nothing reserves or flushes afterwards.
 */
void wb_pipe_release_windows(struct wbuild *b)
{
	struct wpipe *p = b->pipe;

	if (!p)
		return;
	es_workpool_wait(p->pool);
	for (unsigned int i = 0; i < 3; i++) {
		win_free(b, &p->win[i]);
		memset(&p->win[i], 0, sizeof(p->win[i]));
	}
	p->nwin = 0;
}

bool wb_pipe_has_room(const struct wbuild *b, uint32_t len)
{
	const struct wpipe *p = b->pipe;
	const struct wwin *w = &p->win[p->cur];
	size_t padded = (size_t)es_round_up(len, b->blksz);

	return w->used + padded <= WPIPE_WINDOW_SIZE && w->nslots < p->max_slots;
}

int wb_pipe_reserve(struct wbuild *b, struct wnode *n, uint64_t index, uint32_t len,
		    const char *what, uint8_t **buf)
{
	struct wpipe *p = b->pipe;
	struct wwin *w = &p->win[p->cur];
	uint32_t nblocks = (len + b->blksz - 1) >> b->blkszbits;
	size_t padded = (size_t)nblocks << b->blkszbits;
	struct wslot *s;

	if (!wb_pipe_has_room(b, len))
		return es_fail(b->err, -EINVAL, "%s: internal error: no room for a chunk of "
			       "%u bytes", ES_PATH(what), len);
	if (n != w->last) {
		w->names[w->nnames] = strdup(what ? what : "");
		if (!w->names[w->nnames])
			return es_fail(b->err, -ENOMEM, "out of memory");
		w->nnames++;
		w->last = n;
	}
	s = &w->slots[w->nslots++];
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->index = index;
	s->len = len;
	s->nblocks = nblocks;
	s->buf = w->window + w->used;
	s->name = (unsigned int)(w->nnames - 1);
	w->used += padded;
	memset(s->buf + len, 0, padded - len);
	*buf = s->buf;
	return 0;
}

/* A slot's dedup key from its digest: the digest, or its keyed id. */
static void slot_key(const struct wbuild *b, struct wlane *l, struct wslot *s)
{
	if (!s->ret && b->crypt)
		s->ret = wb_crypt_lane_id(b, l->crypt, s->digest, s->len, s->key);
	else
		memcpy(s->key, s->digest, sizeof(s->key));
}

/*
 * An encrypted build's chunk, in place, once it has its digest: its secret
 * to secret_out (see the top of this file).  A hole stays plaintext zeros:
 * it is stored as nothing.
 */
static void encrypt_slot(const struct wbuild *b, struct wlane *l, struct wslot *s)
{
	if (b->crypt && !s->zero && !s->ret)
		s->ret = wb_crypt_lane_chunk(b, l->crypt, s->digest, s->len, s->buf, s->nblocks,
					     s->secret_out);
}

/* One slot's digest and key (its zero flag already set). */
static void identify_one(const struct wbuild *b, struct wlane *l, struct wslot *s)
{
	if (s->zero)
		return;
	es_sha256_update(&l->sha, s->buf, s->len);
	s->ret = es_sha256_final_reset(&l->sha, s->digest);
	slot_key(b, l, s);
}

/*
 * On a worker: what the dedup decision needs, for slots 2k and 2k + 1.
 * Two chunks of one length (most are a whole chunk) are hashed together,
 * their SHA-256 rounds interleaved (erofs/sha256_mb.h): one stream leaves
 * most of the SHA unit idle.
 */
static void identify(void *ctx, unsigned int worker, size_t k)
{
	struct wwin *w = ctx;
	const struct wbuild *b = w->p->b;
	struct wlane *l = &w->p->lanes[worker];
	struct wslot *x = &w->slots[2 * k];
	struct wslot *y = 2 * k + 1 < w->nslots ? &w->slots[2 * k + 1] : NULL;

	x->zero = wb_all_zero(x->buf, x->len);
	if (y)
		y->zero = wb_all_zero(y->buf, y->len);
	if (y && !x->zero && !y->zero && x->len == y->len) {
		x->ret = y->ret = es_sha256_mb_x2(&l->mb, x->buf, y->buf, x->len, x->digest,
						  y->digest);
		slot_key(b, l, x);
		slot_key(b, l, y);
	} else {
		identify_one(b, l, x);
		if (y)
			identify_one(b, l, y);
	}
	encrypt_slot(b, l, x);
	if (y)
		encrypt_slot(b, l, y);
}

/* identify()'s calls for a window */
static size_t identify_calls(const struct wwin *w)
{
	return (w->nslots + 1) / 2;
}

/* Cut the new chunks into runs; each run's iovecs point at its chunks. */
static void cut_runs(struct wwin *w)
{
	const struct wbuild *b = w->p->b;
	uint64_t blk = w->first;
	size_t bytes = 0;

	w->nruns = 0;
	for (size_t i = 0; i < w->nstored; i++) {
		const struct wslot *s = &w->slots[w->stored[i]];
		size_t size = (size_t)s->nblocks << b->blkszbits;
		struct wrun *r = w->nruns ? &w->runs[w->nruns - 1] : NULL;

		if (!r || bytes >= WRUN_BYTES || r->to - r->from >= WRUN_CHUNKS) {
			r = &w->runs[w->nruns++];
			r->from = i;
			r->blk = blk;
			bytes = 0;
		}
		r->to = i + 1;
		w->iov[i].iov_base = s->buf;
		w->iov[i].iov_len = size;
		bytes += size;
		blk += s->nblocks;
	}
	w->nblocks = blk - w->first;
}

/* A written window's block digests after the blob's, when they follow
 * its last ones: else the blob is read back to hash it. */
static void keep_leaves(struct wpipe *p, const struct wwin *w)
{
	uint64_t need;

	if (!p->leaves_on)
		return;
	if (!w->leaves_ok || w->first != p->nleaves) {
		wb_pipe_leaves_void(p->b);
		return;
	}
	need = p->nleaves + w->nblocks;
	if (need > p->leaves_cap) {
		/* 1 MiB (128 MiB of blob) first, in huge pages: a realloc() of
		   heap memory would copy and fault page by page */
		uint64_t cap = p->leaves_cap ? p->leaves_cap : 32768;
		uint8_t *grown;

		while (cap < need)
			cap *= 2;
		grown = cap <= SIZE_MAX / ES_VERITY_HASH_SIZE ?
			es_alloc_big((size_t)cap * ES_VERITY_HASH_SIZE) : NULL;
		if (!grown) {
			wb_pipe_leaves_void(p->b);	/* the slower way needs no memory */
			return;
		}
		if (p->nleaves)
			memcpy(grown, p->leaves, (size_t)p->nleaves * ES_VERITY_HASH_SIZE);
		free(p->leaves);
		p->leaves = grown;
		p->leaves_cap = cap;
	}
	memcpy(p->leaves + p->nleaves * ES_VERITY_HASH_SIZE, w->leaves,
	       (size_t)w->nblocks * ES_VERITY_HASH_SIZE);
	p->nleaves = need;
}

void wb_pipe_leaves_void(struct wbuild *b)
{
	struct wpipe *p = b->pipe;

	if (!p || !p->leaves_on)
		return;
	p->leaves_on = false;
	free(p->leaves);
	p->leaves = NULL;
	p->nleaves = p->leaves_cap = 0;
}

const uint8_t *wb_pipe_blob_leaves(const struct wbuild *b)
{
	const struct wpipe *p = b->pipe;

	return p && p->leaves_on && p->nleaves == b->blob_next ? p->leaves : NULL;
}

/* A window's write done (ret): failure reported, write-back noted. */
static int written(struct wwin *w, int ret)
{
	struct wbuild *b = w->p->b;
	const bool to_blob = b->blob_fd >= 0;

	if (ret)
		return es_fail(b->err, ret, "writing %s: %s", to_blob ? "the blob" : "the image",
			       strerror(-ret));
	keep_leaves(w->p, w);
	es_writeback_note(&b->writeback[to_blob], to_blob ? b->blob_fd : b->image_fd,
			  w->first << b->blkszbits, w->nblocks << b->blkszbits);
	return 0;
}

/* The new chunks written: by the writer thread, or now without one. */
static int write_stored(struct wwin *w)
{
	struct wpipe *p = w->p;

	if (!w->nstored)
		return 0;
	cut_runs(w);
	w->make_leaves = p->leaves_on;
	if (!p->writer)
		return written(w, write_runs(w));
	pthread_mutex_lock(&p->wlock);
	w->writing = true;
	w->write_ret = 0;
	pthread_mutex_unlock(&p->wlock);
	w->queued = true;
	es_workq_push(p->writer, w);
	return 0;
}

/* Encrypted builds: the secrets of n chunks (slots idx[0..n)) into the
 * map, once every insertion is made (entries move when it grows). */
static int put_secrets(struct wwin *w, const size_t *idx, size_t n)
{
	struct wbuild *b = w->p->b;
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		struct wslot *s = &w->slots[idx[i]];
		uint8_t *secret = ret ? NULL : wb_dedup_secret(b->dedup, s->key, s->nblocks);

		if (!ret && !secret)
			ret = es_fail(b->err, -EINVAL, "%s: internal error: a chunk has no "
				      "index entry", ES_PATH(w->names[s->name]));
		else if (secret)
			memcpy(secret, s->secret_out, sizeof(s->secret_out));
		es_crypto_wipe(s->secret_out, sizeof(s->secret_out));
	}
	return ret;
}

/* Wait until window w may be filled again: its write retired. */
static int wait_written(struct wwin *w)
{
	struct wpipe *p = w->p;
	int ret;

	if (!w->queued)
		return 0;
	pthread_mutex_lock(&p->wlock);
	while (w->writing)
		pthread_cond_wait(&p->written, &p->wlock);
	ret = w->write_ret;
	pthread_mutex_unlock(&p->wlock);
	w->queued = false;
	ret = written(w, ret);
	forget_names(w);	/* kept for the messages */
	return ret;
}

/*
 * On a worker: an encrypted build's first use of a dictionary chunk.  Its
 * secret and ciphertext came from the source's plaintext (never from the
 * dictionary), and the dictionary's bytes must be that ciphertext.  Any
 * failure is redone by the caller on its own thread, which says what went
 * wrong.
 */
static void dict_check(void *ctx, unsigned int worker, size_t i)
{
	struct wwin *w = ctx;
	const struct wbuild *b = w->p->b;
	struct wlane *l = &w->p->lanes[worker];
	struct wslot *s = &w->slots[w->dicts[i]];
	size_t padded = (size_t)s->nblocks << b->blkszbits;
	struct es_err read_err = { 0 };	/* redone on the caller's thread */

	if (wb_dict_bytes_match(s->dict_io, s->dict_dev, s->dict_off, s->buf, padded,
				l->dict_read, &read_err))
		s->ret = -EBADMSG;
}

/* Check the window's first uses of dictionary chunks, on the pool. */
static int check_dicts(struct wwin *w)
{
	struct wpipe *p = w->p;
	struct wbuild *b = p->b;
	size_t max = 0;
	int ret = 0;

	for (size_t i = 0; i < w->ndicts; i++) {
		struct wslot *s = &w->slots[w->dicts[i]];
		size_t padded = (size_t)s->nblocks << b->blkszbits;

		ret = wb_dict_chunk_locate(b, s->dict.dev, s->dict.blkaddr, s->nblocks, s->key,
					   w->names[s->name], &s->dict_io, &s->dict_dev,
					   &s->dict_off);
		if (ret)
			return ret;
		if (padded > max)
			max = padded;
	}
	for (unsigned int i = 0; i < p->nlanes; i++) {
		struct wlane *l = &p->lanes[i];

		if (l->dict_cap < max) {
			free(l->dict_read);
			l->dict_read = malloc(max);
			l->dict_cap = l->dict_read ? max : 0;
			if (!l->dict_cap)
				return es_fail(b->err, -ENOMEM, "out of memory");
		}
	}
	es_workpool_for(p->pool, w->ndicts, dict_check, w);
	for (size_t i = 0; i < w->ndicts && !ret; i++) {
		struct wslot *s = &w->slots[w->dicts[i]];
		uint8_t *secret;

		if (s->ret) {
			/* again, here: the message says which check failed */
			ret = wb_dict_chunk_compare(b, s->dict.dev, s->dict.blkaddr, s->nblocks,
						    s->buf, s->key, w->names[s->name]);
			if (ret)
				break;
		}
		secret = wb_dedup_secret(b->dedup, s->key, s->nblocks);
		if (!secret)
			ret = es_fail(b->err, -EINVAL, "%s: internal error: a dictionary chunk "
				      "has no index entry", ES_PATH(w->names[s->name]));
		else
			memcpy(secret, s->secret_out, sizeof(s->secret_out));
	}
	return ret;
}

/* Place and write an identified (and encrypted) window; it is empty after. */
static int commit(struct wwin *w)
{
	struct wbuild *b = w->p->b;
	int ret = 0;

	w->first = b->blob_fd >= 0 ? b->blob_next : b->data_next;
	w->nstored = 0;
	w->ndicts = 0;
	for (size_t i = 0; i < w->nslots && !ret; i++) {
		struct wslot *s = &w->slots[i];
		const char *what = w->names[s->name];
		bool store = false;

		if (s->ret)
			ret = es_fail(b->err, s->ret, "%s: %s failed", ES_PATH(what),
				      b->crypt ? "SHA-256, deriving the chunk's keys or "
						 "encrypting it" : "SHA-256");
		else
			ret = wb_chunk_place(b, s->n, s->index, s->len, s->zero, s->digest,
					     s->key, s->buf, what, &store, &s->dict);
		if (store)
			w->stored[w->nstored++] = i;
		if (s->dict.pending)
			w->dicts[w->ndicts++] = i;
	}
	/* after every insertion, as the secrets go into the map */
	if (!ret && w->ndicts)
		ret = check_dicts(w);
	/* the new chunks' secrets, once every insertion is made; no other
	   slot's outlives the window */
	if (!ret && b->crypt)
		ret = put_secrets(w, w->stored, w->nstored);
	for (size_t i = 0; b->crypt && i < w->nslots; i++)
		es_crypto_wipe(w->slots[i].secret_out, sizeof(w->slots[i].secret_out));
	if (!ret)
		ret = write_stored(w);
	w->nslots = 0;
	w->used = 0;
	if (!w->queued)
		forget_names(w);
	return ret;
}

/* The window the helpers were identifying, committed. */
static int finish_pending(struct wpipe *p)
{
	if (!p->pending)
		return 0;
	es_workpool_wait(p->pool);
	p->pending = false;
	return commit(&p->win[p->pending_win]);
}

/* Every window written and retired, in order. */
static int wait_all_written(struct wpipe *p)
{
	int ret = 0;

	/* the oldest first: the one after the window being filled */
	for (unsigned int k = 1; k <= p->nwin; k++) {
		int r = wait_written(&p->win[(p->cur + k) % p->nwin]);

		if (!ret)
			ret = r;
	}
	return ret;
}

int wb_pipe_flush(struct wbuild *b)
{
	struct wpipe *p = b->pipe;
	struct wwin *w;
	int ret;

	if (!p)
		return 0;
	ret = finish_pending(p);
	w = &p->win[p->cur];
	if (!ret && w->nslots) {
		es_workpool_for(p->pool, identify_calls(w), identify, w);
		ret = commit(w);
	}
	if (!ret)
		ret = wait_all_written(p);
	return ret;
}

int wb_pipe_rotate(struct wbuild *b)
{
	struct wpipe *p = b->pipe;
	int ret;

	if (p->nwin == 1)
		return wb_pipe_flush(b);
	/* the window before this one is placed first: chunks keep their order */
	ret = finish_pending(p);
	if (ret)
		return ret;
	es_workpool_start(p->pool, identify_calls(&p->win[p->cur]), identify, &p->win[p->cur]);
	p->pending = true;
	p->pending_win = p->cur;
	p->cur = (p->cur + 1) % p->nwin;
	/* the window to fill next may still be being written */
	return wait_written(&p->win[p->cur]);
}
