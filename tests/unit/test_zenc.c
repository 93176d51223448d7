// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for lib/build/zenc.c: fixed-output compression.  Every
 * stream is decoded by the algorithm's own library (liblz4, libdeflate,
 * libzstd), the oracle: it must give back exactly the prefix the encoder
 * says it took, fit the capacity, and not start with a zero byte.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libdeflate.h>
#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>
#include "build/zenc.h"

#define INPUT_SIZE (1u << 20)

/* Text-like data: words from a small vocabulary, a seeded LCG choosing. */
static uint8_t *text_input(void)
{
	static const char *const words[] = {
		"erofs ", "pcluster ", "extent ", "the ", "of ", "block ", "1234 ",
		"compressed ", "\n", "image ", "seal ", "zstd ", "deflate ",
	};
	uint8_t *p = malloc(INPUT_SIZE);
	uint32_t x = 12345;
	size_t n = 0;

	assert_non_null(p);
	while (n < INPUT_SIZE) {
		const char *w;
		size_t len;

		x = x * 1103515245u + 12345u;
		w = words[(x >> 16) % (sizeof(words) / sizeof(words[0]))];
		len = strlen(w);
		if (len > INPUT_SIZE - n)
			len = INPUT_SIZE - n;
		memcpy(p + n, w, len);
		n += len;
	}
	return p;
}

/* Incompressible: an xorshift stream. */
static uint8_t *random_input(void)
{
	uint8_t *p = malloc(INPUT_SIZE);
	uint64_t x = 0x9e3779b97f4a7c15ull;

	assert_non_null(p);
	for (size_t i = 0; i < INPUT_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
	return p;
}

static size_t oracle_decode(enum es_compr_kind kind, const uint8_t *in, size_t inlen,
			    uint8_t *out, size_t outcap)
{
	switch (kind) {
	case ES_COMPR_LZ4:
	case ES_COMPR_LZ4HC: {
		int n = LZ4_decompress_safe((const char *)in, (char *)out, (int)inlen, (int)outcap);

		return n < 0 ? (size_t)-1 : (size_t)n;
	}
	case ES_COMPR_DEFLATE: {
		struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
		size_t got = 0;
		enum libdeflate_result r;

		assert_non_null(d);
		r = libdeflate_deflate_decompress(d, in, inlen, out, outcap, &got);
		libdeflate_free_decompressor(d);
		return r == LIBDEFLATE_SUCCESS ? got : (size_t)-1;
	}
	case ES_COMPR_ZSTD: {
		size_t n = ZSTD_decompress(out, outcap, in, inlen);

		return ZSTD_isError(n) ? (size_t)-1 : n;
	}
	default:
		fail();
	}
	return (size_t)-1;
}

static void fit_roundtrip(enum es_compr_kind kind, int level, size_t cap)
{
	struct wz_encoder *e;
	struct es_err err = { 0 };
	uint8_t *text = text_input(), *rnd = random_input();
	uint8_t *dst = malloc(cap), *back = malloc(INPUT_SIZE);
	size_t consumed, outlen;

	assert_non_null(dst);
	assert_non_null(back);
	assert_int_equal(wz_encoder_new(kind, level, &e, &err), 0);
	/* compressible: a long prefix, nearly filling the pcluster */
	for (size_t off = 0; off < 3 * cap; off += cap) {
		assert_int_equal(wz_compress_fit(e, text + off, INPUT_SIZE - off, dst, cap, 4096,
						 &consumed, &outlen, &err), 0);
		assert_true(consumed > cap + cap / 2);
		assert_true(outlen <= cap);
		/* the pcluster is used, unless the input ran out (a DEFLATE block
		   header can make the next 256 bytes of input cost 600 more) */
		assert_true(outlen + 512 + cap / 64 >= cap || consumed == INPUT_SIZE - off);
		assert_int_not_equal(dst[0], 0);
		assert_int_equal(oracle_decode(kind, dst, outlen, back, INPUT_SIZE), consumed);
		assert_memory_equal(back, text + off, consumed);
	}
	/* all the input when it fits */
	assert_int_equal(wz_compress_fit(e, text, 5000, dst, cap, 4096, &consumed, &outlen,
					 &err), 0);
	assert_int_equal(consumed, 5000);
	assert_int_equal(oracle_decode(kind, dst, outlen, back, INPUT_SIZE), 5000);
	assert_memory_equal(back, text, 5000);
	/* incompressible: less than a pcluster's worth, or nothing */
	assert_int_equal(wz_compress_fit(e, rnd, INPUT_SIZE, dst, cap, 4096, &consumed,
					 &outlen, &err), 0);
	assert_true(consumed <= cap);
	if (consumed) {
		assert_int_equal(oracle_decode(kind, dst, outlen, back, INPUT_SIZE), consumed);
		assert_memory_equal(back, rnd, consumed);
	}
	wz_encoder_free(e);
	free(text);
	free(rnd);
	free(dst);
	free(back);
}

static void test_lz4(void **state)
{
	(void)state;
	fit_roundtrip(ES_COMPR_LZ4, 0, 4096);
	fit_roundtrip(ES_COMPR_LZ4, 0, 65536);
}

/*
 * The encoder keeps one LZ4HC stream and resets it the fast way between
 * calls: each call must give what liblz4's one-shot call on a cleared
 * state gives, whatever the calls before it compressed (text and random
 * data in turn, at offsets that move the stream's indexes on).
 */
static void lz4hc_as_oneshot(int level, size_t cap)
{
	struct wz_encoder *e;
	struct es_err err = { 0 };
	uint8_t *text = text_input(), *rnd = random_input();
	uint8_t *a = malloc(cap), *b = malloc(cap);
	void *state = malloc((size_t)LZ4_sizeofStateHC());
	size_t consumed, outlen;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(state);
	assert_int_equal(wz_encoder_new(ES_COMPR_LZ4HC, level, &e, &err), 0);
	for (size_t i = 0; i < 24; i++) {
		const uint8_t *src = (i % 3 == 2 ? rnd : text) + i * 4099;
		int in = (int)(INPUT_SIZE - i * 4099);
		int n = LZ4_compress_HC_destSize(state, (const char *)src, (char *)a, &in,
						 (int)cap, level);

		assert_true(n > 0);
		assert_int_equal(wz_compress_fit(e, src, INPUT_SIZE - i * 4099, b, cap, 4096,
						 &consumed, &outlen, &err), 0);
		if (!consumed)		/* only where nothing of use fits */
			assert_true((size_t)in <= 4096);
		else {
			assert_int_equal(consumed, (size_t)in);
			assert_int_equal(outlen, (size_t)n);
			assert_memory_equal(a, b, outlen);
		}
	}
	wz_encoder_free(e);
	free(state);
	free(text);
	free(rnd);
	free(a);
	free(b);
}

static void test_lz4hc(void **state)
{
	(void)state;
	fit_roundtrip(ES_COMPR_LZ4HC, 9, 4096);
	fit_roundtrip(ES_COMPR_LZ4HC, 12, 65536);
	lz4hc_as_oneshot(9, 4096);
	lz4hc_as_oneshot(12, 65536);
	lz4hc_as_oneshot(3, 8192);
}

static void test_deflate(void **state)
{
	(void)state;
	fit_roundtrip(ES_COMPR_DEFLATE, 6, 4096);
	fit_roundtrip(ES_COMPR_DEFLATE, 9, 131072);
}

static void test_zstd(void **state)
{
	(void)state;
	fit_roundtrip(ES_COMPR_ZSTD, 3, 4096);
	fit_roundtrip(ES_COMPR_ZSTD, 10, 262144);
}

/*
 * A searched encoder's guesses learn from its earlier calls (the last
 * ratio, LZ4's fit): after a reset, a call gives what a new encoder's
 * first call gives, whatever came before (the image must not depend on
 * which worker compressed what).
 */
static void reset_repeats(enum es_compr_kind kind, int level)
{
	struct wz_encoder *fresh, *used;
	struct es_err err = { 0 };
	uint8_t *text = text_input(), *rnd = random_input();
	uint8_t a[4096], b[4096];
	size_t ca, oa, cb, ob;

	assert_int_equal(wz_encoder_new(kind, level, &fresh, &err), 0);
	assert_int_equal(wz_encoder_new(kind, level, &used, &err), 0);
	for (size_t off = 0; off < 8 * 4096; off += 4096) {
		const uint8_t *src = off & 4096 ? rnd + off : text + off;

		assert_int_equal(wz_compress_fit(used, src, INPUT_SIZE - off, b, sizeof(b), 4096,
						 &cb, &ob, &err), 0);
	}
	wz_encoder_reset(used);
	assert_int_equal(wz_compress_fit(fresh, text + 7, INPUT_SIZE - 7, a, sizeof(a), 4096,
					 &ca, &oa, &err), 0);
	assert_int_equal(wz_compress_fit(used, text + 7, INPUT_SIZE - 7, b, sizeof(b), 4096,
					 &cb, &ob, &err), 0);
	assert_int_equal(ca, cb);
	assert_int_equal(oa, ob);
	assert_memory_equal(a, b, oa);
	wz_encoder_free(fresh);
	wz_encoder_free(used);
	free(text);
	free(rnd);
}

static void test_reset(void **state)
{
	(void)state;
	reset_repeats(ES_COMPR_DEFLATE, 6);
	reset_repeats(ES_COMPR_ZSTD, 3);
	reset_repeats(ES_COMPR_LZ4HC, 9);
}

static void test_parse(void **state)
{
	struct es_err err = { 0 };
	enum es_compr_kind kind;
	int level;

	(void)state;
	assert_int_equal(es_compr_parse("lz4", &kind, &level, &err), 0);
	assert_int_equal(kind, ES_COMPR_LZ4);
	assert_int_equal(es_compr_parse("lz4hc", &kind, &level, &err), 0);
	assert_int_equal(kind, ES_COMPR_LZ4HC);
	assert_int_equal(level, 9);
	assert_int_equal(es_compr_parse("lz4hc,12", &kind, &level, &err), 0);
	assert_int_equal(level, 12);
	assert_int_equal(es_compr_parse("zstd,level=19", &kind, &level, &err), 0);
	assert_int_equal(kind, ES_COMPR_ZSTD);
	assert_int_equal(level, 19);
	assert_int_equal(es_compr_parse("deflate,1", &kind, &level, &err), 0);
	assert_int_equal(kind, ES_COMPR_DEFLATE);
	assert_int_equal(es_compr_parse("lz4hc,13", &kind, &level, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "between"));
	assert_int_equal(es_compr_parse("lz4,3", &kind, &level, &err), -EINVAL);
	assert_int_equal(es_compr_parse("zstd,", &kind, &level, &err), -EINVAL);
	assert_int_equal(es_compr_parse("zstd,3x", &kind, &level, &err), -EINVAL);
	memset(&err, 0, sizeof(err));	/* the first failure's message stays */
	assert_int_equal(es_compr_parse("lzma", &kind, &level, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown compression algorithm"));
	assert_int_equal(es_compr_parse("lz4hcx", &kind, &level, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lz4),
		cmocka_unit_test(test_lz4hc),
		cmocka_unit_test(test_deflate),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
