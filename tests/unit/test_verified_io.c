// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The verifying source (lib/read/verified_io.c) over memory: three devices
 * (a two-level tree, a one-level tree with a short last block, a single
 * block without tree) read whole in seeded random pieces through a cache
 * of two blocks come back as they are; one flipped bit in a data block, a
 * level-0 tree block or the top block makes exactly the reads that need it
 * fail with -EBADMSG, a message naming the block, and nothing of it in the
 * caller's buffer.  The trees come from the builder (checked against
 * `fsverity digest` in test_verity).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "seeded_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/verified_io.h"

#define BS	ES_VERITY_BLOCK_SIZE
#define NDEVS	3

static const uint64_t dev_sizes[NDEVS] = { 300 * BS, BS + 904, 100 };

struct fixture {
	uint8_t *data[NDEVS];		/* what each device holds */
	uint8_t *lower0;		/* device 0 of the lower source: data, then trees */
	size_t lower0_size;
	struct es_io_mem_dev mem_devs[NDEVS];
	struct es_io_mem mem;
	struct es_io lower, io;
	struct es_vio_device devs[NDEVS];
	struct es_vio vio;
	uint8_t *cache;
};

static uint64_t rng_state = 20261202;

static uint64_t rng(void)
{
	return seeded_rng(&rng_state);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t *trees[NDEVS];
	size_t tree_lens[NDEVS], pos;
	struct es_err err = { 0 };

	assert_non_null(f);
	f->lower0_size = dev_sizes[0];
	for (unsigned int d = 0; d < NDEVS; d++) {
		struct es_verity_builder b;

		f->data[d] = malloc(dev_sizes[d]);
		assert_non_null(f->data[d]);
		for (uint64_t i = 0; i < dev_sizes[d]; i++)
			f->data[d][i] = (uint8_t)rng();
		assert_int_equal(es_verity_builder_init(&b, dev_sizes[d]), 0);
		assert_int_equal(es_verity_builder_update(&b, f->data[d], dev_sizes[d]), 0);
		assert_int_equal(es_verity_builder_final(&b, NULL, f->devs[d].digest), 0);
		trees[d] = es_verity_builder_take_tree(&b, &tree_lens[d]);
		es_verity_builder_free(&b);
		f->devs[d].size = dev_sizes[d];
		es_verity_geometry(dev_sizes[d], &f->devs[d].geom);
		f->lower0_size += tree_lens[d];
	}
	assert_int_equal(f->devs[0].geom.levels, 2);
	assert_int_equal(f->devs[1].geom.levels, 1);
	assert_int_equal(f->devs[2].geom.levels, 0);
	f->lower0 = malloc(f->lower0_size);
	assert_non_null(f->lower0);
	memcpy(f->lower0, f->data[0], dev_sizes[0]);
	pos = dev_sizes[0];
	for (unsigned int d = 0; d < NDEVS; d++) {
		f->devs[d].tree_pos = pos;
		if (tree_lens[d])
			memcpy(f->lower0 + pos, trees[d], tree_lens[d]);
		pos += tree_lens[d];
		free(trees[d]);
	}
	f->mem_devs[0] = (struct es_io_mem_dev){ f->lower0, f->lower0_size };
	for (unsigned int d = 1; d < NDEVS; d++)
		f->mem_devs[d] = (struct es_io_mem_dev){ f->data[d], dev_sizes[d] };
	es_io_mem_init(&f->lower, &f->mem, f->mem_devs, NDEVS);
	f->cache = aligned_alloc(8, ES_VIO_MIN_SLOTS * ES_VIO_SLOT_BYTES);
	assert_non_null(f->cache);
	assert_int_equal(es_vio_init(&f->io, &f->vio, &f->lower, f->devs, NDEVS, f->cache,
				     ES_VIO_MIN_SLOTS * ES_VIO_SLOT_BYTES, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (unsigned int d = 0; d < NDEVS; d++)
		free(f->data[d]);
	free(f->lower0);
	free(f->cache);
	free(f);
	return 0;
}

/* The data block (or tree byte) at off of lower device dev, flipped. */
static void flip(struct fixture *f, unsigned int dev, uint64_t off)
{
	uint8_t *p = dev ? f->data[dev] : f->lower0;

	p[off] ^= 0x10;
}

static int read_at(struct fixture *f, unsigned int dev, uint64_t off, void *buf, size_t len,
		   struct es_err *err)
{
	es_err_clear(err);
	return es_io_read(&f->io, dev, off, buf, len, err);
}

static void test_reads_come_back(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	struct es_io_dev info;

	for (unsigned int d = 0; d < NDEVS; d++) {
		uint8_t *buf = malloc(dev_sizes[d]);
		uint64_t off = 0;

		assert_non_null(buf);
		assert_int_equal(es_io_stat(&f->io, d, NULL, &info, &err), 0);
		assert_int_equal(info.size, dev_sizes[d]);
		while (off < dev_sizes[d]) {
			/* pieces of 1 byte up to three blocks, at any alignment */
			size_t n = 1 + (size_t)(rng() % (3 * BS));

			if (n > dev_sizes[d] - off)
				n = (size_t)(dev_sizes[d] - off);
			assert_int_equal(read_at(f, d, off, buf + off, n, &err), 0);
			off += n;
		}
		assert_memory_equal(buf, f->data[d], dev_sizes[d]);
		free(buf);
	}
	/* past what the manifest covers */
	assert_int_equal(read_at(f, 1, dev_sizes[1] - 10, (uint8_t[20]){ 0 }, 20, &err),
			 -ES_ECORRUPT);
}

static void test_flipped_data_block(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	uint8_t *buf = malloc(2 * BS);

	assert_non_null(buf);
	flip(f, 0, 200 * BS + 77);
	memset(buf, 0xaa, 2 * BS);
	assert_int_equal(read_at(f, 0, 200 * BS, buf, BS, &err), -EBADMSG);
	assert_string_equal(err.msg, "device 0: block 200 fails its Merkle tree");
	for (size_t i = 0; i < BS; i++)
		assert_int_equal(buf[i], 0);	/* whole block: fetched here, then zeroed */
	memset(buf, 0xaa, 2 * BS);
	assert_int_equal(read_at(f, 0, 200 * BS + 50, buf, 40, &err), -EBADMSG);
	assert_int_equal(buf[0], 0xaa);		/* a piece: nothing copied */
	/* the blocks around it are fine */
	assert_int_equal(read_at(f, 0, 199 * BS, buf, BS, &err), 0);
	assert_memory_equal(buf, f->data[0] + 199 * BS, BS);
	assert_int_equal(read_at(f, 0, 201 * BS - 10, buf, 20, &err), -EBADMSG);
	flip(f, 0, 200 * BS + 77);
	assert_int_equal(read_at(f, 0, 200 * BS, buf, 2 * BS, &err), 0);
	assert_memory_equal(buf, f->data[0] + 200 * BS, 2 * BS);
	free(buf);
}

static void test_flipped_tree_blocks(void **state)
{
	struct fixture *f = *state;
	const struct es_vio_device *d0 = &f->devs[0];
	uint64_t level0 = d0->tree_pos + d0->geom.level_offset[0];
	struct es_err err = { 0 };
	uint8_t buf[64];

	/* level-0 block 1 covers data blocks 128..255 */
	flip(f, 0, level0 + BS + 300);
	assert_int_equal(read_at(f, 0, 130 * BS, buf, sizeof(buf), &err), -EBADMSG);
	assert_string_equal(err.msg, "device 0: block 1 of tree level 0 fails its Merkle tree "
			    "(the seal's tree is damaged)");
	assert_int_equal(read_at(f, 0, 5 * BS, buf, sizeof(buf), &err), 0);
	assert_int_equal(read_at(f, 0, 260 * BS, buf, sizeof(buf), &err), 0);
	flip(f, 0, level0 + BS + 300);
	assert_int_equal(read_at(f, 0, 130 * BS, buf, sizeof(buf), &err), 0);
	assert_memory_equal(buf, f->data[0] + 130 * BS, sizeof(buf));

	/* the top block of device 1's tree: nothing of device 1 reads */
	flip(f, 0, f->devs[1].tree_pos + 3);
	assert_int_equal(read_at(f, 1, 0, buf, sizeof(buf), &err), -EBADMSG);
	assert_string_equal(err.msg, "device 1: block 0 of tree level 0 fails its Merkle tree "
			    "(the seal's tree is damaged)");
	flip(f, 0, f->devs[1].tree_pos + 3);
}

static void test_flipped_single_block(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	uint8_t buf[100];

	/* no tree: the block itself against the manifest's digest */
	flip(f, 2, 99);
	assert_int_equal(read_at(f, 2, 0, buf, sizeof(buf), &err), -EBADMSG);
	assert_string_equal(err.msg, "device 2: block 0 fails its Merkle tree");
	/* the short last block of device 1: its padding is hashed as zeros */
	flip(f, 2, 99);
	flip(f, 1, BS + 903);
	assert_int_equal(read_at(f, 1, BS, buf, 10, &err), -EBADMSG);
	flip(f, 1, BS + 903);
	assert_int_equal(read_at(f, 1, BS + 804, buf, 100, &err), 0);
	assert_memory_equal(buf, f->data[1] + BS + 804, 100);
}

static void test_lower_shorter(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	struct es_io_dev info;

	f->mem_devs[1].size--;
	assert_int_equal(es_io_stat(&f->io, 1, NULL, &info, &err), -ES_ECORRUPT);
	f->mem_devs[1].size++;
	es_err_clear(&err);
	assert_int_equal(es_io_stat(&f->io, NDEVS, NULL, &info, &err), -ENODEV);
}

static void test_cache_too_small(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	struct es_vio v;
	struct es_io io;

	assert_int_equal(es_vio_init(&io, &v, &f->lower, f->devs, NDEVS, f->cache,
				     ES_VIO_SLOT_BYTES, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_come_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_data_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_tree_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_single_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lower_shorter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_too_small, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
