// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The chunk pipeline of a build: a bounded window of chunks, read in input
 * order (possibly from many small files), is hashed (and their keyed
 * identifiers derived) on the worker pool; then the dedup decisions and
 * block placement are made one chunk at a time in input order, exactly as
 * a one-thread build makes them; then the new chunks are encrypted on the
 * pool and written with one write.  Only the hashing and the encryption
 * run in parallel and each depends on its chunk alone, so the image is the
 * same byte for byte whatever the thread count.
 *
 * Memory: the window (WPIPE_WINDOW_SIZE) and one slot record per block of
 * it, whatever the size of the files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/workpool.h"
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/sha256.h"
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
	uint8_t *secret;		/* encrypted and new: its dedup slot */
};

/* What one thread owns. */
struct wlane {
	struct wcrypt_lane *crypt;	/* encrypted builds */
	struct es_sha256_ctx sha;
	bool sha_ready;
};

struct wpipe {
	struct wbuild *b;
	struct es_workpool *pool;
	struct wlane *lanes;		/* one per pool thread */
	unsigned int nlanes;
	uint8_t *window;
	size_t used;			/* bytes of the window taken */
	struct wslot *slots;
	size_t nslots, max_slots;
	size_t *stored;			/* the slots of new chunks, in order */
	size_t nstored;
	char **names;			/* the files the window's slots come from */
	size_t nnames;
	const struct wnode *last;	/* the file of names[nnames - 1] */
};

int wb_pipe_init(struct wbuild *b)
{
	struct wpipe *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->pipe = p;
	p->b = b;
	p->max_slots = WPIPE_WINDOW_SIZE >> b->blkszbits;
	p->window = malloc(WPIPE_WINDOW_SIZE);
	p->slots = calloc(p->max_slots, sizeof(*p->slots));
	p->stored = calloc(p->max_slots, sizeof(*p->stored));
	p->names = calloc(p->max_slots, sizeof(*p->names));
	if (!p->window || !p->slots || !p->stored || !p->names)
		return es_fail(b->err, -ENOMEM, "out of memory");
	p->pool = b->pool;
	p->lanes = calloc(es_workpool_size(p->pool), sizeof(*p->lanes));
	if (!p->lanes)
		return es_fail(b->err, -ENOMEM, "out of memory");
	p->nlanes = es_workpool_size(p->pool);
	for (unsigned int i = 0; i < p->nlanes; i++) {
		ret = es_sha256_init(&p->lanes[i].sha);
		if (ret)
			return es_fail(b->err, ret, "SHA-256 unavailable");
		p->lanes[i].sha_ready = true;
		if (b->crypt) {
			ret = wb_crypt_lane_new(b, &p->lanes[i].crypt);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void forget_names(struct wpipe *p)
{
	for (size_t i = 0; i < p->nnames; i++)
		free(p->names[i]);
	p->nnames = 0;
	p->last = NULL;
}

void wb_pipe_free(struct wbuild *b)
{
	struct wpipe *p = b->pipe;

	if (!p)
		return;
	for (unsigned int i = 0; i < p->nlanes; i++) {
		if (p->lanes[i].sha_ready)
			es_sha256_release(&p->lanes[i].sha);
		wb_crypt_lane_free(p->lanes[i].crypt);
	}
	free(p->lanes);
	if (p->window && b->crypt)
		es_crypto_wipe(p->window, WPIPE_WINDOW_SIZE);	/* plaintext */
	free(p->window);
	free(p->slots);
	free(p->stored);
	if (p->names)
		forget_names(p);
	free(p->names);
	free(p);
	b->pipe = NULL;
}

bool wb_pipe_has_room(const struct wbuild *b, uint32_t len)
{
	const struct wpipe *p = b->pipe;
	size_t padded = (size_t)es_round_up(len, b->blksz);

	return p->used + padded <= WPIPE_WINDOW_SIZE && p->nslots < p->max_slots;
}

int wb_pipe_reserve(struct wbuild *b, struct wnode *n, uint64_t index, uint32_t len,
		    const char *what, uint8_t **buf)
{
	struct wpipe *p = b->pipe;
	uint32_t nblocks = (len + b->blksz - 1) >> b->blkszbits;
	size_t padded = (size_t)nblocks << b->blkszbits;
	struct wslot *s;

	if (!wb_pipe_has_room(b, len))
		return es_fail(b->err, -EINVAL, "%s: internal error: no room for a chunk of "
			       "%u bytes", ES_PATH(what), len);
	if (n != p->last) {
		p->names[p->nnames] = strdup(what ? what : "");
		if (!p->names[p->nnames])
			return es_fail(b->err, -ENOMEM, "out of memory");
		p->nnames++;
		p->last = n;
	}
	s = &p->slots[p->nslots++];
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->index = index;
	s->len = len;
	s->nblocks = nblocks;
	s->buf = p->window + p->used;
	s->name = (unsigned int)(p->nnames - 1);
	p->used += padded;
	memset(s->buf + len, 0, padded - len);
	*buf = s->buf;
	return 0;
}

/* On a worker: what the dedup decision needs. */
static void identify(void *ctx, unsigned int worker, size_t i)
{
	struct wpipe *p = ctx;
	const struct wbuild *b = p->b;
	struct wlane *l = &p->lanes[worker];
	struct wslot *s = &p->slots[i];

	s->zero = wb_all_zero(s->buf, s->len);
	if (s->zero)
		return;
	es_sha256_update(&l->sha, s->buf, s->len);
	s->ret = es_sha256_final_reset(&l->sha, s->digest);
	if (!s->ret && b->crypt)
		s->ret = wb_crypt_lane_id(b, l->crypt, s->digest, s->len, s->key);
	else
		memcpy(s->key, s->digest, sizeof(s->key));
}

/* On a worker: a new chunk of an encrypted image, in place. */
static void encrypt(void *ctx, unsigned int worker, size_t i)
{
	struct wpipe *p = ctx;
	struct wslot *s = &p->slots[p->stored[i]];

	s->ret = wb_crypt_lane_chunk(p->b, p->lanes[worker].crypt, s->digest, s->len, s->buf,
				     s->nblocks, s->secret);
}

/* The new chunks' blocks, packed together, at block first of the output. */
static int write_stored(struct wpipe *p, uint64_t first)
{
	struct wbuild *b = p->b;
	const bool to_blob = b->blob_fd >= 0;
	uint8_t *end = p->window;

	/* in order, so each one moves down (or stays) */
	for (size_t i = 0; i < p->nstored; i++) {
		const struct wslot *s = &p->slots[p->stored[i]];
		size_t size = (size_t)s->nblocks << b->blkszbits;

		if (s->buf != end)
			memmove(end, s->buf, size);
		end += size;
	}
	if (end == p->window)
		return 0;
	return wb_write_data(b, to_blob, p->window, (size_t)(end - p->window),
			     first << b->blkszbits);
}

int wb_pipe_flush(struct wbuild *b)
{
	struct wpipe *p = b->pipe;
	uint64_t first = b->blob_fd >= 0 ? b->blob_next : b->data_next;
	int ret = 0;

	if (!p || !p->nslots)
		return 0;
	es_workpool_for(p->pool, p->nslots, identify, p);
	p->nstored = 0;
	for (size_t i = 0; i < p->nslots && !ret; i++) {
		struct wslot *s = &p->slots[i];
		const char *what = p->names[s->name];
		bool store = false;

		if (s->ret)
			ret = es_fail(b->err, s->ret, "%s: %s failed", ES_PATH(what),
				      b->crypt ? "SHA-256 or deriving a chunk identifier" :
						 "SHA-256");
		else
			ret = wb_chunk_place(b, s->n, s->index, s->len, s->zero, s->digest,
					     s->key, s->buf, what, &store);
		if (store)
			p->stored[p->nstored++] = i;
	}
	if (!ret && b->crypt) {
		/* after every insertion: the map may have moved its entries */
		for (size_t i = 0; i < p->nstored; i++) {
			struct wslot *s = &p->slots[p->stored[i]];

			s->secret = wb_dedup_secret(b->dedup, s->key, s->nblocks);
			if (!s->secret)
				ret = es_fail(b->err, -EINVAL, "%s: internal error: a new chunk "
					      "has no index entry", ES_PATH(p->names[s->name]));
		}
		if (!ret)
			es_workpool_for(p->pool, p->nstored, encrypt, p);
		for (size_t i = 0; i < p->nstored && !ret; i++) {
			const struct wslot *s = &p->slots[p->stored[i]];

			if (s->ret)
				ret = es_fail(b->err, s->ret, "%s: encrypting a chunk failed",
					      ES_PATH(p->names[s->name]));
		}
	}
	if (!ret)
		ret = write_stored(p, first);
	p->nslots = 0;
	p->used = 0;
	forget_names(p);
	return ret;
}
