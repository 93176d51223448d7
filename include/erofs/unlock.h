/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Reading an encrypted image (hosted): once a keyslot gave the table key,
 * the key table is decrypted whole, checked against the signed manifest,
 * and attached to the image as its decryption stage (struct es_decryptor
 * of erofs/image.h).  One thread at a time.
 */
#ifndef EROFS_UNLOCK_H
#define EROFS_UNLOCK_H

#include <stdint.h>
#include "erofs/err.h"
#include "erofs/image.h"
#include "erofs/keytable.h"

struct es_seal;
struct es_unlocked;

/*
 * s: the image's seal, read and authenticated as the caller's policy
 * demands (its chunk index loaded).  tk and gen: what the key area's
 * winning header and a keyslot gave; table_ct (ct_len bytes) the active
 * table slot's ciphertext, digests the key area's D array.  -EBADMSG when
 * the table is not this image's (digest, tag or entry mismatch).
 */
int es_unlocked_open(const struct es_seal *s, const uint8_t tk[ES_TABLE_KEY_SIZE],
		     uint32_t gen, const uint8_t *table_ct, uint64_t ct_len,
		     const uint8_t *digests, struct es_unlocked **out, struct es_err *err);
/* img reads through u from now on; u must outlive that use. */
void es_unlocked_attach(struct es_unlocked *u, struct es_image *img);
/* Wipes every key. */
void es_unlocked_free(struct es_unlocked *u);

#endif
