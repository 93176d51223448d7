// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Directories: validated iteration and path lookup. */
#include <errno.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/image.h"

/* The first c in p[0..n), or NULL (memchr, which a boot loader may lack). */
static const uint8_t *find_byte(const uint8_t *p, size_t n, uint8_t c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == c)
			return p + i;
	return NULL;
}

/* memcmp order, a shorter name before a longer one it prefixes */
int es_name_cmp(const uint8_t *a, unsigned int alen, const uint8_t *b, unsigned int blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int es_dir_iterate(const struct es_image *img, const struct es_inode *dir,
		   es_dirent_cb cb, void *ctx, struct es_err *err)
{
	const uint32_t blksz = img->sb.blksz;
	uint8_t prev[EROFS_NAME_MAX];
	unsigned int prevlen = 0;
	bool have_prev = false;
	uint8_t block[ES_MAX_BLKSZ];	/* the superblock allows no larger block */
	int ret = 0;

	if (!ES_S_ISDIR(dir->mode))
		return es_fail(err, -ENOTDIR, "nid %llu is not a directory",
			       (unsigned long long)dir->nid);
	if (!dir->size)
		return es_fail(err, -ES_ECORRUPT, "nid %llu: empty directory "
			       "(no \".\" and \"..\" entries)", (unsigned long long)dir->nid);
	for (uint64_t pos = 0; pos < dir->size && ret == 0; pos += blksz) {
		uint32_t blen = dir->size - pos < blksz ? (uint32_t)(dir->size - pos) : blksz;
		unsigned int count, nameoff0;

		ret = es_read(img, dir, pos, block, blen, err);
		if (ret)
			break;
		if (blen < EROFS_DIRENT_SIZE) {
			ret = es_fail(err, -ES_ECORRUPT, "directory block %llu is too short",
				      (unsigned long long)(pos / blksz));
			break;
		}
		nameoff0 = es_get16(block + DIRENT_NAMEOFF);
		if (nameoff0 < EROFS_DIRENT_SIZE || nameoff0 % EROFS_DIRENT_SIZE ||
		    nameoff0 >= blen) {
			ret = es_fail(err, -ES_ECORRUPT, "directory block %llu: bogus first "
				      "name offset %u", (unsigned long long)(pos / blksz), nameoff0);
			break;
		}
		count = nameoff0 / EROFS_DIRENT_SIZE;
		for (unsigned int i = 0; i < count; i++) {
			const uint8_t *de = block + i * EROFS_DIRENT_SIZE;
			unsigned int off = es_get16(de + DIRENT_NAMEOFF), end, len;
			unsigned int ftype = de[DIRENT_FILE_TYPE];

			if (i + 1 < count) {
				end = es_get16(de + EROFS_DIRENT_SIZE + DIRENT_NAMEOFF);
			} else {
				const uint8_t *nul = off < blen ?
					find_byte(block + off, blen - off, 0) : NULL;

				end = nul ? (unsigned int)(nul - block) : blen;
			}
			if (off < nameoff0 || off >= blen || end <= off || end > blen) {
				ret = es_fail(err, -ES_ECORRUPT, "directory block %llu, entry "
					      "%u: bogus name offset %u", (unsigned long long)(pos / blksz),
					      i, off);
				break;
			}
			len = end - off;
			if (len > EROFS_NAME_MAX) {
				ret = es_fail(err, -ES_ECORRUPT, "directory block %llu, entry "
					      "%u: name longer than 255 bytes",
					      (unsigned long long)(pos / blksz), i);
				break;
			}
			if (find_byte(block + off, len, '/') || find_byte(block + off, len, 0)) {
				ret = es_fail(err, -ES_ECORRUPT, "directory block %llu, entry "
					      "%u: name contains '/' or NUL",
					      (unsigned long long)(pos / blksz), i);
				break;
			}
			if (ftype >= EROFS_FT_MAX) {
				ret = es_fail(err, -ES_ECORRUPT, "directory block %llu, entry "
					      "%u: bad file type %u", (unsigned long long)(pos / blksz),
					      i, ftype);
				break;
			}
			if (have_prev && es_name_cmp(prev, prevlen, block + off, len) >= 0) {
				ret = es_fail(err, -ES_ECORRUPT, "directory block %llu, entry "
					      "%u: names are not in strictly ascending order "
					      "(lookups would miss entries)",
					      (unsigned long long)(pos / blksz), i);
				break;
			}
			memcpy(prev, block + off, len);
			prevlen = len;
			have_prev = true;
			ret = cb(ctx, block + off, len, es_get64(de + DIRENT_NID), ftype);
			if (ret)
				break;
		}
	}
	if (ret < 0)
		es_err_prefix(err, "directory nid %llu: ", (unsigned long long)dir->nid);
	return ret < 0 ? ret : 0;
}

struct lookup_ctx {
	const uint8_t *name;
	unsigned int len;
	uint64_t nid;
	bool found;
};

static int lookup_cb(void *ctx, const uint8_t *name, unsigned int namelen,
		     uint64_t nid, unsigned int file_type)
{
	struct lookup_ctx *lc = ctx;

	(void)file_type;
	if (namelen == lc->len && !memcmp(name, lc->name, namelen)) {
		lc->nid = nid;
		lc->found = true;
		return 1;
	}
	return 0;
}

int es_lookup(const struct es_image *img, const char *path, uint64_t *nid,
	      struct es_err *err)
{
	uint64_t cur = img->sb.root_nid;
	const char *p = path;

	while (*p) {
		struct lookup_ctx lc = { 0 };
		struct es_inode dir;
		size_t len;
		int ret;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		lc.name = (const uint8_t *)p;
		for (len = 0; p[len] && p[len] != '/' && len <= EROFS_NAME_MAX; len++)
			;
		lc.len = (unsigned int)len;
		if (lc.len > EROFS_NAME_MAX)
			return es_fail(err, -ENAMETOOLONG, "%s: name too long", path);
		ret = es_inode_read(img, cur, &dir, err);
		if (ret)
			return ret;
		if (!ES_S_ISDIR(dir.mode))
			return es_fail(err, -ENOTDIR, "%s: a path component is not a "
				       "directory", path);
		ret = es_dir_iterate(img, &dir, lookup_cb, &lc, err);
		if (ret)
			return ret;
		if (!lc.found)
			return es_fail(err, -ENOENT, "%s: no such file or directory", path);
		cur = lc.nid;
		p += lc.len;
	}
	*nid = cur;
	return 0;
}
