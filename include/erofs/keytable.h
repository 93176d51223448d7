/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Keyed convergent encryption: the derivations of ENCRYPTION.md §1 and the
 * encrypted key table of §2 (docs/FORMAT.md §3 has the bytes and the test
 * vectors).  Hosted and freestanding alike: everything goes through the
 * crypto backend (lib/crypto/backend.h); nothing here allocates.
 *
 * The key table's plaintext is an array of ES_KT_ENTRY_SIZE-byte entries:
 * entry 0 is the image's metadata key (64 bytes), entry i >= 1 the secret
 * of the (i-1)-th chunk of the chunk index (sorted by device, block), and
 * it names that chunk, so a reader that found the position by any search
 * checks that it has the right one:
 *
 *   secret[32] | le16 device | le16 0 | le32 0 | le64 block | 16 zero bytes
 *
 * The plaintext is cut into segments of ES_KT_SEG_SIZE bytes (the last one
 * may be shorter, a multiple of ES_KT_ENTRY_SIZE), each sealed on its own
 * with AES-256-GCM: ciphertext and 16-byte tag, segment after segment.
 */
#ifndef EROFS_KEYTABLE_H
#define EROFS_KEYTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/sha256.h"

#define ES_SUITE_NONE		0u
/* AES-256-XTS data and metadata, HMAC-SHA256 / HKDF-SHA512 derivations,
 * AES-256-GCM key table, Argon2id / X25519 / HKDF-SHA256 keyslots */
#define ES_SUITE_XTS_V1		1u

#define ES_DOMAIN_KEY_SIZE	32
#define ES_CHUNK_SECRET_SIZE	32
#define ES_CHUNK_KEY_SIZE	64	/* AES-256-XTS: data key | tweak key */
#define ES_CHUNK_ID_SIZE	32
#define ES_META_KEY_SIZE	64
#define ES_TABLE_KEY_SIZE	32	/* TK, what keyslots wrap */
#define ES_KT_KEY_SIZE		32	/* K_tbl, the AES-256-GCM key TK gives */
#define ES_KID_SIZE		32
#define ES_UUID_SIZE		16

#define ES_KT_ENTRY_SIZE	64
#define ES_KT_SEG_SIZE		4096	/* plaintext bytes per segment */
#define ES_KT_SEG_ENTRIES	(ES_KT_SEG_SIZE / ES_KT_ENTRY_SIZE)
#define ES_KT_TAG_SIZE		16
/*
 * The most entries a table may have: 1 + one per chunk, and a chunk is at
 * least one block of a 16-bit device with 32-bit block numbers.  Bounds
 * every size computed from a count read from an image (2^54 plaintext
 * bytes at most: no overflow in 64 bits).
 */
#define ES_KT_MAX_ENTRIES	((1ull << 48) + 1)

/*
 * L(x) of ENCRYPTION.md for a string literal x: "erofs-seal/v1/" x, and the
 * literal's terminating NUL is L's zero byte, so sizeof(ES_LABEL("kid"))
 * bytes are exactly L("kid").
 */
#define ES_LABEL(x)		("erofs-seal/v1/" x)

/* ---- ENCRYPTION.md §1 ---------------------------------------------------- */

/* s = HMAC-SHA256(K_domain, L("chunk") | u32le(suite) | u64le(len) | h),
 * h = SHA-256 of the plaintext chunk of len bytes. */
int es_derive_chunk_secret(const uint8_t domain[ES_DOMAIN_KEY_SIZE], uint32_t suite,
			   uint64_t len, const uint8_t h[ES_SHA256_DIGEST_SIZE],
			   uint8_t secret[ES_CHUNK_SECRET_SIZE]);
/* K = HKDF-Expand-SHA512(s, L("xts") | u32le(suite), 64); equal halves:
 * -EINVAL. */
int es_derive_chunk_key(const uint8_t secret[ES_CHUNK_SECRET_SIZE], uint32_t suite,
			uint8_t key[ES_CHUNK_KEY_SIZE]);
/* HMAC-SHA256(K_domain, L("chunk-id") | u32le(suite) | u64le(len) | h) */
int es_derive_chunk_id(const uint8_t domain[ES_DOMAIN_KEY_SIZE], uint32_t suite,
		       uint64_t len, const uint8_t h[ES_SHA256_DIGEST_SIZE],
		       uint8_t id[ES_CHUNK_ID_SIZE]);
/*
 * The same derivations through a reusable MAC engine of the crypto
 * backend (m may be NULL): a build derives a secret, an identifier and a
 * key for every chunk.  secret and id may each be NULL.
 */
struct es_crypto_mac;
int es_derive_chunk_with(struct es_crypto_mac *m, const uint8_t domain[ES_DOMAIN_KEY_SIZE],
			 uint32_t suite, uint64_t len, const uint8_t h[ES_SHA256_DIGEST_SIZE],
			 uint8_t secret[ES_CHUNK_SECRET_SIZE], uint8_t id[ES_CHUNK_ID_SIZE]);
int es_derive_chunk_key_with(struct es_crypto_mac *m,
			     const uint8_t secret[ES_CHUNK_SECRET_SIZE], uint32_t suite,
			     uint8_t key[ES_CHUNK_KEY_SIZE]);
/* HMAC-SHA256(K_domain, L("domain-check") | uuid) */
int es_derive_domain_check(const uint8_t domain[ES_DOMAIN_KEY_SIZE],
			   const uint8_t uuid[ES_UUID_SIZE],
			   uint8_t out[ES_SHA256_DIGEST_SIZE]);
/* kid = HMAC-SHA256(TK, L("kid")) */
int es_derive_kid(const uint8_t tk[ES_TABLE_KEY_SIZE], uint8_t kid[ES_KID_SIZE]);
/*
 * K_tbl = HKDF-Expand-SHA256(TK, L("table-key") | uuid | u32le(gen), 32):
 * what the es_keytable_* functions below derive for themselves; exposed
 * for the test vectors and for tools that must show their work.
 */
int es_derive_table_key(const uint8_t tk[ES_TABLE_KEY_SIZE],
			const uint8_t uuid[ES_UUID_SIZE], uint32_t gen,
			uint8_t k_tbl[ES_KT_KEY_SIZE]);

/* ---- ENCRYPTION.md §2: the key table ------------------------------------- */

struct es_keytable_info {
	uint8_t uuid[ES_UUID_SIZE];
	uint32_t suite;
	uint32_t gen;		/* generation: +1 at every re-encryption */
	uint64_t entries;	/* 1 + number of chunk secrets */
};

/*
 * Segments for a table of entries entries (0 when entries is 0).  These
 * three return 0 for more than ES_KT_MAX_ENTRIES entries (and seg_len for
 * k >= nseg): check a count read from an image before sizing anything.
 */
uint64_t es_keytable_nseg(uint64_t entries);
/* Plaintext bytes of segment k. */
size_t es_keytable_seg_len(uint64_t entries, uint64_t k);
/* Bytes of the whole ciphertext: every segment plus its tag. */
uint64_t es_keytable_ct_size(uint64_t entries);

/* Where entry i lives: its segment, and its byte offset in that segment's
 * plaintext (and, as segments are sealed in place, in its ciphertext). */
static inline uint64_t es_keytable_entry_seg(uint64_t i)
{
	return i / ES_KT_SEG_ENTRIES;
}

static inline size_t es_keytable_entry_off(uint64_t i)
{
	return (size_t)(i % ES_KT_SEG_ENTRIES) * ES_KT_ENTRY_SIZE;
}

/*
 * Fill entry i >= 1; entry 0 is the metadata key, copied as it is.
 * -ERANGE (entry zeroed) for a device above 65535: the entry has 16 bits
 * for it, as the chunk index has.
 */
int es_keytable_put_secret(uint8_t entry[ES_KT_ENTRY_SIZE],
			   const uint8_t secret[ES_CHUNK_SECRET_SIZE],
			   unsigned int device, uint64_t block);
/*
 * Check that entry i >= 1 is the one of the chunk at (device, block) and
 * that its reserved bytes are zero: -EBADMSG otherwise.  The chunk's
 * secret is then its first ES_CHUNK_SECRET_SIZE bytes.
 */
int es_keytable_check_entry(const uint8_t entry[ES_KT_ENTRY_SIZE],
			    unsigned int device, uint64_t block,
			    struct es_err *err);

/*
 * D_k for every segment (digests[k], ES_SHA256_DIGEST_SIZE bytes each) and
 * table_digest, from the whole plaintext (entries * ES_KT_ENTRY_SIZE bytes).
 */
int es_keytable_digests(const struct es_keytable_info *info, const uint8_t *plain,
			uint8_t *digests, uint8_t table_digest[ES_SHA256_DIGEST_SIZE]);
/*
 * The same digest over a D array read piece by piece: start, then
 * es_sha256_update() with D_0 ... D_{nseg-1} in order, then
 * es_sha256_final().
 */
struct es_sha256_ctx;
int es_keytable_digest_start(const struct es_keytable_info *info, struct es_sha256_ctx *ctx);
/* table_digest from the D array alone, to check a stored D array. */
int es_keytable_digest_of(const struct es_keytable_info *info, const uint8_t *digests,
			  uint8_t table_digest[ES_SHA256_DIGEST_SIZE]);

/*
 * Encrypt the whole table under TK (K_tbl derived from TK, uuid, gen);
 * ct receives es_keytable_ct_size() bytes (and must not overlap plain: the
 * tags shift the segments); after a failure, what it wrote is wiped.
 */
int es_keytable_encrypt(const struct es_keytable_info *info,
			const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t *plain,
			uint8_t *ct, struct es_err *err);
/*
 * Decrypt segment k (its ciphertext and tag: seg_len + ES_KT_TAG_SIZE
 * bytes at ct) into plain, then check it against digests[k]: -EBADMSG with
 * a message naming the segment when either fails, plain wiped.
 */
int es_keytable_open_segment(const struct es_keytable_info *info,
			     const uint8_t tk[ES_TABLE_KEY_SIZE], uint64_t k,
			     const uint8_t *ct, const uint8_t *digests,
			     uint8_t *plain, struct es_err *err);
/* The same with D_k alone (a reader that keeps no whole D array); ct may be plain. */
int es_keytable_open_segment_d(const struct es_keytable_info *info,
			       const uint8_t tk[ES_TABLE_KEY_SIZE], uint64_t k,
			       const uint8_t *ct, const uint8_t d_k[ES_SHA256_DIGEST_SIZE],
			       uint8_t *plain, struct es_err *err);
/*
 * Every segment through es_keytable_open_segment(): plain receives the
 * whole table (entries * ES_KT_ENTRY_SIZE bytes), or is wiped whole.
 */
int es_keytable_decrypt(const struct es_keytable_info *info,
			const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t *ct,
			const uint8_t *digests, uint8_t *plain,
			struct es_err *err);
/*
 * The same through an AEAD engine of lib/crypto/backend.h (hosted callers
 * that decrypt a whole table: one cipher context for every segment; NULL
 * is es_keytable_decrypt()).  K_tbl is derived once for the table.
 */
struct es_crypto_aead;
int es_keytable_decrypt_with(const struct es_keytable_info *info, struct es_crypto_aead *a,
			     const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t *ct,
			     const uint8_t *digests, uint8_t *plain, struct es_err *err);
/*
 * Segments [first, first + count) of es_keytable_decrypt_with()'s table,
 * for callers that decrypt parts of one table at once (each with its own
 * engine): ct, digests and plain are the whole table's.  After a failure
 * the range's plaintext is wiped, and the caller wipes the rest.
 */
int es_keytable_decrypt_range(const struct es_keytable_info *info, struct es_crypto_aead *a,
			      const uint8_t tk[ES_TABLE_KEY_SIZE], uint64_t first, uint64_t count,
			      const uint8_t *ct, const uint8_t *digests, uint8_t *plain,
			      struct es_err *err);

#endif
