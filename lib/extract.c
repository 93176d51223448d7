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

#define EXTRACT_BUF_SIZE (1u << 20)

int es_extract_root(const char *dir, int *fd, struct es_err *err)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return es_fail(err, -errno, "cannot create %s: %s", ES_PATH(dir), strerror(errno));
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return es_fail(err, -errno, "cannot open %s: %s", ES_PATH(dir), strerror(errno));
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

static int exists_error(const char *name, struct es_err *err)
{
	return es_fail(err, -EEXIST, "%s: already exists in the extraction target "
		       "(use --overwrite)", ES_PATH(name));
}

int es_extract_mkdir(int parentfd, const char *name, bool overwrite, int *fd,
		     struct es_err *err)
{
	if (mkdirat(parentfd, name, 0700) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return es_fail(err, -errno, "%s: cannot create directory: %s",
				       ES_PATH(name), strerror(errno));
		if (!overwrite)
			return exists_error(name, err);
		if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			int ret = remove_existing(parentfd, name, err);

			if (ret)
				return ret;
			if (mkdirat(parentfd, name, 0700) < 0)
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
		       int *outfd)
{
	uint32_t major, minor;

	switch (ino->mode & S_IFMT) {
	case S_IFREG:
		*outfd = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				O_CLOEXEC, 0600);
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
		      bool overwrite, int *outfd, struct es_err *err)
{
	int ret;

	*outfd = -1;
	ret = create_once(parentfd, name, ino, outfd);
	if (ret == -EEXIST) {
		if (!overwrite)
			return exists_error(name, err);
		ret = remove_existing(parentfd, name, err);
		if (ret)
			return ret;
		ret = create_once(parentfd, name, ino, outfd);
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
 * not come out as 4 GiB on disk.  The caller sets the final size.
 */
static int write_sparse(int fd, const uint8_t *buf, size_t len, uint64_t off)
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
	}
	return 0;
}

int es_extract_data(const struct es_image *img, const struct es_inode *ino, int outfd,
		    uint8_t *buf, struct es_err *err)
{
	uint64_t off = 0;
	int ret;

	while (off < ino->size) {
		struct es_extent ext;
		uint64_t end;

		ret = es_map_run(img, ino, off, 64u * EXTRACT_BUF_SIZE, &ext, err);
		if (ret)
			return ret;
		end = ext.lstart + ext.llen;
		if (!(ext.flags & ES_EXTENT_MAPPED)) {
			off = end;
			continue;
		}
		while (off < end) {
			size_t n = end - off < EXTRACT_BUF_SIZE ? (size_t)(end - off)
								 : EXTRACT_BUF_SIZE;

			ret = es_extent_read(img, ino, &ext, off - ext.lstart, buf, n, err);
			if (ret)
				return ret;
			if (outfd >= 0) {
				ret = write_sparse(outfd, buf, n, off);
				if (ret)
					return es_fail(err, ret, "writing extracted data: %s",
						       strerror(-ret));
			}
			off += n;
		}
	}
	if (outfd >= 0 && ftruncate(outfd, (off_t)ino->size) < 0)
		return es_fail(err, -errno, "sizing extracted file: %s", strerror(errno));
	return 0;
}

int es_extract_symlink(const struct es_image *img, const struct es_inode *ino,
		       int parentfd, const char *name, uint8_t *buf, struct es_err *err)
{
	int ret = es_read(img, ino, 0, buf, (size_t)ino->size, err);

	if (ret)
		return ret;
	buf[ino->size] = '\0';
	if (memchr(buf, 0, (size_t)ino->size))
		return es_fail(err, -ES_ECORRUPT, "%s: symlink target contains NUL", ES_PATH(name));
	if (symlinkat((const char *)buf, parentfd, name) < 0) {
		if (errno != EEXIST)
			return es_fail(err, -errno, "%s: cannot create symlink: %s", ES_PATH(name), strerror(errno));
		return exists_error(name, err);
	}
	return 0;
}

int es_extract_link(int rootfd, const char *target_rel, int parentfd, const char *name,
		    bool overwrite, struct es_err *err)
{
	if (linkat(rootfd, target_rel, parentfd, name, 0) < 0) {
		int ret;

		if (errno != EEXIST || !overwrite)
			return errno == EEXIST ? exists_error(name, err) :
				es_fail(err, -errno, "%s: cannot create hard link: %s",
					ES_PATH(name), strerror(errno));
		ret = remove_existing(parentfd, name, err);
		if (ret)
			return ret;
		if (linkat(rootfd, target_rel, parentfd, name, 0) < 0)
			return es_fail(err, -errno, "%s: cannot create hard link: %s",
				       ES_PATH(name), strerror(errno));
	}
	return 0;
}

int es_extract_owner(int parentfd, const char *name, int fd, const struct es_inode *ino,
		     struct es_err *err)
{
	int rc = name ? fchownat(parentfd, name, ino->uid, ino->gid, AT_SYMLINK_NOFOLLOW)
		      : fchown(fd, ino->uid, ino->gid);

	if (rc < 0)
		return es_fail(err, -errno, "%s: cannot set owner %u:%u: %s",
			       ES_PATH(name ? name : "directory"), ino->uid, ino->gid,
			       strerror(errno));
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
		return es_fail(err, -errno, "%s: cannot set xattr %s: %s",
			       ES_PATH(name ? name : "directory"), xname, strerror(errno));
	return 0;
}

int es_extract_finish(int parentfd, const char *name, int fd, const struct es_inode *ino,
		      bool perms, struct es_err *err)
{
	struct timespec times[2] = {
		{ .tv_sec = ino->mtime, .tv_nsec = ino->mtime_nsec },
		{ .tv_sec = ino->mtime, .tv_nsec = ino->mtime_nsec },
	};
	const char *what = name ? name : "directory";
	int ret = 0;

	if (fd >= 0) {
		if (perms && fchmod(fd, ino->mode & 07777) < 0)
			ret = es_fail(err, -errno, "%s: cannot set mode: %s", ES_PATH(what),
				      strerror(errno));
		if (!ret && futimens(fd, times) < 0)
			ret = es_fail(err, -errno, "%s: cannot set times: %s", ES_PATH(what),
				      strerror(errno));
		if (close(fd) < 0 && !ret)
			ret = es_fail(err, -errno, "%s: %s", ES_PATH(what), strerror(errno));
		return ret;
	}
	if (perms && !S_ISLNK(ino->mode) &&
	    fchmodat(parentfd, name, ino->mode & 07777, 0) < 0)
		return es_fail(err, -errno, "%s: cannot set mode: %s", ES_PATH(what),
			       strerror(errno));
	if (utimensat(parentfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return es_fail(err, -errno, "%s: cannot set times: %s", ES_PATH(what),
			       strerror(errno));
	return 0;
}
