/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Keyslot entries (docs/FORMAT.md 4.3) as both the hosted keyslots
 * (keyslot.c: credentials, wrapping, every kind) and the boot unlock
 * (keydec.c: key-file and seed slots) read them.  The code behind this is
 * freestanding (keyslot_open.c): parsing an entry, the KEK of a key-file
 * or seed slot, opening the wrapped table key with a KEK, and the search
 * over the slots of a key area.
 */
#ifndef ES_KEYS_KEYSLOT_ENTRY_H
#define ES_KEYS_KEYSLOT_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/keyslot.h"

#define E_KIND		0
#define E_PARAMS	8
#define E_PARAMS_SIZE	160
#define E_NONCE		168	/* = ES_KEYSLOT_AAD_BYTES */
#define E_WRAPPED	180
#define E_TAG		212
#define E_END		228	/* zero from here to ES_KEYSLOT_SIZE */

/* parameter bytes, relative to E_PARAMS */
#define P_SALT		0	/* passphrase, keyfile, seed */
#define P_ARGON2_T	32
#define P_ARGON2_M	36
#define P_ARGON2_LANES	40
#define P_ARGON2_VER	44
#define P_ARGON2_END	48
#define P_SEED_LABEL_LEN 32
#define P_SEED_LABEL	34
#define P_X25519_EPH	0
#define P_X25519_R	32
#define P_X25519_END	64

#define ARGON2_VERSION	0x13u
#define KEK_SIZE	32

/* associated data of the wrap: uuid | kid | entry[0..ES_KEYSLOT_AAD_BYTES) */
#define ES_KEYSLOT_AAD_SIZE	(ES_UUID_SIZE + ES_KID_SIZE + ES_KEYSLOT_AAD_BYTES)

static inline bool es_keyslot_label_char_ok(char ch)
{
	return ch >= 0x20 && ch <= 0x7e;
}

/*
 * The form of an entry, as es_keyslot_parse() checks it, without judging
 * Argon2 costs (info->within_bounds stays true: the bounds depend on the
 * machine, which the hosted caller knows).
 */
int es_keyslot_parse_form(const uint8_t entry[ES_KEYSLOT_SIZE], struct es_keyslot_info *info,
			  struct es_err *err);
void es_keyslot_aad(const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
		    const uint8_t *entry, uint8_t aad[ES_KEYSLOT_AAD_SIZE]);

/*
 * HKDF-SHA256(salt, ikm, info = label | [u16le(|l|) | l] | uuid, 32): the
 * KEK of keyfile (no l), seed (l = its label) and X25519 slots (no l).
 * label is L(x) with its length.
 */
int es_keyslot_hkdf_kek(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
			size_t ikm_len, const char *label, size_t label_len,
			bool with_seed_label, const char *seed_label, size_t seed_label_len,
			const uint8_t uuid[ES_UUID_SIZE], uint8_t kek[KEK_SIZE]);
/* The KEK of a key-file slot with parameters params (entry + E_PARAMS). */
int es_keyslot_kek_keyfile(const uint8_t *params, const uint8_t uuid[ES_UUID_SIZE],
			   const uint8_t *key, size_t key_len, uint8_t kek[KEK_SIZE]);
/* The KEK of a seed slot for a seed and label (the slot's, see below). */
int es_keyslot_kek_seed(const uint8_t *params, const uint8_t uuid[ES_UUID_SIZE],
			const uint8_t *seed, size_t seed_len, const char *label,
			size_t label_len, uint8_t kek[KEK_SIZE]);
/* A seed slot (parsed into info) is for this label. */
bool es_keyslot_label_matches(const struct es_keyslot_info *info, const char *label,
			      size_t label_len);

/*
 * Open the table key wrapped in entry with kek: 0; -EKEYREJECTED when the
 * tag does not verify or the key id differs (key commitment); another
 * error with a message.  tk is wiped on every failure.
 */
int es_keyslot_open_kek(const uint8_t entry[ES_KEYSLOT_SIZE], const uint8_t uuid[ES_UUID_SIZE],
			const uint8_t kid[ES_KID_SIZE], const uint8_t kek[KEK_SIZE],
			uint8_t tk[ES_TABLE_KEY_SIZE], struct es_err *err);

/*
 * The search for a slot that opens, one credential after another.  An
 * opener has es_keyslot_unwrap()'s return values: -ENOKEY (not for this
 * slot, nothing derived), -EKEYREJECTED, -ERANGE / -ENOMEM (a slot this
 * machine cannot afford), others stop the search.
 */
typedef int (*es_keyslot_opener)(void *ctx, const uint8_t entry[ES_KEYSLOT_SIZE],
				 const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
				 uint8_t tk[ES_TABLE_KEY_SIZE], struct es_err *err);

struct es_keyslot_search {
	unsigned int tried;		/* slots a credential was tried on */
	int refused_ret;		/* the first slot refused for its costs */
	struct es_err refused;
};

/*
 * One credential (open, ctx) on every used slot of slots: 0 and *slot (may
 * be NULL) when one opens; -EKEYREJECTED when none does (s counts, no
 * message: try the next credential, or es_keyslot_search_failed()); any
 * other error with a message naming the slot.
 */
int es_keyslot_search(struct es_keyslot_search *s,
		      const uint8_t (*slots)[ES_KEYSLOT_SIZE], unsigned int nslots,
		      const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
		      es_keyslot_opener open, void *ctx, uint8_t tk[ES_TABLE_KEY_SIZE],
		      unsigned int *slot, struct es_err *err);
/* Why no credential opened a slot: -EKEYREJECTED (or the refused slot's code). */
int es_keyslot_search_failed(const struct es_keyslot_search *s, struct es_err *err);

#endif
