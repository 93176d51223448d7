// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/check/walk.c: order, hard links, ancestors, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "erofs/build.h"
#include "erofs/walk.h"

static char tmpdir[64];
static char imgpath[128];

static int setup(void **state)
{
	static const char *const dirs[] = { "src", "src/a", "src/a/b" };
	static const char *const files[] = { "src/a/b/f", "src/h1", "src/z" };
	struct es_build_opts o;
	struct es_err err = { 0 };
	char path[256], src[128];

	(void)state;
	strcpy(tmpdir, "/tmp/es-walk-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	for (size_t i = 0; i < 3; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		fd = open(path, O_WRONLY | O_CREAT, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "x", 1), 1);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/src/h1", tmpdir);
	snprintf(src, sizeof(src), "%s/src/h2", tmpdir);
	assert_int_equal(link(path, src), 0);
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(imgpath, sizeof(imgpath), "%s/t.img", tmpdir);
	es_build_opts_init(&o);
	o.image_path = imgpath;
	o.source_dir = src;
	o.have_timestamp = true;
	o.have_uuid = true;
	assert_int_equal(es_build(&o, NULL, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

struct log {
	char text[2048];
	unsigned int released, released_complete, hard_linked;
	unsigned int reports;
	int fail_at;			/* visit number that returns -EIO, 0: none */
	int problem_at;			/* visit number that reports a problem */
	int visits;
};

static void log_add(struct log *l, const char *fmt, ...)
{
	size_t len = strlen(l->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->text + len, sizeof(l->text) - len, fmt, ap);
	va_end(ap);
}

static int on_visit(void *ctx, struct es_walk *w, const struct es_walk_entry *e)
{
	struct log *l = ctx;

	l->visits++;
	log_add(l, "v%u:%s%s ", e->depth, e->depth ? e->relpath : "/", e->seen ? "(seen)" : "");
	/* the ancestors, by name, and nothing past the parent */
	for (unsigned int d = 0; d < e->depth; d++) {
		const struct es_walk_entry *a = es_walk_dir(w, d);

		assert_non_null(a);
		assert_int_equal(a->depth, d);
		assert_true(S_ISDIR(a->ino->mode));
		assert_int_equal(strncmp(a->relpath, e->relpath, strlen(a->relpath)), 0);
	}
	assert_null(es_walk_dir(w, e->depth));
	if (l->visits == l->problem_at)
		es_walk_problemf(w, e->path, "test problem %d", l->visits);
	return l->visits == l->fail_at ? -EIO : 0;
}

static int on_leave(void *ctx, struct es_walk *w, const struct es_walk_entry *e)
{
	struct log *l = ctx;

	(void)w;
	log_add(l, "l%u:%s/%u ", e->depth, e->depth ? e->relpath : "/", e->subdirs);
	return 0;
}

static void on_release(void *ctx, struct es_walk *w, struct es_walk_inode *rec,
		       bool complete)
{
	struct log *l = ctx;

	(void)w;
	l->released++;
	l->released_complete += complete;
	if (!rec->is_dir && rec->names == 2 && rec->nlink == 2)
		l->hard_linked++;
}

static void on_report(void *ctx, const char *msg)
{
	struct log *l = ctx;

	l->reports++;
	assert_non_null(strstr(msg, "test problem"));
}

static const struct es_walk_ops ops = {
	.visit = on_visit,
	.leave_dir = on_leave,
	.release = on_release,
	.report = on_report,
};

static int walk(struct log *l, struct es_err *err)
{
	struct es_image *img;
	int ret;

	assert_int_equal(es_image_open(&img, imgpath, NULL, err), 0);
	ret = es_walk(img, &ops, l, err);
	es_image_close(img);
	return ret;
}

static void test_order(void **state)
{
	struct es_err err = { 0 };
	struct log l = { .text = "" };

	(void)state;
	assert_int_equal(walk(&l, &err), 0);
	/* directories before their entries, names in order, each inode once */
	assert_string_equal(l.text, "v0:/ v1:/a v2:/a/b v3:/a/b/f l2:/a/b/0 l1:/a/1 "
			    "v1:/h1 v1:/h2(seen) v1:/z l0://1 ");
	assert_int_equal(l.released, 6);
	assert_int_equal(l.released_complete, 6);
	assert_int_equal(l.hard_linked, 1);
	assert_int_equal(l.reports, 0);
}

static void test_callback_error(void **state)
{
	struct es_err err = { 0 };
	struct log l = { .text = "", .fail_at = 3 };

	(void)state;
	assert_int_equal(walk(&l, &err), -EIO);
	assert_string_equal(l.text, "v0:/ v1:/a v2:/a/b ");
	/* every inode reached is released, and told the walk did not finish */
	assert_int_equal(l.released, 3);
	assert_int_equal(l.released_complete, 0);
}

static void test_problem(void **state)
{
	struct es_err err = { 0 };
	struct log l = { .text = "", .problem_at = 4 };

	(void)state;
	/* a problem is counted and reported, and the walk goes on */
	assert_int_equal(walk(&l, &err), -ES_ECORRUPT);
	assert_int_equal(l.reports, 1);
	assert_int_equal(l.visits, 7);
	assert_string_equal(err.msg, "/a/b/f: test problem 4");
}

/* A subtree: its top is visited as the root, and its ".." is not the top's own. */
static void test_subtree(void **state)
{
	struct es_err err = { 0 };
	struct log l = { .text = "" };
	struct es_image *img;
	uint64_t nid;

	(void)state;
	assert_int_equal(es_image_open(&img, imgpath, NULL, &err), 0);
	assert_int_equal(es_lookup(img, "/a", &nid, &err), 0);
	assert_int_equal(es_walk_from(img, nid, &ops, &l, &err), 0);
	assert_string_equal(l.text, "v0:/ v1:/b v2:/b/f l1:/b/0 l0://1 ");
	assert_int_equal(l.reports, 0);
	assert_int_equal(l.released, 3);
	/* a file is visited alone */
	assert_int_equal(es_lookup(img, "/z", &nid, &err), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(es_walk_from(img, nid, &ops, &l, &err), 0);
	assert_string_equal(l.text, "v0:/ ");
	assert_int_equal(l.released, 1);
	es_image_close(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_problem),
		cmocka_unit_test(test_subtree),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
