/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/* fsck: walk and check a whole image, optionally extracting it. */
#ifndef EROFS_CHECK_H
#define EROFS_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/image.h"

struct es_check_result;
struct es_unlocked;

struct es_check_opts {
	const char *extract_dir;	/* NULL: check only */
	bool overwrite;			/* replace existing files when extracting */
	bool preserve_owner;
	/* modes exactly as stored; false: without the bits of umask */
	bool preserve_perms;
	unsigned int umask;
	bool xattrs;			/* extract xattrs */
	/*
	 * Read (and decode) every file's data when checking; without it
	 * each file's extents are mapped and their places checked, and no
	 * data is read (extract_dir reads and writes it all anyway).
	 */
	bool check_data;
	/* every device passed its Merkle tree: check_data needs to read only
	   the extents that must be decoded to be checked */
	bool data_proven;
	/* threads that read (and write) file data; 0 or 1: the walking one */
	unsigned int nthreads;
	/* img's decryption stage (an encrypted image): each thread gets a fork */
	const struct es_unlocked *unlocked;
	/*
	 * Extracting without privileges: what only root may do and the
	 * system refuses (EPERM) is skipped with a warning, not a failure:
	 * device nodes, owners, xattrs outside user.*.
	 */
	bool unprivileged;
	/* check (and extract) only the directory subtree_nid and below it */
	bool subtree;
	uint64_t subtree_nid;
	/* called once for every problem found; the walk goes on after it */
	void (*report)(void *ctx, const char *msg);
	/* what extraction left out, and why (report_ctx too) */
	void (*warn)(void *ctx, const char *msg);
	void *report_ctx;
	/* called after each regular file is checked or extracted, with the
	   counts so far (may be NULL): a front end's progress line */
	void (*progress)(void *ctx, const struct es_check_result *so_far);
	void *progress_ctx;
};

struct es_check_result {
	uint64_t inodes;
	uint64_t directories;
	uint64_t regular_files;
	uint64_t data_bytes;		/* file bytes read and checked */
	uint64_t problems;		/* structural problems found */
};

void es_check_opts_init(struct es_check_opts *o);

/*
 * Returns 0 when the image is consistent, -ES_ECORRUPT when problems were
 * found (each one reported, err holds the first), or another negative code
 * for an operational failure (I/O, extraction target) that stopped the walk.
 */
int es_check(const struct es_image *img, const struct es_check_opts *o,
	     struct es_check_result *res, struct es_err *err);

/* Dedup statistics of an image, for dump -S. */
struct es_stats {
	uint64_t inodes, regular_files, directories, symlinks, special_files;
	uint64_t logical_bytes;		/* sum of regular file sizes */
	uint64_t stored_bytes;		/* distinct data blocks referenced */
	uint64_t chunks;		/* chunk entries */
	uint64_t unique_chunks;		/* distinct (device, block) targets */
	uint64_t shared_chunks;		/* entries pointing at a chunk seen before */
	uint64_t holes;
	/* compressed files: their extents and the pclusters these point at */
	uint64_t compressed_files;
	uint64_t compressed_logical;	/* bytes of their extents */
	uint64_t pclusters;		/* extents (one pcluster each) */
	uint64_t unique_pclusters;	/* distinct (device, place) */
	uint64_t shared_pclusters;	/* extents using a pcluster seen before */
	uint64_t pcluster_bytes;	/* stored bytes of the distinct ones */
};

/*
 * A walk of the tree without fsck's checks: what the walk itself cannot
 * do without (see es_walk()) still fails it, with -ES_ECORRUPT.
 */
int es_image_stats(const struct es_image *img, struct es_stats *st, struct es_err *err);

/* ---- the seal, for fsck ---------------------------------------------- */

struct es_trust;

struct es_seal_summary {
	bool sealed;
	bool unreadable;		/* bytes after the filesystem: no valid seal */
	unsigned int devices, devices_checked;
	unsigned int signatures, signatures_trusted;
	bool signatures_checked;	/* key anchors were given */
	bool anchored;			/* key anchors or pinned digests given */
	bool digest_pinned;		/* the manifest digest is a pinned one */
	/* anchored, es_seal_authenticate() passed (a pinned manifest digest
	 * or the signature policy), every device checked against its tree
	 * and no problem found */
	bool authenticated;
	unsigned int problems;
};

struct es_verify_report;

/*
 * fsck's judgement of what the trust pipeline found (es_verify_image(),
 * run with anchors when anchored, else without): the seal's structure,
 * every device the source had against its tree (the others are reported
 * as not checked), and, when anchored, its authentication.  Bytes after
 * the filesystem without a valid seal are a problem too (unless device 0
 * is a container such as a block device), and so is an image without a
 * seal when anchors are given: it cannot be authenticated.
 * Each problem goes to report(); returns 0, -ES_ECORRUPT when problems
 * were found, or another negative code for an operational failure.
 */
int es_check_seal(const struct es_verify_report *r, bool anchored,
		  void (*report)(void *ctx, const char *msg), void *report_ctx,
		  struct es_seal_summary *sum, struct es_err *err);

/*
 * May the tree be extracted after es_check_seal() returned seal_ret and
 * filled sum?  Only when the seal check found nothing, every device of a
 * sealed image was checked against its tree and, with anchors, the seal
 * was authenticated.  Returns 0, or the reason in err: -ES_ECORRUPT (the
 * seal failed) or -ENOENT (a device could not be checked).
 */
int es_seal_extract_gate(int seal_ret, const struct es_seal_summary *sum,
			 struct es_err *err);

#endif
