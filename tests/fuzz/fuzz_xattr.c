// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: extended attributes.  The xattrs of every inode reachable
 * from the root, inline and shared, with the library's own buffer and with
 * a small caller's buffer (the boot reader's way: -ENOSPC, never more).
 */
#include "harness.h"

static int xattr_cb(void *ctx, const char *name, const uint8_t *value, size_t value_len,
		    bool shared)
{
	unsigned int index;
	const char *suffix;
	volatile uint8_t sum = 0;

	(void)ctx, (void)shared;
	/* touch every byte, so that ASan sees a value that overruns */
	for (size_t i = 0; i < value_len; i++)
		sum ^= value[i];
	(void)es_xattr_split(name, &index, &suffix);
	(void)es_xattr_prefix(index);
	return 0;
}

static void visit(const struct es_image *img, const struct es_inode *ino, void *ctx)
{
	struct es_err err = { 0 };
	uint8_t scratch[64];

	(void)ctx;
	es_xattr_iterate(img, ino, xattr_cb, NULL, &err);
	es_err_clear(&err);
	es_xattr_iterate_buf(img, ino, xattr_cb, NULL, scratch, sizeof(scratch), &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_copy(data, size);
	struct es_err err = { 0 };
	struct fuzz_img f;

	if (!buf)
		return 0;
	fuzz_fix_super(buf, size);
	if (fuzz_open(&f, buf, size, &err) == 0)
		fuzz_walk(&f.img, visit, NULL);
	fuzz_close(&f);
	free(buf);
	return 0;
}
