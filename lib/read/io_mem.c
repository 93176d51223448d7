// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* A source over buffers in memory: the fuzzer, a boot loader with the image in RAM. */
#include <errno.h>
#include <string.h>
#include "erofs/io.h"

static const struct es_io_mem_dev *mem_dev(const struct es_io_mem *mem, unsigned int dev)
{
	return dev < mem->ndevs && mem->devs[dev].data ? &mem->devs[dev] : NULL;
}

static int mem_stat(void *ctx, unsigned int dev, const uint8_t *tag,
		    struct es_io_dev *info, struct es_err *err)
{
	const struct es_io_mem_dev *d = mem_dev(ctx, dev);

	(void)tag, (void)err;
	if (!d)
		return -ENODEV;
	info->size = d->size;
	info->container = false;
	info->name = NULL;
	return 0;
}

static int mem_read(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len,
		    struct es_err *err)
{
	const struct es_io_mem_dev *d = mem_dev(ctx, dev);

	if (!d)
		return es_fail(err, -ENODEV, "device %u is not in memory", dev);
	if (off > d->size || len > d->size - off)
		return es_fail(err, -ES_ECORRUPT, "device %u: read of %zu bytes at %llu "
			       "is past its end (%llu bytes)", dev, len,
			       (unsigned long long)off, (unsigned long long)d->size);
	memcpy(buf, (const uint8_t *)d->data + off, len);
	return 0;
}

void es_io_mem_init(struct es_io *io, struct es_io_mem *mem,
		    const struct es_io_mem_dev *devs, unsigned int ndevs)
{
	mem->devs = devs;
	mem->ndevs = ndevs;
	io->stat = mem_stat;
	io->read = mem_read;
	io->fd = NULL;
	io->release = NULL;
	io->close = NULL;
	io->ctx = mem;
}
