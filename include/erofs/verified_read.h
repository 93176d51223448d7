/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Verify on read (hosted): an es_io over another one that checks each
 * block of the blobs it is given against their Merkle trees as the block
 * is read, so that a reader that reads a blob anyway (fsck --extract)
 * reads it once, not once to check it and once to use it.
 *
 * A blob is added with es_vread_add(): its stored tree is loaded from the
 * seal and checked whole against the manifest's fs-verity digest (a few
 * hundred KiB per 100 MiB), and kept in memory; from then on each data
 * block read from it is hashed (SHA-256 several blocks at a time,
 * erofs/sha256_mb.h) and compared with its level-0 digest before a byte of
 * it reaches the caller's buffer.  A block that fails is -EBADMSG with a
 * message naming the blob and the block ("blob 3: block 17 fails its
 * Merkle tree"), and the caller's buffer is zeroed.  Devices that were not
 * added (the filesystem region, checked whole before anything is parsed)
 * are read from the lower source as they are.
 *
 * Several threads may read through one source at once (each read hashes
 * with a context of its own; which blocks were checked is kept with
 * atomic operations).  es_vread_check_rest() checks the blocks that no
 * read has checked, so that afterwards every block of every added blob
 * was checked exactly once.
 */
#ifndef EROFS_VERIFIED_READ_H
#define EROFS_VERIFIED_READ_H

#include <stdint.h>
#include "erofs/err.h"
#include "erofs/io.h"
#include "erofs/seal.h"

struct es_vread;

/* A source over lower (which must outlive it) for the devices of s. */
int es_vread_new(struct es_vread **out, const struct es_io *lower, const struct es_seal *s,
		 struct es_err *err);

/*
 * Check blob dev (1 .. s->ndevices - 1) on read from now on: the source
 * must have it (-ENOENT or -ENODEV as es_io_stat() says otherwise), its
 * size must be the manifest's and its stored tree must match the
 * manifest's digest (-EBADMSG, message in err, when either does not).
 */
int es_vread_add(struct es_vread *v, unsigned int dev, struct es_err *err);

/*
 * The tree of added blob dev, as checked against the manifest (v keeps
 * it): NULL with *len 0 when the blob has none (one block or empty), or
 * when dev was not added.
 */
const uint8_t *es_vread_tree(const struct es_vread *v, unsigned int dev, size_t *len);

/* io reads through v (v keeps ownership of everything). */
void es_vread_io(struct es_vread *v, struct es_io *io);

/* Blocks of the added blobs that no read has checked yet. */
uint64_t es_vread_unchecked(const struct es_vread *v);

/* Read and check them: 0, or the first failure (-EBADMSG: a block). */
int es_vread_check_rest(struct es_vread *v, struct es_err *err);

/*
 * -EBADMSG with the message of the first block that failed on read, or 0
 * when none did.  Call once no thread reads any more.
 */
int es_vread_failure(const struct es_vread *v, struct es_err *err);

void es_vread_free(struct es_vread *v);

#endif
