// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Reading keyslot entries and opening them: see keyslot_entry.h; the bytes
 * are in docs/FORMAT.md section 4.3.  Freestanding: no heap, nothing from
 * the C library but memcpy/memset/memcmp; the hosted keyslots (keyslot.c)
 * and the boot unlock (keydec.c) both open slots through here.
 */
#include <errno.h>
#include <string.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keyslot.h"
#include "keys/keyslot_entry.h"

_Static_assert(E_NONCE == ES_KEYSLOT_AAD_BYTES, "the AAD ends where the nonce starts");
_Static_assert(E_PARAMS + E_PARAMS_SIZE == E_NONCE, "parameter area");
_Static_assert(E_WRAPPED == E_NONCE + ES_CRYPTO_GCM_NONCE_SIZE, "nonce size");
_Static_assert(E_TAG == E_WRAPPED + ES_TABLE_KEY_SIZE, "wrapped key size");
_Static_assert(E_END == E_TAG + ES_CRYPTO_GCM_TAG_SIZE, "tag size");
_Static_assert(P_SEED_LABEL + ES_KEYSLOT_LABEL_MAX <= E_PARAMS_SIZE, "seed label fits");

#define LABEL_ARGS(x) ES_LABEL(x), sizeof(ES_LABEL(x))

const char *es_keyslot_kind_name(enum es_keyslot_kind kind)
{
	switch (kind) {
	case ES_KEYSLOT_EMPTY:
		return "empty";
	case ES_KEYSLOT_PASSPHRASE:
		return "passphrase";
	case ES_KEYSLOT_KEYFILE:
		return "keyfile";
	case ES_KEYSLOT_X25519:
		return "x25519";
	case ES_KEYSLOT_SEED:
		return "seed";
	}
	return "unknown";
}

/* ---- parameters of each kind: well formed? ---------------------------------- */

static bool params_zero_from(const uint8_t *params, size_t off)
{
	return es_is_zero(params + off, E_PARAMS_SIZE - off);
}

static bool passphrase_form(const uint8_t *params, struct es_keyslot_info *info)
{
	if (es_get32(params + P_ARGON2_VER) != ARGON2_VERSION ||
	    !params_zero_from(params, P_ARGON2_END))
		return false;
	info->argon2.t_cost = es_get32(params + P_ARGON2_T);
	info->argon2.m_cost_kib = es_get32(params + P_ARGON2_M);
	info->argon2.lanes = es_get32(params + P_ARGON2_LANES);
	return true;
}

static bool seed_form(const uint8_t *params, struct es_keyslot_info *info)
{
	uint16_t len = es_get16(params + P_SEED_LABEL_LEN);

	if (len > ES_KEYSLOT_LABEL_MAX || !params_zero_from(params, P_SEED_LABEL + len))
		return false;
	for (uint16_t i = 0; i < len; i++)
		if (!es_keyslot_label_char_ok((char)params[P_SEED_LABEL + i]))
			return false;
	memcpy(info->label, params + P_SEED_LABEL, len);
	info->label[len] = '\0';
	return true;
}

static bool x25519_form(const uint8_t *params, struct es_keyslot_info *info)
{
	if (!params_zero_from(params, P_X25519_END))
		return false;
	memcpy(info->recipient, params + P_X25519_R, sizeof(info->recipient));
	return true;
}

int es_keyslot_parse_form(const uint8_t entry[ES_KEYSLOT_SIZE], struct es_keyslot_info *info,
			  struct es_err *err)
{
	const uint8_t *params = entry + E_PARAMS;
	bool ok;

	memset(info, 0, sizeof(*info));
	info->within_bounds = true;
	info->kind = (enum es_keyslot_kind)entry[E_KIND];
	switch (entry[E_KIND]) {
	case ES_KEYSLOT_EMPTY:
		if (!es_is_zero(entry, ES_KEYSLOT_SIZE))
			return es_fail(err, -ES_ECORRUPT, "an empty slot holds data");
		return 0;
	case ES_KEYSLOT_PASSPHRASE:
	case ES_KEYSLOT_KEYFILE:
	case ES_KEYSLOT_X25519:
	case ES_KEYSLOT_SEED:
		break;
	default:
		return es_fail(err, -ES_ECORRUPT, "unknown slot kind %u", entry[E_KIND]);
	}
	if (!es_is_zero(entry + 1, E_PARAMS - 1) ||
	    !es_is_zero(entry + E_END, ES_KEYSLOT_SIZE - E_END))
		return es_fail(err, -ES_ECORRUPT, "reserved bytes of a %s slot are not zero",
			       es_keyslot_kind_name(info->kind));
	switch (info->kind) {
	case ES_KEYSLOT_PASSPHRASE:
		ok = passphrase_form(params, info);
		break;
	case ES_KEYSLOT_SEED:
		ok = seed_form(params, info);
		break;
	case ES_KEYSLOT_X25519:
		ok = x25519_form(params, info);
		break;
	default:	/* a key file's: the salt alone */
		ok = params_zero_from(params, ES_KEYSLOT_SALT_SIZE);
		break;
	}
	if (!ok)
		return es_fail(err, -ES_ECORRUPT, "malformed parameters of a %s slot",
			       es_keyslot_kind_name(info->kind));
	return 0;
}

void es_keyslot_aad(const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
		    const uint8_t *entry, uint8_t aad[ES_KEYSLOT_AAD_SIZE])
{
	memcpy(aad, uuid, ES_UUID_SIZE);
	memcpy(aad + ES_UUID_SIZE, kid, ES_KID_SIZE);
	memcpy(aad + ES_UUID_SIZE + ES_KID_SIZE, entry, ES_KEYSLOT_AAD_BYTES);
}

/* ---- KEKs ---------------------------------------------------------------------- */

int es_keyslot_hkdf_kek(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
			size_t ikm_len, const char *label, size_t label_len,
			bool with_seed_label, const char *seed_label, size_t seed_label_len,
			const uint8_t uuid[ES_UUID_SIZE], uint8_t kek[KEK_SIZE])
{
	uint8_t info[32 + 2 + ES_KEYSLOT_LABEL_MAX + ES_UUID_SIZE];
	size_t n = label_len;

	if (label_len > 32 || seed_label_len > ES_KEYSLOT_LABEL_MAX)
		return -EINVAL;
	memcpy(info, label, label_len);
	if (with_seed_label) {
		es_put16(info + n, (uint16_t)seed_label_len);
		memcpy(info + n + 2, seed_label, seed_label_len);
		n += 2 + seed_label_len;
	}
	memcpy(info + n, uuid, ES_UUID_SIZE);
	n += ES_UUID_SIZE;
	return es_crypto_hkdf(ES_CRYPTO_SHA256, salt, salt_len, ikm, ikm_len, info, n, kek,
			      KEK_SIZE);
}

int es_keyslot_kek_keyfile(const uint8_t *params, const uint8_t uuid[ES_UUID_SIZE],
			   const uint8_t *key, size_t key_len, uint8_t kek[KEK_SIZE])
{
	return es_keyslot_hkdf_kek(params + P_SALT, ES_KEYSLOT_SALT_SIZE, key, key_len,
				   LABEL_ARGS("keyfile"), false, NULL, 0, uuid, kek);
}

int es_keyslot_kek_seed(const uint8_t *params, const uint8_t uuid[ES_UUID_SIZE],
			const uint8_t *seed, size_t seed_len, const char *label,
			size_t label_len, uint8_t kek[KEK_SIZE])
{
	return es_keyslot_hkdf_kek(params + P_SALT, ES_KEYSLOT_SALT_SIZE, seed, seed_len,
				   LABEL_ARGS("seed"), true, label, label_len, uuid, kek);
}

bool es_keyslot_label_matches(const struct es_keyslot_info *info, const char *label,
			      size_t label_len)
{
	size_t n = 0;

	while (n <= ES_KEYSLOT_LABEL_MAX && info->label[n])
		n++;
	return n == label_len && !memcmp(info->label, label, label_len);
}

/* ---- opening ----------------------------------------------------------------- */

int es_keyslot_open_kek(const uint8_t entry[ES_KEYSLOT_SIZE], const uint8_t uuid[ES_UUID_SIZE],
			const uint8_t kid[ES_KID_SIZE], const uint8_t kek[KEK_SIZE],
			uint8_t tk[ES_TABLE_KEY_SIZE], struct es_err *err)
{
	uint8_t aad[ES_KEYSLOT_AAD_SIZE], got_kid[ES_KID_SIZE];
	int ret;

	es_keyslot_aad(uuid, kid, entry, aad);
	ret = es_crypto_aead_open(kek, entry + E_NONCE, aad, sizeof(aad), entry + E_WRAPPED,
				  ES_TABLE_KEY_SIZE, entry + E_TAG, tk);
	if (ret == -EBADMSG) {
		ret = -EKEYREJECTED;
		goto out;
	}
	if (ret) {
		ret = es_fail(err, ret, "AES-256-GCM failed");
		goto out;
	}
	/* key commitment: the tag alone does not pin TK to this key area */
	ret = es_derive_kid(tk, got_kid);
	if (ret)
		ret = es_fail(err, ret, "cannot derive the key id");
	else if (es_crypto_memcmp(got_kid, kid, ES_KID_SIZE))
		ret = -EKEYREJECTED;
out:
	es_crypto_wipe(got_kid, sizeof(got_kid));
	if (ret)
		es_crypto_wipe(tk, ES_TABLE_KEY_SIZE);
	return ret;
}

int es_keyslot_search(struct es_keyslot_search *s,
		      const uint8_t (*slots)[ES_KEYSLOT_SIZE], unsigned int nslots,
		      const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
		      es_keyslot_opener open, void *ctx, uint8_t tk[ES_TABLE_KEY_SIZE],
		      unsigned int *slot, struct es_err *err)
{
	for (unsigned int i = 0; i < nslots; i++) {
		struct es_err serr = { 0 };
		int ret;

		if (slots[i][E_KIND] == ES_KEYSLOT_EMPTY)
			continue;
		ret = open(ctx, slots[i], uuid, kid, tk, &serr);
		if (!ret) {
			if (slot)
				*slot = i;
			return 0;
		}
		if (ret == -ENOKEY)
			continue;
		s->tried++;
		if (ret == -EKEYREJECTED)
			continue;
		/* a slot this machine cannot afford: another may open */
		if (ret == -ERANGE || ret == -ENOMEM) {
			if (!s->refused_ret) {
				s->refused_ret = ret;
				es_fail(&s->refused, ret, "slot %u: %s", i, serr.msg);
			}
			continue;
		}
		return es_fail(err, ret, "slot %u: %s", i, serr.msg);
	}
	return -EKEYREJECTED;
}

int es_keyslot_search_failed(const struct es_keyslot_search *s, struct es_err *err)
{
	if (s->refused_ret)
		return es_fail(err, s->refused_ret, "no credential opens a keyslot; %s",
			       s->refused.msg);
	if (!s->tried)
		return es_fail(err, -EKEYREJECTED, "no keyslot is of the kind of the "
			       "credentials given (or for that X25519 key or seed label)");
	return es_fail(err, -EKEYREJECTED, "no credential opens a keyslot (wrong passphrase "
		       "or key: %u slot%s tried)", s->tried, s->tried == 1 ? "" : "s");
}
