// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Keyslots: credentials (SPEC strings), the KEK each kind derives, and the
 * wrapping of the table key in a slot entry.  See include/erofs/keyslot.h;
 * the bytes are in docs/FORMAT.md section 4.3.
 *
 * One handler per kind (kinds[] below) says how the kind's parameter bytes
 * look, how a credential is matched to a slot without deriving anything,
 * and how the KEK follows from credential and parameters, both for a new
 * slot (fresh salt or ephemeral key) and for an existing one.  Everything
 * else (nonce, associated data, key commitment) is the same for all kinds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keyslot.h"
#include "erofs/secret.h"
#include "keys/keyslot_entry.h"

#define X_KEY		ES_CRYPTO_X25519_KEY_SIZE

struct es_keyslot_cred {
	enum es_keyslot_kind kind;
	uint8_t *secret;		/* secret memory: passphrase, file bytes, X25519 key */
	size_t secret_len, secret_cap;
	bool has_private;		/* X25519: an identity (else a recipient) */
	uint8_t pub[X_KEY];		/* X25519: the recipient, or the identity's public key */
	char label[ES_KEYSLOT_LABEL_MAX + 1];
	size_t label_len;
	char *spec;
};

/* ---- credentials ----------------------------------------------------------- */

static struct es_keyslot_cred *cred_new(enum es_keyslot_kind kind, const char *spec)
{
	struct es_keyslot_cred *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = kind;
	c->spec = strdup(spec);
	if (!c->spec) {
		free(c);
		return NULL;
	}
	return c;
}

void es_keyslot_cred_free(struct es_keyslot_cred *c)
{
	if (!c)
		return;
	es_secret_free(c->secret, c->secret_cap);
	/* which recipient or label a credential names is private too */
	es_crypto_wipe(c->pub, sizeof(c->pub));
	es_crypto_wipe(c->label, sizeof(c->label));
	free(c->spec);
	free(c);
}

enum es_keyslot_kind es_keyslot_cred_kind(const struct es_keyslot_cred *c)
{
	return c->kind;
}

const char *es_keyslot_cred_spec(const struct es_keyslot_cred *c)
{
	return c->spec;
}

static int cred_secret_alloc(struct es_keyslot_cred *c, size_t cap, struct es_err *err)
{
	c->secret = es_secret_alloc(cap);
	if (!c->secret)
		return es_fail(err, -ENOMEM, "out of memory");
	c->secret_cap = cap;
	return 0;
}

/*
 * Read a credential file into c->secret: at most max bytes (more is an
 * error, never a silent truncation); first_line keeps the bytes before the
 * first newline.  The size of a regular file is known before reading, so
 * only what it holds is allocated; a pipe gets max + 1 bytes of room.
 */
static int read_secret_file(struct es_keyslot_cred *c, const char *path, size_t min,
			    size_t max, bool first_line, const char *what, struct es_err *err)
{
	struct stat st;
	size_t cap, len = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		return es_fail(err, ret, "%s: %s", ES_PATH(path), strerror(-ret));
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		es_fail(err, ret, "%s: %s", ES_PATH(path), strerror(-ret));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = es_fail(err, -EISDIR, "%s: is a directory, not a %s", ES_PATH(path), what);
		goto out;
	}
	if (S_ISREG(st.st_mode) && !first_line && (uint64_t)st.st_size > max) {
		ret = es_fail(err, -EFBIG, "%s: %llu bytes, more than the %zu a %s may have",
			      ES_PATH(path), (unsigned long long)st.st_size, max, what);
		goto out;
	}
	cap = S_ISREG(st.st_mode) && (uint64_t)st.st_size <= max ? (size_t)st.st_size + 1
								: max + 1;
	ret = cred_secret_alloc(c, cap, err);
	if (ret)
		goto out;
	for (;;) {
		ssize_t n = read(fd, c->secret + len, cap - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			es_fail(err, ret, "%s: %s", ES_PATH(path), strerror(-ret));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (first_line && memchr(c->secret, '\n', len))
			break;
		if (len == cap)
			break;
	}
	if (first_line) {
		uint8_t *nl = memchr(c->secret, '\n', len);

		if (!nl && len > max) {
			ret = es_fail(err, -EFBIG, "%s: the first line is longer than %zu bytes",
				      ES_PATH(path), max);
			goto out;
		}
		if (nl) {
			es_crypto_wipe(nl, len - (size_t)(nl - c->secret));
			len = (size_t)(nl - c->secret);
		}
	} else if (len > max) {
		ret = es_fail(err, -EFBIG, "%s: more than the %zu bytes a %s may have",
			      ES_PATH(path), max, what);
		goto out;
	}
	if (len < min)
		ret = es_fail(err, -EINVAL, "%s: %zu bytes, fewer than the %zu a %s needs",
			      ES_PATH(path), len, min, what);
	c->secret_len = len;
out:
	close(fd);
	return ret;
}

/* "seed:FILE[:LABEL]": the label follows the last ':' */
static int parse_seed_spec(struct es_keyslot_cred *c, const char *rest, char **path,
			   struct es_err *err)
{
	const char *colon = strrchr(rest, ':');
	size_t flen = colon ? (size_t)(colon - rest) : strlen(rest);

	if (!flen)
		return es_fail(err, -EINVAL, "credential \"%s\": no seed file named", c->spec);
	if (colon) {
		const char *label = colon + 1;

		c->label_len = strlen(label);
		if (c->label_len > ES_KEYSLOT_LABEL_MAX)
			return es_fail(err, -EINVAL, "credential \"%s\": the label is longer "
				       "than %u bytes", c->spec, ES_KEYSLOT_LABEL_MAX);
		for (size_t i = 0; i < c->label_len; i++)
			if (!es_keyslot_label_char_ok(label[i]))
				return es_fail(err, -EINVAL, "credential \"%s\": the label may "
					       "hold printable ASCII only", c->spec);
		memcpy(c->label, label, c->label_len);
	}
	*path = strndup(rest, flen);
	if (!*path)
		return es_fail(err, -ENOMEM, "out of memory");
	return 0;
}

static int load_passphrase(struct es_keyslot_cred *c, enum es_keyslot_use use,
			   const struct es_passphrase_prompt *prompt, struct es_err *err)
{
	int ret;

	if (!prompt || !prompt->read)
		return es_fail(err, -EINVAL, "credential \"passphrase\": no terminal to ask "
			       "for it (a passphrase file can be named instead)");
	ret = cred_secret_alloc(c, ES_PASSPHRASE_MAX, err);
	if (ret)
		return ret;
	return prompt->read(prompt->ctx, use, c->spec, (char *)c->secret, c->secret_cap,
			    &c->secret_len, err);
}

static int load_x25519(struct es_keyslot_cred *c, const char *path, bool identity,
		       struct es_err *err)
{
	int ret;

	if (!identity)
		return es_crypto_x25519_load_public(path, c->pub, err);
	ret = cred_secret_alloc(c, X_KEY, err);
	if (ret)
		return ret;
	ret = es_crypto_x25519_load_private(path, c->secret, c->pub, err);
	if (!ret) {
		c->secret_len = X_KEY;
		c->has_private = true;
	}
	return ret;
}

static const char *after_prefix(const char *spec, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(spec, prefix, n) ? NULL : spec + n;
}

int es_keyslot_cred_load(const char *spec, enum es_keyslot_use use,
			 const struct es_passphrase_prompt *prompt,
			 struct es_keyslot_cred **out, struct es_err *err)
{
	static const struct {
		const char *prefix;
		enum es_keyslot_kind kind;
	} prefixes[] = {
		{ "passphrase-file:", ES_KEYSLOT_PASSPHRASE },
		{ "keyfile:", ES_KEYSLOT_KEYFILE },
		{ "recipient:", ES_KEYSLOT_X25519 },
		{ "identity:", ES_KEYSLOT_X25519 },
		{ "seed:", ES_KEYSLOT_SEED },
	};
	struct es_keyslot_cred *c;
	const char *rest = NULL;
	char *path = NULL;
	size_t which = 0;
	int ret = 0;

	*out = NULL;
	if (!spec)
		return es_fail(err, -EINVAL, "no credential given");
	if (!strcmp(spec, "passphrase")) {
		which = SIZE_MAX;
	} else {
		for (which = 0; which < sizeof(prefixes) / sizeof(prefixes[0]); which++) {
			rest = after_prefix(spec, prefixes[which].prefix);
			if (rest)
				break;
		}
		if (!rest)
			return es_fail(err, -EINVAL, "credential \"%s\": unknown kind (one of "
				       "passphrase, passphrase-file:FILE, keyfile:FILE, "
				       "recipient:PUB.pem, identity:KEY.pem, seed:FILE[:LABEL])",
				       spec);
	}
	c = cred_new(which == SIZE_MAX ? ES_KEYSLOT_PASSPHRASE : prefixes[which].kind, spec);
	if (!c)
		return es_fail(err, -ENOMEM, "out of memory");

	if (which == SIZE_MAX) {
		ret = load_passphrase(c, use, prompt, err);
		goto loaded;
	}
	if (c->kind == ES_KEYSLOT_SEED) {
		ret = parse_seed_spec(c, rest, &path, err);
		if (ret)
			goto out;
	} else {
		if (!*rest) {
			ret = es_fail(err, -EINVAL, "credential \"%s\": no file named", spec);
			goto out;
		}
		path = strdup(rest);
		if (!path) {
			ret = es_fail(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	switch (c->kind) {
	case ES_KEYSLOT_PASSPHRASE:
		ret = read_secret_file(c, path, 0, ES_PASSPHRASE_MAX, true, "passphrase file",
				       err);
		break;
	case ES_KEYSLOT_KEYFILE:
		ret = read_secret_file(c, path, ES_KEYFILE_MIN, ES_KEYFILE_MAX, false, "key file",
				       err);
		break;
	case ES_KEYSLOT_SEED:
		ret = read_secret_file(c, path, ES_KEYFILE_MIN, ES_KEYFILE_MAX, false,
				       "seed file", err);
		break;
	case ES_KEYSLOT_X25519:
		if (use == ES_KEYSLOT_FOR_UNLOCK && after_prefix(spec, "recipient:"))
			ret = es_fail(err, -EINVAL, "credential \"%s\": a recipient's public "
				      "key cannot unlock; name the private key as "
				      "identity:KEY.pem", spec);
		else if (use == ES_KEYSLOT_FOR_ADD && after_prefix(spec, "identity:"))
			ret = es_fail(err, -EINVAL, "credential \"%s\": a new X25519 slot is "
				      "for a public key, recipient:PUB.pem", spec);
		else
			ret = load_x25519(c, path, use == ES_KEYSLOT_FOR_UNLOCK, err);
		break;
	case ES_KEYSLOT_EMPTY:
		ret = -EINVAL;
		break;
	}
loaded:
	if (!ret && use == ES_KEYSLOT_FOR_ADD && c->kind == ES_KEYSLOT_PASSPHRASE &&
	    !c->secret_len)
		ret = es_fail(err, -EINVAL, "credential \"%s\": an empty passphrase cannot "
			      "protect a slot", spec);
out:
	free(path);
	if (ret) {
		es_keyslot_cred_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int es_keyslot_cred_recipient_of(const uint8_t entry[ES_KEYSLOT_SIZE],
				 struct es_keyslot_cred **out, struct es_err *err)
{
	struct es_keyslot_cred *c;

	*out = NULL;
	if (entry[E_KIND] != ES_KEYSLOT_X25519)
		return es_fail(err, -EINVAL, "not an X25519 slot");
	c = cred_new(ES_KEYSLOT_X25519, "recipient of the slot");
	if (!c)
		return es_fail(err, -ENOMEM, "out of memory");
	memcpy(c->pub, entry + E_PARAMS + P_X25519_R, X_KEY);
	*out = c;
	return 0;
}

/* ---- Argon2 costs ------------------------------------------------------------ */

static void to_backend(const struct es_keyslot_argon2 *a, struct es_crypto_argon2id_params *p)
{
	p->t_cost = a->t_cost;
	p->m_cost_kib = a->m_cost_kib;
	p->lanes = a->lanes;
}

static uint32_t default_lanes(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus >= 4 ? 4 : cpus > 1 ? (uint32_t)cpus : 1;
}

/* Creation bounds: the read bounds, and the minimums of a new slot. */
static int check_new_costs(const struct es_keyslot_argon2 *a, struct es_err *err)
{
	struct es_crypto_argon2id_params p;

	to_backend(a, &p);
	if (a->m_cost_kib < ES_KEYSLOT_ARGON2_MIN_KIB || a->t_cost < ES_KEYSLOT_ARGON2_MIN_TIME ||
	    es_crypto_argon2id_check(&p))
		return es_fail(err, -ERANGE, "Argon2id costs %u iterations, %u KiB, %u lanes "
			       "are outside the bounds of a new slot (at least %u iterations "
			       "and %u KiB; at most %u iterations, %u KiB, %u lanes)",
			       a->t_cost, a->m_cost_kib, a->lanes, ES_KEYSLOT_ARGON2_MIN_TIME,
			       ES_KEYSLOT_ARGON2_MIN_KIB, ES_CRYPTO_ARGON2_MAX_TIME,
			       es_crypto_argon2id_max_memory_kib(), ES_CRYPTO_ARGON2_MAX_LANES);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * One derivation at the starting cost, timed, then extrapolated linearly
 * (Argon2's time grows with memory x iterations): memory first, up to
 * ES_KEYSLOT_ARGON2_CAL_MAX_KIB and the read bound, then iterations.
 * Short, and good to within the noise of one measurement, which is all a
 * cost choice needs.
 */
int es_keyslot_calibrate(const struct es_keyslot_policy *policy,
			 struct es_keyslot_argon2 *out, struct es_err *err)
{
	static const struct es_keyslot_policy defaults;
	const struct es_keyslot_policy *pol = policy ? policy : &defaults;
	uint32_t target = pol->target_ms ? pol->target_ms : ES_KEYSLOT_ARGON2_TARGET_MS;
	uint32_t mem_cap = es_crypto_argon2id_max_memory_kib();
	struct es_crypto_argon2id_params p;
	uint8_t salt[16] = { 0 }, dummy[KEK_SIZE];
	double elapsed_ms, scale;
	uint64_t t0;
	int ret;

	out->lanes = pol->lanes ? pol->lanes : default_lanes();
	out->m_cost_kib = pol->m_cost_kib ? pol->m_cost_kib : ES_KEYSLOT_ARGON2_MIN_KIB;
	out->t_cost = pol->t_cost ? pol->t_cost : ES_KEYSLOT_ARGON2_MIN_TIME;
	ret = check_new_costs(out, err);
	if (ret || (pol->m_cost_kib && pol->t_cost))
		return ret;
	if (mem_cap > ES_KEYSLOT_ARGON2_CAL_MAX_KIB)
		mem_cap = ES_KEYSLOT_ARGON2_CAL_MAX_KIB;

	to_backend(out, &p);
	t0 = now_ns();
	ret = es_crypto_argon2id("calibration", 11, salt, sizeof(salt), &p, dummy, sizeof(dummy));
	elapsed_ms = (double)(now_ns() - t0) / 1e6;
	es_crypto_wipe(dummy, sizeof(dummy));
	if (ret)
		return es_fail(err, ret, "Argon2id failed while measuring its cost");
	if (elapsed_ms < 1)
		elapsed_ms = 1;
	scale = target / elapsed_ms;
	if (scale <= 1)
		return 0;
	if (!pol->m_cost_kib && out->m_cost_kib < mem_cap) {
		double m = out->m_cost_kib * scale;
		uint32_t m_new = m >= mem_cap ? mem_cap : (uint32_t)m;

		m_new -= m_new % 1024;		/* whole MiB */
		if (m_new > out->m_cost_kib) {
			scale *= (double)out->m_cost_kib / m_new;
			out->m_cost_kib = m_new;
		}
	}
	if (!pol->t_cost && scale > 1) {
		double t = out->t_cost * scale;

		out->t_cost = t >= ES_CRYPTO_ARGON2_MAX_TIME ? ES_CRYPTO_ARGON2_MAX_TIME
							    : (uint32_t)t;
		if (out->t_cost < ES_KEYSLOT_ARGON2_MIN_TIME)
			out->t_cost = ES_KEYSLOT_ARGON2_MIN_TIME;
	}
	return 0;
}

void es_keyslot_policy_of(const struct es_keyslot_info *info, struct es_keyslot_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->m_cost_kib = info->argon2.m_cost_kib;
	policy->t_cost = info->argon2.t_cost;
	policy->lanes = info->argon2.lanes;
}

/* ---- the kinds ------------------------------------------------------------- */

#define LABEL_ARGS(x) ES_LABEL(x), sizeof(ES_LABEL(x))

struct kind_ops {
	enum es_keyslot_kind kind;
	/* can c be the credential of this slot?  (nothing derived) */
	bool (*matches)(const struct es_keyslot_cred *c, const struct es_keyslot_info *info);
	/* new parameters (salt, costs, ephemeral key) for c, and their KEK;
	 * from fixed instead of fresh randomness for the test vectors */
	int (*fresh)(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
		     const struct es_keyslot_policy *policy,
		     const struct es_keyslot_fixed *fixed, uint8_t *params,
		     uint8_t kek[KEK_SIZE], struct es_err *err);
	/* the KEK of stored parameters under c */
	int (*derive)(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
		      const uint8_t *params, const struct es_keyslot_info *info,
		      uint8_t kek[KEK_SIZE], struct es_err *err);
};

/* A new salt: random, or the test vectors' fixed one. */
static int new_salt(const struct es_keyslot_fixed *fixed, uint8_t *salt, struct es_err *err)
{
	if (fixed) {
		memcpy(salt, fixed->salt, ES_KEYSLOT_SALT_SIZE);
		return 0;
	}
	if (es_crypto_random(salt, ES_KEYSLOT_SALT_SIZE))
		return es_fail(err, -EIO, "no random bytes for a salt");
	return 0;
}

/* passphrase: Argon2id(passphrase, salt, t, m, lanes) */

static bool passphrase_matches(const struct es_keyslot_cred *c, const struct es_keyslot_info *info)
{
	return true;
}

static int argon2_kek(const struct es_keyslot_cred *c, const uint8_t *salt,
		      const struct es_keyslot_argon2 *a, uint8_t kek[KEK_SIZE], struct es_err *err)
{
	struct es_crypto_argon2id_params p;
	int ret;

	to_backend(a, &p);
	ret = es_crypto_argon2id(c->secret, c->secret_len, salt, ES_KEYSLOT_SALT_SIZE, &p, kek,
				 KEK_SIZE);
	if (ret == -ENOMEM)
		return es_fail(err, ret, "not enough memory for Argon2id (%u KiB)", a->m_cost_kib);
	if (ret)
		return es_fail(err, ret, "Argon2id failed");
	return 0;
}

static int passphrase_fresh(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			    const struct es_keyslot_policy *policy,
			    const struct es_keyslot_fixed *fixed, uint8_t *params,
			    uint8_t kek[KEK_SIZE], struct es_err *err)
{
	struct es_crypto_argon2id_params p;
	struct es_keyslot_argon2 a;
	int ret;

	if (fixed) {
		a = fixed->argon2;
		to_backend(&a, &p);
		ret = es_crypto_argon2id_check(&p) ?
			es_fail(err, -ERANGE, "Argon2id costs outside the read bounds") : 0;
	} else {
		ret = es_keyslot_calibrate(policy, &a, err);
	}
	if (!ret)
		ret = new_salt(fixed, params + P_SALT, err);
	if (ret)
		return ret;
	es_put32(params + P_ARGON2_T, a.t_cost);
	es_put32(params + P_ARGON2_M, a.m_cost_kib);
	es_put32(params + P_ARGON2_LANES, a.lanes);
	es_put32(params + P_ARGON2_VER, ARGON2_VERSION);
	return argon2_kek(c, params + P_SALT, &a, kek, err);
}

static int passphrase_derive(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			     const uint8_t *params, const struct es_keyslot_info *info,
			     uint8_t kek[KEK_SIZE], struct es_err *err)
{
	if (!info->within_bounds)
		return es_fail(err, -ERANGE, "the slot asks Argon2id for %u iterations, %u KiB "
			       "and %u lanes: outside the bounds (at most %u iterations, %u KiB, "
			       "%u lanes), refused before deriving anything",
			       info->argon2.t_cost, info->argon2.m_cost_kib, info->argon2.lanes,
			       ES_CRYPTO_ARGON2_MAX_TIME, es_crypto_argon2id_max_memory_kib(),
			       ES_CRYPTO_ARGON2_MAX_LANES);
	return argon2_kek(c, params + P_SALT, &info->argon2, kek, err);
}

/* keyfile: HKDF-SHA256(salt, file bytes, L("keyfile") | uuid) */

static bool any_matches(const struct es_keyslot_cred *c, const struct es_keyslot_info *info)
{
	return true;
}

static int keyfile_derive(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			  const uint8_t *params, const struct es_keyslot_info *info,
			  uint8_t kek[KEK_SIZE], struct es_err *err)
{
	int ret = es_keyslot_kek_keyfile(params, uuid, c->secret, c->secret_len, kek);

	return ret ? es_fail(err, ret, "HKDF failed") : 0;
}

static int keyfile_fresh(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			 const struct es_keyslot_policy *policy,
			 const struct es_keyslot_fixed *fixed, uint8_t *params,
			 uint8_t kek[KEK_SIZE], struct es_err *err)
{
	int ret = new_salt(fixed, params + P_SALT, err);

	if (ret)
		return ret;
	return keyfile_derive(c, uuid, params, NULL, kek, err);
}

/* seed: HKDF-SHA256(salt, seed, L("seed") | u16le(|label|) | label | uuid) */

static bool seed_matches(const struct es_keyslot_cred *c, const struct es_keyslot_info *info)
{
	return es_keyslot_label_matches(info, c->label, c->label_len);
}

static int seed_derive(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
		       const uint8_t *params, const struct es_keyslot_info *info,
		       uint8_t kek[KEK_SIZE], struct es_err *err)
{
	int ret = es_keyslot_kek_seed(params, uuid, c->secret, c->secret_len, c->label,
				      c->label_len, kek);

	return ret ? es_fail(err, ret, "HKDF failed") : 0;
}

static int seed_fresh(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
		      const struct es_keyslot_policy *policy,
		      const struct es_keyslot_fixed *fixed, uint8_t *params,
		      uint8_t kek[KEK_SIZE], struct es_err *err)
{
	int ret = new_salt(fixed, params + P_SALT, err);

	if (ret)
		return ret;
	es_put16(params + P_SEED_LABEL_LEN, (uint16_t)c->label_len);
	memcpy(params + P_SEED_LABEL, c->label, c->label_len);
	return seed_derive(c, uuid, params, NULL, kek, err);
}

/* X25519: HKDF-SHA256(salt = eph_pub | R, X25519(eph, R), L("x25519") | uuid) */

static bool x25519_matches(const struct es_keyslot_cred *c, const struct es_keyslot_info *info)
{
	/* public values: no constant time needed */
	return c->has_private && !memcmp(c->pub, info->recipient, X_KEY);
}

static int x25519_kek(const uint8_t shared[X_KEY], const uint8_t *params,
		      const uint8_t uuid[ES_UUID_SIZE], uint8_t kek[KEK_SIZE], struct es_err *err)
{
	/* eph_pub | R, as stored */
	int ret = es_keyslot_hkdf_kek(params + P_X25519_EPH, 2 * X_KEY, shared, X_KEY,
				      LABEL_ARGS("x25519"), false, NULL, 0, uuid, kek);

	return ret ? es_fail(err, ret, "HKDF failed") : 0;
}

static int x25519_derive(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			 const uint8_t *params, const struct es_keyslot_info *info,
			 uint8_t kek[KEK_SIZE], struct es_err *err)
{
	uint8_t shared[X_KEY];
	int ret = es_crypto_x25519(c->secret, params + P_X25519_EPH, shared);

	if (ret == -EBADMSG)
		ret = es_fail(err, -EKEYREJECTED, "the slot's ephemeral key is a low-order "
			      "point (all-zero shared secret)");
	else if (ret)
		ret = es_fail(err, ret, "X25519 failed");
	else
		ret = x25519_kek(shared, params, uuid, kek, err);
	es_crypto_wipe(shared, sizeof(shared));
	return ret;
}

static int x25519_fresh(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			const struct es_keyslot_policy *policy,
			const struct es_keyslot_fixed *fixed, uint8_t *params,
			uint8_t kek[KEK_SIZE], struct es_err *err)
{
	uint8_t eph[X_KEY], shared[X_KEY];
	int ret;

	/* a fresh ephemeral key per wrap: the KEK is used once */
	if (fixed) {
		memcpy(eph, fixed->eph_priv, X_KEY);
		ret = es_crypto_x25519_public(eph, params + P_X25519_EPH);
	} else {
		ret = es_crypto_x25519_keygen(eph, params + P_X25519_EPH);
	}

	if (ret) {
		ret = es_fail(err, ret, "cannot make an ephemeral X25519 key");
		goto out;
	}
	memcpy(params + P_X25519_R, c->pub, X_KEY);
	ret = es_crypto_x25519(eph, c->pub, shared);
	if (ret == -EBADMSG)
		ret = es_fail(err, -EINVAL, "credential \"%s\": the recipient key is a "
			      "low-order point (all-zero shared secret)", c->spec);
	else if (ret)
		ret = es_fail(err, ret, "X25519 failed");
	else
		ret = x25519_kek(shared, params, uuid, kek, err);
out:
	es_crypto_wipe(eph, sizeof(eph));
	es_crypto_wipe(shared, sizeof(shared));
	return ret;
}

static const struct kind_ops kinds[] = {
	{ ES_KEYSLOT_PASSPHRASE, passphrase_matches, passphrase_fresh, passphrase_derive },
	{ ES_KEYSLOT_KEYFILE, any_matches, keyfile_fresh, keyfile_derive },
	{ ES_KEYSLOT_X25519, x25519_matches, x25519_fresh, x25519_derive },
	{ ES_KEYSLOT_SEED, seed_matches, seed_fresh, seed_derive },
};

static const struct kind_ops *kind_ops(unsigned int kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

/* ---- entries ------------------------------------------------------------- */

int es_keyslot_parse(const uint8_t entry[ES_KEYSLOT_SIZE], struct es_keyslot_info *info,
		     struct es_err *err)
{
	struct es_crypto_argon2id_params p;
	int ret = es_keyslot_parse_form(entry, info, err);

	if (ret || info->kind != ES_KEYSLOT_PASSPHRASE)
		return ret;
	to_backend(&info->argon2, &p);
	info->within_bounds = es_crypto_argon2id_check(&p) == 0;
	return 0;
}

static int wrap(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
		const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t kid[ES_KID_SIZE],
		const struct es_keyslot_policy *policy, const struct es_keyslot_fixed *fixed,
		uint8_t entry[ES_KEYSLOT_SIZE], struct es_err *err)
{
	uint8_t aad[ES_KEYSLOT_AAD_SIZE];
	const struct kind_ops *ops = kind_ops(c->kind);
	uint8_t kek[KEK_SIZE];
	int ret;

	memset(entry, 0, ES_KEYSLOT_SIZE);
	if (!ops)
		return es_fail(err, -EINVAL, "unknown slot kind");
	if (c->kind == ES_KEYSLOT_PASSPHRASE && !c->secret_len)
		return es_fail(err, -EINVAL, "an empty passphrase cannot protect a slot");
	entry[E_KIND] = (uint8_t)c->kind;
	ret = ops->fresh(c, uuid, policy, fixed, entry + E_PARAMS, kek, err);
	if (ret)
		goto out;
	if (fixed) {
		memcpy(entry + E_NONCE, fixed->nonce, ES_CRYPTO_GCM_NONCE_SIZE);
	} else if (es_crypto_random(entry + E_NONCE, ES_CRYPTO_GCM_NONCE_SIZE)) {
		ret = es_fail(err, -EIO, "no random bytes for a nonce");
		goto out;
	}
	es_keyslot_aad(uuid, kid, entry, aad);
	ret = es_crypto_aead_seal(kek, entry + E_NONCE, aad, sizeof(aad), tk, ES_TABLE_KEY_SIZE,
				  entry + E_WRAPPED, entry + E_TAG);
	if (ret)
		ret = es_fail(err, ret, "AES-256-GCM failed");
out:
	es_crypto_wipe(kek, sizeof(kek));
	if (ret)
		memset(entry, 0, ES_KEYSLOT_SIZE);
	return ret;
}

int es_keyslot_wrap(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
		    const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t kid[ES_KID_SIZE],
		    const struct es_keyslot_policy *policy, uint8_t entry[ES_KEYSLOT_SIZE],
		    struct es_err *err)
{
	return wrap(c, uuid, tk, kid, policy, NULL, entry, err);
}

int es_keyslot_wrap_fixed(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			  const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t kid[ES_KID_SIZE],
			  const struct es_keyslot_fixed *fixed, uint8_t entry[ES_KEYSLOT_SIZE],
			  struct es_err *err)
{
	if (!fixed)
		return es_fail(err, -EINVAL, "no fixed inputs");
	return wrap(c, uuid, tk, kid, NULL, fixed, entry, err);
}

/* The KEK of entry under c: 0, or -ENOKEY / -ERANGE / -ES_ECORRUPT / ... */
static int entry_kek(const struct es_keyslot_cred *c, const uint8_t entry[ES_KEYSLOT_SIZE],
		     const uint8_t uuid[ES_UUID_SIZE], uint8_t kek[KEK_SIZE], struct es_err *err)
{
	struct es_keyslot_info info;
	const struct kind_ops *ops;
	int ret = es_keyslot_parse(entry, &info, err);

	if (ret)
		return ret;
	if (info.kind != c->kind || !(ops = kind_ops(info.kind)) || !ops->matches(c, &info))
		return -ENOKEY;
	return ops->derive(c, uuid, entry + E_PARAMS, &info, kek, err);
}

int es_keyslot_kek(const struct es_keyslot_cred *c, const uint8_t entry[ES_KEYSLOT_SIZE],
		   const uint8_t uuid[ES_UUID_SIZE], uint8_t kek[32], struct es_err *err)
{
	int ret = entry_kek(c, entry, uuid, kek, err);

	if (ret)
		es_crypto_wipe(kek, KEK_SIZE);
	return ret;
}

int es_keyslot_unwrap(const struct es_keyslot_cred *c, const uint8_t entry[ES_KEYSLOT_SIZE],
		      const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
		      uint8_t tk[ES_TABLE_KEY_SIZE], struct es_err *err)
{
	uint8_t kek[KEK_SIZE];
	int ret;

	es_crypto_wipe(tk, ES_TABLE_KEY_SIZE);
	ret = entry_kek(c, entry, uuid, kek, err);
	if (!ret)
		ret = es_keyslot_open_kek(entry, uuid, kid, kek, tk, err);
	es_crypto_wipe(kek, sizeof(kek));
	return ret;
}
