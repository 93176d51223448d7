/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * What the OpenSSL side of lib/crypto/ shares internally.  Not installed,
 * not for code outside lib/crypto/: that uses include/erofs/sign.h and
 * lib/crypto/backend.h.
 */
#ifndef EROFS_CRYPTO_SIGN_INTERNAL_H
#define EROFS_CRYPTO_SIGN_INTERNAL_H

#include <openssl/evp.h>

#include "crypto/backend.h"
#include "erofs/err.h"

/* In the OpenSSL backend a struct es_crypto_pkey is an EVP_PKEY. */
static inline const struct es_crypto_pkey *es_crypto_pkey_of(const EVP_PKEY *pk)
{
	return (const struct es_crypto_pkey *)(const void *)pk;
}

/*
 * es_fail() with the reason of the newest OpenSSL error, if any, appended:
 * "what: reason".  Call it before popping the error-queue mark.
 */
int es_ossl_fail(struct es_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
