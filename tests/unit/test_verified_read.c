// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verify on read (lib/read/verified_read.c) over memory: device 0 holds
 * the seal's trees (and is read as it is), blobs 1..3 (a two-level tree,
 * a one-level tree with a short last block, a single short block without
 * tree) read in seeded random pieces come back as they are, and the blocks
 * no read touched are what es_vread_unchecked() counts and
 * es_vread_check_rest() checks.  One flipped bit in a data block makes
 * exactly the reads that need that block fail with -EBADMSG, "blob N:
 * block K fails its Merkle tree", nothing of the block in the caller's
 * buffer, and es_vread_failure() remember it; a flipped bit in a stored
 * tree, or a blob of another size, is refused by es_vread_add().  Reads
 * from four threads at once give the same bytes.  es_vread_tree() hands
 * out an added blob's stored tree, and nothing for a blob not added or
 * without tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "seeded_rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/verified_read.h"
#include "erofs/verity.h"

#define BS	ES_VERITY_BLOCK_SIZE
#define NDEVS	4		/* device 0 (trees) and three blobs */

static const uint64_t blob_sizes[NDEVS] = { 0, 300 * BS, BS + 904, 100 };

struct fixture {
	uint8_t *data[NDEVS];		/* blobs' contents; [0]: the trees */
	size_t size[NDEVS];
	struct es_io_mem_dev mem_devs[NDEVS];
	struct es_io_mem mem;
	struct es_io lower, io;
	struct es_seal_device sdevs[NDEVS];
	struct es_seal seal;
	struct es_vread *v;
};

static uint64_t rng_state = 20261203;

static uint64_t rng(void)
{
	return seeded_rng(&rng_state);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t *trees[NDEVS] = { NULL };
	size_t tree_lens[NDEVS] = { 0 }, pos = 0;

	assert_non_null(f);
	for (unsigned int d = 1; d < NDEVS; d++) {
		struct es_verity_builder b;

		f->size[d] = blob_sizes[d];
		f->data[d] = malloc(f->size[d]);
		assert_non_null(f->data[d]);
		for (size_t i = 0; i < f->size[d]; i++)
			f->data[d][i] = (uint8_t)rng();
		assert_int_equal(es_verity_builder_init(&b, f->size[d]), 0);
		assert_int_equal(es_verity_builder_update(&b, f->data[d], f->size[d]), 0);
		assert_int_equal(es_verity_builder_final(&b, NULL, f->sdevs[d].digest), 0);
		trees[d] = es_verity_builder_take_tree(&b, &tree_lens[d]);
		es_verity_builder_free(&b);
		f->sdevs[d].size = f->size[d];
		f->size[0] += tree_lens[d];
	}
	/* device 0: 4 KiB of something, then the trees section */
	f->size[0] += BS;
	f->data[0] = calloc(1, f->size[0]);
	assert_non_null(f->data[0]);
	pos = BS;
	for (unsigned int d = 1; d < NDEVS; d++) {
		f->sdevs[d].tree_offset = pos - BS;
		if (tree_lens[d])
			memcpy(f->data[0] + pos, trees[d], tree_lens[d]);
		pos += tree_lens[d];
		free(trees[d]);
	}
	f->seal.trees_sec.off = BS;
	f->seal.ndevices = NDEVS;
	f->seal.devices = f->sdevs;
	for (unsigned int d = 0; d < NDEVS; d++)
		f->mem_devs[d] = (struct es_io_mem_dev){ f->data[d], f->size[d] };
	es_io_mem_init(&f->lower, &f->mem, f->mem_devs, NDEVS);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	es_vread_free(f->v);
	for (unsigned int d = 0; d < NDEVS; d++)
		free(f->data[d]);
	free(f);
	return 0;
}

static void open_all(struct fixture *f)
{
	struct es_err err = { 0 };

	assert_int_equal(es_vread_new(&f->v, &f->lower, &f->seal, &err), 0);
	for (unsigned int d = 1; d < NDEVS; d++)
		assert_int_equal(es_vread_add(f->v, d, &err), 0);
	es_vread_io(f->v, &f->io);
}

/* Device dev read whole in random pieces equals its contents. */
static void read_pieces(struct fixture *f, unsigned int dev)
{
	uint8_t *got = malloc(f->size[dev] + 1);
	struct es_err err = { 0 };
	size_t off = 0;

	assert_non_null(got);
	while (off < f->size[dev]) {
		size_t n = 1 + (size_t)(rng() % (3 * BS));

		if (n > f->size[dev] - off)
			n = f->size[dev] - off;
		assert_int_equal(es_io_read(&f->io, dev, off, got + off, n, &err), 0);
		off += n;
	}
	assert_memory_equal(got, f->data[dev], f->size[dev]);
	free(got);
}

static void test_reads(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	uint8_t buf[16];

	open_all(f);
	assert_int_equal(es_vread_unchecked(f->v), 300 + 2 + 1);
	/* device 0 is not checked here: read as it is */
	assert_int_equal(es_io_read(&f->io, 0, 0, buf, sizeof(buf), &err), 0);
	assert_int_equal(es_vread_unchecked(f->v), 300 + 2 + 1);
	for (unsigned int d = 1; d < NDEVS; d++)
		read_pieces(f, d);
	assert_int_equal(es_vread_unchecked(f->v), 0);
	assert_int_equal(es_vread_failure(f->v, &err), 0);
	/* past what the manifest covers */
	assert_int_equal(es_io_read(&f->io, 3, 90, buf, 16, &err), -ES_ECORRUPT);
}

static void test_tree(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	size_t len = 1;

	assert_int_equal(es_vread_new(&f->v, &f->lower, &f->seal, &err), 0);
	assert_null(es_vread_tree(f->v, 1, &len));
	assert_int_equal(len, 0);
	for (unsigned int d = 1; d < NDEVS; d++) {
		struct es_verity_geom g;
		const uint8_t *tree;

		assert_int_equal(es_vread_add(f->v, d, &err), 0);
		assert_int_equal(es_verity_geometry(f->size[d], &g), 0);
		tree = es_vread_tree(f->v, d, &len);
		assert_int_equal(len, g.tree_size);
		if (!g.tree_size) {
			assert_null(tree);	/* blob 3: one block, no tree */
			continue;
		}
		assert_non_null(tree);
		assert_memory_equal(tree, f->data[0] + BS + f->sdevs[d].tree_offset, len);
	}
	assert_null(es_vread_tree(f->v, NDEVS, &len));
	assert_int_equal(len, 0);
}

static void test_rest(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };
	uint8_t buf[BS];

	open_all(f);
	assert_int_equal(es_io_read(&f->io, 1, 10 * BS, buf, BS, &err), 0);
	assert_int_equal(es_io_read(&f->io, 1, 20 * BS + 7, buf, 9, &err), 0);
	assert_int_equal(es_vread_unchecked(f->v), 300 + 2 + 1 - 2);
	assert_int_equal(es_vread_check_rest(f->v, &err), 0);
	assert_int_equal(es_vread_unchecked(f->v), 0);
}

/* A flipped bit in block blk of dev: only the reads that need it fail. */
static void tampered_block(struct fixture *f, unsigned int dev, uint64_t blk)
{
	struct es_err err = { 0 };
	char want[96];
	uint8_t *buf = malloc(4 * BS);
	uint64_t at = blk * BS + 5;

	assert_non_null(buf);
	f->data[dev][at] ^= 0x10;
	open_all(f);
	snprintf(want, sizeof(want), "blob %u: block %llu fails its Merkle tree", dev,
		 (unsigned long long)blk);
	/* a read of the block itself, whole or in part */
	memset(buf, 0xa5, 4 * BS);
	assert_int_equal(es_io_read(&f->io, dev, at - 5, buf, 1, &err), -EBADMSG);
	assert_string_equal(err.msg, want);
	assert_int_equal(buf[0], 0xa5);	/* a partial read copies nothing out */
	if (f->size[dev] >= 3 * BS && blk > 0) {
		es_err_clear(&err);
		assert_int_equal(es_io_read(&f->io, dev, (blk - 1) * BS, buf, 3 * BS, &err),
				 -EBADMSG);
		for (size_t i = 0; i < 3 * BS; i++)
			assert_int_equal(buf[i], 0);	/* a failed read leaves zeros */
		/* the blocks around it are fine */
		es_err_clear(&err);
		assert_int_equal(es_io_read(&f->io, dev, (blk - 1) * BS, buf, BS, &err), 0);
		assert_memory_equal(buf, f->data[dev] + (blk - 1) * BS, BS);
	}
	es_err_clear(&err);
	assert_int_equal(es_vread_failure(f->v, &err), -EBADMSG);
	assert_string_equal(err.msg, want);
	/* the check of the rest finds it too */
	es_vread_free(f->v);
	f->v = NULL;
	open_all(f);
	es_err_clear(&err);
	assert_int_equal(es_vread_check_rest(f->v, &err), -EBADMSG);
	assert_string_equal(err.msg, want);
	f->data[dev][at] ^= 0x10;
	free(buf);
}

static void test_tampered_two_levels(void **state)
{
	tampered_block(*state, 1, 170);
}

static void test_tampered_short_last(void **state)
{
	tampered_block(*state, 2, 1);
}

static void test_tampered_single(void **state)
{
	tampered_block(*state, 3, 0);
}

static void test_bad_tree_and_size(void **state)
{
	struct fixture *f = *state;
	struct es_err err = { 0 };

	assert_int_equal(es_vread_new(&f->v, &f->lower, &f->seal, &err), 0);
	/* level 0 of blob 1's tree: the last of its blocks in the section */
	f->data[0][BS + f->sdevs[1].tree_offset + 3 * BS + 40] ^= 1;
	assert_int_equal(es_vread_add(f->v, 1, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "blob 1: its Merkle tree"));
	f->data[0][BS + f->sdevs[1].tree_offset + 3 * BS + 40] ^= 1;
	es_err_clear(&err);
	f->mem_devs[2].size--;
	assert_int_equal(es_vread_add(f->v, 2, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "the manifest says"));
	f->mem_devs[2].size++;
	es_err_clear(&err);
	assert_int_equal(es_vread_add(f->v, 0, &err), -EINVAL);
	es_err_clear(&err);
	assert_int_equal(es_vread_add(f->v, 1, &err), 0);
}

struct reader_arg {
	struct fixture *f;
	unsigned int seed;
	int bad;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	struct fixture *f = a->f;
	uint8_t *got = malloc(f->size[1]);
	struct es_err err = { 0 };
	uint64_t s = a->seed;

	for (size_t off = 0; got && off < f->size[1];) {
		size_t n = 1 + (size_t)((s = s * 6364136223846793005ull + 1) >> 40) % (5 * BS);

		if (n > f->size[1] - off)
			n = f->size[1] - off;
		if (es_io_read(&f->io, 1, off, got + off, n, &err))
			a->bad++;
		off += n;
	}
	if (!got || memcmp(got, f->data[1], f->size[1]))
		a->bad++;
	free(got);
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct reader_arg args[4];
	pthread_t t[4];

	open_all(f);
	for (unsigned int i = 0; i < 4; i++) {
		args[i] = (struct reader_arg){ f, 7 * i + 1, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, reader, &args[i]), 0);
	}
	for (unsigned int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].bad, 0);
	}
	assert_int_equal(es_vread_unchecked(f->v), 2 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_two_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_short_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_single, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tree_and_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
