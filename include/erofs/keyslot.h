/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Keyslots (ENCRYPTION.md section 3): each wraps the table key TK with
 * AES-256-GCM under a key-encryption key (KEK) that one credential
 * derives.  A credential is named by a SPEC string, spelt the same in
 * every program (mkfs --keyslot, erofs-key --keyslot / --unlock, the
 * readers' --unlock):
 *
 *   passphrase               typed at the terminal (the program supplies
 *                            the prompt), Argon2id
 *   passphrase-file:FILE     the bytes of FILE up to its first newline
 *   keyfile:FILE             the exact bytes of FILE, 32 B to 8 MiB
 *   recipient:PUB.pem        X25519 public key (to add a slot)
 *   identity:KEY.pem         X25519 private key (to unlock such a slot)
 *   seed:FILE[:LABEL]        a machine seed (32 B to 8 MiB) and a label
 *                            (up to 64 printable ASCII bytes); the label is
 *                            what follows the last ':' after FILE, so a
 *                            FILE with a ':' in its name needs a label,
 *                            possibly empty ("seed:a:b:")
 *
 * Byte layout of a slot entry, KEK derivations and the associated data:
 * docs/FORMAT.md section 4.3.  An unwrap succeeds only when the GCM tag
 * verifies and the kid of the unwrapped TK equals the header's (compared
 * in constant time): key commitment.  Every wrap draws a fresh salt (or
 * ephemeral key) and nonce.
 */
#ifndef EROFS_KEYSLOT_H
#define EROFS_KEYSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/keytable.h"

#define ES_KEYSLOT_SIZE		256	/* bytes of one slot entry */
#define ES_KEYSLOT_AAD_BYTES	168	/* entry bytes bound as associated data */
#define ES_KEYSLOT_SALT_SIZE	32
#define ES_KEYSLOT_LABEL_MAX	64
#define ES_KEYFILE_MIN		32u
#define ES_KEYFILE_MAX		(8u << 20)
#define ES_PASSPHRASE_MAX	4096u

/* Creation minimums for Argon2id slots (ENCRYPTION.md section 3). */
#define ES_KEYSLOT_ARGON2_MIN_KIB	(64u << 10)	/* 64 MiB */
#define ES_KEYSLOT_ARGON2_MIN_TIME	3u
/* What calibration aims at, unless told otherwise, and its memory cap. */
#define ES_KEYSLOT_ARGON2_TARGET_MS	1000u
#define ES_KEYSLOT_ARGON2_CAL_MAX_KIB	(1u << 20)	/* 1 GiB */

/* Stored in key areas: never renumber. */
enum es_keyslot_kind {
	ES_KEYSLOT_EMPTY = 0,
	ES_KEYSLOT_PASSPHRASE = 1,	/* passphrase, passphrase-file: Argon2id */
	ES_KEYSLOT_KEYFILE = 2,
	ES_KEYSLOT_X25519 = 3,		/* recipient: / identity: */
	ES_KEYSLOT_SEED = 4,
};

/* "passphrase", "keyfile", "x25519", "seed" ("empty", "unknown"). */
const char *es_keyslot_kind_name(enum es_keyslot_kind kind);

/* What a credential is loaded for: opening slots, or making a new one. */
enum es_keyslot_use {
	ES_KEYSLOT_FOR_UNLOCK = 0,
	ES_KEYSLOT_FOR_ADD = 1,
};

/*
 * How the library asks for a passphrase: the program owns the terminal.
 * read() puts at most cap bytes into buf (secret memory the library
 * owns; no terminating NUL needed) and their number into *len; with
 * use == ES_KEYSLOT_FOR_ADD it asks twice and fails when the two differ.
 * Returns 0 or a negative errno with a message in err.
 */
struct es_passphrase_prompt {
	int (*read)(void *ctx, enum es_keyslot_use use, const char *spec, char *buf,
		    size_t cap, size_t *len, struct es_err *err);
	void *ctx;
};

/* Argon2id costs of a passphrase slot, as stored. */
struct es_keyslot_argon2 {
	uint32_t t_cost;		/* iterations */
	uint32_t m_cost_kib;		/* memory, KiB */
	uint32_t lanes;			/* parallelism */
};

/* Costs for new passphrase slots. */
struct es_keyslot_policy {
	/*
	 * Explicit Argon2id costs; a zero field is chosen: lanes =
	 * min(4, online CPUs), memory and iterations by a short benchmark
	 * that aims at target_ms per derivation (0: the default) with at
	 * least ES_KEYSLOT_ARGON2_MIN_KIB and ES_KEYSLOT_ARGON2_MIN_TIME.
	 * Explicit values below those minimums or above the read bounds of
	 * lib/crypto/backend.h are refused (-ERANGE).
	 */
	uint32_t m_cost_kib, t_cost, lanes;
	uint32_t target_ms;
};

/* A loaded credential (secret memory inside; free it). */
struct es_keyslot_cred;

/*
 * Parse spec and load what it names: read the file, or ask prompt for a
 * passphrase (prompt may be NULL: then "passphrase" is refused).
 * recipient: is only for FOR_ADD, identity: only for FOR_UNLOCK; for
 * FOR_ADD a passphrase may not be empty.  -EINVAL with a message for a
 * spec that does not parse.
 */
int es_keyslot_cred_load(const char *spec, enum es_keyslot_use use,
			 const struct es_passphrase_prompt *prompt,
			 struct es_keyslot_cred **out, struct es_err *err);
/* The recipient of an X25519 slot entry, as a credential that can wrap. */
int es_keyslot_cred_recipient_of(const uint8_t entry[ES_KEYSLOT_SIZE],
				 struct es_keyslot_cred **out, struct es_err *err);
void es_keyslot_cred_free(struct es_keyslot_cred *c);
enum es_keyslot_kind es_keyslot_cred_kind(const struct es_keyslot_cred *c);
/* The spec it was loaded from (no secret in it), for messages. */
const char *es_keyslot_cred_spec(const struct es_keyslot_cred *c);

/* Argon2id costs by benchmark, as the policy above describes. */
int es_keyslot_calibrate(const struct es_keyslot_policy *policy,
			 struct es_keyslot_argon2 *out, struct es_err *err);

/* ---- slot entries ------------------------------------------------------ */

/* What a slot entry says, without anything secret. */
struct es_keyslot_info {
	enum es_keyslot_kind kind;
	struct es_keyslot_argon2 argon2;		/* passphrase */
	uint8_t recipient[32];				/* x25519: R */
	char label[ES_KEYSLOT_LABEL_MAX + 1];		/* seed */
	/* passphrase: the costs are inside the read bounds (else unlocking
	 * refuses the slot before deriving anything) */
	bool within_bounds;
};

/*
 * Parse and check the form of an entry (kind known, zero padding, label
 * printable): -ES_ECORRUPT with a message otherwise.  An empty entry must
 * be all zero.  The Argon2 bounds are reported in info, not refused here.
 */
int es_keyslot_parse(const uint8_t entry[ES_KEYSLOT_SIZE], struct es_keyslot_info *info,
		     struct es_err *err);

/*
 * Wrap tk for credential c into entry (ES_KEYSLOT_SIZE bytes): fresh salt
 * or ephemeral key, fresh nonce.  policy gives the costs of a passphrase
 * slot (NULL: calibrate with the defaults).  kid must be es_derive_kid(tk).
 */
int es_keyslot_wrap(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
		    const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t kid[ES_KID_SIZE],
		    const struct es_keyslot_policy *policy, uint8_t entry[ES_KEYSLOT_SIZE],
		    struct es_err *err);

/*
 * Open entry with credential c into tk.  Returns 0; -ENOKEY when c cannot
 * be for this slot at all (another kind, another X25519 recipient or seed
 * label; nothing was derived); -ERANGE when the slot's Argon2 costs are
 * outside the read bounds (refused before deriving); -EKEYREJECTED when
 * the tag does not verify or the kid differs (wrong credential, or a slot
 * changed in place); -ES_ECORRUPT for a malformed entry.  tk is wiped on
 * every failure.
 */
int es_keyslot_unwrap(const struct es_keyslot_cred *c, const uint8_t entry[ES_KEYSLOT_SIZE],
		      const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
		      uint8_t tk[ES_TABLE_KEY_SIZE], struct es_err *err);

/*
 * For the published test vectors only (docs/FORMAT.md section 4.6): wrap
 * with the given salt, nonce, Argon2 costs (inside the read bounds, not
 * necessarily the creation minimums) and X25519 ephemeral private key
 * instead of fresh random ones, so that libcore computes the same bytes
 * as the oracle.  Never for real slots: reusing these is reusing a nonce.
 */
struct es_keyslot_fixed {
	uint8_t salt[ES_KEYSLOT_SALT_SIZE];
	uint8_t nonce[12];
	uint8_t eph_priv[32];
	struct es_keyslot_argon2 argon2;
};
int es_keyslot_wrap_fixed(const struct es_keyslot_cred *c, const uint8_t uuid[ES_UUID_SIZE],
			  const uint8_t tk[ES_TABLE_KEY_SIZE], const uint8_t kid[ES_KID_SIZE],
			  const struct es_keyslot_fixed *fixed, uint8_t entry[ES_KEYSLOT_SIZE],
			  struct es_err *err);
/*
 * The KEK credential c derives for an existing entry (what unwrap uses),
 * for the test vectors and for tools that must show their work; same
 * return values as es_keyslot_unwrap() before the tag is checked.
 */
int es_keyslot_kek(const struct es_keyslot_cred *c, const uint8_t entry[ES_KEYSLOT_SIZE],
		   const uint8_t uuid[ES_UUID_SIZE], uint8_t kek[32], struct es_err *err);

/* The Argon2 costs to keep when a passphrase slot is rewrapped. */
void es_keyslot_policy_of(const struct es_keyslot_info *info, struct es_keyslot_policy *policy);

#endif
