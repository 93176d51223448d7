// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Compressed inodes: the map header and the lcluster indexes (full and
 * compact) turned into extents.  Every index field is checked against the
 * inode and the image before it is used: a hostile index yields an error
 * naming the lcluster, never a read outside the index or the image.
 */
#include <errno.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/image.h"

int es_zmap_init(const struct es_image *img, struct es_inode *ino, uint64_t body,
		 struct es_err *err)
{
	const struct es_super *sb = &img->sb;
	const bool compact = ino->layout == EROFS_LAYOUT_COMPRESSED_COMPACT;
	uint8_t h[EROFS_ZMAP_HEADER_SIZE];
	unsigned int zbits;
	uint64_t pos = es_round_up(body, EROFS_ZMAP_HEADER_ALIGN);
	int ret;

	if (!(ES_S_ISREG(ino->mode) || ES_S_ISDIR(ino->mode) || ES_S_ISLNK(ino->mode)))
		return es_fail(err, -ES_ECORRUPT, "special file with a compressed layout");
	ret = es_meta_read(img, pos, h, sizeof(h), err);
	if (ret)
		return ret;
	ino->z_advise = es_get16(h + ZH_ADVISE);
	ino->z_algs[0] = h[ZH_ALGORITHMTYPE] & 0xf;
	ino->z_algs[1] = h[ZH_ALGORITHMTYPE] >> 4;
	zbits = h[ZH_CLUSTERBITS];
	if ((zbits & EROFS_ZCLUSTERBITS_FRAGMENT_INODE) ||
	    (ino->z_advise & EROFS_ZADVISE_FRAGMENT_PCLUSTER))
		return es_fail(err, -EOPNOTSUPP, "the file is stored in fragments of the "
			       "packed inode, which this reader does not support");
	if (ino->z_advise & ~EROFS_ZADVISE_KNOWN)
		return es_fail(err, -EOPNOTSUPP, "unknown compression advise bits 0x%x",
			       ino->z_advise & ~EROFS_ZADVISE_KNOWN);
	if (!compact && (ino->z_advise & EROFS_ZADVISE_COMPACTED_2B))
		return es_fail(err, -EOPNOTSUPP, "encoded extents (48-bit layout) are "
			       "not supported");
	if (zbits & ~(unsigned int)EROFS_ZCLUSTERBITS_MASK)
		return es_fail(err, -ES_ECORRUPT, "reserved cluster bits 0x%x set", zbits);
	if (ino->z_algs[0] >= EROFS_COMPR_MAX || ino->z_algs[1] >= EROFS_COMPR_MAX)
		return es_fail(err, -EOPNOTSUPP, "unknown compression algorithm type 0x%x",
			       h[ZH_ALGORITHMTYPE]);
	if ((ino->z_advise & (EROFS_ZADVISE_BIG_PCLUSTER_1 | EROFS_ZADVISE_BIG_PCLUSTER_2)) &&
	    !(sb->feature_incompat & EROFS_INCOMPAT_BIG_PCLUSTER))
		return es_fail(err, -ES_ECORRUPT, "big pclusters without the superblock "
			       "feature");
	if (compact && !(ino->z_advise & EROFS_ZADVISE_BIG_PCLUSTER_1) !=
		       !(ino->z_advise & EROFS_ZADVISE_BIG_PCLUSTER_2))
		return es_fail(err, -ES_ECORRUPT, "compact index with inconsistent big "
			       "pcluster bits");
	if ((ino->z_advise & EROFS_ZADVISE_INLINE_PCLUSTER) &&
	    !(sb->feature_incompat & EROFS_INCOMPAT_ZTAILPACKING))
		return es_fail(err, -ES_ECORRUPT, "inline pcluster without the "
			       "ztailpacking feature");
	ino->lclusterbits = sb->blkszbits + zbits;
	if (compact && (ino->lclusterbits > EROFS_COMPACT_4B_MAX_LCLUSTERBITS ||
			((ino->z_advise & EROFS_ZADVISE_COMPACTED_2B) &&
			 ino->lclusterbits > EROFS_COMPACT_2B_MAX_LCLUSTERBITS)))
		return es_fail(err, -EOPNOTSUPP, "compact index with lclusters of 2^%u "
			       "bytes", ino->lclusterbits);
	ino->nlclusters = ino->size ? ((ino->size - 1) >> ino->lclusterbits) + 1 : 0;
	ino->zindex_pos = pos + (compact ? EROFS_ZMAP_HEADER_SIZE : EROFS_FULL_INDEX_START);
	if (!compact) {
		ino->zindex_end = ino->zindex_pos + ino->nlclusters * EROFS_FULL_INDEX_SIZE;
	} else {
		uint64_t n = ino->nlclusters, rest;

		ino->z_init4 = (uint32_t)(((32 - ino->zindex_pos % 32) / 4) & 7);
		if (n <= ino->z_init4) {
			ino->z_init4 = (uint32_t)n;
			rest = 0;
		} else {
			rest = n - ino->z_init4;
			if (ino->z_advise & EROFS_ZADVISE_COMPACTED_2B) {
				uint64_t n2b = rest / EROFS_COMPACT_2B_ENTRIES *
					       EROFS_COMPACT_2B_ENTRIES;

				if (n2b > UINT32_MAX)
					return es_fail(err, -ES_ECORRUPT, "file too large for "
						       "a compact index");
				ino->z_n2b = (uint32_t)n2b;
				rest -= n2b;
			}
		}
		/* 4-byte entries come in packs of two */
		ino->zindex_end = ino->zindex_pos + es_round_up(ino->z_init4, 2) * 4 +
				  (uint64_t)ino->z_n2b * 2 + es_round_up(rest, 2) * 4;
	}
	ino->meta_end = ino->zindex_end;
	if (ino->z_advise & EROFS_ZADVISE_INLINE_PCLUSTER) {
		const uint64_t blksz = sb->blksz;

		ino->zinline_pos = ino->zindex_end;
		ino->zinline_size = es_get16(h + ZH_IDATA_SIZE);
		if (!ino->zinline_size || (ino->zinline_pos & (blksz - 1)) +
		    ino->zinline_size > blksz)
			return es_fail(err, -ES_ECORRUPT, "inline pcluster (%u bytes at %llu) "
				       "is empty or crosses a block boundary",
				       ino->zinline_size, (unsigned long long)ino->zinline_pos);
		ino->meta_end += ino->zinline_size;
	}
	return 0;
}

/* One lcluster index entry, decoded. */
struct lcluster {
	unsigned int type;	/* enum es_lcluster_type */
	unsigned int clusterofs;	/* heads */
	uint64_t pblk;		/* heads: first block of the pcluster */
	uint32_t delta0;	/* NONHEAD: lclusters back to the head */
	uint32_t cblks;		/* NONHEAD carrying CBLKCNT: pcluster blocks */
};

/* A window over the index, so that walking it costs few reads. */
struct zindex {
	const struct es_image *img;
	const struct es_inode *ino;
	uint64_t lcn;		/* the lcluster being resolved, for messages */
	uint64_t win_pos;
	size_t win_len;
	uint8_t win[256];
};

static int index_bytes(struct zindex *z, uint64_t pos, size_t len, bool backwards,
		       const uint8_t **p, struct es_err *err)
{
	uint64_t start, end;
	int ret;

	if (pos < z->ino->zindex_pos || pos + len > z->ino->zindex_end)
		return es_fail(err, -ES_ECORRUPT, "index entry at %llu lies outside the "
			       "index", (unsigned long long)pos);
	if (z->win_len && pos >= z->win_pos && pos + len <= z->win_pos + z->win_len) {
		*p = z->win + (pos - z->win_pos);
		return 0;
	}
	/* windows start 32-aligned: no pack straddles one */
	start = pos & ~(uint64_t)31;
	if (backwards && start >= sizeof(z->win) - 32)
		start -= sizeof(z->win) - 32;
	if (start < (z->ino->zindex_pos & ~(uint64_t)31))
		start = z->ino->zindex_pos & ~(uint64_t)31;
	if (start < z->ino->zindex_pos)
		start = z->ino->zindex_pos;
	end = start + sizeof(z->win) < z->ino->zindex_end ? start + sizeof(z->win)
							   : z->ino->zindex_end;
	ret = es_meta_read(z->img, start, z->win, (size_t)(end - start), err);
	if (ret) {
		z->win_len = 0;
		return ret;
	}
	z->win_pos = start;
	z->win_len = (size_t)(end - start);
	*p = z->win + (pos - start);
	return 0;
}

static int load_full(struct zindex *z, uint64_t lcn, bool backwards, struct lcluster *l,
		     struct es_err *err)
{
	const uint8_t *e;
	uint16_t advise;
	int ret = index_bytes(z, z->ino->zindex_pos + lcn * EROFS_FULL_INDEX_SIZE,
			      EROFS_FULL_INDEX_SIZE, backwards, &e, err);

	if (ret)
		return ret;
	memset(l, 0, sizeof(*l));
	advise = es_get16(e + ZI_ADVISE);
	if (advise & EROFS_LI_PARTIAL_REF)
		return es_fail(err, -EOPNOTSUPP, "lcluster %llu: partial reference to a "
			       "deduplicated pcluster, which this reader does not support",
			       (unsigned long long)lcn);
	if (advise & ~EROFS_LI_KNOWN)
		return es_fail(err, -ES_ECORRUPT, "lcluster %llu: unknown index bits 0x%x",
			       (unsigned long long)lcn, advise);
	l->type = advise & EROFS_LCLUSTER_TYPE_MASK;
	if (l->type == EROFS_LCLUSTER_NONHEAD) {
		uint16_t d0 = es_get16(e + ZI_DELTA0);

		if (d0 & EROFS_LI_D0_CBLKCNT) {
			l->cblks = d0 & ~EROFS_LI_D0_CBLKCNT;
			l->delta0 = 1;
			if (!l->cblks)
				return es_fail(err, -ES_ECORRUPT, "lcluster %llu: pcluster "
					       "of 0 blocks", (unsigned long long)lcn);
		} else {
			l->delta0 = d0;
		}
		return 0;
	}
	l->clusterofs = es_get16(e + ZI_CLUSTEROFS);
	l->pblk = es_get32(e + ZI_BLKADDR);
	return 0;
}

/* Slot i of the pack at p: its type and low bits. */
static unsigned int compact_slot(const uint8_t *p, unsigned int bits, unsigned int lobits,
				 int i, unsigned int *type)
{
	unsigned int bit = bits * (unsigned int)i;
	uint32_t v = es_get32(p + bit / 8) >> (bit % 8);

	/* 16- and 14-bit fields: 4 bytes from the field's first byte hold it
	   (the pack's le32 base follows, so the read stays in the pack) */
	v &= (1u << bits) - 1;
	*type = (v >> lobits) & EROFS_LCLUSTER_TYPE_MASK;
	return v & ((1u << lobits) - 1);
}

static int load_compact(struct zindex *z, uint64_t lcn, bool backwards, struct lcluster *l,
			struct es_err *err)
{
	const struct es_inode *ino = z->ino;
	const bool big = ino->z_advise & EROFS_ZADVISE_BIG_PCLUSTER_1;
	unsigned int lobits = ino->lclusterbits > EROFS_COMPACT_MIN_LOBITS ?
			      ino->lclusterbits : EROFS_COMPACT_MIN_LOBITS;
	unsigned int vcnt, bits, psize, type, lo;
	uint64_t pos = ino->zindex_pos, rel = lcn;
	const uint8_t *pack;
	int i, ret;

	if (rel < ino->z_init4) {
		pos += rel * 4;
		vcnt = EROFS_COMPACT_4B_ENTRIES;
	} else {
		pos += (uint64_t)ino->z_init4 * 4;
		rel -= ino->z_init4;
		if (rel < ino->z_n2b) {
			pos += rel * 2;
			vcnt = EROFS_COMPACT_2B_ENTRIES;
		} else {
			pos += (uint64_t)ino->z_n2b * 2 + (rel - ino->z_n2b) * 4;
			vcnt = EROFS_COMPACT_4B_ENTRIES;
		}
	}
	if (vcnt == EROFS_COMPACT_4B_ENTRIES) {
		bits = EROFS_COMPACT_4B_BITS;
		psize = EROFS_COMPACT_4B_PACK;
	} else {
		bits = EROFS_COMPACT_2B_BITS;
		psize = EROFS_COMPACT_2B_PACK;
	}
	ret = index_bytes(z, pos - pos % psize, psize, backwards, &pack, err);
	if (ret)
		return ret;
	memset(l, 0, sizeof(*l));
	i = (int)((pos % psize) / (psize / vcnt));
	lo = compact_slot(pack, bits, lobits, i, &type);
	l->type = type;
	if (type == EROFS_LCLUSTER_NONHEAD) {
		if (lo & EROFS_LI_D0_CBLKCNT) {
			l->cblks = lo & ~EROFS_LI_D0_CBLKCNT;
			l->delta0 = 1;
			if (!big || !l->cblks)
				return es_fail(err, -ES_ECORRUPT, "lcluster %llu: bogus "
					       "pcluster size entry 0x%x",
					       (unsigned long long)lcn, lo);
		} else if (i + 1 != (int)vcnt) {
			l->delta0 = lo;
		} else {
			/* the last slot holds delta[1]: delta[0] follows from the
			   slot before it */
			unsigned int ptype, plo = compact_slot(pack, bits, lobits, i - 1, &ptype);

			if (ptype != EROFS_LCLUSTER_NONHEAD)
				plo = 0;
			else if (plo & EROFS_LI_D0_CBLKCNT)
				plo = 1;
			l->delta0 = plo + 1;
		}
		return 0;
	}
	l->clusterofs = lo;
	/* the pack's base plus the pclusters of the heads before this one */
	{
		uint64_t nblk = big ? 0 : 1;

		while (i > 0) {
			--i;
			lo = compact_slot(pack, bits, lobits, i, &type);
			if (type == EROFS_LCLUSTER_NONHEAD) {
				if (lo & EROFS_LI_D0_CBLKCNT) {
					if (!big)
						return es_fail(err, -ES_ECORRUPT, "lcluster %llu: "
							       "pcluster size entry in an inode "
							       "without big pclusters",
							       (unsigned long long)lcn);
					--i;
					nblk += lo & ~EROFS_LI_D0_CBLKCNT;
					continue;
				}
				if (big) {
					if (lo <= 1)
						return es_fail(err, -ES_ECORRUPT, "lcluster %llu: "
							       "bogus lookback distance %u",
							       (unsigned long long)lcn, lo);
					i -= (int)lo - 2;
					continue;
				}
				i -= (int)lo;
				if (i >= 0)
					++nblk;
				continue;
			}
			++nblk;
		}
		l->pblk = es_get32(pack + psize - 4) + nblk;
	}
	return 0;
}

static int load(struct zindex *z, uint64_t lcn, bool backwards, struct lcluster *l,
		struct es_err *err)
{
	const struct es_inode *ino = z->ino;
	int ret;

	if (lcn >= ino->nlclusters)
		return es_fail(err, -ES_ECORRUPT, "lcluster %llu is past the index "
			       "(%llu entries)", (unsigned long long)lcn,
			       (unsigned long long)ino->nlclusters);
	ret = ino->layout == EROFS_LAYOUT_COMPRESSED_COMPACT ?
	      load_compact(z, lcn, backwards, l, err) : load_full(z, lcn, backwards, l, err);
	if (!ret && l->type != EROFS_LCLUSTER_NONHEAD &&
	    l->clusterofs >= (1u << ino->lclusterbits))
		return es_fail(err, -ES_ECORRUPT, "lcluster %llu: extent offset %u is "
			       "past the lcluster (%u bytes)", (unsigned long long)lcn,
			       l->clusterofs, 1u << ino->lclusterbits);
	return ret;
}

/* The head of the extent that lcluster lcn continues (lcn is NONHEAD or
   starts its own extent after the byte in question). */
static int lookback(struct zindex *z, uint64_t lcn, struct lcluster *l, uint64_t *head,
		    struct es_err *err)
{
	for (;;) {
		int ret = load(z, lcn, true, l, err);
		uint32_t d;

		if (ret)
			return ret;
		if (l->type != EROFS_LCLUSTER_NONHEAD) {
			*head = lcn;
			return 0;
		}
		d = l->delta0;
		if (!d || d > lcn)
			return es_fail(err, -ES_ECORRUPT, "lcluster %llu: looks back %u "
				       "lclusters, before the start of the file",
				       (unsigned long long)lcn, d);
		lcn -= d;
	}
}

int es_zmap(const struct es_image *img, const struct es_inode *ino, uint64_t off,
	    struct es_extent *ext, struct es_err *err)
{
	const unsigned int lbits = ino->lclusterbits;
	const uint64_t lmask = (1ull << lbits) - 1;
	const unsigned int bbits = img->sb.blkszbits;
	struct zindex z = { .img = img, .ino = ino };
	struct lcluster l, hl;
	uint64_t lcn = off >> lbits, head = 0, end = ino->size;
	uint64_t blocks = 1;
	bool big, tail;
	int ret = load(&z, lcn, false, &l, err);

	if (ret)
		return ret;
	if (l.type != EROFS_LCLUSTER_NONHEAD && (off & lmask) >= l.clusterofs) {
		head = lcn;
		hl = l;
	} else {
		if (l.type != EROFS_LCLUSTER_NONHEAD && !lcn)
			return es_fail(err, -ES_ECORRUPT, "lcluster 0: the first extent "
				       "starts at byte %u, not 0", l.clusterofs);
		ret = lookback(&z, l.type == EROFS_LCLUSTER_NONHEAD ? lcn : lcn - 1, &hl,
			       &head, err);
		if (ret)
			return ret;
	}
	ext->lstart = (head << lbits) + hl.clusterofs;
	/* the extent ends where the next one starts, or at the end of file */
	for (uint64_t j = head + 1; j < ino->nlclusters; j++) {
		ret = load(&z, j, false, &l, err);
		if (ret)
			return ret;
		if (l.type == EROFS_LCLUSTER_NONHEAD) {
			if (l.delta0 > j - head || (!l.delta0 && !l.cblks))
				return es_fail(err, -ES_ECORRUPT, "lcluster %llu: looks back %u "
					       "lclusters, past its extent's head at lcluster "
					       "%llu", (unsigned long long)j, l.delta0,
					       (unsigned long long)head);
			if (l.cblks && j != head + 1)
				return es_fail(err, -ES_ECORRUPT, "lcluster %llu: pcluster "
					       "size entry away from its head",
					       (unsigned long long)j);
			if (j == head + 1)
				blocks = l.cblks ? l.cblks : 0;	/* 0: plain NONHEAD */
			continue;
		}
		end = (j << lbits) + l.clusterofs;
		break;
	}
	if (end > ino->size || end <= off)
		return es_fail(err, -ES_ECORRUPT, "extent from byte %llu ends at %llu, "
			       "outside the file's %llu bytes or before byte %llu",
			       (unsigned long long)ext->lstart, (unsigned long long)end,
			       (unsigned long long)ino->size, (unsigned long long)off);
	ext->llen = end - ext->lstart;
	big = hl.type == EROFS_LCLUSTER_HEAD1 ?
	      (ino->z_advise & EROFS_ZADVISE_BIG_PCLUSTER_1) :
	      (ino->z_advise & EROFS_ZADVISE_BIG_PCLUSTER_2);
	if (!big && blocks != 1 && blocks != 0)
		return es_fail(err, -ES_ECORRUPT, "lcluster %llu: pcluster size entry in an "
			       "inode without big pclusters", (unsigned long long)head + 1);
	if (big && blocks == 0)
		return es_fail(err, -ES_ECORRUPT, "lcluster %llu: bogus CBLKCNT: the first "
			       "lcluster after a head gives no pcluster size",
			       (unsigned long long)head + 1);
	if (!big)
		blocks = 1;
	tail = end == ino->size && (ino->z_advise & EROFS_ZADVISE_INLINE_PCLUSTER);
	ext->flags = ES_EXTENT_MAPPED;
	if (tail) {
		ext->flags |= ES_EXTENT_INLINE;
		ext->device = 0;
		ext->pstart = ino->zinline_pos;
		ext->plen = ino->zinline_size;
	} else {
		const struct es_device *d;

		if (blocks << bbits > EROFS_PCLUSTER_MAX_SIZE)
			return es_fail(err, -ES_ECORRUPT, "pcluster at block %llu of %llu "
				       "blocks exceeds 1 MiB", (unsigned long long)hl.pblk,
				       (unsigned long long)blocks);
		es_resolve_blkaddr(img, hl.pblk, &ext->device, &ext->pstart);
		d = &img->devices[ext->device];
		ext->pstart <<= bbits;
		ext->plen = blocks << bbits;
		if (d->present && (ext->pstart > d->size || ext->plen > d->size - ext->pstart))
			return es_fail(err, -ES_ECORRUPT, "pcluster at block %llu (%llu blocks) "
				       "lies past the end of device %u",
				       (unsigned long long)hl.pblk, (unsigned long long)blocks,
				       ext->device);
	}
	if (hl.type == EROFS_LCLUSTER_PLAIN) {
		if (ext->llen > ext->plen)
			return es_fail(err, -ES_ECORRUPT, "uncompressed extent at byte %llu "
				       "holds %llu bytes in a %llu-byte pcluster",
				       (unsigned long long)ext->lstart,
				       (unsigned long long)ext->llen,
				       (unsigned long long)ext->plen);
		if (ino->z_advise & EROFS_ZADVISE_INTERLACED_PCLUSTER) {
			if (ext->plen != img->sb.blksz)
				return es_fail(err, -EOPNOTSUPP, "interlaced pcluster of "
					       "%llu bytes", (unsigned long long)ext->plen);
			ext->flags |= ES_EXTENT_ENCODED;
			ext->codec = ES_CODEC_INTERLACED;
		}
		return 0;
	}
	ext->codec = ino->z_algs[hl.type == EROFS_LCLUSTER_HEAD1 ? 0 : 1];
	if (!(img->sb.compr_algs & (1u << ext->codec)))
		return es_fail(err, -ES_ECORRUPT, "extent at byte %llu uses %s, which the "
			       "superblock does not list", (unsigned long long)ext->lstart,
			       es_compr_name(ext->codec));
	if (ext->llen > EROFS_EXTENT_MAX_DSIZE)
		return es_fail(err, -EOPNOTSUPP, "extent at byte %llu decodes to %llu bytes, "
			       "more than 12 MiB", (unsigned long long)ext->lstart,
			       (unsigned long long)ext->llen);
	ext->flags |= ES_EXTENT_ENCODED;
	return 0;
}
