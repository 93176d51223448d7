// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block cache in front of a source (lib/io_cache.c): every read through
 * it returns the bytes of the source, whatever its size and alignment
 * (within a block, across two, larger than the cache serves, at the end of
 * a device whose size is not a whole number of blocks), for device 0 and
 * the others; reads past the end fail as the source's do; the other calls
 * reach the source; closing the cache closes the source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "erofs/io.h"

#define DEV0_SIZE	(300u * 4096u + 123u)	/* more blocks than slots, a tail */
#define DEV1_SIZE	5000u

static uint8_t dev0[DEV0_SIZE], dev1[DEV1_SIZE];
static int closed;

static struct es_io_mem mem;
static const struct es_io_mem_dev devs[2] = {
	{ .data = dev0, .size = DEV0_SIZE }, { .data = dev1, .size = DEV1_SIZE },
};

static void count_close(void *ctx)
{
	(void)ctx;
	closed++;
}

static void open_cached(struct es_io *io)
{
	struct es_err err = { 0 };
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < sizeof(dev0); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		dev0[i] = (uint8_t)x;
	}
	memset(dev1, 0x5a, sizeof(dev1));
	es_io_mem_init(io, &mem, devs, 2);
	io->close = count_close;
	closed = 0;
	assert_int_equal(es_io_cache_wrap(io, &err), 0);
}

static void check_read(struct es_io *io, unsigned int dev, uint64_t off, size_t len)
{
	static uint8_t buf[4 * 4096];
	struct es_err err = { 0 };
	const uint8_t *want = dev ? dev1 : dev0;

	memset(buf, 0xee, len);
	assert_int_equal(es_io_read(io, dev, off, buf, len, &err), 0);
	assert_memory_equal(buf, want + off, len);
}

static void test_reads_match_source(void **state)
{
	struct es_io io;
	uint64_t x = 1;

	(void)state;
	open_cached(&io);
	/* twice over: misses first, then hits (and evictions) */
	for (int pass = 0; pass < 2; pass++) {
		check_read(&io, 0, 0, 1);
		check_read(&io, 0, 64, 64);
		check_read(&io, 0, 4096 - 10, 20);		/* two blocks */
		check_read(&io, 0, 4096, 4096);
		check_read(&io, 0, 3 * 4096 + 1, 2 * 4096);	/* three blocks */
		check_read(&io, 0, 5, 3 * 4096);		/* past what is cached */
		check_read(&io, 0, DEV0_SIZE - 123, 123);	/* the partial last block */
		check_read(&io, 0, DEV0_SIZE - 200, 200);
		check_read(&io, 0, DEV0_SIZE, 0);
		check_read(&io, 1, 4000, 1000);
	}
	for (int i = 0; i < 5000; i++) {
		uint64_t off, len;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = x % 300 + 1;
		off = (x >> 20) % (DEV0_SIZE - len + 1);
		check_read(&io, 0, off, (size_t)len);
	}
	es_io_close(&io);
	assert_int_equal(closed, 1);
}

static void test_past_the_end(void **state)
{
	struct es_err err = { 0 };
	struct es_io_dev info;
	uint8_t buf[64];
	struct es_io io;

	(void)state;
	open_cached(&io);
	assert_int_not_equal(es_io_read(&io, 0, DEV0_SIZE - 10, buf, 20, &err), 0);
	assert_int_not_equal(es_io_read(&io, 0, DEV0_SIZE + 4096, buf, 1, &err), 0);
	assert_int_not_equal(es_io_read(&io, 2, 0, buf, 1, &err), 0);
	assert_int_equal(es_io_stat(&io, 1, NULL, &info, &err), 0);
	assert_int_equal(info.size, DEV1_SIZE);
	assert_int_equal(es_io_fd(&io, 0), -1);
	es_io_close(&io);
	assert_int_equal(closed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_match_source),
		cmocka_unit_test(test_past_the_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
