// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Reading PEM files: private keys (and their certificates) for signing,
 * certificates and public keys for trust anchors.  A file's text is read
 * whole into a buffer that is wiped before it is freed, since it may hold
 * a private key, and nothing ever prompts for a passphrase: the library
 * must not touch the terminal, so encrypted keys are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "crypto/sign_internal.h"

/* PEM files bigger than this are not keys or certificate bundles we want. */
#define PEM_FILE_MAX	(1u << 20)

/* A file's text, NUL-terminated; cap bytes are wiped when it is freed. */
struct pem_text {
	char *buf;
	size_t len, cap;
};

static void free_secret(char *buf, size_t cap)
{
	if (buf) {
		es_crypto_wipe(buf, cap);
		free(buf);
	}
}

static void pem_text_free(struct pem_text *text)
{
	free_secret(text->buf, text->cap);
	memset(text, 0, sizeof(*text));
}

/*
 * Read a whole PEM file.  read(2) instead of stdio so that no unwiped copy
 * stays in a FILE buffer; growing copies are wiped too.
 */
static int read_pem_file(const char *path, struct pem_text *out,
			 struct es_err *err)
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
	out->buf = buf;
	out->len = len;
	out->cap = cap;
	return 0;
fail:
	close(fd);
	free_secret(buf, cap);
	return ret;
}

BIO *es_mem_bio(const void *buf, size_t len)
{
	static const char empty[1];

	if (len > INT_MAX)
		return NULL;
	return BIO_new_mem_buf(len ? buf : empty, (int)len);
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

int es_pem_key_type(const EVP_PKEY *pk, const char *path,
		    enum es_crypto_key_type *type, struct es_err *err)
{
	*type = es_crypto_pkey_type(es_crypto_pkey_of(pk));
	if (*type == ES_CRYPTO_KEY_UNSUPPORTED)
		return es_fail(err, -EOPNOTSUPP,
			       "%s: %s keys are not supported (use RSA, ECDSA or Ed25519)",
			       ES_PATH(path), EVP_PKEY_get0_type_name(pk) ?
			       EVP_PKEY_get0_type_name(pk) : "these");
	return 0;
}

/* ---- for signing ---------------------------------------------------------- */

/* What a PEM file is read for: its text is checked, then parsed. */
enum pem_kind { PEM_PRIVATE_KEY, PEM_CERTIFICATE };

/* Read the first object of one kind from a PEM file. */
static int load_pem(const char *path, enum pem_kind kind, void **out,
		    struct es_err *err)
{
	struct pem_text text = { 0 };
	BIO *bio;
	int ret;

	*out = NULL;
	ret = read_pem_file(path, &text, err);
	if (ret)
		return ret;
	ERR_set_mark();
	if (kind == PEM_PRIVATE_KEY &&
	    (strstr(text.buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	     strstr(text.buf, "Proc-Type: 4,ENCRYPTED"))) {
		ret = es_fail(err, -EBADMSG,
			      "%s: encrypted private keys are not supported (decrypt it with `openssl pkey`)",
			      ES_PATH(path));
		goto out;
	}
	bio = es_mem_bio(text.buf, text.len);
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
	if (!*out)
		ret = es_ossl_fail(err, -EBADMSG, "%s: no PEM %s", ES_PATH(path),
				   kind == PEM_PRIVATE_KEY ? "private key" :
				   "certificate");
out:
	pem_text_free(&text);
	ERR_pop_to_mark();
	return ret;
}

int es_pem_load_private_key(const char *path, EVP_PKEY **out,
			    struct es_err *err)
{
	void *obj;
	int ret = load_pem(path, PEM_PRIVATE_KEY, &obj, err);

	*out = obj;
	return ret;
}

int es_pem_load_cert(const char *path, X509 **out, struct es_err *err)
{
	void *obj;
	int ret = load_pem(path, PEM_CERTIFICATE, &obj, err);

	*out = obj;
	return ret;
}

/* ---- for trust anchors ------------------------------------------------ */

/* Read a file of public material; refuse it if it holds a private key. */
static int read_public_pem(const char *path, struct pem_text *text,
			   struct es_err *err)
{
	int ret;

	ret = read_pem_file(path, text, err);
	if (ret)
		return ret;
	/* "-----BEGIN [RSA |EC |ENCRYPTED ]PRIVATE KEY-----"; no '-' in base64 */
	if (strstr(text->buf, "PRIVATE KEY-----")) {
		pem_text_free(text);
		return es_fail(err, -EINVAL,
			       "%s holds a private key; trust anchors must be public (extract the key with `openssl pkey -in KEY -pubout` or the certificate alone)",
			       ES_PATH(path));
	}
	return 0;
}

int es_pem_load_certs(const char *path, STACK_OF(X509) **out,
		      struct es_err *err)
{
	STACK_OF(X509) *certs = NULL;
	struct pem_text text = { 0 };
	BIO *bio = NULL;
	X509 *x;
	int ret;

	*out = NULL;
	ret = read_public_pem(path, &text, err);
	if (ret)
		return ret;
	ERR_set_mark();
	bio = es_mem_bio(text.buf, text.len);
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
		ret = es_ossl_fail(err, -EBADMSG, "%s: %s", ES_PATH(path),
				   sk_X509_num(certs) ? "bad PEM certificate" :
				   "no PEM certificate");
		goto out;
	}
	*out = certs;
	certs = NULL;
out:
	sk_X509_pop_free(certs, X509_free);
	BIO_free(bio);
	pem_text_free(&text);
	ERR_pop_to_mark();
	return ret;
}

int es_pem_load_pubkey(const char *path, EVP_PKEY **out, struct es_err *err)
{
	struct pem_text text = { 0 };
	BIO *bio = NULL;
	int ret;

	*out = NULL;
	ret = read_public_pem(path, &text, err);
	if (ret)
		return ret;
	ERR_set_mark();
	bio = es_mem_bio(text.buf, text.len);
	if (!bio) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	*out = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (*out)
		goto out;
	if (strstr(text.buf, "-----BEGIN CERTIFICATE-----"))
		ret = es_fail(err, -EINVAL,
			      "%s is a certificate, not a public key: add it as a certificate anchor",
			      ES_PATH(path));
	else if (strstr(text.buf, "-----BEGIN RSA PUBLIC KEY-----"))
		ret = es_fail(err, -EBADMSG,
			      "%s: PKCS#1 \"RSA PUBLIC KEY\" is not supported; convert it with `openssl pkey -pubin -in FILE -out PUB.pem`",
			      ES_PATH(path));
	else
		ret = es_ossl_fail(err, -EBADMSG,
				   "%s: no PEM public key (\"BEGIN PUBLIC KEY\")",
				   ES_PATH(path));
out:
	BIO_free(bio);
	pem_text_free(&text);
	ERR_pop_to_mark();
	return ret;
}
