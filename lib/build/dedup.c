// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Chunk index of a build: SHA-256 of the stored bytes -> where they are. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "wtree.h"

struct dedup_entry {
	uint8_t digest[32];
	uint32_t blkaddr;
	uint32_t nblocks;
	uint32_t length;
	uint16_t device;
	bool used;
	bool referenced;	/* used by this image (dictionary entries may not be) */
};

struct dedup_map {
	struct dedup_entry *slots;
	size_t cap, count;
};

struct dedup_map *es_dedup_new(void)
{
	return calloc(1, sizeof(struct dedup_map));
}

void es_dedup_free(struct dedup_map *m)
{
	if (m) {
		free(m->slots);
		free(m);
	}
}

static size_t slot_of(const uint8_t digest[32], size_t cap)
{
	uint64_t h;

	memcpy(&h, digest, sizeof(h));	/* a digest is already uniform */
	return (size_t)h & (cap - 1);
}

static int grow(struct dedup_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 4096;
	struct dedup_entry *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].used) {
			size_t j = slot_of(m->slots[i].digest, ncap);

			while (ns[j].used)
				j = (j + 1) & (ncap - 1);
			ns[j] = m->slots[i];
		}
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int es_dedup_lookup_or_add(struct dedup_map *m, const uint8_t digest[32],
			   uint32_t nblocks, uint16_t *device, uint32_t *blkaddr,
			   bool *found)
{
	return es_dedup_insert(m, digest, nblocks, 0, device, blkaddr, true, found, NULL);
}

int es_dedup_insert(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
		    uint32_t length, uint16_t *device, uint32_t *blkaddr,
		    bool referenced, bool *found, bool *first_use)
{
	size_t i;

	if (first_use)
		*first_use = false;
	if ((m->count + 1) * 4 > m->cap * 3 && grow(m))
		return -ENOMEM;
	for (i = slot_of(digest, m->cap); m->slots[i].used; i = (i + 1) & (m->cap - 1)) {
		struct dedup_entry *e = &m->slots[i];

		if (!memcmp(e->digest, digest, 32) && e->nblocks == nblocks) {
			*device = e->device;
			*blkaddr = e->blkaddr;
			if (referenced && !e->referenced) {
				e->referenced = true;
				if (first_use)
					*first_use = true;
			}
			*found = true;
			return 0;
		}
	}
	memcpy(m->slots[i].digest, digest, 32);
	m->slots[i].blkaddr = *blkaddr;
	m->slots[i].nblocks = nblocks;
	m->slots[i].device = *device;
	m->slots[i].length = length;
	m->slots[i].referenced = referenced;
	m->slots[i].used = true;
	m->count++;
	*found = false;
	return 0;
}

void es_dedup_set_length(struct dedup_map *m, const uint8_t digest[32], uint32_t nblocks,
			 uint32_t length)
{
	if (!m->cap)
		return;
	for (size_t i = slot_of(digest, m->cap); m->slots[i].used; i = (i + 1) & (m->cap - 1)) {
		struct dedup_entry *e = &m->slots[i];

		if (!memcmp(e->digest, digest, 32) && e->nblocks == nblocks) {
			e->length = length;
			return;
		}
	}
}

int es_dedup_foreach(struct dedup_map *m, int (*fn)(void *ctx, const uint8_t digest[32],
		     uint16_t *device, uint32_t blkaddr, uint32_t nblocks, uint32_t length),
		     void *ctx)
{
	for (size_t i = 0; i < m->cap; i++) {
		struct dedup_entry *e = &m->slots[i];
		int ret;

		if (!e->used || !e->referenced)
			continue;
		ret = fn(ctx, e->digest, &e->device, e->blkaddr, e->nblocks, e->length);
		if (ret)
			return ret;
	}
	return 0;
}
