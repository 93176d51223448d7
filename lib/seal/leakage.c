// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * What an observer without keys learns from a set of images: everything
 * here comes from the plain parts (superblock, manifest, chunk index), the
 * same bytes a registry holds.  docs/SECURITY.md, "Leakage by design".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/hashmap.h"
#include "erofs/format.h"
#include "erofs/leakage.h"
#include "erofs/seal.h"

/* A chunk as the chunk index names it (keyed id in encrypted images), and
 * the images whose index lists it. */
struct seen_chunk {
	uint8_t id[32];
	uint32_t nblocks;	/* id and nblocks: the key */
	uint64_t images;	/* bit i: image i */
};

static uint64_t id_hash(const void *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return h;
}

static const struct hmap_type seen_type = {
	.entry_size = sizeof(struct seen_chunk),
	.key_size = offsetof(struct seen_chunk, nblocks) + sizeof(uint32_t),
	.hash = id_hash,
};

static unsigned int size_class(uint32_t nblocks)
{
	unsigned int c = 0;

	while (c + 1 < ES_LEAK_CLASSES && nblocks > (1u << c))
		c++;
	return c;
}

int es_leakage(const struct es_seal *const *seals, unsigned int n, struct es_leakage *out,
	       struct es_err *err)
{
	struct hmap seen;
	struct seen_chunk *e;
	size_t pos = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!n || n > ES_LEAK_MAX_IMAGES)
		return es_fail(err, -EINVAL, "between 1 and %u images", ES_LEAK_MAX_IMAGES);
	out->nimages = n;
	hmap_init(&seen, &seen_type);
	for (unsigned int i = 0; i < n && !ret; i++) {
		const struct es_seal *s = seals[i];
		struct es_leak_image *li = &out->images[i];

		li->encrypted = s->flags & MF_FLAG_ENCRYPTED;
		li->chunksize = s->chunksize;
		li->devices = s->ndevices;
		li->fs_bytes = s->fs_size;
		for (unsigned int d = 1; d < s->ndevices; d++)
			li->blob_bytes += s->devices[d].size;
		li->chunks = s->nchunks;
		for (uint64_t c = 0; c < s->nchunks && !ret; c++) {
			const struct es_chunk_rec *r = &s->chunks[c];
			struct seen_chunk key = { .nblocks = r->nblocks };
			bool added;

			li->chunk_blocks += r->nblocks;
			li->size_hist[size_class(r->nblocks)]++;
			/* a chunk shorter than the chunk size ends a file */
			if (s->chunksize && ((uint64_t)r->nblocks << 12) < s->chunksize)
				li->tail_chunks++;
			if (!li->encrypted)
				li->exact_lengths++;
			memcpy(key.id, r->digest, 32);
			ret = hmap_find_or_add(&seen, &key, (void **)&e, &added);
			if (ret)
				ret = es_fail(err, ret, "out of memory");
			else
				e->images |= 1ull << i;
		}
	}
	while (!ret && (e = hmap_next(&seen, &pos))) {
		unsigned int count = (unsigned int)__builtin_popcountll(e->images);

		out->distinct_chunks++;
		if (count > 1)
			out->shared_chunks++;
		for (unsigned int i = 0; i < n; i++) {
			if (!(e->images & (1ull << i)))
				continue;
			for (unsigned int j = 0; j < n; j++)
				if (j != i && (e->images & (1ull << j)))
					out->shared[i][j]++;
		}
	}
	hmap_free(&seen);
	return ret;
}
