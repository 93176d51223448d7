// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Encryption at build time (docs/FORMAT.md §3).  Chunks: keyed convergent,
 * the chunk's key derived from the domain key and its plaintext, so equal
 * chunks are equal ciphertext across the images of one domain.  Every other
 * block of the filesystem region but block 0 (inodes, xattrs, directories,
 * symlink targets) under the image's random metadata key, tweak = block
 * number.  The key table then holds the metadata key and every chunk's
 * secret, in chunk index order.
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
#include "io.h"
#include "wtree.h"

/* What one thread needs to encrypt chunks: nothing in it is shared. */
struct wcrypt_lane {
	uint8_t chunk_key[ES_CHUNK_KEY_SIZE];	/* scratch */
	struct es_crypto_xts xts;		/* encrypting; rekeyed per chunk */
	struct es_crypto_mac *mac;		/* the derivations' HMAC engine */
};

struct wcrypt {
	uint32_t suite;
	uint8_t domain[ES_DOMAIN_KEY_SIZE];
	uint8_t meta_key[ES_META_KEY_SIZE];
	struct wcrypt_lane lane;		/* the building thread's own */
	uint8_t *scratch;			/* a chunk's ciphertext, for dictionaries */
	/* the keyslots' credentials, loaded before anything is built */
	struct es_keyslot_cred **creds;
	unsigned int ncreds;
};

static int lane_init(struct wcrypt_lane *l)
{
	int ret = es_crypto_xts_init(&l->xts, ES_CRYPTO_ENCRYPT);

	return ret ? ret : es_crypto_mac_new(&l->mac);
}

/* also for a lane whose lane_init() failed half-way (es_secret_alloc zeroes) */
static void lane_release(struct wcrypt_lane *l)
{
	es_crypto_xts_release(&l->xts);
	es_crypto_mac_free(l->mac);
	l->mac = NULL;
}

int wb_crypt_init(struct wbuild *b)
{
	struct wcrypt *c;
	int ret;

	if (!b->opts->encrypt)
		return 0;
	/* key material stays out of swap and core dumps where the system lets us */
	c = es_secret_alloc(sizeof(*c));
	if (!c)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->crypt = c;
	c->suite = ES_SUITE_XTS_V1;
	memcpy(c->domain, b->opts->domain_key, ES_DOMAIN_KEY_SIZE);
	ret = es_crypto_random_secret(c->meta_key, sizeof(c->meta_key));
	if (ret)
		return es_fail(b->err, ret, "cannot draw the metadata key");
	if (!memcmp(c->meta_key, c->meta_key + 32, 32))
		return es_fail(b->err, -EIO, "the random generator gave a degenerate key");
	ret = lane_init(&c->lane);
	if (ret)
		return es_fail(b->err, ret, "AES-256-XTS or HMAC is not available");
	c->creds = calloc(b->opts->nkeyslots, sizeof(*c->creds));
	if (!c->creds)
		return es_fail(b->err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < b->opts->nkeyslots; i++) {
		ret = es_keyslot_cred_load(b->opts->keyslots[i], ES_KEYSLOT_FOR_ADD,
					   b->opts->prompt, &c->creds[i], b->err);
		if (ret) {
			es_err_prefix(b->err, "keyslot %u: ", i + 1);
			return ret;
		}
		c->ncreds++;
	}
	return 0;
}

void wb_crypt_free(struct wbuild *b)
{
	struct wcrypt *c = b->crypt;

	if (!c)
		return;
	lane_release(&c->lane);
	free(c->scratch);
	for (unsigned int i = 0; i < c->ncreds; i++)
		es_keyslot_cred_free(c->creds[i]);
	free(c->creds);
	es_secret_free(c, sizeof(*c));
	b->crypt = NULL;
}

int wb_crypt_lane_id(const struct wbuild *b, struct wcrypt_lane *l, const uint8_t h[32],
		     uint64_t len, uint8_t id[ES_CHUNK_ID_SIZE])
{
	return es_derive_chunk_with(l->mac, b->crypt->domain, b->crypt->suite, len, h, NULL, id);
}

int wb_crypt_chunk_id(struct wbuild *b, const uint8_t h[32], uint64_t len,
		      uint8_t id[ES_CHUNK_ID_SIZE])
{
	int ret = wb_crypt_lane_id(b, &b->crypt->lane, h, len, id);

	return ret ? es_fail(b->err, ret, "deriving a chunk identifier failed") : 0;
}

static int crypt_units(struct wcrypt_lane *l, const uint8_t key[ES_CHUNK_KEY_SIZE],
		       uint8_t *buf, uint64_t nunits, uint64_t first_tweak)
{
	uint8_t tweak[ES_CRYPTO_XTS_TWEAK_SIZE];
	int ret = es_crypto_xts_setkey(&l->xts, key);

	for (uint64_t u = 0; !ret && u < nunits; u++) {
		es_crypto_xts_tweak(first_tweak + u, tweak);
		ret = es_crypto_xts_crypt(&l->xts, tweak, buf + u * ES_CRYPTO_XTS_UNIT_SIZE,
					  buf + u * ES_CRYPTO_XTS_UNIT_SIZE,
					  ES_CRYPTO_XTS_UNIT_SIZE);
	}
	return ret;
}

int wb_crypt_lane_chunk(const struct wbuild *b, struct wcrypt_lane *l, const uint8_t h[32],
			uint64_t len, uint8_t *buf, uint64_t nblocks,
			uint8_t secret[ES_CHUNK_SECRET_SIZE])
{
	const struct wcrypt *c = b->crypt;
	int ret = es_derive_chunk_with(l->mac, c->domain, c->suite, len, h, secret, NULL);

	if (!ret)
		ret = es_derive_chunk_key_with(l->mac, secret, c->suite, l->chunk_key);
	if (!ret)
		ret = crypt_units(l, l->chunk_key, buf, nblocks, 0);
	es_crypto_wipe(l->chunk_key, sizeof(l->chunk_key));
	if (ret)
		es_crypto_wipe(secret, ES_CHUNK_SECRET_SIZE);
	return ret;
}

int wb_crypt_chunk(struct wbuild *b, const uint8_t h[32], uint64_t len, uint8_t *buf,
		   uint64_t nblocks, uint8_t secret[ES_CHUNK_SECRET_SIZE])
{
	int ret = wb_crypt_lane_chunk(b, &b->crypt->lane, h, len, buf, nblocks, secret);

	return ret ? es_fail(b->err, ret, "encrypting a chunk failed") : 0;
}

int wb_crypt_lane_new(struct wbuild *b, struct wcrypt_lane **out)
{
	struct wcrypt_lane *l = es_secret_alloc(sizeof(*l));
	int ret;

	*out = NULL;
	if (!l)
		return es_fail(b->err, -ENOMEM, "out of memory");
	ret = lane_init(l);
	if (ret) {
		wb_crypt_lane_free(l);
		return es_fail(b->err, ret, "AES-256-XTS or HMAC is not available");
	}
	*out = l;
	return 0;
}

void wb_crypt_lane_free(struct wcrypt_lane *l)
{
	if (l) {
		lane_release(l);
		es_secret_free(l, sizeof(*l));
	}
}

/*
 * A dictionary chunk about to be referenced for the first time: its secret
 * is recomputed from the source's plaintext (never taken from the
 * dictionary), and the dictionary's stored bytes must be exactly the
 * ciphertext that secret gives.
 */
int wb_crypt_dict_chunk(struct wbuild *b, uint16_t dev, uint32_t blkaddr, uint32_t nblocks,
			const uint8_t h[32], uint64_t len, const uint8_t id[32],
			const uint8_t *plain, const char *what)
{
	struct wcrypt *c = b->crypt;
	size_t padded = (size_t)nblocks << b->blkszbits;
	uint8_t *secret = wb_dedup_secret(b->dedup, id, nblocks);
	int ret;

	if (!secret || len > padded || padded > WBUILD_IOBUF_SIZE)
		return es_fail(b->err, -EINVAL, "%s: internal error: dictionary chunk of "
			       "%llu bytes", ES_PATH(what), (unsigned long long)len);
	if (!c->scratch) {
		c->scratch = es_alloc_big(WBUILD_IOBUF_SIZE);
		if (!c->scratch)
			return es_fail(b->err, -ENOMEM, "out of memory");
	}
	memcpy(c->scratch, plain, (size_t)len);
	memset(c->scratch + len, 0, padded - (size_t)len);
	ret = wb_crypt_chunk(b, h, len, c->scratch, nblocks, secret);
	if (!ret)
		ret = wb_dict_chunk_compare(b, dev, blkaddr, nblocks, c->scratch, id, what);
	if (ret)
		es_crypto_wipe(secret, ES_CHUNK_SECRET_SIZE);
	return ret;
}

/*
 * Encrypted builds take only encrypted dictionaries of their own suite and
 * domain (the dictionary's domain check, under this build's domain key);
 * plain builds take no encrypted one.
 */
int wb_crypt_check_dict(struct wbuild *b, const struct es_seal *s)
{
	uint8_t check[32];
	int ret;

	if (!b->crypt)
		return s->flags & MF_FLAG_ENCRYPTED ?
		       es_fail(b->err, -EINVAL, "it is encrypted, and this image is not: "
			       "an encrypted dictionary serves encrypted builds only") : 0;
	if (!(s->flags & MF_FLAG_ENCRYPTED))
		return es_fail(b->err, -EINVAL, "it is not encrypted: an encrypted build "
			       "takes only encrypted dictionaries of its domain");
	if (s->suite != b->crypt->suite)
		return es_fail(b->err, -EINVAL, "it uses crypto suite %u, this build %u",
			       s->suite, b->crypt->suite);
	ret = wb_crypt_domain_check(b, s->uuid, check);
	if (ret)
		return ret;
	if (es_crypto_memcmp(check, s->domain_check, sizeof(check)))
		return es_fail(b->err, -EINVAL, "it belongs to another dedup domain (its "
			       "domain check does not match this domain key)");
	return 0;
}

int wb_crypt_meta(struct wbuild *b, uint8_t *buf, uint64_t first_block, uint64_t nblocks)
{
	int ret = crypt_units(&b->crypt->lane, b->crypt->meta_key, buf, nblocks, first_block);

	return ret ? es_fail(b->err, ret, "encrypting metadata failed") : 0;
}

/* The filesystem region's metadata blocks, in place in the image file. */
int wb_crypt_meta_region(struct wbuild *b, uint64_t first_block, uint64_t end_block)
{
	const uint64_t per = WBUILD_IOBUF_SIZE >> b->blkszbits;

	for (uint64_t blk = first_block; blk < end_block;) {
		uint64_t n = end_block - blk < per ? end_block - blk : per;
		size_t bytes = (size_t)(n << b->blkszbits);
		ssize_t got = es_pread_full(b->image_fd, b->iobuf, bytes, blk << b->blkszbits);
		int ret;

		if (got < 0 || (size_t)got != bytes)
			return es_fail(b->err, got < 0 ? (int)got : -EIO,
				       "reading back the metadata to encrypt it failed");
		ret = wb_crypt_meta(b, b->iobuf, blk, n);
		if (!ret) {
			ret = es_pwrite_full(b->image_fd, b->iobuf, bytes, blk << b->blkszbits);
			if (ret)
				ret = es_fail(b->err, ret, "writing the image: %s", strerror(-ret));
		}
		es_crypto_wipe(b->iobuf, bytes);
		if (ret)
			return ret;
		blk += n;
	}
	return 0;
}

/*
 * The key table's plaintext for the sorted chunk records: entry 0 the
 * metadata key, entry i + 1 the secret of record i.  Every record must
 * have a secret: an encrypted image has no chunk a reader could not open.
 */
int wb_crypt_table(struct wbuild *b, const struct es_chunk_rec *recs,
		   const uint8_t *const *secrets, uint64_t n, uint8_t **plain,
		   uint64_t *entries)
{
	uint64_t count = n + 1;
	uint8_t *t;

	*plain = NULL;
	if (count > SIZE_MAX / ES_KT_ENTRY_SIZE)
		return es_fail(b->err, -EFBIG, "too many chunks for a key table");
	t = es_calloc_big(count, ES_KT_ENTRY_SIZE);
	if (!t)
		return es_fail(b->err, -ENOMEM, "out of memory");
	memcpy(t, b->crypt->meta_key, ES_META_KEY_SIZE);
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *secret = secrets[i];

		if (!secret) {
			es_crypto_wipe(t, count * ES_KT_ENTRY_SIZE);
			free(t);
			return es_fail(b->err, -EINVAL, "internal error: chunk at block %u "
				       "of device %u has no secret", recs[i].blkaddr,
				       recs[i].device);
		}
		if (es_keytable_put_secret(t + (i + 1) * ES_KT_ENTRY_SIZE, secret,
					   recs[i].device, recs[i].blkaddr)) {
			es_crypto_wipe(t, count * ES_KT_ENTRY_SIZE);
			free(t);
			return es_fail(b->err, -ERANGE, "device %u does not fit a key table "
				       "entry", recs[i].device);
		}
	}
	*plain = t;
	*entries = count;
	return 0;
}

int wb_crypt_domain_check(struct wbuild *b, const uint8_t uuid[16], uint8_t out[32])
{
	int ret = es_derive_domain_check(b->crypt->domain, uuid, out);

	return ret ? es_fail(b->err, ret, "deriving the domain check failed") : 0;
}

static int make_key_area(struct wbuild *b, const struct es_keytable_info *info,
			 const uint8_t *plain, const uint8_t *digests,
			 const uint8_t table_digest[32], uint8_t **area, size_t *len)
{
	struct es_keyarea_table t = {
		.suite = info->suite,
		.entries = info->entries,
		.digests = digests,
		.plain = plain,
	};

	memcpy(t.uuid, info->uuid, ES_UUID_SIZE);
	memcpy(t.table_digest, table_digest, 32);
	return es_keyarea_create(&t, b->crypt->creds, b->crypt->ncreds, &b->opts->pbkdf, area,
				 len, b->err);
}

/*
 * The encrypted part of the seal: the key table of the sorted chunk
 * records, its digests in the manifest, the domain check, and the key
 * area (in the image: *key_area, for the caller to wipe and free; or in
 * its own file).
 */
int wb_crypt_seal(struct wbuild *b, const uint8_t uuid[16], const struct es_chunk_rec *recs,
		  const uint8_t *const *secrets, uint64_t n, struct es_seal_input *in,
		  uint8_t **key_area)
{
	struct es_keytable_info info = { .suite = b->crypt->suite, .gen = 1 };
	uint8_t *plain = NULL, *digests = NULL, *area = NULL;
	size_t area_len = 0;
	uint64_t nseg;
	int ret;

	*key_area = NULL;
	ret = wb_crypt_table(b, recs, secrets, n, &plain, &info.entries);
	if (ret)
		return ret;
	memcpy(info.uuid, uuid, ES_UUID_SIZE);
	nseg = es_keytable_nseg(info.entries);
	digests = calloc(nseg, ES_SHA256_DIGEST_SIZE);
	if (!digests) {
		ret = es_fail(b->err, -ENOMEM, "out of memory");
		goto out;
	}
	ret = es_keytable_digests(&info, plain, digests, in->key_table_digest);
	if (ret) {
		ret = es_fail(b->err, ret, "hashing the key table failed");
		goto out;
	}
	ret = wb_crypt_domain_check(b, uuid, in->domain_check);
	if (ret)
		goto out;
	in->flags = MF_FLAG_ENCRYPTED;
	in->suite = b->crypt->suite;
	in->table_entries = info.entries;
	ret = make_key_area(b, &info, plain, digests, in->key_table_digest, &area, &area_len);
	if (ret)
		goto out;
	if (b->opts->key_area_path) {
		struct es_outfile f = { .fd = -1 };

		ret = es_outfile_create(&f, b->opts->key_area_path, b->err);
		if (!ret) {
			ret = es_pwrite_full(f.fd, area, area_len, 0);
			if (ret)
				es_fail(b->err, ret, "writing %s: %s",
					ES_PATH(b->opts->key_area_path), strerror(-ret));
		}
		if (!ret)
			ret = es_outfile_commit(&f, b->err);
		else if (f.tmp_path)
			es_outfile_abort(&f);
		es_crypto_wipe(area, area_len);
		free(area);
	} else {
		*key_area = area;
		in->key_area = area;
		in->key_area_len = area_len;
	}
out:
	if (plain) {
		es_crypto_wipe(plain, (size_t)info.entries * ES_KT_ENTRY_SIZE);
		free(plain);
	}
	free(digests);
	return ret;
}

/* ---- keyed-identifier order of the data region ------------------------- */

struct placed_chunk {
	uint8_t id[ES_CHUNK_ID_SIZE];
	uint32_t blkaddr;	/* where the scan wrote it */
	uint32_t nblocks;
};

struct chunk_list {
	struct placed_chunk *v;
	uint64_t n, cap;
	uint16_t device;
};

static int collect_placed(void *ctx, const uint8_t digest[32], uint16_t *device,
			  uint32_t blkaddr, uint32_t nblocks, uint32_t length)
{
	struct chunk_list *l = ctx;

	(void)length;
	if (*device != l->device)
		return 0;
	if (l->n == l->cap) {
		uint64_t cap = l->cap ? l->cap * 2 : 1024;
		struct placed_chunk *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n].id, digest, ES_CHUNK_ID_SIZE);
	l->v[l->n].blkaddr = blkaddr;
	l->v[l->n].nblocks = nblocks;
	l->n++;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	return memcmp(((const struct placed_chunk *)a)->id,
		      ((const struct placed_chunk *)b)->id, ES_CHUNK_ID_SIZE);
}

/* Chunk tables: every entry on the region's device gets its new address. */
static void remap_tables(struct wbuild *b, uint16_t device, uint32_t base,
			 const uint32_t *remap)
{
	for (struct wnode *n = b->all; n; n = n->next_all) {
		bool indexes = n->chunkfmt & EROFS_CHUNK_FORMAT_INDEXES;
		unsigned int unit = indexes ? EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCKMAP_ENTRY_SIZE;

		if (n->layout == EROFS_LAYOUT_COMPRESSED_FULL)
			wb_zmap_remap(n, device, base, remap);
		if (n->layout != EROFS_LAYOUT_CHUNK_BASED)
			continue;
		for (uint64_t c = 0; c < n->nchunks; c++) {
			uint8_t *e = n->chunk_table + c * unit;
			uint8_t *addr = indexes ? e + CI_STARTBLK_LO : e;
			uint32_t blk = es_get32(addr);

			if (blk == EROFS_NULL_ADDR ||
			    (indexes ? es_get16(e + CI_DEVICE_ID) : 0) != device)
				continue;
			es_put32(addr, remap[blk - base]);
		}
	}
}

/*
 * ENCRYPTION.md §5: with chunks larger than a block, the order of a
 * region's chunks would tell file boundaries (a file's short last chunk
 * follows its full ones), so the new chunks of the data region (the new
 * blob, or device 0 before its metadata) are rewritten in the order of
 * their keyed identifiers, and every reference follows them.  The region
 * holds chunks only: tail blocks are placed after it.
 */
int wb_crypt_order_chunks(struct wbuild *b)
{
	const bool to_blob = b->blob_fd >= 0;
	struct chunk_list l = { .device = to_blob ? WDEV_NEW_BLOB : 0 };
	const uint32_t base = to_blob ? 0 : 1;
	const uint64_t end = to_blob ? b->blob_next : b->data_next;
	const int fd = to_blob ? b->blob_fd : b->image_fd;
	uint32_t *remap = NULL, next = base;
	uint64_t covered = 0;
	int ret, tmp = -1;

	if (!b->crypt || (b->chunksize <= b->blksz && !b->big_pclusters) || end <= base)
		return 0;
	ret = wb_dedup_foreach(b->dedup, collect_placed, &l);
	if (ret) {
		ret = es_fail(b->err, ret, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < l.n; i++)
		covered += l.v[i].nblocks;
	if (covered != end - base) {
		ret = es_fail(b->err, -EINVAL, "internal error: %llu blocks of chunks in a "
			      "region of %llu", (unsigned long long)covered,
			      (unsigned long long)(end - base));
		goto out;
	}
	qsort(l.v, l.n, sizeof(*l.v), by_id);
	if (to_blob)
		wb_pipe_leaves_void(b);		/* blocks move: hashed when complete */
	remap = calloc(end - base, sizeof(*remap));
	/* the region's bytes as the scan wrote them, to copy back in order */
	tmp = es_tmpfile_near(b->opts->image_path, b->err);
	if (!remap || tmp < 0) {
		ret = tmp < 0 ? tmp : es_fail(b->err, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t off = base; off < end && !ret;) {
		size_t n = (size_t)((end - off) << b->blkszbits) < WBUILD_IOBUF_SIZE ?
			   (size_t)((end - off) << b->blkszbits) : WBUILD_IOBUF_SIZE;
		ssize_t got = es_pread_full(fd, b->iobuf, n, off << b->blkszbits);

		ret = got == (ssize_t)n ? es_pwrite_full(tmp, b->iobuf, n,
							 (off - base) << b->blkszbits) :
					  (got < 0 ? (int)got : -EIO);
		off += n >> b->blkszbits;
	}
	for (uint64_t i = 0; i < l.n && !ret; i++) {
		size_t n = (size_t)l.v[i].nblocks << b->blkszbits;
		ssize_t got = es_pread_full(tmp, b->iobuf, n,
					    (uint64_t)(l.v[i].blkaddr - base) << b->blkszbits);

		ret = got == (ssize_t)n ? es_pwrite_full(fd, b->iobuf, n,
							 (uint64_t)next << b->blkszbits) :
					  (got < 0 ? (int)got : -EIO);
		remap[l.v[i].blkaddr - base] = next;
		next += l.v[i].nblocks;
	}
	if (ret) {
		ret = es_fail(b->err, ret, "putting the chunks in order: %s", strerror(-ret));
		goto out;
	}
	remap_tables(b, l.device, base, remap);
	wb_dedup_move(b->dedup, l.device, base, remap);
out:
	if (tmp >= 0)
		close(tmp);
	free(remap);
	free(l.v);
	return ret;
}
