// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Signing the manifest: loading a signer (key and optional certificate)
 * and es_sign().  The signature type follows from the key and whether a
 * certificate was given (see include/erofs/sign.h); CMS is made in
 * cms.c, raw and Ed25519 signatures by the backend.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "crypto/sign_internal.h"

int es_signer_load(struct es_signer **out, const char *key_pem_path,
		   const char *cert_pem_path, struct es_err *err)
{
	struct es_signer *s;
	int ret;

	if (!out)
		return es_fail(err, -EINVAL, "es_signer_load: no result pointer");
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return es_fail(err, -ENOMEM, "out of memory");

	ERR_set_mark();
	ret = es_pem_load_private_key(key_pem_path, &s->pkey, err);
	if (ret)
		goto fail;
	ret = es_pem_key_type(s->pkey, key_pem_path, &s->kind, err);
	if (ret)
		goto fail;
	if (cert_pem_path) {
		ret = es_pem_load_cert(cert_pem_path, &s->cert, err);
		if (ret)
			goto fail;
		if (EVP_PKEY_eq(X509_get0_pubkey(s->cert), s->pkey) != 1) {
			ret = es_fail(err, -EINVAL,
				      "%s: certificate does not belong to the key in %s",
				      ES_PATH(cert_pem_path), ES_PATH(key_pem_path));
			goto fail;
		}
	}
	ret = es_crypto_pkey_id(es_crypto_pkey_of(s->pkey), s->key_id, err);
	if (ret)
		goto fail;
	if (s->kind == ES_CRYPTO_KEY_ED25519)
		s->type = ES_SIG_ED25519;
	else
		s->type = s->cert ? ES_SIG_CMS : ES_SIG_RAW;
	ERR_pop_to_mark();
	*out = s;
	return 0;
fail:
	ERR_pop_to_mark();
	es_signer_free(s);
	return ret;
}

void es_signer_free(struct es_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->pkey);		/* wipes the private key */
	X509_free(s->cert);
	es_crypto_wipe(s, sizeof(*s));
	free(s);
}

enum es_sig_type es_signer_type(const struct es_signer *s)
{
	return s->type;
}

void es_signer_key_id(const struct es_signer *s,
		      uint8_t key_id[ES_SIGN_KEY_ID_SIZE])
{
	memcpy(key_id, s->key_id, ES_SIGN_KEY_ID_SIZE);
}

int es_sign(const struct es_signer *s, const uint8_t *msg, size_t len,
	    enum es_sig_type *type, uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
	    uint8_t **sig, size_t *sig_len, struct es_err *err)
{
	int ret;

	if (!s || !sig || !sig_len || (!msg && len))
		return es_fail(err, -EINVAL, "es_sign: bad arguments");
	*sig = NULL;
	*sig_len = 0;
	if (len > INT_MAX)
		return es_fail(err, -EFBIG,
			       "message of %zu bytes is too large to sign", len);

	ERR_set_mark();
	switch (s->type) {
	case ES_SIG_CMS:
		ret = es_cms_sign(s, msg, len, sig, sig_len, err);
		break;
	case ES_SIG_ED25519:
	case ES_SIG_RAW:
		/* the key type decides: Ed25519, or SHA-256 RSA/ECDSA */
		ret = es_crypto_sign(es_crypto_pkey_of(s->pkey), msg, len, sig,
				     sig_len, err);
		break;
	default:
		ret = es_fail(err, -EINVAL, "signer has no signature type");
		break;
	}
	ERR_pop_to_mark();
	if (ret)
		return ret;
	if (type)
		*type = s->type;
	if (key_id)
		memcpy(key_id, s->key_id, ES_SIGN_KEY_ID_SIZE);
	return 0;
}
