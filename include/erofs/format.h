/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * EROFS on-disk format, as erofs-seal understands it.
 *
 * Our own definitions, written from the format facts (docs/FORMAT.md).
 * On-disk structures are never accessed through packed C structs: every
 * field is read and written by offset with explicit little-endian helpers,
 * so the code is independent of host endianness and alignment and the same
 * header serves the freestanding boot reader.
 */
#ifndef EROFS_FORMAT_H
#define EROFS_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* ---- little-endian access ------------------------------------------- */

static inline uint16_t es_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t es_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t es_get64(const uint8_t *p)
{
	return (uint64_t)es_get32(p) | ((uint64_t)es_get32(p + 4) << 32);
}

static inline void es_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void es_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void es_put64(uint8_t *p, uint64_t v)
{
	es_put32(p, (uint32_t)v);
	es_put32(p + 4, (uint32_t)(v >> 32));
}

/* ---- superblock ------------------------------------------------------ */

#define EROFS_SUPER_OFFSET	1024
#define EROFS_SUPER_SIZE	128
#define EROFS_SUPER_MAGIC	0xE0F5E1E2u

/* byte offsets inside the 128-byte superblock */
#define SB_MAGIC		0
#define SB_CHECKSUM		4
#define SB_FEATURE_COMPAT	8
#define SB_BLKSZBITS		12
#define SB_EXTSLOTS		13
#define SB_ROOT_NID		14
#define SB_INOS			16
#define SB_EPOCH		24
#define SB_FIXED_NSEC		32
#define SB_BLOCKS		36
#define SB_META_BLKADDR		40
#define SB_XATTR_BLKADDR	44
#define SB_UUID			48
#define SB_VOLUME_NAME		64
#define SB_FEATURE_INCOMPAT	80
#define SB_U1			84
#define SB_EXTRA_DEVICES	86
#define SB_DEVT_SLOTOFF		88
#define SB_DIRBLKBITS		90
#define SB_XATTR_PREFIX_COUNT	91
#define SB_XATTR_PREFIX_START	92
#define SB_PACKED_NID		96

#define EROFS_COMPAT_SB_CHKSUM		0x00000001u
#define EROFS_COMPAT_MTIME		0x00000002u

#define EROFS_INCOMPAT_ZERO_PADDING	0x00000001u
#define EROFS_INCOMPAT_COMPR_CFGS	0x00000002u
#define EROFS_INCOMPAT_CHUNKED_FILE	0x00000004u
#define EROFS_INCOMPAT_DEVICE_TABLE	0x00000008u
#define EROFS_INCOMPAT_ZTAILPACKING	0x00000010u
#define EROFS_INCOMPAT_FRAGMENTS	0x00000020u
#define EROFS_INCOMPAT_XATTR_PREFIXES	0x00000040u
#define EROFS_INCOMPAT_48BIT		0x00000080u
#define EROFS_INCOMPAT_METABOX		0x00000100u
/*
 * Ours: the image is encrypted (docs/FORMAT.md §3).  A bit no kernel or
 * erofs-utils knows, so they refuse to mount or check it instead of
 * showing ciphertext as file contents.
 */
#define ES_INCOMPAT_ENCRYPTED		0x80000000u

/*
 * The incompat bits this reader understands.  Not FRAGMENTS (= DEDUPE):
 * packed-inode tails and shared partial pclusters are refused.
 */
#define ES_INCOMPAT_SUPPORTED \
	(EROFS_INCOMPAT_ZERO_PADDING | EROFS_INCOMPAT_COMPR_CFGS | \
	 EROFS_INCOMPAT_CHUNKED_FILE | EROFS_INCOMPAT_DEVICE_TABLE | \
	 EROFS_INCOMPAT_ZTAILPACKING | ES_INCOMPAT_ENCRYPTED)

#define EROFS_NULL_ADDR		0xFFFFFFFFu

/* Largest block size the reader accepts (and the builder writes). */
#define ES_MAX_BLKSZBITS	12
#define ES_MAX_BLKSZ		(1u << ES_MAX_BLKSZBITS)

/* ---- inodes ---------------------------------------------------------- */

/*
 * i_mode: file type and permission bits, the same numbers as POSIX (and
 * Linux) use, here so that the reader needs no <sys/stat.h>.
 */
#define ES_S_IFMT		0170000
#define ES_S_IFSOCK		0140000
#define ES_S_IFLNK		0120000
#define ES_S_IFREG		0100000
#define ES_S_IFBLK		0060000
#define ES_S_IFDIR		0040000
#define ES_S_IFCHR		0020000
#define ES_S_IFIFO		0010000
#define ES_S_ISREG(m)		(((m) & ES_S_IFMT) == ES_S_IFREG)
#define ES_S_ISDIR(m)		(((m) & ES_S_IFMT) == ES_S_IFDIR)
#define ES_S_ISLNK(m)		(((m) & ES_S_IFMT) == ES_S_IFLNK)

#define EROFS_ISLOT_BITS	5
#define EROFS_ISLOT_SIZE	32
#define EROFS_INODE_COMPACT_SIZE	32
#define EROFS_INODE_EXTENDED_SIZE	64

/* i_format: bit 0 version, bits 1..3 data layout */
#define EROFS_IFMT_EXTENDED	0x1
#define EROFS_IFMT_LAYOUT_SHIFT	1
#define EROFS_IFMT_LAYOUT_MASK	0x7
#define EROFS_IFMT_KNOWN_BITS	0xf	/* classic (non-48-bit) images */

enum es_layout {
	EROFS_LAYOUT_FLAT_PLAIN = 0,
	EROFS_LAYOUT_COMPRESSED_FULL = 1,
	EROFS_LAYOUT_FLAT_INLINE = 2,
	EROFS_LAYOUT_COMPRESSED_COMPACT = 3,
	EROFS_LAYOUT_CHUNK_BASED = 4,
};

/* common offsets */
#define INO_FORMAT		0
#define INO_XATTR_ICOUNT	2
#define INO_MODE		4
/* compact */
#define INOC_NLINK		6
#define INOC_SIZE		8
#define INOC_MTIME		12
#define INOC_U			16
#define INOC_INO		20
#define INOC_UID		24
#define INOC_GID		26
/* extended */
#define INOE_SIZE		8
#define INOE_U			16
#define INOE_INO		20
#define INOE_UID		24
#define INOE_GID		28
#define INOE_MTIME		32
#define INOE_MTIME_NSEC		40
#define INOE_NLINK		44

/* chunk format (i_u low 16 bits for CHUNK_BASED inodes) */
#define EROFS_CHUNK_FORMAT_BLKBITS_MASK	0x1f
#define EROFS_CHUNK_FORMAT_INDEXES	0x20
#define EROFS_CHUNK_FORMAT_48BIT	0x40
#define EROFS_CHUNK_FORMAT_KNOWN	0x3f

#define EROFS_BLOCKMAP_ENTRY_SIZE	4
#define EROFS_CHUNK_INDEX_SIZE		8
/* chunk index entry offsets */
#define CI_STARTBLK_HI		0
#define CI_DEVICE_ID		2
#define CI_STARTBLK_LO		4

/* ---- compressed inodes (layouts COMPRESSED_FULL and _COMPACT) --------- */

/*
 * Other names of shared incompat bits: one bit announces two features.
 * LZ4_0PADDING: compressed bytes end at their pcluster's end, zeros before.
 * BIG_PCLUSTER: pclusters of several blocks, and the compression config
 * records after the superblock (sb u1 becomes a bitmap of algorithms).
 * COMPR_HEAD2: HEAD2 lclusters (second algorithm of an inode).
 * DEDUPE: pclusters shared between extents, partial references.
 */
#define EROFS_INCOMPAT_LZ4_0PADDING	EROFS_INCOMPAT_ZERO_PADDING
#define EROFS_INCOMPAT_BIG_PCLUSTER	EROFS_INCOMPAT_COMPR_CFGS
#define EROFS_INCOMPAT_COMPR_HEAD2	EROFS_INCOMPAT_DEVICE_TABLE
#define EROFS_INCOMPAT_DEDUPE		EROFS_INCOMPAT_FRAGMENTS

/* algorithm ids: bit n of the sb u1 bitmap, the h_algorithmtype nibbles */
enum es_compr_alg {
	EROFS_COMPR_LZ4 = 0,
	EROFS_COMPR_LZMA = 1,		/* MicroLZMA */
	EROFS_COMPR_DEFLATE = 2,	/* raw deflate, no zlib header */
	EROFS_COMPR_ZSTD = 3,		/* one zstd frame */
	EROFS_COMPR_MAX = 4,
};

/*
 * Without COMPR_CFGS, sb u1 is the LZ4 match distance (0 = 64 KiB) and
 * pclusters are one block.  With it, u1 is the algorithm bitmap and one
 * record per set bit, in bit order, follows the superblock: le16 payload
 * length, payload, the next record at the following 4-byte boundary.
 */
#define EROFS_COMPR_CFGS_OFFSET		(EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE)
#define EROFS_COMPR_CFG_HEADER		2	/* le16 payload length */
#define EROFS_COMPR_CFG_ALIGN		4
#define EROFS_LZ4_DEFAULT_DISTANCE	65536u
/* LZ4 payload (14 bytes) */
#define CFG_LZ4_MAX_DISTANCE		0	/* le16, 0 = 64 KiB */
#define CFG_LZ4_MAX_PCLUSTERBLKS	2	/* le16, 0 = 1 */
#define CFG_LZ4_SIZE			14
/* LZMA payload (14 bytes) */
#define CFG_LZMA_DICT_SIZE		0	/* le32 */
#define CFG_LZMA_FORMAT			4	/* le16, 0 */
#define CFG_LZMA_SIZE			14
#define EROFS_LZMA_MAX_DICT_SIZE	(8u << 20)
/* DEFLATE payload (6 bytes) */
#define CFG_DEFLATE_WINDOWBITS		0	/* u8, 8..15 */
#define CFG_DEFLATE_SIZE		6
/* ZSTD payload (6 bytes) */
#define CFG_ZSTD_FORMAT			0	/* u8, 0 */
#define CFG_ZSTD_WINDOWLOG		1	/* u8, log2(window) - 10 */
#define CFG_ZSTD_SIZE			6

/* Largest pcluster and decoded extent the kernel accepts. */
#define EROFS_PCLUSTER_MAX_SIZE		(1u << 20)
#define EROFS_EXTENT_MAX_DSIZE		(12u << 20)

/*
 * The map header: 8 bytes at round_up(iloc + isize + xattr_isize, 8).
 * Bytes 0..3 are the fragment offset (advise FRAGMENT_PCLUSTER), or
 * {le16 reserved, le16 idata_size} (advise INLINE_PCLUSTER).
 */
#define EROFS_ZMAP_HEADER_ALIGN		8
#define EROFS_ZMAP_HEADER_SIZE		8
#define ZH_FRAGMENTOFF			0	/* le32 */
#define ZH_IDATA_SIZE			2	/* le16 */
#define ZH_ADVISE			4	/* le16 */
#define ZH_ALGORITHMTYPE		6	/* u8: HEAD1 nibble | HEAD2 nibble << 4 */
#define ZH_CLUSTERBITS			7	/* u8: lclusterbits - blkszbits, bit 7 */

#define EROFS_ZADVISE_COMPACTED_2B	0x0001u
#define EROFS_ZADVISE_BIG_PCLUSTER_1	0x0002u
#define EROFS_ZADVISE_BIG_PCLUSTER_2	0x0004u
#define EROFS_ZADVISE_INLINE_PCLUSTER	0x0008u	/* ztailpacking */
#define EROFS_ZADVISE_INTERLACED_PCLUSTER 0x0010u
#define EROFS_ZADVISE_FRAGMENT_PCLUSTER	0x0020u
#define EROFS_ZADVISE_KNOWN		0x003fu
#define EROFS_ZCLUSTERBITS_MASK		0x0f
/* the whole file is one fragment: le64 header bit 63, bits 0..62 offset */
#define EROFS_ZCLUSTERBITS_FRAGMENT_INODE 0x80

/* lcluster types: di_advise bits 0..1 (full), the 2 type bits (compact) */
enum es_lcluster_type {
	EROFS_LCLUSTER_PLAIN = 0,	/* an extent starts here, stored raw */
	EROFS_LCLUSTER_HEAD1 = 1,	/* starts here, algorithm = low nibble */
	EROFS_LCLUSTER_NONHEAD = 2,	/* continues an earlier extent */
	EROFS_LCLUSTER_HEAD2 = 3,	/* starts here, algorithm = high nibble */
};
#define EROFS_LCLUSTER_TYPE_MASK	0x3
/* delta[0] of the first NONHEAD after a head with big pclusters: the
   pcluster's block count in the low bits (CBLKCNT) */
#define EROFS_LI_D0_CBLKCNT		0x0800u

/*
 * Full indexes (COMPRESSED_FULL): 8 zero bytes after the map header, then
 * one 8-byte entry per lcluster.
 */
#define EROFS_FULL_INDEX_START		16	/* from the map header */
#define EROFS_FULL_INDEX_SIZE		8
#define ZI_ADVISE			0	/* le16: type | PARTIAL_REF */
#define ZI_CLUSTEROFS			2	/* le16 (heads) */
#define ZI_BLKADDR			4	/* le32 (heads) */
#define ZI_DELTA0			4	/* le16 (NONHEAD): lclusters back */
#define ZI_DELTA1			6	/* le16 (NONHEAD): lclusters forward */
#define EROFS_LI_PARTIAL_REF		0x8000u
#define EROFS_LI_KNOWN			(EROFS_LCLUSTER_TYPE_MASK | EROFS_LI_PARTIAL_REF)

/*
 * Compact indexes (COMPRESSED_COMPACT): right after the map header, packs
 * of entries each closed by a le32 base block address.  A 4B pack holds 2
 * entries of 16 bits (8 bytes), a 2B pack 16 entries of 14 bits (32
 * bytes).  An entry is (type << lobits) | lo, lobits = max(lclusterbits,
 * 12); lo is clusterofs for heads, delta[0] for NONHEAD except in a pack's
 * last slot, which holds delta[1].  The first entries go in 4B packs up to
 * 32-byte alignment, then 2B packs (advise COMPACTED_2B) in whole packs of
 * 16, the rest in 4B packs.
 */
#define EROFS_COMPACT_4B_ENTRIES	2
#define EROFS_COMPACT_4B_BITS		16
#define EROFS_COMPACT_4B_PACK		8
#define EROFS_COMPACT_2B_ENTRIES	16
#define EROFS_COMPACT_2B_BITS		14
#define EROFS_COMPACT_2B_PACK		32
#define EROFS_COMPACT_MIN_LOBITS	12
#define EROFS_COMPACT_4B_MAX_LCLUSTERBITS 14
#define EROFS_COMPACT_2B_MAX_LCLUSTERBITS 12

/* ---- device table ---------------------------------------------------- */

#define EROFS_DEVT_SLOT_SIZE	128
#define DEVT_TAG		0
#define DEVT_TAG_SIZE		64
#define DEVT_BLOCKS		64
#define DEVT_UNIADDR		68

/* ---- directories ----------------------------------------------------- */

#define EROFS_DIRENT_SIZE	12
#define DIRENT_NID		0
#define DIRENT_NAMEOFF		8
#define DIRENT_FILE_TYPE	10
#define EROFS_NAME_MAX		255

enum es_file_type {
	EROFS_FT_UNKNOWN = 0,
	EROFS_FT_REG_FILE = 1,
	EROFS_FT_DIR = 2,
	EROFS_FT_CHRDEV = 3,
	EROFS_FT_BLKDEV = 4,
	EROFS_FT_FIFO = 5,
	EROFS_FT_SOCK = 6,
	EROFS_FT_SYMLINK = 7,
	EROFS_FT_MAX = 8,
};

/* ---- extended attributes --------------------------------------------- */

#define EROFS_XATTR_IBODY_HEADER_SIZE	12
#define XH_NAME_FILTER		0
#define XH_SHARED_COUNT		4
#define EROFS_XATTR_ENTRY_SIZE	4
#define XE_NAME_LEN		0
#define XE_NAME_INDEX		1
#define XE_VALUE_SIZE		2

enum es_xattr_index {
	EROFS_XATTR_INDEX_USER = 1,
	EROFS_XATTR_INDEX_POSIX_ACL_ACCESS = 2,
	EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT = 3,
	EROFS_XATTR_INDEX_TRUSTED = 4,
	EROFS_XATTR_INDEX_LUSTRE = 5,
	EROFS_XATTR_INDEX_SECURITY = 6,
};

/* ---- seal trailer (ours, docs/FORMAT.md) ------------------------------ */

/* locator: the last 4 KiB of the image file */
#define LOC_MAGIC		"EROFSEAL"
#define LOC_VERSION		8
#define LOC_USED		12
#define LOC_UUID		16
#define LOC_FS_SIZE		32
#define LOC_SECTIONS		40	/* 5 x (le64 offset, le64 length) */
#define LOC_CHECKSUM		120
#define LOC_BYTES		152

/* manifest */
#define MF_MAGIC		"ESMANIF1"
#define MF_VERSION		8
#define MF_FLAGS		12
#define MF_UUID			16
#define MF_BUILD_TIME		32
#define MF_BLKSZ		40
#define MF_CHUNKSIZE		44
#define MF_SUITE		48
#define MF_NDEVICES		52
#define MF_KEY_TABLE_DIGEST	56
#define MF_CHUNK_INDEX_DIGEST	88
#define MF_DEVICES		120
#define MF_DEVICE_SIZE		48
/* after the device records, when flags has MF_FLAG_ENCRYPTED */
#define MF_FLAG_ENCRYPTED	0x1u
#define MF_ENC_TABLE_ENTRIES	0	/* le64 */
#define MF_ENC_TABLE_SEG_SIZE	8	/* le32 */
#define MF_ENC_DOMAIN_CHECK	16	/* 32 bytes */
#define MF_ENC_SIZE		48

/* signatures */
#define SIG_MAGIC		"ESSIGS01"
#define SIG_HEADER		16
#define SIG_REC_HEADER		40

/* chunk index (CIX_: not the EROFS chunk index entries above) */
#define CIX_MAGIC		"ESCHIDX1"
#define CIX_HEADER		16
#define CIX_REC			48

static inline size_t es_xattr_ibody_size(unsigned int icount)
{
	return icount ? EROFS_XATTR_IBODY_HEADER_SIZE + 4 * (size_t)(icount - 1) : 0;
}

static inline bool es_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t acc = 0;

	while (len--)
		acc |= *b++;
	return !acc;
}

/*
 * v rounded up to a multiple of a, in 64 bits whatever size_t is: offsets
 * and sizes of images and devices pass through here, and a 32-bit (boot)
 * build must not truncate them.  The caller keeps v + a - 1 in range.
 */
static inline uint64_t es_round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

#endif /* EROFS_FORMAT_H */
