// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
#include <errno.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/super.h"

uint32_t es_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* Bitwise: the superblock is 3 KiB, speed does not matter here. */
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return crc;
}

static size_t checksum_range(uint32_t blksz)
{
	return blksz > EROFS_SUPER_OFFSET ? blksz - EROFS_SUPER_OFFSET : blksz;
}

static uint32_t super_checksum(const uint8_t *sbp, size_t range)
{
	static const uint8_t zero[4];
	uint32_t crc = ~0u;

	crc = es_crc32c(crc, sbp, SB_CHECKSUM);
	crc = es_crc32c(crc, zero, 4);
	return es_crc32c(crc, sbp + SB_CHECKSUM + 4, range - SB_CHECKSUM - 4);
}

static const uint16_t cfg_payload_size[EROFS_COMPR_MAX] = {
	[EROFS_COMPR_LZ4] = CFG_LZ4_SIZE,
	[EROFS_COMPR_LZMA] = CFG_LZMA_SIZE,
	[EROFS_COMPR_DEFLATE] = CFG_DEFLATE_SIZE,
	[EROFS_COMPR_ZSTD] = CFG_ZSTD_SIZE,
};

static const char *const compr_names[EROFS_COMPR_MAX] = {
	"lz4", "lzma", "deflate", "zstd",
};

const char *es_compr_name(unsigned int alg)
{
	return alg < EROFS_COMPR_MAX ? compr_names[alg] : "unknown";
}

#ifdef ES_NO_COMPRESSION
/* The boot reader has no decode stage (docs/BOOT.md): no config records. */
static int decode_compr_cfgs(struct es_super *sb, const uint8_t *block0, size_t len,
			     struct es_err *err)
{
	(void)len;
	sb->max_pclusterblks = 1;
	sb->compr_algs = 1u << EROFS_COMPR_LZ4;
	sb->lz4_max_distance = es_get16(block0 + EROFS_SUPER_OFFSET + SB_U1);
	if (sb->feature_incompat & EROFS_INCOMPAT_COMPR_CFGS)
		return es_fail(err, -EOPNOTSUPP, "superblock: compression configurations, "
			       "which this reader (built without decompression) cannot use");
	return 0;
}
#else
static int decode_cfg(struct es_super *sb, unsigned int alg, const uint8_t *c,
		      struct es_err *err)
{
	switch (alg) {
	case EROFS_COMPR_LZ4:
		sb->lz4_max_distance = es_get16(c + CFG_LZ4_MAX_DISTANCE);
		sb->max_pclusterblks = es_get16(c + CFG_LZ4_MAX_PCLUSTERBLKS);
		if (!sb->max_pclusterblks)
			sb->max_pclusterblks = 1;
		if ((uint64_t)sb->max_pclusterblks << sb->blkszbits > EROFS_PCLUSTER_MAX_SIZE)
			return es_fail(err, -ES_ECORRUPT, "superblock: LZ4 pclusters of %u "
				       "blocks exceed 1 MiB", sb->max_pclusterblks);
		return 0;
	case EROFS_COMPR_LZMA:
		sb->lzma_dict_size = es_get32(c + CFG_LZMA_DICT_SIZE);
		if (es_get16(c + CFG_LZMA_FORMAT))
			return es_fail(err, -EOPNOTSUPP, "superblock: LZMA format %u is "
				       "not supported", es_get16(c + CFG_LZMA_FORMAT));
		if (sb->lzma_dict_size > EROFS_LZMA_MAX_DICT_SIZE)
			return es_fail(err, -ES_ECORRUPT, "superblock: LZMA dictionary of "
				       "%u bytes exceeds 8 MiB", sb->lzma_dict_size);
		return 0;
	case EROFS_COMPR_DEFLATE:
		sb->deflate_windowbits = c[CFG_DEFLATE_WINDOWBITS];
		if (sb->deflate_windowbits < 8 || sb->deflate_windowbits > 15)
			return es_fail(err, -ES_ECORRUPT, "superblock: DEFLATE window "
				       "bits %u are not in 8..15", sb->deflate_windowbits);
		return 0;
	default:
		sb->zstd_windowlog = c[CFG_ZSTD_WINDOWLOG];
		if (c[CFG_ZSTD_FORMAT])
			return es_fail(err, -EOPNOTSUPP, "superblock: zstd format %u is "
				       "not supported", c[CFG_ZSTD_FORMAT]);
		if (sb->zstd_windowlog > 17)
			return es_fail(err, -ES_ECORRUPT, "superblock: zstd window 2^%u "
				       "exceeds 128 MiB", sb->zstd_windowlog + 10u);
		return 0;
	}
}

static int decode_compr_cfgs(struct es_super *sb, const uint8_t *block0, size_t len,
			     struct es_err *err)
{
	uint16_t u1 = es_get16(block0 + EROFS_SUPER_OFFSET + SB_U1);
	size_t pos = EROFS_COMPR_CFGS_OFFSET;

	sb->max_pclusterblks = 1;
	if (!(sb->feature_incompat & EROFS_INCOMPAT_COMPR_CFGS)) {
		sb->compr_algs = 1u << EROFS_COMPR_LZ4;
		sb->lz4_max_distance = u1;
		return 0;
	}
	sb->compr_algs = u1;
	if (u1 >> EROFS_COMPR_MAX)
		return es_fail(err, -EOPNOTSUPP, "superblock: unknown compression "
			       "algorithms 0x%x", u1 >> EROFS_COMPR_MAX << EROFS_COMPR_MAX);
	for (unsigned int alg = 0; alg < EROFS_COMPR_MAX; alg++) {
		size_t size;
		int ret;

		if (!(u1 & (1u << alg)))
			continue;
		if (pos + EROFS_COMPR_CFG_HEADER > len)
			return es_fail(err, -ES_ECORRUPT, "superblock: the %s config "
				       "record lies past block 0", compr_names[alg]);
		size = es_get16(block0 + pos);
		if (size < cfg_payload_size[alg] || pos + EROFS_COMPR_CFG_HEADER + size > len)
			return es_fail(err, -ES_ECORRUPT, "superblock: the %s config record "
				       "at byte %zu has a bad length %zu", compr_names[alg],
				       pos, size);
		ret = decode_cfg(sb, alg, block0 + pos + EROFS_COMPR_CFG_HEADER, err);
		if (ret)
			return ret;
		pos = (size_t)es_round_up(pos + EROFS_COMPR_CFG_HEADER + size,
					  EROFS_COMPR_CFG_ALIGN);
	}
	return 0;
}
#endif

size_t es_super_compr_cfgs_size(const struct es_super *sb)
{
	size_t size = 0;

	if (!(sb->feature_incompat & EROFS_INCOMPAT_COMPR_CFGS))
		return 0;
	for (unsigned int alg = 0; alg < EROFS_COMPR_MAX; alg++)
		if (sb->compr_algs & (1u << alg))
			size += (size_t)es_round_up(EROFS_COMPR_CFG_HEADER +
						    cfg_payload_size[alg],
						    EROFS_COMPR_CFG_ALIGN);
	return size;
}

static void encode_compr_cfgs(const struct es_super *sb, uint8_t *block0)
{
	uint8_t *rec = block0 + EROFS_COMPR_CFGS_OFFSET;

	for (unsigned int alg = 0; alg < EROFS_COMPR_MAX; alg++) {
		size_t size = cfg_payload_size[alg];
		uint8_t *c = rec + EROFS_COMPR_CFG_HEADER;

		if (!(sb->compr_algs & (1u << alg)))
			continue;
		memset(rec, 0, (size_t)es_round_up(EROFS_COMPR_CFG_HEADER + size,
						   EROFS_COMPR_CFG_ALIGN));
		es_put16(rec, (uint16_t)size);
		switch (alg) {
		case EROFS_COMPR_LZ4:
			es_put16(c + CFG_LZ4_MAX_DISTANCE, sb->lz4_max_distance);
			es_put16(c + CFG_LZ4_MAX_PCLUSTERBLKS, sb->max_pclusterblks);
			break;
		case EROFS_COMPR_LZMA:
			es_put32(c + CFG_LZMA_DICT_SIZE, sb->lzma_dict_size);
			break;
		case EROFS_COMPR_DEFLATE:
			c[CFG_DEFLATE_WINDOWBITS] = sb->deflate_windowbits;
			break;
		default:
			c[CFG_ZSTD_WINDOWLOG] = sb->zstd_windowlog;
			break;
		}
		rec += es_round_up(EROFS_COMPR_CFG_HEADER + size, EROFS_COMPR_CFG_ALIGN);
	}
}

int es_super_decode(struct es_super *sb, const uint8_t *block0, size_t len,
		    struct es_err *err)
{
	const uint8_t *p = block0 + EROFS_SUPER_OFFSET;
	uint32_t unknown;
	int ret;

	memset(sb, 0, sizeof(*sb));
	if (len < EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE)
		return es_fail(err, -ES_ECORRUPT,
			       "image is too small to hold a superblock (%zu bytes)", len);
	if (es_get32(p + SB_MAGIC) != EROFS_SUPER_MAGIC)
		return es_fail(err, -ES_ECORRUPT,
			       "no EROFS superblock: bad magic 0x%08x at byte 1024",
			       es_get32(p + SB_MAGIC));
	sb->blkszbits = p[SB_BLKSZBITS];
	if (sb->blkszbits < 9 || sb->blkszbits > ES_MAX_BLKSZBITS)
		return es_fail(err, -ES_ECORRUPT,
			       "superblock: block size 2^%u is not supported (512..4096)",
			       sb->blkszbits);
	sb->blksz = 1u << sb->blkszbits;
	sb->checksum = es_get32(p + SB_CHECKSUM);
	sb->feature_compat = es_get32(p + SB_FEATURE_COMPAT);
	sb->feature_incompat = es_get32(p + SB_FEATURE_INCOMPAT);
	if (sb->feature_compat & EROFS_COMPAT_SB_CHKSUM) {
		size_t range = checksum_range(sb->blksz);
		uint32_t crc;

		if (len < EROFS_SUPER_OFFSET + range)
			return es_fail(err, -ES_ECORRUPT,
				       "image is too small for its superblock checksum range");
		crc = super_checksum(p, range);
		if (crc != sb->checksum)
			return es_fail(err, -ES_ECORRUPT,
				       "superblock checksum mismatch: stored 0x%08x, computed 0x%08x",
				       sb->checksum, crc);
	}
	if (p[SB_EXTSLOTS])
		return es_fail(err, -ES_ECORRUPT,
			       "superblock: extension slots (%u) are not supported",
			       p[SB_EXTSLOTS]);
	if (p[SB_DIRBLKBITS])
		return es_fail(err, -ES_ECORRUPT,
			       "superblock: dirblkbits must be 0, found %u", p[SB_DIRBLKBITS]);
	unknown = sb->feature_incompat & ~(uint32_t)ES_INCOMPAT_SUPPORTED;
	if (unknown)
		return es_fail(err, -EOPNOTSUPP,
			       "superblock: incompatible features 0x%x are not supported "
			       "(fragment/dedupe, long xattr prefix, 48-bit and metabox "
			       "images cannot be read)", unknown);
	sb->root_nid = es_get16(p + SB_ROOT_NID);
	sb->inos = es_get64(p + SB_INOS);
	sb->epoch = (int64_t)es_get64(p + SB_EPOCH);
	sb->fixed_nsec = es_get32(p + SB_FIXED_NSEC);
	sb->blocks = es_get32(p + SB_BLOCKS);
	sb->meta_blkaddr = es_get32(p + SB_META_BLKADDR);
	sb->xattr_blkaddr = es_get32(p + SB_XATTR_BLKADDR);
	memcpy(sb->uuid, p + SB_UUID, 16);
	memcpy(sb->volume_name, p + SB_VOLUME_NAME, 16);
	sb->volume_name[16] = '\0';
	if (sb->feature_incompat & EROFS_INCOMPAT_DEVICE_TABLE) {
		sb->extra_devices = es_get16(p + SB_EXTRA_DEVICES);
		sb->devt_slotoff = es_get16(p + SB_DEVT_SLOTOFF);
	}
	ret = decode_compr_cfgs(sb, block0, len, err);
	if (ret)
		return ret;
	if (sb->fixed_nsec >= 1000000000u)
		return es_fail(err, -ES_ECORRUPT,
			       "superblock: nanoseconds field %u is out of range",
			       sb->fixed_nsec);
	return 0;
}

void es_super_encode(const struct es_super *sb, uint8_t *block0)
{
	uint8_t *p = block0 + EROFS_SUPER_OFFSET;

	memset(p, 0, EROFS_SUPER_SIZE);
	es_put32(p + SB_MAGIC, EROFS_SUPER_MAGIC);
	es_put32(p + SB_FEATURE_COMPAT, sb->feature_compat);
	p[SB_BLKSZBITS] = (uint8_t)sb->blkszbits;
	es_put16(p + SB_ROOT_NID, (uint16_t)sb->root_nid);
	es_put64(p + SB_INOS, sb->inos);
	es_put64(p + SB_EPOCH, (uint64_t)sb->epoch);
	es_put32(p + SB_FIXED_NSEC, sb->fixed_nsec);
	es_put32(p + SB_BLOCKS, sb->blocks);
	es_put32(p + SB_META_BLKADDR, sb->meta_blkaddr);
	es_put32(p + SB_XATTR_BLKADDR, sb->xattr_blkaddr);
	memcpy(p + SB_UUID, sb->uuid, 16);
	memcpy(p + SB_VOLUME_NAME, sb->volume_name, 16);
	es_put32(p + SB_FEATURE_INCOMPAT, sb->feature_incompat);
	es_put16(p + SB_EXTRA_DEVICES, sb->extra_devices);
	es_put16(p + SB_DEVT_SLOTOFF, sb->devt_slotoff);
	if (sb->feature_incompat & EROFS_INCOMPAT_COMPR_CFGS) {
		es_put16(p + SB_U1, sb->compr_algs);
		encode_compr_cfgs(sb, block0);
	} else {
		es_put16(p + SB_U1, sb->lz4_max_distance);
	}
	if (sb->feature_compat & EROFS_COMPAT_SB_CHKSUM)
		es_put32(p + SB_CHECKSUM,
			 super_checksum(p, checksum_range(1u << sb->blkszbits)));
}

void es_super_features(const struct es_super *sb, char *buf, size_t len)
{
	static const struct { uint32_t bit; bool incompat; const char *name; } names[] = {
		{ EROFS_COMPAT_SB_CHKSUM, false, "sb_csum" },
		{ EROFS_COMPAT_MTIME, false, "mtime" },
		{ EROFS_INCOMPAT_ZERO_PADDING, true, "0padding" },
		{ EROFS_INCOMPAT_COMPR_CFGS, true, "compr_cfgs" },
		{ EROFS_INCOMPAT_CHUNKED_FILE, true, "chunked_file" },
		{ EROFS_INCOMPAT_DEVICE_TABLE, true, "device_table" },
		{ EROFS_INCOMPAT_ZTAILPACKING, true, "ztailpacking" },
		{ EROFS_INCOMPAT_FRAGMENTS, true, "fragments" },
		{ EROFS_INCOMPAT_XATTR_PREFIXES, true, "xattr_prefixes" },
		{ EROFS_INCOMPAT_48BIT, true, "48bit" },
		{ EROFS_INCOMPAT_METABOX, true, "metabox" },
		{ ES_INCOMPAT_ENCRYPTED, true, "encrypted" },
	};
	size_t used = 0;

	if (!len)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t set = names[i].incompat ? sb->feature_incompat : sb->feature_compat;

		if (!(set & names[i].bit))
			continue;
		/* space-separated, cut at len - 1 bytes as snprintf would */
		if (used && used < len - 1)
			buf[used++] = ' ';
		for (const char *c = names[i].name; *c && used < len - 1; c++)
			buf[used++] = *c;
	}
	buf[used] = '\0';
}
