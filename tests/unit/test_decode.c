// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for lib/decode.c, the hosted decompressors.  The streams come
 * from the libraries' own compressors (liblz4, libdeflate, libzstd,
 * liblzma's MicroLZMA encoder), the oracle for what decodes to what; the
 * tests check that our stage gives back the input exactly, and that a
 * stream asked for fewer bytes than it holds (a bomb), more bytes than it
 * holds, or damaged, fails with a message instead of overrunning.
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
#include <lzma.h>
#include <zstd.h>
#include "erofs/decode.h"
#include "erofs/format.h"

#define PLAIN_LEN 20000

static uint8_t plain[PLAIN_LEN];

static void make_plain(void)
{
	uint32_t x = 12345;

	/* text-like: few distinct bytes, some repeats */
	for (size_t i = 0; i < PLAIN_LEN; i++) {
		x = x * 1103515245u + 12345u;
		plain[i] = (uint8_t)("abcdefgh \n"[(x >> 16) % 10]);
		if (i >= 64 && (x >> 8) % 4 == 0)
			plain[i] = plain[i - 64];
	}
}

static size_t compress(unsigned int alg, uint8_t *out, size_t cap)
{
	switch (alg) {
	case EROFS_COMPR_LZ4:
		return (size_t)LZ4_compress_HC((const char *)plain, (char *)out, PLAIN_LEN,
					       (int)cap, 9);
	case EROFS_COMPR_DEFLATE: {
		struct libdeflate_compressor *c = libdeflate_alloc_compressor(9);
		size_t n = libdeflate_deflate_compress(c, plain, PLAIN_LEN, out, cap);

		libdeflate_free_compressor(c);
		return n;
	}
	case EROFS_COMPR_ZSTD:
		return ZSTD_compress(out, cap, plain, PLAIN_LEN, 10);
	default: {
		lzma_stream s = LZMA_STREAM_INIT;
		lzma_options_lzma opt;
		size_t n;

		assert_false(lzma_lzma_preset(&opt, 6));
		assert_int_equal(lzma_microlzma_encoder(&s, &opt), LZMA_OK);
		s.next_in = plain;
		s.avail_in = PLAIN_LEN;
		s.next_out = out;
		s.avail_out = cap;
		assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
		assert_int_equal(s.avail_in, 0);
		n = cap - s.avail_out;
		lzma_end(&s);
		return n;
	}
	}
}

static void test_roundtrip_and_bounds(void **state)
{
	static uint8_t stream[PLAIN_LEN * 2], out[PLAIN_LEN + 64];
	struct es_decoder *d;
	struct es_err err = { 0 };

	(void)state;
	make_plain();
	assert_int_equal(es_decoder_new(&d, &err), 0);
	for (unsigned int alg = 0; alg < EROFS_COMPR_MAX; alg++) {
		size_t n = compress(alg, stream, sizeof(stream)), produced;

		assert_true(n > 0 && n < PLAIN_LEN);
		/* exact */
		memset(out, 0xaa, sizeof(out));
		es_err_clear(&err);
		assert_int_equal(es_decode(d, alg, stream, n, out, PLAIN_LEN, &produced, &err), 0);
		assert_int_equal(produced, PLAIN_LEN);
		assert_memory_equal(out, plain, PLAIN_LEN);
		/* a bomb: the extent claims 4096 bytes, the stream holds more;
		   nothing is written past the 4096 */
		memset(out, 0xaa, sizeof(out));
		es_err_clear(&err);
		if (alg == EROFS_COMPR_LZMA) {
			/* MicroLZMA has no end marker: the extent's length is the
			   stream's, decoding stops there */
			assert_int_equal(es_decode(d, alg, stream, n, out, 4096, &produced, &err),
					 -ES_ECORRUPT);
		} else {
			assert_int_equal(es_decode(d, alg, stream, n, out, 4096, &produced, &err),
					 -ES_ECORRUPT);
			assert_non_null(strstr(err.msg, "decodes to more than 4096 bytes"));
		}
		assert_int_equal(out[4096], 0xaa);
		/* damaged: bytes in the middle overwritten */
		memset(stream + n / 2, 0xff, n / 4 > 16 ? 16 : n / 4);
		es_err_clear(&err);
		produced = 0;
		{
			int ret = es_decode(d, alg, stream, n, out, PLAIN_LEN, &produced, &err);

			/* a damaged stream may still decode (LZ4 literals): then
			   the output differs, and the reader's length or the
			   tree catches it */
			if (ret)
				assert_true(err.msg[0] != '\0');
			else
				assert_true(produced != PLAIN_LEN ||
					    memcmp(out, plain, PLAIN_LEN) != 0);
		}
	}
	es_decoder_free(d);
}

/* Shorter than the extent: *produced says so (the reader reports it). */
static void test_short_stream(void **state)
{
	static uint8_t stream[PLAIN_LEN * 2], out[PLAIN_LEN * 2];
	struct es_decoder *d;
	struct es_err err = { 0 };

	(void)state;
	make_plain();
	assert_int_equal(es_decoder_new(&d, &err), 0);
	for (unsigned int alg = 0; alg < EROFS_COMPR_MAX; alg++) {
		size_t n = compress(alg, stream, sizeof(stream)), produced = 0;
		int ret;

		if (alg == EROFS_COMPR_LZMA)
			continue;	/* sizes come from the extent only */
		es_err_clear(&err);
		ret = es_decode(d, alg, stream, n, out, PLAIN_LEN + 100, &produced, &err);
		assert_int_equal(ret, 0);
		assert_int_equal(produced, PLAIN_LEN);
	}
	es_decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_bounds),
		cmocka_unit_test(test_short_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
