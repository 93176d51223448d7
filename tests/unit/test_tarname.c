// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for lib/build/tarname.c: the path a tar member lands on in the
 * image (what GNU tar would extract it to, or a refusal) and what a ".wh."
 * name means to overlayfs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "build/tarname.h"

static void normalizes(const char *in, const char *want)
{
	char *out = NULL;

	assert_int_equal(wb_tar_normalize(in, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void refuses(const char *in, int err)
{
	char *out = NULL;

	assert_int_equal(wb_tar_normalize(in, &out), err);
	assert_null(out);
}

static void test_normalize(void **state)
{
	(void)state;
	normalizes("a/b/c", "a/b/c");
	normalizes("./a/b", "a/b");
	normalizes("/abs/file", "abs/file");		/* as GNU tar: '/' dropped */
	normalizes("///x//y/", "x/y");
	normalizes("a/./b/.", "a/b");
	normalizes(".", "");
	normalizes("./", "");
	normalizes("/", "");
	normalizes("..x/x..", "..x/x..");		/* only ".." itself climbs */
	normalizes("...", "...");
	refuses("..", -EINVAL);
	refuses("../etc/passwd", -EINVAL);
	refuses("a/../../evil", -EINVAL);
	refuses("a/..", -EINVAL);
	refuses("/..", -EINVAL);
}

static void test_component_length(void **state)
{
	char name[300];

	(void)state;
	memset(name, 'n', 255);
	name[255] = '\0';
	normalizes(name, name);
	memset(name, 'n', 256);
	name[256] = '\0';
	refuses(name, -ENAMETOOLONG);
}

static enum wb_tar_whiteout kind(const char *base, const char **target, size_t *tlen)
{
	return wb_tar_whiteout_kind(base, strlen(base), target, tlen);
}

static void test_whiteouts(void **state)
{
	const char *t = NULL;
	size_t tl = 0;

	(void)state;
	assert_int_equal(kind("file", &t, &tl), WB_TAR_PLAIN);
	assert_int_equal(kind(".wh", &t, &tl), WB_TAR_PLAIN);
	assert_int_equal(kind("x.wh.y", &t, &tl), WB_TAR_PLAIN);
	assert_int_equal(kind(".wh.gone", &t, &tl), WB_TAR_WHITEOUT);
	assert_int_equal(tl, 4);
	assert_memory_equal(t, "gone", 4);
	assert_int_equal(kind(".wh..hidden", &t, &tl), WB_TAR_WHITEOUT);
	assert_int_equal(tl, 7);
	assert_memory_equal(t, ".hidden", 7);
	assert_int_equal(kind(".wh..wh..opq", &t, &tl), WB_TAR_OPAQUE);
	assert_int_equal(kind(".wh..wh.plnk", &t, &tl), WB_TAR_AUFS_META);
	assert_int_equal(kind(".wh..wh.aufs", &t, &tl), WB_TAR_AUFS_META);
	assert_int_equal(kind(".wh.", &t, &tl), WB_TAR_BAD);
	assert_int_equal(kind(".wh..", &t, &tl), WB_TAR_BAD);
	assert_int_equal(kind(".wh...", &t, &tl), WB_TAR_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_component_length),
		cmocka_unit_test(test_whiteouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
