// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/build/dedup.c: the chunk index of a build. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "build/wtree.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_or_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
