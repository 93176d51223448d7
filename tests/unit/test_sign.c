// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Signature tests: round trips for every signer kind, tampering (message,
 * signature bits, truncation, garbage) never verifies and never crashes,
 * trust decisions (cert vs bare key anchors, unknown signers), key loading
 * errors and the fs-verity PKCS#7.
 *
 * Keys and self-signed certificates are generated with the OpenSSL API at
 * start-up and written as PEM files into a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "seeded_rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "erofs/seal.h"
#include "erofs/sha256.h"
#include "erofs/sign.h"
#include "erofs/verity.h"
#include "fixed_keys.h"

enum key_idx { K_RSA, K_EC, K_ED, K_RSA2, K_EC2, K_ED2, NKEYS };

struct key_files {
	EVP_PKEY *pkey;
	X509 *cert;
	char key[512], pub[512], cert_path[512], both[512];
};

struct fixture {
	char dir[256];
	struct key_files k[NKEYS];
	char expired_cert[512];	/* K_RSA's key, notAfter in the past */
	char encrypted[512];	/* K_RSA's key, passphrase-protected */
	char ed448[512];
	char bundle[512];	/* K_RSA2 and K_EC2 certificates */
	char garbage[512];
};

static const char *const key_names[NKEYS] = {
	"rsa", "ec", "ed", "rsa2", "ec2", "ed2",
};

static const char *const fixed_keys[NKEYS] = {
	[K_RSA] = test_key_rsa, [K_EC] = test_key_ec, [K_ED] = test_key_ed,
	[K_RSA2] = test_key_rsa2, [K_EC2] = test_key_ec2, [K_ED2] = test_key_ed2,
};

/* ---- fixture: keys and certificates ------------------------------------ */

static X509 *make_cert(EVP_PKEY *pkey, const char *cn, long serial,
		       long not_after_days)
{
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x),
					not_after_days < 0 ? -10 * 86400L : 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x),
					not_after_days * 86400L));
	assert_int_equal(X509_set_pubkey(x, pkey), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
			 (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, pkey, EVP_PKEY_is_a(pkey, "ED25519") ?
			      NULL : EVP_sha256()) > 0);
	return x;
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	return f;
}

static void write_key(const char *path, EVP_PKEY *pkey)
{
	FILE *f = open_out(path);

	assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL,
					      NULL), 1);
	assert_int_equal(fclose(f), 0);
}

static void write_pub(const char *path, EVP_PKEY *pkey)
{
	FILE *f = open_out(path);

	assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
	assert_int_equal(fclose(f), 0);
}

static void write_cert(const char *path, X509 *x)
{
	FILE *f = open_out(path);

	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char dir[sizeof(fx->dir)];	/* a copy: fx's paths are written below */
	EVP_PKEY *ed448;
	X509 *x;
	FILE *f;
	int i;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "%s/test_sign.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	memcpy(dir, fx->dir, sizeof(dir));

	for (i = 0; i < NKEYS; i++) {
		struct key_files *k = &fx->k[i];
		char cn[64];

		k->pkey = fixed_key(fixed_keys[i]);
		assert_non_null(k->pkey);
		snprintf(cn, sizeof(cn), "test %s", key_names[i]);
		k->cert = make_cert(k->pkey, cn, 1000 + i, 365);
		snprintf(k->key, sizeof(k->key), "%s/%s.pem", dir,
			 key_names[i]);
		snprintf(k->pub, sizeof(k->pub), "%s/%s-pub.pem", dir,
			 key_names[i]);
		snprintf(k->cert_path, sizeof(k->cert_path), "%s/%s-cert.pem",
			 dir, key_names[i]);
		snprintf(k->both, sizeof(k->both), "%s/%s-both.pem", dir,
			 key_names[i]);
		write_key(k->key, k->pkey);
		write_pub(k->pub, k->pkey);
		write_cert(k->cert_path, k->cert);
		f = open_out(k->both);
		assert_int_equal(PEM_write_X509(f, k->cert), 1);
		assert_int_equal(PEM_write_PrivateKey(f, k->pkey, NULL, NULL,
						      0, NULL, NULL), 1);
		assert_int_equal(fclose(f), 0);
	}

	snprintf(fx->expired_cert, sizeof(fx->expired_cert),
		 "%s/expired-cert.pem", dir);
	x = make_cert(fx->k[K_RSA].pkey, "test expired", 2000, -1);
	write_cert(fx->expired_cert, x);
	X509_free(x);

	snprintf(fx->encrypted, sizeof(fx->encrypted), "%s/encrypted.pem",
		 dir);
	f = open_out(fx->encrypted);
	assert_int_equal(PEM_write_PrivateKey(f, fx->k[K_RSA].pkey,
					      EVP_aes_256_cbc(),
					      (unsigned char *)"secret", 6,
					      NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);

	snprintf(fx->ed448, sizeof(fx->ed448), "%s/ed448.pem", dir);
	ed448 = fixed_key(test_key_ed448);
	assert_non_null(ed448);
	write_key(fx->ed448, ed448);
	EVP_PKEY_free(ed448);

	snprintf(fx->bundle, sizeof(fx->bundle), "%s/bundle.pem", dir);
	f = open_out(fx->bundle);
	assert_int_equal(PEM_write_X509(f, fx->k[K_RSA2].cert), 1);
	assert_int_equal(PEM_write_X509(f, fx->k[K_EC2].cert), 1);
	assert_int_equal(fclose(f), 0);

	snprintf(fx->garbage, sizeof(fx->garbage), "%s/garbage.pem", dir);
	f = open_out(fx->garbage);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 !!\n"
	      "-----END CERTIFICATE-----\n", f);
	assert_int_equal(fclose(f), 0);

	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[400];
	int i;

	for (i = 0; i < NKEYS; i++) {
		EVP_PKEY_free(fx->k[i].pkey);
		X509_free(fx->k[i].cert);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static struct es_signer *load(const char *key, const char *cert)
{
	struct es_err err = { 0 };
	struct es_signer *s = NULL;
	int ret = es_signer_load(&s, key, cert, &err);

	if (ret)
		fprintf(stderr, "es_signer_load: %s\n", err.msg);
	assert_int_equal(ret, 0);
	assert_non_null(s);
	return s;
}

enum anchor_kind { BY_CERT, BY_PUB };

static struct es_trust *trust_of(const struct fixture *fx, enum anchor_kind how,
				 int n, ...)
{
	struct es_err err = { 0 };
	struct es_trust *t = NULL;
	va_list ap;
	int i;

	assert_int_equal(es_trust_new(&t, &err), 0);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const struct key_files *k = &fx->k[va_arg(ap, int)];

		if (how == BY_CERT)
			assert_int_equal(es_trust_add_cert(t, k->cert_path,
							   &err), 0);
		else
			assert_int_equal(es_trust_add_pubkey(t, k->pub, &err),
					 0);
	}
	va_end(ap);
	assert_int_equal(es_trust_count(t), (size_t)n);
	return t;
}

static void spki_sha256(EVP_PKEY *pkey, uint8_t out[32])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pkey, &der);

	assert_true(len > 0);
	assert_int_equal(EVP_Digest(der, (size_t)len, out, NULL, EVP_sha256(),
				    NULL), 1);
	OPENSSL_free(der);
}

/*
 * Messages and digests come from a fixed-seed generator (xorshift64*), and
 * keys from fixed_keys.h: every run signs and tampers with the same bytes.
 * Only ECDSA nonces still differ between runs; the tamper cases flip every
 * byte of a signature, so the positions tried never depend on them.
 */
static uint64_t prng_state = 0x9e3779b97f4a7c15ull;

static void random_bytes(uint8_t *buf, size_t len)
{
	seeded_fill(&prng_state, buf, len);
}

struct signed_msg {
	uint8_t msg[777];
	enum es_sig_type type;
	uint8_t key_id[ES_SIGN_KEY_ID_SIZE];
	uint8_t *sig;
	size_t sig_len;
};

static void sign_random(struct es_signer *s, struct signed_msg *m)
{
	struct es_err err = { 0 };
	int ret;

	random_bytes(m->msg, sizeof(m->msg));
	ret = es_sign(s, m->msg, sizeof(m->msg), &m->type, m->key_id,
		      &m->sig, &m->sig_len, &err);
	if (ret)
		fprintf(stderr, "es_sign: %s\n", err.msg);
	assert_int_equal(ret, 0);
	assert_non_null(m->sig);
	assert_true(m->sig_len > 0);
}

static int verify(const struct es_trust *t, const struct signed_msg *m,
		  const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		  size_t len, char *desc, size_t desc_len)
{
	struct es_err err = { 0 };
	int ret;

	ret = es_verify_signature(t, m->type, m->key_id, sig, sig_len, msg,
				  len, desc, desc_len, &err);
	if (ret) {
		/* every failure explains itself */
		assert_int_equal(err.code, ret);
		assert_true(strlen(err.msg) > 0);
	}
	return ret;
}

static int verify_ok(const struct es_trust *t, const struct signed_msg *m,
		     char *desc, size_t desc_len)
{
	return verify(t, m, m->sig, m->sig_len, m->msg, sizeof(m->msg), desc,
		      desc_len);
}

/* ---- round trips ---------------------------------------------------------- */

struct case_def {
	enum key_idx key;
	int with_cert;
	enum es_sig_type type;
	const char *desc_cert;	/* expected description with a cert anchor */
	const char *desc_pub;	/* expected prefix with a pubkey anchor */
};

static const struct case_def cases[] = {
	{ K_RSA, 1, ES_SIG_CMS, "CN=test rsa", "CN=test rsa (rsa key " },
	{ K_EC, 1, ES_SIG_CMS, "CN=test ec", "CN=test ec (ecdsa key " },
	{ K_ED, 0, ES_SIG_ED25519, "CN=test ed", "ed25519 key " },
	{ K_ED, 1, ES_SIG_ED25519, "CN=test ed", "ed25519 key " },
	{ K_RSA, 0, ES_SIG_RAW, "CN=test rsa", "rsa key " },
	{ K_EC, 0, ES_SIG_RAW, "CN=test ec", "ecdsa key " },
};

static void test_round_trips(void **state)
{
	const struct fixture *fx = *state;
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct case_def *cd = &cases[c];
		const struct key_files *k = &fx->k[cd->key];
		struct es_signer *s = load(k->key,
					   cd->with_cert ? k->cert_path : NULL);
		uint8_t expect_id[32], id[32];
		struct es_trust *tc, *tp;
		struct signed_msg m;
		char desc[128], hex[17];

		assert_int_equal(es_signer_type(s), cd->type);
		sign_random(s, &m);
		assert_int_equal(m.type, cd->type);
		spki_sha256(k->pkey, expect_id);
		assert_memory_equal(m.key_id, expect_id, 32);
		es_signer_key_id(s, id);
		assert_memory_equal(id, expect_id, 32);
		if (cd->type == ES_SIG_ED25519)
			assert_int_equal(m.sig_len, ES_ED25519_SIG_SIZE);
		if (cd->type == ES_SIG_RAW && cd->key == K_RSA)
			assert_int_equal(m.sig_len, 256);

		/* anchors: the certificate, or the bare public key */
		tc = trust_of(fx, BY_CERT, 2, K_RSA2, cd->key);
		tp = trust_of(fx, BY_PUB, 2, cd->key, K_EC2);
		assert_int_equal(verify_ok(tc, &m, desc, sizeof(desc)), 0);
		assert_string_equal(desc, cd->desc_cert);
		assert_int_equal(verify_ok(tp, &m, desc, sizeof(desc)), 0);
		assert_int_equal(strncmp(desc, cd->desc_pub,
					 strlen(cd->desc_pub)), 0);
		snprintf(hex, sizeof(hex), "%02x%02x%02x%02x%02x%02x%02x%02x",
			 expect_id[0], expect_id[1], expect_id[2], expect_id[3],
			 expect_id[4], expect_id[5], expect_id[6], expect_id[7]);
		assert_non_null(strstr(desc, hex));
		/* descriptions are optional and truncated safely */
		assert_int_equal(verify_ok(tp, &m, NULL, 0), 0);
		assert_int_equal(verify_ok(tc, &m, desc, 5), 0);
		assert_int_equal(strlen(desc), 4);

		es_trust_free(tc);
		es_trust_free(tp);
		free(m.sig);
		es_signer_free(s);
	}
}

static void test_deterministic_and_empty_message(void **state)
{
	const struct fixture *fx = *state;
	struct es_signer *s = load(fx->k[K_RSA].key, fx->k[K_RSA].cert_path);
	struct es_trust *t = trust_of(fx, BY_CERT, 1, K_RSA);
	uint8_t *sig1 = NULL, *sig2 = NULL;
	struct es_err err = { 0 };
	size_t len1, len2;
	enum es_sig_type type;

	/* RSA CMS without attributes has nothing random or time-dependent */
	assert_int_equal(es_sign(s, (const uint8_t *)"abc", 3, NULL, NULL,
				 &sig1, &len1, &err), 0);
	assert_int_equal(es_sign(s, (const uint8_t *)"abc", 3, NULL, NULL,
				 &sig2, &len2, &err), 0);
	assert_int_equal(len1, len2);
	assert_memory_equal(sig1, sig2, len1);
	free(sig1);
	free(sig2);

	assert_int_equal(es_sign(s, NULL, 0, &type, NULL, &sig1, &len1, &err),
			 0);
	assert_int_equal(es_verify_signature(t, type, NULL, sig1, len1, NULL,
					     0, NULL, 0, &err), 0);
	assert_int_equal(es_verify_signature(t, type, NULL, sig1, len1,
					     (const uint8_t *)"x", 1, NULL, 0,
					     &err), -EBADMSG);
	free(sig1);
	es_trust_free(t);
	es_signer_free(s);
}

/* ---- tampering ------------------------------------------------------------ */

static const uint8_t *find_bytes(const uint8_t *hay, size_t hay_len,
				 const uint8_t *needle, size_t len)
{
	size_t i;

	for (i = 0; i + len <= hay_len; i++)
		if (!memcmp(hay + i, needle, len))
			return hay + i;
	return NULL;
}

/*
 * What a one-bit flip at byte i of a signature may do: see test_tampering.
 * in_sig_value: byte i lies in the signature value itself.
 */
static void check_flip(enum es_sig_type type, int r, const uint8_t *sig,
		       size_t i, int in_sig_value, size_t cert_off,
		       size_t cert_len, size_t sid_off, size_t sid_len)
{
	if (type != ES_SIG_CMS)
		assert_int_equal(r, -EBADMSG);
	else if (r == 0)
		assert_true((i >= cert_off && i < cert_off + cert_len) ||
			    (i >= sid_off && i < sid_off + sid_len) ||
			    (i >= 2 && sig[i - 2] == 0x02 &&
			     sig[i - 1] == 0x01 && sig[i] == 0x01));
	else if (in_sig_value)
		assert_int_equal(r, -EBADMSG);
	else
		assert_true(r == -EBADMSG || r == -EKEYREJECTED);
}

static void test_tampering(void **state)
{
	const struct fixture *fx = *state;
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct case_def *cd = &cases[c];
		const struct key_files *k = &fx->k[cd->key];
		struct es_signer *s = load(k->key,
					   cd->with_cert ? k->cert_path : NULL);
		struct es_trust *tc = trust_of(fx, BY_CERT, 1, cd->key);
		struct es_trust *tp = trust_of(fx, BY_PUB, 1, cd->key);
		size_t cert_off = 0, cert_len = 0, sid_off = 0, sid_len = 0;
		size_t i, sig_value_len;
		unsigned int bit;
		uint8_t *bad, msg[sizeof(((struct signed_msg *)0)->msg)];
		unsigned char *cert_der = NULL;
		struct signed_msg m;
		int r, fails = 0;

		sign_random(s, &m);
		if (cd->type == ES_SIG_CMS) {
			const uint8_t *at;
			int n = i2d_X509(k->cert, &cert_der);

			assert_true(n > 0);
			at = find_bytes(m.sig, m.sig_len, cert_der, (size_t)n);
			assert_non_null(at);	/* the certificate is embedded */
			cert_off = (size_t)(at - m.sig);
			cert_len = (size_t)n;
			OPENSSL_free(cert_der);
			cert_der = NULL;
			/* the SignerInfo names its signer by issuer and serial */
			n = i2d_X509_NAME(X509_get_issuer_name(k->cert),
					  &cert_der);
			assert_true(n > 0);
			at = find_bytes(m.sig + cert_off + cert_len,
					m.sig_len - cert_off - cert_len,
					cert_der, (size_t)n);
			assert_non_null(at);
			sid_off = (size_t)(at - m.sig);
			sid_len = (size_t)n;
			OPENSSL_free(cert_der);
		}

		/* one flipped bit anywhere in the message */
		for (i = 0; i < sizeof(msg); i += 7) {
			memcpy(msg, m.msg, sizeof(msg));
			msg[i] ^= (uint8_t)(1u << (i % 8));
			assert_int_equal(verify(tc, &m, m.sig, m.sig_len, msg,
						sizeof(msg), NULL, 0), -EBADMSG);
		}
		/* shorter and longer messages */
		assert_int_equal(verify(tc, &m, m.sig, m.sig_len, m.msg,
					sizeof(m.msg) - 1, NULL, 0), -EBADMSG);

		/*
		 * Every bit of every byte of the signature, so that what is
		 * covered does not depend on where the certificate's random
		 * ECDSA signature length puts the later fields.  For CMS the
		 * embedded certificate is not authenticated (trust is in the
		 * key): a flip in, say, its validity dates or self-signature
		 * still verifies.  Nor are the SignedData and SignerInfo
		 * version numbers (OpenSSL ignores them) or the letter case in
		 * the signer's issuer name (names compare case-insensitively).
		 * Only flips there may pass.  A flip in
		 * the signer's issuer/serial makes the signer unfindable
		 * (-EKEYREJECTED).  Everything else must be -EBADMSG, notably
		 * a tag that loses its constructed bit, which OpenSSL's
		 * decoder alone would accept.
		 */
		bad = malloc(m.sig_len + 16);
		assert_non_null(bad);
		/* the signature value is the last field: RSA 256, Ed 64, EC DER */
		sig_value_len = cd->key == K_RSA ? 256 : cd->key == K_ED ? 64 :
				64;
		for (i = 0; i < m.sig_len; i++) {
			for (bit = 0; bit < 8; bit++) {
				memcpy(bad, m.sig, m.sig_len);
				bad[i] ^= (uint8_t)(1u << bit);
				r = verify(tp, &m, bad, m.sig_len, m.msg,
					   sizeof(m.msg), NULL, 0);
				check_flip(cd->type, r, m.sig, i,
					   i >= m.sig_len - sig_value_len,
					   cert_off, cert_len, sid_off,
					   sid_len);
				fails += r != 0;
			}
		}
		assert_true(fails > (int)(m.sig_len * 8 / 2));

		/* every truncation, and trailing garbage */
		for (i = 0; i < m.sig_len; i++)
			assert_int_equal(verify(tc, &m, m.sig, i, m.msg,
						sizeof(m.msg), NULL, 0),
					 -EBADMSG);
		memcpy(bad, m.sig, m.sig_len);
		memset(bad + m.sig_len, 0, 16);
		assert_int_equal(verify(tc, &m, bad, m.sig_len + 1, m.msg,
					sizeof(m.msg), NULL, 0), -EBADMSG);
		assert_int_equal(verify(tc, &m, bad, m.sig_len + 16, m.msg,
					sizeof(m.msg), NULL, 0), -EBADMSG);

		free(bad);
		free(m.sig);
		es_trust_free(tc);
		es_trust_free(tp);
		es_signer_free(s);
	}
}

static void test_garbage(void **state)
{
	const struct fixture *fx = *state;
	static const enum es_sig_type types[] = {
		ES_SIG_CMS, ES_SIG_ED25519, ES_SIG_RAW,
	};
	struct es_trust *t = trust_of(fx, BY_PUB, 3, K_RSA, K_EC, K_ED);
	uint8_t ids[3][32], buf[600];
	struct es_err err = { 0 };
	char line[256];
	size_t ti, n;
	int round;

	spki_sha256(fx->k[K_RSA].pkey, ids[0]);
	spki_sha256(fx->k[K_EC].pkey, ids[1]);
	spki_sha256(fx->k[K_ED].pkey, ids[2]);
	for (round = 0; round < 300; round++) {
		n = (size_t)(round * 2) % sizeof(buf);
		random_bytes(buf, sizeof(buf));
		/* sometimes look like a DER SEQUENCE to get past the tag */
		if (round % 3 == 0 && n > 4) {
			buf[0] = 0x30;
			buf[1] = 0x82;
			buf[2] = (uint8_t)((n - 4) >> 8);
			buf[3] = (uint8_t)(n - 4);
		}
		for (ti = 0; ti < 3; ti++) {
			const uint8_t *id = ids[(size_t)round % 3];
			int r;

			es_err_clear(&err);
			r = es_verify_signature(t, types[ti], id, buf, n,
						buf, sizeof(buf), line,
						sizeof(line), &err);
			assert_int_equal(r, -EBADMSG);
			assert_string_equal(line, "");
			r = es_signature_describe(types[ti], id, buf, n, line,
						  sizeof(line));
			assert_true(r == 0 || r == -EBADMSG);
			assert_true(strlen(line) > 0);
		}
	}
	es_trust_free(t);
}

/* ---- trust decisions ------------------------------------------------------ */

static void test_untrusted_signer(void **state)
{
	const struct fixture *fx = *state;
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct case_def *cd = &cases[c];
		const struct key_files *k = &fx->k[cd->key];
		struct es_signer *s = load(k->key,
					   cd->with_cert ? k->cert_path : NULL);
		/* the other key of every kind, but not the signer's */
		struct es_trust *tc = trust_of(fx, BY_CERT, 3, K_RSA2, K_EC2,
					       K_ED2);
		struct es_trust *tp = trust_of(fx, BY_PUB, 3, K_RSA2, K_EC2,
					       K_ED2);
		struct es_trust *empty = trust_of(fx, BY_PUB, 0);
		struct signed_msg m;
		char desc[64] = "junk";

		sign_random(s, &m);
		assert_int_equal(verify_ok(tc, &m, desc, sizeof(desc)),
				 -EKEYREJECTED);
		assert_string_equal(desc, "");
		assert_int_equal(verify_ok(tp, &m, NULL, 0), -EKEYREJECTED);
		assert_int_equal(verify_ok(empty, &m, NULL, 0), -EKEYREJECTED);
		/* but tampering is still reported as such when checkable */
		if (cd->type == ES_SIG_CMS) {
			m.msg[0] ^= 1;
			assert_int_equal(verify_ok(tp, &m, NULL, 0), -EBADMSG);
		}
		free(m.sig);
		es_trust_free(tc);
		es_trust_free(tp);
		es_trust_free(empty);
		es_signer_free(s);
	}
}

static void test_key_id_checks(void **state)
{
	const struct fixture *fx = *state;
	struct es_trust *t = trust_of(fx, BY_PUB, 4, K_RSA, K_RSA2, K_ED,
				      K_EC);
	struct es_signer *cms = load(fx->k[K_RSA].key, fx->k[K_RSA].cert_path);
	struct es_signer *raw = load(fx->k[K_RSA].key, NULL);
	struct es_signer *ed = load(fx->k[K_ED].key, NULL);
	struct es_err err = { 0 };
	struct signed_msg m;
	uint8_t other[32];

	spki_sha256(fx->k[K_RSA2].pkey, other);

	/* CMS: the record's key id must name the signer; NULL skips it */
	sign_random(cms, &m);
	assert_int_equal(es_verify_signature(t, m.type, NULL, m.sig, m.sig_len,
					     m.msg, sizeof(m.msg), NULL, 0,
					     &err), 0);
	memcpy(m.key_id, other, 32);
	assert_int_equal(verify_ok(t, &m, NULL, 0), -EBADMSG);
	free(m.sig);

	/* RAW: a key id naming another trusted RSA key fails the math */
	sign_random(raw, &m);
	memcpy(m.key_id, other, 32);
	assert_int_equal(verify_ok(t, &m, NULL, 0), -EBADMSG);
	/* ... and no key id at all is a usage error */
	es_err_clear(&err);
	assert_int_equal(es_verify_signature(t, m.type, NULL, m.sig, m.sig_len,
					     m.msg, sizeof(m.msg), NULL, 0,
					     &err), -EINVAL);
	free(m.sig);

	/* type confusion: an Ed25519 signature presented as RAW and back */
	sign_random(ed, &m);
	m.type = ES_SIG_RAW;
	assert_int_equal(verify_ok(t, &m, NULL, 0), -EBADMSG);
	m.type = ES_SIG_CMS;
	assert_int_equal(verify_ok(t, &m, NULL, 0), -EBADMSG);
	m.type = (enum es_sig_type)9;
	es_err_clear(&err);
	assert_int_equal(es_verify_signature(t, m.type, m.key_id, m.sig,
					     m.sig_len, m.msg, sizeof(m.msg),
					     NULL, 0, &err), -EINVAL);
	free(m.sig);

	es_signer_free(cms);
	es_signer_free(raw);
	es_signer_free(ed);
	es_trust_free(t);
}

static void test_trust_files(void **state)
{
	const struct fixture *fx = *state;
	struct es_signer *s = load(fx->k[K_RSA].key, fx->k[K_RSA].cert_path);
	struct es_err err = { 0 };
	struct es_trust *t = NULL;
	struct signed_msg m;
	char desc[64];

	assert_int_equal(es_trust_new(&t, &err), 0);
	/* private keys are refused, with a hint */
	assert_int_equal(es_trust_add_pubkey(t, fx->k[K_RSA].key, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "private key"));
	es_err_clear(&err);
	assert_int_equal(es_trust_add_cert(t, fx->k[K_RSA].both, &err),
			 -EINVAL);
	es_err_clear(&err);
	/* wrong kind of PEM */
	assert_int_equal(es_trust_add_pubkey(t, fx->k[K_RSA].cert_path, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "certificate"));
	es_err_clear(&err);
	assert_int_equal(es_trust_add_cert(t, fx->k[K_RSA].pub, &err),
			 -EBADMSG);
	es_err_clear(&err);
	assert_int_equal(es_trust_add_cert(t, fx->garbage, &err), -EBADMSG);
	es_err_clear(&err);
	assert_int_equal(es_trust_add_cert(t, "/nonexistent/x.pem", &err),
			 -ENOENT);
	es_err_clear(&err);
	assert_int_equal(es_trust_count(t), 0);

	/* a bundle adds every certificate; duplicates are skipped */
	assert_int_equal(es_trust_add_cert(t, fx->bundle, &err), 0);
	assert_int_equal(es_trust_count(t), 2);
	assert_int_equal(es_trust_add_cert(t, fx->bundle, &err), 0);
	assert_int_equal(es_trust_add_pubkey(t, fx->k[K_RSA2].pub, &err), 0);
	assert_int_equal(es_trust_add_pubkey(t, fx->k[K_RSA2].pub, &err), 0);
	assert_int_equal(es_trust_count(t), 3);

	/* an expired certificate still anchors its key (no date checks) */
	sign_random(s, &m);
	assert_int_equal(verify_ok(t, &m, NULL, 0), -EKEYREJECTED);
	assert_int_equal(es_trust_add_cert(t, fx->expired_cert, &err), 0);
	assert_int_equal(verify_ok(t, &m, desc, sizeof(desc)), 0);
	assert_string_equal(desc, "CN=test expired");
	free(m.sig);
	es_trust_free(t);
	es_signer_free(s);
}

/* Pinned manifest digests and the one authentication decision. */
static void test_manifest_pins(void **state)
{
	const struct fixture *fx = *state;
	static const char manifest[] = "not a real manifest, but bytes to pin";
	struct es_signer *signer = load(fx->k[K_RSA].key, NULL);
	struct es_seal_sig sig = { 0 };
	struct es_seal seal = { 0 };
	struct es_seal_auth auth;
	struct es_err err = { 0 };
	struct es_trust *t = NULL;
	uint8_t want[32], parsed[32], other[32];
	char text[ES_MANIFEST_DIGEST_TEXT_SIZE], upper[ES_MANIFEST_DIGEST_TEXT_SIZE];
	enum es_sig_type type;
	size_t sig_len;

	seal.manifest = (uint8_t *)manifest;
	seal.manifest_len = sizeof(manifest) - 1;
	assert_int_equal(es_seal_manifest_digest(&seal, want, &err), 0);
	assert_int_equal(es_sha256(manifest, sizeof(manifest) - 1, parsed), 0);
	assert_memory_equal(want, parsed, 32);

	/* text form round trip; case does not matter; anything else is refused */
	es_manifest_digest_format(want, text);
	assert_int_equal(strlen(text), ES_MANIFEST_DIGEST_TEXT_SIZE - 1);
	assert_int_equal(strncmp(text, "sha256:", 7), 0);
	assert_int_equal(es_manifest_digest_parse(text, parsed, &err), 0);
	assert_memory_equal(want, parsed, 32);
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i]);
	assert_int_equal(es_manifest_digest_parse(upper, parsed, &err), 0);
	assert_memory_equal(want, parsed, 32);
	{
		const char *bad[] = { text + 7, "sha256:", "sha512:00", "", "sha256:zz" };
		char longer[ES_MANIFEST_DIGEST_TEXT_SIZE + 1];

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			es_err_clear(&err);
			assert_int_equal(es_manifest_digest_parse(bad[i], parsed, &err), -EINVAL);
			assert_non_null(strstr(err.msg, "sha256:"));
		}
		snprintf(longer, sizeof(longer), "%s0", text);
		assert_int_equal(es_manifest_digest_parse(longer, parsed, NULL), -EINVAL);
		longer[ES_MANIFEST_DIGEST_TEXT_SIZE - 3] = '\0';
		assert_int_equal(es_manifest_digest_parse(longer, parsed, NULL), -EINVAL);
	}

	/* no anchor of either kind: nothing authenticates */
	assert_int_equal(es_seal_authenticate(&seal, NULL, NULL, &auth, NULL), -ENOKEY);
	assert_int_equal(es_trust_new(&t, &err), 0);
	assert_int_equal(es_seal_authenticate(&seal, t, NULL, &auth, NULL), -ENOKEY);
	assert_int_equal(auth.by, ES_AUTH_NONE);
	assert_memory_equal(auth.manifest_digest, want, 32);

	/* a pin of another manifest */
	memcpy(other, want, 32);
	other[31] ^= 1;
	assert_int_equal(es_trust_add_manifest_digest(t, other, &err), 0);
	assert_int_equal(es_trust_count(t), 0);
	assert_int_equal(es_trust_manifest_digest_count(t), 1);
	es_err_clear(&err);
	assert_int_equal(es_seal_authenticate(&seal, t, NULL, &auth, &err), -EKEYREJECTED);
	assert_int_equal(auth.digest, ES_DIGEST_MISMATCH);
	assert_int_equal(auth.signatures, -ENOKEY);
	assert_non_null(strstr(err.msg, text));

	/* the right pin (once, however often added) */
	assert_int_equal(es_trust_add_manifest_digest(t, want, &err), 0);
	assert_int_equal(es_trust_add_manifest_digest(t, want, &err), 0);
	assert_int_equal(es_trust_manifest_digest_count(t), 2);
	assert_true(es_trust_has_manifest_digest(t, want));
	assert_int_equal(es_seal_authenticate(&seal, t, NULL, &auth, NULL), 0);
	assert_int_equal(auth.by, ES_AUTH_DIGEST);
	assert_int_equal(auth.digest, ES_DIGEST_MATCH);

	/* with a key anchor too: an unsigned seal fails the signature policy,
	 * but the pin still authenticates it */
	assert_int_equal(es_trust_add_pubkey(t, fx->k[K_RSA].pub, &err), 0);
	assert_int_equal(es_seal_authenticate(&seal, t, NULL, &auth, NULL), 0);
	assert_int_equal(auth.by, ES_AUTH_DIGEST);
	assert_int_equal(auth.signatures, -EBADMSG);
	es_trust_free(t);

	/* keys and a wrong pin: a good signature authenticates; none, and the
	 * signature verdict is what is returned */
	assert_int_equal(es_trust_new(&t, &err), 0);
	assert_int_equal(es_trust_add_manifest_digest(t, other, &err), 0);
	assert_int_equal(es_trust_add_pubkey(t, fx->k[K_RSA].pub, &err), 0);
	es_err_clear(&err);
	assert_int_equal(es_seal_authenticate(&seal, t, NULL, &auth, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "pinned"));
	assert_int_equal(es_sign(signer, (const uint8_t *)manifest, sizeof(manifest) - 1,
				 &type, sig.key_id, &sig.data, &sig_len, &err), 0);
	sig.type = type;
	sig.len = (uint32_t)sig_len;
	seal.sigs = &sig;
	seal.nsigs = 1;
	assert_int_equal(es_seal_authenticate(&seal, t, NULL, &auth, NULL), 0);
	assert_int_equal(auth.by, ES_AUTH_SIGNATURE);
	assert_int_equal(auth.digest, ES_DIGEST_MISMATCH);
	es_trust_free(t);

	free(sig.data);
	es_signer_free(signer);
}

static void test_signer_load_errors(void **state)
{
	const struct fixture *fx = *state;
	struct es_err err = { 0 };
	struct es_signer *s = (struct es_signer *)&err;	/* must be reset */

	assert_int_equal(es_signer_load(&s, fx->k[K_RSA].key,
					fx->k[K_EC].cert_path, &err), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(err.msg, "does not belong"));
	es_err_clear(&err);
	assert_int_equal(es_signer_load(&s, fx->encrypted, NULL, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.msg, "encrypted"));
	es_err_clear(&err);
	assert_int_equal(es_signer_load(&s, fx->ed448, NULL, &err),
			 -EOPNOTSUPP);
	es_err_clear(&err);
	assert_int_equal(es_signer_load(&s, fx->k[K_RSA].pub, NULL, &err),
			 -EBADMSG);
	es_err_clear(&err);
	assert_int_equal(es_signer_load(&s, fx->k[K_RSA].cert_path, NULL,
					&err), -EBADMSG);
	es_err_clear(&err);
	assert_int_equal(es_signer_load(&s, fx->k[K_RSA].key, fx->garbage,
					&err), -EBADMSG);
	es_err_clear(&err);
	assert_int_equal(es_signer_load(&s, "/nonexistent/key.pem", NULL,
					&err), -ENOENT);
	assert_null(s);

	/* key and certificate in one file, as `fsverity sign` allows */
	s = load(fx->k[K_EC].both, fx->k[K_EC].both);
	assert_int_equal(es_signer_type(s), ES_SIG_CMS);
	es_signer_free(s);
	es_signer_free(NULL);
}

/* ---- describe and fs-verity ------------------------------------------------ */

static void test_describe(void **state)
{
	const struct fixture *fx = *state;
	struct es_signer *s = load(fx->k[K_EC].key, fx->k[K_EC].cert_path);
	struct es_signer *ed = load(fx->k[K_ED].key, NULL);
	struct signed_msg m;
	char line[256];

	sign_random(s, &m);
	assert_int_equal(es_signature_describe(m.type, m.key_id, m.sig,
					       m.sig_len, line, sizeof(line)),
			 0);
	assert_non_null(strstr(line, "cms ("));
	assert_non_null(strstr(line, "signer CN=test ec"));
	assert_non_null(strstr(line, "key id "));
	free(m.sig);

	sign_random(ed, &m);
	assert_int_equal(es_signature_describe(m.type, m.key_id, m.sig,
					       m.sig_len, line, sizeof(line)),
			 0);
	assert_int_equal(strncmp(line, "ed25519 (64 bytes), key id ", 27), 0);
	assert_int_equal(es_signature_describe((enum es_sig_type)0, NULL,
					       m.sig, m.sig_len, line,
					       sizeof(line)), -EINVAL);
	assert_non_null(strstr(line, "unknown"));
	assert_int_equal(es_signature_describe(m.type, NULL, m.sig, 3, line,
					       4), -EBADMSG);
	assert_int_equal(strlen(line), 3);
	free(m.sig);
	es_signer_free(s);
	es_signer_free(ed);
}

/* Who signed, from the signature alone and from the anchors (JSON signers). */
static void test_signature_info(void **state)
{
	const struct fixture *fx = *state;
	struct es_signer *rsa = load(fx->k[K_RSA].key, fx->k[K_RSA].cert_path);
	struct es_signer *ec_raw = load(fx->k[K_EC].key, NULL);
	struct es_signer *ed = load(fx->k[K_ED].key, NULL);
	struct es_trust *ec_anchor = trust_of(fx, BY_CERT, 1, K_EC);
	struct es_sig_info info;
	struct signed_msg m;

	sign_random(rsa, &m);
	assert_int_equal(es_signature_info(NULL, m.type, m.key_id, m.sig, m.sig_len, &info), 0);
	assert_string_equal(info.subject, "CN=test rsa");
	assert_string_equal(info.algorithm, "rsa");
	/* the certificate cut off: unparsable, nothing claimed */
	assert_int_equal(es_signature_info(NULL, m.type, m.key_id, m.sig, m.sig_len / 2, &info),
			 -EBADMSG);
	assert_string_equal(info.subject, "");
	free(m.sig);

	/* a raw ECDSA signature says nothing of its key without an anchor ... */
	sign_random(ec_raw, &m);
	assert_int_equal(m.type, ES_SIG_RAW);
	assert_int_equal(es_signature_info(NULL, m.type, m.key_id, m.sig, m.sig_len, &info), 0);
	assert_string_equal(info.algorithm, "");
	assert_string_equal(info.subject, "");
	/* ... and the anchor with its key id names both */
	assert_int_equal(es_signature_info(ec_anchor, m.type, m.key_id, m.sig, m.sig_len, &info),
			 0);
	assert_string_equal(info.algorithm, "ecdsa");
	assert_string_equal(info.subject, "CN=test ec");
	free(m.sig);

	sign_random(ed, &m);
	assert_int_equal(es_signature_info(ec_anchor, m.type, m.key_id, m.sig, m.sig_len, &info),
			 0);
	assert_string_equal(info.algorithm, "ed25519");
	assert_string_equal(info.subject, "");
	free(m.sig);
	es_trust_free(ec_anchor);
	es_signer_free(rsa);
	es_signer_free(ec_raw);
	es_signer_free(ed);
}

static void test_fsverity_sign(void **state)
{
	const struct fixture *fx = *state;
	struct es_signer *rsa = load(fx->k[K_RSA].key, fx->k[K_RSA].cert_path);
	struct es_signer *ec = load(fx->k[K_EC].key, fx->k[K_EC].cert_path);
	struct es_signer *nocert = load(fx->k[K_RSA].key, NULL);
	struct es_signer *ed = load(fx->k[K_ED].key, fx->k[K_ED].cert_path);
	struct es_trust *tc = trust_of(fx, BY_CERT, 2, K_RSA, K_EC);
	struct es_trust *tp = trust_of(fx, BY_PUB, 2, K_RSA, K_EC);
	uint8_t digest[32], fmt[ES_VERITY_FORMATTED_DIGEST_SIZE];
	uint8_t *sig = NULL, *sig2 = NULL;
	struct es_err err = { 0 };
	const unsigned char *p;
	size_t len, len2;
	char desc[64];
	PKCS7 *p7;

	random_bytes(digest, sizeof(digest));
	es_verity_formatted_digest(digest, fmt);

	assert_int_equal(es_fsverity_sign(rsa, digest, &sig, &len, &err), 0);
	/* the shape fsverity-utils writes: detached, no certificates */
	p = sig;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	assert_non_null(p7);
	assert_ptr_equal(p, sig + len);
	assert_true(PKCS7_type_is_signed(p7));
	assert_int_equal(PKCS7_get_detached(p7), 1);
	assert_null(p7->d.sign->cert);
	PKCS7_free(p7);
	/* deterministic for RSA */
	assert_int_equal(es_fsverity_sign(rsa, digest, &sig2, &len2, &err), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(sig, sig2, len);
	free(sig2);

	/* it is a CMS signature of the formatted digest: the cert anchor
	 * finds the signer, a bare key cannot (no certificate inside) */
	assert_int_equal(es_verify_signature(tc, ES_SIG_CMS, NULL, sig, len,
					     fmt, sizeof(fmt), desc,
					     sizeof(desc), &err), 0);
	assert_string_equal(desc, "CN=test rsa");
	assert_int_equal(es_verify_signature(tp, ES_SIG_CMS, NULL, sig, len,
					     fmt, sizeof(fmt), NULL, 0, &err),
			 -EKEYREJECTED);
	es_err_clear(&err);
	fmt[20] ^= 1;
	assert_int_equal(es_verify_signature(tc, ES_SIG_CMS, NULL, sig, len,
					     fmt, sizeof(fmt), NULL, 0, &err),
			 -EBADMSG);
	fmt[20] ^= 1;
	es_err_clear(&err);
	free(sig);

	assert_int_equal(es_fsverity_sign(ec, digest, &sig, &len, &err), 0);
	assert_int_equal(es_verify_signature(tc, ES_SIG_CMS, NULL, sig, len,
					     fmt, sizeof(fmt), NULL, 0, &err),
			 0);
	free(sig);

	assert_int_equal(es_fsverity_sign(nocert, digest, &sig, &len, &err),
			 -EINVAL);
	assert_null(sig);
	es_err_clear(&err);
	assert_int_equal(es_fsverity_sign(ed, digest, &sig, &len, &err),
			 -EOPNOTSUPP);
	assert_null(sig);

	es_trust_free(tc);
	es_trust_free(tp);
	es_signer_free(rsa);
	es_signer_free(ec);
	es_signer_free(nocert);
	es_signer_free(ed);
}

static void test_type_names(void **state)
{
	enum es_sig_type t;

	(void)state;
	assert_string_equal(es_sig_type_name(ES_SIG_CMS), "cms");
	assert_string_equal(es_sig_type_name(ES_SIG_ED25519), "ed25519");
	assert_string_equal(es_sig_type_name(ES_SIG_RAW), "raw");
	assert_null(es_sig_type_name((enum es_sig_type)0));
	assert_int_equal(es_sig_type_from_name("raw", &t), 0);
	assert_int_equal(t, ES_SIG_RAW);
	assert_int_equal(es_sig_type_from_name("pkcs7", &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_deterministic_and_empty_message),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_untrusted_signer),
		cmocka_unit_test(test_key_id_checks),
		cmocka_unit_test(test_trust_files),
		cmocka_unit_test(test_manifest_pins),
		cmocka_unit_test(test_signer_load_errors),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_signature_info),
		cmocka_unit_test(test_fsverity_sign),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
