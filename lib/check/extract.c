// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "erofs/format.h"
#include "extract.h"
#include "io.h"

int es_extract_root(const char *dir, int *fd, bool *created, struct es_err *err)
{
	*created = mkdir(dir, 0700) == 0;
	if (!*created && errno != EEXIST)
		return es_fail(err, -errno, "cannot create %s: %s", ES_PATH(dir), strerror(errno));
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return es_fail(err, -errno, "cannot open %s: %s", ES_PATH(dir), strerror(errno));
	return 0;
}

int es_extract_reopen_dir(int parentfd, const char *name, dev_t dev, ino_t ino,
			  const char *what, int *fd, struct es_err *err)
{
	struct stat st;

	*fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return es_fail(err, -errno, "%s: cannot reopen directory: %s", ES_PATH(what),
			       strerror(errno));
	if (fstat(*fd, &st) < 0) {
		int ret = -errno;

		close(*fd);
		*fd = -1;
		return es_fail(err, ret, "%s: %s", ES_PATH(what), strerror(-ret));
	}
	/* someone else swapped it: what is below is no longer ours to fill */
	if (st.st_dev != dev || st.st_ino != ino) {
		close(*fd);
		*fd = -1;
		return es_fail(err, -ESTALE, "%s: the directory was replaced in the "
			       "extraction target while extracting", ES_PATH(what));
	}
	return 0;
}

static int remove_existing(int parentfd, const char *name, struct es_err *err)
{
	struct stat st;

	if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return es_fail(err, -EISDIR, "%s: exists as a directory in the "
			       "extraction target", ES_PATH(name));
	if (unlinkat(parentfd, name, 0) < 0)
		return es_fail(err, -errno, "%s: cannot replace: %s", ES_PATH(name), strerror(errno));
	return 0;
}

/*
 * name is in the way of a new entry: without overwrite that is an error,
 * with it a non-directory is unlinked (never followed, never written
 * through) so that the caller can create the entry again.
 */
static int make_room(int parentfd, const char *name, bool overwrite, struct es_err *err)
{
	if (!overwrite)
		return es_fail(err, -EEXIST, "%s: already exists in the extraction target "
			       "(overwriting was not allowed)", ES_PATH(name));
	return remove_existing(parentfd, name, err);
}

int es_extract_mkdir(int parentfd, const char *name, bool overwrite, mode_t perm, int *fd,
		     bool *made, struct es_err *err)
{
	perm &= 0777;
	*made = true;
	if (mkdirat(parentfd, name, perm) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return es_fail(err, -errno, "%s: cannot create directory: %s", ES_PATH(name),
				       strerror(errno));
		/* with --overwrite an existing directory is filled, not replaced */
		*made = false;
		if (!overwrite || fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			int ret = make_room(parentfd, name, overwrite, err);

			if (ret)
				return ret;
			*made = true;
			if (mkdirat(parentfd, name, perm) < 0)
				return es_fail(err, -errno, "%s: cannot create directory: %s",
					       ES_PATH(name), strerror(errno));
		}
	}
	*fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return es_fail(err, -errno, "%s: cannot open directory: %s", ES_PATH(name), strerror(errno));
	return 0;
}

static int create_once(int parentfd, const char *name, const struct es_inode *ino,
		       mode_t perm, int *outfd)
{
	uint32_t major, minor;

	switch (ino->mode & S_IFMT) {
	case S_IFREG:
		*outfd = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				O_CLOEXEC, perm);
		return *outfd < 0 ? -errno : 0;
	case S_IFCHR:
	case S_IFBLK:
		es_decode_rdev(ino->raw_u, &major, &minor);
		return mknodat(parentfd, name, (ino->mode & S_IFMT) | 0600,
			       makedev(major, minor)) < 0 ? -errno : 0;
	case S_IFIFO:
	case S_IFSOCK:
		return mknodat(parentfd, name, (ino->mode & S_IFMT) | 0600, 0) < 0 ?
			-errno : 0;
	default:
		return 0;	/* symlinks are made once their target is read */
	}
}

int es_extract_create(int parentfd, const char *name, const struct es_inode *ino,
		      bool overwrite, mode_t perm, int *outfd, struct es_err *err)
{
	int ret;

	*outfd = -1;
	perm &= 0777;
	ret = create_once(parentfd, name, ino, perm, outfd);
	if (ret == -EEXIST) {
		ret = make_room(parentfd, name, overwrite, err);
		if (ret)
			return ret;
		ret = create_once(parentfd, name, ino, perm, outfd);
	}
	if (ret)
		return es_fail(err, ret, "%s: cannot create: %s", ES_PATH(name), strerror(-ret));
	return 0;
}

static bool block_is_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zero[4096];

	return !memcmp(p, zero, len);
}

/*
 * Write buf at off, leaving all-zero 4 KiB blocks as holes: images made by
 * other tools store holes as zero blocks, and a 4 GiB sparse file should
 * not come out as 4 GiB on disk.  *end: past the last byte written, if
 * that is further.  The caller sets the final size if no write reached it.
 */
static int write_sparse(int fd, const uint8_t *buf, size_t len, uint64_t off, uint64_t *end)
{
	const size_t blk = 4096;
	size_t i = 0;

	while (i < len) {
		size_t start, n = len - i < blk ? len - i : blk;

		if (block_is_zero(buf + i, n)) {
			i += n;
			continue;
		}
		start = i;
		while (i < len) {
			n = len - i < blk ? len - i : blk;
			if (block_is_zero(buf + i, n))
				break;
			i += n;
		}
		int ret = es_pwrite_full(fd, buf + start, i - start, off + start);

		if (ret)
			return ret;
		if (off + i > *end)
			*end = off + i;
	}
	return 0;
}

/* What es_extract_data() has read but not written yet: buf[0, len) is the
 * file's [off, off + len). */
struct pending {
	uint64_t off;
	size_t len;
	uint64_t end;			/* past the last byte written */
};

static int flush(int outfd, const uint8_t *buf, struct pending *p, struct es_err *err)
{
	int ret = 0;

	if (outfd >= 0 && p->len)
		ret = write_sparse(outfd, buf, p->len, p->off, &p->end);
	p->len = 0;
	return ret ? es_fail(err, ret, "writing extracted data: %s", strerror(-ret)) : 0;
}

int es_extract_range(const struct es_image *img, const struct es_inode *ino, int outfd,
		     enum es_data_reads reads, const uint8_t *tail, uint8_t *buf, uint64_t from,
		     uint64_t to, uint64_t *written_end, struct es_err *err)
{
	struct pending p = { 0 };
	uint64_t off = from;
	int ret;

	*written_end = 0;
	if (outfd >= 0 && reads != ES_READ_ALL)
		return es_fail(err, -EINVAL, "internal error: extracting without reading");
	if (to > ino->size)
		to = ino->size;
	while (off < to) {
		struct es_extent ext;
		uint64_t end;

		ret = es_map_run(img, ino, off, 64u * ES_EXTRACT_BUF_SIZE, &ext, err);
		if (ret)
			return ret;
		end = ext.lstart + ext.llen < to ? ext.lstart + ext.llen : to;
		/* a device that was not given: said now, as reading it would say */
		if ((ext.flags & ES_EXTENT_MAPPED) && !(ext.flags & ES_EXTENT_INLINE) &&
		    ext.device < img->ndevices && !img->devices[ext.device].present)
			return es_dev_read(img, ext.device, ext.pstart, buf, 0, err);
		if (!(ext.flags & ES_EXTENT_MAPPED) || reads == ES_READ_NONE ||
		    (reads == ES_READ_ENCODED && !(ext.flags & ES_EXTENT_ENCODED))) {
			off = end;
			continue;
		}
		/*
		 * Consecutive extents (a flat file's blocks and its inline
		 * tail, runs of chunks) gather in buf and go out in one write.
		 */
		while (off < end) {
			size_t room, n;

			if (p.len && (p.off + p.len != off || p.len == ES_EXTRACT_BUF_SIZE)) {
				ret = flush(outfd, buf, &p, err);
				if (ret)
					return ret;
			}
			if (!p.len)
				p.off = off;
			room = ES_EXTRACT_BUF_SIZE - p.len;
			n = end - off < room ? (size_t)(end - off) : room;
			if (tail && (ext.flags & ES_EXTENT_INLINE) &&
			    ino->layout == EROFS_LAYOUT_FLAT_INLINE)
				memcpy(buf + p.len, tail + (off - ext.lstart), n);
			else if ((ret = es_extent_read(img, ino, &ext, off - ext.lstart,
						       buf + p.len, n, err)))
				return ret;
			/* only checking: nothing to gather */
			p.len = outfd >= 0 ? p.len + n : 0;
			off += n;
		}
	}
	ret = flush(outfd, buf, &p, err);
	*written_end = p.end;
	return ret;
}

int es_extract_size(int outfd, const struct es_inode *ino, uint64_t written_end,
		    struct es_err *err)
{
	/* a file that ends in a hole or in zeros: its size is set, not written */
	if (outfd >= 0 && written_end < ino->size && ftruncate(outfd, (off_t)ino->size) < 0)
		return es_fail(err, -errno, "sizing extracted file: %s", strerror(errno));
	return 0;
}

int es_extract_data(const struct es_image *img, const struct es_inode *ino, int outfd,
		    enum es_data_reads reads, const uint8_t *tail, uint8_t *buf,
		    struct es_err *err)
{
	uint64_t end;
	int ret = es_extract_range(img, ino, outfd, reads, tail, buf, 0, ino->size, &end, err);

	return ret ? ret : es_extract_size(outfd, ino, end, err);
}

int es_extract_symlink(const struct es_image *img, const struct es_inode *ino,
		       int parentfd, const char *name, bool overwrite, uint8_t *buf,
		       struct es_err *err)
{
	int ret = es_read(img, ino, 0, buf, (size_t)ino->size, err);

	if (ret)
		return ret;
	buf[ino->size] = '\0';
	if (memchr(buf, 0, (size_t)ino->size))
		return es_fail(err, -ES_ECORRUPT, "%s: symlink target contains NUL", ES_PATH(name));
	if (symlinkat((const char *)buf, parentfd, name) < 0) {
		if (errno != EEXIST)
			return es_fail(err, -errno, "%s: cannot create symlink: %s", ES_PATH(name),
				       strerror(errno));
		ret = make_room(parentfd, name, overwrite, err);
		if (ret)
			return ret;
		if (symlinkat((const char *)buf, parentfd, name) < 0)
			return es_fail(err, -errno, "%s: cannot create symlink: %s", ES_PATH(name),
				       strerror(errno));
	}
	return 0;
}

/*
 * The directory holding rel ("a/b/name", names as the reader validated
 * them) below rootfd, reached one component at a time without following
 * symlinks: rel may be longer than PATH_MAX, and nothing in the target may
 * redirect us out of it.  O_PATH: the link needs no read permission on it.
 */
static int open_parent(int rootfd, const char *rel, int *dirfd, const char **base,
		       struct es_err *err)
{
	char comp[EROFS_NAME_MAX + 1];
	const char *slash;
	int cur = rootfd;

	while ((slash = strchr(rel, '/'))) {
		size_t len = (size_t)(slash - rel);
		int next = -1, saved = EINVAL;

		if (len > 0 && len <= EROFS_NAME_MAX) {
			memcpy(comp, rel, len);
			comp[len] = '\0';
			next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			saved = errno;
		}
		if (cur != rootfd)
			close(cur);
		if (next < 0)
			return es_fail(err, -saved, "%.*s: cannot open directory: %s",
				       (int)(len < EROFS_NAME_MAX ? len : EROFS_NAME_MAX), rel,
				       strerror(saved));
		cur = next;
		rel = slash + 1;
	}
	*dirfd = cur;
	*base = rel;
	return 0;
}

int es_extract_link(int rootfd, const char *target_rel, int parentfd, const char *name,
		    bool overwrite, struct es_err *err)
{
	const char *base = NULL;
	int dirfd = -1, ret;

	ret = open_parent(rootfd, target_rel, &dirfd, &base, err);
	if (ret)
		return ret;
	if (linkat(dirfd, base, parentfd, name, 0) < 0) {
		if (errno != EEXIST)
			ret = es_fail(err, -errno, "%s: cannot create hard link: %s", ES_PATH(name),
				      strerror(errno));
		else
			ret = make_room(parentfd, name, overwrite, err);
		if (!ret && linkat(dirfd, base, parentfd, name, 0) < 0)
			ret = es_fail(err, -errno, "%s: cannot create hard link: %s", ES_PATH(name),
				      strerror(errno));
	}
	if (dirfd != rootfd)
		close(dirfd);
	return ret;
}

int es_extract_discard(int rootfd, const char *target_rel, int fd, struct es_err *err)
{
	const char *base = NULL;
	struct stat mine, there;
	int dirfd = -1, ret = 0;

	/* emptied first: a hard link made to it meanwhile keeps nothing */
	if (ftruncate(fd, 0) < 0)
		return es_fail(err, -errno, "%s: cannot empty: %s", ES_PATH(target_rel),
			       strerror(errno));
	if (rootfd < 0 || !target_rel)
		return 0;
	ret = open_parent(rootfd, target_rel, &dirfd, &base, err);
	if (ret)
		return ret;
	/* the name is removed only while it is still this file */
	if (fstat(fd, &mine) == 0 && fstatat(dirfd, base, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
	    mine.st_dev == there.st_dev && mine.st_ino == there.st_ino &&
	    unlinkat(dirfd, base, 0) < 0)
		ret = es_fail(err, -errno, "%s: cannot remove: %s", ES_PATH(target_rel),
			      strerror(errno));
	if (dirfd != rootfd)
		close(dirfd);
	return ret;
}

int es_extract_owner(int parentfd, const char *name, int fd, const struct es_inode *ino,
		     struct es_err *err)
{
	int rc = name ? fchownat(parentfd, name, ino->uid, ino->gid, AT_SYMLINK_NOFOLLOW)
		      : fchown(fd, ino->uid, ino->gid);

	if (rc < 0)
		return name ? es_fail(err, -errno, "%s: cannot set owner %u:%u: %s",
				      ES_PATH(name), ino->uid, ino->gid, strerror(errno))
			    : es_fail(err, -errno, "cannot set owner %u:%u: %s", ino->uid,
				      ino->gid, strerror(errno));
	return 0;
}

int es_extract_xattr(int parentfd, const char *name, const char *xname,
		     const uint8_t *value, size_t len, struct es_err *err)
{
	int rc;

	if (name) {
		char path[64 + EROFS_NAME_MAX];

		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", parentfd, name);
		rc = lsetxattr(path, xname, value, len, 0);
	} else {
		rc = fsetxattr(parentfd, xname, value, len, 0);
	}
	if (rc < 0)
		return name ? es_fail(err, -errno, "%s: cannot set xattr %s: %s", ES_PATH(name),
				      xname, strerror(errno))
			    : es_fail(err, -errno, "cannot set xattr %s: %s", xname,
				      strerror(errno));
	return 0;
}

int es_extract_finish(int parentfd, const char *name, int fd, const struct es_inode *ino,
		      unsigned int mode_mask, bool set_mode, struct es_err *err)
{
	struct timespec times[2] = {
		{ .tv_sec = ino->mtime, .tv_nsec = ino->mtime_nsec },
		{ .tv_sec = ino->mtime, .tv_nsec = ino->mtime_nsec },
	};
	const char *what = name ? name : "";
	const char *colon = name ? ": " : "";
	mode_t mode = ino->mode & 07777 & mode_mask;
	int ret = 0;

	if (fd >= 0) {
		if (set_mode && fchmod(fd, mode) < 0)
			ret = es_fail(err, -errno, "%s%scannot set mode: %s", ES_PATH(what), colon,
				      strerror(errno));
		if (!ret && futimens(fd, times) < 0)
			ret = es_fail(err, -errno, "%s%scannot set times: %s", ES_PATH(what), colon,
				      strerror(errno));
		/* the data written by close() may fail to reach the disk (NFS, quota) */
		if (close(fd) < 0 && !ret)
			ret = es_fail(err, -errno, "%s%s%s", ES_PATH(what), colon, strerror(errno));
		return ret;
	}
	/* a device node, FIFO or socket: never through a symlink put in its place */
	if (!S_ISLNK(ino->mode) && fchmodat(parentfd, name, mode, AT_SYMLINK_NOFOLLOW) < 0)
		return es_fail(err, -errno, "%s: cannot set mode: %s", ES_PATH(what),
			       strerror(errno));
	if (utimensat(parentfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return es_fail(err, -errno, "%s: cannot set times: %s", ES_PATH(what),
			       strerror(errno));
	return 0;
}
