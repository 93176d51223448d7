// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/base/hashmap.c. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "base/hashmap.h"

/* ---- u64 keys ---------------------------------------------------------- */

struct u64_entry {
	uint64_t key;
	uint32_t value;
	bool flag;
};

static uint64_t mix_u64(const void *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 29);
}

static uint64_t identity_u64(const void *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return h;
}

static const struct hmap_type u64_type = {
	.entry_size = sizeof(struct u64_entry),
	.key_size = sizeof(uint64_t),
	.hash = mix_u64,
};

static void test_empty(void **state)
{
	struct hmap m;
	uint64_t k = 7;
	size_t pos = 0;

	(void)state;
	hmap_init(&m, &u64_type);
	assert_null(hmap_find(&m, &k));
	assert_null(hmap_next(&m, &pos));
	assert_int_equal(hmap_count(&m), 0);
	hmap_free(&m);
	hmap_free(&m);		/* freeing twice is harmless */
}

static void test_u64_many(void **state)
{
	const uint64_t n = 100000;
	struct hmap m;
	struct u64_entry *e;
	bool added;

	(void)state;
	hmap_init(&m, &u64_type);
	/* many entries force several rehashes */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = i * 7919;

		assert_int_equal(hmap_find_or_add(&m, &k, (void **)&e, &added), 0);
		assert_true(added);
		assert_true(e->key == k);
		/* a new entry is zero but for its key */
		assert_int_equal(e->value, 0);
		assert_false(e->flag);
		e->value = (uint32_t)i + 1;
		e->flag = i & 1;
	}
	assert_int_equal(hmap_count(&m), n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = i * 7919;

		e = hmap_find(&m, &k);
		assert_non_null(e);
		assert_int_equal(e->value, i + 1);
		assert_int_equal(e->flag, i & 1);
		/* adding it again finds the same entry */
		assert_int_equal(hmap_find_or_add(&m, &k, (void **)&e, &added), 0);
		assert_false(added);
		assert_int_equal(e->value, i + 1);
	}
	assert_int_equal(hmap_count(&m), n);
	for (uint64_t i = 0; i < 1000; i++) {
		uint64_t k = i * 7919 + 1;

		assert_null(hmap_find(&m, &k));
	}
	hmap_free(&m);
}

static void test_iteration(void **state)
{
	const uint64_t n = 5000;
	static uint8_t seen[5000];
	struct hmap m;
	struct u64_entry *e;
	size_t pos = 0, visited = 0;
	bool added;

	(void)state;
	hmap_init(&m, &u64_type);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(hmap_find_or_add(&m, &i, (void **)&e, &added), 0);
	memset(seen, 0, sizeof(seen));
	while ((e = hmap_next(&m, &pos))) {
		assert_true(e->key < n);
		assert_int_equal(seen[e->key], 0);
		seen[e->key] = 1;
		visited++;
	}
	assert_int_equal(visited, n);
	assert_null(hmap_next(&m, &pos));
	hmap_free(&m);
}

/* The slot is hash & (cap - 1): with the identity hash and fewer keys than
 * 3/4 of the slots, table order is key order, before and after growing. */
static void test_table_order(void **state)
{
	static const struct hmap_type type = {
		.entry_size = sizeof(struct u64_entry),
		.key_size = sizeof(uint64_t),
		.hash = identity_u64,
		.initial_slots = 16,
	};
	struct hmap m;
	struct u64_entry *e;
	size_t pos;
	bool added;
	uint64_t expect;

	(void)state;
	hmap_init(&m, &type);
	for (uint64_t i = 11; i != UINT64_MAX; i--)
		assert_int_equal(hmap_find_or_add(&m, &i, (void **)&e, &added), 0);
	assert_int_equal(m.cap, 16);
	for (pos = 0, expect = 0; (e = hmap_next(&m, &pos)); expect++)
		assert_true(e->key == expect);
	assert_int_equal(expect, 12);
	/* the 13th entry makes the table grow first */
	assert_int_equal(hmap_find_or_add(&m, &(uint64_t){ 12 }, (void **)&e, &added), 0);
	assert_int_equal(m.cap, 32);
	for (pos = 0, expect = 0; (e = hmap_next(&m, &pos)); expect++)
		assert_true(e->key == expect);
	assert_int_equal(expect, 13);
	hmap_free(&m);
}

/* A first table of one slot, or of a size that is no power of two, still
 * keeps an empty slot for every probe to end at. */
static void test_small_first_table(void **state)
{
	static const struct hmap_type one = {
		.entry_size = sizeof(struct u64_entry),
		.key_size = sizeof(uint64_t),
		.hash = identity_u64,
		.initial_slots = 1,
	};
	static const struct hmap_type five = {
		.entry_size = sizeof(struct u64_entry),
		.key_size = sizeof(uint64_t),
		.hash = identity_u64,
		.initial_slots = 5,
	};
	const struct hmap_type *types[] = { &one, &five };

	(void)state;
	for (size_t t = 0; t < 2; t++) {
		struct hmap m;
		struct u64_entry *e;
		bool added;

		hmap_init(&m, types[t]);
		for (uint64_t i = 0; i < 40; i++) {
			uint64_t missing = 1000 + i;

			assert_int_equal(hmap_find_or_add(&m, &i, (void **)&e, &added), 0);
			assert_true(added);
			assert_true(m.cap && !(m.cap & (m.cap - 1)));
			assert_true(hmap_count(&m) * 4 <= m.cap * 3);
			assert_null(hmap_find(&m, &missing));
		}
		hmap_free(&m);
	}
}

/* ---- byte-string keys, all in one probe run --------------------------- */

struct chunk_entry {
	uint8_t digest[32];
	uint32_t nblocks;		/* key: digest and nblocks */
	uint32_t blkaddr;
	uint16_t device;
};

static uint64_t constant_hash(const void *key)
{
	(void)key;
	return 42;
}

static void test_collisions(void **state)
{
	static const struct hmap_type type = {
		.entry_size = sizeof(struct chunk_entry),
		.key_size = offsetof(struct chunk_entry, nblocks) + sizeof(uint32_t),
		.hash = constant_hash,
	};
	struct chunk_entry key, *e;
	struct hmap m;
	bool added;

	(void)state;
	hmap_init(&m, &type);
	for (uint32_t i = 0; i < 600; i++) {
		memset(&key, 0, sizeof(key));
		memcpy(key.digest, &i, sizeof(i));
		key.nblocks = 1 + (i & 1);
		assert_int_equal(hmap_find_or_add(&m, &key, (void **)&e, &added), 0);
		assert_true(added);
		e->blkaddr = 1000 + i;
	}
	for (uint32_t i = 0; i < 600; i++) {
		memset(&key, 0, sizeof(key));
		memcpy(key.digest, &i, sizeof(i));
		key.nblocks = 1 + (i & 1);
		e = hmap_find(&m, &key);
		assert_non_null(e);
		assert_int_equal(e->blkaddr, 1000 + i);
		/* same digest, other length: another key */
		key.nblocks = 2 - (i & 1);
		assert_null(hmap_find(&m, &key));
	}
	hmap_free(&m);
}

/* ---- out of memory ------------------------------------------------------ */

/*
 * hmap_reserve: what is in the map stays; the table is sized once, so n
 * entries go in without it growing again; asking for less is a no-op.
 */
static void test_reserve(void **state)
{
	struct hmap m;
	struct u64_entry *e;
	bool added;
	size_t cap;

	(void)state;
	hmap_init(&m, &u64_type);
	assert_int_equal(hmap_reserve(&m, 0), 0);
	assert_int_equal(m.cap, 0);		/* nothing asked, nothing allocated */
	for (uint64_t k = 0; k < 100; k++) {
		assert_int_equal(hmap_find_or_add(&m, &k, (void **)&e, &added), 0);
		e->value = (uint32_t)(k * 3);
	}
	assert_int_equal(hmap_reserve(&m, 5000), 0);
	cap = m.cap;
	assert_true(cap * 3 >= 5000 * 4);	/* 3/4 full at most, as growth keeps it */
	assert_true((cap & (cap - 1)) == 0);
	assert_int_equal(hmap_count(&m), 100);
	for (uint64_t k = 0; k < 100; k++) {
		e = hmap_find(&m, &k);
		assert_non_null(e);
		assert_int_equal(e->value, k * 3);
	}
	for (uint64_t k = 100; k < 5000; k++)
		assert_int_equal(hmap_find_or_add(&m, &k, (void **)&e, &added), 0);
	assert_int_equal(m.cap, cap);		/* no growth on the way to n */
	assert_int_equal(hmap_reserve(&m, 10), 0);
	assert_int_equal(m.cap, cap);
	for (uint64_t k = 0; k < 5000; k++)
		assert_non_null(hmap_find(&m, &k));
	assert_int_equal(hmap_reserve(&m, SIZE_MAX), -ENOMEM);
	assert_int_equal(m.cap, cap);		/* unchanged on failure */
	assert_int_equal(hmap_count(&m), 5000);
	hmap_free(&m);
}

static void test_enomem(void **state)
{
	/* a table this large cannot even be sized */
	static const struct hmap_type type = {
		.entry_size = 64,
		.key_size = sizeof(uint64_t),
		.hash = mix_u64,
		.initial_slots = (size_t)1 << (sizeof(size_t) * 8 - 2),
	};
	struct hmap m;
	void *e = (void *)&m;
	uint64_t k = 1;
	bool added = true;

	(void)state;
	hmap_init(&m, &type);
	assert_int_equal(hmap_find_or_add(&m, &k, &e, &added), -ENOMEM);
	assert_int_equal(hmap_count(&m), 0);
	assert_null(hmap_find(&m, &k));
	hmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_u64_many),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_table_order),
		cmocka_unit_test(test_small_first_table),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
