// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The hosted source: an image file or block device, blobs given by path
 * (--device) or found by their tag in a folder (--blob-dir).  And the
 * opener every program uses, es_image_open(), on top of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "io.h"

struct file_dev {
	int fd;			/* -1: not open */
	bool owned;		/* ours to close */
	bool found;		/* found by its tag in blob_dir, not given */
	char *path;		/* NULL when not open */
};

struct file_src {
	struct file_dev *devs;
	unsigned int ndevs;
	char *blob_dir;		/* NULL: no lookup by tag */
	char *missed;		/* the path of the last lookup that failed */
};

static void forget_device(struct file_dev *d)
{
	if (d->owned && d->fd >= 0)
		close(d->fd);
	free(d->path);
	d->fd = -1;
	d->owned = false;
	d->found = false;
	d->path = NULL;
}

/* Room for device dev; returns NULL when out of memory. */
static struct file_dev *grow(struct file_src *src, unsigned int dev)
{
	struct file_dev *devs;

	if (dev < src->ndevs)
		return &src->devs[dev];
	devs = realloc(src->devs, ((size_t)dev + 1) * sizeof(*devs));
	if (!devs)
		return NULL;
	for (unsigned int i = src->ndevs; i <= dev; i++)
		devs[i] = (struct file_dev){ .fd = -1 };
	src->devs = devs;
	src->ndevs = dev + 1;
	return &devs[dev];
}

/* Open path as device dev (which is forgotten first). */
static int attach(struct file_src *src, unsigned int dev, const char *path, int fd,
		  bool owned, struct es_err *err)
{
	struct file_dev *d = grow(src, dev);
	char *copy = strdup(path ? path : "");

	if (!d || !copy) {
		free(copy);
		if (owned && fd >= 0)
			close(fd);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	forget_device(d);
	if (fd < 0) {
		fd = es_open_input(path, NULL, err);
		if (fd < 0) {
			free(copy);
			return fd;
		}
	}
	d->fd = fd;
	d->owned = owned;
	d->path = copy;
	return 0;
}

static bool hex_tag(const uint8_t *tag)
{
	for (int k = 0; k < ES_IO_TAG_SIZE; k++)
		if (!((tag[k] >= '0' && tag[k] <= '9') || (tag[k] >= 'a' && tag[k] <= 'f')))
			return false;
	return true;
}

/* BLOB_DIR/<tag> as device dev, if it is there. */
static int find_blob(struct file_src *src, unsigned int dev, const uint8_t *tag,
		     struct es_err *err)
{
	char *path;
	int ret;

	if (!src->blob_dir || !tag || !hex_tag(tag))
		return -ENODEV;	/* not a blob digest: cannot be found by name */
	/* joined, not printed into a fixed buffer: a long DIR must not cut the name */
	path = es_path_join(src->blob_dir, tag, ES_IO_TAG_SIZE);
	if (!path)
		return es_fail(err, -ENOMEM, "out of memory");
	if (access(path, F_OK) < 0)
		ret = es_fail(err, -ENOENT, "cannot open %s: %s", ES_PATH(path),
			      strerror(errno));
	else
		ret = attach(src, dev, path, -1, true, err);
	if (!ret)
		src->devs[dev].found = true;
	/* kept, so that a caller can say where the blob was looked for */
	free(src->missed);
	src->missed = ret ? path : NULL;
	if (!ret)
		free(path);
	return ret;
}

static int file_stat(void *ctx, unsigned int dev, const uint8_t *tag,
		     struct es_io_dev *info, struct es_err *err)
{
	struct file_src *src = ctx;
	struct file_dev *d = dev < src->ndevs ? &src->devs[dev] : NULL;

	if (!d || d->fd < 0) {
		int ret = find_blob(src, dev, tag, err);

		if (ret) {
			info->name = ret == -ENODEV ? NULL : src->missed;
			return ret;
		}
		d = &src->devs[dev];
	}
	info->name = d->path;
	return es_input_size(d->fd, d->path, &info->size, &info->container, err);
}

static int file_read(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len,
		     struct es_err *err)
{
	struct file_src *src = ctx;
	ssize_t got;

	if (dev >= src->ndevs || src->devs[dev].fd < 0)
		return es_fail(err, -ENODEV, "device %u was not given", dev);
	got = es_pread_full(src->devs[dev].fd, buf, len, off);
	if (got < 0)
		return es_fail(err, (int)got, "device %u: read error at %llu: %s",
			       dev, (unsigned long long)off, strerror((int)-got));
	if ((size_t)got != len)
		return es_fail(err, -ES_ECORRUPT, "device %u: short read at %llu "
			       "(file shrank?)", dev, (unsigned long long)off);
	return 0;
}

static int file_fd(void *ctx, unsigned int dev)
{
	struct file_src *src = ctx;

	return dev < src->ndevs ? src->devs[dev].fd : -1;
}

/* A blob found by its tag is found again when asked for; a given one stays. */
static void file_release(void *ctx, unsigned int dev)
{
	struct file_src *src = ctx;

	if (dev < src->ndevs && src->devs[dev].found)
		forget_device(&src->devs[dev]);
}

static void file_close(void *ctx)
{
	struct file_src *src = ctx;

	for (unsigned int i = 0; i < src->ndevs; i++)
		forget_device(&src->devs[i]);
	free(src->devs);
	free(src->blob_dir);
	free(src->missed);
	free(src);
}

static int file_source(struct es_io *io, const char *path, int fd, bool owned,
		       const char *blob_dir, struct es_err *err)
{
	struct file_src *src = calloc(1, sizeof(*src));
	int ret;

	memset(io, 0, sizeof(*io));
	if (!src || (blob_dir && !(src->blob_dir = strdup(blob_dir)))) {
		free(src);
		if (owned && fd >= 0)
			close(fd);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	ret = attach(src, 0, path, fd, owned, err);
	if (ret) {
		file_close(src);
		return ret;
	}
	io->stat = file_stat;
	io->read = file_read;
	io->fd = file_fd;
	io->release = file_release;
	io->close = file_close;
	io->ctx = src;
	return 0;
}

int es_io_file_open(struct es_io *io, const char *path, const char *blob_dir,
		    struct es_err *err)
{
	return file_source(io, path, -1, true, blob_dir, err);
}

int es_io_file_wrap(struct es_io *io, int fd, const char *path, struct es_err *err)
{
	return file_source(io, path, fd, false, NULL, err);
}

int es_io_file_set_device(struct es_io *io, unsigned int dev, const char *path,
			  struct es_err *err)
{
	struct file_src *src = io->ctx;

	if (io->stat != file_stat)
		return es_fail(err, -EINVAL, "internal error: not a file source");
	if (!path) {
		if (dev < src->ndevs)
			forget_device(&src->devs[dev]);
		return 0;
	}
	return attach(src, dev, path, -1, true, err);
}

/* The paths of opts->device_paths as devices 1..n of io. */
static int set_devices(struct es_io *io, const struct es_open_opts *opts, struct es_err *err)
{
	for (unsigned int i = 0; opts && i < opts->ndevice_paths; i++) {
		int ret;

		if (!opts->device_paths[i])
			continue;
		ret = es_io_file_set_device(io, i + 1, opts->device_paths[i], err);
		if (ret) {
			es_err_prefix(err, "device %u: ", i + 1);
			return ret;
		}
	}
	return 0;
}

int es_io_file_open_opts(struct es_io *io, const char *path,
			 const struct es_open_opts *opts, struct es_err *err)
{
	int ret = es_io_file_open(io, path, opts ? opts->blob_dir : NULL, err);

	if (!ret)
		ret = set_devices(io, opts, err);
	if (ret)
		es_io_close(io);
	return ret;
}

int es_image_check_device_paths(const struct es_image *img, const struct es_open_opts *opts,
				struct es_err *err)
{
	if (opts && opts->ndevice_paths > img->ndevices - 1)
		return es_fail(err, -EINVAL,
			       "%u devices given but the image has %u extra devices",
			       opts->ndevice_paths, img->ndevices - 1);
	return 0;
}

int es_image_open(struct es_image **out, const char *path,
		  const struct es_open_opts *opts, struct es_err *err)
{
	struct es_image *img;
	struct es_io io;
	int ret = es_io_file_open(&io, path, opts ? opts->blob_dir : NULL, err);

	*out = NULL;
	if (ret)
		return ret;
	ret = es_image_load(&img, &io, true, err);
	if (ret)
		return ret;
	ret = es_image_check_device_paths(img, opts, err);
	if (!ret)
		ret = set_devices(&img->io, opts, err);
	if (ret)
		goto fail;
	ret = es_image_probe_devices(img, err);
	if (ret)
		goto fail;
	*out = img;
	return 0;
fail:
	es_image_close(img);
	return ret;
}
