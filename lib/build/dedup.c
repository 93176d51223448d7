// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Chunk index of a build: SHA-256 of the stored bytes -> where they are. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/hashmap.h"
#include "erofs/seal.h"
#include "wtree.h"

struct dedup_entry {
	uint8_t digest[32];
	uint32_t nblocks;	/* digest and nblocks: the key */
	uint32_t blkaddr;
	uint32_t length;
	uint16_t device;
	bool referenced;	/* used by this image (dictionary entries may not be) */
	uint8_t secret[32];	/* encrypted builds: the chunk secret */
};

struct dedup_map {
	struct hmap map;
};

static uint64_t digest_hash(const void *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));	/* a digest is already uniform */
	return h;
}

static const struct hmap_type dedup_type = {
	.entry_size = sizeof(struct dedup_entry),
	.key_size = offsetof(struct dedup_entry, nblocks) + sizeof(uint32_t),
	.hash = digest_hash,
	.initial_slots = 4096,
	.wipe = true,		/* chunk secrets */
};

/* An entry holding only the key: a chunk is its digest and its length. */
static struct dedup_entry make_key(const uint8_t digest[32], uint32_t nblocks)
{
	struct dedup_entry k = { .nblocks = nblocks };

	memcpy(k.digest, digest, 32);
	return k;
}

struct dedup_map *wb_dedup_new(void)
{
	struct dedup_map *m = malloc(sizeof(*m));

	if (m)
		hmap_init(&m->map, &dedup_type);
	return m;
}

int wb_dedup_reserve(struct dedup_map *m, uint64_t n)
{
	return n > SIZE_MAX ? -ENOMEM : hmap_reserve(&m->map, (size_t)n);
}

void wb_dedup_free(struct dedup_map *m)
{
	if (m) {
		hmap_free(&m->map);
		free(m);
	}
}

int wb_dedup_lookup_or_add(struct dedup_map *m, const uint8_t digest[32],
			   uint32_t nblocks, uint16_t *device, uint32_t *blkaddr,
			   bool *found)
{
	return wb_dedup_insert(m, digest, nblocks, 0, device, blkaddr, true, found, NULL);
}

int wb_dedup_insert(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
		    uint32_t length, uint16_t *device, uint32_t *blkaddr,
		    bool referenced, bool *found, bool *first_use)
{
	struct dedup_entry key = make_key(digest, nblocks);
	struct dedup_entry *e;
	bool added;
	int ret;

	if (first_use)
		*first_use = false;
	ret = hmap_find_or_add(&m->map, &key, (void **)&e, &added);
	if (ret)
		return ret;
	*found = !added;
	if (added) {
		e->blkaddr = *blkaddr;
		e->device = *device;
		e->length = length;
		e->referenced = referenced;
		return 0;
	}
	*device = e->device;
	*blkaddr = e->blkaddr;
	if (referenced && !e->referenced) {
		e->referenced = true;
		if (first_use)
			*first_use = true;
	}
	return 0;
}

void wb_dedup_set_length(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
			 uint32_t length)
{
	struct dedup_entry key = make_key(digest, nblocks);
	struct dedup_entry *e = hmap_find(&m->map, &key);

	if (e)
		e->length = length;
}

void wb_dedup_relocate(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
		       uint16_t device, uint32_t blkaddr)
{
	struct dedup_entry key = make_key(digest, nblocks);
	struct dedup_entry *e = hmap_find(&m->map, &key);

	if (e) {
		e->device = device;
		e->blkaddr = blkaddr;
	}
}

void wb_dedup_move(struct dedup_map *m, uint16_t dev, uint32_t base, const uint32_t *remap)
{
	struct dedup_entry *e;
	size_t pos = 0;

	while ((e = hmap_next(&m->map, &pos)))
		if (e->device == dev && e->referenced)
			e->blkaddr = remap[e->blkaddr - base];
}

size_t wb_dedup_count(const struct dedup_map *m)
{
	return hmap_count(&m->map);
}

uint8_t *wb_dedup_secret(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks)
{
	struct dedup_entry key = make_key(digest, nblocks);
	struct dedup_entry *e = hmap_find(&m->map, &key);

	return e ? e->secret : NULL;
}

size_t wb_dedup_collect(struct dedup_map *m, struct es_chunk_rec *recs,
			const uint8_t **secrets, size_t cap)
{
	struct dedup_entry *e;
	size_t pos = 0, n = 0;

	while ((e = hmap_next(&m->map, &pos)) && n < cap) {
		if (!e->referenced)
			continue;
		memcpy(recs[n].digest, e->digest, 32);
		recs[n].device = e->device;
		recs[n].blkaddr = e->blkaddr;
		recs[n].nblocks = e->nblocks;
		recs[n].length = e->length;
		if (secrets)
			secrets[n] = e->secret;
		n++;
	}
	return n;
}

int wb_dedup_foreach(struct dedup_map *m, int (*fn)(void *ctx, const uint8_t digest[32],
		     uint16_t *device, uint32_t blkaddr, uint32_t nblocks, uint32_t length),
		     void *ctx)
{
	struct dedup_entry *e;
	size_t pos = 0;

	while ((e = hmap_next(&m->map, &pos))) {
		int ret;

		if (!e->referenced)
			continue;
		ret = fn(ctx, e->digest, &e->device, e->blkaddr, e->nblocks, e->length);
		if (ret)
			return ret;
	}
	return 0;
}
