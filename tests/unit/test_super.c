// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/super.c: CRC-32C, superblock encode/decode/validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "erofs/format.h"
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

	sb.feature_incompat = EROFS_INCOMPAT_ZERO_PADDING;	/* compressed */
	es_super_encode(&sb, memset(block, 0, sizeof(block)));
	es_err_clear(&err);
	assert_true(es_super_decode(&out, block, sizeof(block), &err) < 0);
	assert_non_null(strstr(err.msg, "not supported"));

	es_err_clear(&err);
	assert_int_equal(es_super_decode(&out, block, 1100, &err), -ES_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_check_value),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_checksum_covers_block0),
		cmocka_unit_test(test_rejects_bad_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
