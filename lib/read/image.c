// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* An image over a source: superblock, device table, bounded raw reads. */
#include <errno.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/image.h"

/* What to call a device in a message (inline: unused when messages are static). */
static inline const char *dev_name(const struct es_io_dev *info, const char *fallback)
{
	return info->name ? info->name : fallback;
}

int es_image_read_super(struct es_image *img, const struct es_io *io, struct es_err *err)
{
	uint8_t block0[4096];
	struct es_io_dev info;
	size_t len;
	int ret;

	memset(img, 0, sizeof(*img));
	img->io = *io;
	ret = es_io_stat(io, 0, NULL, &info, err);
	if (ret)
		return ret;
	img->file_size = info.size;
	len = info.size < sizeof(block0) ? (size_t)info.size : sizeof(block0);
	memset(block0, 0, sizeof(block0));
	ret = es_io_read(io, 0, 0, block0, len, err);
	if (ret)
		return ret;
	ret = es_super_decode(&img->sb, block0, len, err);
	if (ret)
		return ret;
	if (img->file_size < ((uint64_t)img->sb.blocks << img->sb.blkszbits))
		return es_fail(err, -ES_ECORRUPT,
			       "image truncated: the superblock says %u blocks "
			       "(%llu bytes) but %s has %llu bytes",
			       img->sb.blocks,
			       (unsigned long long)img->sb.blocks << img->sb.blkszbits,
			       ES_PATH(dev_name(&info, "the image")),
			       (unsigned long long)img->file_size);
	return 0;
}

int es_image_read_devices(struct es_image *img, struct es_device *devices,
			  struct es_err *err)
{
	const struct es_super *sb = &img->sb;
	uint8_t slot[EROFS_DEVT_SLOT_SIZE];

	img->ndevices = 1u + sb->extra_devices;
	img->devices = devices;
	memset(devices, 0, img->ndevices * sizeof(*devices));
	devices[0].size = (uint64_t)sb->blocks << sb->blkszbits;
	devices[0].table_blocks = sb->blocks;
	for (unsigned int i = 1; i < img->ndevices; i++) {
		uint64_t pos = (uint64_t)sb->devt_slotoff * EROFS_DEVT_SLOT_SIZE +
			       (uint64_t)(i - 1) * EROFS_DEVT_SLOT_SIZE;
		int ret = es_meta_read(img, pos, slot, sizeof(slot), err);

		if (ret) {
			es_err_prefix(err, "device table slot %u: ", i);
			return ret;
		}
		memcpy(devices[i].tag, slot + DEVT_TAG, DEVT_TAG_SIZE);
		devices[i].table_blocks = es_get32(slot + DEVT_BLOCKS);
		devices[i].uniaddr = es_get32(slot + DEVT_UNIADDR);
	}
	/* from here on, metadata reads are bounded by device 0 */
	devices[0].present = true;
	return 0;
}

int es_image_probe_devices(struct es_image *img, struct es_err *err)
{
	for (unsigned int i = 1; i < img->ndevices; i++) {
		struct es_device *dev = &img->devices[i];
		struct es_err probe_err = { 0 };
		struct es_io_dev info;
		uint64_t want;
		int ret = es_io_stat(&img->io, i, dev->tag, &info, &probe_err);

		if (ret == -ENODEV || ret == -ENOENT)
			continue;	/* missing: reported when it is needed */
		if (ret) {
			es_err_copy(err, &probe_err);
			es_err_prefix(err, "device %u: ", i);
			return ret;
		}
		dev->size = info.size;
		want = (uint64_t)dev->table_blocks << img->sb.blkszbits;
		if (want) {
			if (dev->size < want)
				return es_fail(err, -ES_ECORRUPT,
					       "device %u: %s holds %llu bytes but the device "
					       "table says %u blocks (%llu bytes): blob truncated?",
					       i, ES_PATH(dev_name(&info, "the blob")),
					       (unsigned long long)dev->size, dev->table_blocks,
					       (unsigned long long)want);
			dev->size = want;
		}
		dev->present = true;
		img->explicit_devices = true;
	}
	return 0;
}

int es_dev_read(const struct es_image *img, unsigned int devno, uint64_t off,
		void *buf, size_t len, struct es_err *err)
{
	const struct es_device *dev;

	if (devno >= img->ndevices)
		return es_fail(err, -ES_ECORRUPT, "device %u does not exist "
			       "(the image has %u extra devices)", devno,
			       img->ndevices - 1);
	dev = &img->devices[devno];
	if (!dev->present) {
		struct es_err why = { 0 };
		struct es_io_dev info = { 0 };

		/* looked for by its digest in a blob folder: say which, and where */
		if (es_io_stat(&img->io, devno, dev->tag, &info, &why) == -ENOENT && info.name)
			return es_fail(err, -ENOENT, "data is on device %u, blob %.64s, which "
				       "is missing from the blob folder: %s", devno,
				       (const char *)dev->tag, why.msg);
		return es_fail(err, -ENODEV, "data is on device %u, which was not "
			       "given (pass it with --device, in device-table order)",
			       devno);
	}
	if (off > dev->size || len > dev->size - off)
		return es_fail(err, -ES_ECORRUPT,
			       "read of %zu bytes at %llu is past the end of device %u "
			       "(%llu bytes)", len, (unsigned long long)off, devno,
			       (unsigned long long)dev->size);
	return es_io_read(&img->io, devno, off, buf, len, err);
}

/* Decrypt block blkno of dev in place (see es_dev_read_decrypted()). */
static int decrypt_block(const struct es_image *img, unsigned int dev, uint64_t blkno,
			 uint64_t chunk_first, unsigned int chunk_shift, uint8_t *block,
			 struct es_err *err)
{
	uint64_t start;

	if (chunk_first == ES_META_BLOCKS)	/* block 0 is plain */
		return blkno ? img->dec->meta(img->dec->ctx, blkno, block, err) : 0;
	start = chunk_first + (((blkno - chunk_first) >> chunk_shift) << chunk_shift);
	return img->dec->chunk(img->dec->ctx, dev, start, blkno - start, block, err);
}

int es_dev_read_decrypted(const struct es_image *img, unsigned int dev, uint64_t off,
			  void *buf, size_t len, uint64_t chunk_first, unsigned int chunk_shift,
			  struct es_err *err)
{
	const unsigned int bits = img->sb.blkszbits;
	const size_t blksz = (size_t)1 << bits;
#ifdef ES_FREESTANDING
	uint8_t *block = img->bounce;
#else
	uint8_t block[1u << ES_MAX_BLKSZBITS];
#endif
	uint8_t *out = buf;
	int ret = 0;

	if (!img->dec)
		return es_fail(err, -EACCES, "the image is encrypted: its %s cannot be read "
			       "without a key", chunk_first == ES_META_BLOCKS ? "metadata" :
			       "file contents");
#ifdef ES_FREESTANDING
	if (!block)
		return es_fail(err, -EINVAL, "internal error: no block to decrypt in");
#endif
	while (len && !ret) {
		uint64_t blkno = off >> bits;
		size_t in = (size_t)(off & (blksz - 1));
		size_t n = blksz - in;

		/* whole blocks: fetched straight into the caller's buffer in
		   one read, then decrypted there block by block */
		if (!in && len >= blksz) {
			n = len & ~(blksz - 1);
			ret = es_dev_read(img, dev, off, out, n, err);
			for (size_t done = 0; !ret && done < n; done += blksz)
				ret = decrypt_block(img, dev, blkno + (done >> bits), chunk_first,
						    chunk_shift, out + done, err);
		} else {
			if (n > len)
				n = len;
			ret = es_dev_read(img, dev, blkno << bits, block, blksz, err);
			if (!ret)
				ret = decrypt_block(img, dev, blkno, chunk_first, chunk_shift, block,
						    err);
			if (!ret)
				memcpy(out, block + in, n);
		}
		off += n;
		out += n;
		len -= n;
	}
	es_crypto_wipe(block, (size_t)1 << ES_MAX_BLKSZBITS);
	return ret;
}

#ifndef ES_FREESTANDING
#include <stdlib.h>
#include "io.h"

/*
 * 2 MiB of 4 KiB blocks: one huge page (es_alloc_big), so the whole cache
 * costs one first touch.  With 64 slots, a check of erofs-utils 1.9.3's
 * minbase image read each metadata block 2.4 times (5,768 block reads of
 * 2,425 blocks); with 512, 1,567 preads instead of 3,078 and 15-20% less
 * time.  Each reader thread forks its own (es_image_fork).
 */
#define MCACHE_SLOTS 512u
#define MCACHE_READAHEAD 16u	/* at most, blocks read at once */
_Static_assert(MCACHE_READAHEAD <= MCACHE_SLOTS, "a read fits the cache");

/*
 * The readahead adapts to what it bought: a miss right after the blocks
 * last read (a directory, a run of inodes) doubles it, and otherwise it
 * becomes about twice what the blocks read ahead last time served.  In
 * images whose inodes lie scattered among their data (as erofs-utils lays
 * out flat files) most blocks read ahead are never used, and each would
 * cost a copy; in dense metadata one read serves many lookups.
 */
struct es_meta_cache {
	uint64_t tag[MCACHE_SLOTS];	/* block + 1; 0: empty */
	uint8_t ahead[MCACHE_SLOTS];	/* 1: read ahead and not used yet */
	uint64_t next;			/* the block after the last read */
	unsigned int ra;		/* blocks the next read takes */
	unsigned int served;		/* blocks read ahead that were used since */
	uint8_t *blocks;		/* MCACHE_SLOTS blocks */
};

static struct es_meta_cache *mcache_new(unsigned int blkszbits)
{
	struct es_meta_cache *c = calloc(1, sizeof(*c));

	if (c && !(c->blocks = es_alloc_big((size_t)MCACHE_SLOTS << blkszbits))) {
		free(c);
		c = NULL;
	}
	if (c)
		c->ra = MCACHE_READAHEAD / 2;
	return c;
}

static void mcache_free(const struct es_image *img)
{
	struct es_meta_cache *c = img->mcache;

	if (!c)
		return;
	/* decrypted metadata is not left in freed memory; a plain image's
	 * is public, and wiping it would touch 2 MiB on every close */
	if (es_image_encrypted(img))
		es_crypto_wipe(c->blocks, (size_t)MCACHE_SLOTS << img->sb.blkszbits);
	free(c->blocks);
	free(c);
}

/*
 * A read inside one block of device 0, through the cache; -EAGAIN when it
 * cannot be (then the caller reads as without one, and says why it fails).
 */
static int cached_meta_read(const struct es_image *img, uint64_t off, void *buf, size_t len,
			    struct es_err *err)
{
	struct es_meta_cache *c = img->mcache;
	const unsigned int bits = img->sb.blkszbits;
	const uint64_t blk = off >> bits;
	unsigned int slot = (unsigned int)(blk % MCACHE_SLOTS);
	uint8_t *block = c->blocks + ((size_t)slot << bits);
	struct es_err ignored = { 0 };

	(void)err;
	if (!len || (off + len - 1) >> bits != blk || ((blk + 1) << bits) > img->devices[0].size ||
	    (es_image_encrypted(img) && !img->dec))
		return -EAGAIN;
	if (c->tag[slot] != blk + 1) {
		uint64_t n, left = (img->devices[0].size >> bits) - blk;
		int ret;

		if (blk == c->next)
			c->ra = c->ra * 2 > MCACHE_READAHEAD ? MCACHE_READAHEAD : c->ra * 2;
		else
			c->ra = c->served * 2 + 1 > MCACHE_READAHEAD ? MCACHE_READAHEAD
								     : c->served * 2 + 1;
		n = c->ra;
		if (n > MCACHE_SLOTS - slot)
			n = MCACHE_SLOTS - slot;
		if (n > left)
			n = left;
		ret = es_image_encrypted(img) ?
		      es_dev_read_decrypted(img, 0, blk << bits, block, (size_t)n << bits,
					    ES_META_BLOCKS, 0, &ignored) :
		      es_dev_read(img, 0, blk << bits, block, (size_t)n << bits, &ignored);
		for (uint64_t i = 0; i < n; i++) {
			c->tag[slot + i] = ret ? 0 : blk + i + 1;
			c->ahead[slot + i] = !ret && i;
		}
		c->next = blk + n;
		c->served = 0;
		if (ret)
			return -EAGAIN;
	} else if (c->ahead[slot]) {
		c->ahead[slot] = 0;
		c->served++;
	}
	memcpy(buf, block + (off & (((uint64_t)1 << bits) - 1)), len);
	return 0;
}
#endif

int es_meta_read(const struct es_image *img, uint64_t off, void *buf,
		 size_t len, struct es_err *err)
{
	uint64_t limit;

	if (img->devices && img->devices[0].present) {
#ifndef ES_FREESTANDING
		if (img->mcache) {
			int ret = cached_meta_read(img, off, buf, len, err);

			if (ret != -EAGAIN)
				return ret;
		}
#endif
		if (es_image_encrypted(img) && off + len > (1u << img->sb.blkszbits))
			return es_dev_read_decrypted(img, 0, off, buf, len, ES_META_BLOCKS, 0, err);
		return es_dev_read(img, 0, off, buf, len, err);
	}
	/* while the device table is read */
	limit = (uint64_t)img->sb.blocks << img->sb.blkszbits;
	if (off > limit || len > limit - off)
		return es_fail(err, -ES_ECORRUPT,
			       "metadata read of %zu bytes at %llu is past the end "
			       "of the filesystem (%llu bytes)", len,
			       (unsigned long long)off, (unsigned long long)limit);
	return es_io_read(&img->io, 0, off, buf, len, err);
}

#ifndef ES_FREESTANDING
#include <stdlib.h>
#include "erofs/decode.h"

int es_image_load(struct es_image **out, const struct es_io *io, bool take_io,
		  struct es_err *err)
{
	struct es_image *img = calloc(1, sizeof(*img));
	struct es_device *devices;
	int ret;

	*out = NULL;
	if (!img) {
		struct es_io unused = *io;

		if (take_io)
			es_io_close(&unused);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	ret = es_image_read_super(img, io, err);
	img->owns_io = take_io;
	if (ret)
		goto fail;
	img->mcache = mcache_new(img->sb.blkszbits);	/* none: reads go uncached */
	devices = calloc(1u + img->sb.extra_devices, sizeof(*devices));
	if (!devices) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto fail;
	}
	ret = es_image_read_devices(img, devices, err);
	if (ret)
		goto fail;
	/* the one place every hosted reader gets its decompression stage */
	ret = es_decoder_new(&img->decoder, err);
	if (ret)
		goto fail;
	img->owns_decoder = true;
	*out = img;
	return 0;
fail:
	es_image_close(img);
	return ret;
}

int es_image_open_io(struct es_image **out, const struct es_io *io, struct es_err *err)
{
	int ret = es_image_load(out, io, false, err);

	if (!ret) {
		ret = es_image_probe_devices(*out, err);
		if (ret) {
			es_image_close(*out);
			*out = NULL;
		}
	}
	return ret;
}

int es_image_fork(const struct es_image *img, struct es_image **out, struct es_err *err)
{
	struct es_image *f = malloc(sizeof(*f));
	int ret;

	*out = NULL;
	if (!f)
		return es_fail(err, -ENOMEM, "out of memory");
	*f = *img;
	f->owns_io = false;
	f->owns_decoder = false;
	f->mcache = mcache_new(img->sb.blkszbits);
	f->devices = malloc(img->ndevices * sizeof(*f->devices));
	if (!f->devices) {
		free(f);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	memcpy(f->devices, img->devices, img->ndevices * sizeof(*f->devices));
	if (img->decoder) {
		ret = es_decoder_new(&f->decoder, err);
		if (ret) {
			f->decoder = NULL;
			es_image_close(f);
			return ret;
		}
		f->owns_decoder = true;
	}
	*out = f;
	return 0;
}

void es_image_close(struct es_image *img)
{
	if (!img)
		return;
	if (img->owns_io)
		es_io_close(&img->io);
	if (img->owns_decoder)
		es_decoder_free(img->decoder);
	free(img->devices);
	mcache_free(img);
	free(img);
}
#endif
