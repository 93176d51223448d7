// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* File data: mapping logical ranges to device bytes, and reading them. */
#include <errno.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/image.h"

void es_resolve_blkaddr(const struct es_image *img, uint64_t blkaddr,
			unsigned int *dev, uint64_t *blk)
{
	*dev = 0;
	*blk = blkaddr;
	/* with no blob given, an address inside the filesystem is its own;
	   one past it is still a blob's, so that a read names the missing
	   blob instead of calling the image corrupt */
	if (!img->explicit_devices && blkaddr < img->devices[0].table_blocks)
		return;
	for (unsigned int i = 1; i < img->ndevices; i++) {
		const struct es_device *d = &img->devices[i];

		if (d->uniaddr && blkaddr >= d->uniaddr &&
		    blkaddr < (uint64_t)d->uniaddr + d->table_blocks) {
			*dev = i;
			*blk = blkaddr - d->uniaddr;
			return;
		}
	}
}

static int map_chunk(const struct es_image *img, const struct es_inode *ino,
		     uint64_t off, struct es_extent *ext, struct es_err *err)
{
	const unsigned int blkszbits = img->sb.blkszbits;
	uint64_t chunk = off >> ino->chunkbits;
	uint64_t chunksize = 1ull << ino->chunkbits;
	uint64_t remaining = ino->size - (chunk << ino->chunkbits);
	uint8_t entry[EROFS_CHUNK_INDEX_SIZE];
	uint64_t blk;
	unsigned int dev;
	int ret;

	ext->chunk = chunk;
	ext->lstart = chunk << ino->chunkbits;
	ext->llen = remaining < chunksize ? remaining : chunksize;
	if (ino->chunk_indexes) {
		ret = es_meta_read(img, ino->chunk_table_pos + chunk * EROFS_CHUNK_INDEX_SIZE,
				   entry, EROFS_CHUNK_INDEX_SIZE, err);
		if (ret)
			return ret;
		blk = es_get32(entry + CI_STARTBLK_LO);
		dev = es_get16(entry + CI_DEVICE_ID);
		if (blk == EROFS_NULL_ADDR)
			return 0;	/* a hole */
		if (dev >= img->ndevices)
			return es_fail(err, -ES_ECORRUPT,
				       "chunk %llu refers to device %u but the image has %u "
				       "extra devices", (unsigned long long)chunk, dev,
				       img->ndevices - 1);
		if (dev == 0)
			es_resolve_blkaddr(img, blk, &dev, &blk);
	} else {
		ret = es_meta_read(img, ino->chunk_table_pos + chunk * EROFS_BLOCKMAP_ENTRY_SIZE,
				   entry, EROFS_BLOCKMAP_ENTRY_SIZE, err);
		if (ret)
			return ret;
		blk = es_get32(entry);
		if (blk == EROFS_NULL_ADDR)
			return 0;	/* a hole */
		es_resolve_blkaddr(img, blk, &dev, &blk);
	}
	ext->flags = ES_EXTENT_MAPPED;
	ext->device = dev;
	ext->pstart = blk << blkszbits;
	ext->plen = es_round_up(ext->llen, 1u << blkszbits);
	if (img->devices[dev].present &&
	    (ext->pstart > img->devices[dev].size ||
	     ext->plen > img->devices[dev].size - ext->pstart))
		return es_fail(err, -ES_ECORRUPT,
			       "chunk %llu (blocks %llu..%llu) points past the end of "
			       "device %u (%llu blocks)", (unsigned long long)chunk,
			       (unsigned long long)blk,
			       (unsigned long long)(blk + (ext->plen >> blkszbits) - 1),
			       dev, (unsigned long long)(img->devices[dev].size >> blkszbits));
	return 0;
}

int es_map(const struct es_image *img, const struct es_inode *ino,
	   uint64_t off, struct es_extent *ext, struct es_err *err)
{
	const unsigned int blkszbits = img->sb.blkszbits;
	int ret;

	memset(ext, 0, sizeof(*ext));
	if (off >= ino->size)
		return es_fail(err, -EINVAL, "nid %llu: offset %llu is past the end "
			       "of the file", (unsigned long long)ino->nid,
			       (unsigned long long)off);
	switch (ino->layout) {
	case EROFS_LAYOUT_FLAT_PLAIN:
	case EROFS_LAYOUT_FLAT_INLINE: {
		uint64_t body = ino->nblocks << blkszbits;

		if (off < body) {
			ext->flags = ES_EXTENT_MAPPED;
			ext->lstart = 0;
			ext->llen = body < ino->size ? body : ino->size;
			ext->pstart = (uint64_t)ino->startblk << blkszbits;
			ext->plen = body;
			/* in encrypted images only metadata-like data is flat:
			   symlink targets and directory blocks */
			if (es_image_encrypted(img)) {
				ext->flags |= ES_EXTENT_ENCRYPTED;
				ext->algorithm = ES_ALG_XTS_META;
			}
		} else {
			ext->lstart = body;
			ext->llen = ino->tail_len;
			ext->flags = ES_EXTENT_MAPPED | ES_EXTENT_INLINE;
			ext->pstart = ino->tail_pos;
			ext->plen = ino->tail_len;
		}
		return 0;
	}
	case EROFS_LAYOUT_CHUNK_BASED:
		ret = map_chunk(img, ino, off, ext, err);
		if (ret)
			es_err_prefix(err, "nid %llu: ", (unsigned long long)ino->nid);
		else if (es_image_encrypted(img) && (ext->flags & ES_EXTENT_MAPPED)) {
			ext->flags |= ES_EXTENT_ENCRYPTED;
			ext->algorithm = ES_ALG_XTS_CHUNK;
		}
		return ret;
#ifndef ES_NO_COMPRESSION
	case EROFS_LAYOUT_COMPRESSED_FULL:
	case EROFS_LAYOUT_COMPRESSED_COMPACT:
		ret = es_zmap(img, ino, off, ext, err);
		if (ret)
			es_err_prefix(err, "nid %llu: ", (unsigned long long)ino->nid);
		/* a pcluster of an encrypted image is a chunk (FORMAT.md §7.2):
		   decrypted under its own key, then decoded */
		else if (es_image_encrypted(img) && (ext->flags & ES_EXTENT_MAPPED) &&
			 !(ext->flags & ES_EXTENT_INLINE)) {
			ext->flags |= ES_EXTENT_ENCRYPTED;
			ext->algorithm = ES_ALG_XTS_CHUNK;
		}
		return ret;
#endif
	default:
		return es_fail(err, -EOPNOTSUPP, "nid %llu: unsupported layout",
			       (unsigned long long)ino->nid);
	}
}

/* Fetch: stored bytes [skip, skip + len) of a mapped extent, decrypted. */
static int fetch(const struct es_image *img, const struct es_inode *ino,
		 const struct es_extent *ext, uint64_t skip, void *buf, size_t len,
		 struct es_err *err)
{
	if (ext->flags & ES_EXTENT_ENCRYPTED) {
		if (ext->algorithm != ES_ALG_XTS_CHUNK && ext->algorithm != ES_ALG_XTS_META)
			return es_fail(err, -EOPNOTSUPP, "unknown encryption algorithm %u",
				       ext->algorithm);
		/* a run of chunks (es_map_run) is whole chunks but for the file's
		   last: chunk k starts k chunk sizes after the run; a pcluster is
		   one chunk of its own length */
		unsigned int shift = ino->chunkbits > img->sb.blkszbits ?
				     ino->chunkbits - img->sb.blkszbits : 0;

		if (ino->layout == EROFS_LAYOUT_COMPRESSED_FULL ||
		    ino->layout == EROFS_LAYOUT_COMPRESSED_COMPACT)
			for (shift = 0; (1ull << shift) < ext->plen >> img->sb.blkszbits;)
				shift++;
		return es_dev_read_decrypted(img, ext->device, ext->pstart + skip, buf, len,
					     ext->algorithm == ES_ALG_XTS_CHUNK ?
					     ext->pstart >> img->sb.blkszbits : ES_META_BLOCKS,
					     shift, err);
	}
	/* inline bytes are metadata, decrypted with it in encrypted images */
	if (ext->flags & ES_EXTENT_INLINE)
		return es_meta_read(img, ext->pstart + skip, buf, len, err);
	return es_dev_read(img, ext->device, ext->pstart + skip, buf, len, err);
}

int es_extent_fetch(const struct es_image *img, const struct es_inode *ino,
		    const struct es_extent *ext, uint8_t *stored, struct es_err *err)
{
	if (!(ext->flags & ES_EXTENT_MAPPED))
		return es_fail(err, -EINVAL, "the extent at byte %llu is a hole",
			       (unsigned long long)ext->lstart);
	return fetch(img, ino, ext, 0, stored, (size_t)ext->plen, err);
}

#ifndef ES_NO_COMPRESSION
/* Where a pcluster is, for messages. */
static int fail_at(const struct es_image *img, const struct es_inode *ino,
		   const struct es_extent *ext, int code, const char *what, uint64_t n,
		   struct es_err *err)
{
	if (ext->flags & ES_EXTENT_INLINE)
		return es_fail(err, code, "nid %llu: inline pcluster at byte %llu %s %llu "
			       "bytes, expected %llu", (unsigned long long)ino->nid,
			       (unsigned long long)ext->pstart, what, (unsigned long long)n,
			       (unsigned long long)ext->llen);
	return es_fail(err, code, "nid %llu: pcluster at block %llu%s %s %llu bytes, "
		       "expected %llu", (unsigned long long)ino->nid,
		       (unsigned long long)(ext->pstart >> img->sb.blkszbits),
		       ext->device ? " of a blob" : "", what, (unsigned long long)n,
		       (unsigned long long)ext->llen);
}

int es_extent_decode(const struct es_image *img, const struct es_inode *ino,
		     const struct es_extent *ext, uint8_t *stored, uint8_t *out,
		     struct es_err *err)
{
	const struct es_decoder *d = img->decoder;
	size_t inlen = (size_t)ext->plen, produced = 0, pad = 0;
	bool zero_padded;
	int ret;

	if (ext->codec == ES_CODEC_INTERLACED) {
		/* extent byte t sits at (lstart + t) mod the block size */
		size_t rot = (size_t)(ext->lstart % ext->plen);
		size_t first = ext->llen < ext->plen - rot ? (size_t)ext->llen : (size_t)ext->plen - rot;

		memcpy(out, stored + rot, first);
		memcpy(out + first, stored, (size_t)ext->llen - first);
		return 0;
	}
	if (ext->codec >= EROFS_COMPR_MAX)
		return es_fail(err, -EOPNOTSUPP, "nid %llu: unknown encoding %u",
			       (unsigned long long)ino->nid, ext->codec);
	if (img->decode_refused)
		return es_fail(err, -ES_ECORRUPT, "nid %llu: the extent at byte %llu is not "
			       "decompressed: the image failed its seal check",
			       (unsigned long long)ino->nid, (unsigned long long)ext->lstart);
	if (!d)
		return es_fail(err, -EOPNOTSUPP, "nid %llu: the extent at byte %llu is "
			       "compressed with %s, and this reader has no decompressor",
			       (unsigned long long)ino->nid, (unsigned long long)ext->lstart,
			       es_compr_name(ext->codec));
	/*
	 * Streams end at the end of their pcluster, after leading zeros (all
	 * but legacy LZ4 images); the zeros lie in its first block.
	 */
	zero_padded = ext->codec != EROFS_COMPR_LZ4 ||
		      (img->sb.feature_incompat & EROFS_INCOMPAT_ZERO_PADDING);
	if (zero_padded) {
		size_t limit = inlen < img->sb.blksz ? inlen : img->sb.blksz;

		while (pad < limit && !stored[pad])
			pad++;
		if (pad == limit)
			return fail_at(img, ino, ext, -ES_ECORRUPT, "holds only zeros, no "
				       "stream:", 0, err);
	}
	ret = d->decode(d->ctx, ext->codec, stored + pad, inlen - pad, out, (size_t)ext->llen,
			!zero_padded, &produced, err);
	if (ret) {
		if (ext->flags & ES_EXTENT_INLINE)
			es_err_prefix(err, "nid %llu: inline pcluster at byte %llu (%s): ",
				      (unsigned long long)ino->nid,
				      (unsigned long long)ext->pstart, es_compr_name(ext->codec));
		else
			es_err_prefix(err, "nid %llu: pcluster at block %llu (%s): ",
				      (unsigned long long)ino->nid,
				      (unsigned long long)(ext->pstart >> img->sb.blkszbits),
				      es_compr_name(ext->codec));
		return ret;
	}
	if (produced != ext->llen)
		return fail_at(img, ino, ext, -ES_ECORRUPT, "decodes to", produced, err);
	return 0;
}

static bool cached(const struct es_decode_cache *c, const struct es_extent *ext)
{
	return c->valid && c->device == ext->device && c->pstart == ext->pstart &&
	       c->plen == ext->plen && c->llen == ext->llen && c->codec == ext->codec;
}

/*
 * An encoded extent: fetched and decoded whole into the decoder's work
 * area (kept, so that reading an extent piece by piece decodes it once),
 * then the requested bytes copied out.
 */
static int read_encoded(const struct es_image *img, const struct es_inode *ino,
			const struct es_extent *ext, uint64_t skip, void *buf, size_t len,
			struct es_err *err)
{
	const struct es_decoder *d = img->decoder;
	struct es_decode_cache *c;
	int ret;

	if (ext->codec == ES_CODEC_INTERLACED) {
		/* one block (es_zmap): no work area needed */
		uint8_t stored[ES_MAX_BLKSZ], out[ES_MAX_BLKSZ];

		if (ext->plen > sizeof(stored) || ext->llen > ext->plen)
			return es_fail(err, -ES_ECORRUPT, "nid %llu: bad interlaced extent "
				       "at byte %llu", (unsigned long long)ino->nid,
				       (unsigned long long)ext->lstart);
		ret = es_extent_fetch(img, ino, ext, stored, err);
		if (!ret)
			ret = es_extent_decode(img, ino, ext, stored, out, err);
		if (!ret)
			memcpy(buf, out + skip, len);
		return ret;
	}
	if (!d)
		return es_extent_decode(img, ino, ext, NULL, NULL, err);
	if (ext->plen > EROFS_PCLUSTER_MAX_SIZE || ext->llen > EROFS_EXTENT_MAX_DSIZE)
		return es_fail(err, -EOPNOTSUPP, "nid %llu: extent at byte %llu is too large "
			       "to decode", (unsigned long long)ino->nid,
			       (unsigned long long)ext->lstart);
	c = d->work(d->ctx, (size_t)(ext->plen + ext->llen), err);
	if (!c)
		return err && err->code ? err->code : -ENOMEM;
	if (!cached(c, ext)) {
		c->valid = false;
		ret = es_extent_fetch(img, ino, ext, c->mem, err);
		if (!ret)
			ret = es_extent_decode(img, ino, ext, c->mem, c->mem + ext->plen, err);
		if (ret)
			return ret;
		c->device = ext->device;
		c->codec = ext->codec;
		c->pstart = ext->pstart;
		c->plen = ext->plen;
		c->llen = ext->llen;
		c->valid = true;
	}
	memcpy(buf, c->mem + ext->plen + skip, len);
	return 0;
}

#endif

/*
 * The stages after es_map(): fetch reads the stored bytes; verify would
 * check them against the device's Merkle tree, and transform decrypts and
 * decodes them, for the extents that need it.  Plain extents need neither
 * (their trees are checked whole, by the verifiers, before any file is
 * read), so they are fetched straight into the caller's buffer.
 */
int es_extent_read(const struct es_image *img, const struct es_inode *ino,
		   const struct es_extent *ext, uint64_t skip, void *buf, size_t len,
		   struct es_err *err)
{
	if (skip > ext->llen || len > ext->llen - skip)
		return es_fail(err, -EINVAL, "read past the end of the extent at byte %llu",
			       (unsigned long long)ext->lstart);
	if (!(ext->flags & ES_EXTENT_MAPPED)) {
		memset(buf, 0, len);
		return 0;
	}
	if (ext->flags & ES_EXTENT_ENCODED)
#ifdef ES_NO_COMPRESSION
		return es_fail(err, -EOPNOTSUPP, "nid %llu: an encoded extent, which this "
			       "reader (built without decompression) cannot read",
			       (unsigned long long)ino->nid);
#else
		return read_encoded(img, ino, ext, skip, buf, len, err);
#endif
	return fetch(img, ino, ext, skip, buf, len, err);
}

int es_read(const struct es_image *img, const struct es_inode *ino,
	    uint64_t off, void *buf, size_t len, struct es_err *err)
{
	uint8_t *out = buf;

	if (off > ino->size || len > ino->size - off)
		return es_fail(err, -EINVAL, "nid %llu: read past the end of the file",
			       (unsigned long long)ino->nid);
	while (len) {
		struct es_extent ext;
		uint64_t skip, n;
		int ret = es_map(img, ino, off, &ext, err);

		if (ret)
			return ret;
		skip = off - ext.lstart;
		n = ext.llen - skip;
		if (n > len)
			n = len;
		ret = es_extent_read(img, ino, &ext, skip, out, (size_t)n, err);
		if (ret) {
			es_err_prefix(err, "nid %llu: ", (unsigned long long)ino->nid);
			return ret;
		}
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Decode chunk entry i of a batch into (hole, device, block). */
static void decode_entry(const struct es_image *img, const struct es_inode *ino,
			 const uint8_t *e, bool *hole, unsigned int *dev, uint64_t *blk)
{
	uint32_t lo = ino->chunk_indexes ? es_get32(e + CI_STARTBLK_LO) : es_get32(e);

	*hole = lo == EROFS_NULL_ADDR;
	*dev = ino->chunk_indexes ? es_get16(e + CI_DEVICE_ID) : 0;
	*blk = lo;
	if (!*hole && *dev == 0)
		es_resolve_blkaddr(img, lo, dev, blk);
}

int es_map_run(const struct es_image *img, const struct es_inode *ino,
	       uint64_t off, uint64_t max_len, struct es_extent *ext, struct es_err *err)
{
	enum { BATCH = 256 };
	uint8_t entries[BATCH * EROFS_CHUNK_INDEX_SIZE];
	unsigned int unit;
	uint64_t next, count;
	bool hole_run;		/* the run is of holes */
	int ret = es_map(img, ino, off, ext, err);

	if (ret || ino->layout != EROFS_LAYOUT_CHUNK_BASED)
		return ret;
	hole_run = !(ext->flags & ES_EXTENT_MAPPED);
	unit = ino->chunk_indexes ? EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCKMAP_ENTRY_SIZE;
	next = ext->chunk + 1;
	count = ino->nchunks - next < BATCH ? ino->nchunks - next : BATCH;
	if (!count || ext->llen >= max_len)
		return 0;
	ret = es_meta_read(img, ino->chunk_table_pos + next * unit, entries,
			   (size_t)count * unit, err);
	if (ret)
		return ret;
	for (uint64_t i = 0; i < count && ext->llen < max_len; i++) {
		uint64_t lstart = ext->lstart + ext->llen;
		uint64_t chunk_len = 1ull << ino->chunkbits;
		bool hole;
		unsigned int dev;
		uint64_t blk;

		decode_entry(img, ino, entries + i * unit, &hole, &dev, &blk);
		if (hole != hole_run || (!hole && (dev != ext->device ||
		    blk << img->sb.blkszbits != ext->pstart + ext->llen)))
			break;
		if (ino->size - lstart < chunk_len)
			chunk_len = ino->size - lstart;
		ext->llen += chunk_len;
	}
	if (!hole_run) {
		const struct es_device *d = &img->devices[ext->device];

		ext->plen = es_round_up(ext->llen, 1u << img->sb.blkszbits);
		if (d->present && (ext->pstart > d->size || ext->plen > d->size - ext->pstart))
			return es_fail(err, -ES_ECORRUPT, "nid %llu: chunks from %llu point "
				       "past the end of device %u",
				       (unsigned long long)ino->nid,
				       (unsigned long long)ext->chunk, ext->device);
	}
	return 0;
}
