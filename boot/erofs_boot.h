/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The boot reader: erofs-seal images read by a boot loader, every block
 * checked against its Merkle tree before it is used.  Freestanding: no
 * heap, no C library beyond memcpy, memmove, memset and memcmp (the
 * environment provides them), no global state.  See docs/BOOT.md.
 *
 *	struct erofs_boot *b;
 *	static uint8_t work[EROFS_BOOT_WORK_MIN];	(or any larger buffer)
 *	ret = erofs_boot_open(&b, work, sizeof(work), &src, EROFS_BOOT_TRUST_DIGEST,
 *			      pinned_digest, &err);
 *	ret = erofs_boot_lookup(b, "/boot/vmlinuz", &nid, &err);
 *	ret = erofs_boot_stat(b, nid, &st, &err);
 *	ret = erofs_boot_read(b, nid, 0, buf, st.size, &got, &err);
 *
 * Every call returns 0 or a negative errno (Linux numbers) and leaves a
 * message in err (its static text: the boot build cannot format; the
 * format string says what failed, e.g. "device %u: block %llu fails its
 * Merkle tree").  A block that fails its tree is never copied to the
 * caller: the read fails with -EBADMSG.
 */
#ifndef EROFS_BOOT_H
#define EROFS_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"

/*
 * Work buffer.  Everything the reader keeps lives in the one buffer the
 * caller hands to erofs_boot_open() (8-byte aligned; it must stay
 * untouched until the caller is done with the image):
 *
 *   EROFS_BOOT_FIXED        the handle, the image and seal state, and a
 *                           block to decrypt a partly read block in
 *   EROFS_BOOT_PER_DEVICE   per device (the image is device 0, each blob
 *                           one more): manifest entry, tree geometry,
 *                           device table entry
 *   EROFS_BOOT_DEC_SIZE     kept for the decryptor of an encrypted image
 *                           (erofs_boot_unlock())
 *   the rest                cache of verified 4 KiB blocks (tree blocks and
 *                           data blocks read in pieces), EROFS_BOOT_SLOT
 *                           bytes each, at least EROFS_BOOT_MIN_SLOTS;
 *                           during open it first holds the signatures
 *                           section (an Ed25519 record is 104 bytes)
 *
 * EROFS_BOOT_WORK_SIZE(n) is enough for an image of n devices;
 * EROFS_BOOT_WORK_MIN for one without blobs.  More cache slots mean fewer
 * tree blocks fetched and hashed again: 16 are plenty for a sequential
 * read.
 */
#define EROFS_BOOT_FIXED	8192u
#define EROFS_BOOT_PER_DEVICE	512u
#define EROFS_BOOT_DEC_SIZE	16384u	/* ES_KEYDEC_MEM_SIZE (erofs/keydec.h) */
#define EROFS_BOOT_SLOT		4112u
#define EROFS_BOOT_MIN_SLOTS	4u
#define EROFS_BOOT_WORK_SIZE(ndevices)						\
	(EROFS_BOOT_FIXED + (size_t)(ndevices) * EROFS_BOOT_PER_DEVICE +	\
	 EROFS_BOOT_DEC_SIZE + EROFS_BOOT_MIN_SLOTS * EROFS_BOOT_SLOT)
#define EROFS_BOOT_WORK_MIN	EROFS_BOOT_WORK_SIZE(1)

/*
 * Where the bytes come from.  read() reads exactly len bytes at byte off
 * of device dev (0: the image file, 1..n: the blobs in the order of the
 * image's device table) and returns 0 or a negative errno.  dev_sizes[i]
 * is the size of device i in bytes, for i < ndevs; the caller keeps the
 * array.
 */
struct erofs_boot_source {
	int (*read)(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len);
	void *ctx;
	const uint64_t *dev_sizes;
	unsigned int ndevs;
};

/* How the image is trusted. */
enum erofs_boot_trust {
	/*
	 * anchor: a 32-byte raw Ed25519 public key.  The manifest must carry
	 * an Ed25519 signature by this key that verifies (signatures of
	 * other types or keys are ignored: the boot reader cannot check
	 * them, the hosted erofs-verify does).
	 */
	EROFS_BOOT_TRUST_ED25519 = 1,
	/*
	 * anchor: the 32-byte SHA-256 of the manifest (what `dump.erofs
	 * --export-manifest` writes; erofs-verify prints it as
	 * "sha256:..."): the manifest binds every device's digest, so this
	 * pins the whole image without keys.
	 */
	EROFS_BOOT_TRUST_DIGEST = 2,
	/*
	 * !!! NOTHING IS CHECKED !!!  anchor: NULL.  The image (sealed or
	 * not) is read like U-Boot and GRUB read EROFS: no seal, no Merkle
	 * tree, whatever bytes the device holds.  The parsing still refuses
	 * malformed structures, but an attacker who can write the device
	 * decides what is read.  Only for images that are not sealed, and
	 * only where the device is trusted by other means.
	 */
	EROFS_BOOT_UNCHECKED = 3,
};

struct erofs_boot;

/*
 * Open the image: with a trust anchor, the seal's manifest is
 * authenticated first (by digest or by signature), then the superblock
 * and device table are read through the Merkle trees the manifest binds,
 * and checked against the manifest.  *out points into work.  -ENOSPC
 * when work is too small for this image (see EROFS_BOOT_WORK_SIZE);
 * -ENODATA for an image without a seal (unless UNCHECKED);
 * -EKEYREJECTED when the manifest is not the trusted one (a digest that
 * differs, no signature by the trusted key); -EBADMSG for a signature by
 * the key that does not verify or a block that fails its tree.
 */
int erofs_boot_open(struct erofs_boot **out, void *work, size_t work_len,
		    const struct erofs_boot_source *src, enum erofs_boot_trust trust,
		    const uint8_t anchor[32], struct es_err *err);

/*
 * Encrypted images (their superblock says so): the metadata and file
 * contents are decrypted after their blocks passed the tree, with the
 * table key that a keyslot of the image's key area gives for cred.  A
 * boot loader needs two kinds of keyslot: a key file (cred: its bytes)
 * and a seed (cred: the seed, e.g. from a TPM); passphrase slots (Argon2
 * needs megabytes) and X25519 recipient slots are for the hosted tools.
 * label picks a seed slot by its label (NULL: try each seed slot).
 *
 * The key area embedded in the image is read from the source (no tree
 * covers it); the key table it opens is checked against the manifest's
 * key-table digest (docs/BOOT.md), in the EROFS_BOOT_DEC_SIZE bytes the
 * work buffer keeps for it.  Call it after erofs_boot_open() (with a
 * trusted digest or key) and before any lookup; until then every read of
 * an encrypted image's metadata fails with -EACCES.  -EKEYREJECTED: no
 * slot of that kind (and label) opens with cred; -EOPNOTSUPP: another
 * kind; -EBADMSG / -EXDEV / -ES_ECORRUPT: a key area or key table that is
 * not the manifest's, or damaged.
 */
enum erofs_boot_cred {
	EROFS_BOOT_CRED_KEYFILE = 1,
	EROFS_BOOT_CRED_SEED = 2,
};
int erofs_boot_unlock(struct erofs_boot *b, enum erofs_boot_cred kind, const void *cred,
		      size_t cred_len, const char *label, struct es_err *err);

/* An absolute path ("/" is the root) to its inode number. */
int erofs_boot_lookup(struct erofs_boot *b, const char *path, uint64_t *nid,
		      struct es_err *err);

struct erofs_boot_stat {
	uint64_t nid;
	uint16_t mode;		/* type and permission bits, as in st_mode */
	uint32_t uid, gid, nlink;
	uint64_t size;		/* bytes; a symlink: its target's length */
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t rdev_major, rdev_minor;	/* device nodes */
};
int erofs_boot_stat(struct erofs_boot *b, uint64_t nid, struct erofs_boot_stat *st,
		    struct es_err *err);

/*
 * Read up to len bytes of the file (or symlink target) nid from byte off:
 * *got receives min(len, size - off).  -EINVAL when off is past the end.
 */
int erofs_boot_read(struct erofs_boot *b, uint64_t nid, uint64_t off, void *buf,
		    size_t len, size_t *got, struct es_err *err);

/*
 * The entries of directory nid, "." and ".." included, in the image's
 * (sorted) order.  name is not NUL-terminated; type is EROFS's file type
 * (1 regular, 2 directory, 3 character device, 4 block device, 5 FIFO,
 * 6 socket, 7 symlink).  cb returns 0 to go on, > 0 to stop, < 0 to fail
 * (that code is returned).
 */
typedef int (*erofs_boot_dir_cb)(void *ctx, const uint8_t *name, unsigned int namelen,
				 uint64_t nid, unsigned int type);
int erofs_boot_readdir(struct erofs_boot *b, uint64_t nid, erofs_boot_dir_cb cb, void *ctx,
		       struct es_err *err);

#endif
