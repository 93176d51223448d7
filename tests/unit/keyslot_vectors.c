// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The keyslot test vectors of docs/FORMAT.md section 4.6: what the oracle
 * (tests/oracle/keyslots.py vectors) printed, and the same lines computed
 * by libcore from the same inputs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/backend.h"
#include "erofs/keyslot.h"
#include "keyslot_vectors.h"

const char ksv_oracle_text[] =
	"ks_uuid = 21282f363d444b525960676e757c838a\n"
	"ks_TK = a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n"
	"ks_kid = 7142b3eb49d4c2c450a99a9bdde38a56e324ad64c5c8a89ccf44ac1378dd35e7\n"
	"ks_passphrase = correct horse battery staple\n"
	"ks_passphrase_argon2 = t=2 m=1024 lanes=1\n"
	"ks_passphrase_kek = "
		"806ff899fef91a3464b31dd64fb48bc19ee69abcccc1e497ecb63496eb0d8177\n"
	"ks_passphrase_entry = "
		"01000000000000001112131415161718191a1b1c1d1e1f202122232425262728"
		"292a2b2c2d2e2f30020000000004000001000000130000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000101112131415161718191a1ba0135c657992c6d0460df12a"
		"668d5fb6806abcc33348df8b7593b3fa4db996e576f68307f0ad6b667336cb1e"
		"62aeb15f00000000000000000000000000000000000000000000000000000000\n"
	"ks_keyfile_kek = "
		"04b7d9a1a263e368d55d6885965db1bc2aed6ec61a52a33027db3707cfba641a\n"
	"ks_keyfile_entry = "
		"020000000000000022232425262728292a2b2c2d2e2f30313233343536373839"
		"3a3b3c3d3e3f4041000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000202122232425262728292a2bfe399f55c7860074267be579"
		"067e7481e1a1fcda0df2cee8e240b06a1b9087645e8b8f11dd479d169b9ad10f"
		"a8a7d01e00000000000000000000000000000000000000000000000000000000\n"
	"ks_x25519_recipient = "
		"34e42d4af5ef94a07a3a84201b889d4cd1a743cb27b11b6a10438a8feb8e5847\n"
	"ks_x25519_eph_pub = "
		"23b7bb8c91ae008711fb12846780bcdf1e065f821bdfec49f57e7c7dcd4c4823\n"
	"ks_x25519_shared = "
		"436be988cf0004b93d7b4c35403a45d6004b6def411a14c3633af43f27a8263e\n"
	"ks_x25519_kek = f59032c8d35eb60dff2fb5d649aad0d135a37bb21d02dd823aeab73aac23f483\n"
	"ks_x25519_entry = "
		"030000000000000023b7bb8c91ae008711fb12846780bcdf1e065f821bdfec49"
		"f57e7c7dcd4c482334e42d4af5ef94a07a3a84201b889d4cd1a743cb27b11b6a"
		"10438a8feb8e5847000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000303132333435363738393a3b9028845c79ed845e459192f7"
		"81ac264999722f27eca8b0240ccdfa32df583ad7c9de510b27ade91f62c6e9fc"
		"30a8b42a00000000000000000000000000000000000000000000000000000000\n"
	"ks_seed_label = boot\n"
	"ks_seed_kek = b69d5fdccbd5fde4e374b844132355e84fa8ac9522db8288c74eaaf42ed9dac0\n"
	"ks_seed_entry = "
		"04000000000000004445464748494a4b4c4d4e4f505152535455565758595a5b"
		"5c5d5e5f606162630400626f6f74000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000"
		"0000000000000000404142434445464748494a4b46a450b365b6e5b219f10fbe"
		"e47bb5b92da45f508396cb583000d88a2ff98b71ef89e192560f6abb993b88f3"
		"564176c700000000000000000000000000000000000000000000000000000000\n";

/* ---- the inputs, by the formulas of keyslots.py vector_inputs() ---------- */

static void seq(uint8_t *p, size_t len, unsigned int mul, unsigned int add)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((mul * i + add) % 256);
}

struct out {
	char *buf;
	size_t size, len;
	int ret;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->ret)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len)
		o->ret = -ENOSPC;
	else
		o->len += (size_t)n;
}

static void put_hex(struct out *o, const char *name, const uint8_t *p, size_t len)
{
	put(o, "%s = ", name);
	for (size_t i = 0; i < len; i++)
		put(o, "%02x", p[i]);
	put(o, "\n");
}

static int fail(struct out *o, int ret, const char *what, const char *msg)
{
	o->len = 0;
	o->ret = 0;
	put(o, "ksv: %s: %s\n", what, msg);
	return ret ? ret : -EINVAL;
}

static int write_file(const char *dir, const char *name, const void *p, size_t len,
		      char *path, size_t path_size)
{
	FILE *f;

	snprintf(path, path_size, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	if (fwrite(p, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) ? -EIO : 0;
}

static int write_pem(const char *dir, const char *name, EVP_PKEY *pk, int private,
		     char *path, size_t path_size)
{
	FILE *f;
	int ok;

	snprintf(path, path_size, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ok = private ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_PUBKEY(f, pk);
	return fclose(f) || ok != 1 ? -EIO : 0;
}

/* One slot: wrapped with fixed inputs, its KEK, and it opens again. */
static int one_slot(struct out *o, const char *kind, const char *add_spec,
		    const char *unlock_spec, const uint8_t *uuid, const uint8_t *tk,
		    const uint8_t *kid, const struct es_keyslot_fixed *fixed)
{
	struct es_keyslot_cred *add = NULL, *open = NULL;
	uint8_t entry[ES_KEYSLOT_SIZE], kek[32], back[32];
	struct es_err err = { 0 };
	char name[64];
	int ret;

	ret = es_keyslot_cred_load(add_spec, ES_KEYSLOT_FOR_ADD, NULL, &add, &err);
	if (!ret)
		ret = es_keyslot_cred_load(unlock_spec, ES_KEYSLOT_FOR_UNLOCK, NULL, &open, &err);
	if (!ret)
		ret = es_keyslot_wrap_fixed(add, uuid, tk, kid, fixed, entry, &err);
	if (!ret)
		ret = es_keyslot_kek(open, entry, uuid, kek, &err);
	if (!ret)
		ret = es_keyslot_unwrap(open, entry, uuid, kid, back, &err);
	if (!ret && memcmp(back, tk, 32))
		ret = -EKEYREJECTED;
	es_keyslot_cred_free(add);
	es_keyslot_cred_free(open);
	if (ret)
		return fail(o, ret, kind, err.msg[0] ? err.msg : "does not open");
	snprintf(name, sizeof(name), "ks_%s_kek", kind);
	put_hex(o, name, kek, 32);
	snprintf(name, sizeof(name), "ks_%s_entry", kind);
	put_hex(o, name, entry, sizeof(entry));
	return 0;
}

int ksv_compute(const char *dir, char *buf, size_t size)
{
	static const char passphrase[] = "correct horse battery staple";
	struct out o = { buf, size, 0, 0 };
	uint8_t uuid[16], tk[32], kid[32], keyfile[64], seed[32], x_priv[32], recipient[32];
	uint8_t eph_pub[32], shared[32];
	char p_pass[512], p_key[512], p_seed[512], p_id[512], p_pub[512];
	char add[600], open[600];
	struct es_keyslot_fixed fixed;
	EVP_PKEY *pk;
	int ret;

	seq(uuid, sizeof(uuid), 7, 0x21);
	seq(tk, sizeof(tk), 1, 0xa0);
	seq(keyfile, sizeof(keyfile), 3, 5);
	seq(seed, sizeof(seed), 11, 2);
	seq(x_priv, sizeof(x_priv), 1, 0x30);
	if (es_derive_kid(tk, kid))
		return fail(&o, -EIO, "kid", "cannot derive");
	put_hex(&o, "ks_uuid", uuid, 16);
	put_hex(&o, "ks_TK", tk, 32);
	put_hex(&o, "ks_kid", kid, 32);

	ret = write_file(dir, "ksv-pass", passphrase, strlen(passphrase), p_pass, sizeof(p_pass));
	if (!ret)
		ret = write_file(dir, "ksv-keyfile", keyfile, sizeof(keyfile), p_key, sizeof(p_key));
	if (!ret)
		ret = write_file(dir, "ksv-seed", seed, sizeof(seed), p_seed, sizeof(p_seed));
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, x_priv, sizeof(x_priv));
	if (!ret)
		ret = pk ? write_pem(dir, "ksv-id.key", pk, 1, p_id, sizeof(p_id)) : -EIO;
	if (!ret)
		ret = write_pem(dir, "ksv-id.pub", pk, 0, p_pub, sizeof(p_pub));
	EVP_PKEY_free(pk);
	if (ret)
		return fail(&o, ret, "files", "cannot write the credentials");

	/* passphrase: salt 1, nonce 1 */
	memset(&fixed, 0, sizeof(fixed));
	seq(fixed.salt, 32, 1, 0x11);
	seq(fixed.nonce, 12, 1, 16);
	fixed.argon2 = (struct es_keyslot_argon2){ .t_cost = 2, .m_cost_kib = 1024, .lanes = 1 };
	put(&o, "ks_passphrase = %s\n", passphrase);
	put(&o, "ks_passphrase_argon2 = t=%u m=%u lanes=%u\n", fixed.argon2.t_cost,
	    fixed.argon2.m_cost_kib, fixed.argon2.lanes);
	snprintf(add, sizeof(add), "passphrase-file:%s", p_pass);
	ret = one_slot(&o, "passphrase", add, add, uuid, tk, kid, &fixed);
	/* keyfile: salt 2, nonce 2 */
	seq(fixed.salt, 32, 1, 0x22);
	seq(fixed.nonce, 12, 1, 32);
	snprintf(add, sizeof(add), "keyfile:%s", p_key);
	if (!ret)
		ret = one_slot(&o, "keyfile", add, add, uuid, tk, kid, &fixed);
	/* X25519: ephemeral key, nonce 3 */
	seq(fixed.eph_priv, 32, 1, 0x70);
	seq(fixed.nonce, 12, 1, 48);
	if (!ret && (es_crypto_x25519_public(x_priv, recipient) ||
		     es_crypto_x25519_public(fixed.eph_priv, eph_pub) ||
		     es_crypto_x25519(fixed.eph_priv, recipient, shared)))
		ret = fail(&o, -EIO, "x25519", "cannot compute");
	if (!ret) {
		put_hex(&o, "ks_x25519_recipient", recipient, 32);
		put_hex(&o, "ks_x25519_eph_pub", eph_pub, 32);
		put_hex(&o, "ks_x25519_shared", shared, 32);
		snprintf(add, sizeof(add), "recipient:%s", p_pub);
		snprintf(open, sizeof(open), "identity:%s", p_id);
		ret = one_slot(&o, "x25519", add, open, uuid, tk, kid, &fixed);
	}
	/* seed: salt 4, nonce 4, label "boot" */
	seq(fixed.salt, 32, 1, 0x44);
	seq(fixed.nonce, 12, 1, 64);
	if (!ret) {
		put(&o, "ks_seed_label = boot\n");
		snprintf(add, sizeof(add), "seed:%s:boot", p_seed);
		ret = one_slot(&o, "seed", add, add, uuid, tk, kid, &fixed);
	}
	es_crypto_wipe(shared, sizeof(shared));
	if (!ret && o.ret)
		ret = fail(&o, o.ret, "output", "buffer too small");
	return ret;
}
