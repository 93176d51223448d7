// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Compressed regular files (docs/FORMAT.md §6).  A file is cut into
 * extents, each the longest prefix of what remains that the compressor
 * fits into one pcluster (at most -C bytes); an extent that would not
 * save a block is stored raw, one block long.  Pclusters are right-aligned
 * in their blocks (zero padding), known by the SHA-256 of their stored
 * blocks, and stored once: identical pclusters anywhere in the image are
 * one copy.  Encrypted builds encrypt a pcluster like a chunk whose
 * plaintext is its stored blocks.
 *
 * The inode is COMPRESSED_FULL: one 8-byte index per 4 KiB lcluster, each
 * head with its own block address, so pclusters may be shared and placed
 * anywhere.  A file whose pclusters and indexes would not take fewer bytes
 * than it does uncompressed (inline tail included) is left to the
 * ordinary path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/sha256.h"
#include "io.h"
#include "wtree.h"
#include "zenc.h"

/* A file's extents are kept in memory until it is known to shrink; past
 * this many bytes of pclusters they are written and the file is committed
 * to being compressed (its raw extents cost nothing more than flat data). */
#define PENDING_MAX (8u << 20)

struct zextent {
	uint64_t la;			/* first byte in the file */
	uint32_t len;			/* decoded bytes */
	uint32_t pblocks;
	uint32_t pblk;			/* once written */
	bool raw;
	bool written;
	uint64_t pending_off;		/* its stored bytes in pending, until written */
};

struct wzfile {
	struct zextent *ext;
	size_t next, cap;
	size_t first_unwritten;
	uint8_t *pending;		/* stored blocks of unwritten pclusters */
	size_t pending_len, pending_cap;
	uint8_t *in;			/* a window of the file */
	size_t in_cap;
	uint8_t *out;			/* one pcluster */
	uint64_t pblocks_total;
	uint64_t owned;			/* blocks written for this file */
};

/* The most input one extent takes: the kernel decodes at most 12 MiB. */
static size_t extent_max_input(const struct wbuild *b)
{
	size_t m = (size_t)b->pcluster_max * 4;

	return m < (1u << 20) ? (1u << 20) : m;
}

int wb_compress_init(struct wbuild *b)
{
	const struct es_build_opts *o = b->opts;
	struct wzfile *z;
	int ret;

	if (o->compress == ES_COMPR_NONE)
		return 0;
	b->pcluster_max = o->max_pcluster ? o->max_pcluster : b->blksz;
	b->big_pclusters = b->pcluster_max > b->blksz;
	ret = wz_encoder_new(o->compress, o->compress_level, &b->zenc, b->err);
	if (ret)
		return ret;
	z = calloc(1, sizeof(*z));
	if (!z)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->zfile = z;
	z->in_cap = extent_max_input(b) * 2;
	z->in = malloc(z->in_cap);
	z->out = malloc(b->pcluster_max);
	if (!z->in || !z->out)
		return es_fail(b->err, -ENOMEM, "out of memory for compression buffers");
	return 0;
}

void wb_compress_free(struct wbuild *b)
{
	struct wzfile *z = b->zfile;

	wz_encoder_free(b->zenc);
	b->zenc = NULL;
	if (!z)
		return;
	/* plaintext of an encrypted image's files */
	if (b->opts->encrypt) {
		if (z->pending)
			es_crypto_wipe(z->pending, z->pending_cap);
		es_crypto_wipe(z->in, z->in_cap);
		es_crypto_wipe(z->out, b->pcluster_max);
	}
	free(z->ext);
	free(z->pending);
	free(z->in);
	free(z->out);
	free(z);
	b->zfile = NULL;
}

static int add_extent(struct wbuild *b, struct wzfile *z, uint64_t la, uint32_t len,
		      bool raw, const uint8_t *data, size_t datalen, uint32_t pblocks)
{
	size_t stored = (size_t)pblocks << b->blkszbits;
	struct zextent *e;

	if (z->next == z->cap) {
		size_t ncap = z->cap ? z->cap * 2 : 256;
		struct zextent *ne = realloc(z->ext, ncap * sizeof(*ne));

		if (!ne)
			return es_fail(b->err, -ENOMEM, "out of memory");
		z->ext = ne;
		z->cap = ncap;
	}
	if (z->pending_len + stored > z->pending_cap) {
		size_t ncap = z->pending_cap ? z->pending_cap : (1u << 20);
		uint8_t *np;

		while (ncap < z->pending_len + stored)
			ncap *= 2;
		np = realloc(z->pending, ncap);
		if (!np)
			return es_fail(b->err, -ENOMEM, "out of memory");
		z->pending = np;
		z->pending_cap = ncap;
	}
	e = &z->ext[z->next++];
	*e = (struct zextent){ .la = la, .len = len, .pblocks = pblocks, .raw = raw,
			       .pending_off = z->pending_len };
	/* raw: the bytes from the block's start; compressed: right-aligned */
	memset(z->pending + z->pending_len, 0, stored);
	memcpy(z->pending + z->pending_len + (raw ? 0 : stored - datalen), data, datalen);
	z->pending_len += stored;
	z->pblocks_total += pblocks;
	return 0;
}

/* Store the pending pclusters: each once in the image (dedup by content). */
static int write_pending(struct wbuild *b, struct wzfile *z, const char *what)
{
	for (size_t i = z->first_unwritten; i < z->next; i++) {
		struct zextent *e = &z->ext[i];
		size_t stored = (size_t)e->pblocks << b->blkszbits;
		uint8_t *buf = z->pending + e->pending_off;
		uint8_t digest[32], key[32];
		bool found = false;
		uint32_t blkaddr = (uint32_t)b->data_next;
		uint16_t dev = 0;
		int ret;

		if (b->data_next + e->pblocks > UINT32_MAX)
			return es_fail(b->err, -EFBIG, "%s: the image would exceed 2^32 blocks",
				       ES_PATH(what));
		ret = es_sha256(buf, stored, digest);
		if (ret)
			return es_fail(b->err, ret, "SHA-256 failed");
		if (b->crypt) {
			ret = wb_crypt_chunk_id(b, digest, stored, key);
			if (ret)
				return ret;
		} else {
			memcpy(key, digest, sizeof(key));
		}
		ret = wb_dedup_insert(b->dedup, key, e->pblocks, (uint32_t)stored, &dev, &blkaddr,
				      true, &found, NULL);
		if (ret)
			return es_fail(b->err, ret, "out of memory");
		if (dev)
			return es_fail(b->err, -EINVAL, "%s: internal error: a pcluster's copy "
				       "is on device %u", ES_PATH(what), dev);
		b->stats->pclusters++;
		if (found) {
			b->stats->pclusters_deduped++;
		} else {
			if (b->crypt) {
				ret = wb_crypt_chunk(b, digest, stored, buf, e->pblocks,
						     wb_dedup_secret(b->dedup, key, e->pblocks));
				if (ret)
					return ret;
			}
			ret = es_pwrite_full(b->image_fd, buf, stored,
					     b->data_next << b->blkszbits);
			if (ret)
				return es_fail(b->err, ret, "writing the image: %s",
					       strerror(-ret));
			b->data_next += e->pblocks;
			z->owned += e->pblocks;
			b->stats->pclusters_stored++;
			b->stats->pcluster_blocks += e->pblocks;
			b->stats->stored_data_bytes += stored;
		}
		e->pblk = blkaddr;
		e->written = true;
	}
	z->first_unwritten = z->next;
	z->pending_len = 0;
	return 0;
}

/* The full lcluster indexes of the file's extents (FORMAT.md §6). */
static int build_indexes(struct wbuild *b, struct wnode *n, struct wzfile *z)
{
	const unsigned int lbits = b->blkszbits;
	const uint64_t mask = b->blksz - 1;
	uint64_t nl = (n->size + mask) >> lbits;
	uint8_t *t = calloc(nl, EROFS_FULL_INDEX_SIZE);

	if (!t)
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < z->next; i++) {
		const struct zextent *e = &z->ext[i];
		uint64_t h = e->la >> lbits, k = (e->la + e->len) >> lbits;
		uint8_t *head = t + h * EROFS_FULL_INDEX_SIZE;

		es_put16(head + ZI_ADVISE, e->raw ? EROFS_LCLUSTER_PLAIN : EROFS_LCLUSTER_HEAD1);
		es_put16(head + ZI_CLUSTEROFS, (uint16_t)(e->la & mask));
		es_put32(head + ZI_BLKADDR, e->pblk);
		for (uint64_t j = h + 1; j < k && j < nl; j++) {
			uint8_t *ent = t + j * EROFS_FULL_INDEX_SIZE;
			uint64_t d0 = j - h;

			if (b->big_pclusters && j == h + 1 && !e->raw)
				d0 = EROFS_LI_D0_CBLKCNT | e->pblocks;
			else if (d0 >= EROFS_LI_D0_CBLKCNT)
				d0 = EROFS_LI_D0_CBLKCNT - 1;	/* readers walk back again */
			es_put16(ent + ZI_ADVISE, EROFS_LCLUSTER_NONHEAD);
			es_put16(ent + ZI_DELTA0, (uint16_t)d0);
			es_put16(ent + ZI_DELTA1, (uint16_t)(k - j < 0xffff ? k - j : 0xffff));
		}
	}
	/* the last extent started before the last lcluster: a PLAIN entry there
	   says the next extent would start at the end of the file */
	if (z->next && (n->size & mask) && z->ext[z->next - 1].la >> lbits != nl - 1) {
		uint8_t *ent = t + (nl - 1) * EROFS_FULL_INDEX_SIZE;

		es_put16(ent + ZI_ADVISE, EROFS_LCLUSTER_PLAIN);
		es_put16(ent + ZI_CLUSTEROFS, (uint16_t)(n->size & mask));
		es_put32(ent + ZI_BLKADDR, 0);
	}
	free(n->chunk_table);
	n->chunk_table = t;
	n->nchunks = nl;
	return 0;
}

uint64_t wb_zmap_size(const struct wnode *n)
{
	return EROFS_FULL_INDEX_START + n->nchunks * EROFS_FULL_INDEX_SIZE;
}

void wb_zmap_encode(const struct wbuild *b, const struct wnode *n, uint8_t *out)
{
	memset(out, 0, EROFS_FULL_INDEX_START);
	es_put16(out + ZH_ADVISE, b->big_pclusters ? EROFS_ZADVISE_BIG_PCLUSTER_1 : 0);
	out[ZH_ALGORITHMTYPE] = (uint8_t)wz_algorithm(b->opts->compress);
	out[ZH_CLUSTERBITS] = 0;	/* lcluster = block */
	memcpy(out + EROFS_FULL_INDEX_START, n->chunk_table,
	       n->nchunks * EROFS_FULL_INDEX_SIZE);
}

void wb_zmap_remap(struct wnode *n, uint32_t base, const uint32_t *remap)
{
	for (uint64_t j = 0; j < n->nchunks; j++) {
		uint8_t *ent = n->chunk_table + j * EROFS_FULL_INDEX_SIZE;
		unsigned int type = es_get16(ent + ZI_ADVISE) & EROFS_LCLUSTER_TYPE_MASK;
		uint32_t blk = es_get32(ent + ZI_BLKADDR);

		/* block 0 is the end-of-file marker's, never a pcluster's */
		if (type != EROFS_LCLUSTER_NONHEAD && blk >= base)
			es_put32(ent + ZI_BLKADDR, remap[blk - base]);
	}
}

int wb_ingest_compressed(struct wbuild *b, struct wnode *n, struct wsource *source,
			 const char *what, bool *stored)
{
	struct wzfile *z = b->zfile;
	const uint64_t size = n->size;
	const uint32_t blksz = b->blksz;
	const size_t max_in = extent_max_input(b);
	uint64_t win_off = 0, win_len = 0, pos = 0;
	uint64_t plain_bytes, zbytes;
	uint32_t tail;
	int ret = 0;

	*stored = false;
	z->next = z->first_unwritten = 0;
	z->pending_len = 0;
	z->pblocks_total = 0;
	z->owned = 0;
	while (pos < size) {
		uint64_t avail = size - pos < max_in ? size - pos : max_in;
		size_t consumed = 0, clen = 0;
		const uint8_t *src;

		ret = wb_poll_cancel(b);
		if (ret)
			return ret;
		if (pos + avail > win_off + win_len) {
			win_off = pos;
			win_len = size - pos < z->in_cap ? size - pos : z->in_cap;
			ret = wb_read_exact(b, source, z->in, (size_t)win_len, win_off, what);
			if (ret)
				return ret;
		}
		src = z->in + (pos - win_off);
		ret = wz_compress_fit(b->zenc, src, (size_t)avail, z->out, b->pcluster_max,
				      avail < blksz ? (size_t)avail : blksz, &consumed, &clen,
				      b->err);
		if (ret)
			return ret;
		if (consumed && (consumed >= blksz || consumed == size - pos)) {
			uint32_t pblocks = (uint32_t)((clen + blksz - 1) >> b->blkszbits);

			if (pblocks < (consumed + blksz - 1) >> b->blkszbits) {
				ret = add_extent(b, z, pos, (uint32_t)consumed, false, z->out, clen,
						 pblocks);
				if (ret)
					return ret;
				pos += consumed;
				goto next;
			}
		}
		{
			uint32_t len = size - pos < blksz ? (uint32_t)(size - pos) : blksz;

			ret = add_extent(b, z, pos, len, true, src, len, 1);
			if (ret)
				return ret;
			pos += len;
		}
next:
		/* a stream keeps what it may be asked again only up to a bound:
		   a file that far in and still pending has shrunk already */
		if (z->pending_len >= PENDING_MAX ||
		    (source->rewind_to != UINT64_MAX && pos >= WB_STREAM_REWIND_MAX)) {
			ret = write_pending(b, z, what);
			if (ret)
				return ret;
			source->rewind_to = UINT64_MAX;
		}
	}
	/* bytes the ordinary path would take (an inline tail is metadata, but
	   bytes all the same) against the pclusters and their indexes */
	tail = (uint32_t)(size & (blksz - 1));
	if (!b->crypt && !b->chunksize && wb_tail_fits_inline(b, n, tail))
		plain_bytes = (size >> b->blkszbits << b->blkszbits) + tail;
	else
		plain_bytes = (size + blksz - 1) >> b->blkszbits << b->blkszbits;
	zbytes = (z->pblocks_total << b->blkszbits) + EROFS_FULL_INDEX_START +
		 ((size + blksz - 1) >> b->blkszbits) * EROFS_FULL_INDEX_SIZE;
	if (!z->first_unwritten && zbytes >= plain_bytes)
		return 0;	/* nothing written yet: the caller stores it */
	ret = write_pending(b, z, what);
	if (!ret)
		ret = build_indexes(b, n, z);
	if (ret)
		return ret;
	n->layout = EROFS_LAYOUT_COMPRESSED_FULL;
	n->zblocks = (uint32_t)z->owned;
	b->uses_compression = true;
	b->stats->compressed_files++;
	b->stats->compressed_logical += size;
	*stored = true;
	return 0;
}
