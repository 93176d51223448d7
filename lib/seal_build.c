// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Sealing a build: chunk dictionaries from earlier images, the final
 * device list, blob naming by fs-verity digest, trees, chunk index,
 * signatures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/format.h"
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verity.h"
#include "io.h"
#include "wtree.h"

/* Block 0 holds the superblock and, from byte 1152, the device table. */
#define ES_MAX_BLOBS ((4096u - 1152u) / EROFS_DEVT_SLOT_SIZE)

static int find_or_add_dict_blob(struct wbuild *b, const struct es_image *img,
				 const struct es_seal *s, unsigned int dev,
				 unsigned int *prov, struct es_err *err)
{
	struct wdevice *grown, *d;
	int ret;

	for (unsigned int k = 0; k < b->ndict_blobs; k++) {
		if (!memcmp(b->dict_blobs[k].digest, s->devices[dev].digest, 32)) {
			*prov = WDEV_DICT_BASE + k;
			return 0;
		}
	}
	if (WDEV_DICT_BASE + b->ndict_blobs > UINT16_MAX)
		return es_fail(err, -E2BIG, "too many dictionary blobs");
	grown = realloc(b->dict_blobs, (b->ndict_blobs + 1) * sizeof(*grown));
	if (!grown)
		return es_fail(err, -ENOMEM, "out of memory");
	b->dict_blobs = grown;
	d = &b->dict_blobs[b->ndict_blobs];
	memset(d, 0, sizeof(*d));
	memcpy(d->digest, s->devices[dev].digest, 32);
	d->size = s->devices[dev].size;
	ret = es_seal_load_tree(img->fd, s, dev, &d->tree, &d->tree_len, err);
	if (ret)
		return ret;
	*prov = WDEV_DICT_BASE + b->ndict_blobs++;
	return 0;
}

int es_dicts_load(struct wbuild *b)
{
	const struct es_build_opts *o = b->opts;

	for (unsigned int i = 0; i < o->nchunk_dicts; i++) {
		struct es_image *img = NULL;
		struct es_seal *s = NULL;
		unsigned int *prov = NULL;
		int ret;

		ret = es_image_open(&img, o->chunk_dicts[i], NULL, b->err);
		if (!ret) {
			ret = es_seal_read(img, &s, b->err);
			if (ret == -ENODATA)
				ret = es_fail(b->err, -EINVAL, "it carries no seal (build it "
					      "with --seal or --blob-dir)");
		}
		if (!ret) {
			prov = calloc(s->ndevices, sizeof(*prov));
			if (!prov)
				ret = es_fail(b->err, -ENOMEM, "out of memory");
		}
		for (unsigned int d = 1; !ret && d < s->ndevices; d++)
			ret = find_or_add_dict_blob(b, img, s, d, &prov[d], b->err);
		for (uint64_t c = 0; !ret && c < s->nchunks; c++) {
			const struct es_chunk_rec *r = &s->chunks[c];
			uint16_t dev;
			uint32_t blk = r->blkaddr;
			bool found;

			/* chunks inside a dictionary's own image file cannot be shared */
			if (r->device == 0)
				continue;
			dev = (uint16_t)prov[r->device];
			ret = es_dedup_insert(b->dedup, r->digest, r->nblocks, r->length, &dev,
					      &blk, false, &found);
			if (ret)
				ret = es_fail(b->err, ret, "out of memory");
		}
		free(prov);
		es_seal_free(s);
		es_image_close(img);
		if (ret) {
			es_err_prefix(b->err, "--chunk-dict %s: ", ES_PATH(o->chunk_dicts[i]));
			return ret;
		}
	}
	return 0;
}

struct remap_ctx {
	struct wbuild *b;
	const uint16_t *remap;
	unsigned int nprov;
};

static int mark_referenced(void *ctx, const uint8_t digest[32], uint16_t *device,
			   uint32_t blkaddr, uint32_t nblocks, uint32_t length)
{
	struct wbuild *b = ctx;

	(void)digest, (void)blkaddr, (void)nblocks, (void)length;
	if (*device >= WDEV_DICT_BASE) {
		b->dict_blobs[*device - WDEV_DICT_BASE].referenced = true;
		b->stats->dict_chunks_reused++;
	}
	return 0;
}

static int remap_entry(void *ctx, const uint8_t digest[32], uint16_t *device,
		       uint32_t blkaddr, uint32_t nblocks, uint32_t length)
{
	const struct remap_ctx *rc = ctx;

	(void)digest, (void)blkaddr, (void)nblocks, (void)length;
	if (*device && *device < rc->nprov)
		*device = rc->remap[*device];
	return 0;
}

int es_devices_finalize(struct wbuild *b)
{
	const bool keep_new = b->blob_fd >= 0 && (b->blob_next || !b->opts->blob_dir);
	unsigned int nprov = WDEV_DICT_BASE + b->ndict_blobs, next = 1;
	struct remap_ctx rc = { .b = b, .nprov = nprov };
	uint16_t *remap;
	bool identity = true;
	int ret;

	es_dedup_foreach(b->dedup, mark_referenced, b);
	remap = calloc(nprov, sizeof(*remap));
	b->devices = calloc(nprov, sizeof(*b->devices));
	if (!remap || !b->devices) {
		free(remap);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	if (keep_new)
		remap[WDEV_NEW_BLOB] = (uint16_t)next++;
	for (unsigned int k = 0; k < b->ndict_blobs; k++) {
		struct wdevice *d = &b->dict_blobs[k];

		if (!d->referenced)
			continue;
		remap[WDEV_DICT_BASE + k] = (uint16_t)next;
		b->devices[next++] = *d;
		d->tree = NULL;		/* moved */
	}
	b->ndevices = next;
	b->new_blob = keep_new;
	if (b->ndevices - 1 > ES_MAX_BLOBS) {
		free(remap);
		return es_fail(b->err, -E2BIG, "the image would need %u blobs; at most %u "
			       "fit in its device table", b->ndevices - 1, ES_MAX_BLOBS);
	}
	for (unsigned int p = 1; p < nprov; p++)
		if (remap[p] && remap[p] != p)
			identity = false;
	rc.remap = remap;
	ret = 0;
	if (!identity) {
		es_dedup_foreach(b->dedup, remap_entry, &rc);
		for (struct wnode *n = b->all; n; n = n->next_all) {
			if (n->layout != EROFS_LAYOUT_CHUNK_BASED ||
			    !(n->chunkfmt & EROFS_CHUNK_FORMAT_INDEXES))
				continue;
			for (uint64_t c = 0; c < n->nchunks; c++) {
				uint8_t *e = n->chunk_table + c * EROFS_CHUNK_INDEX_SIZE;
				uint16_t dev = es_get16(e + CI_DEVICE_ID);

				if (es_get32(e + CI_STARTBLK_LO) != EROFS_NULL_ADDR && dev &&
				    dev < nprov)
					es_put16(e + CI_DEVICE_ID, remap[dev]);
			}
		}
	}
	free(remap);
	return ret;
}

int es_blob_finalize(struct wbuild *b, const char *blob_path)
{
	struct wdevice *d = &b->devices[1];
	unsigned int threads = b->opts->nthreads ? b->opts->nthreads : 1;
	int ret;

	d->size = b->blob_next << b->blkszbits;
	if (ftruncate(b->blob_fd, (off_t)d->size) < 0)
		return es_fail(b->err, -errno, "sizing the blob: %s", strerror(errno));
	ret = es_verity_digest_fd_parallel(b->blob_fd, d->size, threads, d->digest,
					   &d->tree, &d->tree_len);
	if (ret)
		return es_fail(b->err, ret, "hashing the blob: %s", strerror(-ret));
	es_hex(d->digest, 32, b->stats->blob_name);
	(void)blob_path;
	return 0;
}

/* The .sig that `fsverity sign` would write for the new blob. */
int es_blob_finalize_sig(struct wbuild *b, const char *blob_path)
{
	struct wdevice *d = &b->devices[1];
	int ret = 0;

	{
		const struct es_signer *signer = NULL;
		struct es_outfile sigf = { .fd = -1 };
		char *path;
		uint8_t *sig = NULL;
		size_t sig_len = 0;

		for (unsigned int i = 0; i < b->opts->nsigners && !signer; i++)
			if (es_signer_type(b->opts->signers[i]) == ES_SIG_CMS)
				signer = b->opts->signers[i];
		if (!signer)
			return es_fail(b->err, -EINVAL, "--fsverity-sigs needs an RSA or "
				       "ECDSA --sign-key with a --sign-cert");
		ret = es_fsverity_sign(signer, d->digest, &sig, &sig_len, b->err);
		if (ret)
			return ret;
		path = malloc(strlen(blob_path) + 5);
		if (!path) {
			free(sig);
			return es_fail(b->err, -ENOMEM, "out of memory");
		}
		sprintf(path, "%s.sig", blob_path);
		ret = es_outfile_create(&sigf, path, b->err);
		if (!ret) {
			ret = es_pwrite_full(sigf.fd, sig, sig_len, 0);
			if (ret) {
				es_fail(b->err, ret, "writing %s: %s", ES_PATH(path),
					strerror(-ret));
				es_outfile_abort(&sigf);
			} else {
				ret = es_outfile_commit(&sigf, b->err);
			}
		}
		free(path);
		free(sig);
	}
	return ret;
}

struct index_ctx {
	struct es_chunk_rec *recs;
	uint64_t n, cap;
};

static int collect_chunk(void *ctx, const uint8_t digest[32], uint16_t *device,
			 uint32_t blkaddr, uint32_t nblocks, uint32_t length)
{
	struct index_ctx *ic = ctx;

	if (ic->n == ic->cap) {
		uint64_t ncap = ic->cap ? ic->cap * 2 : 1024;
		struct es_chunk_rec *nr = realloc(ic->recs, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		ic->recs = nr;
		ic->cap = ncap;
	}
	memcpy(ic->recs[ic->n].digest, digest, 32);
	ic->recs[ic->n].device = *device;
	ic->recs[ic->n].blkaddr = blkaddr;
	ic->recs[ic->n].nblocks = nblocks;
	ic->recs[ic->n].length = length;
	ic->n++;
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct es_chunk_rec *x = a, *y = b;

	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	return (x->blkaddr > y->blkaddr) - (x->blkaddr < y->blkaddr);
}

static int sign_manifest(void *ctx, const uint8_t *manifest, size_t len,
			 struct es_seal_sig **sigs, unsigned int *nsigs, struct es_err *err)
{
	const struct es_build_opts *o = ctx;
	struct es_seal_sig *out = calloc(o->nsigners, sizeof(*out));

	*sigs = out;
	*nsigs = 0;
	if (!out)
		return es_fail(err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < o->nsigners; i++) {
		enum es_sig_type type;
		size_t sig_len;
		int ret = es_sign(o->signers[i], manifest, len, &type, out[i].key_id,
				  &out[i].data, &sig_len, err);

		if (ret) {
			es_err_prefix(err, "signer %u: ", i + 1);
			return ret;
		}
		out[i].type = type;
		out[i].len = (uint32_t)sig_len;
		(*nsigs)++;
	}
	return 0;
}

int es_seal_image(struct wbuild *b, uint64_t fs_blocks, const uint8_t uuid[16])
{
	unsigned int threads = b->opts->nthreads ? b->opts->nthreads : 1;
	struct wdevice *d0 = &b->devices[0];
	struct es_seal_input in;
	struct es_seal_device *devs;
	const uint8_t **trees;
	size_t *tree_lens;
	struct index_ctx ic = { 0 };
	int ret;

	d0->size = fs_blocks << b->blkszbits;
	ret = es_verity_digest_fd_parallel(b->image_fd, d0->size, threads, d0->digest,
					   &d0->tree, &d0->tree_len);
	if (ret)
		return es_fail(b->err, ret, "hashing the image: %s", strerror(-ret));
	devs = calloc(b->ndevices, sizeof(*devs));
	trees = calloc(b->ndevices, sizeof(*trees));
	tree_lens = calloc(b->ndevices, sizeof(*tree_lens));
	if (!devs || !trees || !tree_lens) {
		ret = es_fail(b->err, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < b->ndevices; i++) {
		devs[i].size = b->devices[i].size;
		memcpy(devs[i].digest, b->devices[i].digest, 32);
		trees[i] = b->devices[i].tree;
		tree_lens[i] = b->devices[i].tree_len;
	}
	ret = es_dedup_foreach(b->dedup, collect_chunk, &ic);
	if (ret) {
		ret = es_fail(b->err, ret, "out of memory");
		goto out;
	}
	if (ic.n)
		qsort(ic.recs, ic.n, sizeof(*ic.recs), rec_cmp);
	memset(&in, 0, sizeof(in));
	memcpy(in.uuid, uuid, 16);
	in.fs_size = d0->size;
	in.build_time = b->epoch;
	in.chunksize = (uint32_t)b->chunksize;
	in.ndevices = b->ndevices;
	in.devices = devs;
	in.trees = trees;
	in.tree_lens = tree_lens;
	in.nchunks = ic.n;
	in.chunks = ic.recs;
	if (b->opts->nsigners) {
		in.sign = sign_manifest;
		in.sign_ctx = (void *)b->opts;
	}
	ret = es_seal_write(b->image_fd, &in, b->err);
out:
	free(ic.recs);
	free(devs);
	free(trees);
	free(tree_lens);
	return ret;
}

void es_devices_free(struct wbuild *b)
{
	for (unsigned int i = 0; i < b->ndevices && b->devices; i++)
		free(b->devices[i].tree);
	free(b->devices);
	for (unsigned int k = 0; k < b->ndict_blobs; k++)
		free(b->dict_blobs[k].tree);
	free(b->dict_blobs);
	b->devices = NULL;
	b->dict_blobs = NULL;
}
