// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * X25519 (RFC 7748) on OpenSSL 3, for recipient keyslots: raw 32-byte keys
 * in and out, and the PEM files `openssl genpkey -algorithm X25519` writes.
 * See lib/crypto/backend.h.
 */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "crypto/sign_internal.h"

#define KEY_SIZE ES_CRYPTO_X25519_KEY_SIZE

/* The raw public half of an X25519 EVP_PKEY. */
static int raw_public(EVP_PKEY *pk, uint8_t pub[KEY_SIZE])
{
	size_t len = KEY_SIZE;

	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) != 1 || len != KEY_SIZE)
		return -EIO;
	return 0;
}

/* The raw private half; wiped on failure. */
static int raw_private(EVP_PKEY *pk, uint8_t priv[KEY_SIZE])
{
	size_t len = KEY_SIZE;

	if (EVP_PKEY_get_raw_private_key(pk, priv, &len) != 1 || len != KEY_SIZE) {
		es_crypto_wipe(priv, KEY_SIZE);
		return -EIO;
	}
	return 0;
}

int es_crypto_x25519_keygen(uint8_t priv[KEY_SIZE], uint8_t pub[KEY_SIZE])
{
	EVP_PKEY *pk;
	int ret;

	if (!priv || !pub)
		return -EINVAL;
	ERR_set_mark();
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	ret = pk ? raw_private(pk, priv) : -EIO;
	if (!ret)
		ret = raw_public(pk, pub);
	if (ret)
		es_crypto_wipe(priv, KEY_SIZE);
	EVP_PKEY_free(pk);	/* cleanses the key */
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_x25519_public(const uint8_t priv[KEY_SIZE], uint8_t pub[KEY_SIZE])
{
	EVP_PKEY *pk;
	int ret;

	if (!priv || !pub)
		return -EINVAL;
	ERR_set_mark();
	pk = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, KEY_SIZE);
	ret = pk ? raw_public(pk, pub) : -EIO;
	EVP_PKEY_free(pk);
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_x25519(const uint8_t priv[KEY_SIZE], const uint8_t peer[KEY_SIZE],
		     uint8_t shared[KEY_SIZE])
{
	EVP_PKEY *own = NULL, *other = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = KEY_SIZE;
	int ret = -EIO;

	if (!priv || !peer || !shared)
		return -EINVAL;
	ERR_set_mark();
	own = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, KEY_SIZE);
	other = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer, KEY_SIZE);
	if (!own || !other)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
	if (!ctx) {
		ret = -ENOMEM;
		goto out;
	}
	if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, other) != 1)
		goto out;
	/* OpenSSL refuses an all-zero result itself; checked again below */
	if (EVP_PKEY_derive(ctx, shared, &len) != 1) {
		ret = -EBADMSG;
		goto out;
	}
	ret = len == KEY_SIZE ? 0 : -EIO;
	if (!ret && es_is_zero(shared, KEY_SIZE))
		ret = -EBADMSG;
out:
	if (ret)
		es_crypto_wipe(shared, KEY_SIZE);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(own);
	EVP_PKEY_free(other);
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_x25519_load_public(const char *path, uint8_t pub[KEY_SIZE], struct es_err *err)
{
	EVP_PKEY *pk = NULL;
	int ret;

	ret = es_pem_load_pubkey(path, &pk, err);
	if (ret)
		return ret;
	ERR_set_mark();
	if (!EVP_PKEY_is_a(pk, "X25519"))
		ret = es_fail(err, -EINVAL, "%s: a %s key, not an X25519 public key",
			      ES_PATH(path), EVP_PKEY_get0_type_name(pk) ?
			      EVP_PKEY_get0_type_name(pk) : "different");
	else if (raw_public(pk, pub))
		ret = es_ossl_fail(err, -EIO, "%s: cannot read the X25519 key", ES_PATH(path));
	EVP_PKEY_free(pk);
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_x25519_load_private(const char *path, uint8_t priv[KEY_SIZE],
				  uint8_t pub[KEY_SIZE], struct es_err *err)
{
	EVP_PKEY *pk = NULL;
	int ret;

	ret = es_pem_load_private_key(path, &pk, err);
	if (ret)
		return ret;
	ERR_set_mark();
	if (!EVP_PKEY_is_a(pk, "X25519"))
		ret = es_fail(err, -EINVAL, "%s: a %s key, not an X25519 private key",
			      ES_PATH(path), EVP_PKEY_get0_type_name(pk) ?
			      EVP_PKEY_get0_type_name(pk) : "different");
	else if (raw_private(pk, priv) || raw_public(pk, pub))
		ret = es_ossl_fail(err, -EIO, "%s: cannot read the X25519 key", ES_PATH(path));
	if (ret)
		es_crypto_wipe(priv, KEY_SIZE);
	EVP_PKEY_free(pk);
	ERR_pop_to_mark();
	return ret;
}
