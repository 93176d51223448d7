// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/inode.c helpers and lib/dir.c name order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "erofs/format.h"
#include "erofs/image.h"

static void test_rdev_encoding(void **state)
{
	uint32_t major, minor;

	(void)state;
	/* values the Linux kernel produced for mkfs images (new_encode_dev) */
	assert_int_equal(es_encode_rdev(8, 1), 0x801);
	assert_int_equal(es_encode_rdev(1, 3), 0x103);
	assert_int_equal(es_encode_rdev(259, 0x12345), (0x12345 & 0xff) | (259 << 8) |
			 ((0x12345 & ~0xffu) << 12));
	es_decode_rdev(es_encode_rdev(259, 0x12345), &major, &minor);
	assert_int_equal(major, 259);
	assert_int_equal(minor, 0x12345);
}

static void test_ftype(void **state)
{
	(void)state;
	assert_int_equal(es_mode_to_ftype(S_IFREG | 0644), EROFS_FT_REG_FILE);
	assert_int_equal(es_mode_to_ftype(S_IFDIR | 0755), EROFS_FT_DIR);
	assert_int_equal(es_mode_to_ftype(S_IFLNK | 0777), EROFS_FT_SYMLINK);
	assert_int_equal(es_mode_to_ftype(S_IFSOCK), EROFS_FT_SOCK);
	assert_int_equal(es_mode_to_ftype(0170000 & ~S_IFMT), EROFS_FT_UNKNOWN);
}

static void test_name_order(void **state)
{
	(void)state;
	/* memcmp order with prefixes first: what kernel lookups rely on */
	assert_true(es_name_cmp((const uint8_t *)"!bang", 5, (const uint8_t *)".", 1) < 0);
	assert_true(es_name_cmp((const uint8_t *)".", 1, (const uint8_t *)"..", 2) < 0);
	assert_true(es_name_cmp((const uint8_t *)"ab", 2, (const uint8_t *)"abc", 3) < 0);
	assert_true(es_name_cmp((const uint8_t *)"\xff", 1, (const uint8_t *)"z", 1) > 0);
	assert_int_equal(es_name_cmp((const uint8_t *)"same", 4, (const uint8_t *)"same", 4), 0);
}

static void test_xattr_names(void **state)
{
	unsigned int index;
	const char *suffix;

	(void)state;
	assert_true(es_xattr_split("user.foo", &index, &suffix));
	assert_int_equal(index, EROFS_XATTR_INDEX_USER);
	assert_string_equal(suffix, "foo");
	assert_true(es_xattr_split("security.capability", &index, &suffix));
	assert_int_equal(index, EROFS_XATTR_INDEX_SECURITY);
	assert_true(es_xattr_split("system.posix_acl_access", &index, &suffix));
	assert_int_equal(index, EROFS_XATTR_INDEX_POSIX_ACL_ACCESS);
	assert_string_equal(suffix, "");
	assert_false(es_xattr_split("system.nfs4_acl", &index, &suffix));
	assert_false(es_xattr_split("user.", &index, &suffix));
	assert_string_equal(es_xattr_prefix(EROFS_XATTR_INDEX_TRUSTED), "trusted.");
	assert_null(es_xattr_prefix(5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rdev_encoding),
		cmocka_unit_test(test_ftype),
		cmocka_unit_test(test_name_order),
		cmocka_unit_test(test_xattr_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
