// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The derivations of ENCRYPTION.md section 1 (and the table key of
 * section 2): every key and identifier that follows from the domain key or
 * the table key.  Messages are built in fixed-size stack buffers (each
 * input has a fixed length, so no concatenation is ambiguous) and wiped
 * afterwards: they hold plaintext digests or key material.  Freestanding:
 * no heap, nothing from the C library but memcpy.
 */
#include <errno.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keytable.h"

/* Copy L(x) for a string literal x to p; evaluates to its length. */
#define PUT_LABEL(p, x) \
	(memcpy((p), ES_LABEL(x), sizeof(ES_LABEL(x))), sizeof(ES_LABEL(x)))

/* The suites these derivations are defined for: only the first so far. */
static int check_suite(uint32_t suite)
{
	return suite == ES_SUITE_XTS_V1 ? 0 : -EINVAL;
}

/*
 * HMAC-SHA256(K_domain, label | u32le(suite) | u64le(len) | h): the chunk
 * secret and the keyed chunk identifier differ only in their label.
 */
static int chunk_mac(struct es_crypto_mac *m, const uint8_t domain[ES_DOMAIN_KEY_SIZE],
		     int is_id,
		     uint32_t suite, uint64_t len,
		     const uint8_t h[ES_SHA256_DIGEST_SIZE],
		     uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	uint8_t msg[sizeof(ES_LABEL("chunk-id")) + 4 + 8 + ES_SHA256_DIGEST_SIZE];
	size_t n;
	int ret;

	if (!domain || !h || !out)
		return -EINVAL;
	ret = check_suite(suite);
	if (ret)
		return ret;
	n = is_id ? PUT_LABEL(msg, "chunk-id") : PUT_LABEL(msg, "chunk");
	es_put32(msg + n, suite);
	es_put64(msg + n + 4, len);
	memcpy(msg + n + 12, h, ES_SHA256_DIGEST_SIZE);
	n += 12 + ES_SHA256_DIGEST_SIZE;
	ret = es_crypto_mac(m, ES_CRYPTO_SHA256, domain, ES_DOMAIN_KEY_SIZE, msg, n, out);
	/* h confirms a guessed plaintext: it is as secret as the chunk */
	es_crypto_wipe(msg, sizeof(msg));
	return ret;
}

int es_derive_chunk_secret(const uint8_t domain[ES_DOMAIN_KEY_SIZE], uint32_t suite,
			   uint64_t len, const uint8_t h[ES_SHA256_DIGEST_SIZE],
			   uint8_t secret[ES_CHUNK_SECRET_SIZE])
{
	return chunk_mac(NULL, domain, 0, suite, len, h, secret);
}

int es_derive_chunk_id(const uint8_t domain[ES_DOMAIN_KEY_SIZE], uint32_t suite,
		       uint64_t len, const uint8_t h[ES_SHA256_DIGEST_SIZE],
		       uint8_t id[ES_CHUNK_ID_SIZE])
{
	return chunk_mac(NULL, domain, 1, suite, len, h, id);
}

int es_derive_chunk_with(struct es_crypto_mac *m, const uint8_t domain[ES_DOMAIN_KEY_SIZE],
			 uint32_t suite, uint64_t len, const uint8_t h[ES_SHA256_DIGEST_SIZE],
			 uint8_t secret[ES_CHUNK_SECRET_SIZE], uint8_t id[ES_CHUNK_ID_SIZE])
{
	int ret = 0;

	if (secret)
		ret = chunk_mac(m, domain, 0, suite, len, h, secret);
	if (!ret && id)
		ret = chunk_mac(m, domain, 1, suite, len, h, id);
	if (ret && secret)
		es_crypto_wipe(secret, ES_CHUNK_SECRET_SIZE);
	return ret;
}

int es_derive_chunk_key(const uint8_t secret[ES_CHUNK_SECRET_SIZE], uint32_t suite,
			uint8_t key[ES_CHUNK_KEY_SIZE])
{
	return es_derive_chunk_key_with(NULL, secret, suite, key);
}

int es_derive_chunk_key_with(struct es_crypto_mac *m,
			     const uint8_t secret[ES_CHUNK_SECRET_SIZE], uint32_t suite,
			     uint8_t key[ES_CHUNK_KEY_SIZE])
{
	uint8_t info[sizeof(ES_LABEL("xts")) + 4];
	size_t n;
	int ret;

	if (!secret || !key)
		return -EINVAL;
	ret = check_suite(suite);
	if (ret)
		return ret;
	n = PUT_LABEL(info, "xts");
	es_put32(info + n, suite);
	/* Expand only: s is already a uniformly random 32-byte key */
	ret = es_crypto_mac_expand(m, ES_CRYPTO_SHA512, secret, ES_CHUNK_SECRET_SIZE,
				   info, sizeof(info), key, ES_CHUNK_KEY_SIZE);
	if (ret)
		return ret;
	/*
	 * XTS needs two different keys (IEEE 1619).  Equal halves happen with
	 * probability 2^-256; refusing them costs nothing and means the data
	 * of such a chunk can never be encrypted under a weak key.
	 */
	if (!es_crypto_memcmp(key, key + ES_CHUNK_KEY_SIZE / 2, ES_CHUNK_KEY_SIZE / 2)) {
		es_crypto_wipe(key, ES_CHUNK_KEY_SIZE);
		return -EINVAL;
	}
	return 0;
}

int es_derive_domain_check(const uint8_t domain[ES_DOMAIN_KEY_SIZE],
			   const uint8_t uuid[ES_UUID_SIZE],
			   uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	uint8_t msg[sizeof(ES_LABEL("domain-check")) + ES_UUID_SIZE];
	size_t n;

	if (!domain || !uuid || !out)
		return -EINVAL;
	n = PUT_LABEL(msg, "domain-check");
	memcpy(msg + n, uuid, ES_UUID_SIZE);
	return es_crypto_hmac_sha256(domain, ES_DOMAIN_KEY_SIZE, msg, sizeof(msg), out);
}

int es_derive_kid(const uint8_t tk[ES_TABLE_KEY_SIZE], uint8_t kid[ES_KID_SIZE])
{
	if (!tk || !kid)
		return -EINVAL;
	return es_crypto_hmac_sha256(tk, ES_TABLE_KEY_SIZE, ES_LABEL("kid"),
				     sizeof(ES_LABEL("kid")), kid);
}

int es_derive_table_key(const uint8_t tk[ES_TABLE_KEY_SIZE],
			const uint8_t uuid[ES_UUID_SIZE], uint32_t gen,
			uint8_t k_tbl[ES_KT_KEY_SIZE])
{
	uint8_t info[sizeof(ES_LABEL("table-key")) + ES_UUID_SIZE + 4];
	size_t n;

	if (!tk || !uuid || !k_tbl)
		return -EINVAL;
	n = PUT_LABEL(info, "table-key");
	memcpy(info + n, uuid, ES_UUID_SIZE);
	es_put32(info + n + ES_UUID_SIZE, gen);
	return es_crypto_hkdf_expand(ES_CRYPTO_SHA256, tk, ES_TABLE_KEY_SIZE,
				     info, sizeof(info), k_tbl, ES_KT_KEY_SIZE);
}
