// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs-verity Merkle tree tests: known vectors, geometry, streaming builder,
 * verifier (accepts every block, rejects any flipped bit).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "erofs/verity.h"

#define BS	ES_VERITY_BLOCK_SIZE

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len)
{
	size_t i;

	assert_int_equal(strlen(hex), 2 * len);
	for (i = 0; i < len; i++) {
		unsigned int byte;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
		out[i] = (uint8_t)byte;
	}
}

static void assert_hash_hex(const uint8_t *hash, const char *hex)
{
	uint8_t expected[ES_VERITY_HASH_SIZE];

	hex_to_bytes(hex, expected, sizeof(expected));
	assert_memory_equal(hash, expected, sizeof(expected));
}

/* ---- known vectors ------------------------------------------------------
 *
 * SHA-256, 4096-byte blocks, no salt.  Expected values were produced by the
 * external oracle `fsverity digest FILE --compact --out-merkle-tree=T`
 * (fsverity-utils 1.5); "tree_sha256" is the SHA-256 of T and NULL when T
 * is empty.
 */
enum content { ZEROS, LETTER_A, ABC, MOD_251 };

struct vector {
	const char *name;
	enum content content;
	uint64_t size;
	const char *file_digest;
	const char *root_hash;	/* NULL: all zeros */
	size_t tree_size;
	const char *tree_sha256;
};

static const struct vector vectors[] = {
	{ "empty", ZEROS, 0,
	  "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95",
	  NULL, 0, NULL },
	{ "z1", ZEROS, 1,
	  "b803429503d95915829b29fdbc8bbad142f3abfd11b1cadf5526582e685c0551",
	  "ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7",
	  0, NULL },
	{ "a1", LETTER_A, 1,
	  "bce75948b9e7510293f8f2720412af9697c1479281323f3f220623fb8e94b557",
	  "344bcc8eac81250e918967cb0ba2d1cd1ea9d548141cf318f2025c2ba93b6ed2",
	  0, NULL },
	{ "abc", ABC, 3,
	  "700b6bd8510f0b4f9bac8b9cf0459151a1c4a99f467892bb4bd289a67df8e19c",
	  "73fbfd76aa2143de160edd509ff93771f44db16924bd51235f311f32aaf5fc42",
	  0, NULL },
	{ "z4096", ZEROS, 4096,
	  "babc284ee4ffe7f449377fbf6692715b43aec7bc39c094a95878904d34bac97e",
	  "ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7",
	  0, NULL },
	{ "z4097", ZEROS, 4097,
	  "093756e4ea9683329106d4a16982682ed182c14bf076463a9e7f97305cbac743",
	  "90b10db56173e2e7c847f6ff3ed85a3aebb140bc0064ec9a156ae5b2e71db988",
	  4096,
	  "90b10db56173e2e7c847f6ff3ed85a3aebb140bc0064ec9a156ae5b2e71db988" },
	{ "z524289", ZEROS, 524289,
	  "e4143a5705610b7ad2eb85482cfc033c7062a89b9faf9118603f592d53fd10e0",
	  "3e5d285ca1f11edfca6327028471f08b75634ff3361264b88d79ee2e95cacb84",
	  12288,
	  "d1c2afe93a32525a8c29c5597cfae660f157dc7553fc92946dfb658f83ffbf59" },
	{ "z1m", ZEROS, 1048576,
	  "feb19a23e72cb1b8f935d668a09ecaad0bf7c5b9cdfa6dbba7c88a9998ed2b87",
	  "5d98121f8aeff2a38a3fffee013f85980078507a0ffbd99e5a8d616ecfe7db6a",
	  12288,
	  "cff350a2cad10161a2bd3a2976c0a84fcdebe5c2eba6894f15cd9b115e20dbdf" },
	{ "p1000000", MOD_251, 1000000,
	  "dbe1b6c44240d0b0642a25e6c1d5e399381c87474f3dcda2f3acb9495fa159d6",
	  "16a36d38fd716ef12fa939e465510b3ba58e41de836e495d2846ec70b958c9d1",
	  12288,
	  "ab8d9e462b19e22358f2067b74b6dd7de4f0677e94d73498b762149a9ce69890" },
};

#define NUM_VECTORS	(sizeof(vectors) / sizeof(vectors[0]))

static uint8_t *make_content(const struct vector *v)
{
	/* one spare byte so that an empty file still gets a real pointer */
	uint8_t *data = malloc((size_t)v->size + 1);
	size_t i;

	assert_non_null(data);
	for (i = 0; i < v->size; i++) {
		switch (v->content) {
		case ZEROS:
			data[i] = 0;
			break;
		case LETTER_A:
			data[i] = 'a';
			break;
		case ABC:
			data[i] = (uint8_t)("abc"[i % 3]);
			break;
		case MOD_251:
			data[i] = (uint8_t)(i % 251);
			break;
		}
	}
	return data;
}

static void check_against_vector(const struct vector *v,
				 const uint8_t root[ES_VERITY_HASH_SIZE],
				 const uint8_t digest[ES_VERITY_HASH_SIZE],
				 const uint8_t *tree, size_t tree_size)
{
	static const uint8_t zero_hash[ES_VERITY_HASH_SIZE];
	uint8_t tree_hash[ES_VERITY_HASH_SIZE];

	print_message("vector %s\n", v->name);
	assert_hash_hex(digest, v->file_digest);
	if (root) {
		if (v->root_hash)
			assert_hash_hex(root, v->root_hash);
		else
			assert_memory_equal(root, zero_hash, sizeof(zero_hash));
	}
	assert_int_equal(tree_size, v->tree_size);
	if (v->tree_sha256) {
		assert_non_null(tree);
		assert_int_equal(es_sha256(tree, tree_size, tree_hash), 0);
		assert_hash_hex(tree_hash, v->tree_sha256);
	} else {
		assert_null(tree);
	}
}

/* Build with the given chunk sizes, cycled; chunk 0 means "all at once". */
static void build(const uint8_t *data, uint64_t size,
		  const size_t *chunks, size_t nchunks,
		  struct es_verity_builder *b,
		  uint8_t root[ES_VERITY_HASH_SIZE],
		  uint8_t digest[ES_VERITY_HASH_SIZE])
{
	uint64_t done = 0;
	size_t c = 0;

	assert_int_equal(es_verity_builder_init(b, size), 0);
	while (done < size) {
		size_t n = nchunks ? chunks[c++ % nchunks] : (size_t)size;

		if (n > size - done)
			n = (size_t)(size - done);
		assert_int_equal(es_verity_builder_update(b, data + done, n), 0);
		done += n;
	}
	assert_int_equal(es_verity_builder_final(b, root, digest), 0);
}

static void test_vectors_builder(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NUM_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		uint8_t root[ES_VERITY_HASH_SIZE], digest[ES_VERITY_HASH_SIZE];
		uint8_t again_root[ES_VERITY_HASH_SIZE];
		uint8_t again_digest[ES_VERITY_HASH_SIZE];
		struct es_verity_builder b;
		uint8_t *data = make_content(v);

		build(data, v->size, NULL, 0, &b, root, digest);
		check_against_vector(v, root, digest, es_verity_builder_tree(&b),
				     es_verity_builder_tree_size(&b));
		/* final is repeatable */
		assert_int_equal(es_verity_builder_final(&b, again_root,
							 again_digest), 0);
		assert_memory_equal(again_root, root, sizeof(root));
		assert_memory_equal(again_digest, digest, sizeof(digest));
		/* the digest is SHA-256 of the descriptor of (size, root) */
		assert_int_equal(es_verity_file_digest(v->size, root,
						       again_digest), 0);
		assert_memory_equal(again_digest, digest, sizeof(digest));
		es_verity_builder_free(&b);
		free(data);
	}
}

static void test_vectors_fd(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NUM_VECTORS; i++) {
		const struct vector *v = &vectors[i];
		uint8_t digest[ES_VERITY_HASH_SIZE];
		uint8_t *data = make_content(v);
		uint8_t *tree = (uint8_t *)1;	/* must be overwritten */
		size_t tree_size = 1;
		FILE *file = tmpfile();
		int fd;

		assert_non_null(file);
		fd = fileno(file);
		assert_int_equal(write(fd, data, (size_t)v->size),
				 (ssize_t)v->size);
		/* the file position must not matter */
		assert_int_equal(es_verity_digest_fd(fd, v->size, digest,
						     &tree, &tree_size), 0);
		check_against_vector(v, NULL, digest, tree, tree_size);
		free(tree);

		/* digest only */
		memset(digest, 0, sizeof(digest));
		assert_int_equal(es_verity_digest_fd(fd, v->size, digest,
						     NULL, NULL), 0);
		assert_hash_hex(digest, v->file_digest);

		/* a file shorter than the size given */
		assert_int_equal(es_verity_digest_fd(fd, v->size + 1, digest,
						     NULL, NULL), -EIO);
		fclose(file);
		free(data);
	}
	assert_int_equal(es_verity_digest_fd(-1, 0, (uint8_t[32]){ 0 },
					     NULL, NULL), -EINVAL);
}

static void test_descriptor_and_formatted_digest(void **state)
{
	uint8_t root[ES_VERITY_HASH_SIZE], digest[ES_VERITY_HASH_SIZE];
	uint8_t desc[ES_VERITY_DESCRIPTOR_SIZE];
	uint8_t expected_desc[ES_VERITY_DESCRIPTOR_SIZE] = {
		1, 1, 12, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t formatted[ES_VERITY_FORMATTED_DIGEST_SIZE];
	uint8_t expected_formatted[ES_VERITY_FORMATTED_DIGEST_SIZE];
	uint8_t big_size_desc[ES_VERITY_DESCRIPTOR_SIZE];

	(void)state;
	/* "abc": descriptor layout and its SHA-256 */
	hex_to_bytes(vectors[3].root_hash, root, sizeof(root));
	memcpy(expected_desc + 16, root, sizeof(root));
	es_verity_descriptor(3, root, desc);
	assert_memory_equal(desc, expected_desc, sizeof(desc));
	assert_int_equal(es_sha256(desc, sizeof(desc), digest), 0);
	assert_hash_hex(digest, vectors[3].file_digest);

	/* data_size is a little-endian u64 */
	es_verity_descriptor(0x0102030405060708ull, root, big_size_desc);
	assert_memory_equal(big_size_desc + 8,
			    "\x08\x07\x06\x05\x04\x03\x02\x01", 8);

	/* `fsverity digest abc --for-builtin-sig` */
	es_verity_formatted_digest(digest, formatted);
	hex_to_bytes("465356657269747901002000"
		     "700b6bd8510f0b4f9bac8b9cf0459151"
		     "a1c4a99f467892bb4bd289a67df8e19c",
		     expected_formatted, sizeof(expected_formatted));
	assert_memory_equal(formatted, expected_formatted, sizeof(formatted));
}

/* ---- geometry --------------------------------------------------------- */

struct geometry_case {
	uint64_t size;
	uint64_t data_blocks;
	unsigned int levels;
	uint64_t level_blocks[ES_VERITY_MAX_LEVELS];	/* level 0 first */
};

static const struct geometry_case geometry_cases[] = {
	{ 0, 0, 0, { 0 } },
	{ 1, 1, 0, { 0 } },
	{ 4095, 1, 0, { 0 } },
	{ 4096, 1, 0, { 0 } },
	{ 4097, 2, 1, { 1 } },
	{ 128 * 4096ull, 128, 1, { 1 } },
	{ 128 * 4096ull + 1, 129, 2, { 2, 1 } },
	{ 128 * 128 * 4096ull, 16384, 2, { 128, 1 } },
	{ 128 * 128 * 4096ull + 1, 16385, 3, { 129, 2, 1 } },
	{ 1ull << 30, 262144, 3, { 2048, 16, 1 } },
	{ UINT64_MAX, 1ull << 52, 8,
	  { 1ull << 45, 1ull << 38, 1ull << 31, 1ull << 24, 1ull << 17,
	    1ull << 10, 8, 1 } },
};

static void test_geometry(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(geometry_cases) / sizeof(geometry_cases[0]); i++) {
		const struct geometry_case *c = &geometry_cases[i];
		struct es_verity_geom g;
		uint64_t total = 0, offset = 0;
		unsigned int level;

		assert_int_equal(es_verity_geometry(c->size, &g), 0);
		assert_true(g.data_size == c->size);
		assert_true(g.data_blocks == c->data_blocks);
		assert_int_equal(g.levels, c->levels);
		for (level = 0; level < c->levels; level++) {
			assert_true(g.level_blocks[level] ==
				    c->level_blocks[level]);
			total += c->level_blocks[level];
		}
		/* root level first: the top level starts at offset 0 */
		for (level = c->levels; level-- > 0;) {
			assert_true(g.level_offset[level] == offset);
			offset += c->level_blocks[level] * BS;
		}
		assert_true(g.tree_blocks == total);
		assert_true(g.tree_size == total * BS);
	}
	/* spot checks against the reference */
	{
		struct es_verity_geom g;

		assert_int_equal(es_verity_geometry(1ull << 30, &g), 0);
		assert_true(g.tree_size == 8458240);
		assert_true(g.level_offset[2] == 0);
		assert_true(g.level_offset[1] == 4096);
		assert_true(g.level_offset[0] == 17 * 4096);
	}
	assert_int_equal(es_verity_geometry(0, NULL), -EINVAL);
}

/* ---- streaming ------------------------------------------------------- */

static void fill_pseudo_random(uint8_t *data, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (uint8_t)(seed >> 16);
	}
}

static void test_streaming_chunkings(void **state)
{
	static const size_t odd[] = { 1, 7, 4095, 4096, 4097, 65537, 3 };
	static const size_t tiny[] = { 1 };
	static const size_t pages[] = { 4096 };
	static const size_t big[] = { 1048576 + 3, 5 };
	static const struct {
		const size_t *chunks;
		size_t n;
	} chunkings[] = {
		{ odd, 7 }, { tiny, 1 }, { pages, 1 }, { big, 2 },
	};
	/* p1000000 and z524289 */
	static const size_t vector_index[] = { 8, 6 };
	size_t i, c;

	(void)state;
	for (i = 0; i < 2; i++) {
		const struct vector *v = &vectors[vector_index[i]];
		uint8_t *data = make_content(v);

		for (c = 0; c < sizeof(chunkings) / sizeof(chunkings[0]); c++) {
			uint8_t root[ES_VERITY_HASH_SIZE];
			uint8_t digest[ES_VERITY_HASH_SIZE];
			struct es_verity_builder b;

			build(data, v->size, chunkings[c].chunks,
			      chunkings[c].n, &b, root, digest);
			check_against_vector(v, root, digest,
					     es_verity_builder_tree(&b),
					     es_verity_builder_tree_size(&b));
			es_verity_builder_free(&b);
		}
		free(data);
	}
}

/* Feed every other block as a precomputed digest instead of its bytes. */
static void test_add_block_digest(void **state)
{
	const struct vector *v = &vectors[8];	/* p1000000 */
	uint8_t root[ES_VERITY_HASH_SIZE], digest[ES_VERITY_HASH_SIZE];
	uint8_t block_digest[ES_VERITY_HASH_SIZE];
	struct es_verity_builder b;
	uint8_t *data = make_content(v);
	uint64_t offset, block;

	(void)state;
	assert_int_equal(es_verity_builder_init(&b, v->size), 0);
	for (offset = 0, block = 0; offset < v->size; offset += BS, block++) {
		size_t len = v->size - offset < BS ?
			     (size_t)(v->size - offset) : BS;

		if (block & 1) {
			assert_int_equal(es_verity_builder_update(&b,
					data + offset, len), 0);
			continue;
		}
		assert_int_equal(es_verity_block_digest(data + offset, len,
							block_digest), 0);
		assert_int_equal(es_verity_builder_add_block_digest(&b,
							block_digest), 0);
	}
	/* everything is in: no more digests or bytes */
	assert_int_equal(es_verity_builder_add_block_digest(&b, block_digest),
			 -EINVAL);
	assert_int_equal(es_verity_builder_update(&b, data, 1), -EINVAL);
	assert_int_equal(es_verity_builder_final(&b, root, digest), 0);
	check_against_vector(v, root, digest, es_verity_builder_tree(&b),
			     es_verity_builder_tree_size(&b));
	es_verity_builder_free(&b);
	free(data);
}

static void test_builder_misuse(void **state)
{
	uint8_t data[2 * BS] = { 0 };
	uint8_t root[ES_VERITY_HASH_SIZE], digest[ES_VERITY_HASH_SIZE];
	struct es_verity_builder b;
	size_t tree_size;
	uint8_t *tree;

	(void)state;
	assert_int_equal(es_verity_builder_init(NULL, 1), -EINVAL);

	assert_int_equal(es_verity_builder_init(&b, 4097), 0);
	/* too much data */
	assert_int_equal(es_verity_builder_update(&b, data, 4098), -EINVAL);
	assert_int_equal(es_verity_builder_update(&b, data, 10), 0);
	/* not on a block boundary */
	assert_int_equal(es_verity_builder_add_block_digest(&b, digest),
			 -EINVAL);
	/* final before all data is in fails but does not break the build */
	assert_int_equal(es_verity_builder_final(&b, root, digest), -EINVAL);
	assert_int_equal(es_verity_builder_update(&b, data, 4087), 0);
	assert_int_equal(es_verity_builder_final(&b, root, digest), 0);
	assert_hash_hex(digest, vectors[5].file_digest);	/* z4097 */
	/* no updates after final */
	assert_int_equal(es_verity_builder_update(&b, data, 0), -EINVAL);
	tree = es_verity_builder_take_tree(&b, &tree_size);
	assert_non_null(tree);
	assert_int_equal(tree_size, BS);
	assert_null(es_verity_builder_tree(&b));
	assert_int_equal(es_verity_builder_tree_size(&b), 0);
	es_verity_builder_free(&b);
	free(tree);

	/* abandoning a build half way, freeing twice */
	assert_int_equal(es_verity_builder_init(&b, 1 << 20), 0);
	assert_int_equal(es_verity_builder_update(&b, data, sizeof(data)), 0);
	es_verity_builder_free(&b);
	es_verity_builder_free(&b);

	/* block digest helper */
	assert_int_equal(es_verity_block_digest(data, BS + 1, digest), -EINVAL);
	assert_int_equal(es_verity_block_digest(NULL, 0, digest), 0);
	assert_hash_hex(digest, vectors[4].root_hash);	/* H(4096 zeros) */
}

/* ---- verifier -------------------------------------------------------- */

struct built_file {
	uint8_t *data;
	uint64_t size;
	struct es_verity_geom geom;
	uint8_t *tree;
	size_t tree_size;
	uint8_t root[ES_VERITY_HASH_SIZE];
};

static void build_file(struct built_file *f, uint64_t size, uint32_t seed)
{
	uint8_t digest[ES_VERITY_HASH_SIZE];
	struct es_verity_builder b;

	f->size = size;
	f->data = malloc((size_t)size + 1);
	assert_non_null(f->data);
	fill_pseudo_random(f->data, (size_t)size, seed);
	build(f->data, size, NULL, 0, &b, f->root, digest);
	f->tree = es_verity_builder_take_tree(&b, &f->tree_size);
	es_verity_builder_free(&b);
	assert_int_equal(es_verity_geometry(size, &f->geom), 0);
	assert_true(f->geom.tree_size == f->tree_size);
}

static void free_file(struct built_file *f)
{
	free(f->data);
	free(f->tree);
}

static size_t block_length(const struct built_file *f, uint64_t index)
{
	uint64_t left = f->size - index * BS;

	return left < BS ? (size_t)left : BS;
}

static int verify(const struct built_file *f, uint64_t index)
{
	return es_verity_verify_block(&f->geom, f->tree, f->tree_size, f->root,
				      index, f->data + index * BS,
				      block_length(f, index));
}

static int check_leaf(const struct built_file *f, uint64_t index)
{
	return es_verity_check_leaf(&f->geom, f->tree, f->tree_size, f->root,
				    index, f->data + index * BS,
				    block_length(f, index));
}

static int check_tree(const struct built_file *f)
{
	return es_verity_check_tree(&f->geom, f->tree, f->tree_size, f->root);
}

/* 64 MiB + 1 byte: three levels of 129, 2 and 1 blocks */
static void test_verify_three_levels(void **state)
{
	struct built_file f;
	uint64_t i;
	unsigned int level;
	/* blocks at the edges of the tree structure */
	const uint64_t probes[] = { 0, 1, 127, 128, 129, 16383, 16384 };
	size_t p;

	(void)state;
	build_file(&f, 128 * 128 * 4096ull + 1, 42);
	assert_int_equal(f.geom.levels, 3);

	assert_int_equal(check_tree(&f), 0);
	for (i = 0; i < f.geom.data_blocks; i++) {
		assert_int_equal(verify(&f, i), 0);
		assert_int_equal(check_leaf(&f, i), 0);
	}

	/* a flipped bit in a data block */
	for (p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		uint8_t *byte = f.data + probes[p] * BS +
				(block_length(&f, probes[p]) - 1);

		*byte ^= 0x10;
		assert_int_equal(verify(&f, probes[p]), -EBADMSG);
		assert_int_equal(check_leaf(&f, probes[p]), -EBADMSG);
		*byte ^= 0x10;
		assert_int_equal(verify(&f, probes[p]), 0);
	}

	/* a flipped bit in each level, on the path of each probe */
	for (level = 0; level < f.geom.levels; level++) {
		for (p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
			uint64_t pos = probes[p] >> (7 * level);
			uint8_t *byte = f.tree + f.geom.level_offset[level] +
					pos * ES_VERITY_HASH_SIZE + 31;

			*byte ^= 0x01;
			assert_int_equal(verify(&f, probes[p]), -EBADMSG);
			assert_int_equal(check_tree(&f), -EBADMSG);
			*byte ^= 0x01;
		}
	}

	/*
	 * A flipped bit in the zero fill of the last block of each level:
	 * caught by the tree check and by every block whose path uses it.
	 */
	for (level = 0; level < f.geom.levels; level++) {
		uint8_t *byte = f.tree + f.geom.level_offset[level] +
				f.geom.level_blocks[level] * BS - 1;

		*byte ^= 0x80;
		assert_int_equal(check_tree(&f), -EBADMSG);
		assert_int_equal(verify(&f, f.geom.data_blocks - 1), -EBADMSG);
		*byte ^= 0x80;
	}

	/* damage off the path: the block still verifies, the tree does not */
	f.tree[f.geom.level_offset[0] + 5 * BS] ^= 1;	/* covers blocks 640.. */
	assert_int_equal(verify(&f, 0), 0);
	assert_int_equal(verify(&f, 640), -EBADMSG);
	assert_int_equal(check_tree(&f), -EBADMSG);
	f.tree[f.geom.level_offset[0] + 5 * BS] ^= 1;

	/* a flipped bit in the root hash */
	f.root[0] ^= 0x01;
	assert_int_equal(verify(&f, 0), -EBADMSG);
	assert_int_equal(verify(&f, 16384), -EBADMSG);
	assert_int_equal(check_tree(&f), -EBADMSG);
	f.root[0] ^= 0x01;

	assert_int_equal(check_tree(&f), 0);
	free_file(&f);
}

/* The last data block may be given as a full, zero-padded 4096 bytes. */
static void test_verify_last_block_padding(void **state)
{
	struct built_file f;
	uint8_t block[BS];
	uint64_t last;

	(void)state;
	build_file(&f, 129 * 4096ull + 100, 9);
	last = f.geom.data_blocks - 1;
	memset(block, 0, sizeof(block));
	memcpy(block, f.data + last * BS, 100);

	assert_int_equal(es_verity_verify_block(&f.geom, f.tree, f.tree_size,
						f.root, last, block, BS), 0);
	assert_int_equal(es_verity_check_leaf(&f.geom, f.tree, f.tree_size,
					      f.root, last, block, 2000), 0);
	/* garbage after the end of the file */
	block[BS - 1] = 1;
	assert_int_equal(es_verity_verify_block(&f.geom, f.tree, f.tree_size,
						f.root, last, block, BS),
			 -EBADMSG);
	assert_int_equal(es_verity_check_leaf(&f.geom, f.tree, f.tree_size,
					      f.root, last, block, BS),
			 -EBADMSG);
	/* shorter than the real block */
	assert_int_equal(es_verity_verify_block(&f.geom, f.tree, f.tree_size,
						f.root, last, block, 99),
			 -EINVAL);
	free_file(&f);
}

static void test_verify_bad_arguments(void **state)
{
	struct built_file f;
	struct es_verity_geom bad;

	(void)state;
	build_file(&f, 3 * 4096, 5);
	/* out of range block, short full block, wrong tree length */
	assert_int_equal(es_verity_verify_block(&f.geom, f.tree, f.tree_size,
						f.root, 3, f.data, BS),
			 -EINVAL);
	assert_int_equal(es_verity_verify_block(&f.geom, f.tree, f.tree_size,
						f.root, 0, f.data, BS - 1),
			 -EINVAL);
	assert_int_equal(es_verity_verify_block(&f.geom, f.tree, f.tree_size,
						f.root, 0, NULL, BS),
			 -EINVAL);
	assert_int_equal(es_verity_verify_block(&f.geom, f.tree,
						f.tree_size - 1, f.root, 0,
						f.data, BS),
			 -EINVAL);
	assert_int_equal(es_verity_check_tree(&f.geom, f.tree, f.tree_size + 1,
					      f.root),
			 -EINVAL);
	assert_int_equal(es_verity_check_tree(NULL, f.tree, f.tree_size,
					      f.root),
			 -EINVAL);
	assert_int_equal(es_verity_check_leaf(&f.geom, NULL, f.tree_size,
					      f.root, 0, f.data, BS),
			 -EINVAL);
	/* a geometry that does not belong to its data size */
	bad = f.geom;
	bad.level_offset[0] += BS;
	assert_int_equal(es_verity_verify_block(&bad, f.tree, f.tree_size,
						f.root, 0, f.data, BS),
			 -EINVAL);
	bad = f.geom;
	bad.data_size += BS;
	assert_int_equal(es_verity_check_tree(&bad, f.tree, f.tree_size,
					      f.root),
			 -EINVAL);
	free_file(&f);
}

/* Files without tree blocks: empty, one partial block, one full block. */
static void test_verify_without_tree(void **state)
{
	static const uint8_t zero_hash[ES_VERITY_HASH_SIZE];
	struct built_file f;
	uint8_t other_root[ES_VERITY_HASH_SIZE];

	(void)state;
	build_file(&f, 0, 1);
	assert_null(f.tree);
	assert_memory_equal(f.root, zero_hash, sizeof(zero_hash));
	assert_int_equal(check_tree(&f), 0);
	assert_int_equal(es_verity_verify_block(&f.geom, NULL, 0, f.root, 0,
						f.data, 0),
			 -EINVAL);
	memset(other_root, 0, sizeof(other_root));
	other_root[31] = 1;
	assert_int_equal(es_verity_check_tree(&f.geom, NULL, 0, other_root),
			 -EBADMSG);
	free_file(&f);

	build_file(&f, 1000, 2);
	assert_null(f.tree);
	assert_int_equal(check_tree(&f), 0);
	assert_int_equal(verify(&f, 0), 0);
	assert_int_equal(check_leaf(&f, 0), 0);
	f.data[999] ^= 4;
	assert_int_equal(verify(&f, 0), -EBADMSG);
	assert_int_equal(check_leaf(&f, 0), -EBADMSG);
	free_file(&f);

	build_file(&f, BS, 3);
	assert_int_equal(verify(&f, 0), 0);
	f.root[7] ^= 2;
	assert_int_equal(verify(&f, 0), -EBADMSG);
	assert_int_equal(check_leaf(&f, 0), -EBADMSG);
	free_file(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_builder),
		cmocka_unit_test(test_vectors_fd),
		cmocka_unit_test(test_descriptor_and_formatted_digest),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_streaming_chunkings),
		cmocka_unit_test(test_add_block_digest),
		cmocka_unit_test(test_builder_misuse),
		cmocka_unit_test(test_verify_three_levels),
		cmocka_unit_test(test_verify_last_block_padding),
		cmocka_unit_test(test_verify_bad_arguments),
		cmocka_unit_test(test_verify_without_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
