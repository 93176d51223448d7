// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fsck on the tree walker (walk.c checks what walking relies on: inodes,
 * entry types, "." and "..", loops): every xattr and data mapping, the
 * symlink sizes, directory and file link counts; optionally extract as we
 * go, into directories reached by descriptor, never by path.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/check.h"
#include "erofs/format.h"
#include "erofs/walk.h"
#include "extract.h"
#include "io.h"

/*
 * Directory descriptors an extraction keeps open, whatever the depth: the
 * deepest ones, where the walk is.  An ancestor that fell out of the window
 * is opened again by name from the extraction root when the walk comes
 * back to it, so the common limit of 1024 descriptors bounds nothing.
 */
#define EXTRACT_FD_WINDOW 64

/* The directory an extraction created for a directory of the walk. */
struct out_dir {
	int fd;				/* -1: not extracting, or out of the window */
	dev_t dev;
	ino_t ino;
};

struct checker {
	const struct es_image *img;
	const struct es_check_opts *o;
	struct es_check_result *res;
	struct es_err *err;		/* first problem or fatal error */
	struct out_dir *dirs;		/* by depth, up to the current directory */
	size_t ndirs, cap;
	int rootfd;
	bool keep_root_meta;		/* DIR existed: its own metadata stays */
	unsigned int mode_mask;		/* the mode bits extraction sets */
	bool warned_owner, warned_xattr;	/* each said once, for the first file */
	uint8_t *buf;
};

static void warnf(struct checker *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The failure in e (of a step that may be tolerated) becomes the walk's
 * error: c->err keeps the first problem, which a tolerated one must not
 * take the place of.
 */
static int keep_error(struct checker *c, int ret, const struct es_err *e)
{
	return ret ? es_fail(c->err, ret, "%s", e->msg) : 0;
}

static void warnf(struct checker *c, const char *fmt, ...)
{
	char msg[ES_ERR_MSG_MAX + 256];
	va_list ap;

	if (!c->o->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->o->warn(c->o->report_ctx, msg);
}

/*
 * Owners of other users cannot be given without privileges: upstream
 * fsck.erofs goes on without them, and so do we, saying so once.
 */
static int set_owner(struct checker *c, int parentfd, const char *name, int fd,
		     const char *path, const struct es_inode *ino)
{
	struct es_err e = { 0 };
	int ret = es_extract_owner(parentfd, name, fd, ino, &e);

	if (ret != -EPERM || !c->o->unprivileged)
		return keep_error(c, ret, &e);
	if (!c->warned_owner)
		warnf(c, "%s: owner %u:%u not set, nor any other that is not yours: not "
		      "permitted without privileges (--no-preserve-owner says so)", path,
		      ino->uid, ino->gid);
	c->warned_owner = true;
	return 0;
}

/* Close the descriptor of the oldest directory in the window when it is
 * full: the directories that hold one are always the deepest. */
static void trim_held_fds(struct checker *c)
{
	size_t i = c->ndirs, held = 0;

	while (i > 0 && c->dirs[i - 1].fd >= 0) {
		i--;
		held++;
	}
	if (held > EXTRACT_FD_WINDOW) {
		close(c->dirs[i].fd);
		c->dirs[i].fd = -1;
	}
}

/*
 * Give the directory at depth top its descriptor back after the window
 * moved past it: walk down from the extraction root by name, each
 * directory checked to be the one created, and keep the deepest
 * EXTRACT_FD_WINDOW open again.
 */
static int reopen_dirs(struct checker *c, struct es_walk *w, size_t top)
{
	size_t keep_from = top >= EXTRACT_FD_WINDOW ? top + 1 - EXTRACT_FD_WINDOW : 0;
	int parent = -1, ret = 0;
	bool parent_temp = false;

	for (size_t k = 0; k <= top; k++) {
		const struct es_walk_entry *d = es_walk_dir(w, (unsigned int)k);
		struct out_dir *od = &c->dirs[k];
		bool temp = false;
		int fd = od->fd;

		if (fd < 0 && k == 0 && k < keep_from) {
			fd = c->rootfd;
		} else if (fd < 0) {
			if (k == 0) {
				fd = fcntl(c->rootfd, F_DUPFD_CLOEXEC, 0);
				if (fd < 0)
					ret = es_fail(c->err, -errno, "%s: %s", d->path,
						      strerror(errno));
			} else {
				ret = es_extract_reopen_dir(parent, strrchr(d->relpath, '/') + 1,
							    od->dev, od->ino, d->path, &fd,
							    c->err);
			}
			if (ret)
				break;
			if (k >= keep_from)
				od->fd = fd;
			else
				temp = true;
		}
		if (parent_temp)
			close(parent);
		parent = fd;
		parent_temp = temp;
	}
	if (parent_temp)
		close(parent);
	return ret;
}

/* The directory at depth, with its descriptor when extracting. */
static int out_dir_at(struct checker *c, struct es_walk *w, unsigned int depth,
		      struct out_dir **od)
{
	*od = &c->dirs[depth];
	if (c->rootfd >= 0 && (*od)->fd < 0)
		return reopen_dirs(c, w, depth);
	return 0;
}

/* A directory was entered: fd is what extraction created for it, or -1. */
static int push_out_dir(struct checker *c, const char *path, int fd)
{
	struct out_dir *od;

	if (c->ndirs == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct out_dir *nd = realloc(c->dirs, ncap * sizeof(*nd));

		if (!nd) {
			if (fd >= 0)
				close(fd);
			return es_fail(c->err, -ENOMEM, "out of memory");
		}
		c->dirs = nd;
		c->cap = ncap;
	}
	od = &c->dirs[c->ndirs++];
	memset(od, 0, sizeof(*od));
	od->fd = fd;
	if (fd >= 0) {
		struct stat st;

		if (fstat(fd, &st) < 0)
			return es_fail(c->err, -errno, "%s: %s", path, strerror(errno));
		od->dev = st.st_dev;
		od->ino = st.st_ino;
		trim_held_fds(c);
	}
	c->res->directories++;
	return 0;
}

static void pop_out_dir(struct checker *c)
{
	struct out_dir *od = &c->dirs[--c->ndirs];

	if (od->fd >= 0)
		close(od->fd);
}

struct xattr_check {
	struct checker *c;
	int dirfd;
	const char *name;		/* NULL: dirfd is the inode itself */
	const char *path;		/* for messages */
	bool apply;
	int ret;
};

static int xattr_cb(void *ctx, const char *name, const uint8_t *value, size_t len,
		    bool shared)
{
	struct xattr_check *xc = ctx;

	(void)shared;
	if (!xc->apply)
		return 0;
	struct es_err e = { 0 };

	xc->ret = es_extract_xattr(xc->dirfd, xc->name, name, value, len, &e);
	/* trusted.* and security.* need privileges; user.* are the user's own */
	if (xc->ret == -EPERM && xc->c->o->unprivileged && strncmp(name, "user.", 5)) {
		if (!xc->c->warned_xattr)
			warnf(xc->c, "%s: xattr %s not set, nor any other outside user.*: "
			      "not permitted without privileges", xc->path, name);
		xc->c->warned_xattr = true;
		return xc->ret = 0;
	}
	return xc->ret = keep_error(xc->c, xc->ret, &e);
}

/* Check (and read) everything of one non-directory inode; extract it. */
static int visit_leaf(struct checker *c, struct es_walk *w, struct out_dir *parent,
		      const struct es_walk_entry *we)
{
	const struct es_inode *ino = we->ino;
	const char *path = we->path;
	bool extract = parent->fd >= 0;
	const char *name;
	struct es_err e = { 0 };
	struct xattr_check xc = { .c = c };
	char *cname = NULL;
	int outfd = -1, ret;

	if (extract) {
		cname = malloc(we->name_len + 1);
		if (!cname)
			return es_fail(c->err, -ENOMEM, "out of memory");
		memcpy(cname, we->name, we->name_len);
		cname[we->name_len] = '\0';
	}
	name = cname;
	if (extract) {
		ret = es_extract_create(parent->fd, name, ino, c->o->overwrite, &outfd, &e);
		if (ret == -EPERM && c->o->unprivileged &&
		    (S_ISCHR(ino->mode) || S_ISBLK(ino->mode))) {
			uint32_t major, minor;

			es_decode_rdev(ino->raw_u, &major, &minor);
			warnf(c, "%s: %s device %u:%u not created: making device nodes is "
			      "not permitted without privileges", path,
			      S_ISCHR(ino->mode) ? "character" : "block", major, minor);
			extract = false;
			es_err_clear(&e);
		} else if (ret) {
			free(cname);
			return keep_error(c, ret, &e);
		}
	}
	if (S_ISLNK(ino->mode) && (ino->size == 0 || ino->size > 4095)) {
		es_walk_problemf(w, path, "symlink target of %llu bytes",
				 (unsigned long long)ino->size);
		goto done;
	}
	if ((S_ISREG(ino->mode) || S_ISLNK(ino->mode)) && !(c->o->skip_data && !extract)) {
		ret = es_extract_data(c->img, ino, outfd, c->buf, &e);
		if (ret) {
			if (ret == -ES_ECORRUPT || e.code == -ES_ECORRUPT)
				es_walk_problem(w, path, &e);
			else {
				es_fail(c->err, ret, "%s: %s", ES_PATH(path), e.msg);
				if (outfd >= 0)
					close(outfd);
				free(cname);
				return ret;
			}
			goto done;
		}
		if (S_ISREG(ino->mode)) {
			c->res->regular_files++;
			c->res->data_bytes += ino->size;
			if (c->o->progress)
				c->o->progress(c->o->progress_ctx, c->res);
		}
		if (extract && S_ISLNK(ino->mode)) {
			ret = es_extract_symlink(c->img, ino, parent->fd, name, c->o->overwrite,
						 c->buf, c->err);
			if (ret)
				goto fatal;
		}
	}
	xc.dirfd = parent->fd;
	xc.name = name;
	xc.path = path;
	xc.apply = extract && c->o->xattrs;
	if (extract && c->o->preserve_owner) {
		ret = set_owner(c, parent->fd, name, outfd, path, ino);
		if (ret)
			goto fatal;
	}
	ret = es_xattr_iterate(c->img, ino, xattr_cb, &xc, &e);
	if (xc.ret) {
		ret = xc.ret;
		goto fatal;
	}
	if (ret)
		es_walk_problem(w, path, &e);
	if (extract) {
		ret = es_extract_finish(parent->fd, name, outfd, ino, c->mode_mask, c->err);
		outfd = -1;
		if (ret)
			goto fatal;
		/* further names of the inode become hard links to this one */
		we->rec->user = strdup(we->relpath);
		if (!we->rec->user) {
			ret = es_fail(c->err, -ENOMEM, "out of memory");
			goto fatal;
		}
	}
done:
	if (outfd >= 0)
		close(outfd);
	free(cname);
	return 0;
fatal:
	if (outfd >= 0)
		close(outfd);
	free(cname);
	return ret;
}

/* The root: the extraction directory is created (or opened) for it. */
static int visit_root(struct checker *c, const struct es_walk_entry *we)
{
	int fd = -1;

	c->res->inodes++;
	if (c->o->extract_dir) {
		bool created;
		int ret = es_extract_root(c->o->extract_dir, &c->rootfd, &created, c->err);

		if (ret)
			return ret;
		c->keep_root_meta = !created && !c->o->overwrite;
		fd = fcntl(c->rootfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return es_fail(c->err, -errno, "%s: %s", ES_PATH(c->o->extract_dir),
				       strerror(errno));
	}
	return push_out_dir(c, we->path, fd);
}

/*
 * A subtree that is one file (fsck --path=FILE): as in erofs-utils, the
 * extraction target names the file itself, made in the folder above it.
 */
static int visit_top_file(struct checker *c, struct es_walk *w,
			  const struct es_walk_entry *we)
{
	struct out_dir parent = { .fd = -1 };
	struct es_walk_entry leaf = *we;
	char *dir_copy = NULL, *base_copy = NULL;
	int ret;

	c->res->inodes++;
	if (c->o->extract_dir) {
		const char *base;

		dir_copy = strdup(c->o->extract_dir);
		base_copy = strdup(c->o->extract_dir);
		if (!dir_copy || !base_copy) {
			ret = es_fail(c->err, -ENOMEM, "out of memory");
			goto out;
		}
		base = basename(base_copy);
		if (!strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, "..")) {
			ret = es_fail(c->err, -EINVAL, "%s: not a name for the extracted file",
				      ES_PATH(c->o->extract_dir));
			goto out;
		}
		parent.fd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent.fd < 0) {
			ret = es_fail(c->err, -errno, "%s: %s", ES_PATH(dir_copy), strerror(errno));
			goto out;
		}
		leaf.name = (const uint8_t *)base;
		leaf.name_len = (unsigned int)strlen(base);
	}
	ret = visit_leaf(c, w, &parent, &leaf);
out:
	if (parent.fd >= 0)
		close(parent.fd);
	free(dir_copy);
	free(base_copy);
	return ret;
}

static int check_visit(void *ctx, struct es_walk *w, const struct es_walk_entry *we)
{
	struct checker *c = ctx;
	struct out_dir *parent;
	char *cname;
	int ret;

	if (we->depth == 0)
		return S_ISDIR(we->ino->mode) ? visit_root(c, we) : visit_top_file(c, w, we);
	ret = out_dir_at(c, w, we->depth - 1, &parent);
	if (ret)
		return ret;
	if (we->seen) {
		/* a hard link: to the first name, if that one was extracted */
		if (parent->fd < 0 || !we->rec->user)
			return 0;
		cname = strndup((const char *)we->name, we->name_len);
		ret = cname ? es_extract_link(c->rootfd, (const char *)we->rec->user + 1,
					      parent->fd, cname, c->o->overwrite, c->err)
			    : es_fail(c->err, -ENOMEM, "out of memory");
		free(cname);
		return ret;
	}
	c->res->inodes++;
	if (S_ISDIR(we->ino->mode)) {
		int fd = -1;

		if (parent->fd >= 0) {
			cname = strndup((const char *)we->name, we->name_len);
			if (!cname)
				return es_fail(c->err, -ENOMEM, "out of memory");
			ret = es_extract_mkdir(parent->fd, cname, c->o->overwrite, &fd, c->err);
			free(cname);
			if (ret)
				return ret;
		}
		return push_out_dir(c, we->path, fd);
	}
	return visit_leaf(c, w, parent, we);
}

static int check_leave_dir(void *ctx, struct es_walk *w, const struct es_walk_entry *we)
{
	struct checker *c = ctx;
	struct xattr_check xc = { .c = c, .name = NULL, .path = we->path };
	struct es_err e = { 0 };
	struct out_dir *od;
	bool apply;
	int ret;

	ret = out_dir_at(c, w, we->depth, &od);
	if (ret)
		return ret;
	/* an extraction directory that was there before keeps its own metadata */
	apply = od->fd >= 0 && !(we->depth == 0 && c->keep_root_meta);
	xc.dirfd = od->fd;
	xc.apply = apply && c->o->xattrs;
	if (apply && c->o->preserve_owner) {
		ret = set_owner(c, od->fd, NULL, od->fd, we->path, we->ino);
		if (ret)
			return ret;
	}
	ret = es_xattr_iterate(c->img, we->ino, xattr_cb, &xc, &e);
	if (xc.ret)
		return xc.ret;
	if (ret)
		es_walk_problem(w, we->path, &e);
	if (apply) {
		ret = es_extract_finish(od->fd, NULL, od->fd, we->ino, c->mode_mask, c->err);
		od->fd = -1;	/* es_extract_finish closed it */
		if (ret)
			return ret;
	}
	if (we->ino->nlink != 2 + we->subdirs)
		es_walk_problemf(w, we->path, "directory nlink is %u but it has %u "
				 "subdirectories (expected %u)", we->ino->nlink, we->subdirs,
				 2 + we->subdirs);
	pop_out_dir(c);
	return 0;
}

static void check_release(void *ctx, struct es_walk *w, struct es_walk_inode *rec,
			  bool complete)
{
	struct checker *c = ctx;

	/* in a subtree, names outside it are not counted */
	if (complete && !c->o->subtree && !rec->is_dir && rec->nlink != rec->names)
		es_walk_problemf(w, "/", "nid %llu has nlink %u but %u directory entries "
				 "point to it", (unsigned long long)rec->nid, rec->nlink,
				 rec->names);
	free(rec->user);
	rec->user = NULL;
}

static void check_report(void *ctx, const char *msg)
{
	struct checker *c = ctx;

	c->res->problems++;
	if (c->o->report)
		c->o->report(c->o->report_ctx, msg);
}

void es_check_opts_init(struct es_check_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->preserve_owner = true;
	o->preserve_perms = true;
	o->xattrs = true;
}

int es_check(const struct es_image *img, const struct es_check_opts *o,
	     struct es_check_result *res, struct es_err *err)
{
	static const struct es_walk_ops ops = {
		.visit = check_visit,
		.leave_dir = check_leave_dir,
		.release = check_release,
		.report = check_report,
	};
	struct checker c = { .img = img, .o = o, .err = err, .rootfd = -1,
			     .mode_mask = o->preserve_perms ? 07777 : 07777 & ~o->umask };
	struct es_check_result local;
	int ret;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	c.res = res;
	c.buf = malloc(1u << 20);
	if (!c.buf)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_walk_from(img, o->subtree ? o->subtree_nid : img->sb.root_nid, &ops, &c, err);
	while (c.ndirs)
		pop_out_dir(&c);
	free(c.dirs);
	free(c.buf);
	if (c.rootfd >= 0)
		close(c.rootfd);
	return ret;
}
