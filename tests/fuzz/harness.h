/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the fuzz targets share.  Each target defines LLVMFuzzerTestOneInput()
 * and includes this header once.
 *
 * Checksums the reader verifies before it parses (superblock CRC, seal
 * locator, chunk index digest, key-area header copies) are recomputed on a
 * copy of the input (fuzz_fix_*), so that mutations reach the parsers
 * behind them instead of dying at the checksum.  The copy has exactly the
 * input's size, so ASan sees every overrun.
 *
 * Built with libFuzzer (ES_LIBFUZZER, see tests/fuzz/run.sh) the fuzzer
 * drives the target.  Built without it, main() replays files and corpus
 * folders, or mutates them:
 *
 *   fuzz_X FILE|DIR...                  run every input once
 *   fuzz_X --mutate N SEED FILE|DIR...  and N bit-flipped or truncated
 *                                       mutants of each (xorshift, SEED)
 *
 * so `make check` runs every target briefly and repeatably without clang.
 */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/sha256.h"
#include "erofs/super.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- checksums recomputed on a copy ---------------------------------------- */

static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t *c = malloc(size ? size : 1);

	if (c && size)
		memcpy(c, data, size);
	return c;
}

/* The superblock CRC-32C over [1024, blksz), when the image asks for one. */
static inline void fuzz_fix_super(uint8_t *img, size_t size)
{
	uint8_t *sb = img + EROFS_SUPER_OFFSET;
	static const uint8_t zero[4];
	unsigned int bits;
	size_t range;
	uint32_t crc;

	if (size < EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE ||
	    es_get32(sb + SB_MAGIC) != EROFS_SUPER_MAGIC ||
	    !(es_get32(sb + SB_FEATURE_COMPAT) & EROFS_COMPAT_SB_CHKSUM))
		return;
	bits = sb[SB_BLKSZBITS];
	if (bits < 9 || bits > ES_MAX_BLKSZBITS)
		return;
	range = (1u << bits) > EROFS_SUPER_OFFSET ? (1u << bits) - EROFS_SUPER_OFFSET
						  : (1u << bits);
	if (size < EROFS_SUPER_OFFSET + range)
		return;
	crc = es_crc32c(~0u, sb, SB_CHECKSUM);
	crc = es_crc32c(crc, zero, 4);
	crc = es_crc32c(crc, sb + SB_CHECKSUM + 4, range - SB_CHECKSUM - 4);
	es_put32(sb + SB_CHECKSUM, crc);
}

/*
 * The seal: the chunk index digest in the manifest, then the locator
 * checksum (the manifest itself is only signed, and a signature is not
 * needed to parse it).
 */
static inline void fuzz_fix_seal(uint8_t *img, size_t size)
{
	uint8_t *loc;
	uint64_t mf_off, mf_len, ix_off, ix_len;

	if (size < ES_LOCATOR_SIZE)
		return;
	loc = img + size - ES_LOCATOR_SIZE;
	if (memcmp(loc, LOC_MAGIC, 8))
		return;
	mf_off = es_get64(loc + LOC_SECTIONS);
	mf_len = es_get64(loc + LOC_SECTIONS + 8);
	ix_off = es_get64(loc + LOC_SECTIONS + 3 * 16);
	ix_len = es_get64(loc + LOC_SECTIONS + 3 * 16 + 8);
	if (mf_off < size && mf_len >= MF_DEVICES && mf_len <= size - mf_off &&
	    ix_off < size && ix_len <= size - ix_off)
		es_sha256(img + ix_off, (size_t)ix_len, img + mf_off + MF_CHUNK_INDEX_DIGEST);
	es_sha256(loc, LOC_CHECKSUM, loc + LOC_CHECKSUM);
}

/* ---- an image over memory ---------------------------------------------------- */

#define FUZZ_MAX_DEVS	8
/* extra devices up to this size are given as zeros; larger ones are missing */
#define FUZZ_ZERO_DEV	(1u << 20)

struct fuzz_img {
	struct es_io_mem_dev devs[FUZZ_MAX_DEVS];
	struct es_io_mem mem;
	struct es_io io;
	struct es_image img;
	uint8_t *zeros;
	bool open;
};

/*
 * Open data as device 0 in three steps (as a boot loader does), the extra
 * devices the table names as zero-filled memory where they are small.
 * Returns 0 with f->img usable; close with fuzz_close() either way.
 */
static inline int fuzz_open(struct fuzz_img *f, const uint8_t *data, size_t size,
			    struct es_err *err)
{
	struct es_device *devices;
	int ret;

	memset(f, 0, sizeof(*f));
	f->devs[0].data = data;
	f->devs[0].size = size;
	es_io_mem_init(&f->io, &f->mem, f->devs, 1);
	ret = es_image_read_super(&f->img, &f->io, err);
	if (ret)
		return ret;
	devices = calloc(1u + f->img.sb.extra_devices, sizeof(*devices));
	if (!devices)
		return -ENOMEM;
	f->open = true;
	ret = es_image_read_devices(&f->img, devices, err);
	if (ret)
		return ret;
	f->mem.ndevs = f->img.ndevices < FUZZ_MAX_DEVS ? f->img.ndevices : FUZZ_MAX_DEVS;
	for (unsigned int i = 1; i < f->mem.ndevs; i++) {
		uint64_t want = (uint64_t)devices[i].table_blocks << f->img.sb.blkszbits;

		if (!want || want > FUZZ_ZERO_DEV)
			continue;
		if (!f->zeros && !(f->zeros = calloc(1, FUZZ_ZERO_DEV)))
			return -ENOMEM;
		f->devs[i].data = f->zeros;
		f->devs[i].size = want;
	}
	f->img.io = f->io;
	return es_image_probe_devices(&f->img, err);
}

static inline void fuzz_close(struct fuzz_img *f)
{
	if (f->open)
		free(f->img.devices);
	free(f->zeros);
	f->open = false;
}

/* ---- a bounded walk of the directory graph ---------------------------------- */

#define FUZZ_WALK_MAX	256	/* inodes visited per input */

struct fuzz_walk {
	uint64_t nids[FUZZ_WALK_MAX];
	unsigned int n;
};

static inline int fuzz_walk_collect(void *ctx, const uint8_t *name, unsigned int len,
				    uint64_t nid, unsigned int ftype)
{
	struct fuzz_walk *w = ctx;

	(void)ftype;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (unsigned int i = 0; i < w->n; i++)
		if (w->nids[i] == nid)
			return 0;
	if (w->n == FUZZ_WALK_MAX)
		return 1;
	w->nids[w->n++] = nid;
	return 0;
}

/*
 * Every inode reachable from the root (each once, at most FUZZ_WALK_MAX),
 * in breadth-first order; visit() sees each one that reads.
 */
static inline void fuzz_walk(const struct es_image *img,
			     void (*visit)(const struct es_image *img,
					   const struct es_inode *ino, void *ctx),
			     void *ctx)
{
	struct fuzz_walk *w = calloc(1, sizeof(*w));

	if (!w)
		return;
	w->nids[w->n++] = img->sb.root_nid;
	for (unsigned int i = 0; i < w->n; i++) {
		struct es_err err = { 0 };
		struct es_inode ino;

		if (es_inode_read(img, w->nids[i], &ino, &err))
			continue;
		visit(img, &ino, ctx);
		if (ES_S_ISDIR(ino.mode))
			es_dir_iterate(img, &ino, fuzz_walk_collect, w, &err);
	}
	free(w);
}

#include "driver.h"

#endif
