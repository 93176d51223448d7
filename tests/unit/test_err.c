// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for lib/base/err.c: messages that outgrow ES_ERR_MSG_MAX lose
 * their middle, never their end, and paths are shortened in the middle so
 * that the reason after them fits.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "erofs/err.h"

static bool starts_with(const char *s, const char *prefix, size_t n)
{
	return strncmp(s, prefix, n) == 0;
}

static bool ends_with(const char *s, const char *suffix, size_t n)
{
	size_t len = strlen(s);

	return len >= n && memcmp(s + len - n, suffix + strlen(suffix) - n, n) == 0;
}

/* A path of about len bytes: /top/ and 255-byte components, then file. */
static char *deep_path(size_t len, const char *file)
{
	char *p = malloc(len + 300);
	size_t n = 0;

	assert_non_null(p);
	n += (size_t)sprintf(p, "/top/");
	while (n + 256 + strlen(file) < len) {
		memset(p + n, 'a' + (int)(n % 26), 255);
		n += 255;
		p[n++] = '/';
	}
	strcpy(p + n, file);
	return p;
}

static void test_short_path_unchanged(void **state)
{
	char path[ES_MSG_PATH_MAX + 1], buf[ES_MSG_PATH_MAX + 1];

	(void)state;
	assert_string_equal(es_msg_path(buf, "/etc/image.img"), "/etc/image.img");
	/* exactly the bound: still whole */
	memset(path, 'x', ES_MSG_PATH_MAX);
	path[ES_MSG_PATH_MAX] = '\0';
	assert_string_equal(es_msg_path(buf, path), path);
	assert_string_equal(es_msg_path(buf, NULL), "(no path)");
}

static void test_long_path_keeps_start_and_end(void **state)
{
	char *path = deep_path(4000, "the-file-name.img");
	char buf[ES_MSG_PATH_MAX + 1];
	const char *s = es_msg_path(buf, path);

	(void)state;
	assert_ptr_equal(s, buf);
	assert_true(strlen(s) <= ES_MSG_PATH_MAX);
	assert_true(strlen(s) >= ES_MSG_PATH_MAX - 4);
	assert_non_null(strstr(s, ES_MSG_ELLIPSIS));
	assert_true(starts_with(s, path, 40));
	/* the whole file name and some of its directory */
	assert_true(ends_with(s, path, 100));
	assert_true(ends_with(s, "/the-file-name.img", 18));
	free(path);
}

static void test_one_byte_too_long(void **state)
{
	char path[ES_MSG_PATH_MAX + 2], buf[ES_MSG_PATH_MAX + 1];

	(void)state;
	for (int i = 0; i <= ES_MSG_PATH_MAX; i++)
		path[i] = (char)('a' + i % 26);
	path[ES_MSG_PATH_MAX + 1] = '\0';
	es_msg_path(buf, path);
	assert_int_equal(strlen(buf), ES_MSG_PATH_MAX);
	assert_non_null(strstr(buf, ES_MSG_ELLIPSIS));
	assert_true(starts_with(buf, path, 10));
	assert_true(ends_with(buf, path, 100));
}

/* Every multibyte sequence whole: no cut inside a character. */
static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int more = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
			   (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (more < 0)
			return false;
		p++;
		while (more--) {
			if ((*p & 0xc0) != 0x80)
				return false;
			p++;
		}
	}
	return true;
}

static void test_utf8_not_split(void **state)
{
	/* 2-, 3- and 4-byte characters: every possible cut offset is met */
	static const char *const pieces[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80" };
	char path[1200], buf[ES_MSG_PATH_MAX + 1];

	(void)state;
	for (int shift = 0; shift < 6; shift++) {
		size_t n = 0;

		for (int i = 0; i < shift; i++)
			path[n++] = 'x';
		for (int i = 0; n + 4 < sizeof(path) - 1; i++) {
			strcpy(path + n, pieces[i % 3]);
			n += strlen(pieces[i % 3]);
		}
		path[n] = '\0';
		es_msg_path(buf, path);
		assert_true(strlen(buf) <= ES_MSG_PATH_MAX);
		assert_true(valid_utf8(buf));
		assert_non_null(strstr(buf, ES_MSG_ELLIPSIS));
	}
}

static void test_fail_keeps_the_reason(void **state)
{
	char *path = deep_path(4000, "doomed-file");
	struct es_err e = { 0 };
	const char *reason = ": cannot open: No such file or directory";

	(void)state;
	/* a path not shortened by the caller: es_fail itself keeps the end */
	assert_int_equal(es_fail(&e, -2, "%s: cannot open: %s", path,
				 "No such file or directory"), -2);
	assert_int_equal(e.code, -2);
	assert_true(strlen(e.msg) < ES_ERR_MSG_MAX);
	assert_true(strlen(e.msg) >= ES_ERR_MSG_MAX - 5);
	assert_true(ends_with(e.msg, "doomed-file: cannot open: No such file or directory",
			      strlen("doomed-file") + strlen(reason)));
	assert_true(starts_with(e.msg, "/top/", 5));
	assert_non_null(strstr(e.msg, ES_MSG_ELLIPSIS));
	free(path);
}

static void test_fail_with_shortened_paths(void **state)
{
	char *a = deep_path(4000, "from.tmp"), *b = deep_path(3000, "to.img");
	struct es_err e = { 0 };
	char want[ES_ERR_MSG_MAX];

	(void)state;
	/* two ES_PATH() in one call: each has its own buffer */
	es_fail(&e, -5, "cannot rename %s to %s: %s", ES_PATH(a), ES_PATH(b),
		"Input/output error");
	snprintf(want, sizeof(want), "cannot rename %s", ES_PATH(a));
	assert_true(starts_with(e.msg, want, strlen(want)));
	snprintf(want, sizeof(want), " to %s: Input/output error", ES_PATH(b));
	assert_true(ends_with(e.msg, want, strlen(want)));
	free(a);
	free(b);
}

static void test_fail_short_and_first_wins(void **state)
{
	struct es_err e = { 0 };

	(void)state;
	es_fail(&e, -22, "bad %s", "thing");
	assert_string_equal(e.msg, "bad thing");
	assert_int_equal(es_fail(&e, -5, "second"), -5);
	assert_int_equal(e.code, -22);
	assert_string_equal(e.msg, "bad thing");
	assert_int_equal(es_fail(NULL, -1, "nobody listens"), -1);
	es_err_clear(&e);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.msg, "");
}

static void test_prefix_keeps_the_end(void **state)
{
	char body[ES_ERR_MSG_MAX], longprefix[2000];
	struct es_err e = { 0 };

	(void)state;
	es_fail(&e, -117, "short");
	es_err_prefix(&e, "device %u: ", 3);
	assert_string_equal(e.msg, "device 3: short");

	/* a full message: the prefix costs its middle, not its end */
	memset(body, 'm', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	memcpy(body + sizeof(body) - 8, "REASON!", 7);
	es_err_clear(&e);
	es_fail(&e, -117, "%s", body);
	assert_int_equal(strlen(e.msg), ES_ERR_MSG_MAX - 1);
	es_err_prefix(&e, "blob %u: ", 12);
	assert_true(strlen(e.msg) < ES_ERR_MSG_MAX);
	assert_true(starts_with(e.msg, "blob 12: ", 9));
	assert_true(ends_with(e.msg, "REASON!", 7));
	assert_non_null(strstr(e.msg, ES_MSG_ELLIPSIS));

	/* a prefix longer than a whole message */
	memset(longprefix, 'p', sizeof(longprefix) - 1);
	longprefix[sizeof(longprefix) - 1] = '\0';
	es_err_clear(&e);
	es_fail(&e, -117, "the reason");
	es_err_prefix(&e, "%s: ", longprefix);
	assert_true(strlen(e.msg) < ES_ERR_MSG_MAX);
	assert_true(ends_with(e.msg, "p: the reason", 13));

	/* nothing recorded: nothing to prefix */
	es_err_clear(&e);
	es_err_prefix(&e, "device %u: ", 1);
	assert_string_equal(e.msg, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_path_unchanged),
		cmocka_unit_test(test_long_path_keeps_start_and_end),
		cmocka_unit_test(test_one_byte_too_long),
		cmocka_unit_test(test_utf8_not_split),
		cmocka_unit_test(test_fail_keeps_the_reason),
		cmocka_unit_test(test_fail_with_shortened_paths),
		cmocka_unit_test(test_fail_short_and_first_wins),
		cmocka_unit_test(test_prefix_keeps_the_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
