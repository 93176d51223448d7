/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Hosted decompressors for the reader's transform stage (lib/decode.c):
 * LZ4, MicroLZMA, DEFLATE and zstd, output bounded by the extent.
 */
#ifndef EROFS_DECODE_H
#define EROFS_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/image.h"

/* A decoder with its own work area; free with es_decoder_free(). */
int es_decoder_new(struct es_decoder **out, struct es_err *err);
void es_decoder_free(struct es_decoder *d);

/*
 * Decode one stream (a pcluster's bytes, leading zero padding removed) of
 * algorithm alg (enum es_compr_alg) into out[0, outlen): *produced bytes.
 * A stream that is malformed or would produce more than outlen fails with
 * -ES_ECORRUPT.  For a writer checking what it wrote, or a test.
 */
int es_decode(struct es_decoder *d, unsigned int alg, const uint8_t *in, size_t inlen,
	      uint8_t *out, size_t outlen, size_t *produced, struct es_err *err);

#endif
