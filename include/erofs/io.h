/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Pluggable I/O: where the reader's bytes come from.
 *
 * A source holds numbered devices, as the image names them: device 0 is
 * the image file (the EROFS filesystem, then its seal), devices 1..n are
 * the data blobs of its device table.  The reader (lib/read/) and the seal
 * code only ever ask a source for the size of a device and for bytes of
 * it, so the same code runs over files and block devices (lib/io_file.c),
 * over memory (es_io_mem_init, below; the fuzzer, a boot loader that has
 * the image in RAM) or over whatever a boot loader's glue provides.
 *
 * A source decides nothing about trust: it hands out bytes.  Whoever
 * verifies checks them against the seal.
 */
#ifndef EROFS_IO_H
#define EROFS_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"

/* A blob's name in the device table and in BLOB_DIR: lowercase hex digest. */
#define ES_IO_TAG_SIZE	64

/* What a source says about one of its devices. */
struct es_io_dev {
	uint64_t size;		/* bytes readable from offset 0 */
	/*
	 * The device is a container, such as a block device (a partition),
	 * that may be larger than the blob it holds: a verifier accepts
	 * bytes past the blob's end.
	 */
	bool container;
	/* What to call the device in messages (a path), or NULL. */
	const char *name;
};

struct es_io {
	/*
	 * Describe device dev.  tag (ES_IO_TAG_SIZE bytes, or NULL for device
	 * 0 and when unknown) is the name the image gives the device, so that
	 * a source can find a blob by name (BLOB_DIR/<tag>).  Returns 0;
	 * -ENODEV or -ENOENT when the source does not have the device (the
	 * reader then fails only when data on it is needed); or another
	 * negative errno with a message in err.  Asking again is cheap and
	 * measures the size again.  When the source looked for the device
	 * and failed, info->name may still say where it looked (or be NULL).
	 */
	int (*stat)(void *ctx, unsigned int dev, const uint8_t *tag,
		    struct es_io_dev *info, struct es_err *err);
	/*
	 * Read exactly len bytes of device dev at byte off.  The caller
	 * keeps within the size stat() reported; a device that has shrunk
	 * since is an error (-ES_ECORRUPT), as is any other failure
	 * (negative errno, message in err).
	 */
	int (*read)(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len,
		    struct es_err *err);
	/*
	 * Optional (NULL when the source has none): an open file descriptor
	 * for dev, or -1.  Only for hosted callers that read a whole device
	 * with several threads at once (verification); the descriptor stays
	 * the source's.
	 */
	int (*fd)(void *ctx, unsigned int dev);
	/*
	 * Optional: the caller is done with device dev for now.  A source
	 * that found the device by itself (by its tag) may close it; asking
	 * for it again finds it again.  Lets a verifier go through thousands
	 * of blobs with one of them open at a time.
	 */
	void (*release)(void *ctx, unsigned int dev);
	/* Optional: release ctx and everything the source opened. */
	void (*close)(void *ctx);
	void *ctx;
};

static inline int es_io_stat(const struct es_io *io, unsigned int dev, const uint8_t *tag,
			     struct es_io_dev *info, struct es_err *err)
{
	return io->stat(io->ctx, dev, tag, info, err);
}

static inline int es_io_read(const struct es_io *io, unsigned int dev, uint64_t off,
			     void *buf, size_t len, struct es_err *err)
{
	return io->read(io->ctx, dev, off, buf, len, err);
}

static inline int es_io_fd(const struct es_io *io, unsigned int dev)
{
	return io->fd ? io->fd(io->ctx, dev) : -1;
}

static inline void es_io_release(const struct es_io *io, unsigned int dev)
{
	if (io->release)
		io->release(io->ctx, dev);
}

/* Release the source (if it has anything to release); io is unusable after. */
static inline void es_io_close(struct es_io *io)
{
	if (io->close)
		io->close(io->ctx);
	io->close = NULL;
}

/* ---- memory ------------------------------------------------------------ */

/* One device held in memory; data == NULL: the source does not have it. */
struct es_io_mem_dev {
	const void *data;
	uint64_t size;
};

struct es_io_mem {
	const struct es_io_mem_dev *devs;
	unsigned int ndevs;
};

/*
 * A source over buffers the caller keeps (no copy, no allocation):
 * mem->devs[i] is device i.  Builds freestanding.
 */
void es_io_mem_init(struct es_io *io, struct es_io_mem *mem,
		    const struct es_io_mem_dev *devs, unsigned int ndevs);

#ifndef ES_FREESTANDING
/* ---- files and block devices (hosted, lib/io_file.c) ------------------- */

/*
 * Where the devices of an image are: the paths of devices 1..n in
 * device-table order (a NULL entry: not given), and a folder in which a
 * blob not given explicitly is looked up as BLOB_DIR/<tag>.
 */
struct es_open_opts {
	const char *const *device_paths;
	unsigned int ndevice_paths;
	const char *blob_dir;
};

/*
 * Open path as device 0 of a new source, now (a regular file or a block
 * device; es_open_input() says which files are refused and how).  Other
 * devices are looked up as blob_dir/<tag> (blob_dir may be NULL) when
 * first asked for: a blob that is not there is -ENOENT, with a message.
 * Close with es_io_close(); after a failure io is left empty, and closing
 * it does nothing.
 */
int es_io_file_open(struct es_io *io, const char *path, const char *blob_dir,
		    struct es_err *err);
/* The same over a descriptor the caller keeps open (it is not closed). */
int es_io_file_wrap(struct es_io *io, int fd, const char *path, struct es_err *err);
/*
 * Make path device dev of a file source (replacing what was there), and
 * open it now, so that a missing or unreadable file is reported here.
 * path NULL: close device dev and forget it.
 */
int es_io_file_set_device(struct es_io *io, unsigned int dev, const char *path,
			  struct es_err *err);
/*
 * es_io_file_open() of path with the devices opts names: its blob folder,
 * and each path of opts->device_paths opened now as device i + 1 (a
 * failure names the device).  opts may be NULL.
 */
int es_io_file_open_opts(struct es_io *io, const char *path,
			 const struct es_open_opts *opts, struct es_err *err);
#endif

#endif
