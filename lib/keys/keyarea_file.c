// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Where a key area lives: embedded in a sealed image (the locator's key
 * area section) or in a detached file.  See include/erofs/keyarea.h.
 *
 * Embedded areas are changed in place, only ever inside the section the
 * locator names.  A detached area is changed in a temporary copy in the
 * same folder, which then replaces it: fsync, rename, fsync of the folder
 * (ENCRYPTION.md section 4).  Both are locked with flock() against a
 * second writer; readers take no lock (they only ever see a committed
 * copy or one whose checksum fails).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "erofs/io.h"
#include "erofs/keyarea.h"
#include "erofs/seal.h"
#include "erofs/secret.h"

struct es_keyarea_file {
	struct es_keyarea_dev dev;
	int fd;			/* what the device reads and writes */
	int orig_fd;		/* detached + writable: the original, locked */
	uint64_t base;		/* offset of the area in fd */
	char *path;		/* the image or detached file */
	char *tmp_path;		/* detached + writable: the copy, until committed */
	char where[ES_MSG_PATH_MAX + 64];
};

/* ---- the device over a file descriptor -------------------------------------- */

static int pread_all(int fd, const char *path, uint64_t off, void *buf, size_t len,
		     struct es_err *err)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return es_fail(err, -errno, "%s: %s", ES_PATH(path), strerror(errno));
		if (n == 0)
			return es_fail(err, -ES_ECORRUPT, "%s: shorter than its key area",
				       ES_PATH(path));
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const char *path, uint64_t off, const void *buf, size_t len,
		      struct es_err *err)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return es_fail(err, n < 0 ? -errno : -EIO, "%s: %s", ES_PATH(path),
				       n < 0 ? strerror(errno) : "short write");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err)
{
	struct es_keyarea_file *f = ctx;

	if (off > f->dev.size || len > f->dev.size - off)
		return es_fail(err, -EINVAL, "read outside the key area");
	return pread_all(f->fd, f->path, f->base + off, buf, len, err);
}

/* Never outside the key area: the rest of the image is not ours to touch. */
static int fd_write(void *ctx, uint64_t off, const void *buf, size_t len, struct es_err *err)
{
	struct es_keyarea_file *f = ctx;

	if (off > f->dev.size || len > f->dev.size - off)
		return es_fail(err, -EINVAL, "write outside the key area");
	return pwrite_all(f->fd, f->tmp_path ? f->tmp_path : f->path, f->base + off, buf, len,
			  err);
}

static int fd_sync(void *ctx, struct es_err *err)
{
	struct es_keyarea_file *f = ctx;

	if (fdatasync(f->fd))
		return es_fail(err, -errno, "%s: %s", ES_PATH(f->path), strerror(errno));
	return 0;
}

/* ---- opening ------------------------------------------------------------------ */

static struct es_keyarea_file *file_new(const char *path)
{
	struct es_keyarea_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = -1;
	f->orig_fd = -1;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->dev.read = fd_read;
	f->dev.ctx = f;
	return f;
}

void es_keyarea_file_close(struct es_keyarea_file *f)
{
	if (!f)
		return;
	if (f->tmp_path)
		unlink(f->tmp_path);
	if (f->fd >= 0)
		close(f->fd);
	if (f->orig_fd >= 0)
		close(f->orig_fd);
	free(f->tmp_path);
	free(f->path);
	free(f);
}

static int open_file(const char *path, bool writable, struct es_err *err)
{
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return es_fail(err, -errno, "%s: %s", ES_PATH(path), strerror(errno));
	if (fstat(fd, &st)) {
		int ret = -errno;

		close(fd);
		return es_fail(err, ret, "%s: %s", ES_PATH(path), strerror(-ret));
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return es_fail(err, -EINVAL, "%s: not a regular file or block device",
			       ES_PATH(path));
	}
	if (writable && flock(fd, LOCK_EX | LOCK_NB)) {
		int ret = -errno;

		close(fd);
		if (ret == -EWOULDBLOCK)
			return es_fail(err, -EBUSY, "%s: another program is changing its key "
				       "area", ES_PATH(path));
		return es_fail(err, ret, "%s: cannot lock: %s", ES_PATH(path), strerror(-ret));
	}
	return fd;
}

static int file_size(int fd, const char *path, uint64_t *size, struct es_err *err)
{
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < 0)
		return es_fail(err, -errno, "%s: %s", ES_PATH(path), strerror(errno));
	*size = (uint64_t)end;
	return 0;
}

/*
 * What the image says about its key area: the seal's locator gives the
 * section and the UUID (checked against the manifest); the manifest, when
 * this reader decodes it, the suite and the table digest.  expect NULL:
 * the locator alone.
 */
static int read_seal(int fd, const char *path, struct es_seal_section *keys,
		     struct es_keyarea_expect *expect, struct es_err *err)
{
	struct es_seal *s = NULL;
	struct es_io io;
	int ret;

	ret = es_io_file_wrap(&io, fd, path, err);
	if (ret)
		return ret;
	ret = es_seal_open(&io, &s, err);
	if (ret == -ENODATA)
		ret = es_fail(err, -ENODATA, "%s: not a sealed image, so it has no key area",
			      ES_PATH(path));
	if (ret)
		goto out;
	*keys = s->keys_sec;
	/* a caller that parsed the manifest itself wants the locator only:
	   parsing it again (the whole chunk index) would double that work */
	if (!expect)
		goto out;
	memset(expect, 0, sizeof(*expect));
	memcpy(expect->uuid, s->uuid, ES_UUID_SIZE);
	ret = es_seal_parse(&io, s, err);
	if (!ret && s->suite == 0) {
		ret = es_fail(err, -EXDEV, "%s: its signed manifest names no crypto suite: "
			      "the image is not encrypted", ES_PATH(path));
	} else if (!ret) {
		expect->check_table = true;
		expect->suite = s->suite;
		memcpy(expect->table_digest, s->key_table_digest, 32);
	} else if (ret == -EOPNOTSUPP) {
		/* a manifest this reader cannot decode yet: the UUID is checked */
		es_err_clear(err);
		ret = 0;
	}
out:
	es_seal_free(s);
	es_io_close(&io);
	return ret;
}

/*
 * The locked file is still the one at path: a writer that waited for the
 * lock while another replaced the file would otherwise change a copy that
 * no longer has a name.
 */
static int check_still_named(int fd, const char *path, struct es_err *err)
{
	struct stat a, b;

	if (fstat(fd, &a) || stat(path, &b))
		return es_fail(err, -errno, "%s: %s", ES_PATH(path), strerror(errno));
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return es_fail(err, -EBUSY, "%s: replaced while it was being opened; try "
			       "again", ES_PATH(path));
	return 0;
}

/* A temporary copy of f->path in its folder, for a detached area. */
static int make_temp_copy(struct es_keyarea_file *f, struct es_err *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int ret = 0;

	if (fstat(f->orig_fd, &st))
		return es_fail(err, -errno, "%s: %s", ES_PATH(f->path), strerror(errno));
	if (asprintf(&f->tmp_path, "%s.erofs-key-XXXXXX", f->path) < 0) {
		f->tmp_path = NULL;
		return es_fail(err, -ENOMEM, "out of memory");
	}
	f->fd = mkostemp(f->tmp_path, O_CLOEXEC);
	if (f->fd < 0) {
		ret = -errno;
		free(f->tmp_path);
		f->tmp_path = NULL;
		return es_fail(err, ret, "%s: cannot create a temporary file next to it: %s",
			       ES_PATH(f->path), strerror(-ret));
	}
	if (fchmod(f->fd, st.st_mode & 07777))
		return es_fail(err, -errno, "%s: %s", ES_PATH(f->tmp_path), strerror(errno));
	buf = malloc(1 << 20);
	if (!buf)
		return es_fail(err, -ENOMEM, "out of memory");
	while (!ret && off < f->dev.size) {
		size_t n = f->dev.size - off < (1u << 20) ? (size_t)(f->dev.size - off) : 1u << 20;

		ret = pread_all(f->orig_fd, f->path, off, buf, n, err);
		if (!ret)
			ret = pwrite_all(f->fd, f->tmp_path, off, buf, n, err);
		off += n;
	}
	free(buf);
	return ret;
}

int es_keyarea_file_open(const char *image_path, const char *detached_path, bool writable,
			 struct es_keyarea_file **out, struct es_keyarea_expect *expect,
			 struct es_err *err)
{
	struct es_seal_section keys = { 0, 0 };
	struct es_keyarea_file *f;
	int img_fd = -1, ret;

	*out = NULL;
	if (!image_path)
		return es_fail(err, -EINVAL, "no image named");
	f = file_new(detached_path ? detached_path : image_path);
	if (!f)
		return es_fail(err, -ENOMEM, "out of memory");

	img_fd = open_file(image_path, writable && !detached_path, err);
	if (img_fd < 0) {
		ret = img_fd;
		goto fail;
	}
	ret = read_seal(img_fd, image_path, &keys, expect, err);
	if (ret)
		goto fail;

	if (!detached_path) {
		if (!keys.len) {
			ret = es_fail(err, -ENOENT, "%s: no key area is embedded in it (a "
				      "detached one must be named)", ES_PATH(image_path));
			goto fail;
		}
		f->fd = img_fd;
		img_fd = -1;
		f->base = keys.off;
		f->dev.size = keys.len;
		snprintf(f->where, sizeof(f->where), "embedded in %s at byte %llu",
			 ES_PATH(image_path), (unsigned long long)keys.off);
	} else {
		int fd = open_file(detached_path, writable, err);

		if (fd < 0) {
			ret = fd;
			goto fail;
		}
		ret = file_size(fd, detached_path, &f->dev.size, err);
		if (!ret && writable)
			ret = check_still_named(fd, detached_path, err);
		if (writable) {
			f->orig_fd = fd;
			if (!ret)
				ret = make_temp_copy(f, err);
		} else {
			f->fd = fd;
		}
		if (ret)
			goto fail;
		snprintf(f->where, sizeof(f->where), "%s", ES_PATH(detached_path));
	}
	if (writable) {
		f->dev.write = fd_write;
		f->dev.sync = fd_sync;
	}
	if (img_fd >= 0)
		close(img_fd);
	*out = f;
	return 0;
fail:
	if (img_fd >= 0)
		close(img_fd);
	es_keyarea_file_close(f);
	return ret;
}

int es_keyarea_file_open_plain(const char *path, struct es_keyarea_file **out,
			       struct es_err *err)
{
	struct es_keyarea_file *f;
	int ret;

	*out = NULL;
	f = file_new(path);
	if (!f)
		return es_fail(err, -ENOMEM, "out of memory");
	f->fd = open_file(path, false, err);
	if (f->fd < 0) {
		ret = f->fd;
		goto fail;
	}
	ret = file_size(f->fd, path, &f->dev.size, err);
	if (ret)
		goto fail;
	snprintf(f->where, sizeof(f->where), "%s", ES_PATH(path));
	*out = f;
	return 0;
fail:
	es_keyarea_file_close(f);
	return ret;
}

const struct es_keyarea_dev *es_keyarea_file_dev(const struct es_keyarea_file *f)
{
	return &f->dev;
}

const char *es_keyarea_file_where(const struct es_keyarea_file *f)
{
	return f->where;
}

static int sync_folder_of(const char *path, struct es_err *err)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (!copy)
		return es_fail(err, -ENOMEM, "out of memory");
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		ret = es_fail(err, -errno, "%s: cannot sync its folder: %s", ES_PATH(path),
			      strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

int es_keyarea_file_commit(struct es_keyarea_file *f, struct es_err *err)
{
	int ret;

	if (!f->tmp_path)
		return 0;
	if (fsync(f->fd))
		return es_fail(err, -errno, "%s: %s", ES_PATH(f->tmp_path), strerror(errno));
	if (rename(f->tmp_path, f->path))
		return es_fail(err, -errno, "cannot replace %s: %s", ES_PATH(f->path),
			       strerror(errno));
	free(f->tmp_path);
	f->tmp_path = NULL;
	ret = sync_folder_of(f->path, err);
	return ret;
}

/* ---- new files ---------------------------------------------------------------- */

/* Create path (0600, never replacing a file), write len bytes, sync it and its folder. */
static int write_new_file(const char *path, const struct es_keyarea_dev *src, const void *buf,
			  uint64_t len, struct es_err *err)
{
	uint8_t *chunk = NULL;
	uint64_t off = 0;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EEXIST)
			return es_fail(err, ret, "%s: exists; it is not replaced", ES_PATH(path));
		return es_fail(err, ret, "%s: %s", ES_PATH(path), strerror(-ret));
	}
	if (src) {
		chunk = malloc(1 << 20);
		if (!chunk)
			ret = es_fail(err, -ENOMEM, "out of memory");
	}
	while (!ret && off < len) {
		size_t n = len - off < (1u << 20) ? (size_t)(len - off) : 1u << 20;
		const uint8_t *p = (const uint8_t *)buf + off;

		if (src) {
			struct es_err rerr = { 0 };

			ret = src->read(src->ctx, off, chunk, n, &rerr);
			if (ret) {
				ret = es_err_copy(err, &rerr);
				break;
			}
			p = chunk;
		}
		while (n) {
			ssize_t w = write(fd, p, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				ret = es_fail(err, w < 0 ? -errno : -EIO, "%s: %s", ES_PATH(path),
					      w < 0 ? strerror(errno) : "short write");
				break;
			}
			p += w;
			off += (uint64_t)w;
			n -= (size_t)w;
		}
	}
	if (!ret && fsync(fd))
		ret = es_fail(err, -errno, "%s: %s", ES_PATH(path), strerror(errno));
	close(fd);
	free(chunk);
	if (!ret)
		ret = sync_folder_of(path, err);
	if (ret)
		unlink(path);
	return ret;
}

int es_keyarea_backup(const struct es_keyarea_dev *dev, const char *path, struct es_err *err)
{
	return write_new_file(path, dev, NULL, dev->size, err);
}

int es_write_new_key_file(const char *path, size_t len, struct es_err *err)
{
	uint8_t *key;
	int ret;

	if (!len)
		return es_fail(err, -EINVAL, "an empty key");
	key = es_secret_alloc(len);
	if (!key)
		return es_fail(err, -ENOMEM, "out of memory");
	if (es_crypto_random_secret(key, len))
		ret = es_fail(err, -EIO, "no random bytes for a key");
	else
		ret = write_new_file(path, NULL, key, len, err);
	es_secret_free(key, len);
	return ret;
}
