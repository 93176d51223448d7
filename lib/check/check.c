// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fsck on the tree walker (walk.c checks what walking relies on: inodes,
 * entry types, "." and "..", loops): every xattr and data mapping, the
 * symlink sizes, directory and file link counts; optionally extract as we
 * go, into directories reached by descriptor, never by path.
 *
 * File data is read (and written) by jobs on a pool of threads while the
 * walk goes on: the walk creates every entry but the regular files of one
 * name, which their jobs create (creating is most of the cost of a small
 * file, and the walk is what the pool waits for); a job writes its data,
 * then its owner, xattrs, mode and times, through its descriptor only.  A
 * directory's own metadata waits until the walk left it and every job
 * creating a file in it did so (an entry made changes its times); it does
 * not depend on what is written into its files.  A hard link needs only
 * its target's name, and the targets the walk created.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/workq.h"
#include "erofs/check.h"
#include "erofs/format.h"
#include "erofs/unlock.h"
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

/* Data jobs queued per thread: what is in flight (open files) stays bounded. */
#define JOBS_PER_THREAD 4

/*
 * Small files go to the pool in batches, one hand-over (a lock, a wake-up)
 * for many files: at most this many files, and a batch that reached this
 * many bytes goes at once.
 */
#define BATCH_FILES 16
#define BATCH_BYTES (1u << 20)

/*
 * A file larger than this goes to the pool in pieces of PIECE_BYTES, which
 * threads read (decrypt, check) and write at once: otherwise one large
 * file met late in the walk (minbase's 50 MB apt list) keeps one thread
 * busy long after the others ran out of work.  Not a file whose bytes are
 * only copied to the one being written, see split_file().
 */
#define SPLIT_BYTES (8u << 20)
#define PIECE_BYTES (4u << 20)

/*
 * A directory that jobs may create files in: the walk holds it until it
 * leaves it, and each such job until it created its file.  The last hold
 * to go sets the metadata of a directory the walk left (and closes fd).
 */
struct dir_ref {
	int fd;				/* the walk's descriptor of it (the
					   window's), or -1 */
	atomic_uint holds;
	bool left;			/* the walk left it ... */
	struct es_inode ino;		/* ... and these are for its metadata */
	uid_t uid;
	gid_t gid;
	bool mode_set;
	char *path;
};

/*
 * Jobs are carved from slabs the walk allocates, and the thread that ends
 * the last job of a slab frees it: memory freed by another thread than the
 * one that allocated it takes malloc's arena lock, which the walk then
 * waits for; once a slab, not once a file.
 */
#define SLAB_BYTES (64u << 10)

struct slab {
	atomic_uint refs;		/* its jobs, and the walk while it carves */
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

/* The directory an extraction created for a directory of the walk. */
struct out_dir {
	int fd;				/* -1: not extracting, or out of the window */
	struct dir_ref *ref;		/* with a pool, when extracting */
	dev_t dev;
	ino_t ino;
	uid_t uid;			/* its owner when it was entered */
	gid_t gid;
	bool setgid;			/* what is made in it gets its group */
	bool mode_set;			/* made with its final mode */
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
	uid_t euid;			/* who owns what extraction creates */
	gid_t egid;
	int umask;			/* the process's, -1: not known */
	uint8_t *buf;
	enum es_data_reads reads;	/* of a file that is not extracted */
	struct es_workq *pool;		/* NULL: data is read by the walking thread */
	struct slab *slab;		/* what jobs are carved from now */
	struct piece *batch;		/* what the walk gathers for the pool ... */
	struct piece **batch_tail;
	unsigned int batch_files;	/* ... how many files, */
	uint64_t batch_bytes;		/* ... of how many bytes */
	/*
	 * What the data jobs share with the walk (and each other): res, the
	 * warned_* flags, the report and warn callbacks, and these.
	 */
	pthread_mutex_t lock;
	struct es_err data_err;		/* the first problem a job found */
	uint64_t data_problems;
	atomic_int data_fatal;		/* a job failed (I/O): the walk stops */
	struct es_err fatal_err;
	/* every job reads these: atomics, not the lock, which is then
	   seldom contended (a futex call each time it is) */
	atomic_ulong creates_pending;	/* files jobs are yet to create */
	atomic_bool create_waiting;	/* the walk waits for them (the lock) */
	pthread_cond_t created;		/* ... to be 0 */
};

struct data_job;

/* What a pool thread is given: a file's bytes [from, to). */
struct piece {
	struct data_job *job;
	uint64_t from, to;
	struct piece *next;		/* the next of its batch */
};

/* A regular file whose data is to be read, and written to outfd if >= 0. */
struct data_job {
	struct slab *slab;		/* where it was carved from */
	struct es_inode ino;
	int outfd;
	struct dir_ref *dir;		/* != NULL: the job creates the file in dir */
	mode_t perm;			/* ... with these permissions */
	bool owner_set;			/* outfd was created with the right owner */
	bool mode_set;			/* ... and with its final mode */
	/* these three in the job's own block, after it */
	char *path;			/* printable, for messages */
	char *relpath;			/* below the extraction root, or NULL */
	uint8_t *tail;			/* its inline tail, read by the walk, or NULL */
	struct piece whole;		/* the only piece of a file not split */
	/* a split file: what its pieces found, under the checker's lock;
	   the last piece to end finishes the file */
	unsigned int pieces_left;
	bool skipped;			/* a piece was not read (the walk stopped) */
	uint64_t written_end;
	int piece_ret;
	struct es_err piece_err;
};

/* What a thread reads file data with. */
struct reader {
	const struct es_image *img;
	struct es_image *own_img;	/* a pool thread's: a fork of the image */
	struct es_unlocked *own_dec;	/* ... and of its decryption stage */
	uint8_t *buf;
};

static void warn_once(struct checker *c, bool *said, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void slab_put(struct slab *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

/* size bytes for a job, from the walk's slab (*slab: it, held once more) */
static void *slab_alloc(struct checker *c, size_t size, struct slab **slab)
{
	struct slab *s = c->slab;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (!s || s->size - s->used < size) {
		size_t n = size > SLAB_BYTES ? size : SLAB_BYTES;

		s = malloc(sizeof(*s) + n);
		if (!s)
			return NULL;
		atomic_init(&s->refs, 1);
		s->used = 0;
		s->size = n;
		slab_put(c->slab);
		c->slab = s;
	}
	p = s->data + s->used;
	s->used += size;
	atomic_fetch_add(&s->refs, 1);
	*slab = s;
	return p;
}

/*
 * The failure in e (of a step that may be tolerated) becomes the walk's
 * error: c->err keeps the first problem, which a tolerated one must not
 * take the place of.
 */
static int keep_error(struct checker *c, int ret, const struct es_err *e)
{
	return ret ? es_fail(c->err, ret, "%s", e->msg) : 0;
}

/* A warning, once for the kind *said stands for (said may be NULL: always). */
static void warn_once(struct checker *c, bool *said, const char *fmt, ...)
{
	char msg[ES_ERR_MSG_MAX + 256];
	va_list ap;

	pthread_mutex_lock(&c->lock);
	if (c->o->warn && !(said && *said)) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		c->o->warn(c->o->report_ctx, msg);
	}
	if (said)
		*said = true;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Owners of other users cannot be given without privileges: upstream
 * fsck.erofs goes on without them, and so do we, saying so once.  A
 * failure goes to err (name == NULL: fd is the object, and path prefixes
 * the message).
 */
static int set_owner(struct checker *c, int parentfd, const char *name, int fd,
		     const char *path, const struct es_inode *ino, struct es_err *err)
{
	struct es_err e = { 0 };
	int ret = es_extract_owner(parentfd, name, fd, ino, &e);

	if (ret == -EPERM && c->o->unprivileged) {
		warn_once(c, &c->warned_owner, "%s: owner %u:%u not set, nor any other that "
			  "is not yours: not permitted without privileges "
			  "(--no-preserve-owner says so)", path, ino->uid, ino->gid);
		return 0;
	}
	if (ret && !name)
		return es_fail(err, ret, "%s: %s", ES_PATH(path), e.msg);
	return ret ? es_err_copy(err, &e) : 0;
}

/* Whether jobs are yet to create files in ref. */
static bool dir_busy(struct dir_ref *ref)
{
	return atomic_load(&ref->holds) > 1;
}

/*
 * Close the descriptors of the oldest directories in the window when it is
 * full: the directories that hold one are always the deepest.  One that
 * jobs are yet to create files in keeps it (and those below it) a while
 * longer: the jobs in flight are bounded, and so are these.
 */
static void trim_held_fds(struct checker *c)
{
	size_t i = c->ndirs, held = 0;

	while (i > 0 && c->dirs[i - 1].fd >= 0) {
		i--;
		held++;
	}
	for (; held > EXTRACT_FD_WINDOW; i++, held--) {
		struct out_dir *od = &c->dirs[i];

		if (od->ref && dir_busy(od->ref))
			break;
		close(od->fd);
		od->fd = -1;
		if (od->ref)
			od->ref->fd = -1;
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
			if (k >= keep_from) {
				od->fd = fd;
				if (od->ref)
					od->ref->fd = fd;
			} else
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

		if (c->pool) {
			od->ref = calloc(1, sizeof(*od->ref));
			if (!od->ref)
				return es_fail(c->err, -ENOMEM, "out of memory");
			od->ref->fd = fd;
			od->ref->holds = 1;
		}
		if (fstat(fd, &st) < 0)
			return es_fail(c->err, -errno, "%s: %s", path, strerror(errno));
		od->dev = st.st_dev;
		od->ino = st.st_ino;
		od->uid = st.st_uid;
		od->gid = st.st_gid;
		od->setgid = st.st_mode & S_ISGID;
		trim_held_fds(c);
	}
	c->res->directories++;
	return 0;
}

static void dir_release(struct checker *c, const struct es_image *img, struct dir_ref *ref);

static void pop_out_dir(struct checker *c)
{
	struct out_dir *od = &c->dirs[--c->ndirs];

	if (od->ref)
		dir_release(c, c->img, od->ref);	/* its fd is the ref's */
	else if (od->fd >= 0)
		close(od->fd);
}

struct xattr_check {
	struct checker *c;
	int dirfd;
	const char *name;		/* NULL: dirfd is the inode itself */
	const char *path;		/* for messages */
	bool apply;
	bool applied;			/* one was set (a POSIX ACL sets the mode) */
	struct es_err *err;		/* where a failure to set one goes */
	int ret;
};

static int xattr_cb(void *ctx, const char *name, const uint8_t *value, size_t len,
		    bool shared)
{
	struct xattr_check *xc = ctx;
	struct es_err e = { 0 };

	(void)shared;
	if (!xc->apply)
		return 0;
	xc->applied = true;
	xc->ret = es_extract_xattr(xc->dirfd, xc->name, name, value, len, &e);
	/* trusted.* and security.* need privileges; user.* are the user's own */
	if (xc->ret == -EPERM && xc->c->o->unprivileged && strncmp(name, "user.", 5)) {
		warn_once(xc->c, &xc->c->warned_xattr, "%s: xattr %s not set, nor any other "
			  "outside user.*: not permitted without privileges", xc->path, name);
		return xc->ret = 0;
	}
	if (xc->ret && !xc->name)
		return xc->ret = es_fail(xc->err, xc->ret, "%s: %s", ES_PATH(xc->path), e.msg);
	return xc->ret = xc->ret ? es_err_copy(xc->err, &e) : 0;
}

/*
 * A directory's own metadata, once every entry in it was made: owner (if
 * it is not the one it had when entered: uid, gid), xattrs, mode (unless
 * it was made with it: mode_set), times.  Closes fd.  w: the walk, which
 * reports a damaged xattr area (NULL: a job's, which the walk checked
 * already).
 */
static int dir_meta(struct checker *c, const struct es_image *img, struct es_walk *w, int fd,
		    const char *path, const struct es_inode *ino, uid_t uid, gid_t gid,
		    bool mode_set, struct es_err *err)
{
	struct xattr_check xc = { .c = c, .dirfd = fd, .name = NULL, .path = path,
				  .apply = c->o->xattrs, .err = err };
	struct es_err e = { 0 };
	int ret = 0;

	if (c->o->preserve_owner && (uid != ino->uid || gid != ino->gid))
		ret = set_owner(c, fd, NULL, fd, path, ino, err);
	if (!ret) {
		ret = es_xattr_iterate(img, ino, xattr_cb, &xc, &e);
		if (ret && !xc.ret && w)
			es_walk_problem(w, path, &e);
		ret = xc.ret;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	ret = es_extract_finish(fd, NULL, fd, ino, c->mode_mask, !mode_set || xc.applied, &e);
	return ret ? es_fail(err, ret, "%s: %s", ES_PATH(path), e.msg) : 0;
}

/* ---- file data, on the pool's threads (or the walking one) ------------- */

static void count_file(struct checker *c, const struct es_inode *ino)
{
	pthread_mutex_lock(&c->lock);
	c->res->regular_files++;
	c->res->data_bytes += ino->size;
	if (c->o->progress)
		c->o->progress(c->o->progress_ctx, c->res);
	pthread_mutex_unlock(&c->lock);
}

/* What a job could not do: a problem of the image, or a failure that stops
 * the walk (path NULL: e names what failed). */
static void job_failed(struct checker *c, const char *path, int ret, const struct es_err *e)
{
	pthread_mutex_lock(&c->lock);
	if (ret == -ES_ECORRUPT || e->code == -ES_ECORRUPT) {
		char msg[ES_ERR_MSG_MAX + ES_MSG_PATH_MAX + 8];

		snprintf(msg, sizeof(msg), "%s%s%s", path ? ES_PATH(path) : "", path ? ": " : "",
			 e->msg);
		es_fail(&c->data_err, -ES_ECORRUPT, "%s", msg);
		c->data_problems++;
		c->res->problems++;
		if (c->o->report)
			c->o->report(c->o->report_ctx, msg);
	} else {
		if (path)
			es_fail(&c->fatal_err, ret, "%s: %s", ES_PATH(path), e->msg);
		else
			es_fail(&c->fatal_err, ret, "%s", e->msg);
		if (!atomic_load(&c->data_fatal))
			atomic_store(&c->data_fatal, ret);
	}
	pthread_mutex_unlock(&c->lock);
}

/*
 * Drop a hold of ref; the last one sets the metadata of a directory the
 * walk left (img: the thread's image), or closes it.
 */
static void dir_release(struct checker *c, const struct es_image *img, struct dir_ref *ref)
{
	struct es_err e = { 0 };
	int ret;

	/* what the walk set before its own release is seen after this one */
	if (atomic_fetch_sub(&ref->holds, 1) != 1)
		return;
	if (ref->left) {
		ret = dir_meta(c, img, NULL, ref->fd, ref->path, &ref->ino, ref->uid, ref->gid,
			       ref->mode_set, &e);
		if (ret)
			job_failed(c, NULL, ret, &e);
	} else if (ref->fd >= 0) {
		close(ref->fd);
	}
	free(ref->path);
	free(ref);
}

static int data_fatal(struct checker *c)
{
	return atomic_load(&c->data_fatal);
}

/*
 * After its data, what an extracted file gets through its descriptor, in
 * this order: a write would drop a security.capability xattr set before
 * it, and chown() the set-user-ID bit of a mode set before it.  Closes fd.
 */
static int finish_file(struct checker *c, const struct reader *r, const struct data_job *job,
		       int fd, struct es_err *e)
{
	const char *path = job->path;
	const struct es_inode *ino = &job->ino;
	struct xattr_check xc = { .c = c, .dirfd = fd, .path = path, .apply = c->o->xattrs,
				  .err = e };
	struct es_err ie = { 0 };
	int ret = 0;

	if (c->o->preserve_owner && !job->owner_set)
		ret = set_owner(c, -1, NULL, fd, path, ino, e);
	/* a damaged xattr area is the walk's to report: it read it too */
	if (!ret && xc.apply) {
		es_xattr_iterate(r->img, ino, xattr_cb, &xc, &ie);
		ret = xc.ret;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return es_extract_finish(-1, path, fd, ino, c->mode_mask, !job->mode_set, e);
}

/* An extracted file that did not get all of its data goes (see extract.h). */
static void discard(struct checker *c, struct data_job *job)
{
	struct es_err e = { 0 };
	int ret = es_extract_discard(c->rootfd, job->relpath ? job->relpath + 1 : NULL,
				     job->outfd, &e);

	if (ret)
		warn_once(c, NULL, "%s", e.msg);
	close(job->outfd);
	job->outfd = -1;
}

/*
 * A file whose data was read (ran: its pieces all ran; ret: the first
 * failure, end: past the last byte written): finish it, or what is left
 * of it.
 */
static void end_file(struct checker *c, const struct reader *r, struct data_job *job, bool ran,
		     int ret, struct es_err *e, uint64_t end)
{
	if (ran) {
		if (!ret)
			ret = es_extract_size(job->outfd, &job->ino, end, e);
		if (!ret) {
			count_file(c, &job->ino);
			if (job->outfd >= 0) {
				ret = finish_file(c, r, job, job->outfd, e);
				job->outfd = -1;
			}
		}
		if (ret)
			job_failed(c, job->path, ret, e);
		/* a fatal failure stops the extraction: the file is not left
		   behind with part of its data */
		if (ret && ret != -ES_ECORRUPT && e->code != -ES_ECORRUPT && job->outfd >= 0)
			discard(c, job);
	} else if (job->outfd >= 0) {
		/* the extraction stopped before this file got its data */
		discard(c, job);
	}
	if (job->outfd >= 0)
		close(job->outfd);
	slab_put(job->slab);
}

/*
 * Create a file that the walk left to its job (see visit_leaf()), unless
 * the extraction stopped; either way, let its directory and any hard link
 * to it go on.  False: no data is to be written.
 */
static bool create_file(struct checker *c, const struct reader *r, struct data_job *job)
{
	struct dir_ref *dir = job->dir;
	struct es_err e = { 0 };
	bool ran = !data_fatal(c);
	int ret = 0;

	if (ran)
		ret = es_extract_create(dir->fd, strrchr(job->relpath, '/') + 1, &job->ino,
					c->o->overwrite, job->perm, &job->outfd, &e);
	if (atomic_fetch_sub(&c->creates_pending, 1) == 1 && atomic_load(&c->create_waiting)) {
		pthread_mutex_lock(&c->lock);
		pthread_cond_broadcast(&c->created);
		pthread_mutex_unlock(&c->lock);
	}
	job->dir = NULL;
	dir_release(c, r->img, dir);
	/* e names the file, as the walk's own create does */
	if (ret)
		job_failed(c, NULL, ret, &e);
	return ran && !ret;
}

static void run_one(struct checker *c, const struct reader *r, struct piece *pc)
{
	struct data_job *job = pc->job;
	struct es_err e = { 0 };
	uint64_t end = 0;
	bool ran, last;
	int ret = 0;

	if (job->dir && !create_file(c, r, job)) {
		end_file(c, r, job, false, 0, NULL, 0);
		return;
	}
	ran = !data_fatal(c);
	if (ran)
		ret = es_extract_range(r->img, &job->ino, job->outfd,
				       job->outfd >= 0 ? ES_READ_ALL : c->reads, job->tail, r->buf,
				       pc->from, pc->to, &end, &e);
	if (pc == &job->whole) {
		end_file(c, r, job, ran, ret, &e, end);
		return;
	}
	free(pc);
	pthread_mutex_lock(&c->lock);
	if (!ran)
		job->skipped = true;
	else if (ret && !job->piece_ret) {
		job->piece_ret = ret;
		es_err_copy(&job->piece_err, &e);
	}
	if (end > job->written_end)
		job->written_end = end;
	last = --job->pieces_left == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		end_file(c, r, job, !job->skipped, job->piece_ret, &job->piece_err,
			 job->written_end);
}

/* A batch of pieces, in the order the walk met them. */
static void run_job(void *ctx, void *state, void *p)
{
	struct piece *pc = p;

	while (pc) {
		struct piece *next = pc->next;

		run_one(ctx, state, pc);
		pc = next;
	}
}

static int reader_init(void *ctx, unsigned int i, void **state, struct es_err *err)
{
	struct checker *c = ctx;
	struct reader *r = calloc(1, sizeof(*r));
	int ret;

	(void)i;
	if (!r)
		return es_fail(err, -ENOMEM, "out of memory");
	*state = r;
	r->buf = malloc(ES_EXTRACT_BUF_SIZE);
	if (!r->buf)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_image_fork(c->img, &r->own_img, err);
	if (!ret && c->o->unlocked) {
		ret = es_unlocked_fork(c->o->unlocked, &r->own_dec, err);
		if (!ret)
			es_unlocked_attach(r->own_dec, r->own_img);
	}
	r->img = r->own_img;
	return ret;
}

static void reader_fini(void *ctx, void *state)
{
	struct reader *r = state;

	(void)ctx;
	es_image_close(r->own_img);
	es_unlocked_free(r->own_dec);
	free(r->buf);
	free(r);
}

static const struct es_workq_ops pool_ops = {
	.thread_init = reader_init,
	.run = run_job,
	.thread_fini = reader_fini,
};

/*
 * Whether a file goes to the pool in pieces (written: to a file being
 * extracted).  Pieces written to one file take its inode lock in turn, and
 * spin for it: they pay only where reading is the work (decoding,
 * decrypting, blobs checked against their Merkle trees as they are read),
 * not where the bytes are copied (minbase's plain extraction took 7% more
 * CPU with them).
 */
static bool split_file(const struct checker *c, const struct es_inode *ino, bool written)
{
	return c->pool && ino->size > SPLIT_BYTES &&
	       (!written || c->o->unlocked || c->img->ndevices > 1 ||
		ino->layout == EROFS_LAYOUT_COMPRESSED_FULL ||
		ino->layout == EROFS_LAYOUT_COMPRESSED_COMPACT);
}

/* Hand the files gathered so far to the pool. */
static void submit_batch(struct checker *c)
{
	if (!c->batch)
		return;
	es_workq_push(c->pool, c->batch);
	c->batch = NULL;
	c->batch_tail = &c->batch;
	c->batch_files = 0;
	c->batch_bytes = 0;
}

/* Read (and write) a regular file's data: on the pool, or now. */
static int submit_data(struct checker *c, const struct es_walk_entry *we, int outfd,
		       struct dir_ref *dir, mode_t perm, bool owner_set, bool mode_set)
{
	bool written = outfd >= 0 || dir;
	size_t plen = strlen(we->path) + 1;
	size_t rlen = written && we->depth > 0 ? strlen(we->relpath) + 1 : 0;
	/*
	 * A written file's inline tail sits in the block of its inode, which
	 * the walk just read: copied from there, the data thread need not
	 * read that block again (if this fails, the thread reads it).
	 */
	size_t tlen = written && c->pool && we->ino->layout == EROFS_LAYOUT_FLAT_INLINE ?
		we->ino->tail_len : 0;
	struct slab *slab = NULL;
	struct data_job *job = slab_alloc(c, sizeof(*job) + plen + rlen + tlen, &slab);
	int ret = data_fatal(c);

	if (!ret && !job)
		ret = es_fail(c->err, -ENOMEM, "out of memory");
	if (ret) {
		if (outfd >= 0)
			close(outfd);
		slab_put(slab);
		return ret;
	}
	memset(job, 0, sizeof(*job));
	job->slab = slab;
	job->path = memcpy((char *)(job + 1), we->path, plen);
	if (rlen)
		job->relpath = memcpy(job->path + plen, we->relpath, rlen);
	job->ino = *we->ino;
	job->outfd = outfd;
	if (dir) {
		job->dir = dir;
		job->perm = perm;
		atomic_fetch_add(&dir->holds, 1);
		atomic_fetch_add(&c->creates_pending, 1);
	}
	if (tlen) {
		struct es_err ignored = { 0 };

		job->tail = (uint8_t *)job->path + plen + rlen;
		if (es_meta_read(c->img, job->ino.tail_pos, job->tail, tlen, &ignored))
			job->tail = NULL;
	}
	job->owner_set = owner_set;
	job->mode_set = mode_set;
	job->whole = (struct piece){ .job = job, .from = 0, .to = job->ino.size };
	if (split_file(c, &job->ino, written)) {
		uint64_t n = (job->ino.size + PIECE_BYTES - 1) / PIECE_BYTES;

		/* counted whole first: no piece may end the file while the
		   walk is still handing out the others */
		job->pieces_left = (unsigned int)n;
		for (uint64_t i = 0; i < n; i++) {
			struct piece *pc = malloc(sizeof(*pc));

			if (!pc) {
				bool last;

				/* the pieces not made are not read: the file is
				   discarded by the last piece, or here */
				pthread_mutex_lock(&c->lock);
				job->skipped = true;
				job->pieces_left -= (unsigned int)(n - i);
				last = !job->pieces_left;
				pthread_mutex_unlock(&c->lock);
				if (last)
					end_file(c, NULL, job, false, 0, NULL, 0);
				return es_fail(c->err, -ENOMEM, "out of memory");
			}
			*pc = (struct piece){ .job = job, .from = i * PIECE_BYTES,
					      .to = (i + 1) * PIECE_BYTES };
			*c->batch_tail = pc;
			c->batch_tail = &pc->next;
			submit_batch(c);
		}
		return data_fatal(c);
	}
	if (c->pool) {
		*c->batch_tail = &job->whole;
		c->batch_tail = &job->whole.next;
		c->batch_bytes += job->ino.size;
		if (++c->batch_files >= BATCH_FILES || c->batch_bytes >= BATCH_BYTES)
			submit_batch(c);
	} else {
		struct reader self = { .img = c->img, .buf = c->buf };

		run_job(c, &self, &job->whole);
	}
	return data_fatal(c);
}

/*
 * Check everything of one non-directory inode and extract it; a regular
 * file's data goes to a data job (which finishes the extracted file).
 */
static int visit_leaf(struct checker *c, struct es_walk *w, struct out_dir *parent,
		      const struct es_walk_entry *we)
{
	const struct es_inode *ino = we->ino;
	const char *path = we->path;
	bool extract = parent->fd >= 0;
	const char *name;
	struct es_err e = { 0 };
	struct xattr_check xc = { .c = c, .err = c->err };
	char *cname = NULL;
	int outfd = -1, ret = 0;
	/*
	 * What extraction creates is ours, with the group of its folder if
	 * that is set-group-ID: when that is what the image says, there is
	 * no owner to set; and a regular file whose owner needs no change
	 * can be made with its final mode (the umask leaving it alone, no
	 * set-ID bit that chown would clear), which then needs no chmod.
	 */
	bool owner_set = extract && (!c->o->preserve_owner ||
		(ino->uid == c->euid && ino->gid == (parent->setgid ? parent->gid : c->egid)));
	mode_t final = ino->mode & 07777 & c->mode_mask;
	bool mode_set = owner_set && S_ISREG(ino->mode) && !(final & 07000) && c->umask >= 0 &&
			!(final & (mode_t)c->umask);
	/*
	 * A regular file of one name, not split among threads, is created by
	 * its job: nothing else names it (a corrupt image's further name
	 * waits for it, see check_visit()).
	 */
	bool defer = extract && parent->ref && S_ISREG(ino->mode) && ino->nlink == 1 &&
		     !split_file(c, ino, true);
	mode_t perm = mode_set ? final : 0600;

	if (extract) {
		cname = malloc(we->name_len + 1);
		if (!cname)
			return es_fail(c->err, -ENOMEM, "out of memory");
		memcpy(cname, we->name, we->name_len);
		cname[we->name_len] = '\0';
	}
	name = cname;
	/* further names of the inode become hard links to this one (even to
	   a device not made); one a job creates is marked (its '/' made '*') */
	if (extract) {
		we->rec->user = strdup(we->relpath);
		if (!we->rec->user) {
			free(cname);
			return es_fail(c->err, -ENOMEM, "out of memory");
		}
		if (defer)
			*(char *)we->rec->user = '*';
	}
	if (extract && !defer) {
		ret = es_extract_create(parent->fd, name, ino, c->o->overwrite, perm, &outfd, &e);
		if (ret == -EPERM && c->o->unprivileged &&
		    (S_ISCHR(ino->mode) || S_ISBLK(ino->mode))) {
			uint32_t major, minor;

			es_decode_rdev(ino->raw_u, &major, &minor);
			warn_once(c, NULL, "%s: %s device %u:%u not created: making device "
				  "nodes is not permitted without privileges", path,
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
		goto out;
	}
	if (S_ISREG(ino->mode) || S_ISLNK(ino->mode)) {
		/*
		 * Every extent mapped here, in walk order, whatever the jobs
		 * read later: a problem is reported once, in order, and a
		 * missing device stops the walk here (a job would look for
		 * it in the source, which serves one thread).  A symlink's
		 * target is read: it is small.
		 */
		ret = es_extract_data(c->img, ino, -1, S_ISLNK(ino->mode) ? ES_READ_ALL :
				      ES_READ_NONE, NULL, c->buf, &e);
		if (ret == -ES_ECORRUPT || e.code == -ES_ECORRUPT) {
			es_walk_problem(w, path, &e);
			ret = 0;
			/* made, and left empty, as the walk makes the others */
			if (defer)
				ret = keep_error(c, es_extract_create(parent->fd, name, ino,
								      c->o->overwrite, perm,
								      &outfd, &e), &e);
			goto out;
		}
		if (ret) {
			es_fail(c->err, ret, "%s: %s", ES_PATH(path), e.msg);
			goto out;
		}
		if (S_ISREG(ino->mode) && (outfd >= 0 || defer || c->reads != ES_READ_NONE)) {
			ret = submit_data(c, we, outfd, defer ? parent->ref : NULL, perm,
					  owner_set, mode_set);
			outfd = -1;
			if (ret)
				goto out;
		} else if (S_ISREG(ino->mode)) {
			count_file(c, ino);
		}
		if (extract && S_ISLNK(ino->mode)) {
			ret = es_extract_symlink(c->img, ino, parent->fd, name, c->o->overwrite,
						 c->buf, c->err);
			if (ret)
				goto out;
		}
	}
	/* a data job sets an extracted file's owner and xattrs after its data */
	xc.dirfd = parent->fd;
	xc.name = name;
	xc.path = path;
	xc.apply = extract && c->o->xattrs && !S_ISREG(ino->mode);
	if (extract && c->o->preserve_owner && !owner_set && !S_ISREG(ino->mode)) {
		ret = set_owner(c, parent->fd, name, -1, path, ino, c->err);
		if (ret)
			goto out;
	}
	ret = es_xattr_iterate(c->img, ino, xattr_cb, &xc, &e);
	if (xc.ret) {
		ret = xc.ret;
		goto out;
	}
	if (ret)
		es_walk_problem(w, path, &e);
	ret = 0;
	if (extract && !S_ISREG(ino->mode))
		ret = es_extract_finish(parent->fd, name, -1, ino, c->mode_mask, true, c->err);
out:
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
	struct stat st;
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
		if (parent.fd < 0 || fstat(parent.fd, &st) < 0) {
			ret = es_fail(c->err, -errno, "%s: %s", ES_PATH(dir_copy), strerror(errno));
			goto out;
		}
		/* the group a file made there gets */
		parent.gid = st.st_gid;
		parent.setgid = st.st_mode & S_ISGID;
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

/*
 * Until the jobs created every file given to them: a name the image says
 * is the only one of its inode has another (it is corrupt), to be linked.
 */
static void wait_creates(struct checker *c)
{
	submit_batch(c);
	pthread_mutex_lock(&c->lock);
	/* a job that ends the count after this store signals (under the lock,
	   so not before the wait below began) */
	atomic_store(&c->create_waiting, true);
	while (atomic_load(&c->creates_pending))
		pthread_cond_wait(&c->created, &c->lock);
	atomic_store(&c->create_waiting, false);
	pthread_mutex_unlock(&c->lock);
}

static int check_visit(void *ctx, struct es_walk *w, const struct es_walk_entry *we)
{
	struct checker *c = ctx;
	struct out_dir *parent;
	char *cname;
	int ret = data_fatal(c);

	if (ret)
		return ret;	/* a data job failed: the walk stops there */
	if (we->depth == 0)
		return S_ISDIR(we->ino->mode) ? visit_root(c, we) : visit_top_file(c, w, we);
	ret = out_dir_at(c, w, we->depth - 1, &parent);
	if (ret)
		return ret;
	if (we->seen) {
		/* a hard link: to the first name, if that one was extracted */
		if (parent->fd < 0 || !we->rec->user)
			return 0;
		if (*(const char *)we->rec->user == '*')
			wait_creates(c);
		cname = strndup((const char *)we->name, we->name_len);
		ret = cname ? es_extract_link(c->rootfd, (const char *)we->rec->user + 1,
					      parent->fd, cname, c->o->overwrite, c->err)
			    : es_fail(c->err, -ENOMEM, "out of memory");
		free(cname);
		return ret;
	}
	c->res->inodes++;
	if (S_ISDIR(we->ino->mode)) {
		mode_t final = we->ino->mode & 07777 & c->mode_mask;
		/*
		 * Made with its final mode, which then needs no chmod, when
		 * that gives us what filling it takes and no one else a way
		 * to put entries in it meanwhile, the umask leaves it alone,
		 * and no set-ID bit is asked for or comes from the folder
		 * above (chown leaves a directory's mode as it is).
		 */
		bool final_ok = (final & 0700) == 0700 && !(final & 07022) && c->umask >= 0 &&
				!(final & (mode_t)c->umask) && !parent->setgid;
		bool made = false;
		int fd = -1;

		if (parent->fd >= 0) {
			cname = strndup((const char *)we->name, we->name_len);
			if (!cname)
				return es_fail(c->err, -ENOMEM, "out of memory");
			ret = es_extract_mkdir(parent->fd, cname, c->o->overwrite,
					       final_ok ? final : 0700, &fd, &made, c->err);
			free(cname);
			if (ret)
				return ret;
		}
		ret = push_out_dir(c, we->path, fd);
		if (!ret)
			c->dirs[c->ndirs - 1].mode_set = made && final_ok;
		return ret;
	}
	return visit_leaf(c, w, parent, we);
}

static int check_leave_dir(void *ctx, struct es_walk *w, const struct es_walk_entry *we)
{
	struct checker *c = ctx;
	struct xattr_check xc = { .c = c, .name = NULL, .path = we->path, .err = c->err };
	struct es_err e = { 0 };
	struct out_dir *od;
	bool apply, last = true;
	int ret;

	ret = out_dir_at(c, w, we->depth, &od);
	if (ret)
		return ret;
	/* an extraction directory that was there before keeps its own metadata */
	apply = od->fd >= 0 && !(we->depth == 0 && c->keep_root_meta);
	if (apply && od->ref) {
		struct dir_ref *ref = od->ref;

		ref->path = strdup(we->path);
		if (!ref->path)
			return es_fail(c->err, -ENOMEM, "out of memory");
		ref->ino = *we->ino;
		ref->uid = od->uid;
		ref->gid = od->gid;
		ref->mode_set = od->mode_set;
		ref->left = true;
		last = atomic_fetch_sub(&ref->holds, 1) == 1;
		if (last) {
			free(ref->path);
			free(ref);
		} else {
			od->fd = -1;	/* the jobs' now: the last sets its metadata */
		}
		od->ref = NULL;
	}
	if (apply && last) {
		/* the owner it had when entered: ours, or an existing folder's */
		ret = dir_meta(c, c->img, w, od->fd, we->path, we->ino, od->uid, od->gid,
			       od->mode_set, c->err);
		od->fd = -1;	/* dir_meta closed it */
		if (ret)
			return ret;
	} else {
		/* checked only (the metadata is set by the last job, or not at all) */
		ret = es_xattr_iterate(c->img, we->ino, xattr_cb, &xc, &e);
		if (ret)
			es_walk_problem(w, we->path, &e);
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

	pthread_mutex_lock(&c->lock);
	c->res->problems++;
	if (c->o->report)
		c->o->report(c->o->report_ctx, msg);
	pthread_mutex_unlock(&c->lock);
}

/*
 * The umask files are created with, without changing it (umask() would,
 * for a moment, for every thread): -1 when the kernel does not say.
 */
static int process_umask(void)
{
	char line[128];
	unsigned int mask;
	int found = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &mask) == 1) {
			found = (int)(mask & 0777);
			break;
		}
	fclose(f);
	return found;
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
	c.batch_tail = &c.batch;
	c.euid = geteuid();
	c.egid = getegid();
	c.umask = process_umask();
	c.reads = !o->check_data ? ES_READ_NONE : o->data_proven ? ES_READ_ENCODED : ES_READ_ALL;
	c.buf = malloc(ES_EXTRACT_BUF_SIZE);
	if (!c.buf)
		return es_fail(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.created, NULL);
	ret = 0;
	if (o->nthreads > 1 && (o->extract_dir || c.reads != ES_READ_NONE))
		ret = es_workq_start(&c.pool, o->nthreads, (size_t)o->nthreads * JOBS_PER_THREAD,
				     &pool_ops, &c, err);
	if (!ret)
		ret = es_walk_from(img, o->subtree ? o->subtree_nid : img->sb.root_nid, &ops, &c,
				   err);
	/* the jobs still queued write into directories the walk has left:
	   through their own descriptors, as they would have anyway */
	if (c.pool)
		submit_batch(&c);
	es_workq_finish(c.pool);
	slab_put(c.slab);
	if (c.data_fatal && (!ret || ret == -ES_ECORRUPT || ret == c.data_fatal)) {
		es_err_clear(err);
		ret = es_err_copy(err, &c.fatal_err);
	} else if (c.data_problems && !ret) {
		ret = es_err_copy(err, &c.data_err);
	}
	pthread_mutex_destroy(&c.lock);
	pthread_cond_destroy(&c.created);
	while (c.ndirs)
		pop_out_dir(&c);
	free(c.dirs);
	free(c.buf);
	if (c.rootfd >= 0)
		close(c.rootfd);
	return ret;
}
