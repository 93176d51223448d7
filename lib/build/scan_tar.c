// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The tree from a tar stream (ustar, PAX, GNU; plain, gzip, zstd or xz),
 * read once, front to back, with libarchive: nothing is unpacked to disk.
 * Each member is put into the tree as it arrives and a regular file's
 * data goes straight into the builder (wb_ingest_regular) through a
 * stream source, so chunking, dedup, encryption and compression are the
 * directory scan's.
 *
 * Members may come in any order: a parent directory a member needs before
 * its own entry is made with default attributes, which that entry sets
 * when it comes.  A later member of the same path replaces the earlier
 * one, as extraction by GNU tar does (a directory over a directory only
 * takes its attributes); what the replaced member stored stays in the
 * image unreferenced, unless dedup finds it again.
 *
 * OCI layers mark deletions with ".wh." names; unless the caller keeps
 * them (AUFS style), they become what overlayfs understands: a 0/0
 * character device of the deleted name, and trusted.overlay.opaque="y" on
 * a directory that hides the layers below.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/image.h"
#include "erofs/sha256.h"
#include "base/hashmap.h"
#include "tarname.h"
#include "wtree.h"

#define TAR_READ_BLOCK (128u << 10)

struct sparse_extent {
	uint64_t off, len;
};

/* A tar member's data, as libarchive hands it out: blocks at increasing
 * offsets, the gaps between them holes. */
struct wstream {
	struct archive *ar;
	uint64_t size;
	struct sparse_extent *map;	/* data extents of a sparse member */
	size_t nmap, map_cap;
	bool sparse;
	/* libarchive's current block */
	const uint8_t *blk;
	size_t blk_len;
	uint64_t blk_off;
	uint64_t consumed;		/* end of the blocks seen so far */
	bool at_eof;
	/* the bytes kept: [keep_off, keep_off + keep_len) */
	uint8_t *keep;
	size_t keep_len, keep_cap;
	uint64_t keep_off;
};

/* (directory, SHA-256 of a name) -> its entry in the directory */
struct name_entry {
	uint64_t dir;			/* the directory node's address */
	uint8_t digest[32];
	size_t index;			/* in dir->children */
};

static uint64_t name_hash(const void *key)
{
	const struct name_entry *k = key;
	uint64_t h;

	memcpy(&h, k->digest, sizeof(h));
	return h ^ (k->dir * 0x9E3779B97F4A7C15ull);
}

static const struct hmap_type name_type = {
	.entry_size = sizeof(struct name_entry),
	.key_size = offsetof(struct name_entry, index),
	.hash = name_hash,
	.initial_slots = 1024,
};

struct tar_scan {
	struct wbuild *b;
	struct archive *ar;
	const char *source;		/* the archive's name, for messages */
	struct hmap names;
	struct wstream stream;
	const char *prev;		/* the last member read, for messages */
	char *prev_buf;
};

/* --- the stream side of wb_read_exact ----------------------------------- */

static int stream_error(struct wbuild *b, struct archive *ar, const char *what)
{
	const char *msg = archive_error_string(ar);

	return es_fail(b->err, -EIO, "%s: cannot read its data, the archive is truncated "
		       "or damaged: %s", ES_PATH(what), msg ? msg : "unknown error");
}

static int stream_next_block(struct wbuild *b, struct wstream *s, const char *what)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(s->ar, &buf, &len, &off);

	if (r == ARCHIVE_EOF) {
		s->at_eof = true;
		s->blk = NULL;
		return 0;
	}
	if (r != ARCHIVE_OK)
		return stream_error(b, s->ar, what);
	if (off < 0 || (uint64_t)off < s->consumed || (uint64_t)off > s->size ||
	    len > s->size - (uint64_t)off)
		return es_fail(b->err, -EIO, "%s: data block at %lld of %zu bytes lies "
			       "outside the member's %llu bytes (damaged sparse map)",
			       ES_PATH(what), (long long)off, len,
			       (unsigned long long)s->size);
	s->blk = buf;
	s->blk_len = len;
	s->blk_off = (uint64_t)off;
	s->consumed = s->blk_off + len;
	return 0;
}

static int keep_reserve(struct wbuild *b, struct wstream *s, size_t more)
{
	size_t cap = s->keep_cap ? s->keep_cap : 1u << 16;
	uint8_t *grown;

	if (s->keep_len + more <= s->keep_cap)
		return 0;
	while (cap < s->keep_len + more)
		cap *= 2;
	grown = realloc(s->keep, cap);
	if (!grown)
		return es_fail(b->err, -ENOMEM, "out of memory");
	s->keep = grown;
	s->keep_cap = cap;
	return 0;
}

int wb_stream_read(struct wbuild *b, struct wsource *src, void *buf, size_t len,
		   uint64_t off, const char *what)
{
	struct wstream *s = src->stream;
	uint64_t lo = off < src->rewind_to ? off : src->rewind_to;
	uint64_t need = off + len;
	int ret;

	if (off < s->keep_off || off > s->size || len > s->size - off)
		return es_fail(b->err, -EINVAL, "%s: bytes %llu..%llu of the member asked "
			       "out of order", ES_PATH(what), (unsigned long long)off,
			       (unsigned long long)need);
	if (lo < s->keep_off)
		lo = s->keep_off;
	/* forget what no later read goes back to */
	if (lo > s->keep_off) {
		uint64_t drop = lo - s->keep_off;

		if (drop >= s->keep_len) {
			s->keep_len = 0;
		} else {
			memmove(s->keep, s->keep + drop, s->keep_len - (size_t)drop);
			s->keep_len -= (size_t)drop;
		}
		s->keep_off = lo;
	}
	while (s->keep_off + s->keep_len < need) {
		uint64_t p = s->keep_off + s->keep_len;
		uint64_t end;

		if (!s->at_eof && (!s->blk || s->blk_off + s->blk_len <= p)) {
			ret = stream_next_block(b, s, what);
			if (ret)
				return ret;
			continue;
		}
		if (s->blk && s->blk_off <= p) {
			end = s->blk_off + s->blk_len < need ? s->blk_off + s->blk_len : need;
			ret = keep_reserve(b, s, (size_t)(end - p));
			if (ret)
				return ret;
			memcpy(s->keep + s->keep_len, s->blk + (p - s->blk_off), (size_t)(end - p));
		} else {
			/* a hole: up to the next block, or to the end */
			end = s->blk ? s->blk_off : s->size;
			if (end > need)
				end = need;
			ret = keep_reserve(b, s, (size_t)(end - p));
			if (ret)
				return ret;
			memset(s->keep + s->keep_len, 0, (size_t)(end - p));
		}
		s->keep_len += (size_t)(end - p);
	}
	memcpy(buf, s->keep + (off - s->keep_off), len);
	return 0;
}

bool wb_stream_sparse(const struct wstream *s)
{
	return s->sparse;
}

uint64_t wb_stream_next_data(const struct wstream *s, uint64_t off, uint64_t size)
{
	if (!s->sparse)
		return off;
	for (size_t i = 0; i < s->nmap; i++)
		if (s->map[i].off + s->map[i].len > off)
			return s->map[i].off > off ? s->map[i].off : off;
	return size;
}

static int extent_cmp(const void *a, const void *b)
{
	const struct sparse_extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Ready the stream for a member of size bytes (its sparse map, if any). */
static int stream_start(struct tar_scan *ts, struct archive_entry *e, uint64_t size,
			const char *what)
{
	struct wstream *s = &ts->stream;
	uint64_t data = 0;
	int count = archive_entry_sparse_reset(e);

	s->ar = ts->ar;
	s->size = size;
	s->blk = NULL;
	s->blk_len = 0;
	s->consumed = 0;
	s->at_eof = false;
	s->keep_len = 0;
	s->keep_off = 0;
	s->nmap = 0;
	s->sparse = false;
	if (count <= 0)
		return 0;
	if ((size_t)count > s->map_cap) {
		struct sparse_extent *m = realloc(s->map, (size_t)count * sizeof(*m));

		if (!m)
			return es_fail(ts->b->err, -ENOMEM, "out of memory");
		s->map = m;
		s->map_cap = (size_t)count;
	}
	for (;;) {
		la_int64_t off, len;

		if (archive_entry_sparse_next(e, &off, &len) != ARCHIVE_OK)
			break;
		if (s->nmap == s->map_cap)
			break;
		if (off < 0 || len < 0 || (uint64_t)off > size || (uint64_t)len > size - (uint64_t)off)
			return es_fail(ts->b->err, -EINVAL, "%s: sparse map entry %lld+%lld "
				       "lies outside the member's %llu bytes", ES_PATH(what),
				       (long long)off, (long long)len, (unsigned long long)size);
		s->map[s->nmap++] = (struct sparse_extent){ (uint64_t)off, (uint64_t)len };
		data += (uint64_t)len;
	}
	qsort(s->map, s->nmap, sizeof(*s->map), extent_cmp);
	s->sparse = data < size;
	return 0;
}

/*
 * Names as their bytes in the archive: PAX ones are UTF-8 (libarchive
 * would convert them to the locale's charset, and fails in the C locale),
 * others are raw bytes (no UTF-8 form when they are not valid UTF-8).
 */
static const char *member_name(const char *utf8, const char *raw)
{
	return utf8 ? utf8 : raw;
}

/* --- the tree ------------------------------------------------------------ */

static int name_key(struct tar_scan *ts, const struct wnode *dir, const char *name,
		    size_t len, struct name_entry *key)
{
	memset(key, 0, sizeof(*key));
	key->dir = (uint64_t)(uintptr_t)dir;
	if (es_sha256(name, len, key->digest))
		return es_fail(ts->b->err, -EIO, "SHA-256 unavailable");
	return 0;
}

/* The entry of name in dir, or NULL (*key ready for add_child). */
static int find_child(struct tar_scan *ts, struct wnode *dir, const char *name, size_t len,
		      struct name_entry *key, struct wdentry **found)
{
	struct name_entry *e;
	int ret = name_key(ts, dir, name, len, key);

	*found = NULL;
	if (ret)
		return ret;
	e = hmap_find(&ts->names, key);
	if (e)
		*found = &dir->children[e->index];
	return 0;
}

static int add_child(struct tar_scan *ts, struct wnode *dir, const char *name, size_t len,
		     const struct name_entry *key, struct wnode *n)
{
	struct name_entry *e;
	struct wdentry *de;
	bool added;

	if (dir->nchildren % 16 == 0) {
		struct wdentry *grown = realloc(dir->children,
						(dir->nchildren + 16) * sizeof(*grown));

		if (!grown)
			return es_fail(ts->b->err, -ENOMEM, "out of memory");
		dir->children = grown;
	}
	de = &dir->children[dir->nchildren];
	de->name = malloc(len + 1);
	if (!de->name)
		return es_fail(ts->b->err, -ENOMEM, "out of memory");
	memcpy(de->name, name, len);
	de->name[len] = '\0';
	de->len = (unsigned int)len;
	de->node = n;
	if (hmap_find_or_add(&ts->names, key, (void **)&e, &added)) {
		free(de->name);
		return es_fail(ts->b->err, -ENOMEM, "out of memory");
	}
	e->index = dir->nchildren++;
	return 0;
}

/* A directory no member has described (yet): root's, 0755, the build time. */
static struct wnode *implicit_dir(struct tar_scan *ts, struct wnode *parent)
{
	struct stat st;
	struct wnode *n;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR | 0755;
	st.st_mtim.tv_sec = (time_t)ts->b->epoch;
	n = wb_new_node(ts->b, &st);
	if (n)
		n->parent = parent ? parent : n;
	return n;
}

/*
 * The directory holding path's last component (created as needed) in
 * *dir, that component in *base (*blen bytes).
 */
static int walk_parent(struct tar_scan *ts, const char *path, bool create, struct wnode **dir,
		       const char **base, size_t *blen, const char *what)
{
	struct wnode *d = ts->b->root;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		struct name_entry key;
		struct wdentry *de;
		struct wnode *n;
		int ret;

		if (!slash)
			break;
		ret = find_child(ts, d, p, (size_t)(slash - p), &key, &de);
		if (ret)
			return ret;
		if (de && !S_ISDIR(de->node->mode))
			return es_fail(ts->b->err, -ENOTDIR, "%s: %.*s is not a directory in "
				       "the archive", ES_PATH(what), (int)(slash - path), path);
		if (!de && !create)
			return -ENOENT;
		if (!de) {
			n = implicit_dir(ts, d);
			if (!n)
				return es_fail(ts->b->err, -ENOMEM, "out of memory");
			ts->b->stats->directories++;
			ret = add_child(ts, d, p, (size_t)(slash - p), &key, n);
			if (ret)
				return ret;
		} else {
			n = de->node;
		}
		d = n;
		p = slash + 1;
	}
	*dir = d;
	*base = p;
	*blen = strlen(p);
	return 0;
}

/* The node at path (a normalised member path), or NULL. */
static int lookup_path(struct tar_scan *ts, const char *path, struct wnode **node,
		       const char *what)
{
	struct wnode *dir;
	const char *base;
	size_t blen;
	struct name_entry key;
	struct wdentry *de;
	int ret;

	*node = NULL;
	if (!*path) {
		*node = ts->b->root;
		return 0;
	}
	ret = walk_parent(ts, path, false, &dir, &base, &blen, what);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = find_child(ts, dir, base, blen, &key, &de);
	if (!ret && de)
		*node = de->node;
	return ret;
}

static int copy_xattrs(struct tar_scan *ts, struct archive_entry *e, struct wnode *n,
		       const char *what)
{
	const char *name;
	const void *value;
	size_t size;
	int ret;

	if (ts->b->opts->xattr_share_threshold < 0)
		return 0;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		ret = wb_xattr_set(ts->b, n, name, value, size, what);
		if (ret)
			return ret;
	}
	return 0;
}

/* The attributes of a member over a directory already in the tree. */
static int set_dir_attrs(struct wbuild *b, struct wnode *d, const struct stat *st)
{
	struct wnode *fresh;

	/* the options' owners and times apply as to any node: take them
	   from one made the usual way, then drop it */
	fresh = wb_new_node(b, st);
	if (!fresh)
		return es_fail(b->err, -ENOMEM, "out of memory");
	d->mode = fresh->mode;
	d->uid = fresh->uid;
	d->gid = fresh->gid;
	d->mtime = fresh->mtime;
	d->mtime_nsec = fresh->mtime_nsec;
	b->all = fresh->next_all;
	b->nnodes--;
	wb_wnode_free(fresh);
	return 0;
}

static int read_regular(struct tar_scan *ts, struct archive_entry *e, struct wnode *n,
			const char *what)
{
	struct wbuild *b = ts->b;
	la_int64_t size = archive_entry_size(e);
	struct wsource src = { .fd = -1, .stream = &ts->stream, .rewind_to = UINT64_MAX };
	int ret;

	if (!archive_entry_size_is_set(e) || size < 0)
		return es_fail(b->err, -EINVAL, "%s: the header gives no valid size",
			       ES_PATH(what));
	/* an image addresses at most 2^32 blocks */
	if ((uint64_t)size > ((uint64_t)UINT32_MAX << b->blkszbits))
		return es_fail(b->err, -EFBIG, "%s: size of %lld bytes is larger than an "
			       "image can hold", ES_PATH(what), (long long)size);
	ret = stream_start(ts, e, (uint64_t)size, what);
	if (ret)
		return ret;
	n->size = (uint64_t)size;
	b->stats->regular_files++;
	ret = wb_ingest_regular(b, n, &src, what);
	if (b->opts->progress)
		b->opts->progress(b->opts->progress_ctx, b->stats);
	return ret;
}

static int read_symlink_target(struct tar_scan *ts, struct archive_entry *e, struct wnode *n,
			       const char *what)
{
	const char *target = member_name(archive_entry_symlink_utf8(e),
					 archive_entry_symlink(e));
	size_t len = target ? strlen(target) : 0;
	char *copy;

	if (!len || len > 4095)
		return es_fail(ts->b->err, -EINVAL, "%s: symlink target of %zu bytes is not "
			       "supported", ES_PATH(what), len);
	copy = malloc(len + 1);
	if (!copy)
		return es_fail(ts->b->err, -ENOMEM, "out of memory");
	memcpy(copy, target, len + 1);
	return wb_set_symlink(ts->b, n, copy, (uint32_t)len, what);
}

/* The member's node, made from its header (and data). */
static int make_node(struct tar_scan *ts, struct archive_entry *e, struct stat *st,
		     struct wnode *parent, struct wnode **out, const char *what)
{
	struct wbuild *b = ts->b;
	struct wnode *n = wb_new_node(b, st);
	int ret;

	*out = n;
	if (!n)
		return es_fail(b->err, -ENOMEM, "out of memory");
	ret = copy_xattrs(ts, e, n, what);
	if (ret)
		return ret;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return read_regular(ts, e, n, what);
	case S_IFDIR:
		b->stats->directories++;
		n->parent = parent;
		return 0;
	case S_IFLNK:
		b->stats->symlinks++;
		return read_symlink_target(ts, e, n, what);
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		b->stats->special_files++;
		return 0;
	default:
		return es_fail(b->err, -EINVAL, "%s: unsupported file type", ES_PATH(what));
	}
}

/* name in dir is node from now on (a later member replaces an earlier one). */
static int place(struct tar_scan *ts, struct wnode *dir, const char *name, size_t len,
		 struct wnode *n)
{
	struct name_entry key;
	struct wdentry *de;
	int ret = find_child(ts, dir, name, len, &key, &de);

	if (ret)
		return ret;
	if (de) {
		de->node = n;
		return 0;
	}
	return add_child(ts, dir, name, len, &key, n);
}

static int add_hardlink(struct tar_scan *ts, struct archive_entry *e, struct wnode *dir,
			const char *base, size_t blen, const char *what)
{
	const char *raw = member_name(archive_entry_hardlink_utf8(e),
				      archive_entry_hardlink(e));
	struct wnode *target;
	char *path;
	int ret = wb_tar_normalize(raw, &path);

	if (ret == -ENOMEM)
		return es_fail(ts->b->err, ret, "out of memory");
	if (ret)
		return es_fail(ts->b->err, -EINVAL, "%s: hard link to %s, which lies outside "
			       "the archive's tree", ES_PATH(what), raw);
	ret = lookup_path(ts, path, &target, what);
	free(path);
	if (ret)
		return ret;
	if (!target)
		return es_fail(ts->b->err, -ENOENT, "%s: hard link to %s, which no earlier "
			       "member of the archive is", ES_PATH(what), raw);
	if (S_ISDIR(target->mode))
		return es_fail(ts->b->err, -EINVAL, "%s: hard link to the directory %s",
			       ES_PATH(what), raw);
	return place(ts, dir, base, blen, target);
}

static int add_member(struct tar_scan *ts, struct archive_entry *e, const char *raw)
{
	struct wbuild *b = ts->b;
	const bool keep_wh = b->opts->tar_keep_whiteouts;
	struct stat st = *archive_entry_stat(e);
	const char *what = raw, *base, *target = NULL;
	struct wnode *dir, *n;
	size_t blen, tlen = 0;
	char *path;
	int ret = wb_tar_normalize(raw, &path);

	if (ret == -ENOMEM)
		return es_fail(b->err, ret, "out of memory");
	if (ret == -ENAMETOOLONG)
		return es_fail(b->err, ret, "%s: a name component is longer than %u bytes",
			       ES_PATH(what), EROFS_NAME_MAX);
	if (ret)
		return es_fail(b->err, ret, "%s: a \"..\" component would put it outside the "
			       "tree", ES_PATH(what));
	for (char *p = path; *p && !ret; p++) {
		/* an excluded directory takes what is under it along */
		if (p[1] == '/' || !p[1]) {
			char saved = p[1];

			p[1] = '\0';
			if (wb_excluded(b, path))
				ret = 1;
			p[1] = saved;
		}
	}
	if (ret) {
		free(path);
		return 0;
	}
	if (!*path) {
		/* the root: "." or "/" */
		free(path);
		if (archive_entry_hardlink(e) || !S_ISDIR(st.st_mode))
			return es_fail(b->err, -EINVAL, "%s: the root of the tree must be a "
				       "directory", ES_PATH(what));
		ret = set_dir_attrs(b, b->root, &st);
		return ret ? ret : copy_xattrs(ts, e, b->root, what);
	}
	ret = walk_parent(ts, path, true, &dir, &base, &blen, what);
	if (ret)
		goto out;
	if (archive_entry_hardlink(e)) {
		ret = add_hardlink(ts, e, dir, base, blen, what);
		goto out;
	}
	switch (keep_wh ? WB_TAR_PLAIN : wb_tar_whiteout_kind(base, blen, &target, &tlen)) {
	case WB_TAR_PLAIN:
		break;
	case WB_TAR_OPAQUE:
		ret = wb_xattr_set(b, dir, "trusted.overlay.opaque", "y", 1, what);
		goto out;
	case WB_TAR_AUFS_META:
		if (b->opts->warn) {
			char msg[300];

			snprintf(msg, sizeof(msg), "%s: skipped: AUFS metadata, not a file",
				 ES_PATH(what));
			b->opts->warn(b->opts->warn_ctx, msg);
		}
		goto out;
	case WB_TAR_BAD:
		ret = es_fail(b->err, -EINVAL, "%s: a whiteout that names no file",
			      ES_PATH(what));
		goto out;
	case WB_TAR_WHITEOUT:
		/* what overlayfs takes for a deletion: a 0/0 character device */
		st.st_mode = S_IFCHR;
		st.st_rdev = makedev(0, 0);
		n = wb_new_node(b, &st);
		if (!n) {
			ret = es_fail(b->err, -ENOMEM, "out of memory");
			goto out;
		}
		b->stats->special_files++;
		ret = place(ts, dir, target, tlen, n);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		struct name_entry key;
		struct wdentry *de;

		ret = find_child(ts, dir, base, blen, &key, &de);
		if (!ret && de && S_ISDIR(de->node->mode)) {
			ret = set_dir_attrs(b, de->node, &st);
			if (!ret)
				ret = copy_xattrs(ts, e, de->node, what);
			goto out;
		}
	}
	if (!ret)
		ret = make_node(ts, e, &st, dir, &n, what);
	if (!ret)
		ret = place(ts, dir, base, blen, n);
out:
	free(path);
	return ret;
}

/*
 * Keep only what the tree reaches: sort every directory, count names per
 * inode, free the nodes later members replaced, and set the counts.
 */
static int finish_tree(struct tar_scan *ts)
{
	struct wbuild *b = ts->b;
	struct es_build_stats *st = b->stats;
	struct wnode **stack, **link;
	size_t depth = 0;

	stack = malloc(b->nnodes * sizeof(*stack));
	if (!stack)
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (struct wnode *n = b->all; n; n = n->next_all) {
		n->queued = false;
		n->nlink = 0;
	}
	b->root->queued = true;
	b->root->nlink = 1;
	stack[depth++] = b->root;
	while (depth) {
		struct wnode *d = stack[--depth];

		if (d->nchildren > 1)
			qsort(d->children, d->nchildren, sizeof(*d->children), wb_dentry_cmp);
		for (size_t i = 0; i < d->nchildren; i++) {
			struct wnode *c = d->children[i].node;

			c->nlink++;
			if (c->queued)
				continue;
			c->queued = true;
			if (S_ISDIR(c->mode)) {
				c->parent = d;
				stack[depth++] = c;
			}
		}
	}
	free(stack);
	st->inodes = st->regular_files = st->directories = st->symlinks = 0;
	st->special_files = st->hardlinks = st->logical_bytes = 0;
	b->nnodes = 0;
	for (link = &b->all; *link;) {
		struct wnode *n = *link;

		if (!n->queued) {
			*link = n->next_all;
			wb_wnode_free(n);
			continue;
		}
		n->queued = false;
		b->nnodes++;
		switch (n->mode & S_IFMT) {
		case S_IFREG:
			st->regular_files++;
			st->logical_bytes += n->size;
			break;
		case S_IFDIR:
			st->directories++;
			break;
		case S_IFLNK:
			st->symlinks++;
			break;
		default:
			st->special_files++;
		}
		if (!S_ISDIR(n->mode))
			st->hardlinks += n->nlink - 1;
		link = &n->next_all;
	}
	return 0;
}

static int open_archive(struct tar_scan *ts)
{
	const struct es_build_opts *o = ts->b->opts;
	int r;

	ts->ar = archive_read_new();
	if (!ts->ar)
		return es_fail(ts->b->err, -ENOMEM, "out of memory");
	/* tar in its dialects, compressed as container layers are: nothing else */
	if (archive_read_support_format_tar(ts->ar) != ARCHIVE_OK ||
	    archive_read_support_format_gnutar(ts->ar) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(ts->ar) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(ts->ar) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(ts->ar) != ARCHIVE_OK)
		return es_fail(ts->b->err, -ENOTSUP, "%s: libarchive lacks tar, gzip, zstd "
			       "or xz support: %s", ES_PATH(ts->source),
			       archive_error_string(ts->ar));
	if (o->tar_use_fd)
		r = archive_read_open_fd(ts->ar, o->tar_fd, TAR_READ_BLOCK);
	else
		r = archive_read_open_filename(ts->ar, o->tar_path, TAR_READ_BLOCK);
	/* libarchive reads the start here, to tell the format */
	if (r != ARCHIVE_OK)
		return es_fail(ts->b->err, -EINVAL, "%s: cannot read it as a tar archive "
			       "(plain, gzip, zstd or xz): %s", ES_PATH(ts->source),
			       archive_error_string(ts->ar));
	return 0;
}

static int scan_members(struct tar_scan *ts)
{
	struct wbuild *b = ts->b;
	struct archive_entry *e;
	int ret = 0;

	for (;;) {
		const char *raw;
		int r;

		ret = wb_poll_cancel(b);
		if (ret)
			return ret;
		r = archive_read_next_header(ts->ar, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			const char *msg = archive_error_string(ts->ar);

			if (!ts->prev)
				return es_fail(b->err, -EINVAL, "%s: not a tar archive, or its "
					       "first header is damaged: %s", ES_PATH(ts->source),
					       msg ? msg : "unknown error");
			return es_fail(b->err, -EINVAL, "%s: the header after member %s is "
				       "damaged or truncated: %s", ES_PATH(ts->source),
				       ES_PATH(ts->prev), msg ? msg : "unknown error");
		}
		raw = member_name(archive_entry_pathname_utf8(e), archive_entry_pathname(e));
		if (!raw || !*raw)
			return es_fail(b->err, -EINVAL, "%s: a member after %s has no name",
				       ES_PATH(ts->source), ts->prev ? ES_PATH(ts->prev) :
				       "the start");
		free(ts->prev_buf);
		ts->prev_buf = strdup(raw);
		if (!ts->prev_buf)
			return es_fail(b->err, -ENOMEM, "out of memory");
		ts->prev = ts->prev_buf;
		/* the names are taken in UTF-8 (member_name()): a failed
		   conversion to the locale's charset is no concern here */
		if (r == ARCHIVE_WARN && b->opts->warn &&
		    !strstr(archive_error_string(ts->ar) ? archive_error_string(ts->ar) : "",
			    "can't be converted")) {
			char msg[600];

			snprintf(msg, sizeof(msg), "%s: %s", ES_PATH(ts->prev),
				 archive_error_string(ts->ar));
			b->opts->warn(b->opts->warn_ctx, msg);
		}
		ret = add_member(ts, e, ts->prev);
		if (ret)
			return ret;
	}
}

int wb_scan_tar(struct wbuild *b)
{
	struct tar_scan ts = { .b = b, .source = b->opts->tar_path };
	struct stat st;
	int ret;

	hmap_init(&ts.names, &name_type);
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR | 0755;
	st.st_mtim.tv_sec = (time_t)b->epoch;
	b->root = wb_new_node(b, &st);
	if (!b->root)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->root->parent = b->root;
	ret = open_archive(&ts);
	if (!ret)
		ret = scan_members(&ts);
	if (!ret)
		ret = finish_tree(&ts);
	if (ts.ar)
		archive_read_free(ts.ar);
	hmap_free(&ts.names);
	if (ts.stream.keep && b->opts->encrypt)
		es_crypto_wipe(ts.stream.keep, ts.stream.keep_cap);	/* plaintext */
	free(ts.stream.keep);
	free(ts.stream.map);
	free(ts.prev_buf);
	return ret;
}
