/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * fs-verity Merkle tree, descriptor and file digest, with the only
 * parameters erofs-seal uses: SHA-256, 4096-byte blocks, no salt.  The
 * results are bit-identical to the kernel and to `fsverity digest`.
 *
 * Terms:
 *  - data block i: bytes [i*4096, (i+1)*4096) of the file; the last one is
 *    zero-padded to 4096 bytes before hashing.
 *  - level 0 holds the digests of the data blocks, level k+1 the digests of
 *    the blocks of level k; the top level (levels - 1) is a single block
 *    whose digest is the root hash.  Each tree block is 128 digests,
 *    zero-filled after the last one.
 *  - a file of 0 bytes has root hash 00..00 and a file of one data block has
 *    root hash = digest of that (padded) block; neither has tree blocks.
 *  - the serialized tree (what FS_IOC_READ_VERITY_METADATA and
 *    `fsverity digest --out-merkle-tree` produce) stores the top level
 *    first and level 0 last.
 *  - file digest = SHA-256 of the 256-byte descriptor; this, not the root
 *    hash, is what `fsverity digest` prints and what gets signed.
 *
 * All functions return 0 or a negative errno value.  A verification
 * mismatch is -EBADMSG; malformed arguments are -EINVAL.
 *
 * The geometry, descriptor and verifier functions allocate nothing and
 * build with -ffreestanding (with lib/crypto/sha256_portable.c); the
 * builder and es_verity_digest_fd() need a hosted libc and the
 * multi-message SHA-256 (erofs/sha256_mb.h); they are left out when
 * __STDC_HOSTED__ is 0 and in the boot reader's sources (ES_FREESTANDING),
 * which stay on one-message hashing for size.
 */
#ifndef EROFS_VERITY_H
#define EROFS_VERITY_H

#include <stddef.h>
#include <stdint.h>
#include "erofs/sha256.h"

#define ES_VERITY_HASH_ALG_SHA256	1
#define ES_VERITY_LOG_BLOCK_SIZE	12
#define ES_VERITY_BLOCK_SIZE		(1u << ES_VERITY_LOG_BLOCK_SIZE)
#define ES_VERITY_HASH_SIZE		ES_SHA256_DIGEST_SIZE
#define ES_VERITY_LOG_ARITY		7	/* 4096 / 32 = 128 digests per block */
#define ES_VERITY_ARITY			(1u << ES_VERITY_LOG_ARITY)
/* 2^64 bytes need 8 levels with SHA-256/4K; the kernel's cap is also 8. */
#define ES_VERITY_MAX_LEVELS		8
#define ES_VERITY_DESCRIPTOR_SIZE	256
/* "FSVerity" + le16 algorithm + le16 digest size + digest */
#define ES_VERITY_FORMATTED_DIGEST_SIZE	(8 + 2 + 2 + ES_VERITY_HASH_SIZE)

/* Shape of the tree; a pure function of the data size. */
struct es_verity_geom {
	uint64_t data_size;
	uint64_t data_blocks;		/* ceil(data_size / 4096) */
	unsigned int levels;		/* 0 when data_blocks <= 1 */
	/* indexed by level, 0 = digests of data blocks, levels-1 = top */
	uint64_t level_blocks[ES_VERITY_MAX_LEVELS];
	uint64_t level_offset[ES_VERITY_MAX_LEVELS];	/* bytes into the tree */
	uint64_t tree_blocks;
	uint64_t tree_size;		/* bytes = tree_blocks * 4096 */
};

/* Fill g for a file of data_size bytes (any value is valid). */
int es_verity_geometry(uint64_t data_size, struct es_verity_geom *g);

/* Digest of one data block of len <= 4096 bytes, zero-padded to 4096. */
int es_verity_block_digest(const void *data, size_t len,
			   uint8_t digest[ES_VERITY_HASH_SIZE]);

/* The 256-byte fs-verity descriptor (v1, SHA-256, 4K, no salt, sig_size 0). */
void es_verity_descriptor(uint64_t data_size,
			  const uint8_t root_hash[ES_VERITY_HASH_SIZE],
			  uint8_t desc[ES_VERITY_DESCRIPTOR_SIZE]);

/* file digest = SHA-256(descriptor) */
int es_verity_file_digest(uint64_t data_size,
			  const uint8_t root_hash[ES_VERITY_HASH_SIZE],
			  uint8_t digest[ES_VERITY_HASH_SIZE]);

/* What a builtin (PKCS#7) signature signs: 44 bytes. */
void es_verity_formatted_digest(const uint8_t digest[ES_VERITY_HASH_SIZE],
				uint8_t out[ES_VERITY_FORMATTED_DIGEST_SIZE]);

/*
 * ---- verifier side (no allocation) -----------------------------------
 *
 * g must come from es_verity_geometry() (it is re-checked), tree/tree_len
 * is the serialized tree (tree_len == g->tree_size; tree may be NULL when
 * that is 0), block_index < g->data_blocks.  block_data holds the data
 * block: block_len is its real length (4096, or what is left for the last
 * block), or anything up to 4096 for the last block as long as the bytes
 * past the end of the file are zero (they are hashed as given).
 */

/*
 * Check one data block against the root hash: hash the block and every
 * tree block on its path up to the root (levels + 1 hashes).
 */
int es_verity_verify_block(const struct es_verity_geom *g,
			   const uint8_t *tree, size_t tree_len,
			   const uint8_t root_hash[ES_VERITY_HASH_SIZE],
			   uint64_t block_index,
			   const uint8_t *block_data, size_t block_len);

/*
 * Check the whole tree against the root hash, top level first, hashing each
 * tree block exactly once.  For an empty file the root hash must be all
 * zeros.  After this succeeds, data blocks can be checked with
 * es_verity_check_leaf() alone.
 */
int es_verity_check_tree(const struct es_verity_geom *g,
			 const uint8_t *tree, size_t tree_len,
			 const uint8_t root_hash[ES_VERITY_HASH_SIZE]);

/*
 * Check one data block against its level-0 digest (or against the root hash
 * for a one-block file).  Only meaningful once es_verity_check_tree() has
 * accepted this tree and root hash.  One hash per call.
 */
int es_verity_check_leaf(const struct es_verity_geom *g,
			 const uint8_t *tree, size_t tree_len,
			 const uint8_t root_hash[ES_VERITY_HASH_SIZE],
			 uint64_t block_index,
			 const uint8_t *block_data, size_t block_len);

#if __STDC_HOSTED__ && !defined(ES_FREESTANDING)
#include "erofs/sha256_mb.h"

/*
 * ---- builder (hosted only) ---------------------------------------------
 *
 * Streams the file once, in order, hashing every data block and every tree
 * block exactly once; the whole serialized tree (~0.8 % of the data) is kept
 * in memory.  Level 0 is normally computed by the builder from the data
 * given to es_verity_builder_update() (any chunking; whole 4 KiB blocks are
 * hashed in place without copying).  A writer that has already hashed a
 * data block may instead hand over its digest with
 * es_verity_builder_add_block_digest(); both may be mixed as long as
 * add_block_digest is only called on a 4096-byte boundary of the data.
 *
 *	struct es_verity_builder b;
 *	ret = es_verity_builder_init(&b, size);
 *	... es_verity_builder_update(&b, buf, n) ...
 *	ret = es_verity_builder_final(&b, root, digest);
 *	use es_verity_builder_tree(&b), es_verity_builder_tree_size(&b)
 *	es_verity_builder_free(&b);
 *
 * The builder struct is about 4.5 KiB (it holds one block buffer).
 * es_verity_builder_free() is safe after a failed init and may be called
 * at any point to abandon a build.
 */
struct es_verity_builder {
	struct es_verity_geom geom;
	struct es_sha256_mb hash;	/* data and tree blocks, several at once */
	int hash_ready;			/* hash holds an acquired context */
	int finalized;
	int error;			/* first failure, sticky */
	uint8_t *tree;			/* geom.tree_size bytes, or NULL */
	uint64_t bytes_in;		/* data bytes consumed so far */
	uint64_t level_fill[ES_VERITY_MAX_LEVELS];	/* digests stored */
	uint8_t root_hash[ES_VERITY_HASH_SIZE];		/* set by final */
	uint8_t file_digest[ES_VERITY_HASH_SIZE];	/* set by final */
	unsigned int partial_len;	/* bytes waiting in partial_block */
	uint8_t partial_block[ES_VERITY_BLOCK_SIZE];
};

/*
 * Prepare to hash data_size bytes; allocates the tree.  -ENOMEM, or -EFBIG
 * when the tree cannot be held in memory on this host.
 */
int es_verity_builder_init(struct es_verity_builder *b, uint64_t data_size);

/* Feed the next len bytes; -EINVAL past data_size or after final. */
int es_verity_builder_update(struct es_verity_builder *b,
			     const void *data, size_t len);

/*
 * Feed the digest of the next data block (as es_verity_block_digest()
 * computes it, the last block zero-padded) instead of its bytes.  -EINVAL
 * when not on a block boundary or when all blocks are in.
 */
int es_verity_builder_add_block_digest(struct es_verity_builder *b,
				const uint8_t digest[ES_VERITY_HASH_SIZE]);

/*
 * Finish: all data_size bytes must have been fed (-EINVAL otherwise).
 * root_hash and file_digest may each be NULL.  Calling it again just
 * returns the same results.
 */
int es_verity_builder_final(struct es_verity_builder *b,
			    uint8_t root_hash[ES_VERITY_HASH_SIZE],
			    uint8_t file_digest[ES_VERITY_HASH_SIZE]);

/* Serialized tree (valid after final; NULL when the size is 0). */
const uint8_t *es_verity_builder_tree(const struct es_verity_builder *b);
size_t es_verity_builder_tree_size(const struct es_verity_builder *b);

/*
 * Take ownership of the tree buffer (free() it); the builder forgets it.
 * Returns NULL when the tree size is 0.
 */
uint8_t *es_verity_builder_take_tree(struct es_verity_builder *b,
				     size_t *tree_size);

void es_verity_builder_free(struct es_verity_builder *b);

/*
 * Digest of the first size bytes of fd, read with pread() from offset 0
 * (the file position is not used or changed).  When tree is not NULL the
 * serialized tree is returned in a malloc()ed buffer (*tree = NULL when
 * the tree is empty) and its length in *tree_len.  -EIO if the file ends
 * before size bytes, -errno from pread().
 */
int es_verity_digest_fd(int fd, uint64_t size,
			uint8_t digest[ES_VERITY_HASH_SIZE],
			uint8_t **tree, size_t *tree_len);
#endif /* __STDC_HOSTED__ && !ES_FREESTANDING */

#endif
