// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Opening an image and its devices; bounded raw reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "io.h"

static int open_device(struct es_image *img, unsigned int idx, const char *path,
		       struct es_err *err)
{
	struct es_device *dev = &img->devices[idx];
	uint64_t want;
	int fd;

	fd = es_open_input(path, &dev->size, err);
	if (fd < 0) {
		es_err_prefix(err, "device %u: ", idx);
		return fd;
	}
	dev->fd = fd;
	dev->path = strdup(path);
	if (!dev->path)
		return es_fail(err, -ENOMEM, "out of memory");
	want = (uint64_t)dev->table_blocks << img->sb.blkszbits;
	if (want) {
		if (dev->size < want)
			return es_fail(err, -ES_ECORRUPT,
				       "device %u: %s holds %llu bytes but the device table "
				       "says %u blocks (%llu bytes): blob truncated?",
				       idx, ES_PATH(path), (unsigned long long)dev->size,
				       dev->table_blocks, (unsigned long long)want);
		dev->size = want;
	}
	return 0;
}

static int load_device_table(struct es_image *img, struct es_err *err)
{
	const struct es_super *sb = &img->sb;
	uint8_t slot[EROFS_DEVT_SLOT_SIZE];

	img->ndevices = 1u + sb->extra_devices;
	img->devices = calloc(img->ndevices, sizeof(*img->devices));
	if (!img->devices)
		return es_fail(err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < img->ndevices; i++)
		img->devices[i].fd = -1;
	img->devices[0].size = (uint64_t)sb->blocks << sb->blkszbits;
	img->devices[0].table_blocks = sb->blocks;
	for (unsigned int i = 1; i < img->ndevices; i++) {
		uint64_t pos = (uint64_t)sb->devt_slotoff * EROFS_DEVT_SLOT_SIZE +
			       (uint64_t)(i - 1) * EROFS_DEVT_SLOT_SIZE;
		int ret = es_meta_read(img, pos, slot, sizeof(slot), err);

		if (ret) {
			es_err_prefix(err, "device table slot %u: ", i);
			return ret;
		}
		memcpy(img->devices[i].tag, slot + DEVT_TAG, DEVT_TAG_SIZE);
		img->devices[i].table_blocks = es_get32(slot + DEVT_BLOCKS);
		img->devices[i].uniaddr = es_get32(slot + DEVT_UNIADDR);
	}
	return 0;
}

int es_image_open(struct es_image **out, const char *path,
		  const struct es_open_opts *opts, struct es_err *err)
{
	struct es_image *img;
	uint8_t block0[4096];
	ssize_t got;
	int ret;

	*out = NULL;
	img = calloc(1, sizeof(*img));
	if (!img)
		return es_fail(err, -ENOMEM, "out of memory");
	img->fd = es_open_input(path, &img->file_size, err);
	if (img->fd < 0) {
		ret = img->fd;
		free(img);
		return ret;
	}
	memset(block0, 0, sizeof(block0));
	got = es_pread_full(img->fd, block0, sizeof(block0), 0);
	if (got < 0) {
		ret = es_fail(err, (int)got, "cannot read %s: %s", ES_PATH(path),
			      strerror((int)-got));
		goto fail;
	}
	ret = es_super_decode(&img->sb, block0, (size_t)got, err);
	if (ret)
		goto fail;
	if (img->file_size < ((uint64_t)img->sb.blocks << img->sb.blkszbits)) {
		ret = es_fail(err, -ES_ECORRUPT,
			      "image truncated: the superblock says %u blocks "
			      "(%llu bytes) but %s has %llu bytes",
			      img->sb.blocks,
			      (unsigned long long)img->sb.blocks << img->sb.blkszbits,
			      ES_PATH(path), (unsigned long long)img->file_size);
		goto fail;
	}
	ret = load_device_table(img, err);
	if (ret)
		goto fail;
	img->devices[0].fd = img->fd;
	if (opts && opts->ndevice_paths) {
		if (opts->ndevice_paths > img->ndevices - 1) {
			ret = es_fail(err, -EINVAL,
				      "%u devices given but the image has %u extra devices",
				      opts->ndevice_paths, img->ndevices - 1);
			goto fail;
		}
		img->explicit_devices = true;
		for (unsigned int i = 0; i < opts->ndevice_paths; i++) {
			ret = open_device(img, i + 1, opts->device_paths[i], err);
			if (ret)
				goto fail;
		}
	}
	if (opts && opts->blob_dir) {
		for (unsigned int i = 1 + (opts ? opts->ndevice_paths : 0); i < img->ndevices; i++) {
			char *blob_path;
			const uint8_t *tag = img->devices[i].tag;
			bool hex = true;

			for (int k = 0; k < DEVT_TAG_SIZE; k++)
				hex &= (tag[k] >= '0' && tag[k] <= '9') || (tag[k] >= 'a' && tag[k] <= 'f');
			if (!hex)
				continue;	/* not a blob digest: cannot be found by name */
			/* joined, not printed into a fixed buffer: a long DIR
			 * must not cut the name */
			blob_path = es_path_join(opts->blob_dir, tag, DEVT_TAG_SIZE);
			if (!blob_path) {
				ret = es_fail(err, -ENOMEM, "out of memory");
				goto fail;
			}
			if (access(blob_path, F_OK) < 0) {
				free(blob_path);
				continue;	/* missing: reported when it is needed */
			}
			img->explicit_devices = true;
			ret = open_device(img, i, blob_path, err);
			free(blob_path);
			if (ret)
				goto fail;
		}
	}
	*out = img;
	return 0;
fail:
	es_image_close(img);
	return ret;
}

void es_image_close(struct es_image *img)
{
	if (!img)
		return;
	for (unsigned int i = 1; img->devices && i < img->ndevices; i++) {
		if (img->devices[i].fd >= 0)
			close(img->devices[i].fd);
		free(img->devices[i].path);
	}
	free(img->devices);
	if (img->fd >= 0)
		close(img->fd);
	free(img);
}

int es_dev_read(const struct es_image *img, unsigned int devno, uint64_t off,
		void *buf, size_t len, struct es_err *err)
{
	const struct es_device *dev;
	ssize_t got;

	if (devno >= img->ndevices)
		return es_fail(err, -ES_ECORRUPT, "device %u does not exist "
			       "(the image has %u extra devices)", devno,
			       img->ndevices - 1);
	dev = &img->devices[devno];
	if (dev->fd < 0)
		return es_fail(err, -ENODEV, "data is on device %u, which was not "
			       "given (pass it with --device, in device-table order)",
			       devno);
	if (off > dev->size || len > dev->size - off)
		return es_fail(err, -ES_ECORRUPT,
			       "read of %zu bytes at %llu is past the end of device %u "
			       "(%llu bytes)", len, (unsigned long long)off, devno,
			       (unsigned long long)dev->size);
	got = es_pread_full(dev->fd, buf, len, off);
	if (got < 0)
		return es_fail(err, (int)got, "device %u: read error at %llu: %s",
			       devno, (unsigned long long)off, strerror((int)-got));
	if ((size_t)got != len)
		return es_fail(err, -ES_ECORRUPT, "device %u: short read at %llu "
			       "(file shrank?)", devno, (unsigned long long)off);
	return 0;
}

int es_meta_read(const struct es_image *img, uint64_t off, void *buf,
		 size_t len, struct es_err *err)
{
	if (img->devices && img->devices[0].fd >= 0)
		return es_dev_read(img, 0, off, buf, len, err);
	/* during open, before the device table exists */
	{
		uint64_t limit = (uint64_t)img->sb.blocks << img->sb.blkszbits;
		ssize_t got;

		if (off > limit || len > limit - off)
			return es_fail(err, -ES_ECORRUPT,
				       "metadata read of %zu bytes at %llu is past the end "
				       "of the filesystem (%llu bytes)", len,
				       (unsigned long long)off, (unsigned long long)limit);
		got = es_pread_full(img->fd, buf, len, off);
		if (got < 0 || (size_t)got != len)
			return es_fail(err, got < 0 ? (int)got : -EIO,
				       "read error at %llu", (unsigned long long)off);
	}
	return 0;
}
