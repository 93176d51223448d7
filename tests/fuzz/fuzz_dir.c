// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: directories.  Every directory reachable from the root is
 * iterated (es_dir_iterate validates each block), and paths made of the
 * names it holds, and some awkward ones, are looked up (es_lookup).
 */
#include "harness.h"

#define NAMES	8

struct names {
	char path[NAMES][EROFS_NAME_MAX + 2];
	char two[2 * (EROFS_NAME_MAX + 1) + 1];
	unsigned int n;
};

static int collect_names(void *ctx, const uint8_t *name, unsigned int len, uint64_t nid,
			 unsigned int ftype)
{
	struct names *nm = ctx;

	(void)nid, (void)ftype;
	if (nm->n == NAMES)
		return 1;
	nm->path[nm->n][0] = '/';
	memcpy(nm->path[nm->n] + 1, name, len);
	nm->path[nm->n][len + 1] = '\0';
	nm->n++;
	return 0;
}

static void visit(const struct es_image *img, const struct es_inode *ino, void *ctx)
{
	struct es_err err = { 0 };

	(void)ctx;
	if (ES_S_ISDIR(ino->mode))
		es_dir_iterate(img, ino, collect_names, &(struct names){ 0 }, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {
		"/", "//", "/a/b/c", "/./a", "/a/../a", "/d/x1", "//d//bin2/",
		"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z",
	};
	uint8_t *buf = fuzz_copy(data, size);
	struct es_err err = { 0 };
	struct fuzz_img f;

	if (!buf)
		return 0;
	fuzz_fix_super(buf, size);
	if (fuzz_open(&f, buf, size, &err) == 0) {
		struct names *nm = calloc(1, sizeof(*nm));
		struct es_inode root;
		char longname[EROFS_NAME_MAX + 3];
		uint64_t nid;

		fuzz_walk(&f.img, visit, NULL);
		es_err_clear(&err);
		if (nm && es_inode_read(&f.img, f.img.sb.root_nid, &root, &err) == 0 &&
		    ES_S_ISDIR(root.mode))
			es_dir_iterate(&f.img, &root, collect_names, nm, &err);
		for (unsigned int i = 0; nm && i < nm->n; i++) {
			es_err_clear(&err);
			if (es_lookup(&f.img, nm->path[i], &nid, &err) == 0) {
				/* one level down: the first name again under it */
				snprintf(nm->two, sizeof(nm->two), "%s%s", nm->path[i],
					 nm->path[0]);
				es_err_clear(&err);
				es_lookup(&f.img, nm->two, &nid, &err);
			}
		}
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			es_err_clear(&err);
			es_lookup(&f.img, fixed[i], &nid, &err);
		}
		longname[0] = '/';
		memset(longname + 1, 'x', EROFS_NAME_MAX + 1);
		longname[EROFS_NAME_MAX + 2] = '\0';
		es_err_clear(&err);
		es_lookup(&f.img, longname, &nid, &err);
		free(nm);
	}
	fuzz_close(&f);
	free(buf);
	return 0;
}
