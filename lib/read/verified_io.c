// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The verifying source (include/erofs/verified_io.h): every block checked
 * against its device's Merkle tree before it is used.
 *
 * A data block is checked against its digest in level 0 of the tree; the
 * level-0 block holding that digest against level 1, and so on up to the
 * top block, whose hash is the root hash, which with the device's size
 * gives the fs-verity digest the manifest lists.  Levels already verified
 * are in the cache, so a path is walked up only to the first cached
 * block, then down again fetching and checking one block per level.
 */
#include <errno.h>
#include <string.h>
#include "erofs/verified_io.h"

#define BLOCK_BITS	ES_VERITY_LOG_BLOCK_SIZE
#define BLOCK_SIZE	ES_VERITY_BLOCK_SIZE
#define HASH_SIZE	ES_VERITY_HASH_SIZE

void es_vio_devices_from_seal(const struct es_seal *s, struct es_vio_device *devs)
{
	for (unsigned int i = 0; i < s->ndevices; i++) {
		devs[i].size = s->devices[i].size;
		memcpy(devs[i].digest, s->devices[i].digest, HASH_SIZE);
		/* es_seal_decode_devices() bounded the tree by the section */
		devs[i].tree_pos = s->trees_sec.off + s->devices[i].tree_offset;
		es_verity_geometry(devs[i].size, &devs[i].geom);
	}
}

static uint8_t *slot_block(const struct es_vio *v, const struct es_vio_slot *slot)
{
	return v->blocks + ((size_t)(slot - v->slots) << BLOCK_BITS);
}

static uint8_t *cache_find(struct es_vio *v, unsigned int dev, unsigned int level,
			   uint64_t index)
{
	for (unsigned int i = 0; i < v->nslots; i++) {
		struct es_vio_slot *slot = &v->slots[i];

		if (slot->used && slot->dev == dev && slot->level == level &&
		    slot->index == index) {
			slot->age = ++v->clock;
			return slot_block(v, slot);
		}
	}
	return NULL;
}

/* The least recently used slot, emptied, for a block to be checked. */
static struct es_vio_slot *cache_victim(struct es_vio *v)
{
	struct es_vio_slot *best = &v->slots[0];

	for (unsigned int i = 0; i < v->nslots && best->used; i++)
		if (!v->slots[i].used || v->slots[i].age < best->age)
			best = &v->slots[i];
	best->used = false;
	return best;
}

static void cache_keep(struct es_vio *v, struct es_vio_slot *slot, unsigned int dev,
		       unsigned int level, uint64_t index)
{
	slot->dev = (uint16_t)dev;
	slot->level = (uint8_t)level;
	slot->index = index;
	slot->age = ++v->clock;
	slot->used = true;
}

/*
 * The block at the top of the tree (or the only data block of a device
 * without tree) against the manifest: its hash is the root hash.
 */
static int check_root(const struct es_vio_device *d, const uint8_t *block, size_t len)
{
	uint8_t root[HASH_SIZE], digest[HASH_SIZE];
	int ret = es_verity_block_digest(block, len, root);

	if (!ret)
		ret = es_verity_file_digest(d->size, root, digest);
	if (!ret && memcmp(digest, d->digest, HASH_SIZE))
		ret = -EBADMSG;
	return ret;
}

static int check_digest(const uint8_t *block, size_t len, const uint8_t want[HASH_SIZE])
{
	uint8_t digest[HASH_SIZE];
	int ret = es_verity_block_digest(block, len, digest);

	if (!ret && memcmp(digest, want, HASH_SIZE))
		ret = -EBADMSG;
	return ret;
}

static int lower_read(const struct es_vio *v, unsigned int dev, uint64_t off, void *buf,
		      size_t len, struct es_err *err)
{
	int ret = es_io_read(v->lower, dev, off, buf, len, err);

	if (ret)
		es_err_prefix(err, "device %u: ", dev);
	return ret;
}

/*
 * The digest that data block blkno of dev must have, from a verified
 * level-0 block.  Walks the path up to the first verified block in the
 * cache (or the top), then checks the blocks below it one level at a time.
 */
static int leaf_digest(struct es_vio *v, unsigned int dev, uint64_t blkno,
		       uint8_t want[HASH_SIZE], struct es_err *err)
{
	const struct es_vio_device *d = &v->devs[dev];
	const struct es_verity_geom *g = &d->geom;
	const unsigned int top = g->levels - 1;
	unsigned int level = 0;

	/* the block of level k on the path holds entry blkno >> 7k of level k */
	while (level <= top &&
	       !cache_find(v, dev, level, blkno >> (ES_VERITY_LOG_ARITY * (level + 1))))
		level++;
	while (level-- > 0) {
		uint64_t index = blkno >> (ES_VERITY_LOG_ARITY * (level + 1));
		struct es_vio_slot *slot;
		uint8_t *block;
		int ret;

		if (level < top) {
			/* the entry for this block in its (verified) parent */
			const uint8_t *parent = cache_find(v, dev, level + 1,
							   index >> ES_VERITY_LOG_ARITY);

			if (!parent)	/* cannot happen: just checked or found */
				return es_fail(err, -EINVAL, "device %u: tree cache lost a "
					       "block", dev);
			memcpy(want, parent + (index & (ES_VERITY_ARITY - 1)) * HASH_SIZE,
			       HASH_SIZE);
		}
		slot = cache_victim(v);
		block = slot_block(v, slot);
		ret = lower_read(v, 0, d->tree_pos + g->level_offset[level] +
				 (index << BLOCK_BITS), block, BLOCK_SIZE, err);
		if (!ret)
			ret = level == top ? check_root(d, block, BLOCK_SIZE) :
			      check_digest(block, BLOCK_SIZE, want);
		if (ret == -EBADMSG) {
			memset(block, 0, BLOCK_SIZE);
			return es_fail(err, -EBADMSG, "device %u: block %llu of tree level "
				       "%u fails its Merkle tree (the seal's tree is damaged)",
				       dev, (unsigned long long)index, level);
		}
		if (ret)
			return ret;
		cache_keep(v, slot, dev, level, index);
	}
	memcpy(want, cache_find(v, dev, 0, blkno >> ES_VERITY_LOG_ARITY) +
	       (blkno & (ES_VERITY_ARITY - 1)) * HASH_SIZE, HASH_SIZE);
	return 0;
}

/*
 * Fetch data block blkno of dev and check it: into block (4 KiB, zeroed
 * on failure), or, when block is NULL, into a slot of the cache, taken
 * only once the tree path is verified (the walk uses the cache too).
 * *out: where it is; the part past the device's end is zero.
 */
static int fetch_data_block(struct es_vio *v, unsigned int dev, uint64_t blkno,
			    uint8_t *block, const uint8_t **out, struct es_err *err)
{
	const struct es_vio_device *d = &v->devs[dev];
	uint64_t off = blkno << BLOCK_BITS;
	size_t len = d->size - off < BLOCK_SIZE ? (size_t)(d->size - off) : BLOCK_SIZE;
	struct es_vio_slot *slot = NULL;
	uint8_t want[HASH_SIZE];
	int ret = 0;

	if (d->geom.levels)
		ret = leaf_digest(v, dev, blkno, want, err);
	if (!block) {
		slot = cache_victim(v);
		block = slot_block(v, slot);
	}
	if (!ret)
		ret = lower_read(v, dev, off, block, len, err);
	if (!ret) {
		memset(block + len, 0, BLOCK_SIZE - len);
		ret = d->geom.levels ? check_digest(block, len, want) : check_root(d, block, len);
		if (ret == -EBADMSG)
			es_fail(err, -EBADMSG, "device %u: block %llu fails its Merkle tree",
				dev, (unsigned long long)blkno);
	}
	if (ret) {
		memset(block, 0, BLOCK_SIZE);
		return ret;
	}
	if (slot)
		cache_keep(v, slot, dev, ES_VIO_DATA, blkno);
	*out = block;
	return 0;
}

static int vio_stat(void *ctx, unsigned int dev, const uint8_t *tag, struct es_io_dev *info,
		    struct es_err *err)
{
	struct es_vio *v = ctx;
	int ret;

	if (dev >= v->ndevs)
		return -ENODEV;
	ret = es_io_stat(v->lower, dev, tag, info, err);
	if (ret)
		return ret;
	if (info->size < v->devs[dev].size)
		return es_fail(err, -ES_ECORRUPT, "device %u holds %llu bytes, the manifest "
			       "says %llu", dev, (unsigned long long)info->size,
			       (unsigned long long)v->devs[dev].size);
	info->size = v->devs[dev].size;
	info->container = false;
	return 0;
}

static int vio_read(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len,
		    struct es_err *err)
{
	struct es_vio *v = ctx;
	uint8_t *out = buf;

	if (dev >= v->ndevs)
		return es_fail(err, -ENODEV, "device %u is not in the manifest", dev);
	if (off > v->devs[dev].size || len > v->devs[dev].size - off)
		return es_fail(err, -ES_ECORRUPT, "device %u: read of %zu bytes at %llu is "
			       "past what the manifest covers (%llu bytes)", dev, len,
			       (unsigned long long)off, (unsigned long long)v->devs[dev].size);
	while (len) {
		uint64_t blkno = off >> BLOCK_BITS;
		size_t in = (size_t)(off & (BLOCK_SIZE - 1));
		size_t n = BLOCK_SIZE - in < len ? BLOCK_SIZE - in : len;
		const uint8_t *block;
		int ret;

		if (!in && n == BLOCK_SIZE) {
			/* a whole block: checked in the caller's buffer */
			ret = fetch_data_block(v, dev, blkno, out, &block, err);
		} else {
			block = cache_find(v, dev, ES_VIO_DATA, blkno);
			ret = block ? 0 : fetch_data_block(v, dev, blkno, NULL, &block, err);
			if (!ret)
				memcpy(out, block + in, n);
		}
		if (ret)
			return ret;
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

int es_vio_init(struct es_io *io, struct es_vio *v, const struct es_io *lower,
		const struct es_vio_device *devs, unsigned int ndevs, void *cache,
		size_t cache_len, struct es_err *err)
{
	size_t nslots = cache_len / ES_VIO_SLOT_BYTES;

	if (nslots < ES_VIO_MIN_SLOTS || (uintptr_t)cache % 8)
		return es_fail(err, -EINVAL, "the Merkle tree cache needs at least two "
			       "blocks of 4 KiB, 8-byte aligned");
	if (nslots > UINT32_MAX / 2)
		nslots = UINT32_MAX / 2;
	memset(v, 0, sizeof(*v));
	v->lower = lower;
	v->devs = devs;
	v->ndevs = ndevs;
	v->blocks = cache;
	v->slots = (struct es_vio_slot *)(v->blocks + (nslots << BLOCK_BITS));
	v->nslots = (unsigned int)nslots;
	memset(v->slots, 0, nslots * sizeof(*v->slots));
	memset(io, 0, sizeof(*io));
	io->stat = vio_stat;
	io->read = vio_read;
	io->ctx = v;
	return 0;
}
