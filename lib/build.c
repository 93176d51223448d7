// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * es_build: source tree -> image.  Layout of what we write:
 *   block 0            superblock (and the device table right after it)
 *   blocks 1..         file data, in depth-first scan order
 *   meta_blkaddr..     shared xattrs, then inodes with their xattrs,
 *                      chunk tables and inline tails (breadth-first)
 *   then               directory blocks that are not inline
 * With --blobdev, chunk data goes to device 1 instead of blocks 1.. .
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "erofs/build.h"
#include "erofs/format.h"
#include "erofs/seal.h"
#include "erofs/super.h"
#include "io.h"
#include "wtree.h"

#define DEVT_SLOT_BYTE_OFFSET 1152	/* right after the 128-byte superblock */

void es_build_opts_init(struct es_build_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->blkszbits = 12;
	o->force_uid = -1;
	o->force_gid = -1;
	o->xattr_share_threshold = 2;
}

static int check_opts(const struct es_build_opts *o, struct es_err *err)
{
	if (!o->image_path || !o->source_dir)
		return es_fail(err, -EINVAL, "an image path and a source directory are needed");
	if (o->blkszbits != 12)
		return es_fail(err, -EINVAL, "block size %u is not supported: only 4096",
			       1u << (o->blkszbits & 31));
	if (o->chunksize) {
		if (o->chunksize & (o->chunksize - 1) || o->chunksize < 4096 ||
		    o->chunksize > (4096ull << 31))
			return es_fail(err, -EINVAL, "chunk size %llu must be a power of "
				       "two between 4096 and 8 TiB",
				       (unsigned long long)o->chunksize);
	}
	if (o->blobdev_path && !o->chunksize)
		return es_fail(err, -EINVAL, "--blobdev needs --chunksize");
	if (o->blobdev_path && o->blob_dir)
		return es_fail(err, -EINVAL, "--blobdev and --blob-dir exclude each other");
	if (o->nchunk_dicts && !o->blob_dir)
		return es_fail(err, -EINVAL, "--chunk-dict needs --blob-dir: shared chunks "
			       "live in blobs");
	if (o->fsverity_sigs && (!o->blob_dir || !o->nsigners))
		return es_fail(err, -EINVAL, "--fsverity-sigs needs --blob-dir and --sign-key");
	if (o->volume_label && strlen(o->volume_label) > 15)
		return es_fail(err, -EINVAL, "volume label longer than 15 bytes");
	return 0;
}

static void free_node(struct wnode *n)
{
	for (unsigned int i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].suffix);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	for (size_t i = 0; i < n->nchildren; i++)
		free(n->children[i].name);
	free(n->children);
	free(n->tail);
	free(n->chunk_table);
	free(n);
}

void es_wnode_free_all(struct wbuild *b)
{
	struct wnode *n = b->all;

	while (n) {
		struct wnode *next = n->next_all;

		free_node(n);
		n = next;
	}
	b->all = NULL;
}

static int write_superblock(struct wbuild *b, uint64_t meta_blkaddr, uint64_t total)
{
	const struct es_build_opts *o = b->opts;
	uint8_t *block0 = calloc(1, b->blksz);
	struct es_super sb;
	int ret;

	if (!block0)
		return es_fail(b->err, -ENOMEM, "out of memory");
	memset(&sb, 0, sizeof(sb));
	sb.feature_compat = EROFS_COMPAT_SB_CHKSUM | EROFS_COMPAT_MTIME;
	if (b->uses_chunks)
		sb.feature_incompat |= EROFS_INCOMPAT_CHUNKED_FILE;
	sb.blkszbits = b->blkszbits;
	sb.root_nid = b->root->nid;
	sb.inos = b->nnodes;
	sb.epoch = b->epoch;
	sb.blocks = (uint32_t)total;
	sb.meta_blkaddr = (uint32_t)meta_blkaddr;
	sb.xattr_blkaddr = (uint32_t)meta_blkaddr;
	memcpy(sb.uuid, o->uuid, 16);
	if (!o->have_uuid && getrandom(sb.uuid, 16, 0) != 16) {
		free(block0);
		return es_fail(b->err, -EIO, "cannot get random bytes for the UUID");
	}
	if (!o->have_uuid) {
		sb.uuid[6] = (sb.uuid[6] & 0x0f) | 0x40;	/* version 4 */
		sb.uuid[8] = (sb.uuid[8] & 0x3f) | 0x80;
	}
	if (o->volume_label)
		memcpy(sb.volume_name, o->volume_label, strlen(o->volume_label));
	if (b->ndevices > 1) {
		uint64_t uniaddr = total;

		sb.feature_incompat |= EROFS_INCOMPAT_DEVICE_TABLE;
		sb.extra_devices = (uint16_t)(b->ndevices - 1);
		sb.devt_slotoff = DEVT_SLOT_BYTE_OFFSET / EROFS_DEVT_SLOT_SIZE;
		for (unsigned int i = 1; i < b->ndevices; i++) {
			uint8_t *slot = block0 + DEVT_SLOT_BYTE_OFFSET +
					(i - 1) * EROFS_DEVT_SLOT_SIZE;
			uint64_t blocks = (b->devices[i].size + b->blksz - 1) >> b->blkszbits;
			char hex[65];

			/* the blob's fs-verity digest names it: BLOBDIR/<tag> */
			es_hex(b->devices[i].digest, 32, hex);
			memcpy(slot + DEVT_TAG, hex, 64);
			es_put32(slot + DEVT_BLOCKS, (uint32_t)blocks);
			/* so a flat mount of image+blobs concatenated also works */
			es_put32(slot + DEVT_UNIADDR, (uint32_t)uniaddr);
			uniaddr += blocks;
		}
	}
	memcpy(b->uuid, sb.uuid, 16);
	es_super_encode(&sb, block0);
	ret = es_pwrite_full(b->image_fd, block0, b->blksz, 0);
	free(block0);
	if (ret)
		return es_fail(b->err, ret, "writing the superblock: %s", strerror(-ret));
	return 0;
}

static int compile_regexes(struct wbuild *b)
{
	const struct es_build_opts *o = b->opts;
	regex_t *res;

	if (!o->nexclude_regexes)
		return 0;
	res = calloc(o->nexclude_regexes, sizeof(*res));
	if (!res)
		return es_fail(b->err, -ENOMEM, "out of memory");
	b->regexes = res;
	for (unsigned int i = 0; i < o->nexclude_regexes; i++) {
		int rc = regcomp(&res[i], o->exclude_regexes[i], REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[200];

			regerror(rc, &res[i], msg, sizeof(msg));
			for (unsigned int j = 0; j < i; j++)
				regfree(&res[j]);
			free(res);
			b->regexes = NULL;
			return es_fail(b->err, -EINVAL, "bad --exclude-regex '%s': %s",
				       o->exclude_regexes[i], msg);
		}
	}
	return 0;
}

int es_build(const struct es_build_opts *o, struct es_build_stats *stats,
	     struct es_err *err)
{
	struct es_outfile image = { .fd = -1 }, blob = { .fd = -1 };
	struct es_build_stats local_stats;
	uint64_t meta_blkaddr, meta_len, total;
	struct wbuild b;
	int ret;

	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	ret = check_opts(o, err);
	if (ret)
		return ret;
	memset(&b, 0, sizeof(b));
	b.opts = o;
	b.stats = stats;
	b.err = err;
	b.blkszbits = o->blkszbits;
	b.blksz = 1u << o->blkszbits;
	b.blob_fd = -1;
	b.chunksize = o->chunksize ? o->chunksize : (o->blob_dir ? 4096 : 0);
	b.epoch = o->have_timestamp ? o->timestamp : (int64_t)time(NULL);
	b.clamp_mtime = o->have_timestamp && o->timestamp_sb_only && o->clamp_mtimes;
	ret = compile_regexes(&b);
	if (ret)
		return ret;
	b.dedup = es_dedup_new();
	b.iobuf = malloc((1u << 20) + b.blksz);
	if (!b.dedup || !b.iobuf) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	ret = es_outfile_create(&image, o->image_path, err);
	if (ret)
		goto out;
	b.image_fd = image.fd;
	if (o->blobdev_path || o->blob_dir) {
		char *placeholder = NULL;

		if (o->blob_dir) {
			placeholder = malloc(strlen(o->blob_dir) + 16);
			if (!placeholder) {
				ret = es_fail(err, -ENOMEM, "out of memory");
				goto out;
			}
			sprintf(placeholder, "%s/.new-blob", o->blob_dir);
		}
		ret = es_outfile_create(&blob, placeholder ? placeholder : o->blobdev_path, err);
		free(placeholder);
		if (ret)
			goto out;
		b.blob_fd = blob.fd;
	}
	b.data_next = 1;
	if (o->nchunk_dicts)
		ret = es_dicts_load(&b);
	if (!ret)
		ret = es_scan_tree(&b);
	if (!ret)
		ret = es_devices_finalize(&b);
	if (!ret && b.new_blob) {
		if (o->blob_dir) {
			char *final = malloc(strlen(o->blob_dir) + 66);

			if (!final) {
				ret = es_fail(err, -ENOMEM, "out of memory");
				goto out;
			}
			free(blob.path);
			blob.path = final;
			ret = es_blob_finalize(&b, "");
			sprintf(final, "%s/%s", o->blob_dir, stats->blob_name);
			if (!ret && o->fsverity_sigs)
				ret = es_blob_finalize_sig(&b, final);
		} else {
			ret = es_blob_finalize(&b, o->blobdev_path);
		}
	}
	if (!ret)
		ret = es_xattrs_share(&b);
	if (!ret)
		ret = es_plan_layout(&b, &meta_blkaddr, &meta_len, &total);
	if (!ret)
		ret = es_write_metadata(&b, meta_blkaddr, meta_len);
	if (!ret)
		ret = write_superblock(&b, meta_blkaddr, total);
	if (ret)
		goto out;
	if (ftruncate(image.fd, (off_t)(total << b.blkszbits)) < 0) {
		ret = es_fail(err, -errno, "cannot size the output: %s", strerror(errno));
		goto out;
	}
	if (o->seal || o->blob_dir || o->nsigners) {
		ret = es_seal_image(&b, total, b.uuid);
		if (ret)
			goto out;
	}
	stats->inodes = b.nnodes;
	stats->image_blocks = total;
	stats->blob_blocks = b.blob_next;
	stats->devices = b.ndevices;
	{
		off_t end = lseek(image.fd, 0, SEEK_END);

		stats->image_bytes = end > 0 ? (uint64_t)end : 0;
	}
	if (b.new_blob) {
		ret = es_outfile_commit(&blob, err);
		if (ret)
			goto out;
	} else if (blob.tmp_path) {
		es_outfile_abort(&blob);	/* every chunk was already stored elsewhere */
	}
	ret = es_outfile_commit(&image, err);
out:
	if (ret) {
		if (image.tmp_path)
			es_outfile_abort(&image);
		if (blob.tmp_path)
			es_outfile_abort(&blob);
	}
	if (b.regexes) {
		for (unsigned int i = 0; i < o->nexclude_regexes; i++)
			regfree(&((regex_t *)b.regexes)[i]);
		free(b.regexes);
	}
	es_wnode_free_all(&b);
	es_dedup_free(b.dedup);
	free(b.iobuf);
	free(b.order);
	free(b.shared_area);
	es_devices_free(&b);
	return ret;
}
