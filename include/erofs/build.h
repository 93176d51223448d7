/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/* Building an image from a directory tree. */
#ifndef EROFS_BUILD_H
#define EROFS_BUILD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/keyslot.h"

struct es_signer;
struct es_trust;
struct es_build_stats;

/* -z: how regular files are compressed (docs/FORMAT.md §6) */
enum es_compr_kind {
	ES_COMPR_NONE = 0,
	ES_COMPR_LZ4,
	ES_COMPR_LZ4HC,
	ES_COMPR_DEFLATE,
	ES_COMPR_ZSTD,
};

/*
 * Parse a -z specification: "lz4", "lz4hc[,LEVEL]", "deflate[,LEVEL]",
 * "zstd[,LEVEL]" (LEVEL also as level=N); *level gets the algorithm's
 * default when none is given.
 */
int es_compr_parse(const char *spec, enum es_compr_kind *kind, int *level,
		   struct es_err *err);

struct es_build_opts {
	const char *image_path;
	const char *source_dir;
	/*
	 * Or a tar stream (ustar, PAX, GNU; plain, gzip, zstd or xz), read
	 * once: from the file tar_path, or from tar_fd when tar_use_fd (then
	 * tar_path only names it in messages).  Member names are relative to
	 * the image root; OCI whiteouts (".wh.NAME", ".wh..wh..opq") become
	 * overlayfs ones unless tar_keep_whiteouts.
	 */
	const char *tar_path;
	bool tar_use_fd;
	int tar_fd;
	bool tar_keep_whiteouts;
	unsigned int blkszbits;		/* only 12 for now */
	bool have_timestamp;		/* -T */
	int64_t timestamp;
	bool timestamp_sb_only;		/* --mkfs-time: -T only for the superblock */
	bool clamp_mtimes;		/* with timestamp_sb_only: newer mtimes are
					   clamped (SOURCE_DATE_EPOCH) */
	bool have_uuid;			/* -U */
	uint8_t uuid[16];
	bool all_root;
	int64_t force_uid;		/* -1: keep */
	int64_t force_gid;
	const char *const *exclude_paths;	/* relative to source_dir */
	unsigned int nexclude_paths;
	const char *const *exclude_regexes;	/* POSIX extended */
	unsigned int nexclude_regexes;
	uint64_t chunksize;		/* 0: flat files (sparse ones still chunked) */
	const char *blobdev_path;	/* file data into an extra device */
	int xattr_share_threshold;	/* share pairs seen more often; <0: no xattrs */
	const char *volume_label;
	/*
	 * Compression: regular files into pclusters of at most max_pcluster
	 * bytes (a multiple of the block size up to 1 MiB; 0 = one block).
	 * A file that does not shrink by a block stays uncompressed.
	 */
	enum es_compr_kind compress;
	int compress_level;
	uint32_t max_pcluster;
	/* sealing */
	bool seal;			/* Merkle trees, manifest, chunk index */
	const char *blob_dir;		/* data into DIR/<fs-verity digest hex> */
	const char *const *chunk_dicts;	/* earlier sealed images to dedup against */
	unsigned int nchunk_dicts;
	/* when not NULL, every chunk dictionary must carry a signature by one
	   of these anchors; without, dictionaries are checked for integrity
	   only (their chunks are verified against the source either way) */
	const struct es_trust *dict_trust;
	/*
	 * Repack policy (docs/DECISIONS.md): a dictionary blob from which
	 * the image would read fewer chunk bytes than repack_below, or, when
	 * repack_below_bp is not 0, less than repack_below_bp / 100 percent
	 * of all the chunk bytes it references, is left out: the chunks the
	 * image uses from it are copied into the new blob.  Both 0: never.
	 */
	uint64_t repack_below;
	uint32_t repack_below_bp;	/* hundredths of a percent, 1..10000 */
	struct es_signer *const *signers;
	unsigned int nsigners;
	bool fsverity_sigs;		/* DIR/<hex>.sig for every new blob */
	/*
	 * Encryption (docs/FORMAT.md §3): keyed convergent per chunk under
	 * the dedup domain's key, metadata under a random per-image key, the
	 * key table wrapped by keyslots (at least one).  Implies sealing.
	 */
	bool encrypt;
	const uint8_t *domain_key;	/* 32 bytes; the caller wipes it */
	const char *const *keyslots;	/* keyslot specifications */
	unsigned int nkeyslots;
	/* asked for a passphrase keyslot's passphrase (may be NULL) */
	struct es_passphrase_prompt *prompt;
	const char *key_area_path;	/* detached key area; NULL: in the image */
	/* Argon2id costs of passphrase slots (zero fields: benchmarked) */
	struct es_keyslot_policy pbkdf;
	unsigned int nthreads;		/* worker threads (hashing, encryption, trees), 0 = 1 */
	/* called for non-fatal problems (skipped xattrs, ...) */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* called after each regular file is read (may be NULL; it keeps
	   its own pace, so it should be cheap when it shows nothing) */
	void (*progress)(void *ctx, const struct es_build_stats *st);
	void *progress_ctx;
	/*
	 * Polled between files and inside long loops: once *cancel is non-zero
	 * the build stops, removes its temporary files and returns -ECANCELED.
	 * A front end points it at the flag its signal handler sets.
	 */
	const volatile sig_atomic_t *cancel;
};

struct es_build_stats {
	uint64_t inodes;
	uint64_t regular_files, directories, symlinks, special_files;
	uint64_t hardlinks;		/* extra names of an inode */
	uint64_t logical_bytes;		/* sum of regular file sizes */
	uint64_t stored_data_bytes;	/* blocks of file data written */
	uint64_t chunks;		/* chunk table entries */
	uint64_t chunks_stored;		/* written once */
	uint64_t chunks_deduped;	/* pointing at an earlier copy */
	uint64_t chunks_holes;		/* zero or sparse, no block */
	uint64_t shared_xattrs;
	uint64_t image_blocks;
	uint64_t blob_blocks;
	uint64_t image_bytes;		/* whole file, seal included */
	unsigned int devices;		/* 1 + blobs */
	uint64_t dict_chunks_reused;	/* chunks found in --chunk-dict images */
	unsigned int repacked_blobs;	/* dictionary blobs left out by the policy */
	uint64_t repacked_chunks;	/* ... whose chunks were copied into the new blob */
	uint64_t repacked_bytes;
	uint64_t compressed_files;	/* regular files stored compressed */
	uint64_t compressed_logical;	/* their bytes */
	uint64_t pclusters;		/* their physical clusters, referenced */
	uint64_t pclusters_stored;	/* written once */
	uint64_t pclusters_deduped;	/* pointing at an earlier copy */
	uint64_t pcluster_blocks;	/* blocks of the pclusters written */
	char blob_name[65];		/* new blob with --blob-dir, "" if none */
	bool blob_was_present;		/* ... which the blob directory already held
					   (the same data built before) */
};

void es_build_opts_init(struct es_build_opts *o);

/* The options that es_build_opts_check() found at fault, as bits. */
#define ES_BUILD_OPT_BLKSZBITS		(1u << 0)
#define ES_BUILD_OPT_CHUNKSIZE		(1u << 1)
#define ES_BUILD_OPT_BLOBDEV		(1u << 2)
#define ES_BUILD_OPT_BLOB_DIR		(1u << 3)
#define ES_BUILD_OPT_CHUNK_DICTS	(1u << 4)
#define ES_BUILD_OPT_DICT_TRUST		(1u << 5)
#define ES_BUILD_OPT_FSVERITY_SIGS	(1u << 6)
#define ES_BUILD_OPT_SIGNERS		(1u << 7)
#define ES_BUILD_OPT_VOLUME_LABEL	(1u << 8)
#define ES_BUILD_OPT_EXCLUDE_REGEXES	(1u << 9)
#define ES_BUILD_OPT_ENCRYPT		(1u << 10)
#define ES_BUILD_OPT_KEYSLOTS		(1u << 11)
#define ES_BUILD_OPT_KEY_AREA		(1u << 12)
#define ES_BUILD_OPT_COMPRESS		(1u << 13)
#define ES_BUILD_OPT_MAX_PCLUSTER	(1u << 14)
#define ES_BUILD_OPT_REPACK		(1u << 15)
#define ES_BUILD_OPT_TAR		(1u << 16)

/*
 * Every check of the options es_build() makes before it writes anything:
 * values, combinations, regular expressions, and outputs that would
 * overwrite another output or an input (compared by file identity).  A
 * front end calls it to tell a usage error from a failed build; es_build()
 * calls it again.  -EINVAL with a message that describes what is wrong;
 * *culprits (may be NULL) gets the ES_BUILD_OPT_* bits of the options at
 * fault, so that the front end can name them as its user knows them.
 */
int es_build_opts_check(const struct es_build_opts *o, unsigned int *culprits,
			struct es_err *err);
int es_build(const struct es_build_opts *o, struct es_build_stats *stats,
	     struct es_err *err);

#endif
