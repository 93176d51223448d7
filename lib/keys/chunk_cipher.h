/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * One 4 KiB unit of an encrypted image, decrypted in place: shared by the
 * hosted decryption stage (unlock.c) and the boot one (keydec.c).
 * Freestanding (keydec.c has the code).
 */
#ifndef ES_KEYS_CHUNK_CIPHER_H
#define ES_KEYS_CHUNK_CIPHER_H

#include <stdint.h>
#include "crypto/backend.h"
#include "erofs/keytable.h"

/* Unit index (tweak u128le(index)) of x's key, in place. */
int es_unit_decrypt(struct es_crypto_xts *x, uint64_t index, uint8_t *block);
/*
 * Key x with the chunk key of the key-table entry (its secret; m may be
 * NULL); the derived key is wiped.
 */
int es_unit_key_chunk(struct es_crypto_xts *x, struct es_crypto_mac *m,
		      const uint8_t entry[ES_KT_ENTRY_SIZE]);

#endif
