/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/* Superblock: decoded form, encoding, validation, checksum. */
#ifndef EROFS_SUPER_H
#define EROFS_SUPER_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"

struct es_super {
	uint32_t checksum;
	uint32_t feature_compat;
	uint32_t feature_incompat;
	unsigned int blkszbits;
	uint32_t blksz;
	uint64_t root_nid;
	uint64_t inos;
	int64_t epoch;
	uint32_t fixed_nsec;
	uint32_t blocks;
	uint32_t meta_blkaddr;
	uint32_t xattr_blkaddr;
	uint8_t uuid[16];
	char volume_name[17];
	uint16_t extra_devices;
	uint16_t devt_slotoff;
	/*
	 * Compression.  Without COMPR_CFGS: compr_algs is LZ4 only, the
	 * LZ4 distance comes from u1, pclusters are one block.  With it:
	 * the u1 bitmap and the config records after the superblock (all
	 * validated on decode, written by es_super_encode).
	 */
	uint16_t compr_algs;		/* bit n: enum es_compr_alg n */
	uint16_t lz4_max_distance;	/* bytes; 0 = 64 KiB */
	uint16_t max_pclusterblks;	/* LZ4 record; >= 1 once decoded */
	uint32_t lzma_dict_size;
	uint8_t deflate_windowbits;
	uint8_t zstd_windowlog;		/* log2(window) - 10 */
};

/* Bytes the compression config records take after the superblock. */
size_t es_super_compr_cfgs_size(const struct es_super *sb);

/* CRC-32C as EROFS uses it: init ~0, no final inversion. */
uint32_t es_crc32c(uint32_t crc, const void *data, size_t len);

/*
 * Decode and validate the superblock from the first block of an image
 * (block0 holds at least EROFS_SUPER_OFFSET + len bytes where len is the
 * checksummed range, i.e. min(file size, 4096)).
 */
int es_super_decode(struct es_super *sb, const uint8_t *block0, size_t len,
		    struct es_err *err);

/*
 * Encode sb into block0 (which must be blksz bytes, zero where unused) and
 * set the checksum over the rest of block 0.  Call after everything else in
 * block 0 has been written.  With COMPR_CFGS the config records are written
 * too, es_super_compr_cfgs_size() bytes from EROFS_COMPR_CFGS_OFFSET: the
 * caller keeps other metadata out of them.
 */
void es_super_encode(const struct es_super *sb, uint8_t *block0);

/* "lz4", "lzma", "deflate", "zstd" for enum es_compr_alg, else "unknown". */
const char *es_compr_name(unsigned int alg);

/* Human-readable list of feature names, for dump. */
void es_super_features(const struct es_super *sb, char *buf, size_t len);

#endif
