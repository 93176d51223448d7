// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * es_leakage(): what a keyless observer counts from the chunk indexes of a
 * set of images, on seals made up here with known overlaps.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/leakage.h"
#include "erofs/seal.h"

/* A chunk record named by (a, b): equal names are equal chunks. */
static void rec(struct es_chunk_rec *r, uint8_t name, uint32_t nblocks, uint16_t dev,
		uint32_t blk)
{
	memset(r, 0, sizeof(*r));
	memset(r->digest, name, sizeof(r->digest));
	r->nblocks = nblocks;
	r->length = nblocks * 4096;
	r->device = dev;
	r->blkaddr = blk;
}

static void test_counts(void **state)
{
	struct es_chunk_rec a[4], b[3];
	struct es_seal_device devs[2] = { { .size = 5 * 4096 }, { .size = 8 * 4096 } };
	struct es_seal sa = { .flags = MF_FLAG_ENCRYPTED, .chunksize = 16384, .ndevices = 2,
			      .devices = devs, .fs_size = 5 * 4096, .nchunks = 4, .chunks = a };
	struct es_seal sb = { .chunksize = 16384, .ndevices = 2, .devices = devs,
			      .fs_size = 5 * 4096, .nchunks = 3, .chunks = b };
	const struct es_seal *seals[2] = { &sa, &sb };
	struct es_leakage lk;
	struct es_err err = { 0 };

	(void)state;
	rec(&a[0], 1, 4, 1, 0);
	rec(&a[1], 2, 4, 1, 4);
	rec(&a[2], 3, 1, 1, 8);		/* a tail: shorter than 16 KiB */
	rec(&a[3], 4, 2, 1, 9);
	rec(&b[0], 2, 4, 1, 0);		/* shared with a */
	rec(&b[1], 3, 1, 1, 4);		/* shared with a */
	rec(&b[2], 3, 2, 1, 5);		/* same name, another length: another chunk */
	assert_int_equal(es_leakage(seals, 2, &lk, &err), 0);
	assert_int_equal(lk.nimages, 2);
	assert_true(lk.images[0].encrypted);
	assert_false(lk.images[1].encrypted);
	assert_int_equal(lk.images[0].chunks, 4);
	assert_int_equal(lk.images[0].chunk_blocks, 11);
	assert_int_equal(lk.images[0].tail_chunks, 2);
	assert_int_equal(lk.images[0].exact_lengths, 0);
	assert_int_equal(lk.images[1].exact_lengths, 3);
	assert_int_equal(lk.images[0].blob_bytes, 8 * 4096);
	assert_int_equal(lk.images[0].size_hist[0], 1);	/* 1 block */
	assert_int_equal(lk.images[0].size_hist[1], 1);	/* 2 blocks */
	assert_int_equal(lk.images[0].size_hist[2], 2);	/* 3-4 blocks */
	assert_int_equal(lk.distinct_chunks, 5);
	assert_int_equal(lk.shared_chunks, 2);
	assert_int_equal(lk.shared[0][1], 2);
	assert_int_equal(lk.shared[1][0], 2);
	assert_int_equal(lk.shared[0][0], 0);
}

static void test_refuses(void **state)
{
	struct es_leakage lk;
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(es_leakage(NULL, 0, &lk, &err), -EINVAL);
	assert_int_equal(es_leakage(NULL, ES_LEAK_MAX_IMAGES + 1, &lk, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
