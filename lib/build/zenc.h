/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The builder's compressors: fixed-output ("fit") compression as EROFS
 * stores it, a prefix of the input squeezed into at most one pcluster.
 * LZ4 and LZ4HC fit natively (liblz4's destSize calls); DEFLATE
 * (libdeflate) and zstd have no such call, so the prefix is searched for.
 */
#ifndef WB_ZENC_H
#define WB_ZENC_H

#include <stddef.h>
#include <stdint.h>
#include "erofs/build.h"
#include "erofs/err.h"

struct wz_encoder;

/* The window (zstd) an extent's decoder needs at most: 1 MiB, the
 * kernel's limit; its log2 - 10 goes into the config record. */
#define WZ_ZSTD_WINDOWLOG	20
#define WZ_DEFLATE_WINDOWBITS	15
/* LZ4's largest match distance, the window its decoder keeps */
#define WZ_LZ4_MAX_DISTANCE	65535

int wz_encoder_new(enum es_compr_kind kind, int level, struct wz_encoder **out,
		   struct es_err *err);
void wz_encoder_free(struct wz_encoder *e);

/*
 * Compress the longest prefix of src[0..srclen) that this encoder fits in
 * dstcap bytes into dst.  *consumed is the prefix length (0 when not even
 * a little fits), *outlen the compressed length.  A prefix shorter than
 * min_take is of no use to the caller: an encoder that searches stops
 * looking once only such prefixes are left (incompressible data), and
 * LZ4HC into dstcap <= min_take bytes, after a reset or a fit of no more
 * than min_take, reports 0 where LZ4's fast pass fits no more either.
 * The output never starts with a zero byte (EROFS finds the start of
 * right-aligned data by skipping zeros): a stream that would is reported
 * as not fitting.
 */
int wz_compress_fit(struct wz_encoder *e, const uint8_t *src, size_t srclen,
		    uint8_t *dst, size_t dstcap, size_t min_take, size_t *consumed,
		    size_t *outlen, struct es_err *err);

/*
 * Forget what earlier calls taught the encoder (the searched encoders
 * start from the last ratio): after a reset, its output depends only on
 * the calls made since, whoever made the earlier ones.
 */
void wz_encoder_reset(struct wz_encoder *e);

/* The EROFS algorithm id (enum es_compr_alg) of a kind. */
unsigned int wz_algorithm(enum es_compr_kind kind);

#endif
