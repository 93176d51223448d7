/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The trust pipeline: the one order in which every program (erofs-verify,
 * fsck.erofs, dump.erofs -s) and, later, the boot reader come to believe
 * an image, over any source (include/erofs/io.h):
 *
 *   1. the seal's locator, the raw manifest bytes and the signatures, read
 *      from the end of device 0 (its layout checked, nothing believed);
 *   2. authentication: the signatures and pinned digests over those raw
 *      bytes (es_seal_authenticate()), before any manifest field is used;
 *   3. the manifest's fields and the chunk index (bound by the manifest);
 *   4. the filesystem region (device 0) against its Merkle tree, BEFORE any
 *      EROFS structure is parsed: a tampered superblock is an integrity
 *      failure of the region, never a parse error;
 *   5. the EROFS superblock and device table, read from the bytes just
 *      verified, against the seal (sizes, UUID, device tags);
 *   6. each blob the source has against its tree.
 *
 * Every step runs whatever the previous ones found, unless it needs what
 * failed (no devices without a manifest; no EROFS structure from a region
 * that did not verify, unless the caller asks for it): the report says
 * what each step found, and the caller decides what that means (its exit
 * code, its messages).  Nothing here prints.
 */
#ifndef EROFS_VERIFY_H
#define EROFS_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/image.h"
#include "erofs/io.h"
#include "erofs/seal.h"

struct es_trust;

/* What became of one device of the manifest; a worse state wins. */
enum es_verify_state {
	ES_VERIFY_NOT_CHECKED = 0,	/* not asked for, or the source has no way
					 * to find it */
	ES_VERIFY_VERIFIED,		/* matches its tree and the manifest */
	ES_VERIFY_MISSING,		/* the source looked for it and could not
					 * open it (err says why) */
	ES_VERIFY_FAILED,		/* it does not match (-EBADMSG), its stored
					 * tree is damaged (-ES_ECORRUPT), or it
					 * could not be read (another code) */
};

struct es_verify_device {
	enum es_verify_state state;
	/* where the source found it (a path), NULL when it did not say */
	char *name;
	/* MISSING and FAILED: the code and the message */
	struct es_err err;
};

struct es_verify_opts {
	unsigned int nthreads;		/* hashing threads (0: one) */
	/* check device 0 and every blob the source has against their trees
	 * (false: read and authenticate the seal only, as dump -s does) */
	bool check_devices;
	/* with check_devices: only device 0 is hashed whole; the blobs
	 * are left NOT_CHECKED, for a caller that checks them as it reads
	 * them (erofs/verified_read.h) */
	bool defer_blobs;
	/* tell the source it may close each blob once checked (a verifier
	 * that reads nothing afterwards: one blob open at a time) */
	bool release_blobs;
	/*
	 * Read the EROFS structures even when device 0 did not verify (the
	 * seal is missing, unreadable, or the region fails its tree), for a
	 * checker that reports everything it finds and trusts nothing (no
	 * anchors), and for a viewer.  Otherwise they are read only from a
	 * region that matched its manifest.
	 */
	bool parse_unverified;
	/* keep the image for the caller (report->img), its devices probed */
	bool open_image;
	/* called after device dev of the seal s was hashed against its tree,
	   whatever the outcome (may be NULL): a front end's progress line */
	void (*progress)(void *ctx, const struct es_seal *s, unsigned int dev);
	void *progress_ctx;
};

struct es_verify_report {
	/* device 0 as the source describes it */
	uint64_t file_size;
	bool container;		/* a block device that may be larger than the image */

	/* step 1: 0, -ENODATA (no seal locator: the image is not sealed), or
	 * why the seal could not be read */
	int read_status;
	struct es_err read_err;
	struct es_seal *seal;	/* NULL unless read_status is 0 */

	/* step 2 (when the seal was read): es_seal_authenticate()'s verdict */
	int auth_status;
	struct es_err auth_err;
	struct es_seal_auth auth;
	struct es_sig_result *sigs;	/* seal->nsigs results */

	/* step 3: the manifest's fields and the chunk index */
	int parse_status;
	struct es_err parse_err;

	/* steps 4 and 6 (when the seal was parsed): seal->ndevices entries */
	unsigned int ndevices;
	struct es_verify_device *devices;

	/* step 5: the EROFS structures could be read (image_read) ... */
	bool image_read;
	int image_status;
	struct es_err image_err;
	/* ... and agree with the seal (when both were read) */
	int match_status;
	struct es_err match_err;
	/* with opts->open_image: the image, for the caller to use and close
	 * (es_verify_report_free() closes it unless taken); it reads from
	 * the source, which must outlive it */
	struct es_image *img;
};

/*
 * Run the pipeline over io with the trust set t (NULL or empty: nothing
 * authenticates, auth_status is -ENOKEY) and fill report (zeroed first;
 * free it with es_verify_report_free(), also after a failure).  Returns 0
 * when the report is complete, whatever it found; a negative code (out of
 * memory) with a message when it could not be made.
 */
int es_verify_image(const struct es_io *io, const struct es_trust *t,
		    const struct es_verify_opts *opts, struct es_verify_report *report,
		    struct es_err *err);

/*
 * Check device dev of the seal (1 .. ndevices - 1) again, as the source
 * now has it (a blob the caller has just given it), and merge the outcome
 * into the report (a worse state wins).  *outcome (may be NULL) gets this
 * check's own outcome; its name is the report entry's, not a copy.
 * Returns as es_verify_image().
 */
int es_verify_blob(const struct es_io *io, struct es_verify_report *report,
		   unsigned int dev, const struct es_verify_opts *opts,
		   struct es_verify_device *outcome, struct es_err *err);

/*
 * Which blob of the seal the file at path is (a blob given by path rather
 * than found by its name): its file name, if that is a device digest in
 * hex (as in BLOB_DIR), else its fs-verity digest.  Returns the device
 * (>= 1), 0 when it is no device of the seal, or a negative code with a
 * message when it cannot be read (-ENOENT: it does not exist).
 */
int es_verify_match_blob(const struct es_seal *s, const char *path, unsigned int nthreads,
			 struct es_err *err);

/* How many devices of the report are in state. */
unsigned int es_verify_count(const struct es_verify_report *report,
			     enum es_verify_state state);

void es_verify_report_free(struct es_verify_report *report);

#endif
