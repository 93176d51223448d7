// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * HMAC (RFC 2104) with SHA-256 or SHA-512 and HKDF (RFC 5869) in plain C,
 * for the freestanding boot build: es_crypto_hmac_sha256, es_crypto_mac,
 * es_crypto_mac_expand, es_crypto_hkdf and es_crypto_hkdf_expand of
 * lib/crypto/backend.h over sha256_portable.c and sha512_portable.c.  No
 * allocation; every intermediate that derives from a key is wiped.
 * Hosted builds link lib/crypto/openssl.c instead, never both.
 */
#include <errno.h>
#include <string.h>
#include "crypto/backend.h"
#include "crypto/sha512.h"

struct hash_ctx {
	enum es_crypto_hash hash;
	union {
		struct es_sha256_ctx sha256;
		struct es_sha512_ctx sha512;
	} u;
};

/* One key's HMAC: inner and outer hashes, each past its padded key block. */
struct hmac_ctx {
	struct hash_ctx inner, outer;
};

/* Digest size of hash, 0 for an unknown one. */
static size_t hash_size(enum es_crypto_hash hash)
{
	return hash == ES_CRYPTO_SHA256 ? ES_SHA256_DIGEST_SIZE :
	       hash == ES_CRYPTO_SHA512 ? ES_SHA512_DIGEST_SIZE : 0;
}

static void hash_init(struct hash_ctx *c, enum es_crypto_hash hash)
{
	c->hash = hash;
	if (hash == ES_CRYPTO_SHA512)
		es_sha512_init(&c->u.sha512);
	else
		es_sha256_init(&c->u.sha256);	/* the portable one never fails */
}

static void hash_update(struct hash_ctx *c, const void *data, size_t len)
{
	if (c->hash == ES_CRYPTO_SHA512)
		es_sha512_update(&c->u.sha512, data, len);
	else
		es_sha256_update(&c->u.sha256, data, len);
}

/* Write the digest and wipe the context. */
static void hash_final(struct hash_ctx *c, uint8_t *out)
{
	if (c->hash == ES_CRYPTO_SHA512)
		es_sha512_final(&c->u.sha512, out);
	else
		es_sha256_final(&c->u.sha256, out);
}

static void hmac_init(struct hmac_ctx *h, enum es_crypto_hash hash,
		      const void *key, size_t key_len)
{
	size_t block = hash == ES_CRYPTO_SHA512 ? ES_SHA512_BLOCK_SIZE : ES_SHA256_BLOCK_SIZE;
	uint8_t pad[ES_SHA512_BLOCK_SIZE];

	/* the key zero-padded to a block; a longer one is hashed first */
	memset(pad, 0, sizeof(pad));
	if (key_len > block) {
		hash_init(&h->inner, hash);
		hash_update(&h->inner, key, key_len);
		hash_final(&h->inner, pad);
	} else if (key_len) {
		memcpy(pad, key, key_len);
	}
	for (size_t i = 0; i < block; i++)
		pad[i] ^= 0x36;
	hash_init(&h->inner, hash);
	hash_update(&h->inner, pad, block);
	for (size_t i = 0; i < block; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	hash_init(&h->outer, hash);
	hash_update(&h->outer, pad, block);
	es_crypto_wipe(pad, sizeof(pad));
}

/* Write the MAC and wipe h. */
static void hmac_final(struct hmac_ctx *h, uint8_t *out)
{
	uint8_t inner[ES_SHA512_DIGEST_SIZE];

	hash_final(&h->inner, inner);
	hash_update(&h->outer, inner, hash_size(h->outer.hash));
	hash_final(&h->outer, out);
	es_crypto_wipe(inner, sizeof(inner));
	es_crypto_wipe(h, sizeof(*h));
}

/*
 * The engine is what the OpenSSL backend needs to avoid fetching HMAC on
 * every call; here there is nothing to fetch, so m is ignored (and
 * es_crypto_mac_new, which allocates, exists only hosted).
 */
int es_crypto_mac(struct es_crypto_mac *m, enum es_crypto_hash hash, const void *key,
		  size_t key_len, const void *msg, size_t len, void *out)
{
	struct hmac_ctx h;

	(void)m;
	if (!hash_size(hash) || (!key && key_len) || (!msg && len) || !out)
		return -EINVAL;
	hmac_init(&h, hash, key, key_len);
	hash_update(&h.inner, msg, len);
	hmac_final(&h, out);
	return 0;
}

int es_crypto_hmac_sha256(const void *key, size_t key_len,
			  const void *msg, size_t len,
			  uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	return es_crypto_mac(NULL, ES_CRYPTO_SHA256, key, key_len, msg, len, out);
}

/* HKDF-Expand: T(i) = HMAC(prk, T(i-1) | info | i), out = T(1) | T(2) ... */
static int expand(enum es_crypto_hash hash, const void *prk, size_t prk_len,
		  const void *info, size_t info_len, uint8_t *out, size_t out_len,
		  size_t max_len)
{
	size_t size = hash_size(hash), done = 0;
	struct hmac_ctx keyed, h;
	uint8_t t[ES_SHA512_DIGEST_SIZE];

	if (!size || !prk || !prk_len || (!info && info_len) ||
	    info_len > ES_CRYPTO_HKDF_INFO_MAX || !out || !out_len ||
	    out_len > max_len * size)
		return -EINVAL;
	/* the key's padded blocks once, copied for each T(i) */
	hmac_init(&keyed, hash, prk, prk_len);
	for (uint8_t i = 1; done < out_len; i++) {
		size_t n = out_len - done < size ? out_len - done : size;

		h = keyed;
		if (i > 1)
			hash_update(&h.inner, t, size);
		hash_update(&h.inner, info, info_len);
		hash_update(&h.inner, &i, 1);
		hmac_final(&h, t);
		memcpy(out + done, t, n);
		done += n;
	}
	es_crypto_wipe(&keyed, sizeof(keyed));
	es_crypto_wipe(t, sizeof(t));
	return 0;
}

int es_crypto_mac_expand(struct es_crypto_mac *m, enum es_crypto_hash hash,
			 const void *prk, size_t prk_len, const void *info, size_t info_len,
			 void *out, size_t out_len)
{
	(void)m;
	return expand(hash, prk, prk_len, info, info_len, out, out_len, 1);
}

int es_crypto_hkdf_expand(enum es_crypto_hash hash, const void *prk,
			  size_t prk_len, const void *info, size_t info_len,
			  void *out, size_t out_len)
{
	return expand(hash, prk, prk_len, info, info_len, out, out_len, 255);
}

int es_crypto_hkdf(enum es_crypto_hash hash, const void *salt,
		   size_t salt_len, const void *ikm, size_t ikm_len,
		   const void *info, size_t info_len, void *out,
		   size_t out_len)
{
	uint8_t prk[ES_SHA512_DIGEST_SIZE];
	int ret;

	if (!ikm || !ikm_len || (!salt && salt_len))
		return -EINVAL;
	/*
	 * Extract: PRK = HMAC(salt, ikm).  An empty salt means hash-length
	 * zeros (RFC 5869 section 2.2), which HMAC pads to the same key
	 * block as no key at all.
	 */
	ret = es_crypto_mac(NULL, hash, salt, salt_len, ikm, ikm_len, prk);
	if (!ret)
		ret = expand(hash, prk, hash_size(hash), info, info_len, out, out_len, 255);
	es_crypto_wipe(prk, sizeof(prk));
	return ret;
}
