// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keyarea_tool: key areas for the integration tests, until mkfs.erofs
 * --encrypt makes them, and the crash harness.
 *
 *   keyarea_tool create OUT --uuid HEX --entries N [--pbkdf-memory KIB]
 *                [--pbkdf-iterations N] --keyslot SPEC...
 *       a detached key area for a table of N entries whose plaintext is
 *       table_fill() below; prints its table digest and the SHA-256 of the
 *       plaintext (what the oracle must find after decrypting)
 *   keyarea_tool embed IMAGE AREA [--keep-manifest | --manifest-only]
 *       put a key area into a sealed, unencrypted image as mkfs will: after
 *       the chunk index, before the locator (which gets the key area's
 *       place and a new checksum); the manifest is marked as naming suite
 *       1 and the area's table digest (not with --keep-manifest, which
 *       leaves an image today's readers check whole; --manifest-only
 *       changes only the manifest, for a detached AREA).  The image is not
 *       re-signed.
 *   keyarea_tool vectors DIR
 *       the keyslot test vectors as libcore computes them (credential files
 *       go to DIR)
 *   keyarea_tool crash DIR
 *       the fault-injection harness (keyarea_crash.c); DIR holds k0..k3,
 *       seed, x.key and x.pub
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "erofs/format.h"
#include "erofs/keyarea.h"
#include "erofs/sha256.h"
#include "keyarea_tool.h"
#include "../unit/keyslot_vectors.h"

void table_fill(const uint8_t uuid[16], uint64_t entries, uint8_t *plain)
{
	for (uint64_t i = 0; i < entries * ES_KT_ENTRY_SIZE; i++)
		plain[i] = (uint8_t)(uuid[i % 16] + 13 * i + (i >> 9));
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "keyarea_tool: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 1;
}

static void print_hex(const char *name, const uint8_t *p, size_t len)
{
	printf("%s = ", name);
	for (size_t i = 0; i < len; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int parse_hex(const char *s, uint8_t *out, size_t len)
{
	if (strlen(s) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return 0;
}

static int write_all(int fd, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	struct es_keyslot_cred *creds[ES_KEYAREA_SLOTS];
	struct es_keyarea_table t = { .suite = ES_SUITE_XTS_V1 };
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1, .gen = 1 };
	struct es_keyslot_policy policy = { .lanes = 1 };
	struct es_err err = { 0 };
	unsigned int n = 0;
	uint8_t *plain, *digests, *area, sum[32];
	size_t area_len;
	const char *out = argv[2];
	int fd, ret;

	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--uuid")) {
			if (parse_hex(argv[i + 1], t.uuid, 16))
				return die("bad uuid %s", argv[i + 1]);
		} else if (!strcmp(argv[i], "--entries")) {
			t.entries = strtoull(argv[i + 1], NULL, 10);
		} else if (!strcmp(argv[i], "--pbkdf-memory")) {
			policy.m_cost_kib = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		} else if (!strcmp(argv[i], "--pbkdf-iterations")) {
			policy.t_cost = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		} else if (!strcmp(argv[i], "--keyslot")) {
			if (n == ES_KEYAREA_SLOTS)
				return die("too many slots");
			if (es_keyslot_cred_load(argv[i + 1], ES_KEYSLOT_FOR_ADD, NULL, &creds[n],
						 &err))
				return die("%s", err.msg);
			n++;
		} else {
			return die("unknown option %s", argv[i]);
		}
	}
	if (!t.entries || t.entries > 1000000)
		return die("--entries from 1 to 1000000");
	plain = malloc(t.entries * ES_KT_ENTRY_SIZE);
	digests = malloc(es_keytable_nseg(t.entries) * 32);
	if (!plain || !digests)
		return die("out of memory");
	table_fill(t.uuid, t.entries, plain);
	memcpy(info.uuid, t.uuid, 16);
	info.entries = t.entries;
	if (es_keytable_digests(&info, plain, digests, t.table_digest))
		return die("cannot compute the digests");
	t.digests = digests;
	t.plain = plain;
	ret = es_keyarea_create(&t, creds, n, &policy, &area, &area_len, &err);
	for (unsigned int i = 0; i < n; i++)
		es_keyslot_cred_free(creds[i]);
	if (ret)
		return die("%s", err.msg);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write_all(fd, 0, area, area_len) || fsync(fd) || close(fd))
		return die("cannot write %s", out);
	print_hex("table_digest", t.table_digest, 32);
	es_sha256(plain, t.entries * ES_KT_ENTRY_SIZE, sum);
	print_hex("table_sha256", sum, 32);
	printf("size = %zu\n", area_len);
	free(area);
	free(plain);
	free(digests);
	return 0;
}

/* docs/FORMAT.md 2.1 and 2.2 */
#define LOC_KEYS	104
#define LOC_CHECKSUM	120
#define MF_SUITE	48
#define MF_TABLE_DIGEST	56

static int cmd_embed(const char *image, const char *area_path, bool keep_manifest,
		     bool manifest_only)
{
	uint8_t loc[4096], *area;
	struct stat st;
	uint64_t loc_off, mf_off;
	int fd, afd;
	ssize_t n;

	fd = open(image, O_RDWR);
	afd = open(area_path, O_RDONLY);
	if (fd < 0 || afd < 0 || fstat(afd, &st))
		return die("cannot open %s or the area", image);
	area = malloc((size_t)st.st_size);
	if (!area || read(afd, area, (size_t)st.st_size) != st.st_size)
		return die("cannot read %s", area_path);
	loc_off = (uint64_t)lseek(fd, 0, SEEK_END) - 4096;
	if (pread(fd, loc, sizeof(loc), (off_t)loc_off) != (ssize_t)sizeof(loc) ||
	    memcmp(loc, "EROFSEAL", 8))
		return die("%s: no seal", image);
	if (es_get64(loc + LOC_KEYS + 8))
		return die("%s: already has a key area", image);
	if (st.st_size % 4096)
		return die("%s: not a multiple of 4096 bytes", area_path);
	/* the manifest names suite 1 and the table digest of the area's copy A */
	mf_off = es_get64(loc + 40);
	if (!keep_manifest) {
		uint8_t suite[4];

		es_put32(suite, ES_SUITE_XTS_V1);
		n = pwrite(fd, suite, 4, (off_t)(mf_off + MF_SUITE));
		if (n != 4 || write_all(fd, mf_off + MF_TABLE_DIGEST, area + 80, 32))
			return die("cannot write the manifest of %s", image);
	}
	if (manifest_only) {
		close(fd);
		close(afd);
		free(area);
		return 0;
	}
	es_put64(loc + LOC_KEYS, loc_off);
	es_put64(loc + LOC_KEYS + 8, (uint64_t)st.st_size);
	es_sha256(loc, LOC_CHECKSUM, loc + LOC_CHECKSUM);
	if (write_all(fd, loc_off, area, (size_t)st.st_size) ||
	    write_all(fd, loc_off + (uint64_t)st.st_size, loc, sizeof(loc)) || fsync(fd))
		return die("cannot write %s", image);
	printf("key_area_offset = %llu\n", (unsigned long long)loc_off);
	printf("key_area_size = %llu\n", (unsigned long long)st.st_size);
	close(fd);
	close(afd);
	free(area);
	return 0;
}

static int cmd_vectors(const char *dir)
{
	static char buf[16384];

	if (ksv_compute(dir, buf, sizeof(buf))) {
		fputs(buf, stderr);
		return 1;
	}
	fputs(buf, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "create"))
		return cmd_create(argc, argv);
	if ((argc == 4 || (argc == 5 && (!strcmp(argv[4], "--keep-manifest") ||
					   !strcmp(argv[4], "--manifest-only")))) &&
	    !strcmp(argv[1], "embed"))
		return cmd_embed(argv[2], argv[3], argc == 5 && !strcmp(argv[4], "--keep-manifest"),
				 argc == 5 && !strcmp(argv[4], "--manifest-only"));
	if (argc == 3 && !strcmp(argv[1], "vectors"))
		return cmd_vectors(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "crash"))
		return crash_main(argv[2]);
	fprintf(stderr, "usage: keyarea_tool create OUT --uuid HEX --entries N --keyslot SPEC... |"
		" embed IMAGE AREA | vectors DIR | crash DIR\n");
	return 2;
}
