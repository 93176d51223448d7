// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target for the boot reader's API (boot/erofs_boot.h): the input is
 * an image given through an in-memory read callback.  It is opened
 * unchecked (the reader alone against hostile structures), and pinned by
 * the SHA-256 of its own manifest (so that a mutant whose seal still
 * parses goes through authentication into the verifying source and the
 * trees), each time with a roomy and with the smallest work buffer, then
 * walked: every directory listed, every inode stat'ed, every file read in
 * part, some paths looked up.  The sources are those of the boot archive,
 * built with ES_FREESTANDING in this program's own flags (sanitizers,
 * libFuzzer coverage).  Built with libFuzzer (ES_LIBFUZZER) it fuzzes;
 * built without it, tests/fuzz/driver.h replays files and folders, or
 * mutates them (`fuzz_boot --mutate N SEED FILE|DIR...`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/seal.h"
#include "erofs/sha256.h"
#include "erofs_boot.h"

#define WALK_MAX	256		/* inodes visited per open */
#define READ_MAX	(64u << 10)	/* bytes read per file */

struct input {
	const uint8_t *data;
	uint64_t size;
};

static int read_mem(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len)
{
	const struct input *in = ctx;

	/* the reader keeps within the size it was told; check that it does */
	if (dev || off > in->size || len > in->size - off)
		abort();
	memcpy(buf, in->data + off, len);
	return 0;
}

struct walk {
	uint64_t nids[WALK_MAX];
	unsigned int n;
};

static int collect(void *ctx, const uint8_t *name, unsigned int len, uint64_t nid,
		   unsigned int type)
{
	struct walk *w = ctx;

	(void)type;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (unsigned int i = 0; i < w->n; i++)
		if (w->nids[i] == nid)
			return 0;
	if (w->n == WALK_MAX)
		return 1;
	w->nids[w->n++] = nid;
	return 0;
}

static void walk(struct erofs_boot *b, uint8_t *buf)
{
	static const char *const paths[] = { "/", "/a/b/c", "//d//bin2/", "/d/link/x", "/..", };
	struct walk *w = calloc(1, sizeof(*w));
	struct es_err err = { 0 };
	uint64_t nid;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		es_err_clear(&err);
		erofs_boot_lookup(b, paths[i], &nid, &err);
	}
	es_err_clear(&err);
	if (!w || erofs_boot_lookup(b, "/", &nid, &err)) {
		free(w);
		return;
	}
	w->nids[w->n++] = nid;
	for (unsigned int i = 0; i < w->n; i++) {
		struct erofs_boot_stat st;
		size_t got;

		es_err_clear(&err);
		if (erofs_boot_stat(b, w->nids[i], &st, &err))
			continue;
		es_err_clear(&err);
		if ((st.mode & 0170000) == 0040000) {
			erofs_boot_readdir(b, w->nids[i], collect, w, &err);
		} else {
			erofs_boot_read(b, w->nids[i], 0, buf, READ_MAX, &got, &err);
			es_err_clear(&err);
			if (st.size > READ_MAX)
				erofs_boot_read(b, w->nids[i], st.size - 100, buf, READ_MAX, &got,
						&err);
		}
	}
	free(w);
}

/* The SHA-256 of the manifest the input's locator points at, if any. */
static int own_digest(const uint8_t *data, size_t size, uint8_t digest[32])
{
	const uint8_t *loc;
	uint64_t off, len;

	if (size < ES_LOCATOR_SIZE)
		return -1;
	loc = data + size - ES_LOCATOR_SIZE;
	off = es_get64(loc + LOC_SECTIONS);
	len = es_get64(loc + LOC_SECTIONS + 8);
	if (memcmp(loc, LOC_MAGIC, 8) || off > size || len > size - off)
		return -1;
	return es_sha256(data + off, (size_t)len, digest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t roomy = EROFS_BOOT_WORK_SIZE(4) + 8 * EROFS_BOOT_SLOT;
	struct input in = { data, size };
	const uint64_t sizes[1] = { size };
	const struct erofs_boot_source src = { read_mem, &in, sizes, 1 };
	uint8_t digest[32];
	bool sealed = own_digest(data, size, digest) == 0;
	void *work = aligned_alloc(8, roomy);
	uint8_t *buf = malloc(READ_MAX);

	for (int mode = 0; work && buf && mode < 4; mode++) {
		enum erofs_boot_trust trust = mode < 2 ? EROFS_BOOT_UNCHECKED :
					      EROFS_BOOT_TRUST_DIGEST;
		struct es_err err = { 0 };
		struct erofs_boot *b;

		if (trust == EROFS_BOOT_TRUST_DIGEST && !sealed)
			break;
		if (erofs_boot_open(&b, work, mode & 1 ? EROFS_BOOT_WORK_MIN : roomy, &src, trust,
				    trust == EROFS_BOOT_UNCHECKED ? NULL : digest, &err) == 0) {
			es_err_clear(&err);
			erofs_boot_unlock(b, EROFS_BOOT_CRED_KEYFILE, "k", 1, NULL, &err);
			walk(b, buf);
		}
	}
	free(buf);
	free(work);
	return 0;
}

#include "driver.h"

