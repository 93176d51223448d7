// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Sealing a build: chunk dictionaries from earlier images, the final
 * device list, blob naming by fs-verity digest, trees, chunk index,
 * signatures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/hex.h"
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/sha256.h"
#include "erofs/sign.h"
#include "erofs/verified_read.h"
#include "erofs/verity.h"
#include "crypto/hashpool.h"
#include "io.h"
#include "wtree.h"

/*
 * Chunk dictionaries.  A dictionary is anyone's file: its chunk index says
 * "these bytes are at that place of blob X", and nothing but checks made
 * here stops a tampered index from making the new image reference other
 * bytes than its source holds.  So the dictionary's seal is read like
 * erofs-verify reads it (signatures first when anchors are given, then the
 * manifest, the chunk index against its digest, the filesystem region
 * against its tree), every blob it lists must be present, a blob's stored
 * tree is checked against its fs-verity digest when the new image first
 * references the blob, every block read from it is checked against that
 * tree, and every chunk against the source before it is referenced.
 */

static unsigned int build_threads(const struct wbuild *b)
{
	return b->opts->nthreads ? b->opts->nthreads : 1;
}

static const char *dict_path(const struct wbuild *b, const struct wdevice *d)
{
	return b->dicts[d->dict].path;
}

/*
 * A failure about dictionary blob d: err's message, with the blob named;
 * a read that fails its tree (-EBADMSG) says what that means.
 */
static int dict_blob_fail(struct wbuild *b, const struct wdevice *d, int code,
			  const struct es_err *err, bool reading)
{
	char hex[65];

	es_hex(d->digest, 32, hex);
	return es_fail(b->err, code, "chunk dictionary %s: blob %s in %s: %s%s",
		       ES_PATH(dict_path(b, d)), hex, ES_PATH(b->opts->blob_dir), err->msg,
		       reading && code == -EBADMSG ? " (blob damaged or replaced)" : "");
}

/* Blob dev of dictionary dict must be in the blob directory, at its size. */
static int check_dict_blob_present(struct wbuild *b, struct wdevice *d)
{
	const struct es_seal_device *sd = &b->dicts[d->dict].seal->devices[d->dict_dev];
	struct es_io_dev info = { 0 };
	struct es_err stat_err = { 0 };
	char hex[65];
	int ret;

	es_hex(d->digest, 32, hex);
	ret = es_io_stat(&b->dicts[d->dict].io, d->dict_dev, (const uint8_t *)hex, &info,
			 &stat_err);
	if (ret)
		return es_fail(b->err, ret, "blob %s is %s the blob directory %s (a "
			       "dictionary's blobs must be there): %s", hex,
			       ret == -ENOENT || ret == -ENODEV ? "missing from" : "unreadable in",
			       ES_PATH(b->opts->blob_dir), stat_err.msg);
	if (info.size != sd->size)
		return es_fail(b->err, -EBADMSG, "blob %s in %s holds %llu bytes, the "
			       "dictionary's manifest says %llu (truncated or replaced?)",
			       hex, ES_PATH(b->opts->blob_dir), (unsigned long long)info.size,
			       (unsigned long long)sd->size);
	return 0;
}

static int find_or_add_dict_blob(struct wbuild *b, unsigned int dict, unsigned int dev,
				 unsigned int *prov)
{
	const struct es_seal_device *sd = &b->dicts[dict].seal->devices[dev];
	struct wdevice *grown, *d;

	for (unsigned int k = 0; k < b->ndict_blobs; k++) {
		if (!memcmp(b->dict_blobs[k].digest, sd->digest, 32)) {
			if (b->dict_blobs[k].size != sd->size)
				return es_fail(b->err, -ES_ECORRUPT, "blob %u has the digest of "
					       "a blob of another dictionary but not its size",
					       dev);
			*prov = WDEV_DICT_BASE + k;
			return 0;
		}
	}
	if (WDEV_DICT_BASE + b->ndict_blobs > UINT16_MAX)
		return es_fail(b->err, -E2BIG, "too many dictionary blobs");
	grown = realloc(b->dict_blobs, (b->ndict_blobs + 1) * sizeof(*grown));
	if (!grown)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->dict_blobs = grown;
	d = &b->dict_blobs[b->ndict_blobs];
	memset(d, 0, sizeof(*d));
	memcpy(d->digest, sd->digest, 32);
	d->size = sd->size;
	d->dict = dict;
	d->dict_dev = dev;
	*prov = WDEV_DICT_BASE + b->ndict_blobs++;
	return check_dict_blob_present(b, d);
}

/* The seal of a dictionary, checked as erofs-verify checks an image. */
static int open_dict(struct wbuild *b, struct wdict *dict)
{
	struct es_image *img = NULL;
	struct es_io_dev info = { 0 };
	int ret = es_io_file_open(&dict->io, dict->path, b->opts->blob_dir, b->err);

	if (ret)
		return ret;
	ret = es_io_stat(&dict->io, 0, NULL, &info, b->err);
	if (!ret && info.container)
		ret = es_fail(b->err, -EINVAL, "not a regular file");
	if (!ret)
		ret = es_seal_open(&dict->io, &dict->seal, b->err);
	if (ret == -ENODATA)
		ret = es_fail(b->err, -EINVAL, "it carries no seal (a chunk dictionary is a "
			      "sealed image)");
	/* signatures over the raw manifest, before a byte of it is believed */
	if (!ret && b->opts->dict_trust) {
		ret = es_seal_check_signatures(dict->seal, b->opts->dict_trust, NULL, b->err);
		if (ret)
			es_err_prefix(b->err, "not trusted by the dictionary trust anchors: ");
	}
	if (!ret)
		ret = es_seal_parse(&dict->io, dict->seal, b->err);
	if (!ret)
		ret = es_seal_verify_device(&dict->io, dict->seal, 0, build_threads(b), b->err);
	/* the EROFS structures of the very bytes just checked: same source */
	if (!ret)
		ret = es_image_open_io(&img, &dict->io, b->err);
	if (!ret)
		ret = es_seal_check_image(img, dict->seal, b->err);
	es_image_close(img);
	if (!ret)
		ret = es_vread_new(&dict->vread, &dict->io, dict->seal, b->err);
	if (!ret)
		es_vread_io(dict->vread, &dict->vio);
	return ret;
}

static void close_dict(struct wdict *dict)
{
	es_vread_free(dict->vread);
	es_seal_free(dict->seal);
	es_io_close(&dict->io);
	memset(dict, 0, sizeof(*dict));
}

static int load_dict(struct wbuild *b, const char *path)
{
	struct wdict *grown = realloc(b->dicts, (b->ndicts + 1) * sizeof(*grown));
	unsigned int *prov = NULL, k = b->ndicts;
	struct es_seal *s;
	int ret;

	if (!grown)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->dicts = grown;
	memset(&b->dicts[k], 0, sizeof(b->dicts[k]));
	b->dicts[k].path = path;
	b->ndicts++;
	ret = open_dict(b, &b->dicts[k]);
	s = b->dicts[k].seal;
	if (!ret)
		ret = wb_crypt_check_dict(b, s);
	if (!ret) {
		prov = calloc(s->ndevices, sizeof(*prov));
		if (!prov)
			ret = es_fail(b->err, -ENOMEM, "out of memory");
	}
	for (unsigned int d = 1; !ret && d < s->ndevices; d++)
		ret = find_or_add_dict_blob(b, k, d, &prov[d]);
	/*
	 * A daily build is about the size of its dictionary: room for both
	 * now, so the map is sized once rather than doubled (and moved) while
	 * the dictionary and then the new chunks go in.
	 */
	if (!ret && wb_dedup_reserve(b->dedup, wb_dedup_count(b->dedup) + 2 * s->nchunks))
		ret = es_fail(b->err, -ENOMEM, "out of memory");
	for (uint64_t c = 0; !ret && c < s->nchunks; c++) {
		const struct es_chunk_rec *r = &s->chunks[c];
		uint16_t dev;
		uint32_t blk = r->blkaddr;
		bool found;

		if (c % 65536 == 0)
			ret = wb_poll_cancel(b);
		/* chunks inside a dictionary's own image file cannot be shared */
		if (ret || r->device == 0)
			continue;
		dev = (uint16_t)prov[r->device];
		ret = wb_dedup_insert(b->dedup, r->digest, r->nblocks, r->length, &dev,
				      &blk, false, &found, NULL);
		if (ret)
			ret = es_fail(b->err, ret, "out of memory");
	}
	free(prov);
	/* the dedup map has the index now; the rest of the seal stays for
	   reading the blobs */
	if (s) {
		free(s->chunks);
		s->chunks = NULL;
		s->nchunks = 0;
	}
	return ret;
}

int wb_dicts_load(struct wbuild *b)
{
	const struct es_build_opts *o = b->opts;

	for (unsigned int i = 0; i < o->nchunk_dicts; i++) {
		int ret = load_dict(b, o->chunk_dicts[i]);

		if (ret) {
			if (ret != -ECANCELED)
				es_err_prefix(b->err, "chunk dictionary %s: ",
					      ES_PATH(o->chunk_dicts[i]));
			return ret;
		}
	}
	return 0;
}

/*
 * The first use of a dictionary blob: its stored tree, checked whole
 * against the digest the dictionary's manifest gives (a 128th of the blob
 * to hash, not the blob), becomes the new image's tree of it, and from now
 * on every block read from it is checked against that tree.  Only what the
 * new image references is read, so only that is hashed.
 */
static int dict_blob_ready(struct wbuild *b, struct wdevice *d)
{
	struct wdict *dict = &b->dicts[d->dict];
	struct es_err add_err = { 0 };
	const uint8_t *tree;
	size_t len;
	int ret;

	if (d->ready)
		return 0;
	ret = wb_poll_cancel(b);
	if (ret)
		return ret;
	ret = es_vread_add(dict->vread, d->dict_dev, &add_err);
	if (ret)
		return dict_blob_fail(b, d, ret, &add_err, false);
	tree = es_vread_tree(dict->vread, d->dict_dev, &len);
	free(d->tree);
	d->tree = NULL;
	if (len && !(d->tree = malloc(len)))
		return es_fail(b->err, -ENOMEM, "out of memory");
	if (len)
		memcpy(d->tree, tree, len);
	d->tree_len = len;
	d->ready = true;
	return 0;
}

static struct wdevice *dict_blob(struct wbuild *b, uint16_t device, const char *what)
{
	if (device < WDEV_DICT_BASE ||
	    (unsigned int)(device - WDEV_DICT_BASE) >= b->ndict_blobs) {
		es_fail(b->err, -EINVAL, "%s: internal error: chunk of device %u is not from "
			"a dictionary", ES_PATH(what), device);
		return NULL;
	}
	return &b->dict_blobs[device - WDEV_DICT_BASE];
}

/* The dictionary blob of a chunk, ready, the chunk inside it. */
static int dict_chunk_blob(struct wbuild *b, uint16_t device, uint32_t blkaddr,
			   uint32_t nblocks, uint32_t len, const uint8_t digest[32],
			   const char *what, struct wdevice **out)
{
	struct wdevice *d = dict_blob(b, device, what);
	char hex[65], chunk_hex[65];
	int ret;

	if (!d)
		return -EINVAL;
	ret = dict_blob_ready(b, d);
	if (ret)
		return ret;
	es_hex(d->digest, 32, hex);
	es_hex(digest, 32, chunk_hex);
	if (len > (uint64_t)nblocks << b->blkszbits ||
	    ((uint64_t)blkaddr << b->blkszbits) + len > d->size)
		return es_fail(b->err, -ES_ECORRUPT, "chunk dictionary %s: chunk %.16s... "
			       "lies outside blob %s", ES_PATH(dict_path(b, d)), chunk_hex, hex);
	*out = d;
	return 0;
}

/* Bytes of ready blob d, through the dictionary's checking source. */
static int dict_read(struct wbuild *b, const struct wdevice *d, void *buf, size_t len,
		     uint64_t off)
{
	struct es_err read_err = { 0 };
	int ret = es_io_read(&b->dicts[d->dict].vio, d->dict_dev, off, buf, len, &read_err);

	return ret ? dict_blob_fail(b, d, ret, &read_err, true) : 0;
}

int wb_dict_read(struct wbuild *b, uint16_t device, uint32_t blkaddr, void *buf, size_t len)
{
	struct wdevice *d = dict_blob(b, device, "repacking");
	uint64_t off = (uint64_t)blkaddr << b->blkszbits;
	int ret;

	if (!d)
		return -EINVAL;
	/* the checking source refuses a read past the blob's manifest size */
	ret = dict_blob_ready(b, d);
	return ret ? ret : dict_read(b, d, buf, len, off);
}

static int dict_chunk_mismatch(struct wbuild *b, const struct wdevice *d,
			       uint32_t blkaddr, uint32_t nblocks, const uint8_t digest[32],
			       const char *what)
{
	char hex[65], chunk_hex[65];

	es_hex(d->digest, 32, hex);
	es_hex(digest, 32, chunk_hex);
	return es_fail(b->err, -EBADMSG, "%s: chunk dictionary %s lists chunk %.16s... "
		       "at blocks %u..%llu of blob %s, but those bytes differ "
		       "(the dictionary's chunk index was tampered with or damaged)",
		       ES_PATH(what), ES_PATH(dict_path(b, d)), chunk_hex, blkaddr,
		       (unsigned long long)blkaddr + nblocks - 1, hex);
}

int wb_dict_bytes_match(const struct es_io *io, unsigned int dev, uint64_t off,
			const uint8_t *ct, size_t len, uint8_t *scratch, struct es_err *err)
{
	int ret = es_io_read(io, dev, off, scratch, len, err);

	if (ret)
		return ret;
	return memcmp(scratch, ct, len) ? 1 : 0;
}

/*
 * Encrypted builds: the dictionary's stored bytes must be the ciphertext
 * this build makes of the source's chunk (ct, nblocks whole blocks).
 */
int wb_dict_chunk_compare(struct wbuild *b, uint16_t device, uint32_t blkaddr,
			  uint32_t nblocks, const uint8_t *ct, const uint8_t id[32],
			  const char *what)
{
	size_t len = (size_t)nblocks << b->blkszbits;
	struct es_err read_err = { 0 };
	struct wdevice *d;
	uint8_t *stored;
	int ret = dict_chunk_blob(b, device, blkaddr, nblocks, (uint32_t)len, id, what, &d);

	if (ret)
		return ret;
	stored = malloc(len);
	if (!stored)
		return es_fail(b->err, -ENOMEM, "out of memory");
	ret = wb_dict_bytes_match(&b->dicts[d->dict].vio, d->dict_dev,
				  (uint64_t)blkaddr << b->blkszbits, ct, len, stored, &read_err);
	if (ret == 1)
		ret = dict_chunk_mismatch(b, d, blkaddr, nblocks, id, what);
	else if (ret)
		ret = dict_blob_fail(b, d, ret, &read_err, true);
	free(stored);
	return ret;
}

int wb_dict_chunk_locate(struct wbuild *b, uint16_t device, uint32_t blkaddr,
			 uint32_t nblocks, const uint8_t id[32], const char *what,
			 const struct es_io **io, unsigned int *dev, uint64_t *off)
{
	struct wdevice *d;
	int ret = dict_chunk_blob(b, device, blkaddr, nblocks,
				  (uint32_t)nblocks << b->blkszbits, id, what, &d);

	if (ret)
		return ret;
	*io = &b->dicts[d->dict].vio;
	*dev = d->dict_dev;
	*off = (uint64_t)blkaddr << b->blkszbits;
	return 0;
}

int wb_dict_chunk_verify(struct wbuild *b, uint16_t device, uint32_t blkaddr,
			 uint32_t nblocks, uint32_t len, const uint8_t digest[32],
			 const char *what)
{
	struct es_sha256_ctx sha;
	struct wdevice *d;
	uint8_t sum[32];
	int ret = dict_chunk_blob(b, device, blkaddr, nblocks, len, digest, what, &d);

	if (ret)
		return ret;
	ret = es_sha256_init(&sha);
	if (ret)
		return es_fail(b->err, ret, "SHA-256 unavailable");
	for (uint32_t done = 0; done < len;) {
		size_t piece = len - done < WBUILD_IOBUF_SIZE ? len - done
							     : WBUILD_IOBUF_SIZE;

		ret = dict_read(b, d, b->iobuf, piece,
				((uint64_t)blkaddr << b->blkszbits) + done);
		if (ret) {
			es_sha256_release(&sha);
			return ret;
		}
		es_sha256_update(&sha, b->iobuf, piece);
		done += (uint32_t)piece;
	}
	ret = es_sha256_final(&sha, sum);
	if (ret)
		return es_fail(b->err, ret, "SHA-256 failed");
	if (memcmp(sum, digest, 32))
		return dict_chunk_mismatch(b, d, blkaddr, nblocks, digest, what);
	/* the index of the new image records what was verified */
	wb_dedup_set_length(b->dedup, digest, nblocks, len);
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

int wb_devices_finalize(struct wbuild *b)
{
	const bool keep_new = b->blob_fd >= 0 && (b->blob_next || !b->opts->blob_dir);
	unsigned int nprov = WDEV_DICT_BASE + b->ndict_blobs, next = 1;
	struct remap_ctx rc = { .b = b, .nprov = nprov };
	uint16_t *remap;
	bool identity = true;
	int ret;

	wb_dedup_foreach(b->dedup, mark_referenced, b);
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
	/* provisional ids are 16-bit, so this holds; the manifest's bound */
	if (b->ndevices > ES_MANIFEST_MAX_DEVICES) {
		free(remap);
		return es_fail(b->err, -E2BIG, "the image would need %u blobs; at most %u "
			       "fit in its device table", b->ndevices - 1,
			       ES_MANIFEST_MAX_DEVICES - 1);
	}
	for (unsigned int p = 1; p < nprov; p++)
		if (remap[p] && remap[p] != p)
			identity = false;
	rc.remap = remap;
	ret = 0;
	if (!identity) {
		wb_dedup_foreach(b->dedup, remap_entry, &rc);
		for (struct wnode *n = b->all; n; n = n->next_all) {
			if (n->layout == EROFS_LAYOUT_COMPRESSED_FULL)
				wb_zmap_remap_devices(n, remap, nprov);
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

int wb_devices_map(struct wbuild *b, uint64_t total_blocks)
{
	uint64_t at = total_blocks;

	for (unsigned int i = 1; i < b->ndevices; i++) {
		b->devices[i].mapped_blkaddr = at;
		at += (b->devices[i].size + b->blksz - 1) >> b->blkszbits;
	}
	/* compressed files address pclusters on blobs through it */
	if (b->uses_compression && b->ndevices > 1 && at > UINT32_MAX)
		return es_fail(b->err, -EFBIG, "the image and its blobs take %llu blocks: "
			       "compressed files address blob data in a unified address "
			       "space of at most 2^32 blocks",
			       (unsigned long long)at);
	return 0;
}

/* The fs-verity digest and tree of d from its data blocks' digests. */
static int tree_from_leaves(const uint8_t *leaves, struct wdevice *d)
{
	struct es_verity_builder vb;
	int ret = es_verity_builder_init(&vb, d->size);

	for (uint64_t off = 0; !ret && off < d->size; off += ES_VERITY_BLOCK_SIZE) {
		ret = es_verity_builder_add_block_digest(&vb, leaves);
		leaves += ES_VERITY_HASH_SIZE;
	}
	if (!ret)
		ret = es_verity_builder_final(&vb, NULL, d->digest);
	if (!ret)
		d->tree = es_verity_builder_take_tree(&vb, &d->tree_len);
	es_verity_builder_free(&vb);
	return ret;
}

int wb_blob_finalize(struct wbuild *b, const char *blob_path)
{
	struct wdevice *d = &b->devices[1];
	unsigned int threads = b->opts->nthreads ? b->opts->nthreads : 1;
	const uint8_t *leaves = wb_pipe_blob_leaves(b);
	int ret;

	d->size = b->blob_next << b->blkszbits;
	if (ftruncate(b->blob_fd, (off_t)d->size) < 0)
		return es_fail(b->err, -errno, "sizing the blob: %s", strerror(errno));
	/* its blocks' digests were made as they were written: no reading back */
	if (leaves)
		ret = tree_from_leaves(leaves, d);
	else
		ret = es_verity_digest_fd_stoppable(b->blob_fd, d->size, threads,
						    b->opts->cancel, d->digest, &d->tree,
						    &d->tree_len);
	if (ret == -ECANCELED)
		return wb_poll_cancel(b);
	if (ret)
		return es_fail(b->err, ret, "hashing the blob: %s", strerror(-ret));
	es_hex(d->digest, 32, b->stats->blob_name);
	(void)blob_path;
	return 0;
}

/*
 * The .sig that `fsverity sign` would write for the new blob, written to a
 * temporary file that the caller commits with the blob (or removes).
 */
int wb_blob_finalize_sig(struct wbuild *b, const char *blob_path, struct es_outfile *sigf)
{
	const struct wdevice *d = &b->devices[1];
	const struct es_signer *signer = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	char *path;
	int ret;

	for (unsigned int i = 0; i < b->opts->nsigners && !signer; i++)
		if (es_signer_type(b->opts->signers[i]) == ES_SIG_CMS)
			signer = b->opts->signers[i];
	if (!signer)
		return es_fail(b->err, -EINVAL, "fs-verity signatures of blobs need an RSA "
			       "or ECDSA signing key with a certificate");
	ret = es_fsverity_sign(signer, d->digest, &sig, &sig_len, b->err);
	if (ret)
		return ret;
	path = malloc(strlen(blob_path) + 5);
	if (!path) {
		free(sig);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	sprintf(path, "%s.sig", blob_path);
	ret = es_outfile_create(sigf, path, b->err);
	if (!ret) {
		ret = es_pwrite_full(sigf->fd, sig, sig_len, 0);
		if (ret) {
			es_fail(b->err, ret, "writing %s: %s", ES_PATH(path), strerror(-ret));
			es_outfile_abort(sigf);
		}
	}
	free(path);
	free(sig);
	return ret;
}

struct index_ctx {
	struct es_chunk_rec *recs;
	const uint8_t **secrets;	/* encrypted builds: record i's secret */
	uint64_t n;
};

/* A record's place in the index: by device, then block address. */
struct rec_key {
	uint64_t key;			/* device << 32 | blkaddr */
	uint64_t index;			/* in the unsorted records */
};

/*
 * The records in index order (ic->recs replaced).  A stable radix sort on
 * 16-bit digits of the key: three passes over the keys at most, where
 * qsort() made ~16 calls of a comparison per record (42k records: ~7 ms on
 * the building thread after everything else).  Records of equal keys keep
 * their order, as with the merge sort before.
 */
static int sort_recs(struct index_ctx *ic)
{
	const uint64_t n = ic->n;
	const size_t ndigits = 1u << 16;
	struct rec_key *k, *tmp;
	struct es_chunk_rec *sorted = NULL;
	uint64_t *count;
	uint64_t all_or = 0, all_and = UINT64_MAX;
	void *work = NULL;
	int ret = 0;

	if (n < 2)
		return 0;
	/* one block for the keys, their copy and the counts: written once,
	   in huge pages (es_alloc_big) rather than a fault per page */
	if (n > (SIZE_MAX - ndigits * sizeof(*count)) / (2 * sizeof(*k)))
		return -ENOMEM;
	work = es_alloc_big((size_t)n * 2 * sizeof(*k) + ndigits * sizeof(*count));
	sorted = es_alloc_big((size_t)n * sizeof(*sorted));
	if (!work || !sorted) {
		ret = -ENOMEM;
		goto out;
	}
	count = work;
	k = (struct rec_key *)(count + ndigits);
	tmp = k + n;
	for (uint64_t i = 0; i < n; i++) {
		k[i].key = (uint64_t)ic->recs[i].device << 32 | ic->recs[i].blkaddr;
		k[i].index = i;
		all_or |= k[i].key;
		all_and &= k[i].key;
	}
	for (unsigned int shift = 0; shift < 48; shift += 16) {
		uint64_t sum = 0;
		struct rec_key *swap;

		if (!(((all_or ^ all_and) >> shift) & 0xffff))
			continue;	/* the same digit in every key */
		memset(count, 0, ndigits * sizeof(*count));
		for (uint64_t i = 0; i < n; i++)
			count[(k[i].key >> shift) & 0xffff]++;
		for (size_t d = 0; d < ndigits; d++) {
			uint64_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (uint64_t i = 0; i < n; i++)
			tmp[count[(k[i].key >> shift) & 0xffff]++] = k[i];
		swap = k;
		k = tmp;
		tmp = swap;
	}
	for (uint64_t i = 0; i < n; i++)
		sorted[i] = ic->recs[k[i].index];
	free(ic->recs);
	ic->recs = sorted;
	sorted = NULL;
	if (ic->secrets) {
		/* tmp's keys are spent: their room holds the permuted pointers */
		const uint8_t **moved = (const uint8_t **)(void *)tmp;

		for (uint64_t i = 0; i < n; i++)
			moved[i] = ic->secrets[k[i].index];
		memcpy(ic->secrets, moved, (size_t)n * sizeof(*moved));
	}
out:
	free(work);
	free(sorted);
	return ret;
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

int wb_seal_image(struct wbuild *b, uint64_t fs_blocks, const uint8_t uuid[16])
{
	unsigned int threads = b->opts->nthreads ? b->opts->nthreads : 1;
	struct wdevice *d0 = &b->devices[0];
	struct es_seal_input in;
	struct es_seal_device *devs;
	const uint8_t **trees;
	size_t *tree_lens;
	struct index_ctx ic = { 0 };
	uint8_t *key_area = NULL;
	size_t cap;
	int ret;

	memset(&in, 0, sizeof(in));
	d0->size = fs_blocks << b->blkszbits;
	ret = es_verity_digest_fd_stoppable(b->image_fd, d0->size, threads,
					    b->opts->cancel, d0->digest, &d0->tree,
					    &d0->tree_len);
	if (ret == -ECANCELED)
		return wb_poll_cancel(b);
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
	/* room for every entry of the map: what it references is fewer */
	cap = wb_dedup_count(b->dedup);
	ic.recs = cap ? es_alloc_big(cap * sizeof(*ic.recs)) : NULL;
	if (cap && b->crypt)
		ic.secrets = es_alloc_big(cap * sizeof(*ic.secrets));
	if (cap && (!ic.recs || (b->crypt && !ic.secrets))) {
		ret = es_fail(b->err, -ENOMEM, "out of memory");
		goto out;
	}
	ic.n = wb_dedup_collect(b->dedup, ic.recs, ic.secrets, cap);
	ret = sort_recs(&ic);
	if (ret) {
		ret = es_fail(b->err, ret, "out of memory");
		goto out;
	}
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
	if (b->crypt) {
		ret = wb_crypt_seal(b, uuid, ic.recs, ic.secrets, ic.n, &in, &key_area);
		if (ret)
			goto out;
	}
	ret = es_seal_write(b->image_fd, &in, b->err);
out:
	if (key_area) {
		es_crypto_wipe(key_area, in.key_area_len);
		free(key_area);
	}
	free(ic.recs);
	free(ic.secrets);
	free(devs);
	free(trees);
	free(tree_lens);
	return ret;
}

void wb_devices_free(struct wbuild *b)
{
	for (unsigned int i = 0; i < b->ndevices && b->devices; i++)
		free(b->devices[i].tree);
	free(b->devices);
	for (unsigned int k = 0; k < b->ndict_blobs; k++)
		free(b->dict_blobs[k].tree);
	free(b->dict_blobs);
	for (unsigned int k = 0; k < b->ndicts; k++)
		close_dict(&b->dicts[k]);
	free(b->dicts);
	b->devices = NULL;
	b->dict_blobs = NULL;
	b->dicts = NULL;
}
