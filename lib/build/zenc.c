// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Fixed-output compression for the builder (zenc.h), and the -z
 * specification parser.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>
#include "erofs/format.h"
#include "zenc.h"

struct wz_encoder {
	enum es_compr_kind kind;
	int level;
	LZ4_streamHC_t *lz4hc;			/* one stream, reset per call */
	bool hc_pretest;			/* LZ4HC: the last fit saved nothing */
	struct libdeflate_compressor *deflate;
	ZSTD_CCtx *zstd;
	uint8_t *scratch;			/* searched encoders: one attempt */
	size_t scratch_cap;
	double ratio_hint;			/* input / output of the last fit */
	double probe_hint;			/* its input / LZ4's fit, 0 = none */
	/* the search's tolerances (search_fit) */
	unsigned int fit_close;			/* output bytes short of full */
	size_t fit_step;			/* input bytes short of a failure */
	bool fit_probe;				/* first guess from LZ4's fit */
};

static const struct {
	const char *name;
	enum es_compr_kind kind;
	int min, max, dflt;			/* levels; min > max: none */
} kinds[] = {
	{ "lz4", ES_COMPR_LZ4, 1, 0, 0 },
	{ "lz4hc", ES_COMPR_LZ4HC, LZ4HC_CLEVEL_MIN, LZ4HC_CLEVEL_MAX, LZ4HC_CLEVEL_DEFAULT },
	{ "deflate", ES_COMPR_DEFLATE, 1, 12, 6 },
	{ "zstd", ES_COMPR_ZSTD, 1, 22, 3 },
};

int es_compr_parse(const char *spec, enum es_compr_kind *kind, int *level,
		   struct es_err *err)
{
	const char *comma = strchr(spec, ',');
	size_t len = comma ? (size_t)(comma - spec) : strlen(spec);

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *arg = comma ? comma + 1 : NULL;
		char *end;
		long v;

		if (strlen(kinds[i].name) != len || strncmp(spec, kinds[i].name, len))
			continue;
		*kind = kinds[i].kind;
		*level = kinds[i].dflt;
		if (!arg)
			return 0;
		if (kinds[i].min > kinds[i].max)
			return es_fail(err, -EINVAL, "%s takes no level", kinds[i].name);
		if (!strncmp(arg, "level=", 6))
			arg += 6;
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < kinds[i].min || v > kinds[i].max)
			return es_fail(err, -EINVAL, "%s: level '%s' is not between %d and %d",
				       kinds[i].name, arg, kinds[i].min, kinds[i].max);
		*level = (int)v;
		return 0;
	}
	return es_fail(err, -EINVAL, "unknown compression algorithm '%.*s': lz4, lz4hc, "
		       "deflate or zstd", (int)(len > 32 ? 32 : len), spec);
}

unsigned int wz_algorithm(enum es_compr_kind kind)
{
	switch (kind) {
	case ES_COMPR_DEFLATE:
		return EROFS_COMPR_DEFLATE;
	case ES_COMPR_ZSTD:
		return EROFS_COMPR_ZSTD;
	default:
		return EROFS_COMPR_LZ4;
	}
}

int wz_encoder_new(enum es_compr_kind kind, int level, struct wz_encoder **out,
		   struct es_err *err)
{
	struct wz_encoder *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (!e)
		return es_fail(err, -ENOMEM, "out of memory");
	e->kind = kind;
	e->level = level;
	wz_encoder_reset(e);
	switch (kind) {
	case ES_COMPR_LZ4:
		*out = e;	/* LZ4_compress_destSize keeps its state on the stack */
		return 0;
	case ES_COMPR_LZ4HC:
		e->lz4hc = LZ4_createStreamHC();	/* zeroed: initialised */
		break;
	case ES_COMPR_DEFLATE:
		e->deflate = libdeflate_alloc_compressor(level);
		/* libdeflate's attempts are the dearest: a looser fit (minbase:
		   2.9 bytes compressed per byte kept, not 4.0, for 0.2% more
		   image than within 8 bytes) */
		e->fit_close = 32;
		e->fit_step = 128;
		e->fit_probe = true;
		break;
	case ES_COMPR_ZSTD:
		/* tighter: zstd's attempts cost less than libdeflate's, and its
		   ratio is steadier than LZ4's (no probe) */
		e->fit_close = 8;
		e->fit_step = 32;
		e->zstd = ZSTD_createCCtx();
		if (e->zstd && (ZSTD_isError(ZSTD_CCtx_setParameter(e->zstd,
						ZSTD_c_compressionLevel, level)) ||
				ZSTD_isError(ZSTD_CCtx_setParameter(e->zstd, ZSTD_c_windowLog,
								    WZ_ZSTD_WINDOWLOG)) ||
				/* the kernel decodes the frame, not its checksum */
				ZSTD_isError(ZSTD_CCtx_setParameter(e->zstd,
								    ZSTD_c_checksumFlag, 0)))) {
			wz_encoder_free(e);
			return es_fail(err, -EINVAL, "zstd rejects level %d", level);
		}
		break;
	default:
		free(e);
		return es_fail(err, -EINVAL, "no compression algorithm %d", (int)kind);
	}
	if (!e->lz4hc && !e->deflate && !e->zstd) {
		wz_encoder_free(e);
		return es_fail(err, -ENOMEM, "out of memory for the compressor");
	}
	*out = e;
	return 0;
}

void wz_encoder_reset(struct wz_encoder *e)
{
	e->ratio_hint = 3.0;	/* a typical first guess, then the data's own */
	e->probe_hint = 0;
	e->hc_pretest = true;
}

void wz_encoder_free(struct wz_encoder *e)
{
	if (!e)
		return;
	LZ4_freeStreamHC(e->lz4hc);
	if (e->deflate)
		libdeflate_free_compressor(e->deflate);
	ZSTD_freeCCtx(e->zstd);
	free(e->scratch);
	free(e);
}

/*
 * One whole-input attempt of a searched encoder, into a buffer larger than
 * the pcluster: an attempt that overflows the pcluster still says by how
 * much (the encoders do the same work either way), and the next guess uses
 * it.  Its length; 0 = not even the larger buffer holds it.
 */
static size_t compress_once(struct wz_encoder *e, const uint8_t *src, size_t len,
			    uint8_t *dst, size_t cap)
{
	if (e->kind == ES_COMPR_DEFLATE)
		return libdeflate_deflate_compress(e->deflate, src, len, dst, cap);
	{
		size_t n = ZSTD_compress2(e->zstd, dst, cap, src, len);

		return ZSTD_isError(n) ? 0 : n;
	}
}

/* The scratch buffer of an attempt: this much past the pcluster */
#define SEARCH_OVERSHOOT(cap)	((cap) / 2 + 64)
#define SEARCH_MAX_ATTEMPTS 12

/*
 * The longest prefix that fits, by search: fits = [0, lo] (lo_out bytes),
 * fails from hi (hi_out bytes, 0 = more than the scratch holds).  The
 * compressed length grows nearly linearly with the input: each guess
 * interpolates between the two nearest known lengths, aiming half the
 * encoder's tolerance (fit_close) under the pcluster's end, which lands
 * within it after two or three attempts on ordinary data.  Without a
 * length on one side, the guess scales the other by its ratio; with none,
 * by LZ4's fit of the same input (fit_probe: a tenth of the cost of an
 * attempt) times how far the last extent went past LZ4's, or by the last
 * extent's ratio.  A guess at or past hi stays an eighth of the interval
 * under it.  It stops when a fit is within fit_close bytes of full, or the
 * next failure within fit_step bytes of input.
 */
static int search_fit(struct wz_encoder *e, const uint8_t *src, size_t srclen,
		      uint8_t *dst, size_t dstcap, size_t min_take, size_t *consumed,
		      size_t *outlen, struct es_err *err)
{
	const size_t scap = dstcap + SEARCH_OVERSHOOT(dstcap);
	const double aim = (double)dstcap - e->fit_close / 2.0;
	size_t lo = 0, lo_out = 0, hi = srclen + 1, hi_out = 0;
	double g = e->ratio_hint * aim;
	int probe = 0;

	if (e->scratch_cap < scap) {
		uint8_t *s = realloc(e->scratch, scap);

		if (!s)
			return es_fail(err, -ENOMEM, "out of memory");
		e->scratch = s;
		e->scratch_cap = scap;
	}
	if (e->fit_probe) {
		int in = srclen > INT32_MAX ? INT32_MAX : (int)srclen;

		if (LZ4_compress_destSize((const char *)src, (char *)e->scratch, &in,
					  (int)dstcap) > 0 && in > 0) {
			probe = in;
			if (e->probe_hint > 0)
				g = e->probe_hint * in;
		}
	}
	for (unsigned int attempt = 0; attempt < SEARCH_MAX_ATTEMPTS; attempt++) {
		size_t guess = g < 1.0 ? 1 : g >= (double)srclen ? srclen : (size_t)g;
		size_t n;

		if (guess >= hi)
			guess = hi - 1 - (hi - 1 - lo) / 8;
		if (guess <= lo)
			guess = lo + 1;
		n = compress_once(e, src, guess, e->scratch, scap);
		if (n && n <= dstcap && e->scratch[0]) {
			memcpy(dst, e->scratch, n);
			lo = guess;
			lo_out = n;
			if (lo == srclen || n + e->fit_close >= dstcap ||
			    (hi <= srclen && hi - lo <= e->fit_step))
				break;
		} else {
			hi = guess;
			hi_out = n > dstcap ? n : 0;
			if (hi - lo <= e->fit_step || hi <= min_take)
				break;
		}
		if (lo_out && hi_out)
			g = (double)lo + (double)(hi - lo) * (aim - (double)lo_out) /
			    (double)(hi_out - lo_out);
		else if (hi_out)
			g = (double)hi * aim / (double)hi_out;
		else if (lo_out)
			g = (double)lo * aim / (double)lo_out;
		else
			g = (double)lo + (double)(hi - lo) / 2;
	}
	*consumed = lo;
	*outlen = lo_out;
	if (lo && lo_out) {
		e->ratio_hint = (double)lo / (double)lo_out;
		/* an extent the input's end cut short says nothing of LZ4's */
		if (probe && lo < srclen && (size_t)probe < srclen)
			e->probe_hint = (double)lo / (double)probe * (aim / (double)lo_out);
	}
	return 0;
}

/*
 * Whether LZ4's fast pass fits more than min_take bytes of src into dstcap
 * bytes, from the first min_take + 64 bytes only: a few microseconds,
 * where LZ4HC's one-byte steps through data without matches take a
 * hundred or more per block.  Where LZ4 does not, LZ4HC at any level
 * seldom does either, and then by a few bytes (DECISIONS.md: the minbase
 * image keeps its size).  dst is the scratch.
 */
static bool lz4_fits_more(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstcap,
			  size_t min_take)
{
	int in = srclen < min_take + 64 ? (int)srclen : (int)(min_take + 64);

	return LZ4_compress_destSize((const char *)src, (char *)dst, &in, (int)dstcap) > 0 &&
	       (size_t)in > min_take;
}

int wz_compress_fit(struct wz_encoder *e, const uint8_t *src, size_t srclen,
		    uint8_t *dst, size_t dstcap, size_t min_take, size_t *consumed,
		    size_t *outlen, struct es_err *err)
{
	int in = srclen > INT32_MAX ? INT32_MAX : (int)srclen;
	int n;

	*consumed = 0;
	*outlen = 0;
	if (!srclen || !dstcap)
		return 0;
	switch (e->kind) {
	case ES_COMPR_LZ4:
		n = LZ4_compress_destSize((const char *)src, (char *)dst, &in, (int)dstcap);
		break;
	case ES_COMPR_LZ4HC:
		/* a one-block pcluster saves a block only when more than a
		   block fits: where already-compressed data (.gz files, images)
		   may be, at a segment's start and after a fit that saved
		   nothing (such data comes in runs), the cheap test goes first;
		   on every block it would cost more than it saves */
		if (e->hc_pretest && dstcap <= min_take &&
		    !lz4_fits_more(src, srclen, dst, dstcap, min_take))
			return 0;
		/* LZ4_compress_HC_destSize clears the stream's 256 KiB of tables
		   on every call, one per pcluster; a fast reset instead moves
		   the indexes past the old entries (more than a window below the
		   new input, so never matched): the same output, each call
		   independent of the last */
		LZ4_resetStreamHC_fast(e->lz4hc, e->level);
		n = LZ4_compress_HC_continue_destSize(e->lz4hc, (const char *)src, (char *)dst,
						      &in, (int)dstcap);
		break;
	default:
		return search_fit(e, src, srclen, dst, dstcap, min_take, consumed, outlen, err);
	}
	if (e->kind == ES_COMPR_LZ4HC)
		e->hc_pretest = n <= 0 || (size_t)in <= min_take;
	if (n <= 0 || in <= 0 || !dst[0])
		return 0;
	*consumed = (size_t)in;
	*outlen = (size_t)n;
	return 0;
}
