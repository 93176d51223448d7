/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The seal: what makes an image verifiable.  After the filesystem's last
 * block the image file carries 4 KiB-aligned sections (manifest,
 * signatures, Merkle trees, chunk index) and, in its last 4 KiB, the
 * locator that says where they are.  Byte layout: docs/FORMAT.md.
 *
 * Trust flows from the signatures to the manifest; the manifest holds the
 * fs-verity digest of every device (the filesystem region and each blob)
 * and the digest of the chunk index; trees are checked against those
 * digests.  The locator is only a map: nothing in it is trusted.
 */
#ifndef EROFS_SEAL_H
#define EROFS_SEAL_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/hex.h"
#include "erofs/image.h"

#define ES_SEAL_ALIGN		4096u
#define ES_LOCATOR_SIZE		4096u
#define ES_SEAL_VERSION		1u
/* device 0 and EROFS's limit of 65535 extra devices (a 16-bit count) */
#define ES_MANIFEST_MAX_DEVICES	65536u
#define ES_SIGNATURE_MAX	16384u
#define ES_SEAL_MAX_SIGS	64u
#define ES_MANIFEST_MAX_SIZE	(1u << 24)

struct es_seal_device {
	uint64_t size;			/* bytes */
	uint8_t digest[32];		/* fs-verity digest (SHA-256, 4K, no salt) */
	uint64_t tree_offset;		/* bytes into the trees section */
};

struct es_seal_sig {
	uint32_t type;			/* enum es_sig_type */
	uint8_t key_id[32];		/* SHA-256 of the signer's SubjectPublicKeyInfo */
	uint8_t *data;
	uint32_t len;
};

struct es_chunk_rec {
	uint8_t digest[32];		/* SHA-256 of the stored bytes (length bytes) */
	uint32_t blkaddr;
	uint32_t nblocks;
	uint32_t length;
	uint16_t device;		/* index in this image's device table */
};

struct es_seal_section {
	uint64_t off, len;
};

struct es_seal {
	/* locator */
	uint8_t uuid[16];
	uint64_t fs_size;
	struct es_seal_section manifest_sec, sigs_sec, trees_sec, index_sec, keys_sec;
	/* manifest, as signed */
	uint8_t *manifest;
	size_t manifest_len;
	uint32_t flags;
	int64_t build_time;
	uint32_t blksz, chunksize, suite;
	uint8_t key_table_digest[32];
	uint8_t chunk_index_digest[32];
	/* encrypted (flags & MF_FLAG_ENCRYPTED) */
	uint64_t table_entries;
	uint32_t table_seg_size;
	uint8_t domain_check[32];
	unsigned int ndevices;
	struct es_seal_device *devices;
	/* signatures */
	unsigned int nsigs;
	struct es_seal_sig *sigs;
	/* chunk index */
	uint64_t nchunks;
	struct es_chunk_rec *chunks;
};

/* ---- reading ---------------------------------------------------------- */

/*
 * The parsing, on buffers the caller provides (no allocation;
 * builds freestanding).  In order:
 *
 *   es_seal_read_locator()    the last 4 KiB of the image file (file_size
 *                             bytes): section bounds and layout
 *   es_seal_manifest_size()   how many bytes the manifest takes
 *   es_seal_load_manifest()   the manifest bytes into buf (s->manifest)
 *   es_seal_sigs_size()       how many bytes the signatures section takes
 *   es_seal_parse_sigs()      its records (their data points into buf)
 *   es_seal_decode_manifest() the manifest's fields; s->ndevices says how
 *   es_seal_decode_devices()  many entries devices needs
 *   es_seal_check_chunk_index() the chunk index section in buf against
 *   es_seal_chunk_record()    the manifest; record i of it
 */
int es_seal_read_locator(const struct es_io *io, uint64_t file_size, struct es_seal *s,
			 struct es_err *err);
int es_seal_manifest_size(const struct es_seal *s, size_t *len, struct es_err *err);
int es_seal_load_manifest(const struct es_io *io, struct es_seal *s, uint8_t *buf,
			  struct es_err *err);
int es_seal_sigs_size(const struct es_seal *s, size_t *len, struct es_err *err);
int es_seal_parse_sigs(const struct es_seal *s, uint8_t *buf,
		       struct es_seal_sig sigs[ES_SEAL_MAX_SIGS], unsigned int *nsigs,
		       struct es_err *err);
int es_seal_decode_manifest(struct es_seal *s, struct es_err *err);
int es_seal_decode_devices(struct es_seal *s, struct es_seal_device *devices,
			   struct es_err *err);
int es_seal_check_chunk_index(const struct es_seal *s, const uint8_t *buf,
			      uint64_t *count, struct es_err *err);
int es_seal_chunk_record(const struct es_seal *s, const uint8_t *buf, uint64_t i,
			 struct es_chunk_rec *c, struct es_err *err);

/* The seal against the image: sizes, UUID, block size, device tags. */
int es_seal_check_image(const struct es_image *img, const struct es_seal *s,
			struct es_err *err);

#ifndef ES_FREESTANDING
/* Hosted: the seal read into allocated memory. */

/*
 * Read and cross-check the seal of an open image: locator checksum and
 * section bounds, manifest against superblock and device table (UUID,
 * sizes, tags), chunk index against its manifest digest.  -ENODATA when
 * the image carries no seal; -ES_ECORRUPT with a message naming the
 * section otherwise.  Signatures are parsed, not verified.
 */
int es_seal_read(const struct es_image *img, struct es_seal **out, struct es_err *err);
/*
 * The same in two steps, for a verifier that must check the filesystem
 * region against the manifest before it trusts any EROFS structure:
 * read the seal from the end of device 0 of io, then cross-check it.
 */
int es_seal_read_io(const struct es_io *io, struct es_seal **out, struct es_err *err);
/*
 * And in three, for erofs-verify, which checks the signatures over the raw
 * manifest before it believes a byte of it: es_seal_open() reads the
 * locator, the manifest bytes and the signatures; es_seal_parse() then
 * decodes the manifest and reads the chunk index (checked against it).
 */
int es_seal_open(const struct es_io *io, struct es_seal **out, struct es_err *err);
int es_seal_parse(const struct es_io *io, struct es_seal *s, struct es_err *err);
void es_seal_free(struct es_seal *s);

/* The stored tree of device dev (malloc'ed; NULL/0 for 0 or 1 block). */
int es_seal_load_tree(const struct es_io *io, const struct es_seal *s,
		      unsigned int dev, uint8_t **tree, size_t *len, struct es_err *err);
/*
 * Whether the stored tree of device dev is tree (len bytes), read in
 * pieces: 0 when it is, 1 when it is not, -EIO or -ENOMEM.
 */
int es_seal_compare_tree(const struct es_io *io, const struct es_seal *s, unsigned int dev,
			 const uint8_t *tree, size_t len, struct es_err *err);

/*
 * Verify the bytes of device dev of io against the manifest digest, and
 * the stored tree (read from device 0 of io) against them.  A blob is
 * asked for by its digest (the tag BLOB_DIR lookups use).  The message of
 * a failure names the device and the first block that fails its tree.
 * Returns -EBADMSG for an integrity failure, -ES_ECORRUPT for a corrupt
 * stored tree, other negative codes for I/O errors (-ENODEV/-ENOENT: the
 * source does not have the device).
 */
int es_seal_verify_device(const struct es_io *io, const struct es_seal *s,
			  unsigned int dev, unsigned int nthreads, struct es_err *err);

/*
 * The fs-verity digest (and tree, unless tree is NULL) of the first size
 * bytes of device dev of io.  A source that has a file descriptor for it
 * is read with nthreads threads; any other through its read callback.
 */
int es_io_verity_digest(const struct es_io *io, unsigned int dev, uint64_t size,
			unsigned int nthreads, uint8_t digest[32], uint8_t **tree,
			size_t *tree_len, struct es_err *err);

/* ---- writing --------------------------------------------------------- */

struct es_seal_input {
	uint8_t uuid[16];
	uint64_t fs_size;
	int64_t build_time;
	uint32_t chunksize;
	unsigned int ndevices;
	struct es_seal_device *devices;		/* tree_offset is filled in */
	const uint8_t *const *trees;		/* per device, may be NULL */
	const size_t *tree_lens;
	uint64_t nchunks;
	const struct es_chunk_rec *chunks;	/* sorted by (device, blkaddr) */
	/* encrypted images (flags has MF_FLAG_ENCRYPTED): the manifest's
	   encryption fields, and the key area when it lives in the image */
	uint32_t flags, suite;
	uint8_t key_table_digest[32];
	uint64_t table_entries;
	uint8_t domain_check[32];
	const uint8_t *key_area;
	size_t key_area_len;
	/* called with the manifest to produce signatures; may be NULL */
	int (*sign)(void *ctx, const uint8_t *manifest, size_t len,
		    struct es_seal_sig **sigs, unsigned int *nsigs, struct es_err *err);
	void *sign_ctx;
};

/*
 * Append the seal to fd, whose first fs_size bytes are the filesystem,
 * and end the file with the locator.  The caller fsyncs and renames.
 */
int es_seal_write(int fd, const struct es_seal_input *in, struct es_err *err);

/* ---- signature policy -------------------------------------------------- */

struct es_trust;

enum es_sig_status {
	ES_SIG_NOT_CHECKED = 0,
	ES_SIG_TRUSTED,
	ES_SIG_UNTRUSTED,	/* valid, but the signer is not an anchor */
	ES_SIG_BAD,		/* damaged or does not verify */
};

struct es_sig_result {
	enum es_sig_status status;
	char signer[256];	/* description of the signer */
	char error[ES_ERR_MSG_MAX];
};

/*
 * Check every signature of the seal against the anchors (t may be NULL:
 * then nothing is checked and 0 is returned).  The policy, shared by every
 * program: no signature may be damaged, and at least one must be by an
 * anchor.  Returns 0, -EBADMSG (a bad signature, or none), or
 * -EKEYREJECTED (valid signatures, none trusted).  results has s->nsigs
 * entries (may be NULL).
 */
int es_seal_check_signatures(const struct es_seal *s, const struct es_trust *t,
			     struct es_sig_result *results, struct es_err *err);

/* ---- manifest digest and authentication --------------------------------- */

/* "sha256:" + 64 hex digits + NUL */
#define ES_MANIFEST_DIGEST_TEXT_SIZE	72

/*
 * SHA-256 of the manifest bytes exactly as signed (what `dump.erofs
 * --export-manifest` writes).  Because the manifest binds the digest of
 * every device, pinning it pins the whole image, without keys.
 */
int es_seal_manifest_digest(const struct es_seal *s, uint8_t digest[32],
			    struct es_err *err);
/* "sha256:HEX" (lowercase) into out, which has ES_MANIFEST_DIGEST_TEXT_SIZE bytes. */
void es_manifest_digest_format(const uint8_t digest[32], char *out);
/* Parse "sha256:HEX" (64 hex digits; case does not matter); -EINVAL with a message otherwise. */
int es_manifest_digest_parse(const char *text, uint8_t digest[32], struct es_err *err);

/*
 * Pin the manifest digests given as text ("sha256:HEX", e.g. from
 * --expect-digest options) in t: -EINVAL with a message on the first one
 * that does not parse.
 */
int es_trust_pin_manifest_digests(struct es_trust *t, const char *const *texts,
				  unsigned int n, struct es_err *err);

enum es_auth_by {
	ES_AUTH_NONE = 0,	/* not authenticated */
	ES_AUTH_DIGEST,		/* the manifest digest is a pinned one */
	ES_AUTH_SIGNATURE,	/* the signature policy passed */
};

enum es_digest_check {
	ES_DIGEST_NOT_PINNED = 0,	/* the trust set pins no digest */
	ES_DIGEST_MATCH,
	ES_DIGEST_MISMATCH,
};

struct es_seal_auth {
	enum es_auth_by by;
	enum es_digest_check digest;
	/* es_seal_check_signatures()'s verdict, or -ENOKEY when the trust set
	 * has no key anchor (signatures not checked) */
	int signatures;
	uint8_t manifest_digest[32];
};

/*
 * THE decision whether a seal is authentic, for every program that
 * verifies one: it is when its manifest digest is one the trust set pins
 * OR the signature policy of es_seal_check_signatures() passes against
 * the trust set's key anchors.  Only the raw manifest bytes and the
 * signatures are used, so call it before believing any manifest field.
 *
 * Returns 0 when authenticated; -ENOKEY when the trust set (t may be NULL)
 * holds neither keys nor pinned digests, so nothing could authenticate
 * the seal; otherwise, when key anchors were given, the signature
 * policy's code (-EBADMSG, -EKEYREJECTED), else -EKEYREJECTED for a
 * manifest digest that matches no pinned one.  auth (required) tells
 * which parts were checked and how they went; results as for
 * es_seal_check_signatures().
 */
int es_seal_authenticate(const struct es_seal *s, const struct es_trust *t,
			 struct es_sig_result *results, struct es_seal_auth *auth,
			 struct es_err *err);

/* What NEW needs that OLD's blobs do not have (dump --delta). */
struct es_seal_delta {
	unsigned int new_blobs;		/* blobs of NEW not among OLD's */
	uint64_t new_blob_bytes;	/* their total size */
	uint64_t shared_blob_bytes;	/* NEW's blob bytes OLD already has */
	uint64_t new_chunk_bytes;	/* stored bytes of NEW's chunks OLD lacks */
	uint64_t new_chunks, shared_chunks;
	unsigned int unused_old_blobs;	/* blobs of OLD that NEW does not read */
	uint64_t unused_old_blob_bytes;
	bool *is_new;			/* per device of NEW: a blob OLD lacks */
};

/* Blobs are matched by digest (sorted, so thousands of blobs are cheap).
 * es_seal_delta_free() releases d->is_new. */
int es_seal_delta(const struct es_seal *old_seal, const struct es_seal *new_seal,
		  struct es_seal_delta *d, struct es_err *err);
void es_seal_delta_free(struct es_seal_delta *d);

#endif /* !ES_FREESTANDING */

#endif
