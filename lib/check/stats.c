// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Dedup and compression statistics of an image, gathered on a walk of its tree. */
#include <string.h>
#include <sys/stat.h>
#include "erofs/check.h"
#include "erofs/format.h"
#include "erofs/walk.h"
#include "base/hashmap.h"

/* (device, byte offset) of a stored chunk: (offset | device << 56) */
static uint64_t place_hash(const void *key)
{
	uint64_t k;

	memcpy(&k, key, sizeof(k));
	return (k + 1) * 0x9E3779B97F4A7C15ull >> 20;
}

static const struct hmap_type place_type = {
	.entry_size = sizeof(uint64_t),
	.key_size = sizeof(uint64_t),
	.hash = place_hash,
	.initial_slots = 4096,
};

/* Whether key is new to the set (then added); false with *err on failure. */
static bool place_add(struct hmap *s, uint64_t key, int *err)
{
	void *entry;
	bool added;

	*err = hmap_find_or_add(s, &key, &entry, &added);
	return !*err && added;
}

struct stats_ctx {
	const struct es_image *img;
	struct es_stats *st;
	struct hmap places;
	struct es_err *err;
};

static int stats_visit(void *ctx, struct es_walk *w, const struct es_walk_entry *e)
{
	const struct es_inode *ino = e->ino;
	struct stats_ctx *sc = ctx;
	struct es_stats *st = sc->st;
	bool compressed;
	int ret = 0;

	(void)w;
	if (e->seen)
		return 0;
	st->inodes++;
	switch (ino->mode & S_IFMT) {
	case S_IFDIR:
		st->directories++;
		return 0;
	case S_IFLNK:
		st->symlinks++;
		return 0;
	case S_IFREG:
		break;
	default:
		st->special_files++;
		return 0;
	}
	st->regular_files++;
	st->logical_bytes += ino->size;
	compressed = ino->layout == EROFS_LAYOUT_COMPRESSED_FULL ||
		     ino->layout == EROFS_LAYOUT_COMPRESSED_COMPACT;
	if (compressed)
		st->compressed_files++;
	else if (ino->layout != EROFS_LAYOUT_CHUNK_BASED) {
		st->stored_bytes += ino->nblocks << sc->img->sb.blkszbits;
		return 0;
	}
	for (uint64_t off = 0; off < ino->size;) {
		struct es_extent ext;

		ret = es_map(sc->img, ino, off, &ext, sc->err);
		if (ret)
			return ret;
		if (!ext.llen)
			return es_fail(sc->err, -ES_ECORRUPT, "nid %llu: an empty extent at "
				       "byte %llu", (unsigned long long)ino->nid,
				       (unsigned long long)off);
		off = ext.lstart + ext.llen;
		if (compressed) {
			st->pclusters++;
			st->compressed_logical += ext.llen;
		} else {
			st->chunks++;
		}
		if (!(ext.flags & ES_EXTENT_MAPPED)) {
			st->holes++;
			continue;
		}
		if (place_add(&sc->places, ext.pstart | ((uint64_t)ext.device << 56), &ret)) {
			st->stored_bytes += ext.plen;
			if (compressed) {
				st->unique_pclusters++;
				st->pcluster_bytes += ext.plen;
			} else {
				st->unique_chunks++;
			}
		} else if (ret) {
			return es_fail(sc->err, ret, "out of memory");
		} else if (compressed) {
			st->shared_pclusters++;
		} else {
			st->shared_chunks++;
		}
	}
	return 0;
}

int es_image_stats(const struct es_image *img, struct es_stats *st, struct es_err *err)
{
	static const struct es_walk_ops ops = { .visit = stats_visit };
	struct stats_ctx sc = { .img = img, .st = st, .err = err };
	int ret;

	memset(st, 0, sizeof(*st));
	hmap_init(&sc.places, &place_type);
	ret = es_walk(img, &ops, &sc, err);
	hmap_free(&sc.places);
	return ret;
}
