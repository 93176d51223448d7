// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for lib/seal/verify_image.c, the trust pipeline, over the
 * memory source: what each step reports, and that a filesystem region
 * that fails its tree is never parsed.
 */
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
#include "erofs/sign.h"
#include "erofs/verify.h"

static char tmpdir[64];
static uint8_t *sealed, *plain;
static size_t sealed_len, plain_len;

static uint8_t *build(bool seal, const char *name, size_t *len)
{
	struct es_build_opts o;
	struct es_err err = { 0 };
	char src[128], img[128];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(img, sizeof(img), "%s/%s", tmpdir, name);
	es_build_opts_init(&o);
	o.image_path = img;
	o.source_dir = src;
	o.seal = seal;
	o.have_timestamp = true;
	o.timestamp = 1000;
	o.have_uuid = true;
	assert_int_equal(es_build(&o, NULL, &err), 0);
	fd = open(img, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, *len), (ssize_t)*len);
	close(fd);
	return buf;
}

static int setup(void **state)
{
	char path[256];
	FILE *f;

	(void)state;
	strcpy(tmpdir, "/tmp/es-unit-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/src", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/src/file", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 3000; i++)
		fprintf(f, "line %d of a file of several blocks\n", i);
	fclose(f);
	sealed = build(true, "sealed.img", &sealed_len);
	plain = build(false, "plain.img", &plain_len);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(sealed);
	free(plain);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

/* The pipeline over one buffer held in memory. */
static void run(const uint8_t *data, size_t len, const struct es_trust *t,
		const struct es_verify_opts *o, struct es_verify_report *r)
{
	const struct es_io_mem_dev dev = { .data = data, .size = len };
	struct es_io_mem mem;
	struct es_io io;
	struct es_err err = { 0 };

	es_io_mem_init(&io, &mem, &dev, 1);
	assert_int_equal(es_verify_image(&io, t, o, r, &err), 0);
	/* the report must not need the source after this (img aside) */
	es_image_close(r->img);
	r->img = NULL;
}

static const struct es_verify_opts checking = { .nthreads = 1, .check_devices = true };

static void test_pristine(void **state)
{
	struct es_verify_report r;

	(void)state;
	run(sealed, sealed_len, NULL, &checking, &r);
	assert_int_equal(r.read_status, 0);
	assert_int_equal(r.auth_status, -ENOKEY);	/* no anchors */
	assert_int_equal(r.parse_status, 0);
	assert_int_equal(r.ndevices, 1);
	assert_int_equal(r.devices[0].state, ES_VERIFY_VERIFIED);
	assert_true(r.image_read);
	assert_int_equal(r.match_status, 0);
	assert_int_equal(es_verify_count(&r, ES_VERIFY_VERIFIED), 1);
	es_verify_report_free(&r);
}

static void test_pinned_digest(void **state)
{
	struct es_verify_report r;
	struct es_err err = { 0 };
	struct es_trust *t;
	uint8_t digest[32];

	(void)state;
	run(sealed, sealed_len, NULL, &checking, &r);
	memcpy(digest, r.auth.manifest_digest, 32);
	es_verify_report_free(&r);
	assert_int_equal(es_trust_new(&t, &err), 0);
	assert_int_equal(es_trust_add_manifest_digest(t, digest, &err), 0);
	run(sealed, sealed_len, t, &checking, &r);
	assert_int_equal(r.auth_status, 0);
	assert_int_equal(r.auth.by, ES_AUTH_DIGEST);
	es_verify_report_free(&r);
	/* another digest pinned: not authenticated, and said so */
	digest[0] ^= 1;
	es_trust_free(t);
	assert_int_equal(es_trust_new(&t, &err), 0);
	assert_int_equal(es_trust_add_manifest_digest(t, digest, &err), 0);
	run(sealed, sealed_len, t, &checking, &r);
	assert_int_equal(r.auth_status, -EKEYREJECTED);
	assert_int_equal(r.auth.digest, ES_DIGEST_MISMATCH);
	assert_non_null(strstr(r.auth_err.msg, "not a pinned one"));
	/* the devices are still checked: the caller decides */
	assert_int_equal(r.devices[0].state, ES_VERIFY_VERIFIED);
	es_verify_report_free(&r);
	es_trust_free(t);
}

/*
 * A superblock the parser rejects (an unknown incompatible feature, its
 * checksum left wrong or not): the region fails its tree first, and the
 * superblock is not parsed unless the caller asks.
 */
static void test_tampered_superblock(void **state)
{
	const struct es_verify_opts unverified = {
		.nthreads = 1, .check_devices = true, .parse_unverified = true,
	};
	struct es_verify_report r;
	uint8_t *copy = malloc(sealed_len);

	(void)state;
	assert_non_null(copy);
	memcpy(copy, sealed, sealed_len);
	copy[EROFS_SUPER_OFFSET + SB_FEATURE_INCOMPAT + 3] |= 0x40;
	run(copy, sealed_len, NULL, &checking, &r);
	assert_int_equal(r.devices[0].state, ES_VERIFY_FAILED);
	assert_int_equal(r.devices[0].err.code, -EBADMSG);
	assert_non_null(strstr(r.devices[0].err.msg, "filesystem region (device 0): block 0 "
				"fails its Merkle tree"));
	assert_false(r.image_read);
	assert_int_equal(r.image_status, 0);	/* not even tried */
	es_verify_report_free(&r);
	/* asked to, it parses: and the parser would have said something else */
	run(copy, sealed_len, NULL, &unverified, &r);
	assert_int_equal(r.devices[0].state, ES_VERIFY_FAILED);
	assert_false(r.image_read);
	assert_true(r.image_status == -ES_ECORRUPT || r.image_status == -EOPNOTSUPP);
	es_verify_report_free(&r);
	free(copy);
}

static void test_unsealed(void **state)
{
	const struct es_verify_opts viewer = { .parse_unverified = true };
	struct es_verify_report r;

	(void)state;
	run(plain, plain_len, NULL, &checking, &r);
	assert_int_equal(r.read_status, -ENODATA);
	assert_null(r.seal);
	assert_int_equal(r.ndevices, 0);
	assert_false(r.image_read);
	es_verify_report_free(&r);
	run(plain, plain_len, NULL, &viewer, &r);
	assert_int_equal(r.read_status, -ENODATA);
	assert_true(r.image_read);
	es_verify_report_free(&r);
}

/* A source whose device 0 is a container (a block device), over memory. */
static struct es_io container_inner;

static int container_stat(void *ctx, unsigned int dev, const uint8_t *tag,
			  struct es_io_dev *info, struct es_err *err)
{
	int ret = es_io_stat(&container_inner, dev, tag, info, err);

	(void)ctx;
	info->container = true;
	return ret;
}

static int container_read(void *ctx, unsigned int dev, uint64_t off, void *buf,
			  size_t len, struct es_err *err)
{
	(void)ctx;
	return es_io_read(&container_inner, dev, off, buf, len, err);
}

/* fsck's judgement: bytes after an unsealed image are fine on a container only. */
static void test_unsealed_container(void **state)
{
	const struct es_verify_opts fsck = {
		.nthreads = 1, .check_devices = true, .parse_unverified = true,
		.open_image = true,
	};
	size_t padded_len = plain_len + 65536;
	uint8_t *padded = calloc(1, padded_len);
	const struct es_io_mem_dev dev = { .data = padded, .size = padded_len };
	struct es_io_mem mem;
	struct es_io io = { .stat = container_stat, .read = container_read };
	struct es_verify_report r;
	struct es_seal_summary sum;
	struct es_err err = { 0 };

	(void)state;
	assert_non_null(padded);
	memcpy(padded, plain, plain_len);
	/* a plain file: the bytes after the filesystem are a problem */
	es_io_mem_init(&container_inner, &mem, &dev, 1);
	assert_int_equal(es_verify_image(&container_inner, NULL, &fsck, &r, &err), 0);
	assert_non_null(r.img);
	assert_false(r.container);
	assert_int_equal(es_check_seal(&r, false, NULL, NULL, &sum, &err), -ES_ECORRUPT);
	assert_non_null(strstr(err.msg, "bytes follow the filesystem"));
	assert_true(sum.unreadable);
	es_verify_report_free(&r);
	/* a block device larger than the image: fine */
	es_err_clear(&err);
	assert_int_equal(es_verify_image(&io, NULL, &fsck, &r, &err), 0);
	assert_true(r.container);
	assert_int_equal(es_check_seal(&r, false, NULL, NULL, &sum, &err), 0);
	assert_false(sum.sealed);
	es_verify_report_free(&r);
	/* with anchors an unsealed image is refused, and not parsed */
	es_err_clear(&err);
	{
		const struct es_verify_opts anchored = {
			.nthreads = 1, .check_devices = true, .open_image = true,
		};

		assert_int_equal(es_verify_image(&io, NULL, &anchored, &r, &err), 0);
		assert_null(r.img);
		assert_false(r.image_read);
		assert_int_equal(es_check_seal(&r, true, NULL, NULL, &sum, &err), -ES_ECORRUPT);
		assert_non_null(strstr(err.msg, "cannot be authenticated"));
		es_verify_report_free(&r);
	}
	free(padded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pristine),
		cmocka_unit_test(test_pinned_digest),
		cmocka_unit_test(test_tampered_superblock),
		cmocka_unit_test(test_unsealed),
		cmocka_unit_test(test_unsealed_container),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
