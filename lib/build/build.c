// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * es_build: source tree -> image.  Layout of what we write:
 *   block 0            superblock (and the device table right after it,
 *                      when it fits there)
 *   blocks 1..         file data, in depth-first scan order
 *   then               a device table of more than 23 blobs
 *   meta_blkaddr..     shared xattrs, then inodes with their xattrs,
 *                      chunk tables and inline tails (breadth-first)
 *   then               directory blocks that are not inline
 * With a blob (--blobdev, --blob-dir), chunk data and pclusters go to
 * device 1 instead of blocks 1.. .
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "crypto/backend.h"
#include "erofs/build.h"
#include "erofs/format.h"
#include "erofs/seal.h"
#include "erofs/super.h"
#include "base/workpool.h"
#include "io.h"
#include "wtree.h"
#include "zenc.h"

void es_build_opts_init(struct es_build_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->blkszbits = 12;
	o->force_uid = -1;
	o->force_gid = -1;
	o->xattr_share_threshold = 2;
}

/* --- options ------------------------------------------------------- */

/*
 * A file named on the command line, for telling whether two names are the
 * same file.  An output is replaced by renaming onto its directory entry,
 * so the entry (the real path of its parent plus its last component) is
 * compared; what the name resolves to (st_dev/st_ino, or the device of a
 * block device node) is compared too, so that a symlink or a second node
 * for one device does not slip through.
 */
struct named_file {
	const char *what;		/* "the image", "the blob device", ... */
	unsigned int opt;		/* its ES_BUILD_OPT_* bit, 0 for the arguments */
	const char *path;
	bool output;
	bool have_stat;
	struct stat st;
	char *entry;			/* NULL when the parent does not resolve */
};

/* The real path of path's parent, '/', and its last component. */
static char *entry_path(const char *path)
{
	size_t len = strlen(path);
	const char *name, *slash;
	char *parent, *real, *out;

	while (len > 1 && path[len - 1] == '/')
		len--;
	parent = strndup(path, len);
	if (!parent)
		return NULL;
	slash = strrchr(parent, '/');
	name = slash ? slash + 1 : parent;
	if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(parent, "/")) {
		real = realpath(parent, NULL);
		free(parent);
		return real;
	}
	if (!slash)
		real = realpath(".", NULL);
	else if (slash == parent)
		real = realpath("/", NULL);
	else {
		parent[slash - parent] = '\0';
		real = realpath(parent, NULL);
	}
	out = real ? malloc(strlen(real) + strlen(name) + 2) : NULL;
	if (out)
		sprintf(out, "%s%s%s", real, strcmp(real, "/") ? "/" : "", name);
	free(real);
	free(parent);
	return out;
}

static void named_file_init(struct named_file *f, const char *what, unsigned int opt,
			    const char *path, bool output)
{
	f->what = what;
	f->opt = opt;
	f->path = path;
	f->output = output;
	f->have_stat = stat(path, &f->st) == 0;
	f->entry = entry_path(path);
}

static bool same_file(const struct named_file *a, const struct named_file *b)
{
	if (a->entry && b->entry && !strcmp(a->entry, b->entry))
		return true;
	if (!a->have_stat || !b->have_stat)
		return false;
	if (a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino)
		return true;
	return S_ISBLK(a->st.st_mode) && S_ISBLK(b->st.st_mode) &&
	       a->st.st_rdev == b->st.st_rdev;
}

/* 64 lowercase hex digits, optionally with ".sig": how blobs are named. */
static bool blob_like_name(const char *name)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return !name[64] || !strcmp(name + 64, ".sig");
}

/* An image written into the blob directory under a blob's name would be
 * taken for (or replace) a blob. */
static int check_image_in_blob_dir(const struct es_build_opts *o,
				   const struct named_file *image, unsigned int *culprits,
				   struct es_err *err)
{
	char *dir;
	size_t len;
	int ret = 0;

	if (!o->blob_dir || !image->entry)
		return 0;
	dir = realpath(o->blob_dir, NULL);
	if (!dir)
		return 0;
	len = strlen(dir);
	if (!strncmp(image->entry, dir, len) &&
	    image->entry[len] == '/' && blob_like_name(image->entry + len + 1)) {
		*culprits = ES_BUILD_OPT_BLOB_DIR;
		ret = es_fail(err, -EINVAL, "the image %s is inside the blob directory %s "
			      "under a blob's name: it would be taken for a blob",
			      ES_PATH(o->image_path), ES_PATH(o->blob_dir));
	}
	free(dir);
	return ret;
}

/* No output may be another output or an input. */
static int check_distinct_files(const struct es_build_opts *o, unsigned int *culprits,
				struct es_err *err)
{
	unsigned int n = 0, count = 4 + o->nchunk_dicts;
	struct named_file *f = calloc(count, sizeof(*f));
	int ret = 0;

	if (!f)
		return es_fail(err, -ENOMEM, "out of memory");
	named_file_init(&f[n++], "the image", 0, o->image_path, true);
	if (o->blobdev_path)
		named_file_init(&f[n++], "the blob device", ES_BUILD_OPT_BLOBDEV,
				o->blobdev_path, true);
	if (o->blob_dir)
		named_file_init(&f[n++], "the blob directory", ES_BUILD_OPT_BLOB_DIR,
				o->blob_dir, true);
	if (o->source_dir)
		named_file_init(&f[n++], "the source directory", 0, o->source_dir, false);
	else if (!o->tar_use_fd)
		named_file_init(&f[n++], "the tar archive", ES_BUILD_OPT_TAR, o->tar_path, false);
	for (unsigned int i = 0; i < o->nchunk_dicts; i++)
		named_file_init(&f[n++], "chunk dictionary", ES_BUILD_OPT_CHUNK_DICTS,
				o->chunk_dicts[i], false);
	for (unsigned int i = 0; i < n && !ret; i++) {
		if (!f[i].output)
			continue;
		for (unsigned int j = i + 1; j < n && !ret; j++) {
			if (!same_file(&f[i], &f[j]))
				continue;
			*culprits = f[i].opt | f[j].opt;
			if (f[j].output)
				ret = es_fail(err, -EINVAL, "%s %s and %s %s are the same file: "
					      "one output would overwrite the other", f[i].what,
					      ES_PATH(f[i].path), f[j].what, ES_PATH(f[j].path));
			else
				ret = es_fail(err, -EINVAL, "%s %s is the same file as %s %s: "
					      "the build would overwrite its own input",
					      f[i].what, ES_PATH(f[i].path), f[j].what,
					      ES_PATH(f[j].path));
		}
	}
	if (!ret)
		ret = check_image_in_blob_dir(o, &f[0], culprits, err);
	for (unsigned int i = 0; i < n; i++)
		free(f[i].entry);
	free(f);
	return ret;
}

/* Compile every exclude regular expression into res (NULL: only check them). */
static int compile_regexes(const struct es_build_opts *o, regex_t *res, struct es_err *err)
{
	for (unsigned int i = 0; i < o->nexclude_regexes; i++) {
		regex_t re, *target = res ? &res[i] : &re;
		int rc = regcomp(target, o->exclude_regexes[i], REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char msg[200];

			regerror(rc, target, msg, sizeof(msg));
			for (unsigned int j = 0; res && j < i; j++)
				regfree(&res[j]);
			return es_fail(err, -EINVAL, "bad exclude regular expression '%s': %s",
				       o->exclude_regexes[i], msg);
		}
		if (!res)
			regfree(&re);
	}
	return 0;
}

int es_build_opts_check(const struct es_build_opts *o, unsigned int *culprits,
			struct es_err *err)
{
	unsigned int ignored;

	if (!culprits)
		culprits = &ignored;
	*culprits = 0;
	if (!o->image_path || (!o->source_dir && !o->tar_path))
		return es_fail(err, -EINVAL, "an image path and a source directory or tar "
			       "archive are needed");
	if (o->source_dir && o->tar_path) {
		*culprits = ES_BUILD_OPT_TAR;
		return es_fail(err, -EINVAL, "the source is a directory or a tar archive, "
			       "not both");
	}
	if (o->blkszbits != 12) {
		*culprits = ES_BUILD_OPT_BLKSZBITS;
		return es_fail(err, -EINVAL, "block size %u is not supported: only 4096",
			       1u << (o->blkszbits & 31));
	}
	if (o->chunksize && (o->chunksize & (o->chunksize - 1) || o->chunksize < 4096 ||
			     o->chunksize > (4096ull << 31))) {
		*culprits = ES_BUILD_OPT_CHUNKSIZE;
		return es_fail(err, -EINVAL, "chunk size %llu must be a power of two "
			       "between 4096 and 8 TiB", (unsigned long long)o->chunksize);
	}
	if (o->blobdev_path && !o->chunksize) {
		*culprits = ES_BUILD_OPT_BLOBDEV | ES_BUILD_OPT_CHUNKSIZE;
		return es_fail(err, -EINVAL, "a blob device needs a chunk size: only "
			       "chunk-based files can have their data there");
	}
	if (o->blobdev_path && o->blob_dir) {
		*culprits = ES_BUILD_OPT_BLOBDEV | ES_BUILD_OPT_BLOB_DIR;
		return es_fail(err, -EINVAL, "a blob device and a blob directory exclude "
			       "each other");
	}
	if (o->nchunk_dicts && !o->blob_dir) {
		*culprits = ES_BUILD_OPT_CHUNK_DICTS | ES_BUILD_OPT_BLOB_DIR;
		return es_fail(err, -EINVAL, "chunk dictionaries need a blob directory: "
			       "shared chunks live in blobs");
	}
	if ((o->repack_below || o->repack_below_bp) && !o->nchunk_dicts) {
		*culprits = ES_BUILD_OPT_REPACK | ES_BUILD_OPT_CHUNK_DICTS;
		return es_fail(err, -EINVAL, "a repack policy needs a chunk dictionary: it "
			       "decides which dictionary blobs to copy from");
	}
	if ((o->repack_below && o->repack_below_bp) || o->repack_below_bp > 10000) {
		*culprits = ES_BUILD_OPT_REPACK;
		return es_fail(err, -EINVAL, "a repack threshold is a number of bytes or a "
			       "percentage of at most 100, not both");
	}
	if (o->dict_trust && !o->nchunk_dicts) {
		*culprits = ES_BUILD_OPT_DICT_TRUST | ES_BUILD_OPT_CHUNK_DICTS;
		return es_fail(err, -EINVAL, "trust anchors for chunk dictionaries need a "
			       "chunk dictionary");
	}
	if (o->fsverity_sigs && (!o->blob_dir || !o->nsigners)) {
		*culprits = ES_BUILD_OPT_FSVERITY_SIGS | ES_BUILD_OPT_BLOB_DIR |
			    ES_BUILD_OPT_SIGNERS;
		return es_fail(err, -EINVAL, "fs-verity signatures of blobs need a blob "
			       "directory and a signing key");
	}
	if (o->encrypt && !o->domain_key) {
		*culprits = ES_BUILD_OPT_ENCRYPT;
		return es_fail(err, -EINVAL, "encryption needs the dedup domain's key");
	}
	if (o->encrypt && !o->nkeyslots) {
		*culprits = ES_BUILD_OPT_ENCRYPT | ES_BUILD_OPT_KEYSLOTS;
		return es_fail(err, -EINVAL, "encryption needs at least one keyslot: "
			       "without one nobody could open the image");
	}
	if (!o->encrypt && (o->nkeyslots || o->key_area_path || o->domain_key)) {
		*culprits = ES_BUILD_OPT_ENCRYPT | (o->nkeyslots ? ES_BUILD_OPT_KEYSLOTS : 0) |
			    (o->key_area_path ? ES_BUILD_OPT_KEY_AREA : 0);
		return es_fail(err, -EINVAL, "keyslots, a key area and a domain key "
			       "belong to encrypted images only");
	}
	/* a chunk's key depends on all of its bytes: it must fit the buffer
	 * that holds it between hashing and encryption */
	if (o->encrypt && o->chunksize > WBUILD_IOBUF_SIZE) {
		*culprits = ES_BUILD_OPT_ENCRYPT | ES_BUILD_OPT_CHUNKSIZE;
		return es_fail(err, -EINVAL, "encrypted images take chunks of at most "
			       "%u bytes", WBUILD_IOBUF_SIZE);
	}
	if (o->max_pcluster && o->compress == ES_COMPR_NONE) {
		*culprits = ES_BUILD_OPT_MAX_PCLUSTER | ES_BUILD_OPT_COMPRESS;
		return es_fail(err, -EINVAL, "a pcluster size needs compression");
	}
	if (o->max_pcluster && (o->max_pcluster % (1u << (o->blkszbits & 31)) ||
				o->max_pcluster > EROFS_PCLUSTER_MAX_SIZE)) {
		*culprits = ES_BUILD_OPT_MAX_PCLUSTER;
		return es_fail(err, -EINVAL, "pcluster size %u must be a multiple of the "
			       "block size, at most %u", o->max_pcluster, EROFS_PCLUSTER_MAX_SIZE);
	}
	if (o->volume_label && strlen(o->volume_label) > 15) {
		*culprits = ES_BUILD_OPT_VOLUME_LABEL;
		return es_fail(err, -EINVAL, "volume label longer than 15 bytes");
	}
	if (compile_regexes(o, NULL, err)) {
		*culprits = ES_BUILD_OPT_EXCLUDE_REGEXES;
		return -EINVAL;
	}
	return check_distinct_files(o, culprits, err);
}

void wb_wnode_free(struct wnode *n)
{
	for (unsigned int i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].suffix);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	for (size_t i = 0; i < n->nchildren; i++)
		free(n->children[i].name);
	free(n->children);
	if (!n->tail_in_arena)
		free(n->tail);
	free(n->chunk_table);
	free(n->zdevs);
	free(n);
}

void wb_wnode_free_all(struct wbuild *b)
{
	struct wnode *n = b->all;

	while (n) {
		struct wnode *next = n->next_all;

		wb_wnode_free(n);
		n = next;
	}
	b->all = NULL;
}

/*
 * The slot of blob i: its fs-verity digest as the tag (it names the blob:
 * BLOBDIR/<tag>), its blocks, and where it starts when the filesystem
 * region and the blobs are concatenated in table order (a flat mount).
 */
static void encode_device_table(const struct wbuild *b, uint64_t fs_blocks, uint8_t *table)
{
	uint64_t uniaddr = fs_blocks;

	for (unsigned int i = 1; i < b->ndevices; i++) {
		uint8_t *slot = table + (size_t)(i - 1) * EROFS_DEVT_SLOT_SIZE;
		uint64_t blocks = (b->devices[i].size + b->blksz - 1) >> b->blkszbits;
		char hex[65];

		es_hex(b->devices[i].digest, 32, hex);
		memcpy(slot + DEVT_TAG, hex, 64);
		es_put32(slot + DEVT_BLOCKS, (uint32_t)blocks);
		es_put32(slot + DEVT_UNIADDR, (uint32_t)uniaddr);
		uniaddr += blocks;
	}
}

/* A table that does not fit block 0: its own blocks, zero-padded, plain
 * even in an encrypted image (they lie before the metadata). */
static int write_device_table(struct wbuild *b, uint64_t fs_blocks)
{
	size_t len = (size_t)es_round_up((uint64_t)(b->ndevices - 1) * EROFS_DEVT_SLOT_SIZE,
					 b->blksz);
	uint8_t *table = calloc(1, len);
	int ret;

	if (!table)
		return es_fail(b->err, -ENOMEM, "out of memory");
	encode_device_table(b, fs_blocks, table);
	ret = es_pwrite_full(b->image_fd, table, len, b->devt_pos);
	free(table);
	if (ret)
		return es_fail(b->err, ret, "writing the device table: %s", strerror(-ret));
	return 0;
}

/* The superblock's compression fields (none when nothing is compressed). */
void wb_super_compression(const struct wbuild *b, struct es_super *sb)
{
	const struct es_build_opts *o = b->opts;

	if (b->uses_compression) {
		/* compressed bytes end at their pcluster's end, zeros before */
		sb->feature_incompat |= EROFS_INCOMPAT_ZERO_PADDING;
		sb->compr_algs = 1u << wz_algorithm(o->compress);
		sb->lz4_max_distance = WZ_LZ4_MAX_DISTANCE;
		sb->max_pclusterblks = b->pcluster_max >> b->blkszbits;
		sb->deflate_windowbits = WZ_DEFLATE_WINDOWBITS;
		sb->zstd_windowlog = WZ_ZSTD_WINDOWLOG - 10;
		/* the config records only when LZ4's implicit one does not do */
		if (b->big_pclusters || o->compress == ES_COMPR_DEFLATE ||
		    o->compress == ES_COMPR_ZSTD)
			sb->feature_incompat |= EROFS_INCOMPAT_COMPR_CFGS;
	}
}

/* Byte offset of a device table that fits block 0: after the superblock
 * and its compression config records. */
uint64_t wb_devt_block0_pos(const struct wbuild *b)
{
	struct es_super sb;

	memset(&sb, 0, sizeof(sb));
	wb_super_compression(b, &sb);
	return WB_DEVT_BLOCK0_POS +
	       es_round_up(es_super_compr_cfgs_size(&sb), EROFS_DEVT_SLOT_SIZE);
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
	if (b->crypt)
		sb.feature_incompat |= ES_INCOMPAT_ENCRYPTED;
	wb_super_compression(b, &sb);
	sb.blkszbits = b->blkszbits;
	sb.root_nid = b->root->nid;
	/* the number of files is nobody's business without a key */
	sb.inos = b->crypt ? 0 : b->nnodes;
	sb.epoch = b->epoch;
	sb.blocks = (uint32_t)total;
	sb.meta_blkaddr = (uint32_t)meta_blkaddr;
	sb.xattr_blkaddr = (uint32_t)meta_blkaddr;
	memcpy(sb.uuid, o->uuid, 16);
	if (!o->have_uuid) {
		ret = es_crypto_random(sb.uuid, 16);
		if (ret) {
			free(block0);
			return es_fail(b->err, ret, "cannot get random bytes for the UUID");
		}
	}
	if (!o->have_uuid) {
		sb.uuid[6] = (sb.uuid[6] & 0x0f) | 0x40;	/* version 4 */
		sb.uuid[8] = (sb.uuid[8] & 0x3f) | 0x80;
	}
	if (o->volume_label)
		memcpy(sb.volume_name, o->volume_label, strlen(o->volume_label));
	if (b->ndevices > 1) {
		sb.feature_incompat |= EROFS_INCOMPAT_DEVICE_TABLE;
		sb.extra_devices = (uint16_t)(b->ndevices - 1);
		sb.devt_slotoff = (uint16_t)(b->devt_pos / EROFS_DEVT_SLOT_SIZE);
		if (b->devt_pos >= b->blksz) {
			ret = write_device_table(b, total);
			if (ret) {
				free(block0);
				return ret;
			}
		} else {
			encode_device_table(b, total, block0 + b->devt_pos);
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

/* What the scan must leave out: the outputs (final paths and temporary
 * files) and the blob directory, should they lie inside the source. */
static void note_outputs(struct wbuild *b, const struct es_outfile *image,
			 const struct es_outfile *blob)
{
	const struct es_build_opts *o = b->opts;
	struct stat st;

	if (fstat(image->fd, &st) == 0)
		b->outputs[b->noutputs++] = (struct wfile_id){ st.st_dev, st.st_ino };
	if (lstat(o->image_path, &st) == 0)
		b->outputs[b->noutputs++] = (struct wfile_id){ st.st_dev, st.st_ino };
	if (blob->fd >= 0 && fstat(blob->fd, &st) == 0)
		b->outputs[b->noutputs++] = (struct wfile_id){ st.st_dev, st.st_ino };
	if (o->blobdev_path && lstat(o->blobdev_path, &st) == 0)
		b->outputs[b->noutputs++] = (struct wfile_id){ st.st_dev, st.st_ino };
	if (o->blob_dir && stat(o->blob_dir, &st) == 0)
		b->outputs[b->noutputs++] = (struct wfile_id){ st.st_dev, st.st_ino };
}

/* The background syncs of the outputs are over, and went well. */
static int stop_writeback(struct wbuild *b)
{
	int ret = es_writeback_stop(&b->writeback[0]);

	if (ret)
		return es_fail(b->err, ret, "cannot sync the image: %s", strerror(-ret));
	ret = es_writeback_stop(&b->writeback[1]);
	if (ret)
		return es_fail(b->err, ret, "cannot sync the blob: %s", strerror(-ret));
	return 0;
}

int es_build(const struct es_build_opts *o, struct es_build_stats *stats,
	     struct es_err *err)
{
	struct es_outfile image = { .fd = -1 }, blob = { .fd = -1 }, sig = { .fd = -1 };
	struct es_build_stats local_stats;
	uint64_t meta_blkaddr, meta_len, total;
	struct wbuild b;
	int ret;

	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	ret = es_build_opts_check(o, NULL, err);
	if (ret)
		return ret;
	memset(&b, 0, sizeof(b));
	b.opts = o;
	b.stats = stats;
	b.err = err;
	b.blkszbits = o->blkszbits;
	b.blksz = 1u << o->blkszbits;
	b.blob_fd = -1;
	b.chunksize = o->chunksize ? o->chunksize : (o->blob_dir || o->encrypt ? 4096 : 0);
	b.epoch = o->have_timestamp ? o->timestamp : (int64_t)time(NULL);
	b.clamp_mtime = o->have_timestamp && o->timestamp_sb_only && o->clamp_mtimes;
	if (o->nexclude_regexes) {
		b.regexes = calloc(o->nexclude_regexes, sizeof(regex_t));
		if (!b.regexes)
			return es_fail(err, -ENOMEM, "out of memory");
		ret = compile_regexes(o, b.regexes, err);
		if (ret) {
			free(b.regexes);
			return ret;
		}
	}
	b.dedup = wb_dedup_new();
	b.iobuf = es_alloc_big(WBUILD_IOBUF_SIZE + b.blksz);
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
	note_outputs(&b, &image, &blob);
	/* without the threads, the final fsync does it all */
	(void)es_writeback_start(&b.writeback[0], image.fd);
	if (blob.fd >= 0)
		(void)es_writeback_start(&b.writeback[1], blob.fd);
	ret = es_workpool_new(o->nthreads ? o->nthreads : 1, &b.pool);
	if (ret) {
		ret = es_fail(err, ret, "cannot start %u worker threads: %s", o->nthreads,
			      strerror(-ret));
		goto out;
	}
	ret = wb_crypt_init(&b);
	if (!ret)
		ret = wb_compress_init(&b);
	/* the chunk pipeline starts with the first chunk (ingest_chunked): a
	   build of flat files needs neither its threads nor SHA-256 */
	if (ret)
		goto out;
	b.data_next = 1;
	if (o->nchunk_dicts)
		ret = wb_dicts_load(&b);
	if (!ret)
		ret = wb_copy_start(&b);
	if (!ret)
		ret = o->tar_path ? wb_scan_tar(&b) : wb_scan_tree(&b);
	if (!ret)
		ret = wb_copy_drain(&b);
	if (!ret)
		ret = wb_pipe_flush(&b);
	if (!ret)
		ret = wb_compress_flush(&b);
	if (!ret)
		ret = wb_poll_cancel(&b);
	if (!ret)
		ret = wb_repack(&b);
	if (!ret)
		ret = wb_crypt_order_chunks(&b);
	if (!ret && b.crypt)
		ret = wb_place_tail_blocks(&b);
	if (!ret)
		ret = wb_devices_finalize(&b);
	/* the data region is complete: synced while the metadata is made */
	if (!ret) {
		wb_pipe_release_windows(&b);
		es_writeback_flush(&b.writeback[0], image.fd);
	}
	if (!ret && b.new_blob) {
		if (o->blob_dir) {
			char *final = malloc(strlen(o->blob_dir) + 66);

			if (!final) {
				ret = es_fail(err, -ENOMEM, "out of memory");
				goto out;
			}
			free(blob.path);
			blob.path = final;
			ret = wb_blob_finalize(&b, "");
			sprintf(final, "%s/%s", o->blob_dir, stats->blob_name);
			if (!ret && o->fsverity_sigs)
				ret = wb_blob_finalize_sig(&b, final, &sig);
		} else {
			ret = wb_blob_finalize(&b, o->blobdev_path);
		}
		/* complete: synced while the image is finished */
		if (!ret)
			es_writeback_flush(&b.writeback[1], blob.fd);
	}
	if (!ret)
		ret = wb_poll_cancel(&b);
	if (!ret)
		ret = wb_xattrs_share(&b);
	if (!ret)
		ret = wb_plan_layout(&b, &meta_blkaddr, &meta_len, &total);
	if (!ret)
		ret = wb_devices_map(&b, total);
	if (!ret)
		ret = wb_write_metadata(&b, meta_blkaddr, meta_len);
	if (!ret)
		ret = write_superblock(&b, meta_blkaddr, total);
	if (!ret && b.crypt)
		ret = wb_crypt_meta_region(&b, meta_blkaddr, total);
	if (ret)
		goto out;
	if (ftruncate(image.fd, (off_t)(total << b.blkszbits)) < 0) {
		ret = es_fail(err, -errno, "cannot size the output: %s", strerror(errno));
		goto out;
	}
	if (o->seal || o->blob_dir || o->nsigners || o->encrypt) {
		ret = wb_seal_image(&b, total, b.uuid);
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
	/* the last point where a signal stops the build: past it, outputs
	 * are renamed into place and the build completes */
	ret = wb_poll_cancel(&b);
	if (!ret)
		ret = stop_writeback(&b);
	if (ret)
		goto out;
	if (b.new_blob) {
		/* the same bytes, so the same name: the rename replaces it */
		stats->blob_was_present = o->blob_dir && access(blob.path, F_OK) == 0;
		ret = es_outfile_commit(&blob, err);
		if (!ret && sig.tmp_path)
			ret = es_outfile_commit(&sig, err);
		if (ret)
			goto out;
	} else if (blob.tmp_path) {
		es_outfile_abort(&blob);	/* every chunk was already stored elsewhere */
	}
	ret = es_outfile_commit(&image, err);
out:
	/* nothing may write to or sync an output once it is closed */
	wb_copy_free(&b);
	stop_writeback(&b);
	if (ret) {
		if (image.tmp_path)
			es_outfile_abort(&image);
		if (blob.tmp_path)
			es_outfile_abort(&blob);
		if (sig.tmp_path)
			es_outfile_abort(&sig);
	}
	if (b.regexes) {
		for (unsigned int i = 0; i < o->nexclude_regexes; i++)
			regfree(&((regex_t *)b.regexes)[i]);
		free(b.regexes);
	}
	wb_wnode_free_all(&b);
	wb_tail_arena_free(&b);
	wb_compress_free(&b);
	wb_pipe_free(&b);	/* its lanes before the keys they came from */
	es_workpool_free(b.pool);
	wb_crypt_free(&b);
	wb_dedup_free(b.dedup);
	if (b.iobuf && o->encrypt)
		es_crypto_wipe(b.iobuf, WBUILD_IOBUF_SIZE + b.blksz);	/* plaintext */
	free(b.iobuf);
	free(b.order);
	free(b.shared_area);
	wb_devices_free(&b);
	return ret;
}
