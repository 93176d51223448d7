// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/build/dedup.c: the chunk index of a build. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "build/wtree.h"
#include "erofs/seal.h"

static void test_lookup_or_add(void **state)
{
	struct dedup_map *m = wb_dedup_new();
	uint8_t d[32];
	uint16_t dev;
	uint32_t blk;
	bool found;

	(void)state;
	assert_non_null(m);
	/* many entries force several rehashes */
	for (uint32_t i = 0; i < 20000; i++) {
		memset(d, 0, sizeof(d));
		memcpy(d, &i, sizeof(i));
		d[31] = 0x5a;
		dev = (uint16_t)(i & 1);
		blk = 1000 + i;
		assert_int_equal(wb_dedup_lookup_or_add(m, d, 1, &dev, &blk, &found), 0);
		assert_false(found);
	}
	for (uint32_t i = 0; i < 20000; i += 7) {
		memset(d, 0, sizeof(d));
		memcpy(d, &i, sizeof(i));
		d[31] = 0x5a;
		dev = 99;
		blk = 0;
		assert_int_equal(wb_dedup_lookup_or_add(m, d, 1, &dev, &blk, &found), 0);
		assert_true(found);
		assert_int_equal(blk, 1000 + i);
		assert_int_equal(dev, i & 1);
	}
	/* same digest, different length: not the same chunk */
	memset(d, 0, sizeof(d));
	d[31] = 0x5a;
	dev = 0;
	blk = 5;
	assert_int_equal(wb_dedup_lookup_or_add(m, d, 2, &dev, &blk, &found), 0);
	assert_false(found);
	wb_dedup_free(m);
}

/* What the seal is made of: the referenced entries only, each with its secret. */
static void test_collect(void **state)
{
	struct dedup_map *m = wb_dedup_new();
	struct es_chunk_rec recs[150];
	const uint8_t *secrets[150];
	uint8_t d[32];
	bool found;
	size_t n;

	(void)state;
	assert_non_null(m);
	for (uint32_t i = 0; i < 150; i++) {
		uint16_t dev = (uint16_t)(1 + i % 3);
		uint32_t blk = 7 * i;

		memset(d, 0, sizeof(d));
		memcpy(d, &i, sizeof(i));
		/* two of three referenced, the third a dictionary's unused entry */
		assert_int_equal(wb_dedup_insert(m, d, 1, 100 + i, &dev, &blk, i % 3 != 2,
						 &found, NULL), 0);
		assert_false(found);
		memset(wb_dedup_secret(m, d, 1), (int)(i & 0xff), 32);
	}
	n = wb_dedup_collect(m, recs, secrets, 150);
	assert_int_equal(n, 100);
	for (size_t k = 0; k < n; k++) {
		uint32_t i;

		memcpy(&i, recs[k].digest, sizeof(i));
		assert_true(i < 150 && i % 3 != 2);
		assert_int_equal(recs[k].device, 1 + i % 3);
		assert_int_equal(recs[k].blkaddr, 7 * i);
		assert_int_equal(recs[k].nblocks, 1);
		assert_int_equal(recs[k].length, 100 + i);
		assert_ptr_equal(secrets[k], wb_dedup_secret(m, recs[k].digest, 1));
		assert_int_equal(secrets[k][31], i & 0xff);
	}
	/* never more than the room given */
	assert_int_equal(wb_dedup_collect(m, recs, NULL, 10), 10);
	wb_dedup_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_or_add),
		cmocka_unit_test(test_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
