// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The encrypted key table of ENCRYPTION.md section 2 (bytes in
 * docs/FORMAT.md section 3): sizes, entries, the segment digests that the
 * signature commits to, and AES-256-GCM per segment.  Freestanding: no
 * heap, nothing from the C library but memcpy and memset; the caller owns
 * every buffer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keytable.h"

_Static_assert(ES_KT_KEY_SIZE == ES_CRYPTO_GCM_KEY_SIZE, "K_tbl is an AES-256-GCM key");
_Static_assert(ES_KT_TAG_SIZE == ES_CRYPTO_GCM_TAG_SIZE, "a segment's tag is GCM's");
_Static_assert(ES_KT_SEG_SIZE % ES_KT_ENTRY_SIZE == 0, "whole entries per segment");

#define PUT_LABEL(p, x) \
	(memcpy((p), ES_LABEL(x), sizeof(ES_LABEL(x))), sizeof(ES_LABEL(x)))

#define SEG_AAD_SIZE	(sizeof(ES_LABEL("table-seg")) + ES_UUID_SIZE + 4 + 4 + 8 + 8 + 8)

/* entry layout: secret[32] | le16 device | le16 0 | le32 0 | le64 block | 16 zero */
#define ENTRY_DEVICE	32
#define ENTRY_BLOCK	40
#define ENTRY_TAIL	48

uint64_t es_keytable_nseg(uint64_t entries)
{
	if (entries > ES_KT_MAX_ENTRIES)
		return 0;
	return (entries + ES_KT_SEG_ENTRIES - 1) / ES_KT_SEG_ENTRIES;
}

size_t es_keytable_seg_len(uint64_t entries, uint64_t k)
{
	uint64_t nseg = es_keytable_nseg(entries);

	if (k >= nseg)
		return 0;
	if (k + 1 < nseg)
		return ES_KT_SEG_SIZE;
	return (size_t)(entries - k * ES_KT_SEG_ENTRIES) * ES_KT_ENTRY_SIZE;
}

uint64_t es_keytable_ct_size(uint64_t entries)
{
	if (entries > ES_KT_MAX_ENTRIES)
		return 0;
	return entries * ES_KT_ENTRY_SIZE + es_keytable_nseg(entries) * ES_KT_TAG_SIZE;
}

int es_keytable_put_secret(uint8_t entry[ES_KT_ENTRY_SIZE],
			   const uint8_t secret[ES_CHUNK_SECRET_SIZE],
			   unsigned int device, uint64_t block)
{
	if (!entry)
		return -EINVAL;
	memset(entry, 0, ES_KT_ENTRY_SIZE);
	if (!secret)
		return -EINVAL;
	if (device > UINT16_MAX)
		return -ERANGE;
	memcpy(entry, secret, ES_CHUNK_SECRET_SIZE);
	es_put16(entry + ENTRY_DEVICE, (uint16_t)device);
	es_put64(entry + ENTRY_BLOCK, block);
	return 0;
}

int es_keytable_check_entry(const uint8_t entry[ES_KT_ENTRY_SIZE],
			    unsigned int device, uint64_t block,
			    struct es_err *err)
{
	if (!entry)
		return es_fail(err, -EINVAL, "no key table entry to check");
	if (es_get16(entry + ENTRY_DEVICE) != device ||
	    es_get64(entry + ENTRY_BLOCK) != block)
		return es_fail(err, -EBADMSG,
			       "the key table entry found for the chunk at device %u block %llu names device %u block %llu",
			       device, (unsigned long long)block,
			       (unsigned int)es_get16(entry + ENTRY_DEVICE),
			       (unsigned long long)es_get64(entry + ENTRY_BLOCK));
	if (!es_is_zero(entry + ENTRY_DEVICE + 2, ENTRY_BLOCK - ENTRY_DEVICE - 2) ||
	    !es_is_zero(entry + ENTRY_TAIL, ES_KT_ENTRY_SIZE - ENTRY_TAIL))
		return es_fail(err, -EBADMSG,
			       "the key table entry of the chunk at device %u block %llu has nonzero reserved bytes",
			       device, (unsigned long long)block);
	return 0;
}

/* Everything the functions below need of info; a message for the rest. */
static int check_info(const struct es_keytable_info *info, struct es_err *err)
{
	if (!info)
		return es_fail(err, -EINVAL, "no key table parameters");
	if (info->suite != ES_SUITE_XTS_V1)
		return es_fail(err, -EINVAL, "encryption suite %u has no key table",
			       (unsigned int)info->suite);
	if (info->entries < 1)
		return es_fail(err, -EINVAL,
			       "a key table has at least one entry, the metadata key");
	if (info->entries > ES_KT_MAX_ENTRIES)
		return es_fail(err, -EFBIG,
			       "a key table of %llu entries is more than any image can have",
			       (unsigned long long)info->entries);
	return 0;
}

/* A whole table, plaintext or ciphertext, must also fit in memory. */
static int check_whole(const struct es_keytable_info *info, struct es_err *err)
{
	int ret = check_info(info, err);

	if (ret)
		return ret;
	if (es_keytable_ct_size(info->entries) > SIZE_MAX)
		return es_fail(err, -EFBIG,
			       "a key table of %llu entries does not fit in memory",
			       (unsigned long long)info->entries);
	return 0;
}

/* GCM nonce of segment k: u32be(0) | u64be(k), unique per K_tbl. */
static void seg_nonce(uint64_t k, uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE])
{
	memset(nonce, 0, 4);
	for (unsigned int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(k >> (56 - 8 * i));
}

/* L("table-seg") | uuid | u32le(suite) | u32le(gen) | u64le(k) | u64le(nseg) | u64le(entries) */
static void seg_aad(const struct es_keytable_info *info, uint64_t k,
		    uint8_t aad[SEG_AAD_SIZE])
{
	size_t n = PUT_LABEL(aad, "table-seg");

	memcpy(aad + n, info->uuid, ES_UUID_SIZE);
	n += ES_UUID_SIZE;
	es_put32(aad + n, info->suite);
	es_put32(aad + n + 4, info->gen);
	es_put64(aad + n + 8, k);
	es_put64(aad + n + 16, es_keytable_nseg(info->entries));
	es_put64(aad + n + 24, info->entries);
}

/* D_k = SHA-256(L("table-pt") | u64le(k) | plaintext segment k) */
static int seg_digest(uint64_t k, const uint8_t *plain, size_t len,
		      uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	uint8_t head[sizeof(ES_LABEL("table-pt")) + 8];
	struct es_sha256_ctx ctx;
	size_t n = PUT_LABEL(head, "table-pt");
	int ret;

	es_put64(head + n, k);
	ret = es_sha256_init(&ctx);
	if (ret)
		return ret;
	es_sha256_update(&ctx, head, sizeof(head));
	es_sha256_update(&ctx, plain, len);
	ret = es_sha256_final(&ctx, out);
	/* a context may keep the last bytes of the secrets it hashed */
	es_crypto_wipe(&ctx, sizeof(ctx));
	return ret;
}

int es_keytable_digest_start(const struct es_keytable_info *info, struct es_sha256_ctx *ctx)
{
	uint8_t head[sizeof(ES_LABEL("table")) + ES_UUID_SIZE + 4 + 8 + 4];
	size_t n;
	int ret;

	ret = check_info(info, NULL);
	if (ret)
		return ret;
	n = PUT_LABEL(head, "table");
	memcpy(head + n, info->uuid, ES_UUID_SIZE);
	n += ES_UUID_SIZE;
	es_put32(head + n, info->suite);
	es_put64(head + n + 4, info->entries);
	es_put32(head + n + 12, ES_KT_SEG_SIZE);
	ret = es_sha256_init(ctx);
	if (ret)
		return ret;
	es_sha256_update(ctx, head, sizeof(head));
	return 0;
}

int es_keytable_digest_of(const struct es_keytable_info *info, const uint8_t *digests,
			  uint8_t table_digest[ES_SHA256_DIGEST_SIZE])
{
	struct es_sha256_ctx ctx;
	uint64_t nseg, k;
	int ret;

	if (!digests || !table_digest)
		return -EINVAL;
	ret = es_keytable_digest_start(info, &ctx);
	if (ret)
		return ret;
	nseg = es_keytable_nseg(info->entries);
	/* segment by segment: nseg * 32 bytes need not fit in a size_t */
	for (k = 0; k < nseg; k++)
		es_sha256_update(&ctx, digests + k * ES_SHA256_DIGEST_SIZE,
				 ES_SHA256_DIGEST_SIZE);
	return es_sha256_final(&ctx, table_digest);
}

int es_keytable_digests(const struct es_keytable_info *info, const uint8_t *plain,
			uint8_t *digests, uint8_t table_digest[ES_SHA256_DIGEST_SIZE])
{
	uint64_t nseg, k;
	int ret;

	ret = check_whole(info, NULL);
	if (ret)
		return ret;
	if (!plain || !digests || !table_digest)
		return -EINVAL;
	nseg = es_keytable_nseg(info->entries);
	for (k = 0; k < nseg; k++) {
		ret = seg_digest(k, plain + (size_t)k * ES_KT_SEG_SIZE,
				 es_keytable_seg_len(info->entries, k),
				 digests + (size_t)k * ES_SHA256_DIGEST_SIZE);
		if (ret)
			return ret;
	}
	return es_keytable_digest_of(info, digests, table_digest);
}

/* K_tbl of the table: the key of every segment's GCM. */
static int table_key(const struct es_keytable_info *info, const uint8_t tk[ES_TABLE_KEY_SIZE],
		     uint8_t k_tbl[ES_KT_KEY_SIZE], struct es_err *err)
{
	int ret = es_derive_table_key(tk, info->uuid, info->gen, k_tbl);

	return ret ? es_fail(err, ret, "cannot derive the key table's key") : 0;
}

int es_keytable_encrypt(const struct es_keytable_info *info,
			const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t *plain,
			uint8_t *ct, struct es_err *err)
{
	uint8_t k_tbl[ES_KT_KEY_SIZE], nonce[ES_CRYPTO_GCM_NONCE_SIZE];
	uint8_t aad[SEG_AAD_SIZE];
	uint64_t nseg, k;
	size_t off = 0;
	int ret;

	ret = check_whole(info, err);
	if (ret)
		return ret;
	if (!tk || !plain || !ct)
		return es_fail(err, -EINVAL, "key table encryption: missing buffer");
	ret = table_key(info, tk, k_tbl, err);
	if (ret)
		return ret;
	nseg = es_keytable_nseg(info->entries);
	for (k = 0; k < nseg; k++) {
		size_t len = es_keytable_seg_len(info->entries, k);

		seg_nonce(k, nonce);
		seg_aad(info, k, aad);
		ret = es_crypto_aead_seal(k_tbl, nonce, aad, sizeof(aad),
					  plain + (size_t)k * ES_KT_SEG_SIZE, len,
					  ct + off, ct + off + len);
		if (ret) {
			/* no half-written table for a caller to store */
			es_crypto_wipe(ct, off);
			es_fail(err, ret, "cannot encrypt key table segment %llu",
				(unsigned long long)k);
			break;
		}
		off += len + ES_KT_TAG_SIZE;
	}
	es_crypto_wipe(k_tbl, sizeof(k_tbl));
	return ret;
}

/*
 * Segment k under K_tbl (derived by the caller, once per table), through
 * the AEAD engine a (NULL: a context of its own).  The callers have
 * checked the buffers.
 */
static int open_segment_key(const struct es_keytable_info *info, struct es_crypto_aead *a,
			    const uint8_t k_tbl[ES_KT_KEY_SIZE], uint64_t k,
			    const uint8_t *ct, const uint8_t d_k[ES_SHA256_DIGEST_SIZE],
			    uint8_t *plain, struct es_err *err)
{
	uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE];
	uint8_t aad[SEG_AAD_SIZE], d[ES_SHA256_DIGEST_SIZE];
	size_t len;
	int ret;

	if (k >= es_keytable_nseg(info->entries))
		return es_fail(err, -EINVAL,
			       "key table segment %llu is past the last one (%llu segments)",
			       (unsigned long long)k,
			       (unsigned long long)es_keytable_nseg(info->entries));
	len = es_keytable_seg_len(info->entries, k);
	seg_nonce(k, nonce);
	seg_aad(info, k, aad);
	ret = es_crypto_aead_open_with(a, k_tbl, nonce, aad, sizeof(aad), ct, len,
				       ct + len, plain);
	if (ret == -EBADMSG) {
		es_crypto_wipe(plain, len);
		return es_fail(err, -EBADMSG,
			       "key table segment %llu does not decrypt: wrong table key, or a table altered or of another image or generation",
			       (unsigned long long)k);
	}
	if (ret) {
		es_crypto_wipe(plain, len);
		return es_fail(err, ret, "cannot decrypt key table segment %llu",
			       (unsigned long long)k);
	}
	/*
	 * Every reader holds the table key and could have sealed this segment
	 * itself: only the digest the signature commits to says it is the
	 * builder's.
	 */
	ret = seg_digest(k, plain, len, d);
	if (!ret && es_crypto_memcmp(d, d_k, ES_SHA256_DIGEST_SIZE))
		ret = es_fail(err, -EBADMSG,
			      "key table segment %llu does not match its signed digest",
			      (unsigned long long)k);
	else if (ret)
		ret = es_fail(err, ret, "cannot hash key table segment %llu",
			      (unsigned long long)k);
	es_crypto_wipe(d, sizeof(d));
	if (ret)
		es_crypto_wipe(plain, len);
	return ret;
}

int es_keytable_open_segment_d(const struct es_keytable_info *info,
			       const uint8_t tk[ES_TABLE_KEY_SIZE], uint64_t k,
			       const uint8_t *ct, const uint8_t d_k[ES_SHA256_DIGEST_SIZE],
			       uint8_t *plain, struct es_err *err)
{
	uint8_t k_tbl[ES_KT_KEY_SIZE];
	int ret;

	ret = check_info(info, err);
	if (ret)
		return ret;
	if (!tk || !ct || !d_k || !plain)
		return es_fail(err, -EINVAL, "key table decryption: missing buffer");
	ret = table_key(info, tk, k_tbl, err);
	if (ret)
		return ret;
	ret = open_segment_key(info, NULL, k_tbl, k, ct, d_k, plain, err);
	es_crypto_wipe(k_tbl, sizeof(k_tbl));
	return ret;
}

int es_keytable_open_segment(const struct es_keytable_info *info,
			     const uint8_t tk[ES_TABLE_KEY_SIZE], uint64_t k,
			     const uint8_t *ct, const uint8_t *digests,
			     uint8_t *plain, struct es_err *err)
{
	/* a k out of range is refused before its digest is looked at */
	bool in_range = info && digests && k < es_keytable_nseg(info->entries);

	return es_keytable_open_segment_d(info, tk, k, ct,
					  in_range ? digests + k * ES_SHA256_DIGEST_SIZE : digests,
					  plain, err);
}

int es_keytable_decrypt_range(const struct es_keytable_info *info, struct es_crypto_aead *a,
			      const uint8_t tk[ES_TABLE_KEY_SIZE], uint64_t first, uint64_t count,
			      const uint8_t *ct, const uint8_t *digests, uint8_t *plain,
			      struct es_err *err)
{
	uint8_t k_tbl[ES_KT_KEY_SIZE];
	uint64_t nseg, k;
	int ret;

	ret = check_whole(info, err);
	if (ret)
		return ret;
	if (!tk || !ct || !digests || !plain)
		return es_fail(err, -EINVAL, "key table decryption: missing buffer");
	nseg = es_keytable_nseg(info->entries);
	if (first > nseg || count > nseg - first)
		return es_fail(err, -EINVAL, "key table segments %llu+%llu are past the last one "
			       "(%llu segments)", (unsigned long long)first,
			       (unsigned long long)count, (unsigned long long)nseg);
	/* one K_tbl for every segment: derived once, wiped at the end */
	ret = table_key(info, tk, k_tbl, err);
	if (ret)
		return ret;
	for (k = first; k < first + count; k++) {
		/* every segment before the last is whole: stored back to back */
		ret = open_segment_key(info, a, k_tbl, k,
				       ct + (size_t)k * (ES_KT_SEG_SIZE + ES_KT_TAG_SIZE),
				       digests + k * ES_SHA256_DIGEST_SIZE,
				       plain + (size_t)k * ES_KT_SEG_SIZE, err);
		if (ret) {
			/* no secret of a range that failed */
			es_crypto_wipe(plain + (size_t)first * ES_KT_SEG_SIZE,
				       (size_t)(k - first) * ES_KT_SEG_SIZE);
			break;
		}
	}
	es_crypto_wipe(k_tbl, sizeof(k_tbl));
	return ret;
}

int es_keytable_decrypt_with(const struct es_keytable_info *info, struct es_crypto_aead *a,
			     const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t *ct,
			     const uint8_t *digests, uint8_t *plain, struct es_err *err)
{
	int ret = check_whole(info, err);

	if (ret)
		return ret;
	ret = es_keytable_decrypt_range(info, a, tk, 0, es_keytable_nseg(info->entries), ct,
					digests, plain, err);
	/* all or nothing: no secret of a table that failed */
	if (ret && plain)
		es_crypto_wipe(plain, (size_t)info->entries * ES_KT_ENTRY_SIZE);
	return ret;
}

int es_keytable_decrypt(const struct es_keytable_info *info,
			const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t *ct,
			const uint8_t *digests, uint8_t *plain,
			struct es_err *err)
{
	return es_keytable_decrypt_with(info, NULL, tk, ct, digests, plain, err);
}
