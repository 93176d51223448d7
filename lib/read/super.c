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

int es_super_decode(struct es_super *sb, const uint8_t *block0, size_t len,
		    struct es_err *err)
{
	const uint8_t *p = block0 + EROFS_SUPER_OFFSET;
	uint32_t unknown;

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
			       "(compressed, fragment, prefix, 48-bit and metabox images "
			       "cannot be read)", unknown);
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
