// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fsck: walk the whole tree from the root without recursion (a hostile
 * image may nest arbitrarily deep), check every inode, directory, xattr
 * and data mapping, the "." and ".." entries, link counts and that no
 * directory is reachable twice; optionally extract as we go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/check.h"
#include "erofs/format.h"
#include "extract.h"
#include "io.h"

/*
 * Directory descriptors an extraction keeps open, whatever the depth: the
 * deepest ones, where the walk is.  An ancestor that fell out of the window
 * is opened again by name from the extraction root when the walk comes
 * back to it, so the common limit of 1024 descriptors bounds nothing.
 */
#define EXTRACT_FD_WINDOW 64

struct nid_info {
	uint64_t nid;
	uint32_t links_seen;
	uint32_t nlink;
	bool used, is_dir, extracted;
	char *first_path;		/* relative path of the first extracted name */
};

struct nid_map {
	struct nid_info *slots;
	size_t cap, count;
};

static size_t nid_slot(uint64_t nid, size_t cap)
{
	nid *= 0x9E3779B97F4A7C15ull;
	return (size_t)(nid >> 17) & (cap - 1);
}

static struct nid_info *nid_get(struct nid_map *m, uint64_t nid, bool *fresh)
{
	size_t i;

	if ((m->count + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 1024;
		struct nid_info *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return NULL;
		for (size_t k = 0; k < m->cap; k++) {
			if (m->slots[k].used) {
				size_t j = nid_slot(m->slots[k].nid, ncap);

				while (ns[j].used)
					j = (j + 1) & (ncap - 1);
				ns[j] = m->slots[k];
			}
		}
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	for (i = nid_slot(nid, m->cap); m->slots[i].used; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].nid == nid) {
			*fresh = false;
			return &m->slots[i];
		}
	}
	m->slots[i].used = true;
	m->slots[i].nid = nid;
	m->count++;
	*fresh = true;
	return &m->slots[i];
}

struct entry {
	uint8_t *name;
	unsigned int len;
	uint64_t nid;
	unsigned int ftype;
};

struct frame {
	struct es_inode dir;
	uint64_t parent_nid;
	int fd;				/* -1: not extracting, or out of the window */
	dev_t dev;			/* the directory created for it */
	ino_t ino;
	char *path;			/* printable path, for messages */
	char *relpath;			/* raw relative path, for hard links */
	struct entry *ents;
	size_t n, i;
	uint32_t subdirs;		/* counted while walking, for nlink */
};

struct walker {
	const struct es_image *img;
	const struct es_check_opts *o;
	struct es_check_result *res;
	struct es_err *err;		/* first problem or fatal error */
	struct nid_map map;
	struct frame *stack;
	size_t depth, cap;
	int rootfd;
	bool keep_root_meta;		/* DIR existed: its own metadata stays */
	uint8_t *buf;
	int fatal;
};

static void problem(struct walker *w, const char *path, const struct es_err *e)
{
	char msg[ES_ERR_MSG_MAX + 1024];

	w->res->problems++;
	snprintf(msg, sizeof(msg), "%s: %s", ES_PATH(path), e->msg);
	if (!w->err->code)
		es_fail(w->err, -ES_ECORRUPT, "%s", msg);
	if (w->o->report)
		w->o->report(w->o->report_ctx, msg);
}

static void problemf(struct walker *w, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problemf(struct walker *w, const char *path, const char *fmt, ...)
{
	struct es_err e = { .code = -ES_ECORRUPT };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	problem(w, path, &e);
}

/* A path for messages: unprintable bytes as \xNN. */
static char *printable_join(const char *parent, const uint8_t *name, unsigned int len)
{
	size_t plen = strlen(parent);
	char *s = malloc(plen + 1 + 4 * (size_t)len + 1), *p;

	if (!s)
		return NULL;
	memcpy(s, parent, plen);
	p = s + plen;
	if (plen == 0 || parent[plen - 1] != '/')
		*p++ = '/';
	for (unsigned int i = 0; i < len; i++) {
		if (name[i] < 0x20 || name[i] >= 0x7f || name[i] == '\\')
			p += sprintf(p, "\\x%02x", name[i]);
		else
			*p++ = (char)name[i];
	}
	*p = '\0';
	return s;
}

struct collect_ctx {
	struct walker *w;
	struct frame *f;
	size_t cap;
	bool dot, dotdot;
};

static int collect_cb(void *ctx, const uint8_t *name, unsigned int len, uint64_t nid,
		      unsigned int ftype)
{
	struct collect_ctx *cc = ctx;
	struct frame *f = cc->f;

	if (len == 1 && name[0] == '.') {
		if (nid != f->dir.nid)
			problemf(cc->w, f->path, "\".\" points to nid %llu, not to the "
				 "directory itself (nid %llu)", (unsigned long long)nid,
				 (unsigned long long)f->dir.nid);
		cc->dot = true;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		if (nid != f->parent_nid)
			problemf(cc->w, f->path, "\"..\" points to nid %llu, not to the "
				 "parent (nid %llu)", (unsigned long long)nid,
				 (unsigned long long)f->parent_nid);
		cc->dotdot = true;
		return 0;
	}
	if (f->n == cc->cap) {
		size_t ncap = cc->cap ? cc->cap * 2 : 32;
		struct entry *ne = realloc(f->ents, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		f->ents = ne;
		cc->cap = ncap;
	}
	f->ents[f->n].name = malloc(len);
	if (!f->ents[f->n].name)
		return -ENOMEM;
	memcpy(f->ents[f->n].name, name, len);
	f->ents[f->n].len = len;
	f->ents[f->n].nid = nid;
	f->ents[f->n].ftype = ftype;
	f->n++;
	return 0;
}

static void frame_free(struct frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->ents[i].name);
	free(f->ents);
	free(f->path);
	free(f->relpath);
	if (f->fd >= 0)
		close(f->fd);
}

/* Close the descriptor of the oldest frame in the window when it is full:
 * the frames that hold one are always the top of the stack. */
static void trim_held_fds(struct walker *w)
{
	size_t i = w->depth, held = 0;

	while (i > 0 && w->stack[i - 1].fd >= 0) {
		i--;
		held++;
	}
	if (held > EXTRACT_FD_WINDOW) {
		close(w->stack[i].fd);
		w->stack[i].fd = -1;
	}
}

/*
 * Give the top frame its directory back after the window moved past it:
 * walk down from the extraction root by name, each directory checked to be
 * the one created, and keep the deepest EXTRACT_FD_WINDOW open again.
 */
static int reopen_dirs(struct walker *w)
{
	size_t top = w->depth - 1;
	size_t keep_from = top >= EXTRACT_FD_WINDOW ? top + 1 - EXTRACT_FD_WINDOW : 0;
	int parent = -1, ret = 0;
	bool parent_temp = false;

	for (size_t k = 0; k <= top; k++) {
		struct frame *f = &w->stack[k];
		bool temp = false;
		int fd = f->fd;

		if (fd < 0 && k == 0 && k < keep_from) {
			fd = w->rootfd;
		} else if (fd < 0) {
			if (k == 0) {
				fd = fcntl(w->rootfd, F_DUPFD_CLOEXEC, 0);
				if (fd < 0)
					ret = es_fail(w->err, -errno, "%s: %s", f->path,
						      strerror(errno));
			} else {
				ret = es_extract_reopen_dir(parent, strrchr(f->relpath, '/') + 1,
							    f->dev, f->ino, f->path, &fd,
							    w->err);
			}
			if (ret)
				break;
			if (k >= keep_from)
				f->fd = fd;
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

/* Push a directory: read and validate all its entries. */
static int push_dir(struct walker *w, const struct es_inode *dir, uint64_t parent,
		    int fd, char *path, char *relpath)
{
	struct collect_ctx cc = { .w = w };
	struct es_err e = { 0 };
	struct frame *f;
	int ret;

	if (w->depth == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		struct frame *ns = realloc(w->stack, ncap * sizeof(*ns));

		if (!ns) {
			free(path);
			free(relpath);
			if (fd >= 0)
				close(fd);
			return es_fail(w->err, -ENOMEM, "out of memory");
		}
		w->stack = ns;
		w->cap = ncap;
	}
	f = &w->stack[w->depth++];
	memset(f, 0, sizeof(*f));
	f->dir = *dir;
	f->parent_nid = parent;
	f->fd = fd;
	f->path = path;
	f->relpath = relpath;
	if (fd >= 0) {
		struct stat st;

		if (fstat(fd, &st) < 0)
			return es_fail(w->err, -errno, "%s: %s", path, strerror(errno));
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		trim_held_fds(w);
	}
	cc.f = f;
	w->res->directories++;
	ret = es_dir_iterate(w->img, dir, collect_cb, &cc, &e);
	if (ret == -ENOMEM)
		return es_fail(w->err, ret, "out of memory");
	if (ret) {
		problem(w, path, &e);
		return 0;
	}
	if (!cc.dot)
		problemf(w, path, "directory has no \".\" entry");
	if (!cc.dotdot)
		problemf(w, path, "directory has no \"..\" entry");
	return 0;
}

struct xattr_check {
	struct walker *w;
	int dirfd;
	const char *name;		/* NULL: dirfd is the inode itself */
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
	xc->ret = es_extract_xattr(xc->dirfd, xc->name, name, value, len, xc->w->err);
	return xc->ret;
}

/* Check (and read) everything of one non-directory inode; extract it. */
static int visit_leaf(struct walker *w, struct frame *parent, const struct entry *ent,
		      const struct es_inode *ino, const char *path, struct nid_info *info,
		      const char *relpath)
{
	const bool extract = parent->fd >= 0;
	const char *name;
	struct es_err e = { 0 };
	struct xattr_check xc = { .w = w };
	char *cname = NULL;
	int outfd = -1, ret;

	if (extract) {
		cname = malloc(ent->len + 1);
		if (!cname)
			return es_fail(w->err, -ENOMEM, "out of memory");
		memcpy(cname, ent->name, ent->len);
		cname[ent->len] = '\0';
	}
	name = cname;
	if (extract) {
		ret = es_extract_create(parent->fd, name, ino, w->o->overwrite, &outfd, w->err);
		if (ret) {
			free(cname);
			return ret;
		}
	}
	if (S_ISLNK(ino->mode) && (ino->size == 0 || ino->size > 4095)) {
		problemf(w, path, "symlink target of %llu bytes", (unsigned long long)ino->size);
		goto done;
	}
	if ((S_ISREG(ino->mode) || S_ISLNK(ino->mode)) && !(w->o->skip_data && !extract)) {
		ret = es_extract_data(w->img, ino, outfd, w->buf, &e);
		if (ret) {
			if (ret == -ES_ECORRUPT || e.code == -ES_ECORRUPT)
				problem(w, path, &e);
			else {
				es_fail(w->err, ret, "%s: %s", ES_PATH(path), e.msg);
				if (outfd >= 0)
					close(outfd);
				free(cname);
				return ret;
			}
			goto done;
		}
		if (S_ISREG(ino->mode)) {
			w->res->regular_files++;
			w->res->data_bytes += ino->size;
		}
		if (extract && S_ISLNK(ino->mode)) {
			ret = es_extract_symlink(w->img, ino, parent->fd, name, w->o->overwrite,
						 w->buf, w->err);
			if (ret)
				goto fatal;
		}
	}
	xc.dirfd = parent->fd;
	xc.name = name;
	xc.apply = extract && w->o->xattrs;
	if (extract && w->o->preserve_owner) {
		ret = es_extract_owner(parent->fd, name, outfd, ino, w->err);
		if (ret)
			goto fatal;
	}
	ret = es_xattr_iterate(w->img, ino, xattr_cb, &xc, &e);
	if (xc.ret) {
		ret = xc.ret;
		goto fatal;
	}
	if (ret)
		problem(w, path, &e);
	if (extract) {
		ret = es_extract_finish(parent->fd, name, outfd, ino, w->o->preserve_perms,
					w->err);
		outfd = -1;
		if (ret)
			goto fatal;
		info->extracted = true;
		info->first_path = strdup(relpath);
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

static int visit_entry(struct walker *w, struct frame *f, const struct entry *ent)
{
	struct es_err e = { 0 };
	struct es_inode ino;
	struct nid_info *info;
	char *path, *relpath;
	bool fresh;
	int ret = 0;

	path = printable_join(f->path, ent->name, ent->len);
	relpath = es_path_join(f->relpath, ent->name, ent->len);
	if (!path || !relpath) {
		free(path);
		free(relpath);
		return es_fail(w->err, -ENOMEM, "out of memory");
	}
	ret = es_inode_read(w->img, ent->nid, &ino, &e);
	if (ret) {
		problem(w, path, &e);
		ret = 0;
		goto out;
	}
	if (es_mode_to_ftype(ino.mode) != ent->ftype) {
		problemf(w, path, "directory entry says file type %u but nid %llu has "
			 "mode 0%o", ent->ftype, (unsigned long long)ent->nid, ino.mode);
		goto out;
	}
	info = nid_get(&w->map, ent->nid, &fresh);
	if (!info) {
		ret = es_fail(w->err, -ENOMEM, "out of memory");
		goto out;
	}
	info->links_seen++;
	if (S_ISDIR(ino.mode)) {
		int fd = -1;

		f->subdirs++;
		if (!fresh) {
			problemf(w, path, "directory nid %llu is reachable twice "
				 "(a directory loop or a hard-linked directory)",
				 (unsigned long long)ent->nid);
			goto out;
		}
		info->is_dir = true;
		info->nlink = ino.nlink;
		w->res->inodes++;
		if (w->o->visit) {
			ret = w->o->visit(w->o->visit_ctx, &ino);
			if (ret)
				goto out;
		}
		if (f->fd >= 0) {
			char *cname = strndup((const char *)ent->name, ent->len);

			if (!cname) {
				ret = es_fail(w->err, -ENOMEM, "out of memory");
				goto out;
			}
			ret = es_extract_mkdir(f->fd, cname, w->o->overwrite, &fd, w->err);
			free(cname);
			if (ret)
				goto out;
		}
		return push_dir(w, &ino, f->dir.nid, fd, path, relpath);
	}
	if (!fresh) {
		if (info->is_dir)
			problemf(w, path, "nid %llu is used as a directory and as a file",
				 (unsigned long long)ent->nid);
		else if (f->fd >= 0 && info->extracted) {
			char *cname = strndup((const char *)ent->name, ent->len);

			ret = cname ? es_extract_link(w->rootfd, info->first_path + 1, f->fd,
						      cname, w->o->overwrite, w->err)
				    : es_fail(w->err, -ENOMEM, "out of memory");
			free(cname);
		}
		goto out;
	}
	info->nlink = ino.nlink;
	w->res->inodes++;
	if (w->o->visit) {
		ret = w->o->visit(w->o->visit_ctx, &ino);
		if (ret)
			goto out;
	}
	ret = visit_leaf(w, f, ent, &ino, path, info, relpath);
out:
	free(path);
	free(relpath);
	return ret;
}

static int finish_dir(struct walker *w, struct frame *f)
{
	struct xattr_check xc = { .w = w, .dirfd = f->fd, .name = NULL };
	struct es_err e = { 0 };
	/* an extraction directory that was there before keeps its own metadata */
	const bool apply = f->fd >= 0 && !(f == &w->stack[0] && w->keep_root_meta);
	int ret;

	xc.apply = apply && w->o->xattrs;
	if (apply && w->o->preserve_owner) {
		ret = es_extract_owner(f->fd, NULL, f->fd, &f->dir, w->err);
		if (ret)
			return ret;
	}
	ret = es_xattr_iterate(w->img, &f->dir, xattr_cb, &xc, &e);
	if (xc.ret)
		return xc.ret;
	if (ret)
		problem(w, f->path, &e);
	if (apply) {
		ret = es_extract_finish(f->fd, NULL, f->fd, &f->dir, w->o->preserve_perms,
					w->err);
		f->fd = -1;	/* es_extract_finish closed it */
		if (ret)
			return ret;
	} else if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->dir.nlink != 2 + f->subdirs)
		problemf(w, f->path, "directory nlink is %u but it has %u subdirectories "
			 "(expected %u)", f->dir.nlink, f->subdirs, 2 + f->subdirs);
	return 0;
}

static void check_link_counts(struct walker *w)
{
	for (size_t i = 0; i < w->map.cap; i++) {
		struct nid_info *n = &w->map.slots[i];

		if (n->used && !n->is_dir && n->nlink != n->links_seen)
			problemf(w, "/", "nid %llu has nlink %u but %u directory entries "
				 "point to it", (unsigned long long)n->nid, n->nlink,
				 n->links_seen);
	}
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
	struct es_check_result local;
	struct walker w = { .img = img, .o = o, .err = err, .rootfd = -1 };
	struct es_err e = { 0 };
	struct es_inode root;
	struct nid_info *rinfo;
	bool fresh;
	int ret;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	w.res = res;
	w.buf = malloc(1u << 20);
	if (!w.buf)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_inode_read(img, img->sb.root_nid, &root, &e);
	if (ret) {
		es_fail(err, ret == -ENOMEM ? ret : -ES_ECORRUPT, "root inode: %s", e.msg);
		free(w.buf);
		return err->code;
	}
	if (!S_ISDIR(root.mode)) {
		free(w.buf);
		return es_fail(err, -ES_ECORRUPT, "the root inode (nid %llu) is not a "
			       "directory", (unsigned long long)root.nid);
	}
	if (o->extract_dir) {
		bool created;

		ret = es_extract_root(o->extract_dir, &w.rootfd, &created, err);
		if (ret) {
			free(w.buf);
			return ret;
		}
		w.keep_root_meta = !created && !o->overwrite;
	}
	rinfo = nid_get(&w.map, root.nid, &fresh);
	if (!rinfo) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	rinfo->is_dir = true;
	rinfo->nlink = root.nlink;
	rinfo->links_seen = 1;
	res->inodes++;
	if (o->visit) {
		ret = o->visit(o->visit_ctx, &root);
		if (ret)
			goto out;
	}
	{
		int fd = w.rootfd >= 0 ? fcntl(w.rootfd, F_DUPFD_CLOEXEC, 0) : -1;
		char *path = strdup("/"), *rel = strdup("");

		if (!path || !rel || (w.rootfd >= 0 && fd < 0)) {
			free(path);
			free(rel);
			ret = es_fail(err, -ENOMEM, "out of memory");
			goto out;
		}
		ret = push_dir(&w, &root, root.nid, fd, path, rel);
	}
	while (!ret && w.depth) {
		struct frame *f = &w.stack[w.depth - 1];

		if (w.rootfd >= 0 && f->fd < 0) {
			ret = reopen_dirs(&w);
			if (ret)
				break;
		}
		if (f->i < f->n) {
			struct entry ent = f->ents[f->i++];

			ret = visit_entry(&w, f, &ent);
			continue;
		}
		ret = finish_dir(&w, f);
		frame_free(f);
		w.depth--;
	}
	if (!ret)
		check_link_counts(&w);
out:
	while (w.depth)
		frame_free(&w.stack[--w.depth]);
	free(w.stack);
	for (size_t i = 0; i < w.map.cap; i++)
		free(w.map.slots[i].first_path);
	free(w.map.slots);
	free(w.buf);
	if (w.rootfd >= 0)
		close(w.rootfd);
	if (ret)
		return ret;
	return res->problems ? -ES_ECORRUPT : 0;
}
