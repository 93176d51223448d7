// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Open addressing with linear probing, at most 3/4 full.  A control byte
 * per slot, in an array of its own, says whether the slot is used and
 * carries 7 bits of the hash: a probe reads the small control array and
 * touches an entry only when those bits match, so long runs of other keys
 * cost little.  The slot is hash & (cap - 1), so a caller whose hash
 * spreads its low bits gets the table layout it would expect.
 */
/* The map grows on the heap: hosted builds only (the boot reader needs no
 * map, and its build compiles every file of lib/base/). */
#ifndef ES_FREESTANDING
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"
#include "crypto/backend.h"
#include "io.h"

#define HMAP_DEFAULT_SLOTS 16

/* 7 bits of the hash other than the slot bits, mixed so that a hash whose
 * high bits are all zero still gives distinct tags. */
static uint8_t ctrl_tag(uint64_t h)
{
	return (uint8_t)(0x80 | ((h * 0x9E3779B97F4A7C15ull) >> 57));
}

static uint8_t *entry_at(const struct hmap *m, size_t i)
{
	return m->entries + i * m->type->entry_size;
}

void hmap_init(struct hmap *m, const struct hmap_type *type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

void hmap_free(struct hmap *m)
{
	if (m->type && m->type->wipe && m->entries)
		es_crypto_wipe(m->entries, m->cap * m->type->entry_size);
	free(m->ctrl);
	free(m->entries);
	m->ctrl = NULL;
	m->entries = NULL;
	m->cap = m->count = 0;
}

/* The slot holding key, or the empty slot where it would go; cap > 0. */
static size_t probe(const struct hmap *m, const void *key, uint64_t h, bool *found)
{
	const size_t mask = m->cap - 1, key_size = m->type->key_size;
	const uint8_t tag = ctrl_tag(h);
	size_t i;

	for (i = (size_t)h & mask; m->ctrl[i]; i = (i + 1) & mask) {
		if (m->ctrl[i] == tag && !memcmp(entry_at(m, i), key, key_size)) {
			*found = true;
			return i;
		}
	}
	*found = false;
	return i;
}

void *hmap_find(const struct hmap *m, const void *key)
{
	bool found;
	size_t i;

	if (!m->cap)
		return NULL;
	i = probe(m, key, m->type->hash(key), &found);
	return found ? entry_at(m, i) : NULL;
}

/* Move every entry into a table of ncap slots (a power of two that holds them). */
static int resize(struct hmap *m, size_t ncap)
{
	const size_t esize = m->type->entry_size;
	struct hmap bigger = { .type = m->type };

	if (!ncap || ncap > SIZE_MAX / esize)
		return -ENOMEM;
	bigger.cap = ncap;
	bigger.ctrl = calloc(ncap, 1);
	bigger.entries = es_alloc_big(ncap * esize);
	if (!bigger.ctrl || !bigger.entries) {
		hmap_free(&bigger);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		const uint8_t *e = entry_at(m, i);
		size_t j;

		if (!m->ctrl[i])
			continue;
		for (j = (size_t)m->type->hash(e) & (ncap - 1); bigger.ctrl[j];
		     j = (j + 1) & (ncap - 1))
			;
		bigger.ctrl[j] = m->ctrl[i];
		memcpy(entry_at(&bigger, j), e, esize);
	}
	bigger.count = m->count;
	hmap_free(m);
	*m = bigger;
	return 0;
}

/* Double the table (or allocate the first one). */
static int grow(struct hmap *m)
{
	size_t ncap;

	if (m->cap) {
		if (m->cap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap = m->cap * 2;
	} else {
		ncap = m->type->initial_slots ? m->type->initial_slots : HMAP_DEFAULT_SLOTS;
		/* a power of two, so that hash & (cap - 1) is a slot */
		while (ncap & (ncap - 1))
			ncap = (ncap | (ncap - 1)) + 1;
	}
	return resize(m, ncap);
}

int hmap_reserve(struct hmap *m, size_t n)
{
	size_t ncap = m->cap ? m->cap : HMAP_DEFAULT_SLOTS;

	if (!n)
		return 0;
	if (n > SIZE_MAX / 4)
		return -ENOMEM;
	while (n * 4 > ncap * 3) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	return ncap == m->cap ? 0 : resize(m, ncap);
}

int hmap_find_or_add(struct hmap *m, const void *key, void **entry, bool *added)
{
	uint64_t h;
	bool found;
	uint8_t *e;
	size_t i;

	/* at most 3/4 full, so that every probe ends at an empty slot soon
	 * (a tiny first table may need more than one doubling for that) */
	while ((m->count + 1) * 4 > m->cap * 3) {
		int ret = grow(m);

		if (ret)
			return ret;
	}
	h = m->type->hash(key);
	i = probe(m, key, h, &found);
	e = entry_at(m, i);
	*added = !found;
	*entry = e;
	if (found)
		return 0;
	m->ctrl[i] = ctrl_tag(h);
	memcpy(e, key, m->type->key_size);
	memset(e + m->type->key_size, 0, m->type->entry_size - m->type->key_size);
	m->count++;
	return 0;
}

void *hmap_next(const struct hmap *m, size_t *pos)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;

		if (m->ctrl[i])
			return entry_at(m, i);
	}
	return NULL;
}

#endif /* !ES_FREESTANDING */
