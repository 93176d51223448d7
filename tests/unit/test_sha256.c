// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SHA-256 backend tests.  The same source is built twice, once linked with
 * lib/crypto/sha256_openssl.c and once with lib/crypto/sha256_portable.c, so both backends
 * must pass the same checks: the FIPS 180-4 example vectors and agreement
 * with OpenSSL's EVP SHA-256 (called directly here, independently of the
 * backend) over many lengths and chunkings.
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
#include "erofs/sha256.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len)
{
	size_t i;

	assert_int_equal(strlen(hex), 2 * len);
	for (i = 0; i < len; i++) {
		unsigned int byte;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
		out[i] = (uint8_t)byte;
	}
}

static void assert_digest_hex(const uint8_t digest[ES_SHA256_DIGEST_SIZE],
			      const char *hex)
{
	uint8_t expected[ES_SHA256_DIGEST_SIZE];

	hex_to_bytes(hex, expected, sizeof(expected));
	assert_memory_equal(digest, expected, sizeof(expected));
}

/* Digest of data fed in pieces of chunk bytes (the last one shorter). */
static void digest_in_chunks(const uint8_t *data, size_t len, size_t chunk,
			     uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	struct es_sha256_ctx ctx;
	size_t done = 0;

	assert_int_equal(es_sha256_init(&ctx), 0);
	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;

		es_sha256_update(&ctx, data + done, n);
		done += n;
	}
	assert_int_equal(es_sha256_final(&ctx, out), 0);
}

static void reference_digest(const void *data, size_t len,
			     uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	unsigned int out_len = 0;

	assert_int_equal(EVP_Digest(data, len, out, &out_len, EVP_sha256(),
				    NULL), 1);
	assert_int_equal(out_len, ES_SHA256_DIGEST_SIZE);
}

/* FIPS 180-4 / NIST CAVP example messages */
static const struct {
	const char *message;
	const char *digest;
} nist_vectors[] = {
	{ "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

static void test_nist_vectors(void **state)
{
	static const size_t chunks[] = { 1, 3, 55, 56, 63, 64, 65, 1000 };
	size_t i, c;

	(void)state;
	for (i = 0; i < sizeof(nist_vectors) / sizeof(nist_vectors[0]); i++) {
		const char *msg = nist_vectors[i].message;
		uint8_t digest[ES_SHA256_DIGEST_SIZE];

		assert_int_equal(es_sha256(msg, strlen(msg), digest), 0);
		assert_digest_hex(digest, nist_vectors[i].digest);
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			digest_in_chunks((const uint8_t *)msg, strlen(msg),
					 chunks[c], digest);
			assert_digest_hex(digest, nist_vectors[i].digest);
		}
	}
}

static void test_million_a(void **state)
{
	static const char *expected =
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	const size_t len = 1000000;
	uint8_t digest[ES_SHA256_DIGEST_SIZE];
	uint8_t *data = malloc(len);

	(void)state;
	assert_non_null(data);
	memset(data, 'a', len);
	assert_int_equal(es_sha256(data, len, digest), 0);
	assert_digest_hex(digest, expected);
	digest_in_chunks(data, len, 1000, digest);
	assert_digest_hex(digest, expected);
	digest_in_chunks(data, len, 4097, digest);
	assert_digest_hex(digest, expected);
	free(data);
}

static void fill_pattern(uint8_t *data, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (uint8_t)(seed >> 16);
	}
}

/* Every length around the padding boundaries, several chunkings. */
static void test_matches_openssl_all_short_lengths(void **state)
{
	static const size_t chunks[] = { 1, 7, 63, 64, 65, 4096 };
	uint8_t data[1100];
	uint8_t ours[ES_SHA256_DIGEST_SIZE], theirs[ES_SHA256_DIGEST_SIZE];
	size_t len, c;

	(void)state;
	fill_pattern(data, sizeof(data), 1);
	for (len = 0; len <= sizeof(data); len++) {
		reference_digest(data, len, theirs);
		assert_int_equal(es_sha256(data, len, ours), 0);
		assert_memory_equal(ours, theirs, sizeof(ours));
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			digest_in_chunks(data, len, chunks[c], ours);
			assert_memory_equal(ours, theirs, sizeof(ours));
		}
	}
}

static void test_matches_openssl_long_messages(void **state)
{
	static const size_t lengths[] = { 4096, 4097, 65536, 1048576 + 13 };
	static const size_t chunks[] = { 1, 100, 4096, 65537 };
	const size_t max_len = 1048576 + 13;
	uint8_t ours[ES_SHA256_DIGEST_SIZE], theirs[ES_SHA256_DIGEST_SIZE];
	uint8_t *data = malloc(max_len);
	size_t i, c;

	(void)state;
	assert_non_null(data);
	fill_pattern(data, max_len, 7);
	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		reference_digest(data, lengths[i], theirs);
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			digest_in_chunks(data, lengths[i], chunks[c], ours);
			assert_memory_equal(ours, theirs, sizeof(ours));
		}
	}
	free(data);
}

/* final_reset() starts a fresh message: no state leaks between messages. */
static void test_final_reset_reuses_context(void **state)
{
	uint8_t data[3 * 4096];
	uint8_t ours[ES_SHA256_DIGEST_SIZE], theirs[ES_SHA256_DIGEST_SIZE];
	struct es_sha256_ctx ctx;
	size_t i;

	(void)state;
	fill_pattern(data, sizeof(data), 3);
	assert_int_equal(es_sha256_init(&ctx), 0);
	for (i = 0; i < 3; i++) {
		/* message i: block i, fed in two uneven parts */
		es_sha256_update(&ctx, data + i * 4096, 100);
		es_sha256_update(&ctx, data + i * 4096 + 100, 4096 - 100);
		assert_int_equal(es_sha256_final_reset(&ctx, ours), 0);
		reference_digest(data + i * 4096, 4096, theirs);
		assert_memory_equal(ours, theirs, sizeof(ours));
	}
	/* an empty message right after a reset */
	assert_int_equal(es_sha256_final_reset(&ctx, ours), 0);
	assert_digest_hex(ours, nist_vectors[0].digest);
	es_sha256_release(&ctx);
}

static void test_release_paths(void **state)
{
	uint8_t digest[ES_SHA256_DIGEST_SIZE];
	struct es_sha256_ctx ctx;

	(void)state;
	/* abandoned message */
	assert_int_equal(es_sha256_init(&ctx), 0);
	es_sha256_update(&ctx, "abc", 3);
	es_sha256_release(&ctx);
	/* release after final is harmless */
	assert_int_equal(es_sha256_init(&ctx), 0);
	es_sha256_update(&ctx, "abc", 3);
	assert_int_equal(es_sha256_final(&ctx, digest), 0);
	assert_digest_hex(digest, nist_vectors[1].digest);
	es_sha256_release(&ctx);
	es_sha256_release(&ctx);
	/* zero-length updates, including with a NULL pointer */
	assert_int_equal(es_sha256_init(&ctx), 0);
	es_sha256_update(&ctx, NULL, 0);
	es_sha256_update(&ctx, "abc", 3);
	es_sha256_update(&ctx, NULL, 0);
	assert_int_equal(es_sha256_final(&ctx, digest), 0);
	assert_digest_hex(digest, nist_vectors[1].digest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_matches_openssl_all_short_lengths),
		cmocka_unit_test(test_matches_openssl_long_messages),
		cmocka_unit_test(test_final_reset_reuses_context),
		cmocka_unit_test(test_release_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
