// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Multi-message SHA-256 (lib/crypto/sha256_mb.c) against OpenSSL's EVP
 * SHA-256, called directly here: every length class (empty, one byte, the
 * padding boundaries 55/56/63/64/65 and their second-block twins, 4 KiB
 * and around it), message counts that fill the lanes and leave one over,
 * unaligned messages with different contents.  Each case runs on the
 * SHA-NI code when the CPU has it (a note says when it does not) and always
 * on the one-by-one path that SHA-NI masked off falls back to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "erofs/sha256_mb.h"

#define DIGEST	ES_SHA256_DIGEST_SIZE
#define MAX_MSGS	7
#define MAX_LEN		(3 * 4096 + 1)

/* lengths beyond 0..2*64+8, which are all tried */
static const size_t long_lengths[] = {
	255, 256, 1000, 4095, 4096, 4097, 8191, 8192, MAX_LEN,
};

/* xorshift64: seeded, so a failure reproduces */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static void fill_random(uint8_t *p, size_t len, uint64_t *state)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(next_random(state) >> 24);
}

static void openssl_digest(const void *data, size_t len, uint8_t out[DIGEST])
{
	unsigned int out_len = 0;

	assert_int_equal(EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL), 1);
	assert_int_equal(out_len, DIGEST);
}

static void init_mb(struct es_sha256_mb *mb, bool shani)
{
	assert_int_equal(es_sha256_mb_init(mb, shani ? 0 : ES_SHA256_MB_NO_SHANI), 0);
	assert_int_equal(mb->shani, shani);
}

/* the SHA-NI cases, or false after a note that this CPU cannot run them */
static bool shani_testable(void)
{
	const char *mask = getenv("ES_SHA256_NO_SHANI");

	if (mask && *mask && strcmp(mask, "0")) {
		printf("SKIP: ES_SHA256_NO_SHANI is set, SHA-NI cases not run\n");
		return false;
	}
	if (!es_sha256_mb_cpu_has_shani()) {
		printf("SKIP: this CPU has no SHA-NI, SHA-NI cases not run "
		       "(the one-by-one path is still tested)\n");
		return false;
	}
	return true;
}

/*
 * Every length: n messages of that length at odd offsets of one random
 * buffer (each its own bytes), through es_sha256_mb_many(), and the first
 * two through es_sha256_mb_x2().
 */
static void check_lengths(bool shani)
{
	uint8_t *pool = malloc(MAX_MSGS * (MAX_LEN + 3));
	uint8_t got[MAX_MSGS * DIGEST], want[DIGEST], a[DIGEST], b[DIGEST];
	const void *msgs[MAX_MSGS];
	struct es_sha256_mb mb;
	uint64_t seed = 0x5eed0001;
	size_t n_lengths = 2 * 64 + 9 + sizeof(long_lengths) / sizeof(long_lengths[0]);

	assert_non_null(pool);
	init_mb(&mb, shani);
	for (size_t li = 0; li < n_lengths; li++) {
		size_t len = li <= 2 * 64 + 8 ? li : long_lengths[li - (2 * 64 + 9)];

		fill_random(pool, MAX_MSGS * (MAX_LEN + 3), &seed);
		for (size_t i = 0; i < MAX_MSGS; i++)
			msgs[i] = pool + i * (MAX_LEN + 3) + (i % 3);
		for (size_t n = 1; n <= MAX_MSGS; n++) {
			memset(got, 0xa5, sizeof(got));
			assert_int_equal(es_sha256_mb_many(&mb, msgs, n, len, got), 0);
			for (size_t i = 0; i < n; i++) {
				openssl_digest(msgs[i], len, want);
				if (memcmp(got + i * DIGEST, want, DIGEST))
					fail_msg("%s: length %zu, message %zu of %zu differs",
						 es_sha256_mb_impl(&mb), len, i, n);
			}
		}
		assert_int_equal(es_sha256_mb_x2(&mb, msgs[0], msgs[1], len, a, b), 0);
		openssl_digest(msgs[0], len, want);
		assert_memory_equal(a, want, DIGEST);
		openssl_digest(msgs[1], len, want);
		assert_memory_equal(b, want, DIGEST);
	}
	es_sha256_mb_release(&mb);
	free(pool);
}

/* Merkle-tree use: consecutive 4 KiB blocks, an odd count, and the same
 * block twice in one pair. */
static void check_blocks(bool shani)
{
	enum { N = 9, BS = 4096 };
	uint8_t *data = malloc(N * BS);
	uint8_t got[N * DIGEST], want[DIGEST], a[DIGEST], b[DIGEST];
	struct es_sha256_mb mb;
	uint64_t seed = 0x5eed0002;

	assert_non_null(data);
	fill_random(data, N * BS, &seed);
	memset(data + 3 * BS, 0, BS);	/* an all-zero block among them */
	init_mb(&mb, shani);
	assert_int_equal(es_sha256_mb_blocks(&mb, data, N, BS, got), 0);
	for (size_t i = 0; i < N; i++) {
		openssl_digest(data + i * BS, BS, want);
		assert_memory_equal(got + i * DIGEST, want, DIGEST);
	}
	assert_int_equal(es_sha256_mb_x2(&mb, data, data, BS, a, b), 0);
	openssl_digest(data, BS, want);
	assert_memory_equal(a, want, DIGEST);
	assert_memory_equal(b, want, DIGEST);
	/* nothing to hash is not an error and writes nothing */
	assert_int_equal(es_sha256_mb_blocks(&mb, data, 0, BS, got), 0);
	es_sha256_mb_release(&mb);
	free(data);
}

static void test_shani_lengths(void **state)
{
	(void)state;
	if (!shani_testable())
		skip();
	check_lengths(true);
}

static void test_shani_blocks(void **state)
{
	(void)state;
	if (!shani_testable())
		skip();
	check_blocks(true);
}

static void test_masked_lengths(void **state)
{
	(void)state;
	check_lengths(false);
}

static void test_masked_blocks(void **state)
{
	(void)state;
	check_blocks(false);
}

/* The environment masks SHA-NI off as the flag does; "0" and "" do not. */
static void test_environment_masks(void **state)
{
	struct es_sha256_mb mb;

	(void)state;
	assert_int_equal(setenv("ES_SHA256_NO_SHANI", "1", 1), 0);
	assert_int_equal(es_sha256_mb_init(&mb, 0), 0);
	assert_false(mb.shani);
	assert_string_equal(es_sha256_mb_impl(&mb), "one by one");
	es_sha256_mb_release(&mb);
	es_sha256_mb_release(&mb);	/* harmless twice */

	assert_int_equal(setenv("ES_SHA256_NO_SHANI", "0", 1), 0);
	assert_int_equal(es_sha256_mb_init(&mb, 0), 0);
	assert_int_equal(mb.shani, es_sha256_mb_cpu_has_shani());
	es_sha256_mb_release(&mb);

	assert_int_equal(unsetenv("ES_SHA256_NO_SHANI"), 0);
	assert_int_equal(es_sha256_mb_init(&mb, ES_SHA256_MB_NO_SHANI), 0);
	assert_false(mb.shani);
	es_sha256_mb_release(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shani_lengths),
		cmocka_unit_test(test_shani_blocks),
		cmocka_unit_test(test_masked_lengths),
		cmocka_unit_test(test_masked_blocks),
		cmocka_unit_test(test_environment_masks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
