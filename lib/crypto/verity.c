// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * fs-verity Merkle tree (SHA-256, 4 KiB blocks, no salt): geometry,
 * descriptor, streaming builder and verifier.  See include/erofs/verity.h
 * for the terms used here.
 *
 * Tree bytes are addressed through the geometry: the digest number p of
 * level k lives at level_offset[k] + p * 32, because a tree block holds
 * exactly 128 digests of 32 bytes; the block containing it is number
 * p >> 7 of that level.
 */
#include <string.h>
#include "erofs/format.h"
#include "erofs/verity.h"

#if __STDC_HOSTED__
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#else
/* Linux values, for the freestanding boot reader */
#define EINVAL	22
#define EBADMSG	74
#endif

#define BLOCK_SIZE	ES_VERITY_BLOCK_SIZE
#define HASH_SIZE	ES_VERITY_HASH_SIZE

/* padding is hashed from this, a piece at a time: 4 KiB of zeros would be
 * a third of the boot reader's read-only data */
static const uint8_t zeros[128];

/* ---- geometry ------------------------------------------------------- */

int es_verity_geometry(uint64_t data_size, struct es_verity_geom *g)
{
	uint64_t blocks, offset_blocks = 0;
	unsigned int levels = 0, level;

	if (!g)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->data_size = data_size;
	g->data_blocks = (data_size >> ES_VERITY_LOG_BLOCK_SIZE) +
			 ((data_size & (BLOCK_SIZE - 1)) != 0);

	blocks = g->data_blocks;
	while (blocks > 1) {
		if (levels == ES_VERITY_MAX_LEVELS)
			return -EINVAL;	/* cannot happen for 64-bit sizes */
		blocks = (blocks + ES_VERITY_ARITY - 1) >> ES_VERITY_LOG_ARITY;
		g->level_blocks[levels++] = blocks;
		g->tree_blocks += blocks;
	}
	g->levels = levels;

	/* serialized root level first */
	for (level = levels; level-- > 0;) {
		g->level_offset[level] = offset_blocks << ES_VERITY_LOG_BLOCK_SIZE;
		offset_blocks += g->level_blocks[level];
	}
	g->tree_size = g->tree_blocks << ES_VERITY_LOG_BLOCK_SIZE;
	return 0;
}

/* A geometry handed to us must be exactly what es_verity_geometry() says. */
static int geometry_is_consistent(const struct es_verity_geom *g)
{
	struct es_verity_geom expected;
	unsigned int level;

	if (es_verity_geometry(g->data_size, &expected))
		return 0;
	if (g->data_blocks != expected.data_blocks ||
	    g->levels != expected.levels ||
	    g->tree_blocks != expected.tree_blocks ||
	    g->tree_size != expected.tree_size)
		return 0;
	for (level = 0; level < expected.levels; level++)
		if (g->level_blocks[level] != expected.level_blocks[level] ||
		    g->level_offset[level] != expected.level_offset[level])
			return 0;
	return 1;
}

/* ---- hashing helpers ------------------------------------------------ */

/* n zero bytes into ctx */
static void hash_zeros(struct es_sha256_ctx *ctx, size_t n)
{
	for (; n > sizeof(zeros); n -= sizeof(zeros))
		es_sha256_update(ctx, zeros, sizeof(zeros));
	es_sha256_update(ctx, zeros, n);
}

/* Hash len <= 4096 bytes zero-padded to a block; ctx starts a new message. */
static int hash_padded_block(struct es_sha256_ctx *ctx, const void *data,
			     size_t len, uint8_t digest[HASH_SIZE])
{
	es_sha256_update(ctx, data, len);
	if (len < BLOCK_SIZE)
		hash_zeros(ctx, BLOCK_SIZE - len);
	return es_sha256_final_reset(ctx, digest);
}

static int digests_equal(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, HASH_SIZE) == 0;
}

int es_verity_block_digest(const void *data, size_t len,
			   uint8_t digest[HASH_SIZE])
{
	struct es_sha256_ctx ctx;
	int ret;

	if (len > BLOCK_SIZE || (len && !data) || !digest)
		return -EINVAL;
	ret = es_sha256_init(&ctx);
	if (ret)
		return ret;
	es_sha256_update(&ctx, data, len);
	if (len < BLOCK_SIZE)
		hash_zeros(&ctx, BLOCK_SIZE - len);
	return es_sha256_final(&ctx, digest);
}

/* ---- descriptor ----------------------------------------------------- */

void es_verity_descriptor(uint64_t data_size,
			  const uint8_t root_hash[HASH_SIZE],
			  uint8_t desc[ES_VERITY_DESCRIPTOR_SIZE])
{
	memset(desc, 0, ES_VERITY_DESCRIPTOR_SIZE);
	desc[0] = 1;					/* version */
	desc[1] = ES_VERITY_HASH_ALG_SHA256;
	desc[2] = ES_VERITY_LOG_BLOCK_SIZE;
	desc[3] = 0;					/* salt size */
	es_put32(desc + 4, 0);				/* sig_size */
	es_put64(desc + 8, data_size);
	memcpy(desc + 16, root_hash, HASH_SIZE);	/* 64-byte field */
	/* salt (80..111) and reserved (112..255) stay zero */
}

int es_verity_file_digest(uint64_t data_size,
			  const uint8_t root_hash[HASH_SIZE],
			  uint8_t digest[HASH_SIZE])
{
	uint8_t desc[ES_VERITY_DESCRIPTOR_SIZE];

	if (!root_hash || !digest)
		return -EINVAL;
	es_verity_descriptor(data_size, root_hash, desc);
	return es_sha256(desc, sizeof(desc), digest);
}

void es_verity_formatted_digest(const uint8_t digest[HASH_SIZE],
				uint8_t out[ES_VERITY_FORMATTED_DIGEST_SIZE])
{
	memcpy(out, "FSVerity", 8);
	es_put16(out + 8, ES_VERITY_HASH_ALG_SHA256);
	es_put16(out + 10, HASH_SIZE);
	memcpy(out + 12, digest, HASH_SIZE);
}

/* ---- verifier ------------------------------------------------------- */

static int check_tree_args(const struct es_verity_geom *g,
			   const uint8_t *tree, size_t tree_len,
			   const uint8_t *root_hash)
{
	if (!g || !root_hash || !geometry_is_consistent(g))
		return -EINVAL;
	if (tree_len != g->tree_size || (tree_len && !tree))
		return -EINVAL;
	return 0;
}

static int check_block_args(const struct es_verity_geom *g,
			    const uint8_t *tree, size_t tree_len,
			    const uint8_t *root_hash, uint64_t block_index,
			    const uint8_t *block_data, size_t block_len)
{
	uint64_t real_len;
	int ret = check_tree_args(g, tree, tree_len, root_hash);

	if (ret)
		return ret;
	if (block_index >= g->data_blocks)
		return -EINVAL;
	real_len = g->data_size - (block_index << ES_VERITY_LOG_BLOCK_SIZE);
	if (real_len > BLOCK_SIZE)
		real_len = BLOCK_SIZE;
	if (block_len < real_len || block_len > BLOCK_SIZE || !block_data)
		return -EINVAL;
	return 0;
}

int es_verity_verify_block(const struct es_verity_geom *g,
			   const uint8_t *tree, size_t tree_len,
			   const uint8_t root_hash[HASH_SIZE],
			   uint64_t block_index,
			   const uint8_t *block_data, size_t block_len)
{
	struct es_sha256_ctx ctx;
	uint8_t digest[HASH_SIZE];
	uint64_t pos = block_index;
	unsigned int level;
	int ret;

	ret = check_block_args(g, tree, tree_len, root_hash, block_index,
			       block_data, block_len);
	if (ret)
		return ret;
	ret = es_sha256_init(&ctx);
	if (ret)
		return ret;

	ret = hash_padded_block(&ctx, block_data, block_len, digest);
	for (level = 0; !ret && level < g->levels; level++) {
		const uint8_t *level_start = tree + g->level_offset[level];
		const uint8_t *tree_block = level_start +
			((pos >> ES_VERITY_LOG_ARITY) << ES_VERITY_LOG_BLOCK_SIZE);

		if (!digests_equal(level_start + pos * HASH_SIZE, digest)) {
			ret = -EBADMSG;
			break;
		}
		ret = hash_padded_block(&ctx, tree_block, BLOCK_SIZE, digest);
		pos >>= ES_VERITY_LOG_ARITY;
	}
	if (!ret && !digests_equal(digest, root_hash))
		ret = -EBADMSG;
	es_sha256_release(&ctx);
	return ret;
}

int es_verity_check_tree(const struct es_verity_geom *g,
			 const uint8_t *tree, size_t tree_len,
			 const uint8_t root_hash[HASH_SIZE])
{
	struct es_sha256_ctx ctx;
	uint8_t digest[HASH_SIZE];
	unsigned int level;
	int ret;

	ret = check_tree_args(g, tree, tree_len, root_hash);
	if (ret)
		return ret;
	if (!g->levels) {
		/* an empty file has the all-zero root hash by definition */
		if (!g->data_blocks && !digests_equal(root_hash, zeros))
			return -EBADMSG;
		return 0;
	}

	ret = es_sha256_init(&ctx);
	if (ret)
		return ret;
	/* the top level is the single block at offset 0 */
	ret = hash_padded_block(&ctx, tree, BLOCK_SIZE, digest);
	if (!ret && !digests_equal(digest, root_hash))
		ret = -EBADMSG;

	/* each level's blocks against the digests of the level above it */
	for (level = g->levels - 1; !ret && level > 0; level--) {
		const uint8_t *parent = tree + g->level_offset[level];
		const uint8_t *child = tree + g->level_offset[level - 1];
		uint64_t i;

		for (i = 0; i < g->level_blocks[level - 1]; i++) {
			ret = hash_padded_block(&ctx,
					child + (i << ES_VERITY_LOG_BLOCK_SIZE),
					BLOCK_SIZE, digest);
			if (ret)
				break;
			if (!digests_equal(parent + i * HASH_SIZE, digest)) {
				ret = -EBADMSG;
				break;
			}
		}
	}
	es_sha256_release(&ctx);
	return ret;
}

int es_verity_check_leaf(const struct es_verity_geom *g,
			 const uint8_t *tree, size_t tree_len,
			 const uint8_t root_hash[HASH_SIZE],
			 uint64_t block_index,
			 const uint8_t *block_data, size_t block_len)
{
	const uint8_t *expected;
	uint8_t digest[HASH_SIZE];
	int ret;

	ret = check_block_args(g, tree, tree_len, root_hash, block_index,
			       block_data, block_len);
	if (ret)
		return ret;
	ret = es_verity_block_digest(block_data, block_len, digest);
	if (ret)
		return ret;
	if (g->levels)
		expected = tree + g->level_offset[0] + block_index * HASH_SIZE;
	else
		expected = root_hash;
	return digests_equal(digest, expected) ? 0 : -EBADMSG;
}

#if __STDC_HOSTED__ && !defined(ES_FREESTANDING)
/* ---- builder -------------------------------------------------------- */

int es_verity_builder_init(struct es_verity_builder *b, uint64_t data_size)
{
	int ret;

	if (!b)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	ret = es_verity_geometry(data_size, &b->geom);
	if (ret)
		return ret;
	if ((size_t)b->geom.tree_size != b->geom.tree_size)
		return -EFBIG;
	if (b->geom.tree_size) {
		b->tree = calloc(1, (size_t)b->geom.tree_size);
		if (!b->tree)
			return -ENOMEM;
	}
	ret = es_sha256_mb_init(&b->hash, 0);
	if (ret) {
		free(b->tree);
		b->tree = NULL;
		return ret;
	}
	b->hash_ready = 1;
	return 0;
}

/* Digests of n whole 4096-byte blocks laid end to end. */
static int hash_blocks(struct es_verity_builder *b, const uint8_t *blocks,
		       size_t n, uint8_t *digests)
{
	return es_sha256_mb_blocks(&b->hash, blocks, n, BLOCK_SIZE, digests);
}

/*
 * Store the next digest of a level; when that completes a tree block, hash
 * the block into the level above, and so on.  The digest that would go
 * above the top level is the root hash.
 */
static int store_digest(struct es_verity_builder *b, unsigned int level,
			const uint8_t digest[HASH_SIZE])
{
	uint8_t carry[HASH_SIZE];

	memcpy(carry, digest, HASH_SIZE);
	for (;;) {
		uint8_t *level_start;
		uint64_t index;
		int ret;

		if (level == b->geom.levels) {
			memcpy(b->root_hash, carry, HASH_SIZE);
			return 0;
		}
		level_start = b->tree + b->geom.level_offset[level];
		index = b->level_fill[level]++;
		memcpy(level_start + index * HASH_SIZE, carry, HASH_SIZE);
		if ((index + 1) & (ES_VERITY_ARITY - 1))
			return 0;	/* tree block not full yet */

		ret = hash_blocks(b, level_start +
				  ((index >> ES_VERITY_LOG_ARITY) <<
				   ES_VERITY_LOG_BLOCK_SIZE), 1, carry);
		if (ret)
			return ret;
		level++;
	}
}

/*
 * n consecutive whole data blocks, hashed a batch at a time so that the
 * multi-message code gets several at once.
 */
static int hash_data_blocks(struct es_verity_builder *b, const uint8_t *data,
			    size_t n)
{
	enum { BATCH = 32 };
	uint8_t digests[BATCH * HASH_SIZE];
	int ret = 0;

	while (!ret && n) {
		size_t k = n < BATCH ? n : BATCH;

		ret = hash_blocks(b, data, k, digests);
		for (size_t i = 0; !ret && i < k; i++)
			ret = store_digest(b, 0, digests + i * HASH_SIZE);
		data += k * BLOCK_SIZE;
		n -= k;
	}
	if (ret)
		b->error = ret;
	return ret;
}

static int builder_usable(const struct es_verity_builder *b)
{
	if (!b)
		return -EINVAL;
	if (b->error)
		return b->error;
	if (b->finalized || !b->hash_ready)
		return -EINVAL;
	return 0;
}

int es_verity_builder_update(struct es_verity_builder *b,
			     const void *data, size_t len)
{
	const uint8_t *bytes = data;
	int ret = builder_usable(b);

	if (ret)
		return ret;
	if (!len)
		return 0;
	if (!data || len > b->geom.data_size - b->bytes_in)
		return -EINVAL;
	b->bytes_in += len;

	if (b->partial_len) {
		size_t take = BLOCK_SIZE - b->partial_len;

		if (take > len)
			take = len;
		memcpy(b->partial_block + b->partial_len, bytes, take);
		b->partial_len += (unsigned int)take;
		bytes += take;
		len -= take;
		if (b->partial_len < BLOCK_SIZE)
			return 0;
		b->partial_len = 0;
		ret = hash_data_blocks(b, b->partial_block, 1);
		if (ret)
			return ret;
	}

	/* whole blocks straight from the caller's buffer */
	if (len >= BLOCK_SIZE) {
		ret = hash_data_blocks(b, bytes, len / BLOCK_SIZE);
		if (ret)
			return ret;
		bytes += len - len % BLOCK_SIZE;
		len %= BLOCK_SIZE;
	}

	if (len) {
		memcpy(b->partial_block, bytes, len);
		b->partial_len = (unsigned int)len;
	}
	return 0;
}

int es_verity_builder_add_block_digest(struct es_verity_builder *b,
				       const uint8_t digest[HASH_SIZE])
{
	uint64_t left;
	int ret = builder_usable(b);

	if (ret)
		return ret;
	left = b->geom.data_size - b->bytes_in;
	if (!digest || b->partial_len || !left)
		return -EINVAL;
	b->bytes_in += left < BLOCK_SIZE ? left : BLOCK_SIZE;
	ret = store_digest(b, 0, digest);
	if (ret)
		b->error = ret;
	return ret;
}

static int builder_finish(struct es_verity_builder *b)
{
	unsigned int level;
	int ret;

	if (b->bytes_in != b->geom.data_size)
		return -EINVAL;
	if (b->partial_len) {
		/* the last data block, zero-padded */
		memset(b->partial_block + b->partial_len, 0,
		       BLOCK_SIZE - b->partial_len);
		b->partial_len = 0;
		ret = hash_data_blocks(b, b->partial_block, 1);
		if (ret)
			return ret;
	}

	/* hash the partly filled last block of each level, bottom up */
	for (level = 0; level < b->geom.levels; level++) {
		uint64_t fill = b->level_fill[level];
		uint8_t digest[HASH_SIZE];

		if (!(fill & (ES_VERITY_ARITY - 1)))
			continue;	/* already hashed when it filled up */
		ret = hash_blocks(b, b->tree + b->geom.level_offset[level] +
				  ((fill >> ES_VERITY_LOG_ARITY) <<
				   ES_VERITY_LOG_BLOCK_SIZE), 1, digest);
		if (!ret)
			ret = store_digest(b, level + 1, digest);
		if (ret)
			return ret;
	}

	/* every level must hold exactly one digest per block below it */
	for (level = 0; level < b->geom.levels; level++) {
		uint64_t expected = level ? b->geom.level_blocks[level - 1] :
					    b->geom.data_blocks;

		if (b->level_fill[level] != expected)
			return -EINVAL;
	}
	return es_verity_file_digest(b->geom.data_size, b->root_hash,
				     b->file_digest);
}

int es_verity_builder_final(struct es_verity_builder *b,
			    uint8_t root_hash[HASH_SIZE],
			    uint8_t file_digest[HASH_SIZE])
{
	int ret;

	if (!b)
		return -EINVAL;
	if (!b->finalized) {
		ret = builder_usable(b);
		if (ret)
			return ret;
		ret = builder_finish(b);
		if (ret) {
			if (ret != -EINVAL)
				b->error = ret;
			return ret;
		}
		es_sha256_mb_release(&b->hash);
		b->hash_ready = 0;
		b->finalized = 1;
	}
	if (root_hash)
		memcpy(root_hash, b->root_hash, HASH_SIZE);
	if (file_digest)
		memcpy(file_digest, b->file_digest, HASH_SIZE);
	return 0;
}

const uint8_t *es_verity_builder_tree(const struct es_verity_builder *b)
{
	return b->tree;
}

size_t es_verity_builder_tree_size(const struct es_verity_builder *b)
{
	return b->tree ? (size_t)b->geom.tree_size : 0;
}

uint8_t *es_verity_builder_take_tree(struct es_verity_builder *b,
				     size_t *tree_size)
{
	uint8_t *tree = b->tree;

	if (tree_size)
		*tree_size = tree ? (size_t)b->geom.tree_size : 0;
	b->tree = NULL;
	return tree;
}

void es_verity_builder_free(struct es_verity_builder *b)
{
	if (!b)
		return;
	if (b->hash_ready)
		es_sha256_mb_release(&b->hash);
	b->hash_ready = 0;
	free(b->tree);
	b->tree = NULL;
}

/* ---- one-shot over a file descriptor -------------------------------- */

#define READ_CHUNK	(1u << 20)	/* 256 blocks per pread() */

int es_verity_digest_fd(int fd, uint64_t size, uint8_t digest[HASH_SIZE],
			uint8_t **tree, size_t *tree_len)
{
	struct es_verity_builder b;
	uint8_t *buf = NULL;
	uint64_t offset = 0;
	int ret;

	if (fd < 0 || !digest || (tree && !tree_len))
		return -EINVAL;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	ret = es_verity_builder_init(&b, size);
	if (ret)
		return ret;
	if (size) {
		buf = malloc(READ_CHUNK);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
	}

	while (offset < size) {
		uint64_t left = size - offset;
		size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
		ssize_t got = pread(fd, buf, want, (off_t)offset);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (got == 0) {
			ret = -EIO;	/* file shorter than size */
			goto out;
		}
		ret = es_verity_builder_update(&b, buf, (size_t)got);
		if (ret)
			goto out;
		offset += (uint64_t)got;
	}

	ret = es_verity_builder_final(&b, NULL, digest);
	if (!ret && tree)
		*tree = es_verity_builder_take_tree(&b, tree_len);
out:
	free(buf);
	es_verity_builder_free(&b);
	return ret;
}
#endif /* __STDC_HOSTED__ && !ES_FREESTANDING */
