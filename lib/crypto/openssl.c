// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The crypto backend on OpenSSL 3 libcrypto, for hosted builds.  See
 * lib/crypto/backend.h for the interface; SHA-256 lives next door in
 * sha256_openssl.c so that its tests can link it alone.
 *
 * Every function that can leave errors in the thread's OpenSSL error queue
 * sets a mark first and pops back to it before returning, after turning
 * the reason into an es_err message where it has one.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "crypto/backend.h"
#include "crypto/be.h"
#include "crypto/sha256_shani.h"
#include "crypto/sign_internal.h"

/* ---- errors ------------------------------------------------------------- */

int es_ossl_fail(struct es_err *err, int code, const char *fmt, ...)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char what[ES_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (reason)
		return es_fail(err, code, "%s: %s", what, reason);
	return es_fail(err, code, "%s", what);
}

/* ---- memory ------------------------------------------------------------- */

void es_crypto_wipe(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

int es_crypto_memcmp(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) != 0;
}

/* ---- random bytes --------------------------------------------------------- */

/* RAND_bytes() and RAND_priv_bytes() take an int length: fill in pieces. */
static int random_fill(int (*fill)(unsigned char *, int), void *buf,
		       size_t len)
{
	unsigned char *p = buf;
	size_t left = len;
	int ret = 0;

	if (!buf && len)
		return -EINVAL;
	ERR_set_mark();
	while (left) {
		int n = left > INT_MAX ? INT_MAX : (int)left;

		if (fill(p, n) != 1) {
			es_crypto_wipe(buf, len);
			ret = -EIO;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_random(void *buf, size_t len)
{
	return random_fill(RAND_bytes, buf, len);
}

int es_crypto_random_secret(void *buf, size_t len)
{
	return random_fill(RAND_priv_bytes, buf, len);
}

/* ---- signatures ------------------------------------------------------- */

/*
 * OpenSSL's signing calls take a non-const EVP_PKEY but leave the key as
 * it is (one key may sign from several threads), so a const key is
 * handed over as it is.
 */
static EVP_PKEY *evp_pkey(const struct es_crypto_pkey *key)
{
	return (EVP_PKEY *)(const void *)key;
}

enum es_crypto_key_type es_crypto_pkey_type(const struct es_crypto_pkey *key)
{
	const EVP_PKEY *pk = evp_pkey(key);

	if (EVP_PKEY_is_a(pk, "RSA"))
		return ES_CRYPTO_KEY_RSA;
	if (EVP_PKEY_is_a(pk, "EC"))
		return ES_CRYPTO_KEY_EC;
	if (EVP_PKEY_is_a(pk, "ED25519"))
		return ES_CRYPTO_KEY_ED25519;
	return ES_CRYPTO_KEY_UNSUPPORTED;
}

const char *es_crypto_key_type_name(enum es_crypto_key_type type)
{
	switch (type) {
	case ES_CRYPTO_KEY_RSA:
		return "rsa";
	case ES_CRYPTO_KEY_EC:
		return "ecdsa";
	case ES_CRYPTO_KEY_ED25519:
		return "ed25519";
	case ES_CRYPTO_KEY_UNSUPPORTED:
		break;
	}
	return "unsupported";
}

int es_crypto_pkey_id(const struct es_crypto_pkey *key,
		      uint8_t id[ES_SHA256_DIGEST_SIZE], struct es_err *err)
{
	unsigned char *der = NULL;
	int len, ret;

	ERR_set_mark();
	len = i2d_PUBKEY(evp_pkey(key), &der);
	if (len <= 0) {
		ret = es_ossl_fail(err, -EINVAL, "cannot encode the public key");
		goto out;
	}
	ret = es_sha256(der, (size_t)len, id);
	if (ret)
		es_ossl_fail(err, ret, "SHA-256 failed");
out:
	OPENSSL_free(der);
	ERR_pop_to_mark();
	return ret;
}

/* The digest the key type signs with: none for Ed25519 (it hashes itself). */
static int scheme_digest(enum es_crypto_key_type type, const EVP_MD **md)
{
	switch (type) {
	case ES_CRYPTO_KEY_RSA:
	case ES_CRYPTO_KEY_EC:
		*md = EVP_sha256();
		return 0;
	case ES_CRYPTO_KEY_ED25519:
		*md = NULL;
		return 0;
	case ES_CRYPTO_KEY_UNSUPPORTED:
		break;
	}
	return -EOPNOTSUPP;
}

int es_crypto_sign(const struct es_crypto_pkey *key, const uint8_t *msg,
		   size_t len, uint8_t **sig, size_t *sig_len,
		   struct es_err *err)
{
	static const uint8_t empty[1];
	EVP_PKEY *pk = evp_pkey(key);
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md;
	uint8_t *buf = NULL;
	size_t max;
	int ret = 0;

	if (!key || !sig || !sig_len || (!msg && len))
		return es_fail(err, -EINVAL, "es_crypto_sign: bad arguments");
	*sig = NULL;
	*sig_len = 0;
	if (scheme_digest(es_crypto_pkey_type(key), &md))
		return es_fail(err, -EOPNOTSUPP, "cannot sign with %s keys",
			       EVP_PKEY_get0_type_name(pk) ?
			       EVP_PKEY_get0_type_name(pk) : "these");
	if (EVP_PKEY_get_size(pk) <= 0)
		return es_fail(err, -EINVAL, "cannot size the signature");
	max = (size_t)EVP_PKEY_get_size(pk);

	ERR_set_mark();
	ctx = EVP_MD_CTX_new();
	buf = malloc(max);
	if (!ctx || !buf) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, pk) != 1) {
		ret = es_ossl_fail(err, -EINVAL, "cannot start signing");
		goto out;
	}
	if (EVP_DigestSign(ctx, buf, &max, len ? msg : empty, len) != 1) {
		ret = es_ossl_fail(err, -EINVAL, "signing failed");
		goto out;
	}
	*sig = buf;
	*sig_len = max;
	buf = NULL;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_verify(const struct es_crypto_pkey *key, const uint8_t *sig,
		     size_t sig_len, const uint8_t *msg, size_t len,
		     const char *label, struct es_err *err)
{
	static const uint8_t empty[1];
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	int r, ret = 0;

	if (!key || (!sig && sig_len) || (!msg && len) || !label)
		return es_fail(err, -EINVAL, "es_crypto_verify: bad arguments");
	if (scheme_digest(es_crypto_pkey_type(key), &md))
		return es_fail(err, -EINVAL, "%s: unsupported key type", label);

	ERR_set_mark();
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, evp_pkey(key)) != 1) {
		ret = es_ossl_fail(err, -EINVAL, "cannot start verification");
		goto out;
	}
	r = EVP_DigestVerify(ctx, sig, sig_len, len ? msg : empty, len);
	/* r == 0: wrong signature; r < 0: unparsable (e.g. bad DER) */
	if (r == 0)
		ret = es_fail(err, -EBADMSG, "%s does not match the message",
			      label);
	else if (r != 1)
		ret = es_ossl_fail(err, -EBADMSG,
				   "%s does not match the message", label);
out:
	EVP_MD_CTX_free(ctx);
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_ed25519_verify(const uint8_t pub[ES_CRYPTO_ED25519_KEY_SIZE],
			     const void *msg, size_t len,
			     const uint8_t sig[ES_CRYPTO_ED25519_SIG_SIZE])
{
	static const uint8_t empty[1];
	EVP_PKEY *pk;
	EVP_MD_CTX *ctx = NULL;
	int ret = -ENOMEM;

	if (!pub || !sig || (!msg && len))
		return -EINVAL;
	/* OpenSSL refuses S >= L too, but as a plain mismatch */
	if (!es_crypto_ed25519_scalar_reduced(sig + 32))
		return -EINVAL;
	ERR_set_mark();
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
					 ES_CRYPTO_ED25519_KEY_SIZE);
	if (pk)
		ctx = EVP_MD_CTX_new();
	if (ctx) {
		ret = -EIO;
		if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1)
			ret = EVP_DigestVerify(ctx, sig, ES_CRYPTO_ED25519_SIG_SIZE,
					       len ? msg : empty, len) == 1 ? 0 : -EBADMSG;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ERR_pop_to_mark();
	return ret;
}

/* ---- AES-256-XTS ------------------------------------------------------ */

int es_crypto_xts_init(struct es_crypto_xts *x, enum es_crypto_dir dir)
{
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *cipher;
	int ret = 0;

	memset(x, 0, sizeof(*x));
	x->dir = dir;
	ERR_set_mark();
	cipher = EVP_CIPHER_fetch(NULL, "AES-256-XTS", NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx)
		ret = ctx ? -EIO : -ENOMEM;
	/* the context takes its own reference to the cipher */
	else if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL,
				    dir == ES_CRYPTO_ENCRYPT, NULL) != 1)
		ret = -EIO;
	EVP_CIPHER_free(cipher);
	ERR_pop_to_mark();
	if (ret) {
		EVP_CIPHER_CTX_free(ctx);
		return ret;
	}
	x->u.evp.cipher_ctx = ctx;
	return 0;
}

int es_crypto_xts_setkey(struct es_crypto_xts *x,
			 const uint8_t key[ES_CRYPTO_XTS_KEY_SIZE])
{
	const size_t half = ES_CRYPTO_XTS_KEY_SIZE / 2;
	int ok;

	x->keyed = false;
	if (!x->u.evp.cipher_ctx || !key)
		return -EINVAL;
	if (!es_crypto_memcmp(key, key + half, half))
		return -EINVAL;
	ERR_set_mark();
	ok = EVP_CipherInit_ex2(x->u.evp.cipher_ctx, NULL, key, NULL, -1,
				NULL) == 1;
	ERR_pop_to_mark();
	if (!ok)
		return -EIO;
	x->keyed = true;
	return 0;
}

int es_crypto_xts_crypt(struct es_crypto_xts *x,
			const uint8_t tweak[ES_CRYPTO_XTS_TWEAK_SIZE],
			const void *in, void *out, size_t len)
{
	EVP_CIPHER_CTX *ctx = x->u.evp.cipher_ctx;
	int outl = 0, ok;

	if (!x->keyed || !tweak || !in || !out ||
	    len < ES_CRYPTO_AES_BLOCK_SIZE || len > ES_CRYPTO_XTS_UNIT_SIZE ||
	    len % ES_CRYPTO_AES_BLOCK_SIZE)
		return -EINVAL;
	/* a new IV restarts the unit and keeps the key schedule */
	ERR_set_mark();
	ok = EVP_CipherInit_ex2(ctx, NULL, NULL, tweak, -1, NULL) == 1 &&
	     EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1 &&
	     outl == (int)len;
	ERR_pop_to_mark();
	if (!ok) {
		es_crypto_wipe(out, len);
		return -EIO;
	}
	return 0;
}

void es_crypto_xts_release(struct es_crypto_xts *x)
{
	/* frees and cleanses the key schedule */
	EVP_CIPHER_CTX_free(x->u.evp.cipher_ctx);
	memset(x, 0, sizeof(*x));
}

/* ---- AES-256-GCM ------------------------------------------------------ */

/*
 * The GCM run on ctx, which already has the AES-256-GCM algorithm (and the
 * direction): key and nonce set here.  Encrypt when tag_out is given (it
 * receives the tag), else check tag_in.
 */
static int gcm_ctx_run(EVP_CIPHER_CTX *ctx, const uint8_t *key, const uint8_t *nonce,
		       const void *aad, size_t aad_len, const void *in, size_t len,
		       void *out, uint8_t *tag_out, const uint8_t *tag_in)
{
	const int enc = tag_out != NULL;
	uint8_t last[ES_CRYPTO_AES_BLOCK_SIZE];
	int outl, ret = -EIO;

	/* GCM's default IV length is 12 bytes, ES_CRYPTO_GCM_NONCE_SIZE */
	if (EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL) != 1)
		goto out;
	if (aad_len &&
	    EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		goto out;
	if (len && (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 ||
		    outl != (int)len))
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
					ES_CRYPTO_GCM_TAG_SIZE,
					(void *)tag_in) != 1)
		goto out;
	/* GCM has no buffered output: Final only computes or checks the tag */
	if (EVP_CipherFinal_ex(ctx, last, &outl) != 1) {
		if (!enc)
			ret = -EBADMSG;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
				       ES_CRYPTO_GCM_TAG_SIZE, tag_out) != 1)
		goto out;
	ret = 0;
out:
	if (ret) {
		es_crypto_wipe(out, len);
		if (enc)
			es_crypto_wipe(tag_out, ES_CRYPTO_GCM_TAG_SIZE);
	}
	return ret;
}

static int gcm_check_args(const uint8_t *key, const uint8_t *nonce, const void *aad,
			  size_t aad_len, const void *in, size_t len, void *out,
			  const uint8_t *tag_out, const uint8_t *tag_in)
{
	if (!key || !nonce || (!tag_out && !tag_in) || (!aad && aad_len) ||
	    ((!in || !out) && len))
		return -EINVAL;
	if (len > INT_MAX || aad_len > INT_MAX)
		return -EFBIG;
	return 0;
}

/* A fresh context with AES-256-GCM in direction enc, or NULL (*ret says why). */
static EVP_CIPHER_CTX *gcm_ctx_new(int enc, int *ret)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	*ret = 0;
	if (!cipher || !ctx)
		*ret = ctx ? -EIO : -ENOMEM;
	/* the context takes its own reference to the cipher */
	else if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) != 1)
		*ret = -EIO;
	EVP_CIPHER_free(cipher);
	if (*ret) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* One message on a context of its own. */
static int gcm_run(const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
		   const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
		   const void *aad, size_t aad_len, const void *in, size_t len,
		   void *out, uint8_t *tag_out, const uint8_t *tag_in)
{
	EVP_CIPHER_CTX *ctx;
	int ret = gcm_check_args(key, nonce, aad, aad_len, in, len, out, tag_out, tag_in);

	if (ret)
		return ret;
	ERR_set_mark();
	ctx = gcm_ctx_new(tag_out != NULL, &ret);
	if (ctx)
		ret = gcm_ctx_run(ctx, key, nonce, aad, aad_len, in, len, out, tag_out, tag_in);
	else
		es_crypto_wipe(out, len);
	EVP_CIPHER_CTX_free(ctx);	/* cleanses the key schedule */
	ERR_pop_to_mark();
	return ret;
}

/* The engine: one decrypting context, re-keyed by each open. */
struct es_crypto_aead {
	EVP_CIPHER_CTX *ctx;
};

int es_crypto_aead_new(struct es_crypto_aead **out)
{
	struct es_crypto_aead *a;
	int ret;

	*out = NULL;
	a = OPENSSL_zalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	ERR_set_mark();
	a->ctx = gcm_ctx_new(0, &ret);
	ERR_pop_to_mark();
	if (ret) {
		OPENSSL_free(a);
		return ret;
	}
	*out = a;
	return 0;
}

void es_crypto_aead_free(struct es_crypto_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->ctx);	/* cleanses the key schedule and H */
	OPENSSL_free(a);
}

int es_crypto_aead_open_with(struct es_crypto_aead *a,
			     const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			     const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			     const void *aad, size_t aad_len,
			     const void *in, size_t len,
			     const uint8_t tag[ES_CRYPTO_GCM_TAG_SIZE], void *out)
{
	int ret;

	if (!a)
		return es_crypto_aead_open(key, nonce, aad, aad_len, in, len, tag, out);
	ret = gcm_check_args(key, nonce, aad, aad_len, in, len, out, NULL, tag);
	if (ret)
		return ret;
	ERR_set_mark();
	ret = gcm_ctx_run(a->ctx, key, nonce, aad, aad_len, in, len, out, NULL, tag);
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_aead_seal(const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			const void *aad, size_t aad_len,
			const void *in, size_t len, void *out,
			uint8_t tag[ES_CRYPTO_GCM_TAG_SIZE])
{
	if (!tag)
		return -EINVAL;
	return gcm_run(key, nonce, aad, aad_len, in, len, out, tag, NULL);
}

int es_crypto_aead_open(const uint8_t key[ES_CRYPTO_GCM_KEY_SIZE],
			const uint8_t nonce[ES_CRYPTO_GCM_NONCE_SIZE],
			const void *aad, size_t aad_len,
			const void *in, size_t len,
			const uint8_t tag[ES_CRYPTO_GCM_TAG_SIZE], void *out)
{
	if (!tag)
		return -EINVAL;
	return gcm_run(key, nonce, aad, aad_len, in, len, out, NULL, tag);
}

/* ---- MAC and key derivation ---------------------------------------------- */

static const char *hash_name(enum es_crypto_hash hash, size_t *size)
{
	switch (hash) {
	case ES_CRYPTO_SHA256:
		*size = 32;
		return OSSL_DIGEST_NAME_SHA2_256;
	case ES_CRYPTO_SHA512:
		*size = 64;
		return OSSL_DIGEST_NAME_SHA2_512;
	}
	return NULL;
}

/*
 * HMAC computed directly on two digest contexts per hash (RFC 2104:
 * H(K0 ^ opad | H(K0 ^ ipad | msg))), the digests fetched once.  EVP_MAC
 * would do the same work but copies, allocates and frees digest contexts
 * and looks parameters up by name on every key change, which cost about
 * as much as the four SHA-512 blocks of a chunk key.
 *
 * What the contexts hold between calls: the finished states of the last
 * MAC's inner hash (its digest) and outer hash (the MAC itself), never a
 * state keyed with K0 ^ ipad or K0 ^ opad that could compute further MACs
 * under the last key; K0 and the pads live on the stack and are wiped.
 * es_crypto_mac_free() cleanses the contexts.
 */
/*
 * HMAC-SHA512 needs no state here: its keys are per chunk, and it runs on
 * hmac_sha512_openssl.c.
 */
struct es_crypto_mac {
	EVP_MD *md;		/* SHA-256, without SHA-NI */
	EVP_MD_CTX *in, *out;
	/*
	 * HMAC-SHA256 on the SHA-NI compression (sha256_shani.h), for keys of
	 * at most a block: a build derives two identifiers per chunk under the
	 * one domain key, so the key's inner and outer states are kept for
	 * the next call (three compressions a MAC, not five, and no EVP).
	 */
	bool shani;
	bool keyed;		/* key, istate and ostate hold a prepared key */
	size_t key_len;
	uint8_t key[64];
	uint32_t istate[8], ostate[8];
};

void es_crypto_mac_free(struct es_crypto_mac *m)
{
	if (!m)
		return;
	EVP_MD_CTX_free(m->in);		/* cleanses the hash states */
	EVP_MD_CTX_free(m->out);
	EVP_MD_free(m->md);
	OPENSSL_clear_free(m, sizeof(*m));	/* the prepared key */
}

int es_crypto_mac_new(struct es_crypto_mac **out)
{
	struct es_crypto_mac *m;
	int ret = 0;

	*out = NULL;
	m = OPENSSL_zalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	ERR_set_mark();
	m->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	m->in = EVP_MD_CTX_new();
	m->out = EVP_MD_CTX_new();
	if (!m->md)
		ret = -EIO;
	else if (!m->in || !m->out)
		ret = -ENOMEM;
	ERR_pop_to_mark();
	if (ret) {
		es_crypto_mac_free(m);
		return ret;
	}
	m->shani = es_sha256_shani_usable();
	*out = m;
	return 0;
}

static const uint32_t sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* The inner and outer states of HMAC-SHA256 under key (key_len <= 64). */
static void shani_prepare(struct es_crypto_mac *m, const void *key, size_t key_len)
{
	uint8_t pad[64];

	memset(pad, 0x36, sizeof(pad));
	for (size_t j = 0; j < key_len; j++)
		pad[j] ^= ((const uint8_t *)key)[j];
	memcpy(m->istate, sha256_iv, sizeof(sha256_iv));
	es_sha256_shani_compress(m->istate, pad, 1);
	for (size_t j = 0; j < sizeof(pad); j++)
		pad[j] ^= 0x36 ^ 0x5c;
	memcpy(m->ostate, sha256_iv, sizeof(sha256_iv));
	es_sha256_shani_compress(m->ostate, pad, 1);
	es_crypto_wipe(pad, sizeof(pad));
	if (key_len)
		memcpy(m->key, key, key_len);
	m->key_len = key_len;
	m->keyed = true;
}

/* SHA-256 from state after one block (the pad), over msg: the digest. */
static void shani_finish(const uint32_t from[8], const uint8_t *msg, size_t len,
			 uint8_t out[32])
{
	uint8_t tail[128];
	uint32_t st[8];
	size_t whole = len / 64, rest = len % 64;
	size_t tail_len = rest < 64 - 8 ? 64 : 128;

	memcpy(st, from, sizeof(st));
	if (whole)
		es_sha256_shani_compress(st, msg, whole);
	if (rest)
		memcpy(tail, msg + whole * 64, rest);
	tail[rest] = 0x80;
	memset(tail + rest + 1, 0, tail_len - 8 - rest - 1);
	es_store_be64(tail + tail_len - 8, (uint64_t)(64 + len) << 3);
	es_sha256_shani_compress(st, tail, tail_len / 64);
	for (int i = 0; i < 8; i++)
		es_store_be32(out + 4 * i, st[i]);
	/* the message may be a secret's input; the state is its hash */
	es_crypto_wipe(tail, sizeof(tail));
	es_crypto_wipe(st, sizeof(st));
}

static void mac_shani(struct es_crypto_mac *m, const void *key, size_t key_len,
		      const void *msg, size_t len, uint8_t out[32])
{
	uint8_t inner[32];

	if (!m->keyed || m->key_len != key_len ||
	    (key_len && CRYPTO_memcmp(m->key, key, key_len)))
		shani_prepare(m, key, key_len);
	shani_finish(m->istate, msg, len, inner);
	shani_finish(m->ostate, inner, sizeof(inner), out);
	es_crypto_wipe(inner, sizeof(inner));
}

/* HMAC-SHA256 on m's contexts (no SHA-NI, or a key longer than a block). */
static int mac_direct(struct es_crypto_mac *m, const void *key, size_t key_len,
		      const void *msg, size_t len, uint8_t *out)
{
	const size_t block = 64, size = 32;
	uint8_t pad[64], inner[32];
	unsigned int n = 0;
	int ok = 1;

	memset(pad, 0, block);
	if (key_len > block)		/* K0 = H(K), zero-padded */
		ok = EVP_DigestInit_ex2(m->in, m->md, NULL) == 1 &&
		     EVP_DigestUpdate(m->in, key, key_len) == 1 &&
		     EVP_DigestFinal_ex(m->in, pad, &n) == 1;
	else if (key_len)
		memcpy(pad, key, key_len);
	for (size_t j = 0; j < block; j++)
		pad[j] ^= 0x36;
	ok = ok && EVP_DigestInit_ex2(m->in, m->md, NULL) == 1 &&
	     EVP_DigestUpdate(m->in, pad, block) == 1 &&
	     (!len || EVP_DigestUpdate(m->in, msg, len) == 1) &&
	     EVP_DigestFinal_ex(m->in, inner, &n) == 1 && n == size;
	for (size_t j = 0; j < block; j++)
		pad[j] ^= 0x36 ^ 0x5c;
	ok = ok && EVP_DigestInit_ex2(m->out, m->md, NULL) == 1 &&
	     EVP_DigestUpdate(m->out, pad, block) == 1 &&
	     EVP_DigestUpdate(m->out, inner, size) == 1 &&
	     EVP_DigestFinal_ex(m->out, out, &n) == 1 && n == size;
	es_crypto_wipe(pad, sizeof(pad));
	es_crypto_wipe(inner, sizeof(inner));
	return ok;
}

int es_crypto_mac(struct es_crypto_mac *m, enum es_crypto_hash hash, const void *key,
		  size_t key_len, const void *msg, size_t len, void *out)
{
	static const uint8_t empty[1];
	size_t size, out_len = 0;
	const char *digest = hash_name(hash, &size);
	int ok;

	if (!digest || (!key && key_len) || (!msg && len) || !out)
		return -EINVAL;
	if (m && m->shani && hash == ES_CRYPTO_SHA256 && key_len <= 64) {
		mac_shani(m, key, key_len, msg, len, out);	/* no OpenSSL call */
		return 0;
	}
	ERR_set_mark();
	if (hash == ES_CRYPTO_SHA512) {
		int ret = es_ossl_hmac_sha512(key, key_len, msg, len, out);

		if (ret != -ENOSYS) {
			ERR_pop_to_mark();
			return ret;
		}
		m = NULL;	/* a libcrypto without SHA512_*: EVP below */
	}
	if (m) {
		ok = mac_direct(m, key, key_len, msg, len, out);
		out_len = size;
	} else {
		ok = EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key_len ? key : empty,
			       key_len, len ? msg : empty, len, out, size, &out_len) != NULL;
	}
	ok = ok && out_len == size;
	ERR_pop_to_mark();
	if (!ok) {
		es_crypto_wipe(out, size);
		return -EIO;
	}
	return 0;
}

int es_crypto_mac_expand(struct es_crypto_mac *m, enum es_crypto_hash hash,
			 const void *prk, size_t prk_len, const void *info, size_t info_len,
			 void *out, size_t out_len)
{
	uint8_t msg[ES_CRYPTO_HKDF_INFO_MAX + 1], t[64];
	size_t size;
	int ret;

	if (!hash_name(hash, &size) || !prk || !prk_len || (!info && info_len) ||
	    info_len > ES_CRYPTO_HKDF_INFO_MAX || !out || !out_len || out_len > size)
		return -EINVAL;
	if (info_len)
		memcpy(msg, info, info_len);
	msg[info_len] = 1;
	ret = es_crypto_mac(m, hash, prk, prk_len, msg, info_len + 1, t);
	if (!ret)
		memcpy(out, t, out_len);
	es_crypto_wipe(t, sizeof(t));
	es_crypto_wipe(msg, info_len + 1);
	return ret;
}

int es_crypto_hmac_sha256(const void *key, size_t key_len,
			  const void *msg, size_t len,
			  uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	return es_crypto_mac(NULL, ES_CRYPTO_SHA256, key, key_len, msg, len, out);
}

/* OSSL_PARAM wants non-const buffers, though HKDF only reads them. */
static OSSL_PARAM octets(const char *name, const void *buf, size_t len)
{
	return OSSL_PARAM_construct_octet_string(name, (void *)buf, len);
}

static int hkdf_run(int mode, enum es_crypto_hash hash, const void *salt,
		    size_t salt_len, const void *key, size_t key_len,
		    const void *info, size_t info_len, void *out,
		    size_t out_len)
{
	OSSL_PARAM params[6], *p = params;
	EVP_KDF_CTX *kctx = NULL;
	EVP_KDF *kdf = NULL;
	size_t hash_size;
	const char *digest = hash_name(hash, &hash_size);
	int ret = -EIO;

	if (!digest || !key || !key_len || (!salt && salt_len) ||
	    (!info && info_len) || info_len > ES_CRYPTO_HKDF_INFO_MAX ||
	    !out || !out_len || out_len > 255 * hash_size)
		return -EINVAL;

	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)digest, 0);
	*p++ = octets(OSSL_KDF_PARAM_KEY, key, key_len);
	/* no salt parameter: hash-length zeros (RFC 5869 section 2.2) */
	if (salt_len)
		*p++ = octets(OSSL_KDF_PARAM_SALT, salt, salt_len);
	if (info_len)
		*p++ = octets(OSSL_KDF_PARAM_INFO, info, info_len);
	*p = OSSL_PARAM_construct_end();

	ERR_set_mark();
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	if (!kctx)
		ret = kdf ? -ENOMEM : -EIO;
	else if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		ret = 0;
	if (ret)
		es_crypto_wipe(out, out_len);
	EVP_KDF_CTX_free(kctx);		/* cleanses the copies of the key */
	EVP_KDF_free(kdf);
	ERR_pop_to_mark();
	return ret;
}

int es_crypto_hkdf(enum es_crypto_hash hash, const void *salt,
		   size_t salt_len, const void *ikm, size_t ikm_len,
		   const void *info, size_t info_len, void *out,
		   size_t out_len)
{
	return hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, hash, salt,
			salt_len, ikm, ikm_len, info, info_len, out, out_len);
}

int es_crypto_hkdf_expand(enum es_crypto_hash hash, const void *prk,
			  size_t prk_len, const void *info, size_t info_len,
			  void *out, size_t out_len)
{
	return hkdf_run(EVP_KDF_HKDF_MODE_EXPAND_ONLY, hash, NULL, 0, prk,
			prk_len, info, info_len, out, out_len);
}
