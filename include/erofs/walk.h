/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Walking the tree of an image: every directory entry from the root down,
 * without recursion (a hostile image may nest arbitrarily deep), every
 * inode visited once however many names it has.  fsck's checks and its
 * extraction, and dump's statistics, are callbacks on this one walk.
 */
#ifndef EROFS_WALK_H
#define EROFS_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/image.h"

struct es_walk;

/* What the walk keeps about every inode it reached. */
struct es_walk_inode {
	uint64_t nid;
	uint32_t nlink;			/* the inode's own link count */
	uint32_t names;			/* directory entries that led to it (the root: 1) */
	bool is_dir;
	void *user;			/* the caller's; release() is its last chance to free it */
};

/*
 * One name reached, with its inode.  Everything it points to is valid
 * while the callback it is passed to runs.
 */
struct es_walk_entry {
	const struct es_inode *ino;
	struct es_walk_inode *rec;
	uint64_t parent_nid;		/* the directory holding the name; the root's is itself */
	const uint8_t *name;		/* raw bytes, no NUL; empty for the root */
	unsigned int name_len;
	const char *path;		/* printable (\xNN escapes), "/" for the root: messages */
	const char *relpath;		/* the raw names, each after a '/'; "" for the root */
	unsigned int depth;		/* 0 for the root */
	bool seen;			/* a hard link: the inode was visited under an earlier name */
	uint32_t subdirs;		/* leave_dir(): its entries that are directories */
};

struct es_walk_ops {
	/*
	 * Every name whose inode could be read and has the file type its
	 * entry says, a directory before its entries, entries in directory
	 * (name) order, depth first.  A directory reached a second time is a
	 * problem (a loop or a hard-linked directory): it is reported, counted
	 * in its parent's subdirs, and neither visited nor entered again.
	 */
	int (*visit)(void *ctx, struct es_walk *w, const struct es_walk_entry *e);
	/* After the entries of a visited directory. */
	int (*leave_dir)(void *ctx, struct es_walk *w, const struct es_walk_entry *e);
	/*
	 * Every inode reached, once the walk is over, whether it went through
	 * the whole tree (complete) or stopped at an error.
	 */
	void (*release)(void *ctx, struct es_walk *w, struct es_walk_inode *rec, bool complete);
	/* Every problem, "PATH: what", as it is found; the walk goes on. */
	void (*report)(void *ctx, const char *msg);
};

/*
 * Walk the whole tree, checking what the walk itself relies on: inodes
 * that can be read, entries whose file type is their inode's, readable
 * directories whose "." and ".." point where they must, no directory
 * reachable twice.  Each problem is reported and counted, err holds the
 * first one, and the walk goes on around it; the callbacks may report
 * their own with es_walk_problem().
 *
 * Returns 0 when no problem was found, -ES_ECORRUPT when some were (or the
 * root inode is unusable), or another negative code for a failure that
 * stopped the walk: out of memory, or what a callback returned.
 */
int es_walk(const struct es_image *img, const struct es_walk_ops *ops, void *ctx,
	    struct es_err *err);

/*
 * es_walk() from top_nid down (a subtree), which is visited as the root
 * is: depth 0, path "/", relpath "".  Its ".." is not checked (its parent
 * is not walked), and inodes with names outside the subtree are reached by
 * fewer names than their link count.  A top that is no directory is
 * visited alone (and not left: it is not entered).
 */
int es_walk_from(const struct es_image *img, uint64_t top_nid, const struct es_walk_ops *ops,
		 void *ctx, struct es_err *err);

/* A problem at path (a walk entry's path, "/" for the image as a whole). */
void es_walk_problem(struct es_walk *w, const char *path, const struct es_err *e);
void es_walk_problemf(struct es_walk *w, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The directory at depth (0 is the root) on the way to the entry a
 * callback was given, or NULL past it; rec and subdirs are not filled.
 */
const struct es_walk_entry *es_walk_dir(const struct es_walk *w, unsigned int depth);

#endif
