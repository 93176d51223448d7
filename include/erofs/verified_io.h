/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * A verifying source: an es_io over another one that hands out only bytes
 * that passed the Merkle tree of their device.  Every read fetches whole
 * 4 KiB blocks from the lower source and checks each against its device's
 * tree before a byte of it is copied out; the tree blocks on the way are
 * fetched from the seal (device 0 of the lower source) and checked up to
 * the fs-verity digest the manifest gives, so nothing but the manifest
 * needs to be trusted beforehand.  Verified tree blocks (and the last
 * data blocks that were read in pieces) are kept in a small cache in the
 * caller's memory; no allocation, builds freestanding.  The boot reader
 * puts it under the reader (boot/boot.c).
 *
 * A failure is -EBADMSG with a message naming the device and the block
 * ("device 1: block 17 fails its Merkle tree"); the bytes of a failing
 * block never reach the caller's buffer (what was fetched into it is
 * zeroed).  The devices are the manifest's: their sizes are those the
 * manifest gives, and reads past them fail.
 */
#ifndef EROFS_VERIFIED_IO_H
#define EROFS_VERIFIED_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/io.h"
#include "erofs/seal.h"
#include "erofs/verity.h"

/* What the verifier knows of one device (from the manifest). */
struct es_vio_device {
	uint64_t size;			/* bytes the manifest says */
	uint8_t digest[ES_VERITY_HASH_SIZE];	/* its fs-verity digest */
	uint64_t tree_pos;		/* where its tree starts on lower device 0 */
	struct es_verity_geom geom;
};

/* One cached, verified block. */
struct es_vio_slot {
	uint64_t index;			/* block number in its level */
	uint32_t age;			/* last use (larger: more recent) */
	uint16_t dev;
	uint8_t level;			/* tree level, or ES_VIO_DATA */
	bool used;
};

#define ES_VIO_DATA		0xff
/* bytes of cache per slot: the block and its tag */
#define ES_VIO_SLOT_BYTES	(ES_VERITY_BLOCK_SIZE + sizeof(struct es_vio_slot))
/* the fewest slots that work: a tree path is walked one level at a time */
#define ES_VIO_MIN_SLOTS	2u

struct es_vio {
	const struct es_io *lower;
	const struct es_vio_device *devs;
	unsigned int ndevs;
	struct es_vio_slot *slots;
	uint8_t *blocks;		/* nslots blocks of 4 KiB */
	unsigned int nslots;
	uint32_t clock;
};

/*
 * The devices of a decoded seal (es_seal_decode_devices()) as the verifier
 * needs them: devs has s->ndevices entries.
 */
void es_vio_devices_from_seal(const struct es_seal *s, struct es_vio_device *devs);

/*
 * Make io a verifying source over lower for ndevs devices; cache is
 * cache_len bytes (at least ES_VIO_MIN_SLOTS * ES_VIO_SLOT_BYTES, 8-byte
 * aligned) the caller keeps, as it keeps v, devs and lower.  -EINVAL with
 * a message when the cache is too small.
 */
int es_vio_init(struct es_io *io, struct es_vio *v, const struct es_io *lower,
		const struct es_vio_device *devs, unsigned int ndevs, void *cache,
		size_t cache_len, struct es_err *err);

#endif
