// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The repack policy of chunk dictionaries (docs/DECISIONS.md, "Repacking
 * dictionary blobs"): a dictionary blob that the new image would read too
 * little of is not worth a device of its own.  The chunks the image uses
 * from it are copied into the new blob, so it drops out of the device
 * table, and a chain of images each built on the previous one keeps few
 * blobs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/format.h"
#include "io.h"
#include "wtree.h"

/* One chunk to copy: from a dictionary blob into the new blob. */
struct move {
	uint8_t digest[32];		/* the dedup key */
	uint32_t nblocks;
	uint16_t device;		/* provisional id of its dictionary blob */
	uint32_t from, to;		/* blocks on that blob, on the new blob */
};

struct repack_ctx {
	unsigned int blkszbits;
	uint64_t total;			/* bytes of chunks the image references */
	uint64_t *used;			/* ... of them per dictionary blob */
	const bool *repack;		/* per dictionary blob */
	struct move *moves;
	size_t n, cap;
};

static int count_use(void *ctx, const uint8_t digest[32], uint16_t *device,
		     uint32_t blkaddr, uint32_t nblocks, uint32_t length)
{
	struct repack_ctx *rc = ctx;
	uint64_t bytes = (uint64_t)nblocks << rc->blkszbits;

	(void)digest, (void)blkaddr, (void)length;
	rc->total += bytes;
	if (*device >= WDEV_DICT_BASE)
		rc->used[*device - WDEV_DICT_BASE] += bytes;
	return 0;
}

static int collect_move(void *ctx, const uint8_t digest[32], uint16_t *device,
			uint32_t blkaddr, uint32_t nblocks, uint32_t length)
{
	struct repack_ctx *rc = ctx;
	struct move *m;

	(void)length;
	if (*device < WDEV_DICT_BASE || !rc->repack[*device - WDEV_DICT_BASE])
		return 0;
	if (rc->n == rc->cap) {
		size_t ncap = rc->cap ? rc->cap * 2 : 256;
		struct move *grown = realloc(rc->moves, ncap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		rc->moves = grown;
		rc->cap = ncap;
	}
	m = &rc->moves[rc->n++];
	memcpy(m->digest, digest, 32);
	m->nblocks = nblocks;
	m->device = *device;
	m->from = blkaddr;
	return 0;
}

static int by_place(const void *a, const void *b)
{
	const struct move *x = a, *y = b;

	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	return (x->from > y->from) - (x->from < y->from);
}

/*
 * Whether a blob that gives the image used bytes is below the threshold:
 * repack_below bytes, or repack_below_bp hundredths of a percent of all
 * the chunk bytes the image references (computed without overflow).
 */
static bool below_threshold(const struct es_build_opts *o, uint64_t used, uint64_t total)
{
	uint64_t limit;

	if (!o->repack_below_bp)
		return used < o->repack_below;
	limit = total / 10000 * o->repack_below_bp +
		total % 10000 * o->repack_below_bp / 10000;
	return used < limit;
}

/* Copy one chunk into the new blob at blob_next, in pieces of the buffer. */
static int copy_chunk(struct wbuild *b, struct move *m)
{
	const uint64_t per = WBUILD_IOBUF_SIZE >> b->blkszbits;
	int ret;

	if (b->blob_next + m->nblocks > UINT32_MAX)
		return es_fail(b->err, -EFBIG, "the new blob would exceed 2^32 blocks");
	m->to = (uint32_t)b->blob_next;
	wb_pipe_leaves_void(b);		/* the blob is hashed when complete */
	for (uint64_t done = 0; done < m->nblocks;) {
		uint64_t n = m->nblocks - done < per ? m->nblocks - done : per;
		size_t len = (size_t)(n << b->blkszbits);

		ret = wb_poll_cancel(b);
		if (!ret)	/* the blocks the dictionary vouched for: checked on read */
			ret = wb_dict_read(b, m->device, m->from + (uint32_t)done, b->iobuf, len);
		if (ret)
			return ret;
		ret = es_pwrite_full(b->blob_fd, b->iobuf, len,
				     (b->blob_next + done) << b->blkszbits);
		if (ret)
			return es_fail(b->err, ret, "writing the blob: %s", strerror(-ret));
		done += n;
	}
	b->blob_next += m->nblocks;
	return 0;
}

/* Every chunk table entry on a repacked blob follows its chunk. */
static void remap_tables(struct wbuild *b, const struct repack_ctx *rc)
{
	for (struct wnode *n = b->all; n; n = n->next_all) {
		if (n->layout != EROFS_LAYOUT_CHUNK_BASED ||
		    !(n->chunkfmt & EROFS_CHUNK_FORMAT_INDEXES))
			continue;
		for (uint64_t c = 0; c < n->nchunks; c++) {
			uint8_t *e = n->chunk_table + c * EROFS_CHUNK_INDEX_SIZE;
			struct move key = { .device = es_get16(e + CI_DEVICE_ID) };
			const struct move *m;

			key.from = es_get32(e + CI_STARTBLK_LO);
			if (key.from == EROFS_NULL_ADDR || key.device < WDEV_DICT_BASE ||
			    !rc->repack[key.device - WDEV_DICT_BASE])
				continue;
			m = bsearch(&key, rc->moves, rc->n, sizeof(*rc->moves), by_place);
			if (!m)
				continue;	/* cannot happen: every use was collected */
			es_put16(e + CI_DEVICE_ID, WDEV_NEW_BLOB);
			es_put32(e + CI_STARTBLK_LO, m->to);
		}
	}
}

int wb_repack(struct wbuild *b)
{
	const struct es_build_opts *o = b->opts;
	struct repack_ctx rc = { .blkszbits = b->blkszbits };
	bool *repack = NULL;
	int ret = 0;

	if ((!o->repack_below && !o->repack_below_bp) || !b->ndict_blobs || b->blob_fd < 0)
		return 0;
	rc.used = calloc(b->ndict_blobs, sizeof(*rc.used));
	repack = calloc(b->ndict_blobs, sizeof(*repack));
	if (!rc.used || !repack) {
		ret = es_fail(b->err, -ENOMEM, "out of memory");
		goto out;
	}
	wb_dedup_foreach(b->dedup, count_use, &rc);
	for (unsigned int k = 0; k < b->ndict_blobs; k++) {
		repack[k] = rc.used[k] && below_threshold(o, rc.used[k], rc.total);
		b->stats->repacked_blobs += repack[k];
	}
	rc.repack = repack;
	ret = wb_dedup_foreach(b->dedup, collect_move, &rc);
	if (ret) {
		ret = es_fail(b->err, ret, "out of memory");
		goto out;
	}
	/* in the order of the old blobs' blocks: the same build gives the
	   same new blob */
	if (rc.n)
		qsort(rc.moves, rc.n, sizeof(*rc.moves), by_place);
	for (size_t i = 0; i < rc.n && !ret; i++) {
		ret = copy_chunk(b, &rc.moves[i]);
		if (ret)
			break;
		wb_dedup_relocate(b->dedup, rc.moves[i].digest, rc.moves[i].nblocks,
				  WDEV_NEW_BLOB, rc.moves[i].to);
		b->stats->repacked_chunks++;
		b->stats->repacked_bytes += (uint64_t)rc.moves[i].nblocks << b->blkszbits;
		b->stats->stored_data_bytes += (uint64_t)rc.moves[i].nblocks << b->blkszbits;
	}
	if (!ret && rc.n)
		remap_tables(b, &rc);
out:
	free(rc.moves);
	free(rc.used);
	free(repack);
	return ret;
}
