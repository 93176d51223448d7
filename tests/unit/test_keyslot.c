// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for keyslots (lib/keys/keyslot.c): credential specs and files,
 * wrapping and unwrapping for every kind, key commitment, tampering with
 * every byte of an entry, Argon2 costs changed in place, and the published
 * vectors of docs/FORMAT.md section 4.5 (computed by the Python oracle,
 * tests/oracle/keyslots.py), which libcore must open.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keyslot.h"
#include "keyslot_vectors.h"

static char dir[] = "/tmp/es-keyslot-XXXXXX";

static const uint8_t uuid[ES_UUID_SIZE] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
					    1, 2, 3, 4, 5, 6, 7, 8 };

/* The cheapest costs a new slot may have: keeps the tests quick. */
static const struct es_keyslot_policy cheap = {
	.m_cost_kib = ES_KEYSLOT_ARGON2_MIN_KIB, .t_cost = ES_KEYSLOT_ARGON2_MIN_TIME, .lanes = 1,
};

static const char *path_of(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *spec_of(const char *prefix, const char *name, const char *suffix)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s%s", prefix, path_of(name), suffix ? suffix : "");
	return buf[i];
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + 31 * i + (i >> 8));
}

/* An X25519 key pair as PEM files NAME.key and NAME.pub. */
static void write_x25519(const char *name, uint8_t seed)
{
	char key[64], pub[64];
	uint8_t raw[32];
	EVP_PKEY *pk;
	FILE *f;

	fill(raw, sizeof(raw), seed);
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, raw, sizeof(raw));
	assert_non_null(pk);
	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(pub, sizeof(pub), "%s.pub", name);
	f = fopen(path_of(key), "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	f = fopen(path_of(pub), "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
	fclose(f);
	EVP_PKEY_free(pk);
}

static int setup(void **state)
{
	uint8_t buf[64];

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	fill(buf, sizeof(buf), 1);
	write_file("key1", buf, 64);
	fill(buf, sizeof(buf), 2);
	write_file("key2", buf, 32);
	write_file("short", buf, 31);
	fill(buf, sizeof(buf), 3);
	write_file("seed", buf, 48);
	write_file("pass", "correct horse\nsecond line\n", 26);
	write_file("pass2", "wrong horse", 11);
	write_file("empty", "", 0);
	write_file("newline", "\nafter", 6);
	write_x25519("alice", 7);
	write_x25519("bob", 8);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct es_keyslot_cred *load(const char *spec, enum es_keyslot_use use)
{
	struct es_keyslot_cred *c = NULL;
	struct es_err err = { 0 };
	int ret = es_keyslot_cred_load(spec, use, NULL, &c, &err);

	if (ret)
		fail_msg("%s: %s", spec, err.msg);
	return c;
}

static int load_rc(const char *spec, enum es_keyslot_use use, char *msg)
{
	struct es_keyslot_cred *c = NULL;
	struct es_err err = { 0 };
	int ret = es_keyslot_cred_load(spec, use, NULL, &c, &err);

	if (msg)
		strcpy(msg, err.msg);
	es_keyslot_cred_free(c);
	return ret;
}

/* ---- specs ------------------------------------------------------------------ */

static void test_specs(void **state)
{
	char msg[ES_ERR_MSG_MAX], big[300];

	(void)state;
	assert_int_equal(load_rc(spec_of("keyfile:", "key1", NULL), ES_KEYSLOT_FOR_UNLOCK, NULL), 0);
	assert_int_equal(load_rc(spec_of("keyfile:", "key2", NULL), ES_KEYSLOT_FOR_ADD, NULL), 0);
	assert_int_equal(load_rc(spec_of("keyfile:", "short", NULL), ES_KEYSLOT_FOR_ADD, msg),
			 -EINVAL);
	assert_non_null(strstr(msg, "31 bytes"));
	assert_int_equal(load_rc(spec_of("keyfile:", "missing", NULL), ES_KEYSLOT_FOR_ADD, NULL),
			 -ENOENT);
	assert_int_equal(load_rc(spec_of("keyfile:", "", NULL), ES_KEYSLOT_FOR_ADD, NULL),
			 -EISDIR);
	assert_int_equal(load_rc("keyfile:", ES_KEYSLOT_FOR_ADD, NULL), -EINVAL);
	assert_int_equal(load_rc("keyfile", ES_KEYSLOT_FOR_ADD, msg), -EINVAL);
	assert_non_null(strstr(msg, "unknown kind"));
	assert_int_equal(load_rc("password:x", ES_KEYSLOT_FOR_ADD, NULL), -EINVAL);
	/* recipients add, identities unlock */
	assert_int_equal(load_rc(spec_of("recipient:", "alice.pub", NULL), ES_KEYSLOT_FOR_ADD,
				 NULL), 0);
	assert_int_equal(load_rc(spec_of("recipient:", "alice.pub", NULL),
				 ES_KEYSLOT_FOR_UNLOCK, msg), -EINVAL);
	assert_non_null(strstr(msg, "identity:"));
	assert_int_equal(load_rc(spec_of("identity:", "alice.key", NULL), ES_KEYSLOT_FOR_UNLOCK,
				 NULL), 0);
	assert_int_equal(load_rc(spec_of("identity:", "alice.key", NULL), ES_KEYSLOT_FOR_ADD,
				 NULL), -EINVAL);
	assert_int_equal(load_rc(spec_of("recipient:", "alice.key", NULL), ES_KEYSLOT_FOR_ADD,
				 NULL), -EINVAL);
	/* seeds and labels */
	assert_int_equal(load_rc(spec_of("seed:", "seed", NULL), ES_KEYSLOT_FOR_ADD, NULL), 0);
	assert_int_equal(load_rc(spec_of("seed:", "seed", ":boot"), ES_KEYSLOT_FOR_ADD, NULL), 0);
	assert_int_equal(load_rc(spec_of("seed:", "seed", ":"), ES_KEYSLOT_FOR_ADD, NULL), 0);
	assert_int_equal(load_rc(spec_of("seed:", "seed", ":t\ab"), ES_KEYSLOT_FOR_ADD, msg),
			 -EINVAL);
	assert_non_null(strstr(msg, "printable"));
	memset(big, 'x', sizeof(big));
	big[66] = '\0';	/* ":" and a 65-byte label */
	big[0] = ':';
	assert_int_equal(load_rc(spec_of("seed:", "seed", big), ES_KEYSLOT_FOR_ADD, msg),
			 -EINVAL);
	assert_non_null(strstr(msg, "longer than 64"));
	assert_int_equal(load_rc("seed::label", ES_KEYSLOT_FOR_ADD, NULL), -EINVAL);
	/* passphrases: a file's first line; "passphrase" needs a prompt */
	assert_int_equal(load_rc(spec_of("passphrase-file:", "pass", NULL), ES_KEYSLOT_FOR_ADD,
				 NULL), 0);
	assert_int_equal(load_rc(spec_of("passphrase-file:", "empty", NULL), ES_KEYSLOT_FOR_ADD,
				 msg), -EINVAL);
	assert_non_null(strstr(msg, "empty passphrase"));
	assert_int_equal(load_rc(spec_of("passphrase-file:", "newline", NULL),
				 ES_KEYSLOT_FOR_ADD, NULL), -EINVAL);
	assert_int_equal(load_rc(spec_of("passphrase-file:", "empty", NULL),
				 ES_KEYSLOT_FOR_UNLOCK, NULL), 0);
	assert_int_equal(load_rc("passphrase", ES_KEYSLOT_FOR_UNLOCK, msg), -EINVAL);
	assert_non_null(strstr(msg, "no terminal"));
}

static void test_file_limits(void **state)
{
	char msg[ES_ERR_MSG_MAX];
	int fd;

	(void)state;
	/* 8 MiB is allowed, one byte more is not (sparse files: cheap) */
	fd = open(path_of("big"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, ES_KEYFILE_MAX), 0);
	assert_int_equal(pwrite(fd, "x", 1, 5), 1);
	close(fd);
	assert_int_equal(load_rc(spec_of("keyfile:", "big", NULL), ES_KEYSLOT_FOR_ADD, NULL), 0);
	fd = open(path_of("big"), O_WRONLY);
	assert_int_equal(ftruncate(fd, ES_KEYFILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(load_rc(spec_of("keyfile:", "big", NULL), ES_KEYSLOT_FOR_ADD, msg),
			 -EFBIG);
	assert_non_null(strstr(msg, "more than"));
	/* a passphrase line longer than the maximum */
	fd = open(path_of("longpass"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (unsigned int i = 0; i <= ES_PASSPHRASE_MAX; i++)
		assert_int_equal(write(fd, "p", 1), 1);
	close(fd);
	assert_int_equal(load_rc(spec_of("passphrase-file:", "longpass", NULL),
				 ES_KEYSLOT_FOR_UNLOCK, msg), -EFBIG);
	unlink(path_of("big"));
	unlink(path_of("longpass"));
}

/* ---- a prompt the program would provide --------------------------------- */

struct fake_prompt {
	const char *answer;
	unsigned int calls;
	enum es_keyslot_use last_use;
};

static int fake_read(void *ctx, enum es_keyslot_use use, const char *spec, char *buf,
		     size_t cap, size_t *len, struct es_err *err)
{
	struct fake_prompt *p = ctx;

	p->calls++;
	p->last_use = use;
	*len = strlen(p->answer);
	if (*len > cap)
		return es_fail(err, -EFBIG, "too long");
	memcpy(buf, p->answer, *len);
	return 0;
}

/* ---- wrap and unwrap ---------------------------------------------------------- */

static void make_tk(uint8_t tk[32], uint8_t kid[32], uint8_t seed)
{
	fill(tk, 32, seed);
	assert_int_equal(es_derive_kid(tk, kid), 0);
}

static void round_trip(const char *add_spec, const char *unlock_spec, const char *wrong_spec,
		       int wrong_rc)
{
	struct es_keyslot_cred *add = load(add_spec, ES_KEYSLOT_FOR_ADD);
	struct es_keyslot_cred *open = load(unlock_spec, ES_KEYSLOT_FOR_UNLOCK);
	uint8_t tk[32], kid[32], out[32], entry[ES_KEYSLOT_SIZE], entry2[ES_KEYSLOT_SIZE];
	struct es_err err = { 0 };
	struct es_keyslot_info info;

	make_tk(tk, kid, 0x55);
	assert_int_equal(es_keyslot_wrap(add, uuid, tk, kid, &cheap, entry, &err), 0);
	assert_int_equal(es_keyslot_parse(entry, &info, &err), 0);
	assert_int_equal(info.kind, es_keyslot_cred_kind(add));
	assert_int_equal(es_keyslot_unwrap(open, entry, uuid, kid, out, &err), 0);
	assert_memory_equal(out, tk, 32);
	/* every wrap is fresh: salt (or ephemeral key) and nonce */
	assert_int_equal(es_keyslot_wrap(add, uuid, tk, kid, &cheap, entry2, &err), 0);
	assert_memory_not_equal(entry + 8, entry2 + 8, 32);
	assert_memory_not_equal(entry + 168, entry2 + 168, 12);
	/* another image's UUID */
	{
		uint8_t other[ES_UUID_SIZE];

		memcpy(other, uuid, sizeof(other));
		other[0] ^= 1;
		assert_int_equal(es_keyslot_unwrap(open, entry, other, kid, out, &err),
				 -EKEYREJECTED);
	}
	if (wrong_spec) {
		struct es_keyslot_cred *wrong = load(wrong_spec, ES_KEYSLOT_FOR_UNLOCK);

		memset(out, 0xaa, sizeof(out));
		assert_int_equal(es_keyslot_unwrap(wrong, entry, uuid, kid, out, &err), wrong_rc);
		for (int i = 0; i < 32; i++)
			assert_int_equal(out[i], 0);
		es_keyslot_cred_free(wrong);
	}
	es_keyslot_cred_free(add);
	es_keyslot_cred_free(open);
}

static void test_keyfile(void **state)
{
	(void)state;
	round_trip(spec_of("keyfile:", "key1", NULL), spec_of("keyfile:", "key1", NULL),
		   spec_of("keyfile:", "key2", NULL), -EKEYREJECTED);
}

static void test_seed(void **state)
{
	(void)state;
	round_trip(spec_of("seed:", "seed", ":app"), spec_of("seed:", "seed", ":app"),
		   spec_of("seed:", "seed", ":other"), -ENOKEY);
	round_trip(spec_of("seed:", "seed", NULL), spec_of("seed:", "seed", ":"),
		   spec_of("seed:", "key1", NULL), -EKEYREJECTED);
}

static void test_x25519(void **state)
{
	(void)state;
	round_trip(spec_of("recipient:", "alice.pub", NULL),
		   spec_of("identity:", "alice.key", NULL),
		   spec_of("identity:", "bob.key", NULL), -ENOKEY);
}

static void test_passphrase(void **state)
{
	struct fake_prompt p = { .answer = "correct horse" };
	const struct es_passphrase_prompt prompt = { fake_read, &p };
	struct es_keyslot_cred *typed = NULL, *add = NULL;
	uint8_t tk[32], kid[32], out[32], entry[ES_KEYSLOT_SIZE];
	struct es_err err = { 0 };
	struct es_keyslot_info info;

	(void)state;
	/* typed at the "terminal", opened with the file's first line */
	assert_int_equal(es_keyslot_cred_load("passphrase", ES_KEYSLOT_FOR_ADD, &prompt, &add,
					      &err), 0);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.last_use, ES_KEYSLOT_FOR_ADD);
	make_tk(tk, kid, 0x66);
	assert_int_equal(es_keyslot_wrap(add, uuid, tk, kid, &cheap, entry, &err), 0);
	assert_int_equal(es_keyslot_parse(entry, &info, &err), 0);
	assert_int_equal(info.argon2.m_cost_kib, ES_KEYSLOT_ARGON2_MIN_KIB);
	assert_int_equal(info.argon2.t_cost, ES_KEYSLOT_ARGON2_MIN_TIME);
	assert_int_equal(info.argon2.lanes, 1);
	assert_true(info.within_bounds);
	typed = load(spec_of("passphrase-file:", "pass", NULL), ES_KEYSLOT_FOR_UNLOCK);
	assert_int_equal(es_keyslot_unwrap(typed, entry, uuid, kid, out, &err), 0);
	assert_memory_equal(out, tk, 32);
	es_keyslot_cred_free(typed);
	typed = load(spec_of("passphrase-file:", "pass2", NULL), ES_KEYSLOT_FOR_UNLOCK);
	assert_int_equal(es_keyslot_unwrap(typed, entry, uuid, kid, out, &err), -EKEYREJECTED);

	/* costs changed in place: lowered fails the tag, raised past the bound
	 * is refused before Argon2 runs (no 4 GiB allocation) */
	{
		uint8_t bad[ES_KEYSLOT_SIZE];

		memcpy(bad, entry, sizeof(bad));
		es_put32(bad + 8 + 32, 1);	/* t_cost */
		assert_int_equal(es_keyslot_unwrap(add, bad, uuid, kid, out, &err),
				 -EKEYREJECTED);
		memcpy(bad, entry, sizeof(bad));
		es_put32(bad + 8 + 36, UINT32_MAX);	/* m_cost: 4 TiB */
		es_err_clear(&err);
		assert_int_equal(es_keyslot_unwrap(add, bad, uuid, kid, out, &err), -ERANGE);
		assert_non_null(strstr(err.msg, "outside the bounds"));
		assert_int_equal(es_keyslot_parse(bad, &info, &err), 0);
		assert_false(info.within_bounds);
		memcpy(bad, entry, sizeof(bad));
		es_put32(bad + 8 + 32, ES_CRYPTO_ARGON2_MAX_TIME + 1);
		assert_int_equal(es_keyslot_unwrap(add, bad, uuid, kid, out, &err), -ERANGE);
		memcpy(bad, entry, sizeof(bad));
		es_put32(bad + 8 + 40, 17);	/* lanes */
		assert_int_equal(es_keyslot_unwrap(add, bad, uuid, kid, out, &err), -ERANGE);
		memcpy(bad, entry, sizeof(bad));
		es_put32(bad + 8 + 44, 0x10);	/* Argon2 version */
		assert_int_equal(es_keyslot_unwrap(add, bad, uuid, kid, out, &err),
				 -ES_ECORRUPT);
	}
	es_keyslot_cred_free(typed);
	es_keyslot_cred_free(add);
}

/* Key commitment: a tag that verifies is not enough, the kid must match. */
static void test_key_commitment(void **state)
{
	struct es_keyslot_cred *c = load(spec_of("keyfile:", "key1", NULL), ES_KEYSLOT_FOR_ADD);
	uint8_t tk[32], kid[32], tk2[32], kid2[32], out[32], entry[ES_KEYSLOT_SIZE];
	struct es_err err = { 0 };

	(void)state;
	make_tk(tk, kid, 1);
	make_tk(tk2, kid2, 2);
	/* TK wrapped with the kid of another key: GCM verifies, the kid does not */
	assert_int_equal(es_keyslot_wrap(c, uuid, tk, kid2, NULL, entry, &err), 0);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(es_keyslot_unwrap(c, entry, uuid, kid2, out, &err), -EKEYREJECTED);
	for (int i = 0; i < 32; i++)
		assert_int_equal(out[i], 0);
	es_keyslot_cred_free(c);
}

/* Any byte of an entry changed: never opens, never crashes. */
static void test_tamper_every_byte(void **state)
{
	struct es_keyslot_cred *kf = load(spec_of("keyfile:", "key1", NULL), ES_KEYSLOT_FOR_ADD);
	struct es_keyslot_cred *xa = load(spec_of("recipient:", "alice.pub", NULL),
					  ES_KEYSLOT_FOR_ADD);
	struct es_keyslot_cred *xo = load(spec_of("identity:", "alice.key", NULL),
					  ES_KEYSLOT_FOR_UNLOCK);
	struct es_keyslot_cred *sd = load(spec_of("seed:", "seed", ":lbl"), ES_KEYSLOT_FOR_ADD);
	struct es_keyslot_cred *add[3] = { kf, xa, sd }, *open[3] = { kf, xo, sd };
	uint8_t tk[32], kid[32], out[32], entry[ES_KEYSLOT_SIZE], bad[ES_KEYSLOT_SIZE];
	struct es_err err = { 0 };

	(void)state;
	make_tk(tk, kid, 9);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(es_keyslot_wrap(add[k], uuid, tk, kid, NULL, entry, &err), 0);
		for (size_t i = 0; i < ES_KEYSLOT_SIZE; i++) {
			int ret;

			memcpy(bad, entry, sizeof(bad));
			bad[i] ^= 0x01;
			ret = es_keyslot_unwrap(open[k], bad, uuid, kid, out, &err);
			es_err_clear(&err);
			if (ret != -EKEYREJECTED && ret != -ES_ECORRUPT && ret != -ENOKEY)
				fail_msg("kind %d, byte %zu: unwrap returned %d", k, i, ret);
		}
		assert_int_equal(es_keyslot_unwrap(open[k], entry, uuid, kid, out, &err), 0);
	}
	es_keyslot_cred_free(kf);
	es_keyslot_cred_free(xa);
	es_keyslot_cred_free(xo);
	es_keyslot_cred_free(sd);
}

static void test_recipient_of(void **state)
{
	struct es_keyslot_cred *xa = load(spec_of("recipient:", "alice.pub", NULL),
					  ES_KEYSLOT_FOR_ADD);
	struct es_keyslot_cred *xo = load(spec_of("identity:", "alice.key", NULL),
					  ES_KEYSLOT_FOR_UNLOCK);
	struct es_keyslot_cred *again = NULL;
	uint8_t tk[32], kid[32], out[32], entry[ES_KEYSLOT_SIZE], entry2[ES_KEYSLOT_SIZE];
	struct es_err err = { 0 };

	(void)state;
	make_tk(tk, kid, 3);
	assert_int_equal(es_keyslot_wrap(xa, uuid, tk, kid, NULL, entry, &err), 0);
	/* rewrapped from the slot alone, without the recipient's file */
	assert_int_equal(es_keyslot_cred_recipient_of(entry, &again, &err), 0);
	assert_int_equal(es_keyslot_wrap(again, uuid, tk, kid, NULL, entry2, &err), 0);
	assert_memory_not_equal(entry2 + 8, entry + 8, 32);	/* new ephemeral key */
	assert_memory_equal(entry2 + 8 + 32, entry + 8 + 32, 32);	/* same recipient */
	assert_int_equal(es_keyslot_unwrap(xo, entry2, uuid, kid, out, &err), 0);
	assert_memory_equal(out, tk, 32);
	/* a recipient cannot unlock */
	assert_int_equal(es_keyslot_unwrap(again, entry2, uuid, kid, out, &err), -ENOKEY);
	es_keyslot_cred_free(again);
	es_keyslot_cred_free(xa);
	es_keyslot_cred_free(xo);
}

static void test_calibrate(void **state)
{
	struct es_keyslot_policy pol = { 0 };
	struct es_keyslot_argon2 a;
	struct es_err err = { 0 };

	(void)state;
	/* explicit costs are taken as they are, if inside the bounds */
	pol = cheap;
	assert_int_equal(es_keyslot_calibrate(&pol, &a, &err), 0);
	assert_int_equal(a.m_cost_kib, cheap.m_cost_kib);
	assert_int_equal(a.t_cost, cheap.t_cost);
	pol.m_cost_kib = ES_KEYSLOT_ARGON2_MIN_KIB - 1024;
	assert_int_equal(es_keyslot_calibrate(&pol, &a, &err), -ERANGE);
	es_err_clear(&err);
	pol = cheap;
	pol.t_cost = 2;
	assert_int_equal(es_keyslot_calibrate(&pol, &a, &err), -ERANGE);
	es_err_clear(&err);
	pol = cheap;
	pol.t_cost = ES_CRYPTO_ARGON2_MAX_TIME + 1;
	assert_int_equal(es_keyslot_calibrate(&pol, &a, &err), -ERANGE);
	es_err_clear(&err);
	/* a benchmark that aims low stays at the minimums */
	memset(&pol, 0, sizeof(pol));
	pol.target_ms = 1;
	pol.lanes = 1;
	assert_int_equal(es_keyslot_calibrate(&pol, &a, &err), 0);
	assert_int_equal(a.m_cost_kib, ES_KEYSLOT_ARGON2_MIN_KIB);
	assert_int_equal(a.t_cost, ES_KEYSLOT_ARGON2_MIN_TIME);
	/* one that aims higher raises memory first, never past the cap */
	pol.target_ms = 100000;
	pol.t_cost = 3;
	assert_int_equal(es_keyslot_calibrate(&pol, &a, &err), 0);
	assert_true(a.m_cost_kib > ES_KEYSLOT_ARGON2_MIN_KIB);
	assert_true(a.m_cost_kib <= ES_KEYSLOT_ARGON2_CAL_MAX_KIB);
	assert_int_equal(a.t_cost, 3);
}

/* ---- the published vectors ------------------------------------------------- */

/* libcore computes, from the same inputs, every line the oracle printed */
static void test_vectors(void **state)
{
	static char buf[8192];

	(void)state;
	if (ksv_compute(dir, buf, sizeof(buf)))
		fail_msg("%s", buf);
	assert_string_equal(buf, ksv_oracle_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_file_limits),
		cmocka_unit_test(test_keyfile),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_passphrase),
		cmocka_unit_test(test_key_commitment),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_recipient_of),
		cmocka_unit_test(test_calibrate),
		cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
