/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The ciphers of a decryption stage, shared by the hosted one (unlock.c)
 * and the boot one (keydec.c), which differ only in where a chunk's
 * key-table entry comes from.  Freestanding; inline, so that the boot
 * build keeps its code budget (docs/BOOT.md).
 */
#ifndef ES_KEYS_CHUNK_CIPHER_H
#define ES_KEYS_CHUNK_CIPHER_H

#include <stdbool.h>
#include <stdint.h>
#include "crypto/backend.h"
#include "erofs/err.h"
#include "erofs/keytable.h"

/*
 * meta is keyed once with the metadata key; data holds the key of the
 * chunk last used, so the units of one chunk derive its key once.  The
 * owner initialises and releases both ciphers.
 */
struct es_unit_ciphers {
	struct es_crypto_xts meta, data;
	struct es_crypto_mac *mac;	/* derives chunk keys; may be NULL */
	bool data_keyed;
	unsigned int data_dev;
	uint64_t data_block;
};

/* Whether data already holds the key of the chunk at (dev, chunk_block). */
static inline bool es_unit_ciphers_keyed_for(const struct es_unit_ciphers *c,
					     unsigned int dev, uint64_t chunk_block)
{
	return c->data_keyed && c->data_dev == dev && c->data_block == chunk_block;
}

/* Unit index (tweak u128le(index)) of x's key, in place. */
static inline int es_unit_decrypt(struct es_crypto_xts *x, uint64_t index, uint8_t *block)
{
	uint8_t tweak[ES_CRYPTO_XTS_TWEAK_SIZE];

	es_crypto_xts_tweak(index, tweak);
	return es_crypto_xts_crypt(x, tweak, block, block, ES_CRYPTO_XTS_UNIT_SIZE);
}

/* Metadata block blkno, in place. */
static inline int es_unit_ciphers_meta(struct es_unit_ciphers *c, uint64_t blkno,
				       uint8_t *block, struct es_err *err)
{
	int ret = es_unit_decrypt(&c->meta, blkno, block);

	return ret ? es_fail(err, ret, "block %llu: decryption failed",
			     (unsigned long long)blkno) : 0;
}

/*
 * Unit `unit` of the chunk at (dev, chunk_block), in place.  entry is the
 * chunk's key-table entry, looked up by the caller unless keyed_for said
 * data holds its key already (then it is ignored); NULL means the table
 * has none.
 */
static inline int es_unit_ciphers_chunk(struct es_unit_ciphers *c, const uint8_t *entry,
					unsigned int dev, uint64_t chunk_block, uint64_t unit,
					uint8_t *block, struct es_err *err)
{
	int ret;

	if (!es_unit_ciphers_keyed_for(c, dev, chunk_block)) {
		uint8_t key[ES_CHUNK_KEY_SIZE];

		c->data_keyed = false;
		if (!entry)
			return es_fail(err, -ES_ECORRUPT, "device %u, block %llu: a chunk the "
				       "key table has no secret for", dev,
				       (unsigned long long)chunk_block);
		ret = es_derive_chunk_key_with(c->mac, entry, ES_SUITE_XTS_V1, key);
		if (!ret)
			ret = es_crypto_xts_setkey(&c->data, key);
		es_crypto_wipe(key, sizeof(key));
		if (ret)
			return es_fail(err, ret, "device %u, block %llu: cannot key the chunk's "
				       "cipher", dev, (unsigned long long)chunk_block);
		c->data_keyed = true;
		c->data_dev = dev;
		c->data_block = chunk_block;
	}
	ret = es_unit_decrypt(&c->data, unit, block);
	return ret ? es_fail(err, ret, "device %u, block %llu: decryption failed", dev,
			     (unsigned long long)(chunk_block + unit)) : 0;
}

#endif
