/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The crypto backend: the one interface through which libcore hashes,
 * signs and verifies, draws random bytes, encrypts and derives keys, and
 * wipes secrets.  Outside lib/crypto/ nothing includes an OpenSSL header.
 *
 * Implementations (link one of each pair, as cryptsetup does):
 *
 *   lib/crypto/openssl.c          hosted builds (libcore): everything below
 *                                 but Argon2id and X25519
 *   lib/crypto/sha256_openssl.c   SHA-256 on OpenSSL EVP (SHA-NI, ...)
 *   lib/crypto/argon2.c           Argon2id on libargon2 (keyslots)
 *   lib/crypto/x25519.c           X25519 on OpenSSL (recipient keyslots)
 *
 *   lib/crypto/portable.c         freestanding: wipe, constant-time compare
 *   lib/crypto/sha256_portable.c  freestanding SHA-256
 *   lib/crypto/sha512_portable.c  freestanding SHA-512 (internal: sha512.h)
 *   lib/crypto/hmac_portable.c    freestanding HMAC-SHA256/512, HKDF
 *   lib/crypto/aes_portable.c     freestanding AES-256 block cipher (internal:
 *                                 aes_portable.h; see there for timing)
 *   lib/crypto/xts_portable.c     freestanding AES-256-XTS
 *   lib/crypto/gcm_portable.c     freestanding AES-256-GCM
 *   lib/crypto/ed25519_portable.c freestanding Ed25519 verification
 *
 * The portable files are what the boot reader links (no heap, no libc but
 * memcpy/memset/memmove/memcmp, no writable globals); libcore links none of
 * them.  Random bytes, signing, key objects, Argon2id, X25519 and the MAC
 * engine's es_crypto_mac_new/free (which allocate) stay hosted-only.
 *
 * Conventions: functions return 0 or a negative errno value; they never
 * print, exit or keep global state, and leave the calling thread's OpenSSL
 * error queue as they found it.  Lengths that OpenSSL takes as an int are
 * refused above INT_MAX (-EFBIG).  The symmetric primitives report only a
 * code (-EINVAL bad arguments, -ENOMEM, -EIO a library failure, -EBADMSG an
 * authentication failure): their callers know what was being decrypted and
 * say so.  The signature primitives take a struct es_err, like the code
 * above them.  Output buffers may alias input buffers exactly (in place),
 * never partially.  Whatever an operation that failed may have written to
 * an output buffer has been wiped.
 */
#ifndef EROFS_CRYPTO_BACKEND_H
#define EROFS_CRYPTO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/sha256.h"	/* hashing: es_sha256_*(), one-shot and streaming */

/* ---- memory (portable and hosted) ------------------------------------- */

/*
 * Overwrite len bytes at p with zeros in a way the compiler may not drop
 * as a dead store: for every key, passphrase, chunk secret or plaintext
 * that is about to be freed or go out of scope, on every path.
 * OPENSSL_cleanse() hosted, a volatile loop portable.  p may be NULL when
 * len is 0.
 */
void es_crypto_wipe(void *p, size_t len);

/*
 * Compare len bytes in time that depends only on len: 0 when equal,
 * nonzero otherwise (no order).  For every value derived from a secret
 * (tags, key ids, digests of key material).
 */
int es_crypto_memcmp(const void *a, const void *b, size_t len);

/* ---- random bytes (hosted) ------------------------------------------- */

/* Public randomness: UUIDs, salts, nonces.  OpenSSL's RAND_bytes(). */
int es_crypto_random(void *buf, size_t len);
/* Key material: table keys, metadata keys.  RAND_priv_bytes(). */
int es_crypto_random_secret(void *buf, size_t len);

/* ---- signatures: sign / verify by key type ------------------------------ */

/* What a key signs with; the scheme follows from the type alone. */
enum es_crypto_key_type {
	ES_CRYPTO_KEY_UNSUPPORTED = 0,	/* DSA, Ed448, RSA-PSS-only, ... */
	ES_CRYPTO_KEY_RSA,		/* RSASSA-PKCS1-v1_5 with SHA-256 */
	ES_CRYPTO_KEY_EC,		/* ECDSA with SHA-256, DER signature */
	ES_CRYPTO_KEY_ED25519,		/* pure Ed25519 (RFC 8032), 64 bytes */
};

/*
 * A public or private key.  Opaque: in the OpenSSL backend it is an
 * EVP_PKEY (lib/crypto/sign_internal.h converts); the portable one will
 * hold a raw Ed25519 public key.
 */
struct es_crypto_pkey;

enum es_crypto_key_type es_crypto_pkey_type(const struct es_crypto_pkey *key);
/* "rsa", "ecdsa", "ed25519", or "unsupported". */
const char *es_crypto_key_type_name(enum es_crypto_key_type type);

/* Key id: SHA-256 of the key's DER SubjectPublicKeyInfo. */
int es_crypto_pkey_id(const struct es_crypto_pkey *key,
		      uint8_t id[ES_SHA256_DIGEST_SIZE], struct es_err *err);

/*
 * Sign msg[0..len) with a private key, in the key type's scheme (above).
 * *sig receives a malloc'ed signature of *sig_len bytes (free() it).  RSA
 * and Ed25519 signatures are deterministic, ECDSA ones are not.
 */
int es_crypto_sign(const struct es_crypto_pkey *key, const uint8_t *msg,
		   size_t len, uint8_t **sig, size_t *sig_len,
		   struct es_err *err);

/*
 * Check sig over msg[0..len) with a public (or private) key, in the key
 * type's scheme.  -EBADMSG when it does not verify or cannot be parsed,
 * with the message "<label> does not match the message" (and the
 * library's reason, when it has one); label names the signature, e.g.
 * "ed25519 signature by ed25519 key 0123456789abcdef".
 */
int es_crypto_verify(const struct es_crypto_pkey *key, const uint8_t *sig,
		     size_t sig_len, const uint8_t *msg, size_t len,
		     const char *label, struct es_err *err);

/* ---- AES-256-XTS, one 4 KiB unit at a time ------------------------------ */

#define ES_CRYPTO_XTS_KEY_SIZE		64	/* two AES-256 keys */
#define ES_CRYPTO_XTS_TWEAK_SIZE	16
#define ES_CRYPTO_XTS_UNIT_SIZE		4096
#define ES_CRYPTO_AES_BLOCK_SIZE	16

enum es_crypto_dir {
	ES_CRYPTO_DECRYPT = 0,
	ES_CRYPTO_ENCRYPT = 1,
};

/*
 * A context for one direction.  Set a key, then en/decrypt any number of
 * units with their tweaks; setting the next key (the next chunk's) reuses
 * the context without allocating.  Stack allocation is fine; every
 * successful init must be matched by a release, which wipes the key
 * schedule.  One context per thread.
 */
struct es_crypto_xts {
	union {
		struct {
			void *cipher_ctx;	/* EVP_CIPHER_CTX * */
		} evp;				/* lib/crypto/openssl.c */
		struct {
			uint32_t data[60];	/* AES-256 schedule of key1 */
			uint32_t tweak[60];	/* and of key2 */
		} portable;			/* lib/crypto/xts_portable.c */
	} u;
	enum es_crypto_dir dir;
	bool keyed;
};

int es_crypto_xts_init(struct es_crypto_xts *x, enum es_crypto_dir dir);
/*
 * Key1 (data) ‖ key2 (tweak).  Two equal halves are refused (-EINVAL):
 * IEEE 1619 / SP 800-38E require them to differ.  After a failure the
 * context has no key until the next successful call.
 */
int es_crypto_xts_setkey(struct es_crypto_xts *x,
			 const uint8_t key[ES_CRYPTO_XTS_KEY_SIZE]);
/*
 * En- or decrypt one data unit of len bytes: a multiple of 16 from 16 up
 * to ES_CRYPTO_XTS_UNIT_SIZE (erofs-seal always uses whole 4 KiB units;
 * shorter ones exist for the IEEE 1619 test vectors).  No ciphertext
 * stealing.  out may be in.
 */
int es_crypto_xts_crypt(struct es_crypto_xts *x,
			const uint8_t tweak[ES_CRYPTO_XTS_TWEAK_SIZE],
			const void *in, void *out, size_t len);
/* Harmless on a zeroed context and after a failed init. */
void es_crypto_xts_release(struct es_crypto_xts *x);

/* tweak = u128le(index): a unit index inside a chunk, or a block number. */
static inline void es_crypto_xts_tweak(uint64_t index,
				       uint8_t tweak[ES_CRYPTO_XTS_TWEAK_SIZE])
{
	for (unsigned int i = 0; i < ES_CRYPTO_XTS_TWEAK_SIZE; i++)
		tweak[i] = i < 8 ? (uint8_t)(index >> (8 * i)) : 0;
}

/* ---- AES-256-GCM ------------------------------------------------------ */

#define ES_CRYPTO_GCM_KEY_SIZE		32
#define ES_CRYPTO_GCM_NONCE_SIZE	12
#define ES_CRYPTO_GCM_TAG_SIZE		16

/*
 * Encrypt in[0..len) to out and authenticate it together with
 * aad[0..aad_len); the 16-byte tag goes to tag.  A (key, nonce) pair must
 * never encrypt twice: the caller's nonce scheme guarantees it.
 */
int es_crypto_aead_seal(const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			const void *aad, size_t aad_len,
			const void *in, size_t len, void *out,
			uint8_t tag[ES_CRYPTO_GCM_TAG_SIZE]);
/*
 * Check and decrypt.  -EBADMSG when the tag does not verify (wrong key,
 * nonce, associated data, ciphertext or tag); out is then all zeros, so
 * no unauthenticated plaintext is ever released.
 */
int es_crypto_aead_open(const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			const void *aad, size_t aad_len,
			const void *in, size_t len,
			const uint8_t tag[ES_CRYPTO_GCM_TAG_SIZE], void *out);

/*
 * An AEAD engine: AES-256-GCM fetched once and one cipher context reused,
 * for code that opens many messages in a row (a key table's segments:
 * fetching and allocating per segment cost more than decrypting it).  Not
 * shared between threads.  Between calls the context holds the key
 * schedule of the last key used (and GHASH's H under it): free the engine
 * as soon as the run of messages is done, which cleanses it.  Hosted only
 * (it allocates): the portable backend has none, and a freestanding
 * es_crypto_aead_open_with() is es_crypto_aead_open().
 * es_crypto_aead_open_with(NULL, ...) is es_crypto_aead_open().
 */
struct es_crypto_aead;
int es_crypto_aead_new(struct es_crypto_aead **out);
void es_crypto_aead_free(struct es_crypto_aead *a);
#ifdef ES_FREESTANDING
/* no engine in the boot reader: the context-free open, inlined (every
   byte of its code counts there) */
static inline int es_crypto_aead_open_with(struct es_crypto_aead *a,
					   const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
					   const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
					   const void *aad, size_t aad_len,
					   const void *in, size_t len,
					   const uint8_t tag[ES_CRYPTO_GCM_TAG_SIZE], void *out)
{
	(void)a;
	return es_crypto_aead_open(key, nonce, aad, aad_len, in, len, tag, out);
}
#else
int es_crypto_aead_open_with(struct es_crypto_aead *a,
			     const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			     const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			     const void *aad, size_t aad_len,
			     const void *in, size_t len,
			     const uint8_t tag[ES_CRYPTO_GCM_TAG_SIZE], void *out);
#endif

/* ---- MAC and key derivation --------------------------------------------- */

enum es_crypto_hash {
	ES_CRYPTO_SHA256 = 1,
	ES_CRYPTO_SHA512 = 2,
};

#define ES_CRYPTO_HKDF_INFO_MAX	1024	/* bytes of info, in every backend */

/* HMAC-SHA256(key, msg) (RFC 2104); key_len may be 0. */
int es_crypto_hmac_sha256(const void *key, size_t key_len,
			  const void *msg, size_t len,
			  uint8_t out[ES_SHA256_DIGEST_SIZE]);

/*
 * A MAC engine: HMAC with SHA-256 or SHA-512, the algorithm fetched once,
 * for code that computes many MACs under changing keys (a build derives
 * three keys per 4 KiB chunk; fetching per call would cost more than the
 * hashing).  Not shared between threads.  Hosted only (it allocates): the
 * portable backend has nothing to fetch, ignores m and takes NULL.
 */
struct es_crypto_mac;
int es_crypto_mac_new(struct es_crypto_mac **out);
void es_crypto_mac_free(struct es_crypto_mac *m);
/*
 * HMAC-<hash>(key, msg) into out (the hash's length).  m may be NULL: a
 * one-shot computation.  key_len may be 0.
 */
int es_crypto_mac(struct es_crypto_mac *m, enum es_crypto_hash hash, const void *key,
		  size_t key_len, const void *msg, size_t len, void *out);
/*
 * HKDF-Expand through the engine (m may be NULL), for outputs of at most
 * one hash length: T(1) = HMAC(prk, info | 0x01), cut to out_len.
 */
int es_crypto_mac_expand(struct es_crypto_mac *m, enum es_crypto_hash hash,
			 const void *prk, size_t prk_len, const void *info, size_t info_len,
			 void *out, size_t out_len);

/*
 * HKDF (RFC 5869), Extract then Expand: out_len bytes from ikm (at least
 * one byte), salt (may be empty: then hash-length zeros, as the RFC says)
 * and info (up to ES_CRYPTO_HKDF_INFO_MAX bytes).  1 <= out_len <= 255
 * hash lengths.
 */
int es_crypto_hkdf(enum es_crypto_hash hash, const void *salt,
		   size_t salt_len, const void *ikm, size_t ikm_len,
		   const void *info, size_t info_len, void *out,
		   size_t out_len);

/*
 * HKDF-Expand alone, for a prk that is already uniformly random (a chunk
 * secret, a table key): ENCRYPTION.md's "Expand only, no Extract".
 */
int es_crypto_hkdf_expand(enum es_crypto_hash hash, const void *prk,
			  size_t prk_len, const void *info, size_t info_len,
			  void *out, size_t out_len);

/* ---- Ed25519 verification (RFC 8032) ------------------------------------ */

#define ES_CRYPTO_ED25519_KEY_SIZE	32
#define ES_CRYPTO_ED25519_SIG_SIZE	64

/*
 * Check a pure Ed25519 signature (R | S) over msg[0..len) with a raw public
 * key, for the boot reader, which has no key objects: 0 when it verifies,
 * -EBADMSG when it does not, -EINVAL for a malformed encoding: S not below
 * the group order L, or (portable backend) a public key that is not a
 * curve point, which the OpenSSL backend cannot tell from a wrong
 * signature and answers -EBADMSG.  Which inputs verify is exactly what
 * OpenSSL accepts, in both backends: R must be the canonical encoding of
 * [S]B - [k]A; a public key with y >= p or with the sign bit on x = 0
 * decodes as OpenSSL decodes it (reduced), so the boot reader and the
 * hosted verifier never disagree about an image.
 */
int es_crypto_ed25519_verify(const uint8_t pub[ES_CRYPTO_ED25519_KEY_SIZE],
			     const void *msg, size_t len,
			     const uint8_t sig[ES_CRYPTO_ED25519_SIG_SIZE]);

/* Whether a 32-byte little-endian scalar is below L (RFC 8032 5.1.7). */
static inline bool es_crypto_ed25519_scalar_reduced(const uint8_t s[32])
{
	/* L = 2^252 + 27742317777372353535851937790883648493 */
	static const uint8_t order[32] = {
		0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
		0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		[31] = 0x10,
	};

	for (int i = 31; i >= 0; i--)
		if (s[i] != order[i])
			return s[i] < order[i];
	return false;
}

/* ---- Argon2id (hosted: lib/crypto/argon2.c, on libargon2) --------------- */

/*
 * Argon2id (RFC 9106, version 0x13) for passphrase keyslots.  The costs
 * come from a key area, which anyone can edit, so they are bounded here
 * before anything is allocated (ENCRYPTION.md section 3): at most
 * ES_CRYPTO_ARGON2_MAX_TIME iterations, ES_CRYPTO_ARGON2_MAX_LANES lanes
 * and es_crypto_argon2id_max_memory_kib() KiB; at least one iteration,
 * one lane and 8 KiB per lane.  Outside them: -ERANGE, nothing computed.
 * The passphrase and secret are copied into buffers that libargon2 clears
 * (ARGON2_FLAG_CLEAR_PASSWORD | ARGON2_FLAG_CLEAR_SECRET), then freed; the
 * caller's own buffers are left as they were.  At most
 * min(lanes, online CPUs) threads.
 */
#define ES_CRYPTO_ARGON2_MAX_TIME	100u
#define ES_CRYPTO_ARGON2_MAX_LANES	16u
#define ES_CRYPTO_ARGON2_MAX_MEMORY_KIB	(4u << 20)	/* 4 GiB */
#define ES_CRYPTO_ARGON2_MIN_SALT	8u

struct es_crypto_argon2id_params {
	uint32_t t_cost;		/* iterations */
	uint32_t m_cost_kib;		/* memory, KiB */
	uint32_t lanes;			/* parallelism */
};

/* min(ES_CRYPTO_ARGON2_MAX_MEMORY_KIB, half the physical memory), in KiB. */
uint32_t es_crypto_argon2id_max_memory_kib(void);
/* 0 when params are inside the bounds above, else -ERANGE. */
int es_crypto_argon2id_check(const struct es_crypto_argon2id_params *params);

int es_crypto_argon2id(const void *passphrase, size_t passphrase_len,
		       const void *salt, size_t salt_len,
		       const struct es_crypto_argon2id_params *params,
		       void *out, size_t out_len);
/*
 * The same with RFC 9106's optional secret key K and associated data X
 * (either may be empty), for its published test vector; keyslots use
 * neither.
 */
int es_crypto_argon2id_ext(const void *passphrase, size_t passphrase_len,
			   const void *salt, size_t salt_len,
			   const void *secret, size_t secret_len,
			   const void *ad, size_t ad_len,
			   const struct es_crypto_argon2id_params *params,
			   void *out, size_t out_len);

/* ---- X25519 (RFC 7748; hosted: lib/crypto/x25519.c) ---------------------- */

#define ES_CRYPTO_X25519_KEY_SIZE	32

/* A fresh key pair: priv from RAND_priv_bytes (through OpenSSL's keygen). */
int es_crypto_x25519_keygen(uint8_t priv[ES_CRYPTO_X25519_KEY_SIZE],
			    uint8_t pub[ES_CRYPTO_X25519_KEY_SIZE]);
/* The public key of a raw private key. */
int es_crypto_x25519_public(const uint8_t priv[ES_CRYPTO_X25519_KEY_SIZE],
			    uint8_t pub[ES_CRYPTO_X25519_KEY_SIZE]);
/*
 * X25519(priv, peer): the shared secret.  An all-zero result (peer is a
 * low-order point, RFC 7748 section 6.1) is refused with -EBADMSG and
 * shared wiped.
 */
int es_crypto_x25519(const uint8_t priv[ES_CRYPTO_X25519_KEY_SIZE],
		     const uint8_t peer[ES_CRYPTO_X25519_KEY_SIZE],
		     uint8_t shared[ES_CRYPTO_X25519_KEY_SIZE]);
/*
 * Keys from PEM files, as `openssl genpkey -algorithm X25519` and
 * `openssl pkey -pubout` write them: a PUBLIC KEY file (a private key is
 * refused: a recipient is public), or an unencrypted PRIVATE KEY file
 * (pub receives its public half).  -EINVAL for a key of another type.
 */
int es_crypto_x25519_load_public(const char *path,
				 uint8_t pub[ES_CRYPTO_X25519_KEY_SIZE],
				 struct es_err *err);
int es_crypto_x25519_load_private(const char *path,
				  uint8_t priv[ES_CRYPTO_X25519_KEY_SIZE],
				  uint8_t pub[ES_CRYPTO_X25519_KEY_SIZE],
				  struct es_err *err);

#endif
