// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The tree walker.  An explicit stack of directories, each read whole
 * when it is entered (so no directory stays open while its subtree is
 * walked), and one hash map of every inode reached: it stops loops, tells
 * hard links, and counts names for the link-count check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/hashmap.h"
#include "erofs/walk.h"
#include "io.h"

struct raw_entry {
	uint8_t *name;
	unsigned int len;
	uint64_t nid;
	unsigned int ftype;
};

/* A directory being walked; its es_walk_entry names it to callbacks. */
struct frame {
	struct es_inode dir;
	struct es_walk_entry self;	/* points at dir, path, relpath */
	char *path;
	char *relpath;
	struct raw_entry *ents;
	size_t n, i;
	uint32_t subdirs;
};

struct es_walk {
	const struct es_image *img;
	const struct es_walk_ops *ops;
	void *ctx;
	struct es_err *err;		/* the first problem, or what stopped the walk */
	uint64_t problems;
	struct hmap inodes;		/* nid -> struct es_walk_inode */
	struct hmap_type inode_type;	/* inode_type, sized for the image */
	struct frame *stack;
	size_t depth, cap;
	bool subtree;			/* started below the root: the top ".." is not known */
};

static uint64_t nid_hash(const void *key)
{
	uint64_t nid;

	memcpy(&nid, key, sizeof(nid));
	return (nid * 0x9E3779B97F4A7C15ull) >> 17;
}

static const struct hmap_type inode_type = {
	.entry_size = sizeof(struct es_walk_inode),
	.key_size = sizeof(uint64_t),	/* nid, the first member */
	.hash = nid_hash,
	.initial_slots = 1024,
};

/*
 * The map sized at once for the inodes the superblock counts, so that it
 * is not copied and faulted in again at each doubling on the way there.
 * A hint only: the count is bounded by what the image could hold (a
 * 32-byte inode each) and by a fixed cap, and the map still grows past it.
 */
static size_t initial_inode_slots(const struct es_image *img)
{
	uint64_t n = img->sb.inos, fit = ((uint64_t)img->sb.blocks << img->sb.blkszbits) / 32;
	size_t slots = inode_type.initial_slots;

	if (n > fit)
		n = fit;
	while (slots < ((size_t)1 << 20) && (n + 1) * 4 > (uint64_t)slots * 3)
		slots *= 2;
	return slots;
}

void es_walk_problem(struct es_walk *w, const char *path, const struct es_err *e)
{
	char msg[ES_ERR_MSG_MAX + 1024];

	w->problems++;
	snprintf(msg, sizeof(msg), "%s: %s", ES_PATH(path), e->msg);
	es_fail(w->err, -ES_ECORRUPT, "%s", msg);
	if (w->ops->report)
		w->ops->report(w->ctx, msg);
}

void es_walk_problemf(struct es_walk *w, const char *path, const char *fmt, ...)
{
	struct es_err e = { .code = -ES_ECORRUPT };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	es_walk_problem(w, path, &e);
}

const struct es_walk_entry *es_walk_dir(const struct es_walk *w, unsigned int depth)
{
	return depth < w->depth ? &w->stack[depth].self : NULL;
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
	struct es_walk *w;
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
			es_walk_problemf(cc->w, f->path, "\".\" points to nid %llu, not to the "
					 "directory itself (nid %llu)", (unsigned long long)nid,
					 (unsigned long long)f->dir.nid);
		cc->dot = true;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		/* a subtree's top directory: its parent was not walked */
		if (nid != f->self.parent_nid && !(cc->w->subtree && cc->w->depth == 1))
			es_walk_problemf(cc->w, f->path, "\"..\" points to nid %llu, not to the "
					 "parent (nid %llu)", (unsigned long long)nid,
					 (unsigned long long)f->self.parent_nid);
		cc->dotdot = true;
		return 0;
	}
	if (f->n == cc->cap) {
		size_t ncap = cc->cap ? cc->cap * 2 : 32;
		struct raw_entry *ne = realloc(f->ents, ncap * sizeof(*ne));

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
}

/*
 * Enter a directory that was just visited: read all its entries.  Takes
 * path and relpath; name points into the parent's entries (which outlive
 * this frame).  A directory that cannot be read whole is a problem, and
 * the entries read before the failure are still walked.
 */
static int push_dir(struct es_walk *w, const struct es_inode *dir, uint64_t parent_nid,
		    const uint8_t *name, unsigned int name_len, char *path, char *relpath)
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
			return es_fail(w->err, -ENOMEM, "out of memory");
		}
		w->stack = ns;
		w->cap = ncap;
		/* each frame's self points at its own dir */
		for (size_t k = 0; k < w->depth; k++)
			w->stack[k].self.ino = &w->stack[k].dir;
	}
	f = &w->stack[w->depth++];
	memset(f, 0, sizeof(*f));
	f->dir = *dir;
	f->path = path;
	f->relpath = relpath;
	f->self = (struct es_walk_entry){
		.ino = &f->dir, .parent_nid = parent_nid, .name = name, .name_len = name_len,
		.path = path, .relpath = relpath, .depth = (unsigned int)(w->depth - 1),
	};
	cc.f = f;
	ret = es_dir_iterate(w->img, dir, collect_cb, &cc, &e);
	if (ret == -ENOMEM)
		return es_fail(w->err, ret, "out of memory");
	if (ret) {
		es_walk_problem(w, path, &e);
		return 0;
	}
	if (!cc.dot)
		es_walk_problemf(w, path, "directory has no \".\" entry");
	if (!cc.dotdot)
		es_walk_problemf(w, path, "directory has no \"..\" entry");
	return 0;
}

static int visit_entry(struct es_walk *w, struct frame *f, const struct raw_entry *ent)
{
	struct es_walk_entry we = {
		.parent_nid = f->dir.nid, .name = ent->name, .name_len = ent->len,
		.depth = (unsigned int)w->depth,
	};
	struct es_err e = { 0 };
	struct es_walk_inode *rec;
	struct es_inode ino;
	char *path, *relpath;
	bool added;
	int ret;

	path = printable_join(f->path, ent->name, ent->len);
	relpath = es_path_join(f->relpath, ent->name, ent->len);
	if (!path || !relpath) {
		free(path);
		free(relpath);
		return es_fail(w->err, -ENOMEM, "out of memory");
	}
	ret = es_inode_read(w->img, ent->nid, &ino, &e);
	if (ret) {
		es_walk_problem(w, path, &e);
		ret = 0;
		goto out;
	}
	if (es_mode_to_ftype(ino.mode) != ent->ftype) {
		es_walk_problemf(w, path, "directory entry says file type %u but nid %llu has "
				 "mode 0%o", ent->ftype, (unsigned long long)ent->nid, ino.mode);
		goto out;
	}
	ret = hmap_find_or_add(&w->inodes, &ent->nid, (void **)&rec, &added);
	if (ret) {
		ret = es_fail(w->err, ret, "out of memory");
		goto out;
	}
	rec->names++;
	we.ino = &ino;
	we.rec = rec;
	we.path = path;
	we.relpath = relpath;
	we.seen = !added;
	if (S_ISDIR(ino.mode)) {
		f->subdirs++;
		if (!added) {
			es_walk_problemf(w, path, "directory nid %llu is reachable twice "
					 "(a directory loop or a hard-linked directory)",
					 (unsigned long long)ent->nid);
			goto out;
		}
		rec->is_dir = true;
		rec->nlink = ino.nlink;
		if (w->ops->visit) {
			ret = w->ops->visit(w->ctx, w, &we);
			if (ret)
				goto out;
		}
		return push_dir(w, &ino, f->dir.nid, ent->name, ent->len, path, relpath);
	}
	if (!added) {
		if (rec->is_dir)
			es_walk_problemf(w, path, "nid %llu is used as a directory and as a file",
					 (unsigned long long)ent->nid);
		else if (w->ops->visit)
			ret = w->ops->visit(w->ctx, w, &we);
		goto out;
	}
	rec->nlink = ino.nlink;
	if (w->ops->visit)
		ret = w->ops->visit(w->ctx, w, &we);
out:
	free(path);
	free(relpath);
	return ret;
}

/* Visit the top (the root, or a subtree's) and enter it if it is a directory. */
static int start(struct es_walk *w, uint64_t top_nid)
{
	struct es_err e = { 0 };
	struct es_walk_inode *rec;
	struct es_inode root;
	char *path, *relpath;
	bool added;
	int ret;

	ret = es_inode_read(w->img, top_nid, &root, &e);
	if (ret)
		return es_fail(w->err, ret == -ENOMEM ? ret : -ES_ECORRUPT, "%s inode: %s",
			       w->subtree ? "top" : "root", e.msg);
	if (!S_ISDIR(root.mode) && !w->subtree)
		return es_fail(w->err, -ES_ECORRUPT, "the root inode (nid %llu) is not a "
			       "directory", (unsigned long long)root.nid);
	if (hmap_find_or_add(&w->inodes, &root.nid, (void **)&rec, &added))
		return es_fail(w->err, -ENOMEM, "out of memory");
	rec->is_dir = S_ISDIR(root.mode);
	rec->nlink = root.nlink;
	rec->names = 1;
	if (w->ops->visit) {
		struct es_walk_entry we = {
			.ino = &root, .rec = rec, .parent_nid = root.nid,
			.name = (const uint8_t *)"", .path = "/", .relpath = "",
		};

		ret = w->ops->visit(w->ctx, w, &we);
		if (ret || !rec->is_dir)
			return ret;
	}
	if (!rec->is_dir)
		return 0;
	path = strdup("/");
	relpath = strdup("");
	if (!path || !relpath) {
		free(path);
		free(relpath);
		return es_fail(w->err, -ENOMEM, "out of memory");
	}
	return push_dir(w, &root, root.nid, (const uint8_t *)"", 0, path, relpath);
}

static int leave_dir(struct es_walk *w, struct frame *f)
{
	if (!w->ops->leave_dir)
		return 0;
	f->self.rec = hmap_find(&w->inodes, &f->dir.nid);
	f->self.subdirs = f->subdirs;
	return w->ops->leave_dir(w->ctx, w, &f->self);
}

int es_walk(const struct es_image *img, const struct es_walk_ops *ops, void *ctx,
	    struct es_err *err)
{
	return es_walk_from(img, img->sb.root_nid, ops, ctx, err);
}

int es_walk_from(const struct es_image *img, uint64_t top_nid, const struct es_walk_ops *ops,
		 void *ctx, struct es_err *err)
{
	struct es_walk w = { .img = img, .ops = ops, .ctx = ctx, .err = err,
			     .subtree = top_nid != img->sb.root_nid };
	struct es_walk_inode *rec;
	size_t pos = 0;
	int ret;

	w.inode_type = inode_type;
	w.inode_type.initial_slots = initial_inode_slots(img);
	hmap_init(&w.inodes, &w.inode_type);
	ret = start(&w, top_nid);
	while (!ret && w.depth) {
		struct frame *f = &w.stack[w.depth - 1];

		if (f->i < f->n) {
			struct raw_entry ent = f->ents[f->i++];

			ret = visit_entry(&w, f, &ent);
			continue;
		}
		ret = leave_dir(&w, f);
		frame_free(f);
		w.depth--;
	}
	while (w.depth)
		frame_free(&w.stack[--w.depth]);
	free(w.stack);
	while ((rec = hmap_next(&w.inodes, &pos)))
		if (ops->release)
			ops->release(ctx, &w, rec, !ret);
	hmap_free(&w.inodes);
	if (ret)
		return ret;
	return w.problems ? -ES_ECORRUPT : 0;
}
