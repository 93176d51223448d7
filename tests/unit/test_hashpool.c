// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The threaded fs-verity digest (lib/crypto/hashpool.c) against the
 * one-thread builder (es_verity_digest_fd): the same digest and the same
 * serialized tree, byte for byte, for every thread count, at the sizes
 * where the tree's shape changes (no tree, one level, a partial last data
 * block, a whole level-0 tree block and one more, three levels) and at
 * sizes large enough to be split between threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "crypto/hashpool.h"
#include "erofs/verity.h"

#define BLK	4096ull
#define GROUP	(128 * BLK)	/* the data under one level-0 tree block */

/* An unlinked temporary file of size bytes of seeded pseudo-random data. */
static int make_file(uint64_t size)
{
	char path[] = "/tmp/test_hashpool.XXXXXX";
	int fd = mkstemp(path);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t buf[1 << 16];

	assert_true(fd >= 0);
	unlink(path);
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		for (size_t i = 0; i < sizeof(buf); i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(buf + i, &x, 8);
		}
		assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
	}
	return fd;
}

static void check_size(uint64_t size)
{
	static const unsigned int threads[] = { 1, 2, 3, 7 };
	uint8_t want[32], got[32];
	uint8_t *want_tree = NULL, *tree = NULL;
	size_t want_len = 0, len = 0;
	int fd = make_file(size);

	assert_int_equal(es_verity_digest_fd(fd, size, want, &want_tree, &want_len), 0);
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		memset(got, 0, sizeof(got));
		assert_int_equal(es_verity_digest_fd_parallel(fd, size, threads[t], got,
							      &tree, &len), 0);
		assert_memory_equal(got, want, 32);
		assert_int_equal(len, want_len);
		if (len)
			assert_memory_equal(tree, want_tree, len);
		free(tree);
		tree = NULL;
		/* without the tree, and with a stop flag never raised */
		memset(got, 0, sizeof(got));
		{
			volatile sig_atomic_t stop = 0;

			assert_int_equal(es_verity_digest_fd_stoppable(fd, size, threads[t], &stop,
								       got, NULL, NULL), 0);
		}
		assert_memory_equal(got, want, 32);
	}
	free(want_tree);
	close(fd);
}

static void test_small_sizes(void **state)
{
	(void)state;
	check_size(0);
	check_size(1);
	check_size(BLK - 1);
	check_size(BLK);
	check_size(BLK + 1);
	check_size(2 * BLK);
	check_size(GROUP - 1);
	check_size(GROUP);
	check_size(GROUP + 1);
	check_size(GROUP + BLK);
	check_size(3 * GROUP + 5);
}

/* enough groups for several threads, with a partial last data block */
static void test_split_between_threads(void **state)
{
	(void)state;
	check_size(64 * GROUP);
	check_size(97 * GROUP + 3 * BLK + 17);
}

/* three levels: more than 128 level-0 tree blocks */
static void test_three_levels(void **state)
{
	(void)state;
	check_size(129 * GROUP + BLK + 1);
}

static void test_stop_and_short_file(void **state)
{
	volatile sig_atomic_t stop = 1;
	uint8_t digest[32];
	int fd = make_file(40 * GROUP);

	(void)state;
	assert_int_equal(es_verity_digest_fd_stoppable(fd, 40 * GROUP, 2, &stop, digest,
						       NULL, NULL), -ECANCELED);
	/* the file ends before the size asked for */
	assert_int_equal(es_verity_digest_fd_parallel(fd, 40 * GROUP + BLK, 2, digest,
						      NULL, NULL), -EIO);
	assert_int_equal(es_verity_digest_fd_parallel(fd, 40 * GROUP + BLK, 1, digest,
						      NULL, NULL), -EIO);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_sizes),
		cmocka_unit_test(test_split_between_threads),
		cmocka_unit_test(test_three_levels),
		cmocka_unit_test(test_stop_and_short_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
