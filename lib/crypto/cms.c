// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * CMS / PKCS#7: manifest signatures by RSA and ECDSA keys with a
 * certificate (SignedData, detached, DER, SHA-256, no signed attributes,
 * so that `openssl cms -verify` checks them), their checking and
 * description, and fs-verity builtin signatures.  See include/erofs/sign.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "crypto/sign_internal.h"
#include "erofs/verity.h"

/* Copy out of an OpenSSL-allocated buffer into a malloc'ed one. */
static int dup_der(const unsigned char *der, int der_len, uint8_t **out,
		   size_t *out_len, struct es_err *err)
{
	uint8_t *buf;

	buf = malloc((size_t)der_len);
	if (!buf)
		return es_fail(err, -ENOMEM, "out of memory");
	memcpy(buf, der, (size_t)der_len);
	*out = buf;
	*out_len = (size_t)der_len;
	return 0;
}

/*
 * The detached content for CMS_verify.  OpenSSL 3.0's CMS_verify copies a
 * memory BIO into a read-only one of its own and, when the SignerInfo
 * names a digest it cannot set up (a tampered signature), returns without
 * freeing that copy.  A pass-through filter on top of our memory BIO is
 * not a memory BIO, so CMS_verify reads through it without copying and
 * there is nothing of its own to leak; we free the whole chain.
 */
static BIO *cms_content_bio(const void *buf, size_t len)
{
	BIO *mem = es_mem_bio(buf, len), *filter;

	if (!mem)
		return NULL;
	filter = BIO_new(BIO_f_null());
	if (!filter) {
		BIO_free(mem);
		return NULL;
	}
	return BIO_push(filter, mem);
}

/* ---- signing ------------------------------------------------------------ */

/* CMS SignedData: detached, binary, SHA-256, no signed attributes. */
int es_cms_sign(const struct es_signer *s, const uint8_t *msg, size_t len,
		uint8_t **sig, size_t *sig_len, struct es_err *err)
{
	const unsigned int flags = CMS_BINARY | CMS_DETACHED | CMS_NOATTR |
				   CMS_PARTIAL;
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	BIO *in;
	int der_len, ret;

	in = es_mem_bio(msg, len);
	if (!in)
		return es_fail(err, -ENOMEM, "out of memory");
	/* PARTIAL: no signer yet, so that the digest can be chosen below */
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (!cms) {
		ret = es_ossl_fail(err, -ENOMEM, "CMS_sign failed");
		goto out;
	}
	if (!CMS_add1_signer(cms, s->cert, s->pkey, EVP_sha256(), flags)) {
		ret = es_ossl_fail(err, -EINVAL, "cannot add the CMS signer");
		goto out;
	}
	if (!CMS_final(cms, in, NULL, flags)) {
		ret = es_ossl_fail(err, -EINVAL, "CMS signing failed");
		goto out;
	}
	der_len = i2d_CMS_ContentInfo(cms, &der);
	if (der_len <= 0) {
		ret = es_ossl_fail(err, -ENOMEM, "cannot encode the CMS signature");
		goto out;
	}
	ret = dup_der(der, der_len, sig, sig_len, err);
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return ret;
}

/* ---- fs-verity builtin signature ------------------------------------- */

/*
 * The same five calls as fsverity-utils' libfsverity_sign_digest (OpenSSL
 * build), so that the DER matches byte for byte.  PKCS7_* rather than CMS_*
 * on purpose: the PKCS#7 encoder writes the NULL parameters after the
 * digest algorithm OIDs and the CMS one does not.  PARTIAL lets
 * PKCS7_sign_add_signer pick SHA-256 instead of the SHA-1 default.
 */
int es_fsverity_sign(const struct es_signer *s, const uint8_t digest[32],
		     uint8_t **sig, size_t *sig_len, struct es_err *err)
{
	const int flags = PKCS7_BINARY | PKCS7_DETACHED | PKCS7_NOATTR |
			  PKCS7_NOCERTS | PKCS7_PARTIAL;
	uint8_t fmt[ES_VERITY_FORMATTED_DIGEST_SIZE];
	unsigned char *der = NULL;
	PKCS7 *p7 = NULL;
	BIO *in = NULL;
	int der_len, ret;

	if (!s || !digest || !sig || !sig_len)
		return es_fail(err, -EINVAL, "es_fsverity_sign: bad arguments");
	*sig = NULL;
	*sig_len = 0;
	if (!s->cert)
		return es_fail(err, -EINVAL,
			       "fs-verity signatures need the signer's certificate");
	if (s->kind != ES_CRYPTO_KEY_RSA && s->kind != ES_CRYPTO_KEY_EC)
		return es_fail(err, -EOPNOTSUPP,
			       "fs-verity signatures need an RSA or ECDSA key, not %s",
			       es_crypto_key_type_name(s->kind));

	ERR_set_mark();
	es_verity_formatted_digest(digest, fmt);
	in = es_mem_bio(fmt, sizeof(fmt));
	if (!in) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	p7 = PKCS7_sign(NULL, NULL, NULL, in, flags);
	if (!p7) {
		ret = es_ossl_fail(err, -ENOMEM, "PKCS7_sign failed");
		goto out;
	}
	if (!PKCS7_sign_add_signer(p7, s->cert, s->pkey, EVP_sha256(), flags)) {
		ret = es_ossl_fail(err, -EINVAL, "cannot add the PKCS#7 signer");
		goto out;
	}
	if (PKCS7_final(p7, in, flags) != 1) {
		ret = es_ossl_fail(err, -EINVAL, "PKCS#7 signing failed");
		goto out;
	}
	der_len = i2d_PKCS7(p7, &der);
	if (der_len <= 0) {
		ret = es_ossl_fail(err, -ENOMEM, "cannot encode the PKCS#7 signature");
		goto out;
	}
	ret = dup_der(der, der_len, sig, sig_len, err);
out:
	OPENSSL_free(der);
	PKCS7_free(p7);
	BIO_free(in);
	ERR_pop_to_mark();
	return ret;
}

/* ---- checking ------------------------------------------------------------ */

/* Absent or NULL parameters, the two encodings seen for these OIDs. */
static int alg_params_ok(const X509_ALGOR *alg)
{
	const void *pval;
	int ptype;

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	return ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
}

/*
 * OpenSSL 3.0 does not look at the SignerInfo's algorithm identifiers when
 * it verifies a signature without signed attributes (the digest comes from
 * the content digest context, the scheme from the key), so a corrupted
 * OID would still verify.  Accept exactly what we and fsverity-utils
 * write: SHA-256, with rsaEncryption / sha256WithRSAEncryption or
 * ecdsa-with-SHA256 matching the signer's key.
 */
static int check_cms_algs(CMS_SignerInfo *si, const EVP_PKEY *key,
			  struct es_err *err)
{
	X509_ALGOR *dig = NULL, *sig = NULL;
	const ASN1_OBJECT *obj;
	enum es_crypto_key_type kind =
		es_crypto_pkey_type(es_crypto_pkey_of(key));
	int dnid, snid;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	if (!dig || !sig)
		return es_fail(err, -EBADMSG, "CMS signer has no algorithms");
	X509_ALGOR_get0(&obj, NULL, NULL, dig);
	dnid = OBJ_obj2nid(obj);
	X509_ALGOR_get0(&obj, NULL, NULL, sig);
	snid = OBJ_obj2nid(obj);
	if (dnid != NID_sha256 || !alg_params_ok(dig))
		return es_fail(err, -EBADMSG,
			       "CMS digest algorithm is %s, expected SHA-256 (with no parameters)",
			       dnid != NID_undef ? OBJ_nid2sn(dnid) : "unknown");
	if (!((kind == ES_CRYPTO_KEY_RSA &&
	       (snid == NID_rsaEncryption ||
		snid == NID_sha256WithRSAEncryption)) ||
	      (kind == ES_CRYPTO_KEY_EC && snid == NID_ecdsa_with_SHA256)) ||
	    !alg_params_ok(sig))
		return es_fail(err, -EBADMSG,
			       "CMS signature algorithm %s does not fit the signer's %s key",
			       snid != NID_undef ? OBJ_nid2sn(snid) : "unknown",
			       es_crypto_key_type_name(kind));
	return 0;
}

/* Parse a DER CMS blob completely (no trailing bytes) and check its shape. */
static int parse_cms(const uint8_t *sig, size_t sig_len, CMS_ContentInfo **out,
		     CMS_SignerInfo **si_out, struct es_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis;
	const unsigned char *p = sig;
	CMS_ContentInfo *cms;
	unsigned char *der = NULL;
	int n, der_len, same;

	*out = NULL;
	if (!sig_len)
		return es_fail(err, -EBADMSG, "empty CMS signature");
	if (sig_len > LONG_MAX)
		return es_fail(err, -EBADMSG, "CMS signature too large");
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len);
	if (!cms)
		return es_ossl_fail(err, -EBADMSG, "not a DER CMS structure");
	if ((size_t)(p - sig) != sig_len) {
		CMS_ContentInfo_free(cms);
		return es_fail(err, -EBADMSG,
			       "%zu bytes of garbage after the CMS structure",
			       sig_len - (size_t)(p - sig));
	}
	/*
	 * OpenSSL's decoder is BER-lenient (it takes a SignerInfos SET whose
	 * tag lost its constructed bit, for one), so bytes that are not the
	 * signature we hash could still verify.  Only the one DER encoding of
	 * what was parsed is a signature; embedded certificates and names
	 * re-encode from their cached original bytes, so this costs nothing
	 * for well-formed input.
	 */
	der_len = i2d_CMS_ContentInfo(cms, &der);
	same = der_len > 0 && (size_t)der_len == sig_len &&
	       !memcmp(der, sig, sig_len);
	OPENSSL_free(der);
	if (!same) {
		CMS_ContentInfo_free(cms);
		return es_fail(err, -EBADMSG,
			       "CMS signature is not in DER (distinguished) encoding");
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		CMS_ContentInfo_free(cms);
		return es_fail(err, -EBADMSG, "CMS structure is not SignedData");
	}
	sis = CMS_get0_SignerInfos(cms);
	n = sis ? sk_CMS_SignerInfo_num(sis) : 0;
	if (n != 1) {
		CMS_ContentInfo_free(cms);
		return es_fail(err, -EBADMSG,
			       "CMS signature has %d signers, expected 1", n);
	}
	*si_out = sk_CMS_SignerInfo_value(sis, 0);
	*out = cms;
	return 0;
}

int es_cms_verify(const struct es_trust *t,
		  const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
		  const uint8_t *sig, size_t sig_len,
		  const uint8_t *msg, size_t len,
		  char *desc, size_t desc_len, struct es_err *err)
{
	STACK_OF(X509) *anchor_certs = NULL;
	uint8_t signer_id[ES_SIGN_KEY_ID_SIZE];
	CMS_ContentInfo *cms = NULL;
	const struct es_anchor *a;
	CMS_SignerInfo *si;
	X509 *signer = NULL;
	EVP_PKEY *signer_key;
	char subject[256], hex[17];
	BIO *content = NULL;
	size_t i;
	int ret;

	ret = parse_cms(sig, sig_len, &cms, &si, err);
	if (ret)
		return ret;
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		ret = es_fail(err, -EBADMSG,
			      "CMS signature is not over plain data");
		goto out;
	}
	if (CMS_is_detached(cms) != 1) {
		ret = es_fail(err, -EBADMSG,
			      "CMS signature embeds its content; expected a detached signature");
		goto out;
	}

	/*
	 * Find the signer certificate: trusted certificates first (so a
	 * signature without embedded certificates, like an fs-verity one, can
	 * be checked, and an embedded certificate that claims an anchor's
	 * issuer and serial cannot substitute its key), then embedded ones.
	 */
	anchor_certs = sk_X509_new_null();
	if (!anchor_certs) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < t->n; i++) {
		if (t->a[i].cert && !sk_X509_push(anchor_certs, t->a[i].cert)) {
			ret = es_fail(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (CMS_set1_signers_certs(cms, anchor_certs, 0) < 0) {
		ret = es_ossl_fail(err, -EBADMSG, "bad CMS signer information");
		goto out;
	}
	CMS_SignerInfo_get0_algs(si, &signer_key, &signer, NULL, NULL);
	if (!signer || !signer_key) {
		ret = es_fail(err, -EKEYREJECTED,
			      "CMS signature carries no signer certificate and its signer matches no trusted certificate");
		goto out;
	}

	ret = check_cms_algs(si, signer_key, err);
	if (ret)
		goto out;

	/*
	 * Signature check only: the chain is not verified (trust is decided
	 * by the key below), signed attributes, if any, are.
	 */
	content = cms_content_bio(msg, len);
	if (!content) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, content, NULL,
		       CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		ret = es_ossl_fail(err, -EBADMSG,
				   "CMS signature does not match the message");
		goto out;
	}

	ret = es_crypto_pkey_id(es_crypto_pkey_of(signer_key), signer_id,
				err);
	if (ret)
		goto out;
	es_key_id_short(signer_id, hex);
	if (key_id && memcmp(key_id, signer_id, ES_SIGN_KEY_ID_SIZE)) {
		ret = es_fail(err, -EBADMSG,
			      "key id of the signature record does not match the CMS signer (key %s)",
			      hex);
		goto out;
	}
	es_cert_subject(signer, subject, sizeof(subject));
	a = es_trust_find(t, signer_id);
	if (!a) {
		enum es_crypto_key_type kind =
			es_crypto_pkey_type(es_crypto_pkey_of(signer_key));

		ret = es_fail(err, -EKEYREJECTED,
			      "CMS signer %s (%s key %s) is not trusted",
			      subject, es_crypto_key_type_name(kind), hex);
		goto out;
	}
	if (desc_len) {
		if (a->cert)
			es_cert_subject(a->cert, desc, desc_len);
		else
			snprintf(desc, desc_len, "%s (%s key %s)", subject,
				 es_crypto_key_type_name(a->kind), hex);
	}
out:
	BIO_free_all(content);
	sk_X509_free(anchor_certs);	/* the anchors keep their references */
	CMS_ContentInfo_free(cms);
	return ret;
}

/* ---- description (dump) ------------------------------------------------- */

int es_cms_describe(const uint8_t *sig, size_t sig_len, const char *idpart,
		    char *buf, size_t len)
{
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_OCTET_STRING *skid = NULL;
	X509 *signer = NULL;
	char subject[256];
	int ret;

	ret = parse_cms(sig, sig_len, &cms, &si, NULL);
	if (ret) {
		snprintf(buf, len, "cms (%zu bytes, malformed)%s", sig_len,
			 idpart);
		return ret;
	}
	if (CMS_set1_signers_certs(cms, NULL, 0) >= 0)
		CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	if (signer) {
		es_cert_subject(signer, subject, sizeof(subject));
		snprintf(buf, len, "cms (%zu bytes), signer %s%s", sig_len,
			 subject, idpart);
	} else if (CMS_SignerInfo_get0_signer_id(si, &skid, &issuer,
						 &serial) == 1 && issuer) {
		BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
		char *sn = bn ? BN_bn2hex(bn) : NULL;
		BIO *mem = BIO_new(BIO_s_mem());
		char *data = NULL;
		long n = 0;

		if (mem && X509_NAME_print_ex(mem, issuer, 0,
					      XN_FLAG_RFC2253) >= 0)
			n = BIO_get_mem_data(mem, &data);
		snprintf(buf, len,
			 "cms (%zu bytes), certificate not embedded: issuer %.*s serial %s%s",
			 sig_len, n > 0 ? (n > 200 ? 200 : (int)n) : 0,
			 data ? data : "", sn ? sn : "?", idpart);
		BIO_free(mem);
		OPENSSL_free(sn);
		BN_free(bn);
	} else {
		snprintf(buf, len,
			 "cms (%zu bytes), certificate not embedded%s",
			 sig_len, idpart);
	}
	CMS_ContentInfo_free(cms);
	return 0;
}

int es_cms_info(const uint8_t *sig, size_t sig_len, struct es_sig_info *info)
{
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	X509_ALGOR *sigalg = NULL;
	X509 *signer = NULL;
	int ret = parse_cms(sig, sig_len, &cms, &si, NULL);

	if (ret)
		return ret;
	if (CMS_set1_signers_certs(cms, NULL, 0) >= 0)
		CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	if (signer) {
		es_cert_subject(signer, info->subject, sizeof(info->subject));
		snprintf(info->algorithm, sizeof(info->algorithm), "%s",
			 es_crypto_key_type_name(es_crypto_pkey_type(
				 es_crypto_pkey_of(X509_get0_pubkey(signer)))));
	} else {
		/* no certificate: the signature algorithm names the key type
		 * (the same OIDs es_cms_verify() accepts) */
		CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &sigalg);
		switch (sigalg ? OBJ_obj2nid(sigalg->algorithm) : NID_undef) {
		case NID_rsaEncryption:
		case NID_sha256WithRSAEncryption:
			snprintf(info->algorithm, sizeof(info->algorithm), "rsa");
			break;
		case NID_ecdsa_with_SHA256:
			snprintf(info->algorithm, sizeof(info->algorithm), "ecdsa");
			break;
		default:
			break;
		}
	}
	CMS_ContentInfo_free(cms);
	return 0;
}
