/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Reading an encrypted image (hosted): once a keyslot gave the table key,
 * the key table is decrypted whole, checked against the signed manifest,
 * and attached to the image as its decryption stage (struct es_decryptor
 * of erofs/image.h).  One thread at a time (another thread takes a fork).
 */
#ifndef EROFS_UNLOCK_H
#define EROFS_UNLOCK_H

#include <stdint.h>
#include "erofs/err.h"
#include "erofs/image.h"
#include "erofs/keyslot.h"
#include "erofs/keytable.h"

struct es_seal;
struct es_keyarea;
struct es_unlocked;

/*
 * s: the image's seal, read and authenticated as the caller's policy
 * demands (its chunk index loaded).  ka: its key area, opened against what
 * s says of the table and unlocked.  -EXDEV for a key area of another
 * image; -EBADMSG when the table is not this image's (digest, tag or entry
 * mismatch).
 */
int es_unlocked_open(const struct es_seal *s, struct es_keyarea *ka,
		     struct es_unlocked **out, struct es_err *err);
/*
 * A decryption stage for another thread: u's key table (not copied; u
 * must outlive the fork), cipher contexts of its own.  Free it with
 * es_unlocked_free().
 */
int es_unlocked_fork(const struct es_unlocked *u, struct es_unlocked **out,
		     struct es_err *err);
/* img reads through u from now on; u must outlive that use. */
void es_unlocked_attach(struct es_unlocked *u, struct es_image *img);
/* Wipes every key. */
void es_unlocked_free(struct es_unlocked *u);

/* ---- what the programs call ------------------------------------------- */

struct es_passphrase_prompt;

struct es_unlock_opts {
	const char *image_path;		/* its key area, unless key_area_path */
	const char *key_area_path;	/* a detached key area, or NULL */
	const char *const *specs;	/* credentials (keyslot.h's SPECs) */
	unsigned int nspecs;
	const struct es_passphrase_prompt *prompt;	/* may be NULL */
	/*
	 * Whether the caller authenticated the seal against its anchors.  A
	 * successful unlock proves nothing about who made the image (whoever
	 * holds the table key can build another table and slots), so an
	 * image no trusted key signed is refused (-EPERM) unless
	 * allow_unsigned.
	 */
	bool authenticated;
	bool allow_unsigned;
};

struct es_unlock_report {
	unsigned int slot;		/* the slot that opened */
	enum es_keyslot_kind kind;
};

/*
 * Open the key area against the seal s (already authenticated as the
 * caller's policy demands), try the credentials, decrypt and check the key
 * table, and attach it to img.  -EPERM for an unauthenticated seal (see
 * above); -EKEYREJECTED when no credential opens a slot; the other errors of es_keyarea_open(), es_keyarea_unlock() and
 * es_unlocked_open().
 */
int es_image_unlock(struct es_image *img, const struct es_seal *s,
		    const struct es_unlock_opts *o, struct es_unlocked **out,
		    struct es_unlock_report *report, struct es_err *err);

#endif
