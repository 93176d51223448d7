// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Inodes: decoding with every check the kernel makes, and a few more. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/image.h"

unsigned int es_mode_to_ftype(uint16_t mode)
{
	switch (mode & ES_S_IFMT) {
	case ES_S_IFREG: return EROFS_FT_REG_FILE;
	case ES_S_IFDIR: return EROFS_FT_DIR;
	case ES_S_IFCHR: return EROFS_FT_CHRDEV;
	case ES_S_IFBLK: return EROFS_FT_BLKDEV;
	case ES_S_IFIFO: return EROFS_FT_FIFO;
	case ES_S_IFSOCK: return EROFS_FT_SOCK;
	case ES_S_IFLNK: return EROFS_FT_SYMLINK;
	default: return EROFS_FT_UNKNOWN;
	}
}

const char *es_layout_name(unsigned int layout)
{
	switch (layout) {
	case EROFS_LAYOUT_FLAT_PLAIN: return "flat_plain";
	case EROFS_LAYOUT_COMPRESSED_FULL: return "compressed_full";
	case EROFS_LAYOUT_FLAT_INLINE: return "flat_inline";
	case EROFS_LAYOUT_COMPRESSED_COMPACT: return "compressed_compact";
	case EROFS_LAYOUT_CHUNK_BASED: return "chunk_based";
	default: return "unknown";
	}
}

uint32_t es_encode_rdev(uint32_t major, uint32_t minor)
{
	return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffu) << 12);
}

void es_decode_rdev(uint32_t raw, uint32_t *major, uint32_t *minor)
{
	*major = (raw >> 8) & 0xfff;
	*minor = (raw & 0xff) | ((raw >> 12) & 0xfff00);
}

static bool has_data(uint16_t mode)
{
	return ES_S_ISREG(mode) || ES_S_ISDIR(mode) || ES_S_ISLNK(mode);
}

static int decode_layout(const struct es_image *img, struct es_inode *ino,
			 struct es_err *err)
{
	const uint32_t blksz = img->sb.blksz;
	const uint64_t fs_size = img->devices[0].size;
	uint64_t body = ino->iloc + ino->inode_isize + ino->xattr_isize;
	uint64_t total_blocks;

	ino->meta_end = body;
	if (!has_data(ino->mode)) {
		if (ino->layout != EROFS_LAYOUT_FLAT_PLAIN)
			return es_fail(err, -ES_ECORRUPT, "special file with data layout %s",
				       es_layout_name(ino->layout));
		if (ino->size)
			return es_fail(err, -ES_ECORRUPT,
				       "special file with size %llu (must be 0)",
				       (unsigned long long)ino->size);
		return 0;
	}
	total_blocks = (ino->size + blksz - 1) >> img->sb.blkszbits;
	switch (ino->layout) {
	case EROFS_LAYOUT_FLAT_PLAIN:
		ino->startblk = ino->raw_u;
		ino->nblocks = total_blocks;
		break;
	case EROFS_LAYOUT_FLAT_INLINE:
		ino->startblk = ino->raw_u;
		ino->nblocks = total_blocks ? total_blocks - 1 : 0;
		ino->tail_len = (uint32_t)(ino->size - (ino->nblocks << img->sb.blkszbits));
		ino->tail_pos = body;
		if ((ino->tail_pos & (blksz - 1)) + ino->tail_len > blksz)
			return es_fail(err, -ES_ECORRUPT,
				       "inline data (%u bytes at %llu) crosses a block boundary",
				       ino->tail_len, (unsigned long long)ino->tail_pos);
		ino->meta_end = body + ino->tail_len;
		break;
	case EROFS_LAYOUT_CHUNK_BASED: {
		uint16_t fmt = (uint16_t)ino->raw_u;
		unsigned int unit;

		if (fmt & ~EROFS_CHUNK_FORMAT_KNOWN)
			return es_fail(err, -EOPNOTSUPP, "unsupported chunk format 0x%x",
				       fmt);
		if (ino->raw_u >> 16)
			return es_fail(err, -ES_ECORRUPT, "chunk format reserved bits set");
		ino->chunkbits = img->sb.blkszbits + (fmt & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
		ino->chunk_indexes = fmt & EROFS_CHUNK_FORMAT_INDEXES;
		unit = ino->chunk_indexes ? EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCKMAP_ENTRY_SIZE;
		ino->chunk_table_pos = es_round_up(body, unit);
		ino->nchunks = ino->size ? ((ino->size - 1) >> ino->chunkbits) + 1 : 0;
		ino->meta_end = ino->chunk_table_pos + ino->nchunks * unit;
		break;
	}
	case EROFS_LAYOUT_COMPRESSED_FULL:
	case EROFS_LAYOUT_COMPRESSED_COMPACT: {
#ifdef ES_NO_COMPRESSION
		/* the boot reader: its code and stack budgets leave no room for
		   the decode stage (docs/BOOT.md) */
		(void)body;
		return es_fail(err, -EOPNOTSUPP, "nid %llu: a compressed file, which this "
			       "reader (built without decompression) cannot read",
			       (unsigned long long)ino->nid);
#else
		int ret = es_zmap_init(img, ino, body, err);

		if (ret)
			return ret;
		break;
#endif
	}
	default:
		return es_fail(err, -EOPNOTSUPP, "unsupported data layout %u", ino->layout);
	}
	if (ino->meta_end > fs_size)
		return es_fail(err, -ES_ECORRUPT, "inode metadata runs past the end "
			       "of the filesystem (%llu > %llu)",
			       (unsigned long long)ino->meta_end,
			       (unsigned long long)fs_size);
	if (ino->nblocks && ((uint64_t)ino->startblk + ino->nblocks) >
	    (fs_size >> img->sb.blkszbits))
		return es_fail(err, -ES_ECORRUPT,
			       "data blocks %u..%llu lie past the end of the image "
			       "(%llu blocks)", ino->startblk,
			       (unsigned long long)(ino->startblk + ino->nblocks - 1),
			       (unsigned long long)(fs_size >> img->sb.blkszbits));
	return 0;
}

int es_inode_read(const struct es_image *img, uint64_t nid,
		  struct es_inode *ino, struct es_err *err)
{
	uint8_t raw[EROFS_INODE_EXTENDED_SIZE];
	const uint64_t fs_size = img->devices[0].size;
	uint64_t base = (uint64_t)img->sb.meta_blkaddr << img->sb.blkszbits;
	size_t fetched;
	int ret;

	memset(ino, 0, sizeof(*ino));
	ino->nid = nid;
	if (nid > (fs_size >> EROFS_ISLOT_BITS) ||
	    base + (nid << EROFS_ISLOT_BITS) + EROFS_INODE_COMPACT_SIZE > fs_size) {
		ret = es_fail(err, -ES_ECORRUPT, "nid %llu is out of range "
			      "(the filesystem is %llu bytes)",
			      (unsigned long long)nid, (unsigned long long)fs_size);
		goto out;
	}
	ino->iloc = base + (nid << EROFS_ISLOT_BITS);
	/* an extended inode's whole 64 bytes in one read when they fit: one
	   read (and one block decrypted) per inode, not two */
	fetched = ino->iloc + EROFS_INODE_EXTENDED_SIZE <= fs_size ? EROFS_INODE_EXTENDED_SIZE
								  : EROFS_INODE_COMPACT_SIZE;
	ret = es_meta_read(img, ino->iloc, raw, fetched, err);
	if (ret)
		goto out;
	ino->format = es_get16(raw + INO_FORMAT);
	if (ino->format & ~EROFS_IFMT_KNOWN_BITS) {
		ret = es_fail(err, -ES_ECORRUPT, "unsupported i_format 0x%x", ino->format);
		goto out;
	}
	ino->extended = ino->format & EROFS_IFMT_EXTENDED;
	ino->layout = (ino->format >> EROFS_IFMT_LAYOUT_SHIFT) & EROFS_IFMT_LAYOUT_MASK;
	ino->xattr_icount = es_get16(raw + INO_XATTR_ICOUNT);
	ino->mode = es_get16(raw + INO_MODE);
	if (ino->extended) {
		ino->inode_isize = EROFS_INODE_EXTENDED_SIZE;
		if (fetched < EROFS_INODE_EXTENDED_SIZE)
			ret = es_meta_read(img, ino->iloc, raw, EROFS_INODE_EXTENDED_SIZE, err);
		if (ret)
			goto out;
		ino->size = es_get64(raw + INOE_SIZE);
		ino->raw_u = es_get32(raw + INOE_U);
		ino->ino = es_get32(raw + INOE_INO);
		ino->uid = es_get32(raw + INOE_UID);
		ino->gid = es_get32(raw + INOE_GID);
		ino->mtime = (int64_t)es_get64(raw + INOE_MTIME);
		ino->mtime_nsec = es_get32(raw + INOE_MTIME_NSEC);
		ino->nlink = es_get32(raw + INOE_NLINK);
		if (ino->size > INT64_MAX) {
			ret = es_fail(err, -ES_ECORRUPT, "negative file size");
			goto out;
		}
		if (ino->mtime_nsec >= 1000000000u) {
			ret = es_fail(err, -ES_ECORRUPT, "mtime nanoseconds %u out of range",
				      ino->mtime_nsec);
			goto out;
		}
	} else {
		ino->inode_isize = EROFS_INODE_COMPACT_SIZE;
		ino->nlink = es_get16(raw + INOC_NLINK);
		ino->size = es_get32(raw + INOC_SIZE);
		ino->raw_u = es_get32(raw + INOC_U);
		ino->ino = es_get32(raw + INOC_INO);
		ino->uid = es_get16(raw + INOC_UID);
		ino->gid = es_get16(raw + INOC_GID);
		ino->mtime = img->sb.epoch;
		ino->mtime_nsec = img->sb.fixed_nsec;
	}
	if (es_mode_to_ftype(ino->mode) == EROFS_FT_UNKNOWN) {
		ret = es_fail(err, -ES_ECORRUPT, "bogus file type in mode 0%o", ino->mode);
		goto out;
	}
	if (ino->xattr_icount == 1) {
		ret = es_fail(err, -ES_ECORRUPT, "xattr count 1 (a header-only xattr body)");
		goto out;
	}
	ino->xattr_isize = (uint32_t)es_xattr_ibody_size(ino->xattr_icount);
	ret = decode_layout(img, ino, err);
out:
	if (ret)
		es_err_prefix(err, "nid %llu: ", (unsigned long long)nid);
	return ret;
}
