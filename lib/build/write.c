// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Serialising the planned metadata: inodes, xattrs, chunk tables, dirs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/format.h"
#include "io.h"
#include "wtree.h"

static uint32_t inode_u(const struct wnode *n)
{
	switch (n->layout) {
	case EROFS_LAYOUT_CHUNK_BASED:
		return n->chunkfmt;
	case EROFS_LAYOUT_FLAT_INLINE:
		return n->nblocks ? n->startblk : EROFS_NULL_ADDR;
	case EROFS_LAYOUT_COMPRESSED_FULL:
		return n->zblocks;
	default:
		if (S_ISCHR(n->mode) || S_ISBLK(n->mode))
			return n->rdev;
		return n->nblocks ? n->startblk : 0;
	}
}

static void encode_inode(const struct wnode *n, uint8_t *p)
{
	uint16_t format = (uint16_t)(n->layout << EROFS_IFMT_LAYOUT_SHIFT);

	es_put16(p + INO_XATTR_ICOUNT, n->xattr_icount);
	es_put16(p + INO_MODE, n->mode);
	if (n->extended) {
		es_put16(p + INO_FORMAT, format | EROFS_IFMT_EXTENDED);
		es_put64(p + INOE_SIZE, n->size);
		es_put32(p + INOE_U, inode_u(n));
		es_put32(p + INOE_INO, n->seq);
		es_put32(p + INOE_UID, n->uid);
		es_put32(p + INOE_GID, n->gid);
		es_put64(p + INOE_MTIME, (uint64_t)n->mtime);
		es_put32(p + INOE_MTIME_NSEC, n->mtime_nsec);
		es_put32(p + INOE_NLINK, n->nlink);
	} else {
		es_put16(p + INO_FORMAT, format);
		es_put16(p + INOC_NLINK, (uint16_t)n->nlink);
		es_put32(p + INOC_SIZE, (uint32_t)n->size);
		es_put32(p + INOC_U, inode_u(n));
		es_put32(p + INOC_INO, n->seq);
		es_put16(p + INOC_UID, (uint16_t)n->uid);
		es_put16(p + INOC_GID, (uint16_t)n->gid);
	}
}

/* Directory contents: full blocks to their place, the tail into meta. */
static int write_directory(struct wbuild *b, struct wnode *n, uint8_t *tail_dst)
{
	uint64_t blocks = (n->size + b->blksz - 1) >> b->blkszbits;
	uint8_t *buf = calloc(blocks, b->blksz);
	int ret;

	if (!buf)
		return es_fail(b->err, -ENOMEM, "out of memory");
	ret = wb_dir_encode(n, b->blksz, buf);
	if (ret) {
		free(buf);
		return es_fail(b->err, ret, "out of memory");
	}
	if (n->nblocks) {
		ret = es_pwrite_full(b->image_fd, buf, n->nblocks << b->blkszbits,
				     (uint64_t)n->startblk << b->blkszbits);
		if (ret)
			es_fail(b->err, ret, "writing the image: %s", strerror(-ret));
	}
	if (!ret && n->tail_inline)
		memcpy(tail_dst, buf + (n->nblocks << b->blkszbits), n->tail_len);
	free(buf);
	return ret;
}

int wb_write_metadata(struct wbuild *b, uint64_t meta_blkaddr, uint64_t meta_len)
{
	uint8_t *meta = calloc(1, meta_len);
	int ret = 0;

	if (!meta)
		return es_fail(b->err, -ENOMEM, "out of memory for %llu bytes of metadata",
			       (unsigned long long)meta_len);
	ret = wb_xattrs_encode_shared(b);
	if (ret)
		goto out;
	if (b->shared_len)
		memcpy(meta, b->shared_area, b->shared_len);
	for (uint64_t i = 0; i < b->nnodes && !ret; i++) {
		struct wnode *n = b->order[i];
		uint8_t *p = meta + n->meta_pos;
		uint32_t isize = n->extended ? EROFS_INODE_EXTENDED_SIZE : EROFS_INODE_COMPACT_SIZE;
		uint8_t *after = p + isize + n->xattr_isize;

		encode_inode(n, p);
		if (n->xattr_isize)
			wb_xattrs_encode(n, p + isize);
		if (n->layout == EROFS_LAYOUT_CHUNK_BASED) {
			unsigned int unit = (n->chunkfmt & EROFS_CHUNK_FORMAT_INDEXES) ?
				EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCKMAP_ENTRY_SIZE;
			uint64_t at = es_round_up(n->meta_pos + isize + n->xattr_isize, unit);

			memcpy(meta + at, n->chunk_table, n->nchunks * unit);
		} else if (n->layout == EROFS_LAYOUT_COMPRESSED_FULL) {
			uint64_t at = es_round_up(n->meta_pos + isize + n->xattr_isize,
						  EROFS_ZMAP_HEADER_ALIGN);

			wb_zmap_encode(b, n, meta + at);
		} else if (S_ISDIR(n->mode)) {
			ret = write_directory(b, n, after);
		} else if (n->tail_inline) {
			memcpy(after, n->tail, n->tail_len);
		}
	}
	if (!ret) {
		ret = es_pwrite_full(b->image_fd, meta, meta_len, meta_blkaddr << b->blkszbits);
		if (ret)
			es_fail(b->err, ret, "writing the image: %s", strerror(-ret));
	}
out:
	free(meta);
	return ret;
}
