// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/build/build.c through the reader: build a tree, read it back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>
#include <cmocka.h>
#include "erofs/build.h"
#include "erofs/check.h"
#include "erofs/format.h"
#include "erofs/image.h"

static char tmpdir[64];

static void write_file(const char *rel, const void *data, size_t len, off_t at)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/src/%s", tmpdir, rel);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, at), (ssize_t)len);
	close(fd);
}

static int setup(void **state)
{
	char path[256];
	uint8_t block[4096];

	(void)state;
	strcpy(tmpdir, "/tmp/es-unit-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/src", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/src/dir", tmpdir);
	mkdir(path, 0755);
	for (int i = 0; i < 4096; i++)
		block[i] = (uint8_t)(i * 7 + 3);
	/* the same 4 KiB block 5 times in one file, and once in another */
	for (int i = 0; i < 5; i++)
		write_file("rep", block, sizeof(block), (off_t)i * 4096);
	write_file("dir/copy", block, sizeof(block), 0);
	write_file("small", "hello", 5, 0);
	/* a file with a hole in the middle and a tail */
	write_file("holey", block, sizeof(block), 0);
	write_file("holey", "end", 3, 64 * 4096);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

static void build(uint64_t chunksize, const char *out)
{
	struct es_build_opts o;
	struct es_build_stats st;
	struct es_err err = { 0 };
	char src[128], img[128];

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(img, sizeof(img), "%s/%s", tmpdir, out);
	es_build_opts_init(&o);
	o.image_path = img;
	o.source_dir = src;
	o.chunksize = chunksize;
	o.have_timestamp = true;
	o.timestamp = 1000;
	o.have_uuid = true;
	assert_int_equal(es_build(&o, &st, &err), 0);
	if (chunksize) {
		/* rep: 5 chunks, 1 stored; dir/copy: deduped; holey: 64 holes */
		assert_true(st.chunks_deduped >= 5);
		assert_true(st.chunks_holes >= 63);
	}
}

static void read_back(const char *name, bool chunked)
{
	struct es_image *img;
	struct es_err err = { 0 };
	struct es_inode ino;
	struct es_stats st;
	char path[128];
	uint8_t buf[4096];
	uint64_t nid;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(es_image_open(&img, path, NULL, &err), 0);
	assert_int_equal(es_check(img, &(struct es_check_opts){ .xattrs = true },
				  NULL, &err), 0);
	assert_int_equal(es_lookup(img, "/small", &nid, &err), 0);
	assert_int_equal(es_inode_read(img, nid, &ino, &err), 0);
	assert_int_equal(ino.size, 5);
	assert_int_equal(es_read(img, &ino, 0, buf, 5, &err), 0);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(es_lookup(img, "/holey", &nid, &err), 0);
	assert_int_equal(es_inode_read(img, nid, &ino, &err), 0);
	assert_int_equal(ino.layout, EROFS_LAYOUT_CHUNK_BASED);	/* sparse */
	assert_int_equal(es_read(img, &ino, 10 * 4096, buf, 16, &err), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(es_read(img, &ino, 64 * 4096, buf, 3, &err), 0);
	assert_memory_equal(buf, "end", 3);
	assert_int_equal(es_lookup(img, "/nope", &nid, &err), -ENOENT);
	assert_int_equal(es_image_stats(img, &st, &err), 0);
	assert_int_equal(st.regular_files, 4);
	if (chunked)
		assert_true(st.shared_chunks >= 5);
	es_image_close(img);
}

static void test_plain(void **state)
{
	(void)state;
	build(0, "plain.img");
	read_back("plain.img", false);
}

static void test_chunked(void **state)
{
	(void)state;
	build(4096, "chunk.img");
	read_back("chunk.img", true);
}

static void test_reproducible(void **state)
{
	char cmd[256];

	(void)state;
	build(4096, "a.img");
	build(4096, "b.img");
	snprintf(cmd, sizeof(cmd), "cmp -s %s/a.img %s/b.img", tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void test_bad_options(void **state)
{
	struct es_build_opts o;
	struct es_err err = { 0 };

	(void)state;
	es_build_opts_init(&o);
	o.image_path = "/nonexistent/x.img";
	o.source_dir = "/";
	o.chunksize = 3000;
	assert_int_equal(es_build(&o, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "power of two"));
	es_err_clear(&err);
	o.chunksize = 0;
	o.blobdev_path = "x";
	assert_int_equal(es_build(&o, NULL, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
