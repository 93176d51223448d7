// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the chunk map and the device table.  Every regular file and
 * symlink reachable from the root is mapped extent by extent (es_map,
 * es_map_run) and read in pieces at its start, middle and end (es_read).
 * Extra devices the table names are zero-filled memory where small
 * (fuzz_open), so reads through the device table happen too.
 */
#include "harness.h"

#define MAX_EXTENTS	64
#define PIECE		8192

static void read_at(const struct es_image *img, const struct es_inode *ino, uint64_t off,
		    uint8_t *buf)
{
	struct es_err err = { 0 };
	size_t len = PIECE;

	if (off >= ino->size)
		return;
	if (len > ino->size - off)
		len = (size_t)(ino->size - off);
	es_read(img, ino, off, buf, len, &err);
}

static void visit(const struct es_image *img, const struct es_inode *ino, void *ctx)
{
	uint8_t *buf = ctx;
	uint64_t off = 0;

	if (!ES_S_ISREG(ino->mode) && !ES_S_ISLNK(ino->mode) && !ES_S_ISDIR(ino->mode))
		return;
	for (unsigned int i = 0; i < MAX_EXTENTS && off < ino->size; i++) {
		struct es_err err = { 0 };
		struct es_extent ext;

		if (es_map(img, ino, off, &ext, &err))
			break;
		if (ext.llen == 0 || ext.lstart > off || ext.lstart + ext.llen <= off)
			break;	/* es_map_run below sees the same map */
		if (ext.flags & ES_EXTENT_MAPPED) {
			es_err_clear(&err);
			es_extent_read(img, ino, &ext, off - ext.lstart, buf, 1, &err);
		}
		off = ext.lstart + ext.llen;
	}
	if (ino->size) {
		struct es_err err = { 0 };
		struct es_extent ext;

		es_map_run(img, ino, 0, 1u << 20, &ext, &err);
	}
	read_at(img, ino, 0, buf);
	read_at(img, ino, ino->size / 2, buf);
	if (ino->size > PIECE)
		read_at(img, ino, ino->size - PIECE + 1, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	uint8_t *piece = malloc(PIECE);
	struct es_err err = { 0 };
	struct fuzz_img f;

	if (buf && piece) {
		fuzz_fix_super(buf, size);
		if (fuzz_open(&f, buf, size, &err) == 0)
			fuzz_walk(&f.img, visit, piece);
		fuzz_close(&f);
	}
	free(piece);
	free(buf);
	return 0;
}
