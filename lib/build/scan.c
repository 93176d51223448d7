// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Scanning the source tree.  One depth-first pass in sorted name order:
 * every entry is stat'ed once and every regular file is read once, while
 * it is scanned, straight into the data area of the output.  All system
 * calls are relative to directory file descriptors, so trees deeper than
 * PATH_MAX work and a path never resolves through a symlink.
 *
 * Only the deepest SCAN_FD_WINDOW directories of the current path keep
 * their descriptor, so the depth of a tree is not limited by RLIMIT_NOFILE.
 * A released ancestor is reopened, when the scan climbs back to it, as
 * ".." of the child just finished (constant cost per level, where a walk
 * down from the nearest held ancestor would cost the window's depth), and
 * must be the directory scanned before (st_dev, st_ino) or the build fails
 * as for any other source change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "base/hashmap.h"
#include "io.h"
#include "wtree.h"

#define SCAN_FD_WINDOW 32

/* A directory on the path from the source root to the entry being scanned. */
struct scan_level {
	struct scan_level *up;		/* NULL for the root */
	struct wnode *dir;		/* src_dev, src_ino: what fd must be */
	int fd;				/* -1 while released */
	unsigned int depth;
	const char *what;		/* its path, for messages */
};

/* A new level was entered: release the one SCAN_FD_WINDOW above it. */
static void release_far_ancestor(struct scan_level *lvl)
{
	for (unsigned int i = 0; i < SCAN_FD_WINDOW && lvl; i++)
		lvl = lvl->up;
	if (lvl && lvl->depth > 0 && lvl->fd >= 0) {
		close(lvl->fd);
		lvl->fd = -1;
	}
}

/* Back from child_fd into lvl, whose descriptor was released. */
static int reopen_level(struct wbuild *b, struct scan_level *lvl, int child_fd)
{
	struct stat st;
	int fd = openat(child_fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return es_fail(b->err, -errno, "%s: cannot reopen directory: %s", lvl->what,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_dev != lvl->dir->src_dev ||
	    st.st_ino != lvl->dir->src_ino) {
		close(fd);
		return es_fail(b->err, -EAGAIN, "%s: directory moved or replaced while it "
			       "was read (source changed during the build)", lvl->what);
	}
	lvl->fd = fd;
	return 0;
}

/* An output of this build (or the blob directory) inside the source. */
static bool is_output(const struct wbuild *b, const struct stat *st)
{
	for (unsigned int i = 0; i < b->noutputs; i++)
		if (b->outputs[i].dev == st->st_dev && b->outputs[i].ino == st->st_ino)
			return true;
	return false;
}

/* scan_entry's answer for an entry to drop from its directory */
#define SCAN_SKIP 1

/* (dev, ino) -> node, for hard links */
struct link_entry {
	uint64_t dev, ino;		/* the key */
	struct wnode *node;
};

static uint64_t link_hash(const void *key)
{
	const struct link_entry *k = key;
	uint64_t h = (k->dev * 0x9E3779B97F4A7C15ull) ^ k->ino;

	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 29;
	return h;
}

static const struct hmap_type link_type = {
	.entry_size = sizeof(struct link_entry),
	.key_size = offsetof(struct link_entry, node),
	.hash = link_hash,
	.initial_slots = 256,
};

/* --exclude-path names match with or without leading and trailing '/'. */
static bool same_path(const char *pattern, const char *rel)
{
	size_t len;

	while (*pattern == '/')
		pattern++;
	len = strlen(pattern);
	while (len && pattern[len - 1] == '/')
		len--;
	return len && strlen(rel) == len && !memcmp(pattern, rel, len);
}

bool wb_excluded(struct wbuild *b, const char *rel)
{
	const struct es_build_opts *o = b->opts;
	const char *norm = rel[0] == '/' ? rel + 1 : rel;

	for (unsigned int i = 0; i < o->nexclude_paths; i++)
		if (same_path(o->exclude_paths[i], norm))
			return true;
	for (unsigned int i = 0; i < o->nexclude_regexes; i++)
		if (!regexec(&((regex_t *)b->regexes)[i], norm, 0, NULL, 0))
			return true;
	return false;
}

struct wnode *wb_new_node(struct wbuild *b, const struct stat *st)
{
	const struct es_build_opts *o = b->opts;
	struct wnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->mode = (uint16_t)st->st_mode;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	if (o->all_root)
		n->uid = n->gid = 0;
	if (o->force_uid >= 0)
		n->uid = (uint32_t)o->force_uid;
	if (o->force_gid >= 0)
		n->gid = (uint32_t)o->force_gid;
	n->mtime = st->st_mtim.tv_sec;
	n->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	if (o->have_timestamp && !o->timestamp_sb_only) {
		n->mtime = o->timestamp;
		n->mtime_nsec = 0;
	} else if (b->clamp_mtime && n->mtime > b->epoch) {
		n->mtime = b->epoch;
		n->mtime_nsec = 0;
	}
	n->src_dev = st->st_dev;
	n->src_ino = st->st_ino;
	n->nlink = 1;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		n->rdev = es_encode_rdev(major(st->st_rdev), minor(st->st_rdev));
	n->next_all = b->all;
	b->all = n;
	b->nnodes++;
	return n;
}

int wb_dentry_cmp(const void *a, const void *b)
{
	const struct wdentry *x = a, *y = b;

	return es_name_cmp(x->name, x->len, y->name, y->len);
}

static int read_symlink(struct wbuild *b, struct wnode *n, int dirfd,
			const char *name, const struct stat *st, const char *what)
{
	char *target;
	ssize_t len;

	if (st->st_size <= 0 || st->st_size > 4095)
		return es_fail(b->err, -EINVAL, "%s: symlink target of %lld bytes is "
			       "not supported", ES_PATH(what), (long long)st->st_size);
	target = malloc((size_t)st->st_size + 1);
	if (!target)
		return es_fail(b->err, -ENOMEM, "out of memory");
	len = readlinkat(dirfd, name, target, (size_t)st->st_size + 1);
	if (len < 0) {
		int ret = es_fail(b->err, -errno, "%s: cannot read symlink: %s", ES_PATH(what),
				  strerror(errno));

		free(target);
		return ret;
	}
	if (len != st->st_size) {
		free(target);
		return es_fail(b->err, -EAGAIN, "%s: symlink changed during the build",
			       ES_PATH(what));
	}
	return wb_set_symlink(b, n, target, (uint32_t)len, what);
}

int wb_set_symlink(struct wbuild *b, struct wnode *n, char *target, uint32_t len,
		   const char *what)
{
	n->tail = (uint8_t *)target;
	n->tail_len = len;
	n->size = len;
	if (!wb_tail_fits_inline(b, n, n->tail_len))
		return wb_write_tail_block(b, n, what);
	n->layout = EROFS_LAYOUT_FLAT_INLINE;
	n->startblk = EROFS_NULL_ADDR;
	n->tail_inline = true;
	return 0;
}

static int scan_dir(struct wbuild *b, struct scan_level *lvl, const char *rel);

static int scan_subdir(struct wbuild *b, struct scan_level *lvl, struct wnode *n,
		       const char *name, const struct stat *st, const char *rel,
		       const char *what)
{
	struct scan_level child = {
		.up = lvl, .dir = n, .depth = lvl->depth + 1, .what = what,
	};
	struct stat now;
	int ret;

	child.fd = openat(lvl->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (child.fd < 0)
		return es_fail(b->err, -errno, "%s: cannot open directory: %s", ES_PATH(what),
			       strerror(errno));
	if (fstat(child.fd, &now) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino) {
		close(child.fd);
		return es_fail(b->err, -EAGAIN, "%s: replaced during the build", ES_PATH(what));
	}
	release_far_ancestor(&child);
	ret = wb_xattrs_collect(b, n, -1, NULL, child.fd, what);
	if (!ret)
		ret = scan_dir(b, &child, rel);
	if (!ret && lvl->fd < 0)
		ret = reopen_level(b, lvl, child.fd);
	if (child.fd >= 0)
		close(child.fd);
	return ret;
}

static int scan_entry(struct wbuild *b, struct scan_level *lvl,
		      struct wdentry *de, const char *rel, const char *what)
{
	const char *name = (const char *)de->name;
	struct wnode *dir = lvl->dir;
	int ret, fd, open_errno, dirfd = lvl->fd;
	struct link_entry *link = NULL;
	struct stat st, now;
	struct wnode *n;

	ret = wb_poll_cancel(b);
	if (ret)
		return ret;
	/*
	 * What the directory says is a regular file is opened at once and
	 * stat'ed through its descriptor: one system call less per file than
	 * a stat by name, then an open, then a stat of the descriptor to see
	 * that the open found the same file.  O_NONBLOCK: should it have been
	 * replaced by a FIFO meanwhile, the open does not wait for a writer.
	 * Anything else (or a failed open) takes the way by name below.
	 */
	open_errno = 0;
	if (de->dtype == DT_REG) {
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK |
			    O_CLOEXEC);
		if (fd < 0)
			open_errno = errno;
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
		}
	} else {
		fd = -1;
	}
	/* a file gone between the directory read and its open is reported as
	 * the open that found it missing */
	if (fd < 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return es_fail(b->err, -errno, "%s: cannot %s: %s", ES_PATH(what),
			       open_errno ? "open" : "stat", strerror(errno));
	if (b->noutputs && is_output(b, &st)) {
		if (fd >= 0)
			close(fd);
		return SCAN_SKIP;
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		struct link_entry key = { .dev = st.st_dev, .ino = st.st_ino };
		bool added;

		if (hmap_find_or_add(&b->links, &key, (void **)&link, &added)) {
			if (fd >= 0)
				close(fd);
			return es_fail(b->err, -ENOMEM, "out of memory");
		}
		if (!added) {
			if (fd >= 0)
				close(fd);
			n = link->node;
			n->nlink++;
			de->node = n;
			b->stats->hardlinks++;
			return 0;
		}
	}
	n = wb_new_node(b, &st);
	if (!n) {
		if (fd >= 0)
			close(fd);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	de->node = n;
	if (link)
		link->node = n;
	/* regular files and directories: from the descriptor, once open */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		ret = wb_xattrs_collect(b, n, dirfd, name, -1, what);
		if (ret)
			return ret;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		b->stats->regular_files++;
		if (fd >= 0) {
			now = st;	/* opened first: st is the descriptor's */
		} else {
			fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
			if (fd < 0)
				return es_fail(b->err, -errno, "%s: cannot open: %s",
					       ES_PATH(what), strerror(errno));
			if (fstat(fd, &now) < 0 || now.st_ino != st.st_ino ||
			    now.st_dev != st.st_dev || !S_ISREG(now.st_mode)) {
				close(fd);
				return es_fail(b->err, -EAGAIN, "%s: replaced during the build",
					       ES_PATH(what));
			}
		}
		n->size = (uint64_t)st.st_size;
		ret = wb_xattrs_collect(b, n, -1, NULL, fd, what);
		if (ret) {
			close(fd);
			return ret;
		}
		{
			struct wsource src = {
				.fd = fd, .rewind_to = UINT64_MAX, .give_fd = true,
				.have_blocks = true, .blocks = (uint64_t)now.st_blocks,
			};

			ret = wb_ingest_regular(b, n, &src, what);
			if (src.fd >= 0)
				close(src.fd);
		}
		if (b->opts->progress)
			b->opts->progress(b->opts->progress_ctx, b->stats);
		return ret;
	case S_IFDIR:
		b->stats->directories++;
		n->parent = dir;
		return scan_subdir(b, lvl, n, name, &st, rel, what);
	case S_IFLNK:
		b->stats->symlinks++;
		return read_symlink(b, n, dirfd, name, &st, what);
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

/* getdents64's records: read straight from the level's descriptor */
struct scan_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

#define SCAN_DENTS_SIZE (32u << 10)

static int scan_dir(struct wbuild *b, struct scan_level *lvl, const char *rel)
{
	struct wnode *dir = lvl->dir;
	const char *what = lvl->what;
	struct wdentry *ents = NULL;
	size_t count = 0, cap = 0;
	bool skipped = false;
	char *dents;
	int ret = 0;

	/*
	 * The entries come from getdents64 on the level's own descriptor (just
	 * opened, so at offset 0; nothing else reads it as a directory): no
	 * dup(), fcntl() and close() per directory as fdopendir() would need.
	 */
	dents = malloc(SCAN_DENTS_SIZE);
	if (!dents)
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (;;) {
		ssize_t got = getdents64(lvl->fd, dents, SCAN_DENTS_SIZE);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = es_fail(b->err, -errno, "%s: cannot read directory: %s",
				      ES_PATH(what), strerror(errno));
			break;
		}
		if (!got)
			break;
		for (size_t pos = 0; !ret && pos < (size_t)got;) {
			const struct scan_dirent *d = (const void *)(dents + pos);
			size_t len;

			pos += d->reclen;
			if (!strcmp(d->name, ".") || !strcmp(d->name, ".."))
				continue;
			len = strlen(d->name);
			if (count == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct wdentry *ne = realloc(ents, ncap * sizeof(*ne));

				if (!ne) {
					ret = es_fail(b->err, -ENOMEM, "out of memory");
					break;
				}
				ents = ne;
				cap = ncap;
			}
			ents[count].name = malloc(len + 1);
			if (!ents[count].name) {
				ret = es_fail(b->err, -ENOMEM, "out of memory");
				break;
			}
			memcpy(ents[count].name, d->name, len + 1);
			ents[count].len = (unsigned int)len;
			ents[count].dtype = d->type;
			ents[count].node = NULL;
			count++;
		}
		if (ret)
			break;
	}
	free(dents);
	if (count)
		qsort(ents, count, sizeof(*ents), wb_dentry_cmp);
	/* drop excluded names before anything is read */
	for (size_t i = 0, kept = 0; !ret && i <= count; i++) {
		char *childrel;

		if (i == count) {
			count = kept;
			break;
		}
		childrel = es_path_join(rel, ents[i].name, ents[i].len);
		if (!childrel) {
			ret = es_fail(b->err, -ENOMEM, "out of memory");
			break;
		}
		if (wb_excluded(b, childrel))
			free(ents[i].name);
		else
			ents[kept++] = ents[i];
		free(childrel);
	}
	dir->children = ents;
	dir->nchildren = count;
	for (size_t i = 0; !ret && i < count; i++) {
		char *childrel = es_path_join(rel, ents[i].name, ents[i].len);
		char *childwhat = es_path_join(what, ents[i].name, ents[i].len);

		if (!childrel || !childwhat)
			ret = es_fail(b->err, -ENOMEM, "out of memory");
		else
			ret = scan_entry(b, lvl, &ents[i], childrel, childwhat);
		if (ret == SCAN_SKIP) {
			skipped = true;
			ret = 0;
		}
		free(childrel);
		free(childwhat);
	}
	/* drop the outputs found in this directory */
	if (!ret && skipped) {
		size_t kept = 0;

		for (size_t i = 0; i < count; i++) {
			if (ents[i].node)
				ents[kept++] = ents[i];
			else
				free(ents[i].name);
		}
		dir->nchildren = kept;
	}
	return ret;
}

int wb_scan_tree(struct wbuild *b)
{
	const char *src = b->opts->source_dir;
	struct stat st;
	int fd, ret;

	hmap_init(&b->links, &link_type);
	fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return es_fail(b->err, -errno, "%s: cannot open source directory: %s",
			       ES_PATH(src), strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = es_fail(b->err, -errno, "%s: %s", ES_PATH(src), strerror(errno));
		close(fd);
		return ret;
	}
	b->root = wb_new_node(b, &st);
	if (!b->root) {
		close(fd);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	b->root->parent = b->root;
	b->stats->directories++;
	ret = wb_xattrs_collect(b, b->root, -1, NULL, fd, src);
	if (!ret) {
		struct scan_level root = { .dir = b->root, .fd = fd, .what = src };

		ret = scan_dir(b, &root, "");
	}
	close(fd);
	hmap_free(&b->links);
	return ret;
}
