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

/*
 * The metadata region goes out through a window that moves up in record
 * order, not from one buffer the size of the region: on some hosts each
 * page touched for the first time costs more than writing it.
 */
struct meta_window {
	struct wbuild *b;
	uint64_t at;			/* the region's byte offset in the image */
	uint8_t *buf;			/* zero beyond filled */
	size_t cap;
	uint64_t base;			/* the region offset of buf[0], block-aligned */
	size_t filled;
};

/* Write the window up to cut (block-aligned, at least base); what lies
 * beyond it, less than a block, moves to the front. */
static int window_flush(struct meta_window *w, uint64_t cut)
{
	size_t len = (size_t)(cut - w->base);
	size_t carry = w->filled > len ? w->filled - len : 0;
	int ret = 0;

	if (len)
		ret = es_pwrite_full(w->b->image_fd, w->buf, len, w->at + w->base);
	if (ret)
		return es_fail(w->b->err, ret, "writing the image: %s", strerror(-ret));
	memmove(w->buf, w->buf + len, carry);
	memset(w->buf + carry, 0, w->filled - carry);
	w->base = cut;
	w->filled = carry;
	return 0;
}

static int cmp_meta_pos(const void *x, const void *y)
{
	const struct wnode *a = *(struct wnode *const *)x, *b = *(struct wnode *const *)y;

	return a->meta_pos < b->meta_pos ? -1 : a->meta_pos > b->meta_pos;
}

/* n's record into the window, which holds it. */
static int encode_record(struct meta_window *w, struct wnode *n)
{
	struct wbuild *b = w->b;
	uint8_t *win = w->buf - w->base;	/* indexed by region offset */
	uint8_t *p = win + n->meta_pos;
	uint32_t isize = n->extended ? EROFS_INODE_EXTENDED_SIZE : EROFS_INODE_COMPACT_SIZE;
	uint8_t *after = p + isize + n->xattr_isize;

	encode_inode(n, p);
	if (n->xattr_isize)
		wb_xattrs_encode(n, p + isize);
	if (n->layout == EROFS_LAYOUT_CHUNK_BASED) {
		unsigned int unit = (n->chunkfmt & EROFS_CHUNK_FORMAT_INDEXES) ?
			EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCKMAP_ENTRY_SIZE;
		uint64_t at = es_round_up(n->meta_pos + isize + n->xattr_isize, unit);

		memcpy(win + at, n->chunk_table, n->nchunks * unit);
	} else if (n->layout == EROFS_LAYOUT_COMPRESSED_FULL) {
		uint64_t at = es_round_up(n->meta_pos + isize + n->xattr_isize,
					  EROFS_ZMAP_HEADER_ALIGN);

		wb_zmap_encode(b, n, win + at);
	} else if (S_ISDIR(n->mode)) {
		return write_directory(b, n, after);
	} else if (n->tail_inline) {
		memcpy(after, n->tail, n->tail_len);
	}
	return 0;
}

int wb_write_metadata(struct wbuild *b, uint64_t meta_blkaddr, uint64_t meta_len)
{
	struct meta_window w = { .b = b, .at = meta_blkaddr << b->blkszbits };
	struct wnode **sorted = malloc((b->nnodes ? b->nnodes : 1) * sizeof(*sorted));
	uint64_t largest = 0;
	bool own = false;
	int ret = 0;

	if (!sorted)
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (uint64_t i = 0; i < b->nnodes; i++) {
		uint64_t size = wb_meta_record_size(b->order[i]);

		sorted[i] = b->order[i];
		largest = size > largest ? size : largest;
	}
	qsort(sorted, b->nnodes, sizeof(*sorted), cmp_meta_pos);
	/* room for the largest record, from any offset in a block */
	w.cap = (size_t)es_round_up(largest, b->blksz) + b->blksz;
	if (w.cap <= WBUILD_IOBUF_SIZE + b->blksz) {
		w.cap = WBUILD_IOBUF_SIZE + b->blksz;
		w.buf = b->iobuf;	/* free now, and its pages are there */
	} else {
		w.buf = malloc(w.cap);
		own = true;
	}
	if (!w.buf) {
		free(sorted);
		return es_fail(b->err, -ENOMEM, "out of memory for %zu bytes of metadata",
			       w.cap);
	}
	memset(w.buf, 0, w.cap);
	ret = wb_xattrs_encode_shared(b);
	if (!ret && b->shared_len) {
		/* whole blocks of it straight from its buffer */
		uint64_t whole = b->shared_len >> b->blkszbits << b->blkszbits;

		if (whole)
			ret = es_pwrite_full(b->image_fd, b->shared_area, whole, w.at);
		if (ret)
			ret = es_fail(b->err, ret, "writing the image: %s", strerror(-ret));
		w.base = whole;
		w.filled = (size_t)(b->shared_len - whole);
		memcpy(w.buf, b->shared_area + whole, w.filled);
	}
	for (uint64_t i = 0; i < b->nnodes && !ret; i++) {
		struct wnode *n = sorted[i];
		uint64_t end = n->meta_pos + wb_meta_record_size(n);

		if (es_round_up(end, b->blksz) - w.base > w.cap)
			ret = window_flush(&w, n->meta_pos >> b->blkszbits << b->blkszbits);
		if (!ret)
			ret = encode_record(&w, n);
		if (end - w.base > w.filled)
			w.filled = (size_t)(end - w.base);
	}
	if (!ret) {
		w.filled = (size_t)(meta_len - w.base);	/* zeros up to the end */
		ret = window_flush(&w, meta_len);
	}
	if (own)
		free(w.buf);
	else
		memset(w.buf, 0, w.filled);	/* no metadata left in the shared buffer */
	free(sorted);
	return ret;
}
