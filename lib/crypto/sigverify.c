// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Checking and describing manifest signatures: the dispatch by signature
 * type (CMS ones go to cms.c), raw and Ed25519 signatures against the
 * trust anchors, and the names and short descriptions that messages and
 * dump.erofs use.  See include/erofs/sign.h for what each result means.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "crypto/sign_internal.h"

/* ---- names ------------------------------------------------------------- */

const char *es_sig_type_name(enum es_sig_type type)
{
	switch (type) {
	case ES_SIG_CMS:
		return "cms";
	case ES_SIG_ED25519:
		return "ed25519";
	case ES_SIG_RAW:
		return "raw";
	}
	return NULL;
}

int es_sig_type_from_name(const char *name, enum es_sig_type *type)
{
	static const enum es_sig_type all[] = {
		ES_SIG_CMS, ES_SIG_ED25519, ES_SIG_RAW,
	};
	size_t i;

	if (!name || !type)
		return -EINVAL;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(name, es_sig_type_name(all[i]))) {
			*type = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

void es_key_id_short(const uint8_t key_id[ES_SIGN_KEY_ID_SIZE], char out[17])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 8; i++) {
		out[2 * i] = hex[key_id[i] >> 4];
		out[2 * i + 1] = hex[key_id[i] & 15];
	}
	out[16] = '\0';
}

void es_cert_subject(X509 *cert, char *buf, size_t len)
{
	BIO *mem;
	char *data;
	long n;

	if (!len)
		return;
	buf[0] = '\0';
	mem = BIO_new(BIO_s_mem());
	if (!mem)
		return;
	if (X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0,
			       XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(mem, &data);
		if (n > 0)
			snprintf(buf, len, "%.*s",
				 n > INT_MAX ? INT_MAX : (int)n, data);
	}
	BIO_free(mem);
	if (!buf[0])
		snprintf(buf, len, "(no subject)");
}

static void describe_key(enum es_crypto_key_type kind,
			 const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			 char *buf, size_t len)
{
	char hex[17];

	es_key_id_short(key_id, hex);
	snprintf(buf, len, "%s key %s", es_crypto_key_type_name(kind), hex);
}

/* ---- verification ------------------------------------------------------ */

/* Ed25519 and raw signatures: the key id names the anchor that checks it. */
static int verify_plain(const struct es_trust *t, enum es_sig_type type,
			const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			const uint8_t *sig, size_t sig_len,
			const uint8_t *msg, size_t len,
			char *desc, size_t desc_len, struct es_err *err)
{
	const struct es_anchor *a;
	char hex[17], label[128];
	int ret;

	es_key_id_short(key_id, hex);
	a = es_trust_find(t, key_id);
	if (!a)
		return es_fail(err, -EKEYREJECTED,
			       "%s signature by key %s: no trusted key has this id",
			       es_sig_type_name(type), hex);
	if (type == ES_SIG_ED25519 ? a->kind != ES_CRYPTO_KEY_ED25519 :
	    a->kind != ES_CRYPTO_KEY_RSA && a->kind != ES_CRYPTO_KEY_EC)
		return es_fail(err, -EBADMSG,
			       "%s signature, but key %s is an %s key",
			       es_sig_type_name(type), hex,
			       es_crypto_key_type_name(a->kind));
	if (type == ES_SIG_ED25519 && sig_len != ES_ED25519_SIG_SIZE)
		return es_fail(err, -EBADMSG,
			       "ed25519 signature is %zu bytes, not %d",
			       sig_len, ES_ED25519_SIG_SIZE);
	if (!sig_len)
		return es_fail(err, -EBADMSG, "empty signature");

	/* the scheme follows from the anchor's key type, checked above */
	snprintf(label, sizeof(label), "%s signature by %s key %s",
		 es_sig_type_name(type), es_crypto_key_type_name(a->kind), hex);
	ret = es_crypto_verify(es_crypto_pkey_of(a->pub), sig, sig_len, msg,
			       len, label, err);
	if (ret)
		return ret;
	if (desc_len) {
		if (a->cert)
			es_cert_subject(a->cert, desc, desc_len);
		else
			describe_key(a->kind, a->key_id, desc, desc_len);
	}
	return 0;
}

int es_verify_signature(const struct es_trust *t, enum es_sig_type type,
			const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			const uint8_t *sig, size_t sig_len,
			const uint8_t *msg, size_t len,
			char *signer_desc, size_t desc_len, struct es_err *err)
{
	int ret;

	if (signer_desc && desc_len)
		signer_desc[0] = '\0';
	else
		desc_len = 0;
	if (!t || (!sig && sig_len) || (!msg && len))
		return es_fail(err, -EINVAL, "es_verify_signature: bad arguments");
	if (!es_sig_type_name(type))
		return es_fail(err, -EINVAL, "unknown signature type %d",
			       (int)type);
	if (type != ES_SIG_CMS && !key_id)
		return es_fail(err, -EINVAL, "%s signatures need a key id",
			       es_sig_type_name(type));
	if (len > INT_MAX)
		return es_fail(err, -EFBIG,
			       "message of %zu bytes is too large to verify", len);

	ERR_set_mark();
	if (type == ES_SIG_CMS)
		ret = es_cms_verify(t, key_id, sig, sig_len, msg, len,
				    signer_desc, desc_len, err);
	else
		ret = verify_plain(t, type, key_id, sig, sig_len, msg, len,
				   signer_desc, desc_len, err);
	ERR_pop_to_mark();
	if (ret && desc_len)
		signer_desc[0] = '\0';
	return ret;
}

/* ---- description (dump) ------------------------------------------------- */

int es_signature_describe(enum es_sig_type type,
			  const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			  const uint8_t *sig, size_t sig_len,
			  char *buf, size_t len)
{
	char hex[17], idpart[32] = "";
	int ret = 0;

	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	if (key_id) {
		es_key_id_short(key_id, hex);
		snprintf(idpart, sizeof(idpart), ", key id %s", hex);
	}
	ERR_set_mark();
	switch (type) {
	case ES_SIG_CMS:
		ret = sig ? es_cms_describe(sig, sig_len, idpart, buf, len) :
			    -EINVAL;
		if (!sig)
			snprintf(buf, len, "cms (no data)%s", idpart);
		break;
	case ES_SIG_ED25519:
	case ES_SIG_RAW:
		snprintf(buf, len, "%s (%zu bytes)%s", es_sig_type_name(type),
			 sig_len, idpart);
		if (type == ES_SIG_ED25519 && sig_len != ES_ED25519_SIG_SIZE)
			ret = -EBADMSG;
		break;
	default:
		snprintf(buf, len, "unknown signature type %d (%zu bytes)%s",
			 (int)type, sig_len, idpart);
		ret = -EINVAL;
		break;
	}
	ERR_pop_to_mark();
	return ret;
}

int es_signature_info(const struct es_trust *t, enum es_sig_type type,
		      const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
		      const uint8_t *sig, size_t sig_len, struct es_sig_info *info)
{
	const struct es_anchor *a;
	int ret = 0;

	memset(info, 0, sizeof(*info));
	ERR_set_mark();
	if (type == ES_SIG_CMS) {
		ret = sig ? es_cms_info(sig, sig_len, info) : -EBADMSG;
	} else {
		if (type == ES_SIG_ED25519)
			snprintf(info->algorithm, sizeof(info->algorithm), "ed25519");
		a = t && key_id ? es_trust_find(t, key_id) : NULL;
		if (a) {
			if (a->cert)
				es_cert_subject(a->cert, info->subject, sizeof(info->subject));
			if (!info->algorithm[0])
				snprintf(info->algorithm, sizeof(info->algorithm), "%s",
					 es_crypto_key_type_name(a->kind));
		}
	}
	ERR_pop_to_mark();
	return ret;
}
