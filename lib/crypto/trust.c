// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Trust anchors: certificates and bare public keys, each trusted for the
 * key it holds, and pinned manifest digests.  See include/erofs/sign.h for
 * what trust means here (in the key: no chains, dates or revocation).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "crypto/sign_internal.h"

int es_trust_new(struct es_trust **out, struct es_err *err)
{
	if (!out)
		return es_fail(err, -EINVAL, "es_trust_new: no result pointer");
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return es_fail(err, -ENOMEM, "out of memory");
	return 0;
}

void es_trust_free(struct es_trust *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		EVP_PKEY_free(t->a[i].pub);
		X509_free(t->a[i].cert);
	}
	free(t->a);
	free(t->pins);
	free(t);
}

size_t es_trust_count(const struct es_trust *t)
{
	return t ? t->n : 0;
}

/* ---- pinned manifest digests ---------------------------------------------- */

int es_trust_add_manifest_digest(struct es_trust *t, const uint8_t digest[32],
				 struct es_err *err)
{
	uint8_t (*np)[32];

	if (!t || !digest)
		return es_fail(err, -EINVAL, "es_trust_add_manifest_digest: no trust set or digest");
	if (es_trust_has_manifest_digest(t, digest))
		return 0;
	if (t->npins >= SIZE_MAX / 2 / sizeof(*np))
		return es_fail(err, -ENOMEM, "too many pinned manifest digests");
	np = realloc(t->pins, (t->npins + 1) * sizeof(*np));
	if (!np)
		return es_fail(err, -ENOMEM, "out of memory");
	memcpy(np[t->npins], digest, 32);
	t->pins = np;
	t->npins++;
	return 0;
}

size_t es_trust_manifest_digest_count(const struct es_trust *t)
{
	return t ? t->npins : 0;
}

bool es_trust_has_manifest_digest(const struct es_trust *t, const uint8_t digest[32])
{
	for (size_t i = 0; t && i < t->npins; i++)
		if (!es_crypto_memcmp(t->pins[i], digest, 32))
			return true;
	return false;
}

/* ---- key anchors ------------------------------------------------------------ */

static int trust_reserve(struct es_trust *t, size_t more, struct es_err *err)
{
	struct es_anchor *na;
	size_t ncap;

	if (t->cap - t->n >= more)
		return 0;
	ncap = t->cap ? t->cap : 4;
	while (ncap - t->n < more) {
		if (ncap > SIZE_MAX / 2 / sizeof(*na))
			return es_fail(err, -ENOMEM, "too many trust anchors");
		ncap *= 2;
	}
	na = realloc(t->a, ncap * sizeof(*na));
	if (!na)
		return es_fail(err, -ENOMEM, "out of memory");
	t->a = na;
	t->cap = ncap;
	return 0;
}

/* Is this exact anchor (same certificate / same bare key) present? */
static int trust_has(const struct es_trust *t, const struct es_anchor *a)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct es_anchor *b = &t->a[i];

		if (memcmp(a->key_id, b->key_id, ES_SIGN_KEY_ID_SIZE))
			continue;
		if (!a->cert && !b->cert)
			return 1;
		if (a->cert && b->cert && !X509_cmp(a->cert, b->cert))
			return 1;
	}
	return 0;
}

/* Fill an anchor from a certificate or a public key (takes new refs). */
static int anchor_init(struct es_anchor *a, X509 *cert, EVP_PKEY *pub,
		       const char *path, struct es_err *err)
{
	int ret;

	memset(a, 0, sizeof(*a));
	if (cert) {
		pub = X509_get0_pubkey(cert);
		if (!pub)
			return es_ossl_fail(err, -EBADMSG,
					    "certificate has no usable public key");
	}
	ret = es_pem_key_type(pub, path, &a->kind, err);
	if (ret)
		return ret;
	ret = es_crypto_pkey_id(es_crypto_pkey_of(pub), a->key_id, err);
	if (ret)
		return ret;
	if (EVP_PKEY_up_ref(pub) != 1)
		return es_fail(err, -ENOMEM, "out of memory");
	if (cert && X509_up_ref(cert) != 1) {
		EVP_PKEY_free(pub);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	a->pub = pub;
	a->cert = cert;
	return 0;
}

static void anchor_release(struct es_anchor *a)
{
	EVP_PKEY_free(a->pub);
	X509_free(a->cert);
	memset(a, 0, sizeof(*a));
}

int es_trust_add_cert(struct es_trust *t, const char *cert_pem_path,
		      struct es_err *err)
{
	STACK_OF(X509) *certs = NULL;
	struct es_anchor *pending = NULL;
	size_t i, n, npending = 0;
	int ret;

	if (!t)
		return es_fail(err, -EINVAL, "es_trust_add_cert: no trust set");
	ERR_set_mark();
	ret = es_pem_load_certs(cert_pem_path, &certs, err);
	if (ret)
		goto out;

	/* all or nothing: check every certificate before adding any */
	n = (size_t)sk_X509_num(certs);
	pending = calloc(n, sizeof(*pending));
	if (!pending) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		ret = anchor_init(&pending[npending],
				  sk_X509_value(certs, (int)i), NULL,
				  cert_pem_path, err);
		if (ret)
			goto out;
		npending++;
	}
	ret = trust_reserve(t, npending, err);
	if (ret)
		goto out;
	for (i = 0; i < npending; i++) {
		if (trust_has(t, &pending[i])) {
			anchor_release(&pending[i]);
			continue;
		}
		t->a[t->n++] = pending[i];
		memset(&pending[i], 0, sizeof(pending[i]));
	}
	npending = 0;
out:
	for (i = 0; i < npending; i++)
		anchor_release(&pending[i]);
	free(pending);
	sk_X509_pop_free(certs, X509_free);
	ERR_pop_to_mark();
	return ret;
}

int es_trust_add_pubkey(struct es_trust *t, const char *pub_pem_path,
			struct es_err *err)
{
	struct es_anchor a;
	EVP_PKEY *pub = NULL;
	int ret;

	if (!t)
		return es_fail(err, -EINVAL, "es_trust_add_pubkey: no trust set");
	ERR_set_mark();
	ret = es_pem_load_pubkey(pub_pem_path, &pub, err);
	if (ret)
		goto out;
	ret = anchor_init(&a, NULL, pub, pub_pem_path, err);
	if (ret)
		goto out;
	if (trust_has(t, &a)) {
		anchor_release(&a);
		goto out;
	}
	ret = trust_reserve(t, 1, err);
	if (ret) {
		anchor_release(&a);
		goto out;
	}
	t->a[t->n++] = a;
out:
	EVP_PKEY_free(pub);
	ERR_pop_to_mark();
	return ret;
}

struct es_trust *es_trust_from_files(const char *const *certs, unsigned int ncerts,
				     const char *const *pubkeys, unsigned int npubkeys,
				     struct es_err *err)
{
	struct es_trust *t;

	if (es_trust_new(&t, err))
		return NULL;
	for (unsigned int i = 0; i < ncerts; i++) {
		if (es_trust_add_cert(t, certs[i], err)) {
			es_trust_free(t);
			return NULL;
		}
	}
	for (unsigned int i = 0; i < npubkeys; i++) {
		if (es_trust_add_pubkey(t, pubkeys[i], err)) {
			es_trust_free(t);
			return NULL;
		}
	}
	return t;
}

const struct es_anchor *es_trust_find(const struct es_trust *t,
				      const uint8_t key_id[ES_SIGN_KEY_ID_SIZE])
{
	const struct es_anchor *found = NULL;
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (memcmp(t->a[i].key_id, key_id, ES_SIGN_KEY_ID_SIZE))
			continue;
		if (t->a[i].cert)
			return &t->a[i];
		if (!found)
			found = &t->a[i];
	}
	return found;
}
