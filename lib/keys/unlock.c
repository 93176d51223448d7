// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * An unlocked image (hosted): the whole key table decrypted and checked
 * against the signed manifest, and the reader's decryption stage on top.
 * (The boot reader's, without a heap, is keydec.c; both decrypt a unit
 * with chunk_cipher.h.)
 *
 * Trust: the D array comes from the unsigned key area, so it is first
 * checked against the manifest's table digest; every segment must then
 * match its D_k after decryption, and every entry must name the chunk of
 * the (manifest-checked) chunk index at its position.  A table copied in
 * from another image, re-encrypted under this one's table key, or with
 * two secrets swapped fails one of these.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keyarea.h"
#include "erofs/keyslot.h"
#include "erofs/keytable.h"
#include "erofs/seal.h"
#include "erofs/secret.h"
#include "erofs/unlock.h"
#include "keys/chunk_cipher.h"

struct es_unlocked {
	struct es_decryptor dec;
	uint8_t *table;			/* entries * ES_KT_ENTRY_SIZE, plaintext */
	size_t table_len;
	uint64_t entries;
	struct es_unit_ciphers c;	/* c.mac: chunk keys without a fetch each */
	bool borrowed_table;		/* a fork: the table is its parent's */
};

static uint64_t entry_block(const uint8_t *e)
{
	return es_get64(e + ES_CHUNK_SECRET_SIZE + 8);
}

static unsigned int entry_device(const uint8_t *e)
{
	return es_get16(e + ES_CHUNK_SECRET_SIZE);
}

/* Entry of the chunk at (dev, block), by binary search: entries are in
 * chunk index order, sorted by (device, block). */
static const uint8_t *find_entry(const struct es_unlocked *u, unsigned int dev,
				 uint64_t block)
{
	uint64_t lo = 1, hi = u->entries;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		const uint8_t *e = u->table + mid * ES_KT_ENTRY_SIZE;
		unsigned int d = entry_device(e);
		uint64_t b = entry_block(e);

		if (d == dev && b == block)
			return e;
		if (d < dev || (d == dev && b < block))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int dec_meta(void *ctx, uint64_t blkno, uint8_t *block, struct es_err *err)
{
	struct es_unlocked *u = ctx;

	return es_unit_ciphers_meta(&u->c, blkno, block, err);
}

static int dec_chunk(void *ctx, unsigned int dev, uint64_t chunk_block, uint64_t unit,
		     uint8_t *block, struct es_err *err)
{
	struct es_unlocked *u = ctx;
	const uint8_t *e = es_unit_ciphers_keyed_for(&u->c, dev, chunk_block) ? NULL :
			   find_entry(u, dev, chunk_block);

	return es_unit_ciphers_chunk(&u->c, e, dev, chunk_block, unit, block, err);
}

/* The cipher contexts and the decryption stage of u, keyed from its table. */
static int key_ciphers(struct es_unlocked *u, struct es_err *err)
{
	int ret = es_crypto_xts_init(&u->c.meta, ES_CRYPTO_DECRYPT);

	if (!ret)
		ret = es_crypto_xts_setkey(&u->c.meta, u->table);
	if (!ret)
		ret = es_crypto_xts_init(&u->c.data, ES_CRYPTO_DECRYPT);
	if (!ret)
		ret = es_crypto_mac_new(&u->c.mac);
	if (ret)
		return es_fail(err, ret, "key table: the metadata key is unusable");
	u->dec.meta = dec_meta;
	u->dec.chunk = dec_chunk;
	u->dec.ctx = u;
	return 0;
}

int es_unlocked_open(const struct es_seal *s, struct es_keyarea *ka,
		     struct es_unlocked **out, struct es_err *err)
{
	struct es_keyarea_summary sum;
	struct es_unlocked *u;
	int ret;

	*out = NULL;
	if (!(s->flags & MF_FLAG_ENCRYPTED))
		return es_fail(err, -EINVAL, "the image is not encrypted");
	if (!es_keyarea_unlocked(ka))
		return es_fail(err, -EINVAL, "the key area is not unlocked");
	/* counts from the signed manifest bound every allocation */
	if (s->table_entries != s->nchunks + 1)
		return es_fail(err, -ES_ECORRUPT, "key table: %llu entries for %llu chunks "
			       "(the manifest's own fields disagree)",
			       (unsigned long long)s->table_entries,
			       (unsigned long long)s->nchunks);
	es_keyarea_summary(ka, &sum);
	if (sum.entries != s->table_entries || sum.suite != s->suite ||
	    memcmp(sum.uuid, s->uuid, ES_UUID_SIZE) ||
	    es_crypto_memcmp(sum.table_digest, s->key_table_digest, 32))
		return es_fail(err, -EXDEV, "key area: its table is not the one the "
			       "manifest signs (key area of another image?)");
	if (s->table_entries > SIZE_MAX / ES_KT_ENTRY_SIZE)
		return es_fail(err, -EFBIG, "key table: too many entries");
	u = calloc(1, sizeof(*u));
	if (!u)
		return es_fail(err, -ENOMEM, "out of memory");
	u->entries = s->table_entries;
	u->table_len = (size_t)s->table_entries * ES_KT_ENTRY_SIZE;
	u->table = es_secret_alloc(u->table_len);
	if (!u->table) {
		ret = es_fail(err, -ENOMEM, "out of memory for a key table of %llu entries",
			      (unsigned long long)u->entries);
		goto fail;
	}
	/* every segment against its D_k, D against the manifest's digest */
	ret = es_keyarea_read_table(ka, u->table, err);
	if (ret)
		goto fail;
	/* each entry must name the chunk of the chunk index at its position,
	   so the binary search below can trust what it finds */
	for (uint64_t i = 1; i < u->entries; i++) {
		const struct es_chunk_rec *c = &s->chunks[i - 1];

		ret = es_keytable_check_entry(u->table + i * ES_KT_ENTRY_SIZE, c->device,
					      c->blkaddr, err);
		if (ret) {
			es_err_prefix(err, "key table entry %llu: ", (unsigned long long)i);
			goto fail;
		}
	}
	ret = key_ciphers(u, err);
	if (ret)
		goto fail;
	*out = u;
	return 0;
fail:
	es_unlocked_free(u);
	return ret;
}

int es_unlocked_fork(const struct es_unlocked *parent, struct es_unlocked **out,
		     struct es_err *err)
{
	struct es_unlocked *u = calloc(1, sizeof(*u));
	int ret;

	*out = NULL;
	if (!u)
		return es_fail(err, -ENOMEM, "out of memory");
	u->entries = parent->entries;
	u->table = parent->table;
	u->table_len = parent->table_len;
	u->borrowed_table = true;
	ret = key_ciphers(u, err);
	if (ret) {
		es_unlocked_free(u);
		return ret;
	}
	*out = u;
	return 0;
}

void es_unlocked_attach(struct es_unlocked *u, struct es_image *img)
{
	img->dec = &u->dec;
}

void es_unlocked_free(struct es_unlocked *u)
{
	if (!u)
		return;
	es_crypto_xts_release(&u->c.meta);
	es_crypto_xts_release(&u->c.data);
	es_crypto_mac_free(u->c.mac);
	if (!u->borrowed_table)
		es_secret_free(u->table, u->table_len);
	es_crypto_wipe(u, sizeof(*u));
	free(u);
}

int es_image_unlock(struct es_image *img, const struct es_seal *s,
		    const struct es_unlock_opts *o, struct es_unlocked **out,
		    struct es_unlock_report *report, struct es_err *err)
{
	struct es_keyarea_expect expect = { .check_table = true, .suite = s->suite,
					    .entries = s->table_entries };
	struct es_keyslot_cred **creds;
	struct es_keyarea_file *f = NULL;
	struct es_keyarea *ka = NULL;
	unsigned int ncreds = 0, slot = 0;
	int ret;

	*out = NULL;
	if (!o->nspecs)
		return es_fail(err, -EINVAL, "no credential to unlock with");
	if (!o->authenticated && !o->allow_unsigned)
		return es_fail(err, -EPERM, "refusing to unlock an image that no trusted key "
			       "signed: a key opens the contents but proves nothing about who "
			       "made them");
	if (!(s->flags & MF_FLAG_ENCRYPTED))
		return es_fail(err, -EINVAL, "the image is not encrypted");
	/* (es_keyarea_file_open leaves the manifest, parsed in s, to us) */
	if (s->suite == 0)
		return es_fail(err, -EXDEV, "the image's signed manifest names no crypto "
			       "suite: the image is not encrypted");
	creds = calloc(o->nspecs, sizeof(*creds));
	if (!creds)
		return es_fail(err, -ENOMEM, "out of memory");
	for (; ncreds < o->nspecs; ncreds++) {
		ret = es_keyslot_cred_load(o->specs[ncreds], ES_KEYSLOT_FOR_UNLOCK, o->prompt,
					   &creds[ncreds], err);
		if (ret)
			goto out;
	}
	memcpy(expect.uuid, s->uuid, ES_UUID_SIZE);
	memcpy(expect.table_digest, s->key_table_digest, 32);
	ret = es_keyarea_file_open(o->image_path, o->key_area_path, false, &f, NULL, err);
	if (!ret)
		ret = es_keyarea_open(es_keyarea_file_dev(f), &expect, &ka, err);
	if (ret) {
		if (f)
			es_err_prefix(err, "key area %s: ", es_keyarea_file_where(f));
		goto out;
	}
	ret = es_keyarea_unlock(ka, creds, ncreds, &slot, err);
	if (!ret)
		ret = es_unlocked_open(s, ka, out, err);
	if (!ret) {
		es_unlocked_attach(*out, img);
		if (report) {
			struct es_keyslot_info info;

			report->slot = slot;
			report->kind = es_keyarea_slot(ka, slot, &info, err) ? ES_KEYSLOT_EMPTY :
				       info.kind;
		}
	}
out:
	es_keyarea_close(ka);
	es_keyarea_file_close(f);
	for (unsigned int i = 0; i < ncreds; i++)
		es_keyslot_cred_free(creds[i]);
	free(creds);
	return ret;
}
