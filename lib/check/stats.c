// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Dedup statistics of an image, gathered on the fsck walk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/check.h"
#include "erofs/format.h"

/* set of (device, byte offset) of stored chunks */
struct place_set {
	uint64_t *keys;		/* (offset | device << 56) + 1, 0 = empty */
	size_t cap, count;
};

static bool place_add(struct place_set *s, uint64_t key, int *err)
{
	size_t i;

	key++;
	if ((s->count + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4096;
		uint64_t *nk = calloc(ncap, sizeof(*nk));

		if (!nk) {
			*err = -ENOMEM;
			return false;
		}
		for (size_t k = 0; k < s->cap; k++) {
			if (s->keys[k]) {
				size_t j = (size_t)(s->keys[k] * 0x9E3779B97F4A7C15ull >> 20) & (ncap - 1);

				while (nk[j])
					j = (j + 1) & (ncap - 1);
				nk[j] = s->keys[k];
			}
		}
		free(s->keys);
		s->keys = nk;
		s->cap = ncap;
	}
	for (i = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & (s->cap - 1); s->keys[i];
	     i = (i + 1) & (s->cap - 1))
		if (s->keys[i] == key)
			return false;
	s->keys[i] = key;
	s->count++;
	return true;
}

struct stats_ctx {
	const struct es_image *img;
	struct es_stats *st;
	struct place_set places;
	struct es_err *err;
};

static int stats_visit(void *ctx, const struct es_inode *ino)
{
	struct stats_ctx *sc = ctx;
	struct es_stats *st = sc->st;
	int ret = 0;

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
	if (ino->layout != EROFS_LAYOUT_CHUNK_BASED) {
		st->stored_bytes += ino->nblocks << sc->img->sb.blkszbits;
		return 0;
	}
	for (uint64_t off = 0; off < ino->size;) {
		struct es_extent ext;

		ret = es_map(sc->img, ino, off, &ext, sc->err);
		if (ret)
			return ret;
		st->chunks++;
		off = ext.lstart + ext.llen;
		if (ext.hole) {
			st->holes++;
			continue;
		}
		if (place_add(&sc->places, ext.pstart | ((uint64_t)ext.device << 56), &ret)) {
			st->unique_chunks++;
			st->stored_bytes += ext.plen;
		} else if (ret) {
			return es_fail(sc->err, ret, "out of memory");
		} else {
			st->shared_chunks++;
		}
	}
	return 0;
}

int es_image_stats(const struct es_image *img, struct es_stats *st, struct es_err *err)
{
	struct stats_ctx sc = { .img = img, .st = st, .err = err };
	struct es_check_opts o;
	int ret;

	memset(st, 0, sizeof(*st));
	es_check_opts_init(&o);
	o.visit = stats_visit;
	o.skip_data = true;	/* the visit maps every chunk; no need to read them */
	o.visit_ctx = &sc;
	ret = es_check(img, &o, NULL, err);
	free(sc.places.keys);
	return ret;
}
