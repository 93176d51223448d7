// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * A block cache in front of a source (include/erofs/io.h): small reads of
 * device 0, such as the reader's 32- or 64-byte inode reads and the inline
 * data after them, are served from whole 4 KiB blocks read once.  A
 * filesystem walk then makes one pread() per metadata block instead of
 * several per inode; system calls, not copies, are what a check-only fsck
 * spends its time on (each costs microseconds under a hypervisor).
 *
 * Direct-mapped: block b lives in slot b % SLOTS; the walk goes through
 * the metadata mostly in order, so conflicts cost little.  Safe for
 * several threads: a slot is copied in and out under one mutex, and a miss
 * is read from the lower source outside it.  Reads the cache cannot serve
 * (other devices, larger reads, bytes past device 0's size when it was
 * wrapped) go to the lower source unchanged, with its own error messages.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/io.h"
#include "io.h"

#define CACHE_BLOCK_BITS	12
#define CACHE_BLOCK		(1u << CACHE_BLOCK_BITS)
#define CACHE_SLOTS		64u	/* 256 KiB: each new page costs ~10 us under some hypervisors */

struct cache_slot {
	uint64_t blk;
	uint32_t len;		/* bytes of the block held; 0: empty */
};

struct io_cache {
	struct es_io lower;	/* owned: closed with the cache */
	uint64_t dev0_size;
	pthread_mutex_t lock;
	struct cache_slot slots[CACHE_SLOTS];
	uint8_t *data;		/* CACHE_SLOTS blocks */
};

static int cache_stat(void *ctx, unsigned int dev, const uint8_t *tag, struct es_io_dev *info,
		      struct es_err *err)
{
	struct io_cache *c = ctx;

	return es_io_stat(&c->lower, dev, tag, info, err);
}

/* Bytes [at, at + len) of block blk, from its slot; false on a miss. */
static bool lookup(struct io_cache *c, uint64_t blk, size_t at, void *buf, size_t len)
{
	struct cache_slot *s = &c->slots[blk % CACHE_SLOTS];
	bool hit;

	pthread_mutex_lock(&c->lock);
	hit = s->len && s->blk == blk && at + len <= s->len;
	if (hit)
		memcpy(buf, c->data + (size_t)(blk % CACHE_SLOTS) * CACHE_BLOCK + at, len);
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void store(struct io_cache *c, uint64_t blk, const uint8_t *block, size_t len)
{
	struct cache_slot *s = &c->slots[blk % CACHE_SLOTS];

	pthread_mutex_lock(&c->lock);
	memcpy(c->data + (size_t)(blk % CACHE_SLOTS) * CACHE_BLOCK, block, len);
	s->blk = blk;
	s->len = (uint32_t)len;
	pthread_mutex_unlock(&c->lock);
}

static int cache_read(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len,
		      struct es_err *err)
{
	struct io_cache *c = ctx;
	uint8_t block[CACHE_BLOCK];
	uint8_t *out = buf;

	if (dev != 0 || len > 2 * CACHE_BLOCK || off > c->dev0_size ||
	    len > c->dev0_size - off)
		return es_io_read(&c->lower, dev, off, buf, len, err);
	while (len) {
		uint64_t blk = off >> CACHE_BLOCK_BITS;
		size_t at = (size_t)(off & (CACHE_BLOCK - 1));
		size_t n = CACHE_BLOCK - at < len ? CACHE_BLOCK - at : len;

		if (!lookup(c, blk, at, out, n)) {
			uint64_t start = blk << CACHE_BLOCK_BITS;
			size_t whole = c->dev0_size - start < CACHE_BLOCK ?
				       (size_t)(c->dev0_size - start) : CACHE_BLOCK;
			int ret = es_io_read(&c->lower, 0, start, block, whole, err);

			if (ret)
				return ret;
			store(c, blk, block, whole);
			memcpy(out, block + at, n);
		}
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int cache_fd(void *ctx, unsigned int dev)
{
	struct io_cache *c = ctx;

	return es_io_fd(&c->lower, dev);
}

static void cache_release(void *ctx, unsigned int dev)
{
	struct io_cache *c = ctx;

	es_io_release(&c->lower, dev);
}

static void cache_close(void *ctx)
{
	struct io_cache *c = ctx;

	es_io_close(&c->lower);
	pthread_mutex_destroy(&c->lock);
	free(c->data);
	free(c);
}

int es_io_cache_wrap(struct es_io *io, struct es_err *err)
{
	struct io_cache *c = calloc(1, sizeof(*c));
	struct es_io_dev info = { 0 };
	int ret;

	if (!c)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_io_stat(io, 0, NULL, &info, err);
	if (ret) {
		free(c);
		return ret;
	}
	c->data = malloc((size_t)CACHE_SLOTS * CACHE_BLOCK);
	if (!c->data || pthread_mutex_init(&c->lock, NULL)) {
		free(c->data);
		free(c);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	es_prefault(c->data, (size_t)CACHE_SLOTS * CACHE_BLOCK);
	c->dev0_size = info.size;
	c->lower = *io;
	*io = (struct es_io){
		.stat = cache_stat, .read = cache_read, .fd = cache_fd,
		.release = cache_release, .close = cache_close, .ctx = c,
	};
	return 0;
}
