/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The key area (ENCRYPTION.md section 4, bytes in docs/FORMAT.md section
 * 4): the mutable part of an encrypted image, outside everything signed.
 *
 *   [ header copy A | header copy B | D array | table slot 0 | table slot 1 ]
 *
 * Each header copy carries a magic of its own, a sequence number, its own
 * offset, a random salt, a checksum, copies of what the signed manifest
 * says about the table (uuid, suite, entries, table_digest), the kid of
 * the current table key TK, the table generation, which table slot is
 * active, and ES_KEYAREA_SLOTS keyslots.  The D array (the segment digests
 * of the key table, see keytable.h) is written once at creation; the
 * table slots hold the encrypted key table, one of them current.
 *
 * Reading takes the valid copy with the higher sequence number (A on a
 * tie) and never writes.  Every change is one commit: the copy that is not
 * the winner is written first (the invalid one, else the one with the
 * lower sequence number, else B) and synced, then the other; a table slot
 * the winning copy references is never written; after a failed sync
 * nothing more is written.  So a crash at any point leaves either exactly
 * the old or exactly the new set of keyslots.
 *
 * All I/O goes through struct es_keyarea_dev, offsets relative to the
 * start of the area: es_keyarea_file_open() makes one for an image or a
 * detached key-area file; tests make one that injects faults.
 */
#ifndef EROFS_KEYAREA_H
#define EROFS_KEYAREA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/keyslot.h"
#include "erofs/keytable.h"

#define ES_KEYAREA_SLOTS	16
#define ES_KEYAREA_COPY_SIZE	8192	/* one header copy, slots included */
#define ES_KEYAREA_ALIGN	4096
/* Bounds what a header copy can make a reader allocate (a 16 GiB table). */
#define ES_KEYAREA_MAX_ENTRIES	(1ull << 28)

/* Where the key area's bytes are. */
struct es_keyarea_dev {
	uint64_t size;		/* bytes of the area */
	/* exactly len bytes at off (off + len <= size) */
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err);
	/* NULL for a read-only device */
	int (*write)(void *ctx, uint64_t off, const void *buf, size_t len,
		     struct es_err *err);
	/* make every write so far durable (fdatasync) */
	int (*sync)(void *ctx, struct es_err *err);
	void *ctx;
};

/* What the signed manifest says; a header copy that disagrees is not used. */
struct es_keyarea_expect {
	uint8_t uuid[ES_UUID_SIZE];
	bool check_table;	/* also suite and table_digest */
	uint32_t suite;
	uint8_t table_digest[32];
	uint64_t entries;	/* 0: not known */
};

/* The key table a new key area protects. */
struct es_keyarea_table {
	uint8_t uuid[ES_UUID_SIZE];
	uint32_t suite;
	uint64_t entries;
	const uint8_t *digests;		/* D: es_keytable_nseg(entries) x 32 bytes */
	uint8_t table_digest[32];	/* es_keytable_digest_of(D) */
	const uint8_t *plain;		/* entries x ES_KT_ENTRY_SIZE bytes */
};

/* Bytes of the key area of a table of entries entries (0 if out of range). */
uint64_t es_keyarea_size(uint64_t entries);

/*
 * A new key area: fresh TK (gen 1), the table encrypted into table slot
 * 0, TK wrapped for each credential (loaded for ES_KEYSLOT_FOR_ADD), both
 * header copies at sequence 1.  *area receives es_keyarea_size() bytes
 * (malloc'ed; free() it) to place in the image or a detached file.
 */
int es_keyarea_create(const struct es_keyarea_table *t,
		      struct es_keyslot_cred *const *creds, unsigned int ncreds,
		      const struct es_keyslot_policy *policy, uint8_t **area, size_t *area_len,
		      struct es_err *err);

/* ---- opening ------------------------------------------------------------- */

struct es_keyarea;

/*
 * Read both header copies and choose the winner.  expect may be NULL (then
 * only the area's own consistency is checked).  -ES_ECORRUPT with a
 * message that says what is wrong with each copy when neither is usable;
 * -EXDEV when a well-formed copy belongs to another image or table
 * (expect).  Nothing is written.
 */
int es_keyarea_open(const struct es_keyarea_dev *dev, const struct es_keyarea_expect *expect,
		    struct es_keyarea **out, struct es_err *err);
/* Wipes the table key and frees everything. */
void es_keyarea_close(struct es_keyarea *ka);

struct es_keyarea_copy_state {
	bool valid;
	uint64_t seq;
	char problem[160];	/* why it is not valid */
};

struct es_keyarea_summary {
	uint8_t uuid[ES_UUID_SIZE];
	uint32_t suite;
	uint32_t gen;
	uint64_t entries;
	uint8_t table_digest[32];
	uint8_t kid[ES_KID_SIZE];
	unsigned int winner;		/* 0: copy A, 1: copy B */
	struct es_keyarea_copy_state copies[2];
	unsigned int active_table;	/* 0 or 1 */
	uint64_t area_size;
	uint64_t digests_off, digests_len;	/* D, relative to the area */
	uint64_t table_off, table_len;		/* the active table's ciphertext */
	unsigned int used_slots;
};

void es_keyarea_summary(const struct es_keyarea *ka, struct es_keyarea_summary *s);
/* Slot i (< ES_KEYAREA_SLOTS) of the winning copy; kind EMPTY when unused. */
int es_keyarea_slot(const struct es_keyarea *ka, unsigned int i, struct es_keyslot_info *info,
		    struct es_err *err);

/* ---- unlocking and reading the table -------------------------------------- */

/*
 * Try the credentials (loaded for ES_KEYSLOT_FOR_UNLOCK) on the slots of
 * the winning copy until one opens; TK stays inside ka (secret memory).
 * *slot (may be NULL) receives the slot that opened.  -EKEYREJECTED when
 * none does; -ERANGE (-ENOMEM) when none does and a slot that might have
 * was refused for its Argon2 costs (its memory could not be allocated):
 * the other slots are still tried.
 */
int es_keyarea_unlock(struct es_keyarea *ka, struct es_keyslot_cred *const *creds,
		      unsigned int ncreds, unsigned int *slot, struct es_err *err);
bool es_keyarea_unlocked(const struct es_keyarea *ka);

/*
 * After unlocking: what es_keytable_open_segment() needs.  TK (valid until
 * es_keyarea_close), the table's info (uuid, suite, gen, entries).
 */
const uint8_t *es_keyarea_table_key(const struct es_keyarea *ka);
void es_keyarea_table_info(const struct es_keyarea *ka, struct es_keytable_info *info);
/*
 * The D array, read and checked against the header's table_digest (and so
 * against the signed manifest's, when the expectation had it): valid until
 * es_keyarea_close.  -EBADMSG when it does not match.
 */
int es_keyarea_digests(struct es_keyarea *ka, const uint8_t **digests, struct es_err *err);
/*
 * Segment k of the active table, decrypted and checked against D_k: plain
 * receives es_keytable_seg_len(entries, k) bytes (wiped on failure).
 */
int es_keyarea_read_segment(struct es_keyarea *ka, uint64_t k, uint8_t *plain,
			    struct es_err *err);
/* The whole table (entries x ES_KT_ENTRY_SIZE bytes into plain). */
int es_keyarea_read_table(struct es_keyarea *ka, uint8_t *plain, struct es_err *err);

/* ---- changes (each one commit) ------------------------------------------- */

/* Flags of the changes. */
#define ES_KEYAREA_DROP		0x1u	/* rotate/restore: drop slots without a credential */
#define ES_KEYAREA_LAST		0x2u	/* remove: the last slot may go */

/*
 * Add a slot for c (loaded for ES_KEYSLOT_FOR_ADD) in the first free
 * place; ka must be unlocked.  *slot receives its number.  -ENOSPC when
 * every slot is used.
 */
int es_keyarea_add(struct es_keyarea *ka, const struct es_keyslot_cred *c,
		   const struct es_keyslot_policy *policy, unsigned int *slot,
		   struct es_err *err);
/*
 * Wipe slot i in both copies; ka must be unlocked.  -ENOENT for an empty
 * slot; -EPERM for the last used slot unless ES_KEYAREA_LAST.
 */
int es_keyarea_remove(struct es_keyarea *ka, unsigned int i, unsigned int flags,
		      struct es_err *err);

/* What rotate and restore did with each slot. */
enum es_keyarea_slot_fate {
	ES_SLOT_UNUSED = 0,
	ES_SLOT_REWRAPPED,
	ES_SLOT_DROPPED,
};

/*
 * New table key and generation: the table, decrypted with the current TK
 * and checked against D, is encrypted into the free table slot; every
 * slot is rewrapped for the new TK, with the credential among creds that
 * opens it (X25519 slots need none: they are rewrapped for their stored
 * recipient); then the commit, then the old table slot is wiped.  A slot
 * no credential opens: -EPERM (nothing written) unless ES_KEYAREA_DROP,
 * which drops it.  ka must be unlocked; afterwards it holds the new TK.
 * fates (may be NULL) has ES_KEYAREA_SLOTS entries.
 */
int es_keyarea_rotate(struct es_keyarea *ka, struct es_keyslot_cred *const *creds,
		      unsigned int ncreds, unsigned int flags,
		      enum es_keyarea_slot_fate *fates, struct es_err *err);

/*
 * Put back the slots of a backup (backup_dev: a key area of the same
 * image and size, e.g. a file `backup` wrote) into the key area on dev,
 * which may have no valid header copy left.  As ENCRYPTION.md asks of
 * every table encryption, this draws a fresh TK and a generation above
 * both: the backup is unlocked with creds, its table decrypted and checked
 * against its D and table digest (which must equal the current one's, or
 * expect's), re-encrypted into a table slot the current winner does not
 * use, every backup slot rewrapped as rotate does (ES_KEYAREA_DROP
 * likewise), and the result committed above the current sequence.  A
 * damaged D array is rewritten from the backup (it is checked first).
 * -EXDEV for a backup of another image or size.
 */
int es_keyarea_restore(const struct es_keyarea_dev *dev,
		       const struct es_keyarea_expect *expect,
		       const struct es_keyarea_dev *backup_dev,
		       struct es_keyslot_cred *const *creds, unsigned int ncreds,
		       unsigned int flags, enum es_keyarea_slot_fate *fates,
		       struct es_err *err);

/* ---- where the area lives (hosted files) ---------------------------------- */

/*
 * A read-only device over the key area section of device 0 of an I/O
 * source (the locator's key-area offset and length), for readers that
 * already have the image open: ctx is the caller's and must outlive dev.
 */
struct es_io;
struct es_keyarea_io_ctx {
	const struct es_io *io;
	uint64_t base;
};
void es_keyarea_dev_io(struct es_keyarea_dev *dev, struct es_keyarea_io_ctx *ctx,
		       const struct es_io *io, uint64_t off, uint64_t len);

struct es_keyarea_file;

/*
 * The key area of the sealed image at image_path: embedded (found through
 * the seal's locator) unless detached_path names a detached key-area
 * file.  expect receives what the image says about the key area: its
 * UUID, and suite and table digest when this reader can decode the
 * manifest.  expect NULL: the caller has parsed and checked the manifest
 * itself (es_image_unlock), and only the locator is read here.  writable: opened for changes and locked (flock) against
 * another writer; a detached file is then copied to a temporary file in
 * its folder that es_keyarea_file_commit() renames over it.  The device
 * never writes outside the key area: the file size, the locator and
 * everything signed stay as they are.
 */
int es_keyarea_file_open(const char *image_path, const char *detached_path, bool writable,
			 struct es_keyarea_file **out, struct es_keyarea_expect *expect,
			 struct es_err *err);
const struct es_keyarea_dev *es_keyarea_file_dev(const struct es_keyarea_file *f);
/* "embedded in IMAGE at byte N" / the detached path, for messages */
const char *es_keyarea_file_where(const struct es_keyarea_file *f);
/* Detached: fsync, rename over the original, fsync its folder.  Embedded: nothing. */
int es_keyarea_file_commit(struct es_keyarea_file *f, struct es_err *err);
/* Uncommitted temporary files are removed. */
void es_keyarea_file_close(struct es_keyarea_file *f);

/*
 * A read-only device over a whole file (a backup, or a detached area given
 * without an image).
 */
int es_keyarea_file_open_plain(const char *path, struct es_keyarea_file **out,
			       struct es_err *err);

/*
 * Copy every byte of the key area on dev into a new file at path (mode
 * 0600, O_EXCL: an existing file is never replaced), synced, its folder
 * synced.
 */
int es_keyarea_backup(const struct es_keyarea_dev *dev, const char *path, struct es_err *err);

/*
 * Write a new random key (len bytes from RAND_priv_bytes) to a new file
 * at path: mode 0600, O_EXCL, synced.  For domain keys.
 */
int es_write_new_key_file(const char *path, size_t len, struct es_err *err);

#endif
