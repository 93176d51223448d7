/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The hash map of libcore: fixed-size entries that start with a fixed-size
 * key (a byte string such as a digest, or a u64), open addressing with
 * linear probing, and a hash function the caller chooses (a digest is
 * uniform already, a u64 needs mixing).  No global state, no removal;
 * nothing is allocated before the first entry is added.
 *
 * The caller lays an entry out as a struct whose first key_size bytes are
 * the key, with no padding inside the key; the map compares those bytes.
 * A pointer to an entry stays valid until the next hmap_find_or_add().
 */
#ifndef ES_BASE_HASHMAP_H
#define ES_BASE_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_type {
	size_t entry_size;		/* sizeof the caller's entry struct */
	size_t key_size;		/* leading bytes of an entry that are its key */
	uint64_t (*hash)(const void *key);
	size_t initial_slots;		/* a power of two, 0 for a small default */
	/* entries hold secrets: overwrite every entry array before it is
	   freed (also the old one when the table grows) */
	bool wipe;
};

struct hmap {
	const struct hmap_type *type;
	uint8_t *ctrl;			/* per slot: 0 empty, else 0x80 | 7 hash bits */
	uint8_t *entries;		/* cap * entry_size bytes */
	size_t cap;			/* a power of two, 0 before the first entry */
	size_t count;
};

/* type must outlive the map (a static const in the caller, as a rule). */
void hmap_init(struct hmap *m, const struct hmap_type *type);
/* Frees the table; what entries point to is the caller's to free first. */
void hmap_free(struct hmap *m);

/* The entry with this key, or NULL. */
void *hmap_find(const struct hmap *m, const void *key);

/*
 * The entry with this key, *added = false; or a new one, *added = true,
 * with the key copied in and every other byte zero.  Makes room for one
 * more entry first (so the table may grow even when the key is found).
 * Returns 0 or -ENOMEM (the map is unchanged then).
 */
int hmap_find_or_add(struct hmap *m, const void *key, void **entry, bool *added);

/*
 * Room for n entries in all without growing: one table of the final size
 * instead of every size on the way, each filled by moving the last one
 * (under some hypervisors first touching memory costs more than using
 * it).  Returns 0 or -ENOMEM (the map is unchanged then).
 */
int hmap_reserve(struct hmap *m, size_t n);

/*
 * Iteration in table order: start with *pos = 0; returns each entry once,
 * then NULL.  Adding entries during an iteration is not allowed.
 */
void *hmap_next(const struct hmap *m, size_t *pos);

static inline size_t hmap_count(const struct hmap *m)
{
	return m->count;
}

#endif
