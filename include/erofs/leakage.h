/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * What someone without keys learns from images (dump.erofs --leakage):
 * counted from the plain parts only, exactly what a registry sees.
 */
#ifndef EROFS_LEAKAGE_H
#define EROFS_LEAKAGE_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"

struct es_seal;

#define ES_LEAK_MAX_IMAGES	16
#define ES_LEAK_CLASSES		12	/* chunk sizes 1, 2, 3-4, ... 1024+ blocks */

struct es_leak_image {
	bool encrypted;
	uint32_t chunksize;
	unsigned int devices;
	uint64_t fs_bytes;		/* the filesystem region: metadata (and data
					   when there are no blobs) */
	uint64_t blob_bytes;
	uint64_t chunks;		/* distinct chunks the image references */
	uint64_t chunk_blocks;
	uint64_t tail_chunks;		/* shorter than the chunk size: ends of files */
	uint64_t exact_lengths;		/* chunks whose exact byte length is plain */
	uint64_t size_hist[ES_LEAK_CLASSES];	/* chunks by size in blocks */
};

struct es_leakage {
	unsigned int nimages;
	struct es_leak_image images[ES_LEAK_MAX_IMAGES];
	uint64_t distinct_chunks;	/* over all images */
	uint64_t shared_chunks;		/* listed by two images or more */
	uint64_t shared[ES_LEAK_MAX_IMAGES][ES_LEAK_MAX_IMAGES];	/* pairwise */
};

/* From the seals (chunk indexes loaded) of n images. */
int es_leakage(const struct es_seal *const *seals, unsigned int n, struct es_leakage *out,
	       struct es_err *err);

#endif
