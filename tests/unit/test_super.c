// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/super.c: CRC-32C, superblock encode/decode/validation,
 * and the device table wherever devt_slotoff puts it (lib/read/image.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "erofs/io.h"
#include "erofs/super.h"

static void test_crc32c_check_value(void **state)
{
	(void)state;
	/* RFC 3720 B.4 check value of CRC-32C("123456789") is 0xE3069283 with
	 * the final inversion; EROFS omits the inversion. */
	assert_int_equal(es_crc32c(~0u, "123456789", 9), ~0xE3069283u);
	/* 32 bytes of zeros: RFC 3720 B.4 gives 0x8A9136AA (inverted form) */
	{
		uint8_t z[32] = { 0 };

		assert_int_equal(es_crc32c(~0u, z, 32), ~0x8A9136AAu);
	}
}

static void make_sb(struct es_super *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->feature_compat = EROFS_COMPAT_SB_CHKSUM | EROFS_COMPAT_MTIME;
	sb->blkszbits = 12;
	sb->root_nid = 37;
	sb->inos = 18;
	sb->epoch = 1700000000;
	sb->blocks = 8;
	sb->meta_blkaddr = 3;
	sb->xattr_blkaddr = 3;
	memcpy(sb->uuid, "0123456789abcdef", 16);
	strcpy(sb->volume_name, "label");
}

static void test_roundtrip(void **state)
{
	uint8_t block[4096] = { 0 };
	struct es_super in, out;
	struct es_err err = { 0 };

	(void)state;
	make_sb(&in);
	es_super_encode(&in, block);
	assert_int_equal(es_get32(block + 1024), EROFS_SUPER_MAGIC);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), 0);
	assert_int_equal(out.root_nid, 37);
	assert_int_equal(out.inos, 18);
	assert_int_equal(out.blocks, 8);
	assert_int_equal(out.meta_blkaddr, 3);
	assert_int_equal(out.epoch, 1700000000);
	assert_string_equal(out.volume_name, "label");
	assert_memory_equal(out.uuid, in.uuid, 16);
}

static void test_checksum_covers_block0(void **state)
{
	uint8_t block[4096] = { 0 };
	struct es_super sb, out;
	struct es_err err = { 0 };

	(void)state;
	make_sb(&sb);
	es_super_encode(&sb, block);
	block[4000] ^= 1;	/* after the superblock, still in the crc range */
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), -ES_ECORRUPT);
	assert_non_null(strstr(err.msg, "checksum"));
}

/* Config records as erofs-utils 1.5 writes them for -zlz4hc -C65536. */
static void test_compr_cfgs(void **state)
{
	static const uint8_t lz4_record[16] = { 0x0e, 0, 0xff, 0xff, 0x10, 0 };
	uint8_t block[4096];
	struct es_super sb, out;
	struct es_err err;

	(void)state;
	make_sb(&sb);
	sb.feature_incompat = EROFS_INCOMPAT_ZERO_PADDING | EROFS_INCOMPAT_COMPR_CFGS;
	sb.compr_algs = 1u << EROFS_COMPR_LZ4;
	sb.lz4_max_distance = 0xffff;
	sb.max_pclusterblks = 16;
	assert_int_equal(es_super_compr_cfgs_size(&sb), 16);
	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	assert_memory_equal(block + EROFS_COMPR_CFGS_OFFSET, lz4_record, sizeof(lz4_record));
	assert_int_equal(es_get16(block + 1024 + SB_U1), 1);
	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), 0);
	assert_int_equal(out.compr_algs, 1);
	assert_int_equal(out.max_pclusterblks, 16);
	assert_int_equal(out.lz4_max_distance, 0xffff);

	/* every algorithm: records 4-aligned, in bit order */
	sb.compr_algs = 0xf;
	sb.lzma_dict_size = 1u << 19;
	sb.deflate_windowbits = 15;
	sb.zstd_windowlog = 5;
	assert_int_equal(es_super_compr_cfgs_size(&sb), 16 + 16 + 8 + 8);
	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	assert_int_equal(es_get16(block + 1152 + 16), 14);
	assert_int_equal(es_get32(block + 1152 + 18), 1u << 19);
	assert_int_equal(es_get16(block + 1152 + 32), 6);
	assert_int_equal(block[1152 + 34], 15);
	assert_int_equal(es_get16(block + 1152 + 40), 6);
	assert_int_equal(block[1152 + 43], 5);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), 0);
	assert_int_equal(out.zstd_windowlog, 5);
	assert_int_equal(out.deflate_windowbits, 15);

	/* hostile: short record, unknown algorithm, huge pclusters */
	block[1152 + 32] = 2;
	sb.feature_compat = EROFS_COMPAT_MTIME;
	es_put16(block + 1024 + SB_FEATURE_COMPAT, 0);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), -ES_ECORRUPT);
	assert_non_null(strstr(err.msg, "deflate config record"));
	sb.compr_algs = 0x11;
	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), -EOPNOTSUPP);
	sb.compr_algs = 1;
	sb.max_pclusterblks = 257;
	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), -ES_ECORRUPT);
	assert_non_null(strstr(err.msg, "1 MiB"));
}

static void test_rejects_bad_fields(void **state)
{
	uint8_t block[4096];
	struct es_super sb, out;
	struct es_err err;

	(void)state;
	make_sb(&sb);
	sb.feature_compat = EROFS_COMPAT_MTIME;	/* no crc: patch freely */

	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	block[1024] ^= 0xff;
	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), -ES_ECORRUPT);
	assert_non_null(strstr(err.msg, "magic"));

	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	block[1024 + SB_BLKSZBITS] = 16;
	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), -ES_ECORRUPT);

	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	block[1024 + SB_DIRBLKBITS] = 1;
	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, sizeof(block), &err), -ES_ECORRUPT);

	sb.feature_incompat = EROFS_INCOMPAT_FRAGMENTS;	/* packed inode: refused */
	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	es_err_clear(&err);
	assert_true(es_super_decode(&out, block, sizeof(block), &err) < 0);
	assert_non_null(strstr(err.msg, "not supported"));

	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, 1100, &err), -ES_ECORRUPT);
}

/*
 * An image of 8 blocks with n blobs whose table starts at byte pos: slot i
 * holds the tag "blob i", i blocks and uniaddr 100 + i.
 */
static void make_devt_image(uint8_t *img, size_t len, unsigned int n, uint64_t pos)
{
	struct es_super sb;

	memset(img, 0, len);
	make_sb(&sb);
	sb.feature_incompat = EROFS_INCOMPAT_DEVICE_TABLE;
	sb.extra_devices = (uint16_t)n;
	sb.devt_slotoff = (uint16_t)(pos / EROFS_DEVT_SLOT_SIZE);
	for (unsigned int i = 1; i <= n; i++) {
		uint8_t *slot = img + pos + (i - 1) * EROFS_DEVT_SLOT_SIZE;

		snprintf((char *)slot + DEVT_TAG, DEVT_TAG_SIZE, "blob %u", i);
		es_put32(slot + DEVT_BLOCKS, i);
		es_put32(slot + DEVT_UNIADDR, 100 + i);
	}
	es_super_encode(&sb, img);
}

/* 30 slots do not fit block 0: a table in block 1 is read from there. */
static void test_device_table_past_block0(void **state)
{
	static uint8_t img[8 * 4096];
	static struct es_device devices[31];
	struct es_io_mem_dev dev0 = { img, sizeof(img) };
	struct es_io_mem mem;
	struct es_image image;
	struct es_err err = { 0 };
	struct es_io io;

	(void)state;
	make_devt_image(img, sizeof(img), 30, 4096);
	es_io_mem_init(&io, &mem, &dev0, 1);
	assert_int_equal(es_image_read_super(&image, &io, &err), 0);
	assert_int_equal(image.sb.devt_slotoff, 32);
	assert_int_equal(es_image_read_devices(&image, devices, &err), 0);
	assert_int_equal(image.ndevices, 31);
	for (unsigned int i = 1; i <= 30; i++) {
		char want[DEVT_TAG_SIZE];

		snprintf(want, sizeof(want), "blob %u", i);
		assert_string_equal((const char *)devices[i].tag, want);
		assert_int_equal(devices[i].table_blocks, i);
		assert_int_equal(devices[i].uniaddr, 100 + i);
	}
}

/* A table whose last slot would lie past the filesystem is refused. */
static void test_device_table_past_fs_end(void **state)
{
	static uint8_t img[8 * 4096];
	static struct es_device devices[40];
	struct es_io_mem_dev dev0 = { img, sizeof(img) };
	struct es_io_mem mem;
	struct es_image image;
	struct es_err err = { 0 };
	struct es_io io;

	(void)state;
	/* slots from the last block: 32 fit, the 33rd does not */
	make_devt_image(img, sizeof(img), 32, 7 * 4096);
	es_io_mem_init(&io, &mem, &dev0, 1);
	assert_int_equal(es_image_read_super(&image, &io, &err), 0);
	assert_int_equal(es_image_read_devices(&image, devices, &err), 0);
	image.sb.extra_devices = 39;
	es_super_encode(&image.sb, img);
	assert_int_equal(es_image_read_super(&image, &io, &err), 0);
	assert_int_equal(image.sb.extra_devices, 39);
	assert_int_equal(es_image_read_devices(&image, devices, &err), -ES_ECORRUPT);
	assert_non_null(strstr(err.msg, "device table slot 33"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_check_value),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_checksum_covers_block0),
		cmocka_unit_test(test_rejects_bad_fields),
		cmocka_unit_test(test_compr_cfgs),
		cmocka_unit_test(test_device_table_past_block0),
		cmocka_unit_test(test_device_table_past_fs_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
