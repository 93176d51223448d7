// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Manifest signatures (CMS / Ed25519 / raw) and fs-verity builtin
 * signatures, on OpenSSL 3 libcrypto.  See include/erofs/sign.h for the
 * formats and why they were chosen.
 *
 * OpenSSL keeps a per-thread error queue; every public function here sets a
 * mark on entry and pops back to it on exit, so callers find the queue as
 * they left it and our messages go to struct es_err only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "erofs/sign.h"
#include "erofs/verity.h"

/* PEM files bigger than this are not keys or certificate bundles we want. */
#define PEM_FILE_MAX	(1u << 20)

enum key_kind { KEY_OTHER, KEY_RSA, KEY_EC, KEY_ED25519 };

struct es_signer {
	EVP_PKEY *pkey;
	X509 *cert;			/* NULL: no certificate */
	enum key_kind kind;
	enum es_sig_type type;
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
};

struct anchor {
	EVP_PKEY *pub;
	X509 *cert;			/* NULL for a bare public key */
	enum key_kind kind;
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
};

struct es_trust {
	struct anchor *a;
	size_t n, cap;
	uint8_t (*pins)[32];		/* pinned manifest digests */
	size_t npins;
};

/* ---- small helpers ---------------------------------------------------- */

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

static const char *kind_name(enum key_kind kind)
{
	switch (kind) {
	case KEY_RSA:
		return "rsa";
	case KEY_EC:
		return "ecdsa";
	case KEY_ED25519:
		return "ed25519";
	case KEY_OTHER:
		break;
	}
	return "unsupported";
}

static enum key_kind key_kind_of(const EVP_PKEY *pk)
{
	if (EVP_PKEY_is_a(pk, "RSA"))
		return KEY_RSA;
	if (EVP_PKEY_is_a(pk, "EC"))
		return KEY_EC;
	if (EVP_PKEY_is_a(pk, "ED25519"))
		return KEY_ED25519;
	return KEY_OTHER;
}

/* First 8 bytes of a key id as 16 hex digits. */
static void key_id_short(const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			 char out[17])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 8; i++) {
		out[2 * i] = hex[key_id[i] >> 4];
		out[2 * i + 1] = hex[key_id[i] & 15];
	}
	out[16] = '\0';
}

/*
 * Fail with the reason of the newest OpenSSL error (if any) appended:
 * "what: reason".
 */
static int ossl_fail(struct es_err *err, int code, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (reason)
		return es_fail(err, code, "%s: %s", what, reason);
	return es_fail(err, code, "%s", what);
}

/* key id = SHA-256(DER SubjectPublicKeyInfo) */
static int spki_key_id(const EVP_PKEY *pk, uint8_t out[ES_SIGN_KEY_ID_SIZE],
		       struct es_err *err)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, ok;

	len = i2d_PUBKEY(pk, &der);
	if (len <= 0)
		return ossl_fail(err, -EINVAL, "cannot encode the public key");
	ok = EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || mdlen != ES_SIGN_KEY_ID_SIZE)
		return ossl_fail(err, -EIO, "SHA-256 failed");
	return 0;
}

/* Printable subject of a certificate, RFC 2253 style ("CN=x,O=y"). */
static void subject_string(X509 *cert, char *buf, size_t len)
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

static void free_secret(char *buf, size_t cap)
{
	if (buf) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
}

/*
 * Read a whole PEM file into a NUL-terminated buffer of *cap bytes (free it
 * with free_secret(buf, *cap): it may hold a private key).  read(2) instead
 * of stdio so that no unwiped copy stays in a FILE buffer; growing copies
 * are wiped too.
 */
static int read_pem_file(const char *path, char **out, size_t *out_len,
			 size_t *out_cap, struct es_err *err)
{
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, ret;

	if (!path)
		return es_fail(err, -EINVAL, "no file name given");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		return es_fail(err, ret, "%s: %s", ES_PATH(path), strerror(-ret));
	}
	for (;;) {
		if (len > PEM_FILE_MAX) {
			ret = es_fail(err, -EFBIG,
				      "%s: larger than %u bytes, not a PEM key or certificate file",
				      ES_PATH(path), PEM_FILE_MAX);
			goto fail;
		}
		if (cap - len < 2) {
			size_t ncap = cap ? 2 * cap : 8192;

			nbuf = malloc(ncap);
			if (!nbuf) {
				ret = es_fail(err, -ENOMEM, "out of memory");
				goto fail;
			}
			if (len)
				memcpy(nbuf, buf, len);
			free_secret(buf, cap);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			es_fail(err, ret, "%s: %s", ES_PATH(path), strerror(-ret));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	*out_cap = cap;
	return 0;
fail:
	close(fd);
	free_secret(buf, cap);
	return ret;
}

/* BIO over a buffer we own; the buffer must outlive the BIO. */
static BIO *mem_bio(const void *buf, size_t len)
{
	static const char empty[1];

	if (len > INT_MAX)
		return NULL;
	return BIO_new_mem_buf(len ? buf : empty, (int)len);
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
	BIO *mem = mem_bio(buf, len), *filter;

	if (!mem)
		return NULL;
	filter = BIO_new(BIO_f_null());
	if (!filter) {
		BIO_free(mem);
		return NULL;
	}
	return BIO_push(filter, mem);
}

/* Never prompt for a passphrase: the library must not touch the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* ---- signer ------------------------------------------------------------- */

/* What a PEM file is read for: its text is checked, then parsed. */
enum pem_kind { PEM_PRIVATE_KEY, PEM_CERTIFICATE };

/*
 * Read the first object of one kind from a PEM file.  The file's text is
 * held in a buffer that is cleansed afterwards, since it may hold a key.
 */
static int load_pem(const char *path, enum pem_kind kind, void **out, struct es_err *err)
{
	char *text = NULL;
	size_t len, cap;
	BIO *bio;
	int ret;

	*out = NULL;
	ret = read_pem_file(path, &text, &len, &cap, err);
	if (ret)
		return ret;
	if (kind == PEM_PRIVATE_KEY &&
	    (strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	     strstr(text, "Proc-Type: 4,ENCRYPTED"))) {
		ret = es_fail(err, -EBADMSG,
			      "%s: encrypted private keys are not supported (decrypt it with `openssl pkey`)",
			      ES_PATH(path));
		goto out;
	}
	bio = mem_bio(text, len);
	if (!bio) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* PEM readers skip other blocks, so a key+certificate file works */
	if (kind == PEM_PRIVATE_KEY)
		*out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		*out = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!*out) {
		char what[ES_ERR_MSG_MAX / 2];

		snprintf(what, sizeof(what), "%s: no PEM %s", ES_PATH(path),
			 kind == PEM_PRIVATE_KEY ? "private key" : "certificate");
		ret = ossl_fail(err, -EBADMSG, what);
	}
out:
	free_secret(text, cap);
	return ret;
}

static int load_private_key(const char *path, EVP_PKEY **out, struct es_err *err)
{
	void *obj;
	int ret = load_pem(path, PEM_PRIVATE_KEY, &obj, err);

	*out = obj;
	return ret;
}

static int load_signer_cert(const char *path, X509 **out, struct es_err *err)
{
	void *obj;
	int ret = load_pem(path, PEM_CERTIFICATE, &obj, err);

	*out = obj;
	return ret;
}

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
	ret = load_private_key(key_pem_path, &s->pkey, err);
	if (ret)
		goto fail;
	s->kind = key_kind_of(s->pkey);
	if (s->kind == KEY_OTHER) {
		ret = es_fail(err, -EOPNOTSUPP,
			      "%s: %s keys are not supported (use RSA, ECDSA or Ed25519)",
			      ES_PATH(key_pem_path), EVP_PKEY_get0_type_name(s->pkey) ?
			      EVP_PKEY_get0_type_name(s->pkey) : "these");
		goto fail;
	}
	if (cert_pem_path) {
		ret = load_signer_cert(cert_pem_path, &s->cert, err);
		if (ret)
			goto fail;
		if (EVP_PKEY_eq(X509_get0_pubkey(s->cert), s->pkey) != 1) {
			ret = es_fail(err, -EINVAL,
				      "%s: certificate does not belong to the key in %s",
				      ES_PATH(cert_pem_path), ES_PATH(key_pem_path));
			goto fail;
		}
	}
	ret = spki_key_id(s->pkey, s->key_id, err);
	if (ret)
		goto fail;
	if (s->kind == KEY_ED25519)
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
	OPENSSL_cleanse(s, sizeof(*s));
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

/* CMS SignedData: detached, binary, SHA-256, no signed attributes. */
static int sign_cms(const struct es_signer *s, const uint8_t *msg, size_t len,
		    uint8_t **sig, size_t *sig_len, struct es_err *err)
{
	const unsigned int flags = CMS_BINARY | CMS_DETACHED | CMS_NOATTR |
				   CMS_PARTIAL;
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	BIO *in;
	int der_len, ret;

	in = mem_bio(msg, len);
	if (!in)
		return es_fail(err, -ENOMEM, "out of memory");
	/* PARTIAL: no signer yet, so that the digest can be chosen below */
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (!cms) {
		ret = ossl_fail(err, -ENOMEM, "CMS_sign failed");
		goto out;
	}
	if (!CMS_add1_signer(cms, s->cert, s->pkey, EVP_sha256(), flags)) {
		ret = ossl_fail(err, -EINVAL, "cannot add the CMS signer");
		goto out;
	}
	if (!CMS_final(cms, in, NULL, flags)) {
		ret = ossl_fail(err, -EINVAL, "CMS signing failed");
		goto out;
	}
	der_len = i2d_CMS_ContentInfo(cms, &der);
	if (der_len <= 0) {
		ret = ossl_fail(err, -ENOMEM, "cannot encode the CMS signature");
		goto out;
	}
	ret = dup_der(der, der_len, sig, sig_len, err);
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return ret;
}

/* Ed25519 (md NULL: EdDSA hashes internally) or SHA-256 RSA/ECDSA. */
static int sign_plain(const struct es_signer *s, const EVP_MD *md,
		      const uint8_t *msg, size_t len, uint8_t **sig,
		      size_t *sig_len, struct es_err *err)
{
	static const uint8_t empty[1];
	EVP_MD_CTX *ctx;
	uint8_t *buf = NULL;
	size_t max;
	int ret = 0;

	if (EVP_PKEY_get_size(s->pkey) <= 0)
		return es_fail(err, -EINVAL, "cannot size the signature");
	max = (size_t)EVP_PKEY_get_size(s->pkey);
	ctx = EVP_MD_CTX_new();
	buf = malloc(max);
	if (!ctx || !buf) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, s->pkey) != 1) {
		ret = ossl_fail(err, -EINVAL, "cannot start signing");
		goto out;
	}
	if (EVP_DigestSign(ctx, buf, &max, len ? msg : empty, len) != 1) {
		ret = ossl_fail(err, -EINVAL, "signing failed");
		goto out;
	}
	*sig = buf;
	*sig_len = max;
	buf = NULL;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return ret;
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
		ret = sign_cms(s, msg, len, sig, sig_len, err);
		break;
	case ES_SIG_ED25519:
		ret = sign_plain(s, NULL, msg, len, sig, sig_len, err);
		break;
	case ES_SIG_RAW:
		ret = sign_plain(s, EVP_sha256(), msg, len, sig, sig_len, err);
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
	if (s->kind != KEY_RSA && s->kind != KEY_EC)
		return es_fail(err, -EOPNOTSUPP,
			       "fs-verity signatures need an RSA or ECDSA key, not %s",
			       kind_name(s->kind));

	ERR_set_mark();
	es_verity_formatted_digest(digest, fmt);
	in = mem_bio(fmt, sizeof(fmt));
	if (!in) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	p7 = PKCS7_sign(NULL, NULL, NULL, in, flags);
	if (!p7) {
		ret = ossl_fail(err, -ENOMEM, "PKCS7_sign failed");
		goto out;
	}
	if (!PKCS7_sign_add_signer(p7, s->cert, s->pkey, EVP_sha256(), flags)) {
		ret = ossl_fail(err, -EINVAL, "cannot add the PKCS#7 signer");
		goto out;
	}
	if (PKCS7_final(p7, in, flags) != 1) {
		ret = ossl_fail(err, -EINVAL, "PKCS#7 signing failed");
		goto out;
	}
	der_len = i2d_PKCS7(p7, &der);
	if (der_len <= 0) {
		ret = ossl_fail(err, -ENOMEM, "cannot encode the PKCS#7 signature");
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

/* ---- trust anchors ------------------------------------------------------ */

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
		if (!CRYPTO_memcmp(t->pins[i], digest, 32))
			return true;
	return false;
}

static int trust_reserve(struct es_trust *t, size_t more, struct es_err *err)
{
	struct anchor *na;
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
static int trust_has(const struct es_trust *t, const struct anchor *a)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct anchor *b = &t->a[i];

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
static int anchor_init(struct anchor *a, X509 *cert, EVP_PKEY *pub,
		       const char *path, struct es_err *err)
{
	int ret;

	memset(a, 0, sizeof(*a));
	if (cert) {
		pub = X509_get0_pubkey(cert);
		if (!pub)
			return ossl_fail(err, -EBADMSG,
					 "certificate has no usable public key");
	}
	a->kind = key_kind_of(pub);
	if (a->kind == KEY_OTHER)
		return es_fail(err, -EOPNOTSUPP,
			       "%s: %s keys are not supported (use RSA, ECDSA or Ed25519)",
			       ES_PATH(path), EVP_PKEY_get0_type_name(pub) ?
			       EVP_PKEY_get0_type_name(pub) : "these");
	ret = spki_key_id(pub, a->key_id, err);
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

static void anchor_release(struct anchor *a)
{
	EVP_PKEY_free(a->pub);
	X509_free(a->cert);
	memset(a, 0, sizeof(*a));
}

/* Read a trust file; refuse it if it holds private key material. */
static int read_trust_file(const char *path, char **text, size_t *len,
			   size_t *cap, struct es_err *err)
{
	int ret;

	ret = read_pem_file(path, text, len, cap, err);
	if (ret)
		return ret;
	/* "-----BEGIN [RSA |EC |ENCRYPTED ]PRIVATE KEY-----"; no '-' in base64 */
	if (strstr(*text, "PRIVATE KEY-----")) {
		free_secret(*text, *cap);
		*text = NULL;
		return es_fail(err, -EINVAL,
			       "%s holds a private key; trust anchors must be public (extract the key with `openssl pkey -in KEY -pubout` or the certificate alone)",
			       ES_PATH(path));
	}
	return 0;
}

int es_trust_add_cert(struct es_trust *t, const char *cert_pem_path,
		      struct es_err *err)
{
	STACK_OF(X509) *certs = NULL;
	struct anchor *pending = NULL;
	size_t len, cap, i, npending = 0;
	char *text = NULL;
	BIO *bio = NULL;
	X509 *x;
	int ret, n;

	if (!t)
		return es_fail(err, -EINVAL, "es_trust_add_cert: no trust set");
	ret = read_trust_file(cert_pem_path, &text, &len, &cap, err);
	if (ret)
		return ret;

	ERR_set_mark();
	bio = mem_bio(text, len);
	certs = sk_X509_new_null();
	if (!bio || !certs) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL))) {
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			ret = es_fail(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	/* the loop ends at EOF ("no start line") or at a broken block */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE ||
	    sk_X509_num(certs) == 0) {
		char what[ES_ERR_MSG_MAX / 2];

		snprintf(what, sizeof(what), "%s: %s", ES_PATH(cert_pem_path),
			 sk_X509_num(certs) ? "bad PEM certificate" :
			 "no PEM certificate");
		ret = ossl_fail(err, -EBADMSG, what);
		goto out;
	}

	/* all or nothing: check every certificate before adding any */
	n = sk_X509_num(certs);
	pending = calloc((size_t)n, sizeof(*pending));
	if (!pending) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)n; i++) {
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
	BIO_free(bio);
	free_secret(text, cap);
	ERR_pop_to_mark();
	return ret;
}

int es_trust_add_pubkey(struct es_trust *t, const char *pub_pem_path,
			struct es_err *err)
{
	struct anchor a;
	size_t len, cap;
	char *text = NULL;
	EVP_PKEY *pub = NULL;
	BIO *bio = NULL;
	int ret;

	if (!t)
		return es_fail(err, -EINVAL, "es_trust_add_pubkey: no trust set");
	ret = read_trust_file(pub_pem_path, &text, &len, &cap, err);
	if (ret)
		return ret;

	ERR_set_mark();
	bio = mem_bio(text, len);
	if (!bio) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	pub = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (!pub) {
		if (strstr(text, "-----BEGIN CERTIFICATE-----"))
			ret = es_fail(err, -EINVAL,
				      "%s is a certificate, not a public key: add it as a certificate anchor",
				      ES_PATH(pub_pem_path));
		else if (strstr(text, "-----BEGIN RSA PUBLIC KEY-----"))
			ret = es_fail(err, -EBADMSG,
				      "%s: PKCS#1 \"RSA PUBLIC KEY\" is not supported; convert it with `openssl pkey -pubin -in FILE -out PUB.pem`",
				      ES_PATH(pub_pem_path));
		else {
			char what[ES_ERR_MSG_MAX / 2];

			snprintf(what, sizeof(what),
				 "%s: no PEM public key (\"BEGIN PUBLIC KEY\")",
				 pub_pem_path);
			ret = ossl_fail(err, -EBADMSG, what);
		}
		goto out;
	}
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
	BIO_free(bio);
	free_secret(text, cap);
	ERR_pop_to_mark();
	return ret;
}

/* A trusted anchor for this key id, preferring certificates (for desc). */
static const struct anchor *trust_find(const struct es_trust *t,
				       const uint8_t key_id[ES_SIGN_KEY_ID_SIZE])
{
	const struct anchor *found = NULL;
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

static void describe_key(enum key_kind kind,
			 const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			 char *buf, size_t len)
{
	char hex[17];

	key_id_short(key_id, hex);
	snprintf(buf, len, "%s key %s", kind_name(kind), hex);
}

/* ---- verification ------------------------------------------------------ */

static int verify_plain(const struct es_trust *t, enum es_sig_type type,
			const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			const uint8_t *sig, size_t sig_len,
			const uint8_t *msg, size_t len,
			char *desc, size_t desc_len, struct es_err *err)
{
	static const uint8_t empty[1];
	const struct anchor *a;
	EVP_MD_CTX *ctx;
	char hex[17];
	int r, ret = 0;

	key_id_short(key_id, hex);
	a = trust_find(t, key_id);
	if (!a)
		return es_fail(err, -EKEYREJECTED,
			       "%s signature by key %s: no trusted key has this id",
			       es_sig_type_name(type), hex);
	if (type == ES_SIG_ED25519 ? a->kind != KEY_ED25519 :
	    a->kind != KEY_RSA && a->kind != KEY_EC)
		return es_fail(err, -EBADMSG,
			       "%s signature, but key %s is an %s key",
			       es_sig_type_name(type), hex, kind_name(a->kind));
	if (type == ES_SIG_ED25519 && sig_len != ES_ED25519_SIG_SIZE)
		return es_fail(err, -EBADMSG,
			       "ed25519 signature is %zu bytes, not %d",
			       sig_len, ES_ED25519_SIG_SIZE);
	if (!sig_len)
		return es_fail(err, -EBADMSG, "empty signature");

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return es_fail(err, -ENOMEM, "out of memory");
	if (EVP_DigestVerifyInit(ctx, NULL,
				 type == ES_SIG_RAW ? EVP_sha256() : NULL,
				 NULL, a->pub) != 1) {
		ret = ossl_fail(err, -EINVAL, "cannot start verification");
		goto out;
	}
	r = EVP_DigestVerify(ctx, sig, sig_len, len ? msg : empty, len);
	if (r != 1) {
		char what[128];

		snprintf(what, sizeof(what),
			 "%s signature by %s key %s does not match the message",
			 es_sig_type_name(type), kind_name(a->kind), hex);
		/* r == 0: wrong signature; r < 0: unparsable (e.g. bad DER) */
		ret = r == 0 ? es_fail(err, -EBADMSG, "%s", what) :
			       ossl_fail(err, -EBADMSG, what);
		goto out;
	}
	if (desc_len) {
		if (a->cert)
			subject_string(a->cert, desc, desc_len);
		else
			describe_key(a->kind, a->key_id, desc, desc_len);
	}
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

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
	enum key_kind kind = key_kind_of(key);
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
	if (!((kind == KEY_RSA && (snid == NID_rsaEncryption ||
				   snid == NID_sha256WithRSAEncryption)) ||
	      (kind == KEY_EC && snid == NID_ecdsa_with_SHA256)) ||
	    !alg_params_ok(sig))
		return es_fail(err, -EBADMSG,
			       "CMS signature algorithm %s does not fit the signer's %s key",
			       snid != NID_undef ? OBJ_nid2sn(snid) : "unknown",
			       kind_name(kind));
	return 0;
}

/* Parse a DER CMS blob completely (no trailing bytes) and check its shape. */
static int parse_cms(const uint8_t *sig, size_t sig_len, CMS_ContentInfo **out,
		     CMS_SignerInfo **si_out, struct es_err *err)
{
	STACK_OF(CMS_SignerInfo) *sis;
	const unsigned char *p = sig;
	CMS_ContentInfo *cms;
	int n;

	*out = NULL;
	if (!sig_len)
		return es_fail(err, -EBADMSG, "empty CMS signature");
	if (sig_len > LONG_MAX)
		return es_fail(err, -EBADMSG, "CMS signature too large");
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len);
	if (!cms)
		return ossl_fail(err, -EBADMSG, "not a DER CMS structure");
	if ((size_t)(p - sig) != sig_len) {
		CMS_ContentInfo_free(cms);
		return es_fail(err, -EBADMSG,
			       "%zu bytes of garbage after the CMS structure",
			       sig_len - (size_t)(p - sig));
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

static int verify_cms(const struct es_trust *t,
		      const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
		      const uint8_t *sig, size_t sig_len,
		      const uint8_t *msg, size_t len,
		      char *desc, size_t desc_len, struct es_err *err)
{
	STACK_OF(X509) *anchor_certs = NULL;
	uint8_t signer_id[ES_SIGN_KEY_ID_SIZE];
	CMS_ContentInfo *cms = NULL;
	const struct anchor *a;
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
		ret = ossl_fail(err, -EBADMSG, "bad CMS signer information");
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
		ret = ossl_fail(err, -EBADMSG,
				"CMS signature does not match the message");
		goto out;
	}

	ret = spki_key_id(signer_key, signer_id, err);
	if (ret)
		goto out;
	key_id_short(signer_id, hex);
	if (key_id && memcmp(key_id, signer_id, ES_SIGN_KEY_ID_SIZE)) {
		ret = es_fail(err, -EBADMSG,
			      "key id of the signature record does not match the CMS signer (key %s)",
			      hex);
		goto out;
	}
	subject_string(signer, subject, sizeof(subject));
	a = trust_find(t, signer_id);
	if (!a) {
		ret = es_fail(err, -EKEYREJECTED,
			      "CMS signer %s (%s key %s) is not trusted",
			      subject, kind_name(key_kind_of(signer_key)), hex);
		goto out;
	}
	if (desc_len) {
		if (a->cert)
			subject_string(a->cert, desc, desc_len);
		else
			snprintf(desc, desc_len, "%s (%s key %s)", subject,
				 kind_name(a->kind), hex);
	}
out:
	BIO_free_all(content);
	sk_X509_free(anchor_certs);	/* the anchors keep their references */
	CMS_ContentInfo_free(cms);
	return ret;
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
		ret = verify_cms(t, key_id, sig, sig_len, msg, len,
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

static int describe_cms(const uint8_t *sig, size_t sig_len, const char *idpart,
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
		subject_string(signer, subject, sizeof(subject));
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
		key_id_short(key_id, hex);
		snprintf(idpart, sizeof(idpart), ", key id %s", hex);
	}
	ERR_set_mark();
	switch (type) {
	case ES_SIG_CMS:
		ret = sig ? describe_cms(sig, sig_len, idpart, buf, len) :
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
