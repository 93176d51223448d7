/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Unlocking an encrypted image without a heap (the boot reader): a key
 * file or a seed opens a keyslot of the key area, and the table key it
 * gives becomes the reader's decryption stage (struct es_decryptor of
 * erofs/image.h).  Freestanding: the caller hands in ES_KEYDEC_MEM_SIZE
 * bytes that hold everything, for as long as the image is read.
 *
 * Only key-file (kind 2) and seed (kind 4) slots: their KEK is one HKDF.
 * A passphrase slot needs Argon2id's tens of MiB or more, an X25519 slot a
 * private key; neither belongs in a boot loader (docs/BOOT.md).
 *
 * Trust: what the caller passes as expect must come from the signed (or
 * pinned) manifest: the image's UUID, suite, key-table digest and entry
 * count.  Unlocking reads the key area as the hosted readers do (the
 * valid header copy with the higher sequence number, docs/FORMAT.md 4.2),
 * then checks every D_k against the manifest's table digest and opens
 * every key-table segment once (AES-256-GCM, then its D_k), keeping only a
 * digest of each group of D_k and the first chunk of each group.  A chunk
 * read later opens the one 4 KiB segment that holds its entry (checked
 * again, against the group digest it was first checked with: a device
 * that changes under the reader is caught) and keeps it for the next.
 */
#ifndef EROFS_KEYDEC_H
#define EROFS_KEYDEC_H

#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/image.h"
#include "erofs/keyarea.h"
#include "erofs/keyslot.h"

/* The memory es_keydec_open() needs, and its alignment. */
#define ES_KEYDEC_MEM_SIZE	16384u
#define ES_KEYDEC_MEM_ALIGN	8u

/* A credential as a boot loader has it: the bytes of a file. */
struct es_keydec_cred {
	enum es_keyslot_kind kind;	/* ES_KEYSLOT_KEYFILE or ES_KEYSLOT_SEED */
	const uint8_t *secret;		/* the key file's or seed file's bytes */
	size_t secret_len;		/* ES_KEYFILE_MIN .. ES_KEYFILE_MAX */
	/* seed: the label of its slot (printable ASCII, up to
	   ES_KEYSLOT_LABEL_MAX bytes); NULL: every seed slot is tried */
	const char *label;
	size_t label_len;
};

/*
 * Unlock the key area on area (es_keyarea_dev_io() makes one over device 0
 * of an es_io at the locator's key-area offset; a detached area is any
 * read callback) with cred, and set *dec up to decrypt the image's
 * metadata blocks and chunks.  mem: ES_KEYDEC_MEM_SIZE bytes aligned to
 * ES_KEYDEC_MEM_ALIGN, the caller's until es_keydec_close(); area->ctx
 * must stay valid as long.  *slot (may be NULL) receives the slot that
 * opened.
 *
 * Returns 0; -EINVAL (bad arguments, memory too small, no manifest
 * values); -EOPNOTSUPP (a credential of another kind); -EKEYREJECTED (no
 * slot opens: a wrong key file or seed, or no seed slot with that label);
 * -EXDEV (a key area of another image or build); -ES_ECORRUPT (no usable
 * header copy); -EBADMSG (the key table or its digests do not match the
 * signed manifest); an I/O error of area.  Once the arguments are
 * accepted, mem is wiped on every failure.
 */
int es_keydec_open(void *mem, size_t mem_len, const struct es_keyarea_dev *area,
		   const struct es_keyarea_expect *expect, const struct es_keydec_cred *cred,
		   struct es_decryptor *dec, unsigned int *slot, struct es_err *err);

/* Wipe every key in mem (and release the ciphers); harmless on wiped memory. */
void es_keydec_close(void *mem);

#endif
