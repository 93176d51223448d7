/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * What the OpenSSL side of lib/crypto/ shares internally.  Not installed,
 * not for code outside lib/crypto/: that uses include/erofs/sign.h and
 * lib/crypto/backend.h.
 *
 * The signature code (include/erofs/sign.h) is split by concern:
 *
 *   pem.c        reading PEM files: private keys, certificates, public keys
 *                (buffers that may hold a key are wiped)
 *   signer.c     es_signer_*(), es_sign()
 *   trust.c      es_trust_*(): key anchors and pinned manifest digests
 *   sigverify.c  es_verify_signature() and es_signature_describe(): the
 *                dispatch by signature type, raw and Ed25519 signatures
 *   cms.c        everything CMS / PKCS#7: signing, parsing, checking,
 *                describing, and fs-verity builtin signatures
 *
 * and rests on the backend (openssl.c) for key types, key ids and plain
 * signing and verification by key type.
 *
 * OpenSSL keeps a per-thread error queue; every public function sets a
 * mark on entry and pops back to it on exit, so callers find the queue as
 * they left it and our messages go to struct es_err only.
 */
#ifndef EROFS_CRYPTO_SIGN_INTERNAL_H
#define EROFS_CRYPTO_SIGN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/backend.h"
#include "erofs/err.h"
#include "erofs/sign.h"

struct es_signer {
	EVP_PKEY *pkey;
	X509 *cert;			/* NULL: no certificate */
	enum es_crypto_key_type kind;
	enum es_sig_type type;
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
};

/* A trusted key: a certificate's, or a bare public key. */
struct es_anchor {
	EVP_PKEY *pub;
	X509 *cert;			/* NULL for a bare public key */
	enum es_crypto_key_type kind;
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
};

struct es_trust {
	struct es_anchor *a;
	size_t n, cap;
	uint8_t (*pins)[32];		/* pinned manifest digests */
	size_t npins;
};

/* In the OpenSSL backend a struct es_crypto_pkey is an EVP_PKEY. */
static inline const struct es_crypto_pkey *es_crypto_pkey_of(const EVP_PKEY *pk)
{
	return (const struct es_crypto_pkey *)(const void *)pk;
}

/*
 * es_fail() with the reason of the newest OpenSSL error, if any, appended:
 * "what: reason".  Call it before popping the error-queue mark.
 * (openssl.c)
 */
int es_ossl_fail(struct es_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- hmac_sha512_openssl.c -------------------------------------------------- */

/*
 * HMAC-SHA512 of msg under key into out, without EVP: 0, -EIO, or -ENOSYS
 * where libcrypto lacks the SHA512_* functions (then use EVP).
 */
int es_ossl_hmac_sha512(const void *key, size_t key_len, const void *msg, size_t len,
			uint8_t out[64]);

/* ---- pem.c ---------------------------------------------------------------- */

/* A read-only memory BIO over buf (which must outlive it); NULL if no memory. */
BIO *es_mem_bio(const void *buf, size_t len);

/* The first private key in an unencrypted PEM file (-EBADMSG otherwise). */
int es_pem_load_private_key(const char *path, EVP_PKEY **out,
			    struct es_err *err);
/* The first certificate in a PEM file (which may also hold the key). */
int es_pem_load_cert(const char *path, X509 **out, struct es_err *err);
/*
 * Every certificate in a PEM file, at least one; a file with a private key
 * in it is refused (-EINVAL): trust anchors are public.
 */
int es_pem_load_certs(const char *path, STACK_OF(X509) **out,
		      struct es_err *err);
/* A "PUBLIC KEY" PEM file; refuses private keys like es_pem_load_certs(). */
int es_pem_load_pubkey(const char *path, EVP_PKEY **out, struct es_err *err);

/* The key's type, or -EOPNOTSUPP naming the file it came from. */
int es_pem_key_type(const EVP_PKEY *pk, const char *path,
		    enum es_crypto_key_type *type, struct es_err *err);

/* ---- trust.c -------------------------------------------------------------- */

/* A trusted anchor for this key id, preferring certificates; NULL if none. */
const struct es_anchor *es_trust_find(const struct es_trust *t,
				      const uint8_t key_id[ES_SIGN_KEY_ID_SIZE]);

/* ---- sigverify.c ---------------------------------------------------------- */

/* First 8 bytes of a key id as 16 hex digits. */
void es_key_id_short(const uint8_t key_id[ES_SIGN_KEY_ID_SIZE], char out[17]);
/* Printable subject of a certificate, RFC 2253 style ("CN=x,O=y"). */
void es_cert_subject(X509 *cert, char *buf, size_t len);

/* ---- cms.c ---------------------------------------------------------------- */

/* CMS SignedData: detached, binary, SHA-256, no signed attributes. */
int es_cms_sign(const struct es_signer *s, const uint8_t *msg, size_t len,
		uint8_t **sig, size_t *sig_len, struct es_err *err);
/* es_verify_signature() for ES_SIG_CMS; desc_len 0 when no description. */
int es_cms_verify(const struct es_trust *t,
		  const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
		  const uint8_t *sig, size_t sig_len,
		  const uint8_t *msg, size_t len,
		  char *desc, size_t desc_len, struct es_err *err);
/* es_signature_describe() for ES_SIG_CMS; idpart ends the line. */
/* The subject and algorithm of a CMS signature (es_signature_info()). */
int es_cms_info(const uint8_t *sig, size_t sig_len, struct es_sig_info *info);
int es_cms_describe(const uint8_t *sig, size_t sig_len, const char *idpart,
		    char *buf, size_t len);

#endif
