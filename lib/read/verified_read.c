// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Verify on read (include/erofs/verified_read.h).  Unlike the boot
 * reader's verifying source (verified_io.c), which walks the tree one
 * block at a time through a small cache, this one holds each added blob's
 * whole tree, checked once against the manifest: a data block is then
 * checked against its level-0 digest alone, with nothing shared to update
 * but a bit, so any number of threads can read at once.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/hex.h"
#include "erofs/sha256_mb.h"
#include "erofs/verified_read.h"
#include "erofs/verity.h"

#define BLOCK_BITS	ES_VERITY_LOG_BLOCK_SIZE
#define BLOCK_SIZE	ES_VERITY_BLOCK_SIZE
#define HASH_SIZE	ES_VERITY_HASH_SIZE
/* blocks hashed per call of the multi-block SHA-256 */
#define HASH_GROUP	64
/* what es_vread_check_rest() reads at a time */
#define REST_READ	(1u << 20)

struct vdev {
	bool added;
	uint64_t size;			/* the manifest's */
	uint8_t digest[HASH_SIZE];	/* its fs-verity digest */
	struct es_verity_geom geom;
	uint8_t *tree;			/* the stored tree, checked; NULL: none */
	_Atomic uint64_t *checked;	/* a bit per data block */
};

struct es_vread {
	struct es_io lower;
	const struct es_seal *seal;
	unsigned int ndevs;
	struct vdev *devs;
	bool shani;			/* the multi-block SHA-256's choice, made once
					   (asking the CPU is slow in a VM) */
	atomic_int failed;		/* a block failed: first_err says which */
	struct es_err first_err;
};

static int name_fail(struct es_err *err, int code, unsigned int dev, const char *what,
		     unsigned long long n)
{
	if (dev)
		return es_fail(err, code, "blob %u: %s%llu fails its Merkle tree", dev, what, n);
	return es_fail(err, code, "filesystem region (device 0): %s%llu fails its "
		       "Merkle tree", what, n);
}

int es_vread_new(struct es_vread **out, const struct es_io *lower, const struct es_seal *s,
		 struct es_err *err)
{
	struct es_vread *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (v)
		v->devs = calloc(s->ndevices ? s->ndevices : 1, sizeof(*v->devs));
	if (!v || !v->devs) {
		free(v);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	{
		struct es_sha256_mb mb;
		int ret = es_sha256_mb_init(&mb, 0);

		v->shani = mb.shani;
		es_sha256_mb_release(&mb);
		if (ret) {
			free(v->devs);
			free(v);
			return es_fail(err, ret, "SHA-256 is not available");
		}
	}
	v->lower = *lower;
	v->seal = s;
	v->ndevs = s->ndevices;
	*out = v;
	return 0;
}

int es_vread_add(struct es_vread *v, unsigned int dev, struct es_err *err)
{
	const struct es_seal_device *sd;
	struct vdev *d;
	struct es_io_dev info = { 0 };
	uint8_t root[HASH_SIZE], digest[HASH_SIZE];
	char tag[ES_IO_TAG_SIZE + 1];
	size_t len;
	int ret;

	if (dev == 0 || dev >= v->ndevs)
		return es_fail(err, -EINVAL, "internal error: no blob %u to check on read", dev);
	sd = &v->seal->devices[dev];
	d = &v->devs[dev];
	if (d->added)
		return 0;
	/* a blob is asked for by its digest, the name BLOB_DIR lookups use */
	es_hex(sd->digest, 32, tag);
	ret = es_io_stat(&v->lower, dev, (const uint8_t *)tag, &info, err);
	if (ret)
		return ret;
	if (info.size != sd->size && !(info.size > sd->size && info.container))
		return es_fail(err, -EBADMSG, "blob %u: %llu bytes, the manifest says %llu "
			       "(truncated or replaced?)", dev, (unsigned long long)info.size,
			       (unsigned long long)sd->size);
	d->size = sd->size;
	memcpy(d->digest, sd->digest, HASH_SIZE);
	es_verity_geometry(d->size, &d->geom);
	ret = es_seal_load_tree(&v->lower, v->seal, dev, &d->tree, &len, err);
	if (ret)
		return ret;
	if (d->geom.levels) {
		/* the top block first: its hash is the root hash */
		ret = es_verity_block_digest(d->tree, BLOCK_SIZE, root);
		if (!ret)
			ret = es_verity_file_digest(d->size, root, digest);
		if (!ret && (memcmp(digest, d->digest, HASH_SIZE) ||
			     es_verity_check_tree(&d->geom, d->tree, len, root)))
			ret = es_fail(err, -EBADMSG, "blob %u: its Merkle tree in the seal does "
				      "not match the manifest's digest (the seal's tree is "
				      "damaged)", dev);
		if (ret) {
			free(d->tree);
			d->tree = NULL;
			return ret;
		}
	}
	d->checked = calloc((d->geom.data_blocks + 63) / 64 + 1, sizeof(*d->checked));
	if (!d->checked) {
		free(d->tree);
		d->tree = NULL;
		return es_fail(err, -ENOMEM, "out of memory");
	}
	d->added = true;
	return 0;
}

/* Whether block digest got is the one block blk of d must have. */
static bool leaf_ok(const struct vdev *d, uint64_t blk, const uint8_t got[HASH_SIZE])
{
	uint8_t digest[HASH_SIZE];

	if (d->geom.levels)
		return !memcmp(got, d->tree + d->geom.level_offset[0] + blk * HASH_SIZE,
			       HASH_SIZE);
	/* a one-block device: that block's hash is the root hash */
	return !es_verity_file_digest(d->size, got, digest) &&
	       !memcmp(digest, d->digest, HASH_SIZE);
}

static void mark(struct vdev *d, uint64_t blk)
{
	atomic_fetch_or_explicit(&d->checked[blk / 64], 1ull << (blk % 64),
				 memory_order_relaxed);
}

/*
 * Check n bytes at data, blocks first.. of d: whole blocks but for the
 * device's last, which may be short (hashed zero-padded).
 */
static int check_blocks(const struct es_vread *v, struct vdev *d, unsigned int dev,
			uint64_t first, const uint8_t *data, size_t n, struct es_err *err)
{
	uint8_t digests[HASH_GROUP * HASH_SIZE];
	struct es_sha256_mb mb = { .shani = v->shani };
	size_t whole = n >> BLOCK_BITS, done = 0;
	/* the one-by-one context only where SHA-NI is not used: acquiring it
	   is costly with some backends, and reads are many */
	int ret = mb.shani ? 0 : es_sha256_init(&mb.seq);

	while (!ret && done < whole) {
		size_t k = whole - done < HASH_GROUP ? whole - done : HASH_GROUP;

		ret = es_sha256_mb_blocks(&mb, data + (done << BLOCK_BITS), k, BLOCK_SIZE,
					  digests);
		for (size_t i = 0; !ret && i < k; i++) {
			if (!leaf_ok(d, first + done + i, digests + i * HASH_SIZE))
				ret = name_fail(err, -EBADMSG, dev, "block ",
						(unsigned long long)(first + done + i));
			else
				mark(d, first + done + i);
		}
		done += k;
	}
	if (!mb.shani)
		es_sha256_mb_release(&mb);
	if (!ret && (n & (BLOCK_SIZE - 1))) {
		ret = es_verity_block_digest(data + (whole << BLOCK_BITS), n & (BLOCK_SIZE - 1),
					     digests);
		if (!ret && !leaf_ok(d, first + whole, digests))
			ret = name_fail(err, -EBADMSG, dev, "block ",
					(unsigned long long)(first + whole));
		else if (!ret)
			mark(d, first + whole);
	}
	if (ret && ret != -EBADMSG && !err->code)
		es_fail(err, ret, "SHA-256 failed");
	return ret;
}

static int lower_read(struct es_vread *v, unsigned int dev, uint64_t off, void *buf,
		      size_t len, struct es_err *err)
{
	return es_io_read(&v->lower, dev, off, buf, len, err);
}

static int vread_read(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len,
		      struct es_err *err)
{
	struct es_vread *v = ctx;
	struct vdev *d = dev < v->ndevs ? &v->devs[dev] : NULL;
	uint8_t *out = buf;
	int ret = 0;

	if (!d || !d->added)
		return lower_read(v, dev, off, buf, len, err);
	if (off > d->size || len > d->size - off)
		return es_fail(err, -ES_ECORRUPT, "blob %u: read of %zu bytes at %llu is past "
			       "what the manifest covers (%llu bytes)", dev, len,
			       (unsigned long long)off, (unsigned long long)d->size);
	while (len && !ret) {
		uint64_t blk = off >> BLOCK_BITS;
		size_t in = (size_t)(off & (BLOCK_SIZE - 1)), n;

		if (!in && (len >= BLOCK_SIZE || off + len == d->size)) {
			/* whole blocks (and the device's short last one), checked
			   in the caller's buffer */
			n = len >= BLOCK_SIZE ? len & ~(size_t)(BLOCK_SIZE - 1) : len;
			ret = lower_read(v, dev, off, out, n, err);
			if (!ret)
				ret = check_blocks(v, d, dev, blk, out, n, err);
			if (ret)
				memset(out, 0, n);
		} else {
			/* part of a block: the whole block is read and checked */
			uint8_t block[BLOCK_SIZE];
			uint64_t at = blk << BLOCK_BITS;
			size_t blen = d->size - at < BLOCK_SIZE ? (size_t)(d->size - at)
								: BLOCK_SIZE;

			n = BLOCK_SIZE - in < len ? BLOCK_SIZE - in : len;
			ret = lower_read(v, dev, at, block, blen, err);
			if (!ret)
				ret = check_blocks(v, d, dev, blk, block, blen, err);
			if (!ret)
				memcpy(out, block + in, n);
		}
		off += n;
		out += n;
		len -= n;
	}
	/* the first block that failed, for whoever asks once the reads are over */
	if (ret == -EBADMSG && !atomic_exchange(&v->failed, 1))
		es_err_copy(&v->first_err, err);
	return ret;
}

int es_vread_failure(const struct es_vread *v, struct es_err *err)
{
	if (!atomic_load(&v->failed))
		return 0;
	return es_err_copy(err, &v->first_err);
}

static int vread_stat(void *ctx, unsigned int dev, const uint8_t *tag, struct es_io_dev *info,
		      struct es_err *err)
{
	struct es_vread *v = ctx;
	int ret = es_io_stat(&v->lower, dev, tag, info, err);

	/* an added blob is the manifest's size, whatever holds it */
	if (!ret && dev < v->ndevs && v->devs[dev].added) {
		info->size = v->devs[dev].size;
		info->container = false;
	}
	return ret;
}

static int vread_fd(void *ctx, unsigned int dev)
{
	struct es_vread *v = ctx;

	/* reading an added blob around the checks is not offered */
	if (dev < v->ndevs && v->devs[dev].added)
		return -1;
	return es_io_fd(&v->lower, dev);
}

const uint8_t *es_vread_tree(const struct es_vread *v, unsigned int dev, size_t *len)
{
	const struct vdev *d = dev < v->ndevs ? &v->devs[dev] : NULL;

	*len = d && d->added && d->tree ? (size_t)d->geom.tree_size : 0;
	return *len ? d->tree : NULL;
}

void es_vread_io(struct es_vread *v, struct es_io *io)
{
	memset(io, 0, sizeof(*io));
	io->stat = vread_stat;
	io->read = vread_read;
	io->fd = vread_fd;
	io->ctx = v;
}

static bool is_checked(const struct vdev *d, uint64_t blk)
{
	return atomic_load_explicit(&d->checked[blk / 64], memory_order_relaxed) &
	       (1ull << (blk % 64));
}

uint64_t es_vread_unchecked(const struct es_vread *v)
{
	uint64_t n = 0;

	for (unsigned int dev = 1; dev < v->ndevs; dev++) {
		const struct vdev *d = &v->devs[dev];

		for (uint64_t b = 0; d->added && b < d->geom.data_blocks; b++)
			n += !is_checked(d, b);
	}
	return n;
}

int es_vread_check_rest(struct es_vread *v, struct es_err *err)
{
	uint8_t *buf = NULL;
	int ret = 0;

	for (unsigned int dev = 1; !ret && dev < v->ndevs; dev++) {
		const struct vdev *d = &v->devs[dev];
		uint64_t b = 0;

		while (!ret && d->added && b < d->geom.data_blocks) {
			uint64_t end = b, off;
			size_t len;

			if (is_checked(d, b)) {
				b++;
				continue;
			}
			/* a run of unchecked blocks, up to REST_READ bytes */
			while (end < d->geom.data_blocks && !is_checked(d, end) &&
			       ((end - b) << BLOCK_BITS) < REST_READ)
				end++;
			if (!buf && !(buf = malloc(REST_READ)))
				return es_fail(err, -ENOMEM, "out of memory");
			off = b << BLOCK_BITS;
			len = (end << BLOCK_BITS) < d->size ? (size_t)((end - b) << BLOCK_BITS)
							    : (size_t)(d->size - off);
			ret = vread_read(v, dev, off, buf, len, err);
			b = end;
		}
	}
	free(buf);
	return ret;
}

void es_vread_free(struct es_vread *v)
{
	if (!v)
		return;
	for (unsigned int i = 0; i < v->ndevs; i++) {
		free(v->devs[i].tree);
		free(v->devs[i].checked);
	}
	free(v->devs);
	free(v);
}
