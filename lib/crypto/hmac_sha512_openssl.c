// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * HMAC-SHA512 on libcrypto's SHA512_* functions rather than EVP.  Each
 * chunk's cipher key is HKDF-Expand under that chunk's own secret, so no
 * key state carries over from one call to the next, and EVP's dispatch on
 * every init, update and final cost more than the four SHA-512
 * compressions themselves: 1.34 us a chunk key through EVP against 0.62 us
 * here, on the machine bench/REPORT.md describes.  Every reader and every
 * encrypted build derives one such key per chunk.
 *
 * The SHA512_* functions are deprecated in OpenSSL 3 but present in every
 * 3.x; this file alone asks for them, and where a libcrypto is built
 * without them it says so (-ENOSYS) and the caller keeps to EVP.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/opensslconf.h>
#include <openssl/sha.h>
#include "crypto/sign_internal.h"

#define BLOCK	SHA512_CBLOCK		/* 128 */
#define DIGEST	SHA512_DIGEST_LENGTH	/* 64 */

int es_ossl_hmac_sha512(const void *key, size_t key_len, const void *msg, size_t len,
			uint8_t out[64])
{
#ifdef OPENSSL_NO_DEPRECATED_3_0
	(void)key, (void)key_len, (void)msg, (void)len, (void)out;
	return -ENOSYS;
#else
	uint8_t pad[BLOCK], inner[DIGEST];
	SHA512_CTX c;
	int ok = 1;

	memset(pad, 0, sizeof(pad));
	if (key_len > BLOCK)		/* K0 = H(K), zero-padded */
		ok = SHA512(key, key_len, pad) != NULL;
	else if (key_len)
		memcpy(pad, key, key_len);
	for (size_t i = 0; i < BLOCK; i++)
		pad[i] ^= 0x36;
	ok = ok && SHA512_Init(&c) && SHA512_Update(&c, pad, BLOCK) &&
	     (!len || SHA512_Update(&c, msg, len)) && SHA512_Final(inner, &c);
	for (size_t i = 0; i < BLOCK; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	ok = ok && SHA512_Init(&c) && SHA512_Update(&c, pad, BLOCK) &&
	     SHA512_Update(&c, inner, DIGEST) && SHA512_Final(out, &c);
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(&c, sizeof(c));
	if (!ok) {
		OPENSSL_cleanse(out, DIGEST);
		return -EIO;
	}
	return 0;
#endif
}
