// SPDX-License-Identifier: GPL-2.0-or-later
/* dump.erofs: show what is inside an image (front end of libcore). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "config.h"
#include "erofs/check.h"
#include "erofs/format.h"
#include "erofs/image.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verify.h"
#include <errno.h>
#include "../progs/cli.h"
#include "../progs/json.h"
#include "../progs/secrets.h"
#include "erofs/leakage.h"
#include "erofs/unlock.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_LOCKED 3

static const char *prog = "dump.erofs";
/* --json was given: every exit, failures included, prints one JSON object */
static bool want_json;

static const char *const exit_kinds[] = {
	[0] = "ok",
	[EXIT_FAILED] = "failed",
	[EXIT_USAGE] = "usage",
	[EXIT_LOCKED] = "locked",
};

/* The JSON object of a run that failed before or while showing anything. */
static int json_fail(struct jbuf *j, const char *image, int code, const char *msg)
{
	struct jbuf own = { 0 };

	if (!want_json)
		return code;
	if (!j) {
		j = &own;
		json_begin(j, prog);
		json_add(j, ",\"image\":");
		json_str_or_null(j, image);
	}
	json_error(j, code, exit_kinds[code], msg);
	json_add(j, "}\n");
	if (!j->oom)
		fputs(j->buf, stdout);
	free(own.buf);
	return code;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [OPTIONS] IMAGE\n"
"       %s --leakage IMAGE...\n"
"Show the contents of an EROFS image.  With no option, -s.\n"
"IMAGE and blobs are regular files or block devices (a loop device).\n"
"\n"
"Options:\n"
"  -s                    superblock summary, device table and, for a sealed\n"
"                        image, the seal: manifest digest (for erofs-verify\n"
"                        --expect-digest), signers, device digests, chunk\n"
"                        index statistics\n"
"  -S                    statistics: file counts, logical and stored bytes,\n"
"                        chunks, how many are shared (dedup) and holes\n"
"  --nid=NID             select an inode by number\n"
"  --path=PATH           select an inode by absolute path\n"
"  -e                    with --nid/--path: the extents of a file (where each\n"
"                        range is: a device's blocks, inline, a hole, or a\n"
"                        compressed file's pclusters)\n"
"  --ls                  with --nid/--path: list the directory\n"
"  --cat                 with --nid/--path: write the file's contents (a\n"
"                        symlink's target) to standard output\n"
"  --blkid-udev          the image's UUID and type as udev's blkid import\n"
"                        reads them (ID_FS_UUID=...)\n"
"  --export-manifest=FILE  write the signed manifest of a sealed image\n"
"  --export-signature=N:FILE  write signature N (from 1) as it is stored:\n"
"                        DER CMS, or raw bytes; check CMS ones with\n"
"                        openssl cms -verify -binary -inform DER \\\n"
"                          -content MANIFEST -in FILE -CAfile CERT.pem\n"
"  --delta=OLD           what a machine that has the sealed image OLD and its\n"
"                        blobs downloads to get IMAGE: the image file, and\n"
"                        either IMAGE's new blobs whole or only the chunks\n"
"                        OLD's blobs lack\n"
"  --json                -s, -S and --delta as one JSON object (schema:\n"
"                        erofs-verify(1), JSON OUTPUT)\n"
"  --device=PATH         an extra device (blob) of the image, in device-table\n"
"                        order; repeatable\n"
"  --blob-dir=DIR        find the image's blobs in DIR by their digest\n"
"  --leakage             what someone without keys learns from the images\n"
"                        given (IMAGE...): chunk counts and sizes, chunks\n"
"                        shared within and across them, the file-size hints\n"
"                        of short chunks\n"
"\n"
"Encrypted images (their inodes are ciphertext without a key):\n"
"  --unlock=SPEC         open the key table with a credential (keyfile:FILE,\n"
"                        passphrase, passphrase-file:FILE, identity:KEY.pem,\n"
"                        seed:FILE[:LABEL]); repeatable.  Refused unless a\n"
"                        trusted key signed the image (--cert, --pubkey,\n"
"                        --expect-digest) or --allow-unsigned is given\n"
"  --cert=CERT.pem, --pubkey=KEY.pem, --expect-digest=sha256:HEX\n"
"                        trust anchors for --unlock; repeatable\n"
"  --allow-unsigned      unlock an image no trusted key signed\n"
"  --key-area=FILE       the image's detached key area\n"
"\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Inode output is one 'key: value' per line.  Exit status: 0 success,\n"
"1 the image cannot be read or is corrupt, 2 usage error, 3 an encrypted\n"
"image could not be unlocked (no credential opens a slot, or the image is\n"
"not signed by a trusted key).\n", prog, prog);
}

static const char *type_name(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "chardev";
	case S_IFBLK: return "blockdev";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "unknown";
	}
}

static void print_escaped(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '\\')
			printf("\\x%02x", s[i]);
		else
			putchar(s[i]);
	}
}

static void json_super(struct jbuf *j, const struct es_image *img)
{
	const struct es_super *sb = &img->sb;
	char features[256], uuid[37];

	es_super_features(sb, features, sizeof(features));
	for (int i = 0, n = 0; i < 16; i++)
		n += snprintf(uuid + n, sizeof(uuid) - (size_t)n, "%02x%s", sb->uuid[i],
			      (i == 3 || i == 5 || i == 7 || i == 9) ? "-" : "");
	json_add(j, ",\"superblock\":{\"blocks\":%u,\"block_size\":%u,\"meta_blkaddr\":%u,"
		 "\"xattr_blkaddr\":%u,\"root_nid\":%" PRIu64 ",\"inodes\":%" PRIu64 ","
		 "\"epoch\":%" PRId64 ",\"features\":", sb->blocks, sb->blksz, sb->meta_blkaddr,
		 sb->xattr_blkaddr, sb->root_nid, sb->inos, sb->epoch);
	json_str(j, features);
	json_add(j, ",\"uuid\":\"%s\",\"label\":", uuid);
	json_str(j, sb->volume_name);
	json_add(j, ",\"devices\":[");
	for (unsigned int i = 1; i < img->ndevices; i++) {
		const struct es_device *d = &img->devices[i];
		char tag[sizeof(d->tag) + 1];

		memcpy(tag, d->tag, sizeof(d->tag));
		tag[sizeof(d->tag)] = '\0';
		json_add(j, "%s{\"index\":%u,\"blocks\":%u,\"mapped_blkaddr\":%u,\"tag\":",
			 i > 1 ? "," : "", i, d->table_blocks, d->uniaddr);
		json_str(j, tag);
		json_add(j, "}");
	}
	json_add(j, "]}");
}

static void show_super(const struct es_image *img)
{
	const struct es_super *sb = &img->sb;
	char features[256], when[64];
	time_t t = (time_t)sb->epoch;
	struct tm tm;

	es_super_features(sb, features, sizeof(features));
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(when, sizeof(when), "%" PRId64, sb->epoch);
	printf("Filesystem magic number:                      0x%08X\n", EROFS_SUPER_MAGIC);
	printf("Filesystem blocks:                            %u\n", sb->blocks);
	printf("Filesystem block size:                        %u\n", sb->blksz);
	printf("Filesystem inode metadata start block:        %u\n", sb->meta_blkaddr);
	printf("Filesystem shared xattr metadata start block: %u\n", sb->xattr_blkaddr);
	printf("Filesystem root nid:                          %" PRIu64 "\n", sb->root_nid);
	printf("Filesystem inode count:                       %" PRIu64 "\n", sb->inos);
	printf("Filesystem created:                           %s\n", when);
	printf("Filesystem features:                          %s\n", features);
	printf("Filesystem UUID:                              ");
	for (int i = 0; i < 16; i++)
		printf("%02x%s", sb->uuid[i], (i == 3 || i == 5 || i == 7 || i == 9) ? "-" : "");
	printf("\nFilesystem label:                             %s\n", sb->volume_name);
	printf("Filesystem extra devices:                     %u\n", img->ndevices - 1);
	for (unsigned int i = 1; i < img->ndevices; i++) {
		const struct es_device *d = &img->devices[i];
		size_t taglen = strnlen((const char *)d->tag, sizeof(d->tag));

		printf("  device %u: blocks %u, mapped at block %u, tag \"", i,
		       d->table_blocks, d->uniaddr);
		print_escaped(d->tag, taglen);
		printf("\"\n");
	}
}

/*
 * The seal as the trust pipeline reads it (no anchors, no device checked):
 * as text, or with j as the JSON "seal" member (null when not sealed).
 */
static void show_seal(const struct es_image *img, struct jbuf *j)
{
	static const struct es_verify_opts opts = { .parse_unverified = true };
	struct es_verify_report r;
	struct es_err err = { 0 };
	const struct es_seal *s;
	const struct es_err *failed = NULL;
	uint64_t *dev_chunks = NULL;
	char hex[65], digest_text[ES_MANIFEST_DIGEST_TEXT_SIZE] = "";

	if (es_verify_image(&img->io, NULL, &opts, &r, &err))
		failed = &err;
	else if (r.read_status == -ENODATA) {
		if (j)
			json_add(j, ",\"seal\":null");
		else
			printf("Seal:                                         none\n");
		es_verify_report_free(&r);
		return;
	} else if (r.read_status)
		failed = &r.read_err;
	else if (r.parse_status)
		failed = &r.parse_err;
	else if (r.image_status)
		failed = &r.image_err;
	else if (r.match_status)
		failed = &r.match_err;
	if (failed) {
		if (j) {
			json_add(j, ",\"seal\":{\"status\":\"unreadable\",\"error\":");
			json_str(j, failed->msg);
			json_add(j, "}");
		} else {
			printf("Seal:                                         unreadable: %s\n",
			       failed->msg);
		}
		es_verify_report_free(&r);
		return;
	}
	s = r.seal;
	/* without anchors authentication only hashes the manifest, and says
	 * -ENOKEY once it has (anything else: the hash failed) */
	if (r.auth_status == -ENOKEY)
		es_manifest_digest_format(r.auth.manifest_digest, digest_text);
	dev_chunks = calloc(s->ndevices, sizeof(*dev_chunks));
	for (uint64_t i = 0; dev_chunks && i < s->nchunks; i++)
		if (s->chunks[i].device < s->ndevices)
			dev_chunks[s->chunks[i].device]++;
	if (j) {
		json_add(j, ",\"seal\":{\"status\":\"ok\",\"version\":1,\"manifest_bytes\":%zu,"
			 "\"manifest_digest\":", s->manifest_len);
		json_str_or_null(j, digest_text);
		json_add(j, ",\"encrypted\":%s,\"chunk_size\":%u,\"chunks\":%llu,\"signers\":[",
			 s->flags & MF_FLAG_ENCRYPTED ? "true" : "false", s->chunksize,
			 (unsigned long long)s->nchunks);
		for (unsigned int i = 0; i < s->nsigs; i++) {
			if (i)
				json_raw(j, ",", 1);
			json_signer_open(j, i + 1, &s->sigs[i], NULL);
			json_add(j, "}");
		}
		json_add(j, "],\"devices\":[");
		for (unsigned int i = 0; i < s->ndevices; i++) {
			es_hex(s->devices[i].digest, 32, hex);
			json_add(j, "%s{\"index\":%u,\"role\":\"%s\",\"size\":%llu,"
				 "\"digest\":\"%s\",\"chunks\":%llu}", i ? "," : "", i,
				 i ? "blob" : "filesystem", (unsigned long long)s->devices[i].size,
				 hex, (unsigned long long)(dev_chunks ? dev_chunks[i] : 0));
		}
		json_add(j, "]}");
		free(dev_chunks);
		es_verify_report_free(&r);
		return;
	}
	printf("Seal:                                         version 1, %zu-byte manifest, "
	       "%u signature%s\n", s->manifest_len, s->nsigs, s->nsigs == 1 ? "" : "s");
	if (digest_text[0])
		printf("Seal manifest digest:                         %s\n", digest_text);
	printf("Seal chunk size:                              %u\n", s->chunksize);
	for (unsigned int i = 0; i < s->nsigs; i++) {
		char desc[512];

		es_signature_describe((enum es_sig_type)s->sigs[i].type, s->sigs[i].key_id,
				      s->sigs[i].data, s->sigs[i].len, desc, sizeof(desc));
		printf("  signature %u: %s\n", i + 1, desc);
	}
	for (unsigned int i = 0; i < s->ndevices; i++) {
		es_hex(s->devices[i].digest, 32, hex);
		printf("  device %u: %llu bytes, fs-verity sha256:%s, %llu chunks indexed\n", i,
		       (unsigned long long)s->devices[i].size, hex,
		       (unsigned long long)(dev_chunks ? dev_chunks[i] : 0));
	}
	printf("Seal chunk index:                             %llu chunks\n",
	       (unsigned long long)s->nchunks);
	free(dev_chunks);
	es_verify_report_free(&r);
}

static int write_file(const char *path, const uint8_t *data, size_t len, struct es_err *err)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return es_fail(err, -errno, "cannot create %s: %s", path, strerror(errno));
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
		return es_fail(err, -EIO, "cannot write %s", path);
	return 0;
}

static int export_seal(const struct es_image *img, const char *manifest_path,
		       unsigned int sig_index, const char *sig_path, struct es_err *err)
{
	struct es_seal *s;
	int ret = es_seal_read(img, &s, err);

	if (ret == -ENODATA)
		return es_fail(err, ret, "the image is not sealed");
	if (ret)
		return ret;
	if (manifest_path)
		ret = write_file(manifest_path, s->manifest, s->manifest_len, err);
	if (!ret && sig_path) {
		if (!sig_index || sig_index > s->nsigs)
			ret = es_fail(err, -EINVAL, "the image has %u signature%s, no "
				      "signature %u", s->nsigs, s->nsigs == 1 ? "" : "s",
				      sig_index);
		else
			ret = write_file(sig_path, s->sigs[sig_index - 1].data,
					 s->sigs[sig_index - 1].len, err);
	}
	es_seal_free(s);
	return ret;
}

/*
 * What a machine that has OLD and its blobs downloads to get the image:
 * its image file always, then either its new blobs whole or only the
 * chunks that OLD's blobs lack (a chunk-level fetcher).
 */
static int show_delta(const struct es_image *img, const char *image_path,
		      const char *old_path, struct jbuf *j, struct es_err *err)
{
	struct es_image *old_img = NULL;
	struct es_seal *old_seal = NULL, *new_seal = NULL;
	struct es_seal_delta d = { 0 };
	char hex[65];
	int ret = es_image_open(&old_img, old_path, NULL, err);

	if (!ret)
		ret = es_seal_read(old_img, &old_seal, err);
	if (ret == -ENODATA)
		ret = es_fail(err, ret, "%s is not sealed", old_path);
	if (!ret) {
		ret = es_seal_read(img, &new_seal, err);
		if (ret == -ENODATA)
			ret = es_fail(err, ret, "the image is not sealed");
	}
	if (!ret)
		ret = es_seal_delta(old_seal, new_seal, &d, err);
	if (!ret && j) {
		json_add(j, ",\"delta\":{\"old\":");
		json_str(j, old_path);
		json_add(j, ",\"image_file_bytes\":%" PRIu64 ",\"blobs\":%u,\"new_blobs\":%u,"
			 "\"new_blob_bytes\":%" PRIu64 ",\"shared_blob_bytes\":%" PRIu64 ","
			 "\"chunks\":%" PRIu64 ",\"new_chunks\":%" PRIu64 ",\"new_chunk_bytes\":%"
			 PRIu64 ",\"shared_chunks\":%" PRIu64 ",\"whole_blob_download_bytes\":%"
			 PRIu64 ",\"chunk_level_download_bytes\":%" PRIu64 ",\"unused_old_blobs\":%u,"
			 "\"unused_old_blob_bytes\":%" PRIu64 ",\"pull_blobs\":[", img->file_size,
			 new_seal->ndevices - 1, d.new_blobs, d.new_blob_bytes, d.shared_blob_bytes,
			 new_seal->nchunks, d.new_chunks, d.new_chunk_bytes, d.shared_chunks,
			 img->file_size + d.new_blob_bytes, img->file_size + d.new_chunk_bytes,
			 d.unused_old_blobs, d.unused_old_blob_bytes);
		for (unsigned int i = 1, first = 1; i < new_seal->ndevices; i++) {
			if (!d.is_new[i])
				continue;
			es_hex(new_seal->devices[i].digest, 32, hex);
			json_add(j, "%s{\"device\":%u,\"digest\":\"%s\",\"size\":%" PRIu64 "}",
				 first ? "" : ",", i, hex, new_seal->devices[i].size);
			first = 0;
		}
		json_add(j, "]}");
	} else if (!ret) {
		printf("delta: what a machine that has %s and its blobs downloads to get %s\n"
		       "  (the other direction: dump.erofs --delta=%s %s)\n",
		       old_path, image_path, image_path, old_path);
		printf("image file: %" PRIu64 " bytes (always downloaded)\n", img->file_size);
		printf("new blobs: %u of %u\n", d.new_blobs, new_seal->ndevices - 1);
		for (unsigned int i = 1; i < new_seal->ndevices; i++) {
			if (!d.is_new[i])
				continue;
			es_hex(new_seal->devices[i].digest, 32, hex);
			printf("  pull blob %s (device %u): %" PRIu64 " bytes\n", hex, i,
			       new_seal->devices[i].size);
		}
		printf("new blob bytes: %" PRIu64 "\n", d.new_blob_bytes);
		printf("blob bytes already in old: %" PRIu64 "\n", d.shared_blob_bytes);
		printf("new chunks: %" PRIu64 " of %" PRIu64 "\n", d.new_chunks, new_seal->nchunks);
		printf("new chunk bytes: %" PRIu64 "\n", d.new_chunk_bytes);
		printf("chunks already in old: %" PRIu64 "\n", d.shared_chunks);
		printf("whole-blob download (image file + new blobs): %" PRIu64 " bytes\n",
		       img->file_size + d.new_blob_bytes);
		printf("chunk-level download (image file + new chunks): %" PRIu64 " bytes\n",
		       img->file_size + d.new_chunk_bytes);
		printf("blobs of old no longer read: %u, %" PRIu64 " bytes (may be dropped "
		       "after the update)\n", d.unused_old_blobs, d.unused_old_blob_bytes);
	}
	es_seal_delta_free(&d);
	es_seal_free(old_seal);
	es_seal_free(new_seal);
	es_image_close(old_img);
	return ret;
}

static int xattr_print(void *ctx, const char *name, const uint8_t *value, size_t len,
		       bool shared)
{
	(void)ctx;
	(void)value;
	printf("xattr: %s (%zu bytes%s)\n", name, len, shared ? ", shared" : "");
	return 0;
}

static int show_inode(const struct es_image *img, const struct es_inode *ino,
		      bool extents, struct es_err *err)
{
	int ret;

	printf("nid: %" PRIu64 "\n", ino->nid);
	printf("offset: %" PRIu64 "\n", ino->iloc);
	printf("type: %s\n", type_name(ino->mode));
	printf("mode: 0%o\n", ino->mode & 07777);
	printf("inode_size: %u\n", ino->inode_isize);
	printf("xattr_size: %u\n", ino->xattr_isize);
	printf("layout: %s\n", es_layout_name(ino->layout));
	printf("size: %" PRIu64 "\n", ino->size);
	printf("uid: %u\ngid: %u\nnlink: %u\n", ino->uid, ino->gid, ino->nlink);
	printf("mtime: %" PRId64 ".%09u\n", ino->mtime, ino->mtime_nsec);
	printf("ino: %u\n", ino->ino);
	printf("meta_size: %" PRIu64 "\n", ino->meta_end - ino->iloc);
	if (S_ISCHR(ino->mode) || S_ISBLK(ino->mode)) {
		uint32_t major, minor;

		es_decode_rdev(ino->raw_u, &major, &minor);
		printf("rdev: %u:%u\n", major, minor);
	}
	if (ino->layout == EROFS_LAYOUT_CHUNK_BASED)
		printf("chunk_size: %llu\nchunks: %" PRIu64 "\n",
		       1ull << ino->chunkbits, ino->nchunks);
	if (ino->layout == EROFS_LAYOUT_COMPRESSED_FULL ||
	    ino->layout == EROFS_LAYOUT_COMPRESSED_COMPACT) {
		printf("compression: %s", es_compr_name(ino->z_algs[0]));
		if (ino->z_algs[1] != ino->z_algs[0])
			printf(", %s (HEAD2)", es_compr_name(ino->z_algs[1]));
		printf("\nlcluster_size: %llu\n", 1ull << ino->lclusterbits);
		printf("lclusters: %" PRIu64 "\n", ino->nlclusters);
		printf("index: %s\n", ino->layout == EROFS_LAYOUT_COMPRESSED_FULL ? "full" :
		       ino->z_n2b ? "compact (4B and 2B packs)" : "compact (4B packs)");
		printf("big_pclusters: %s\n", ino->z_advise & (EROFS_ZADVISE_BIG_PCLUSTER_1 |
		       EROFS_ZADVISE_BIG_PCLUSTER_2) ? "yes" : "no");
		printf("compressed_blocks: %u\n", ino->raw_u);
		if (ino->z_advise & EROFS_ZADVISE_INLINE_PCLUSTER)
			printf("inline_pcluster: %u bytes at %" PRIu64 "\n", ino->zinline_size,
			       ino->zinline_pos);
	}
	ret = es_xattr_iterate(img, ino, xattr_print, NULL, err);
	if (ret || !extents)
		return ret;
	for (uint64_t off = 0; off < ino->size;) {
		struct es_extent ext;

		ret = es_map(img, ino, off, &ext, err);
		if (ret)
			return ret;
		printf("%" PRIu64 "..%" PRIu64 " -> ", ext.lstart, ext.lstart + ext.llen);
		if (!(ext.flags & ES_EXTENT_MAPPED))
			printf("hole\n");
		else if (ext.flags & ES_EXTENT_INLINE)
			printf("inline at byte %" PRIu64, ext.pstart);
		else
			printf("device %u block %" PRIu64, ext.device,
			       ext.pstart >> img->sb.blkszbits);
		if (!(ext.flags & ES_EXTENT_MAPPED))
			;
		else if (ext.flags & ES_EXTENT_ENCODED)
			printf(", %s, %" PRIu64 " bytes stored\n", ext.codec < EROFS_COMPR_MAX ?
			       es_compr_name(ext.codec) : "interlaced", ext.plen);
		else if (ino->layout == EROFS_LAYOUT_COMPRESSED_FULL ||
			 ino->layout == EROFS_LAYOUT_COMPRESSED_COMPACT)
			printf(", uncompressed, %" PRIu64 " bytes stored\n", ext.plen);
		else
			putchar('\n');
		off = ext.lstart + ext.llen;
	}
	return 0;
}

static int ls_cb(void *ctx, const uint8_t *name, unsigned int len, uint64_t nid,
		 unsigned int ftype)
{
	static const char *const names[] = { "unknown", "file", "dir", "chardev",
		"blockdev", "fifo", "socket", "symlink" };

	(void)ctx;
	printf("%" PRIu64 " %s ", nid, names[ftype]);
	print_escaped(name, len);
	putchar('\n');
	return 0;
}

static int show_stats(const struct es_image *img, struct jbuf *j, struct es_err *err)
{
	struct es_stats st;
	int ret = es_image_stats(img, &st, err);

	if (ret)
		return ret;
	if (j) {
		json_add(j, ",\"stats\":{\"inodes\":%" PRIu64 ",\"regular_files\":%" PRIu64 ","
			 "\"directories\":%" PRIu64 ",\"symlinks\":%" PRIu64 ",\"special_files\":%"
			 PRIu64 ",\"logical_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64 ","
			 "\"chunks\":%" PRIu64 ",\"unique_chunks\":%" PRIu64 ",\"shared_chunks\":%"
			 PRIu64 ",\"holes\":%" PRIu64 ",\"compressed_files\":%" PRIu64 ","
			 "\"compressed_logical_bytes\":%" PRIu64 ",\"pclusters\":%" PRIu64 ","
			 "\"unique_pclusters\":%" PRIu64 ",\"shared_pclusters\":%" PRIu64 ","
			 "\"pcluster_bytes\":%" PRIu64 ",\"compression_ratio\":", st.inodes,
			 st.regular_files, st.directories, st.symlinks, st.special_files,
			 st.logical_bytes, st.stored_bytes, st.chunks, st.unique_chunks,
			 st.shared_chunks, st.holes, st.compressed_files, st.compressed_logical,
			 st.pclusters, st.unique_pclusters, st.shared_pclusters, st.pcluster_bytes);
		/* stored bytes of the distinct pclusters per byte they decode to */
		if (st.compressed_logical)
			json_add(j, "%.4f}", (double)st.pcluster_bytes / (double)st.compressed_logical);
		else
			json_add(j, "null}");
		return 0;
	}
	printf("inodes: %" PRIu64 "\n", st.inodes);
	printf("regular files: %" PRIu64 "\n", st.regular_files);
	printf("directories: %" PRIu64 "\n", st.directories);
	printf("symlinks: %" PRIu64 "\n", st.symlinks);
	printf("special files: %" PRIu64 "\n", st.special_files);
	printf("logical bytes: %" PRIu64 "\n", st.logical_bytes);
	printf("stored bytes: %" PRIu64 "\n", st.stored_bytes);
	printf("chunks: %" PRIu64 "\n", st.chunks);
	printf("unique chunks: %" PRIu64 "\n", st.unique_chunks);
	printf("shared chunks: %" PRIu64 "\n", st.shared_chunks);
	printf("holes: %" PRIu64 "\n", st.holes);
	if (st.compressed_files) {
		printf("compressed files: %" PRIu64 " (%" PRIu64 " bytes)\n", st.compressed_files,
		       st.compressed_logical);
		printf("pclusters: %" PRIu64 "\n", st.pclusters);
		printf("unique pclusters: %" PRIu64 " (%" PRIu64 " bytes)\n", st.unique_pclusters,
		       st.pcluster_bytes);
		printf("shared pclusters: %" PRIu64 "\n", st.shared_pclusters);
		printf("compressed/uncompressed: %.3f\n",
		       st.compressed_logical ? (double)st.pcluster_bytes /
					       (double)st.compressed_logical : 0.0);
	}
	if (st.logical_bytes)
		printf("stored/logical: %.3f\n", (double)st.stored_bytes / (double)st.logical_bytes);
	return 0;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", prog, msg, prog);
	return json_fail(NULL, NULL, EXIT_USAGE, msg);
}

enum { OPT_NID = 256, OPT_PATH, OPT_LS, OPT_DEVICE, OPT_EXPORT_MANIFEST, OPT_EXPORT_SIG,
       OPT_DELTA, OPT_BLOB_DIR, OPT_LEAKAGE, OPT_UNLOCK, OPT_ALLOW_UNSIGNED, OPT_KEY_AREA,
       OPT_CERT, OPT_PUBKEY, OPT_EXPECT_DIGEST, OPT_CAT, OPT_BLKID_UDEV, OPT_JSON };

/* erofs-utils 1.9 options this dump.erofs does not have */
static const struct cli_unsupported unsupported[] = {
	{ "--offset", "give a loop device (losetup -o) for an image inside a file" },
	{ NULL, NULL },
};

/* dump --cat: a file's bytes (a symlink's target) as they are, to stdout */
static int cat_inode(const struct es_image *img, const struct es_inode *ino,
		     struct es_err *err)
{
	const size_t bufsize = 1u << 20;
	uint8_t *buf;
	int ret = 0;

	if (S_ISDIR(ino->mode))
		return es_fail(err, -EISDIR, "nid %" PRIu64 " is a directory (list it with "
			       "--ls)", ino->nid);
	buf = malloc(bufsize);
	if (!buf)
		return es_fail(err, -ENOMEM, "out of memory");
	for (uint64_t off = 0; off < ino->size && !ret;) {
		size_t n = ino->size - off < bufsize ? (size_t)(ino->size - off) : bufsize;

		ret = es_read(img, ino, off, buf, n, err);
		if (!ret && fwrite(buf, 1, n, stdout) != n)
			ret = es_fail(err, -EIO, "writing to standard output: %s",
				      strerror(errno));
		off += n;
	}
	if (!ret && fflush(stdout) != 0)
		ret = es_fail(err, -EIO, "writing to standard output: %s", strerror(errno));
	free(buf);
	return ret;
}

/* dump --blkid-udev: what udev's blkid builtin would import */
static void show_blkid_udev(const struct es_image *img)
{
	const uint8_t *u = img->sb.uuid;
	char uuid[37];

	snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	printf("ID_FS_UUID=%s\nID_FS_UUID_ENC=%s\nID_FS_TYPE=erofs\nID_FS_USAGE=filesystem\n",
	       uuid, uuid);
}

/* dump --leakage IMAGE...: the keyless view of a set of images. */
static int show_leakage(char *const *paths, unsigned int n, struct es_err *err)
{
	struct es_seal *seals[ES_LEAK_MAX_IMAGES] = { 0 };
	struct es_leakage *lk = NULL;
	unsigned int opened = 0;
	int ret = 0;

	if (n > ES_LEAK_MAX_IMAGES)
		return es_fail(err, -EINVAL, "at most %u images", ES_LEAK_MAX_IMAGES);
	for (; opened < n && !ret; opened++) {
		struct es_io io;

		ret = es_io_file_open(&io, paths[opened], NULL, err);
		if (!ret) {
			ret = es_seal_read_io(&io, &seals[opened], err);
			es_io_close(&io);
		}
		if (ret)
			es_err_prefix(err, "%s: ", paths[opened]);
	}
	if (!ret) {
		lk = malloc(sizeof(*lk));
		ret = lk ? es_leakage((const struct es_seal *const *)seals, n, lk, err) :
			   es_fail(err, -ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; !ret && i < n; i++) {
		const struct es_leak_image *li = &lk->images[i];

		printf("%s: %s, %u device%s, filesystem region %llu bytes, blobs %llu bytes\n",
		       paths[i], li->encrypted ? "encrypted" : "NOT encrypted (everything "
		       "is readable)", li->devices, li->devices == 1 ? "" : "s",
		       (unsigned long long)li->fs_bytes, (unsigned long long)li->blob_bytes);
		printf("  chunks: %llu distinct (%llu blocks), chunk size %u",
		       (unsigned long long)li->chunks, (unsigned long long)li->chunk_blocks,
		       li->chunksize);
		if (li->exact_lengths)
			printf(", exact byte lengths of %llu", (unsigned long long)li->exact_lengths);
		printf("\n  chunk sizes in blocks:");
		for (unsigned int c = 0; c < ES_LEAK_CLASSES; c++)
			if (li->size_hist[c])
				printf(" %s%u: %llu", c + 1 == ES_LEAK_CLASSES ? ">" : "<=", 1u << c,
				       (unsigned long long)li->size_hist[c]);
		printf("\n  chunks shorter than the chunk size (each ends a file, so it "
		       "tells that file's size in blocks modulo the chunk size): %llu\n",
		       (unsigned long long)li->tail_chunks);
	}
	if (!ret) {
		printf("all images: %llu distinct chunks, %llu listed by more than one image\n",
		       (unsigned long long)lk->distinct_chunks,
		       (unsigned long long)lk->shared_chunks);
		for (unsigned int i = 0; i < n; i++)
			for (unsigned int j = i + 1; j < n; j++)
				printf("  %s and %s share %llu chunks\n", paths[i], paths[j],
				       (unsigned long long)lk->shared[i][j]);
		printf("Within one image, which files share a chunk is in the (encrypted) "
		       "chunk tables; the chunk index lists each chunk once.\n");
	}
	free(lk);
	for (unsigned int i = 0; i < n; i++)
		es_seal_free(seals[i]);
	return ret;
}

/*
 * An encrypted image's key table, attached to img: the seal read through
 * the trust pipeline (its signatures against trust), then the unlock
 * policy and the credentials (lib/keys/unlock.c).
 */
static int unlock_image(struct es_image *img, const struct es_trust *trust,
			struct es_unlock_opts *uo, struct es_unlocked **out, struct es_err *err)
{
	static const struct es_verify_opts vo = { .parse_unverified = true };
	struct es_verify_report r;
	struct es_unlock_report ur;
	int ret = es_verify_image(&img->io, trust, &vo, &r, err);

	if (!ret && (r.read_status || r.parse_status))
		ret = es_fail(err, r.read_status ? r.read_status : r.parse_status, "%s",
			      r.read_status ? r.read_err.msg : r.parse_err.msg);
	if (!ret) {
		uo->authenticated = r.auth_status == 0;
		ret = es_image_unlock(img, r.seal, uo, out, &ur, err);
	}
	es_verify_report_free(&r);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "nid", required_argument, NULL, OPT_NID },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "ls", no_argument, NULL, OPT_LS },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
		{ "export-manifest", required_argument, NULL, OPT_EXPORT_MANIFEST },
		{ "export-signature", required_argument, NULL, OPT_EXPORT_SIG },
		{ "delta", required_argument, NULL, OPT_DELTA },
		{ "leakage", no_argument, NULL, OPT_LEAKAGE },
		{ "unlock", required_argument, NULL, OPT_UNLOCK },
		{ "allow-unsigned", no_argument, NULL, OPT_ALLOW_UNSIGNED },
		{ "key-area", required_argument, NULL, OPT_KEY_AREA },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "pubkey", required_argument, NULL, OPT_PUBKEY },
		{ "expect-digest", required_argument, NULL, OPT_EXPECT_DIGEST },
		{ "cat", no_argument, NULL, OPT_CAT },
		{ "blkid-udev", no_argument, NULL, OPT_BLKID_UDEV },
		{ "offset", required_argument, NULL, CLI_OPT_UNSUPPORTED },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_list unlocks = { .n = 0 }, certs = { .n = 0 }, pubkeys = { .n = 0 };
	struct cli_list digests = { .n = 0 };
	struct es_unlock_opts uo = { 0 };
	struct es_unlocked *unlocked = NULL;
	struct es_trust *trust = NULL;
	struct cli_prompt prompt_ctx = { .what = "the image" };
	struct es_passphrase_prompt prompt = { cli_prompt_passphrase, &prompt_ctx };
	bool leakage = false;
	struct cli_list devices = { .n = 0 };
	bool show_sb = false, stats = false, extents = false, list = false, have_nid = false;
	bool cat = false, blkid_udev = false;
	char optname[64];
	int longindex = 0;
	const char *path = NULL, *manifest_out = NULL, *sig_out = NULL, *delta_old = NULL;
	unsigned int sig_index = 0;
	struct es_open_opts oo = { 0 };
	struct es_err err = { 0 };
	struct es_image *img;
	uint64_t nid = 0;
	int c, ret = 0;
	struct jbuf json = { 0 }, *j = NULL;

	cli_set_prog_name(argv, prog);
	want_json = json_wanted(argc, argv);
	cli_raise_fd_limit();
	while ((c = getopt_long(argc, argv, "hVsSe", longopts, &longindex)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s (erofs-seal) %s\n", prog, PACKAGE_VERSION);
			return 0;
		case 's':
			show_sb = true;
			break;
		case 'S':
			stats = true;
			break;
		case 'e':
			extents = true;
			break;
		case OPT_NID:
			if (!cli_parse_u64(optarg, UINT64_MAX, &nid))
				return usage_error("invalid nid");
			have_nid = true;
			break;
		case OPT_PATH:
			path = optarg;
			break;
		case OPT_LS:
			list = true;
			break;
		case OPT_CAT:
			cat = true;
			break;
		case OPT_BLKID_UDEV:
			blkid_udev = true;
			break;
		case CLI_OPT_UNSUPPORTED:
			return cli_unsupported(prog, unsupported,
					       cli_long_name(longopts, longindex, optname,
							     sizeof(optname)), EXIT_USAGE);
		case OPT_DEVICE:
			if (!cli_list_add(&devices, optarg))
				return usage_error("too many --device options");
			break;
		case OPT_BLOB_DIR: {
			char why[512];

			if (cli_blob_dir_problem(optarg, why, sizeof(why)))
				return usage_error(why);
			oo.blob_dir = optarg;
			break;
		}
		case OPT_EXPORT_MANIFEST:
			manifest_out = optarg;
			break;
		case OPT_EXPORT_SIG: {
			char *colon = strchr(optarg, ':');
			uint64_t n;

			if (!colon || !colon[1])
				return usage_error("--export-signature needs N:FILE");
			*colon = '\0';
			if (!cli_parse_u64(optarg, 64, &n) || !n)
				return usage_error("--export-signature: bad signature number");
			sig_index = (unsigned int)n;
			sig_out = colon + 1;
			break;
		}
		case OPT_DELTA:
			delta_old = optarg;
			break;
		case OPT_LEAKAGE:
			leakage = true;
			break;
		case OPT_UNLOCK:
			if (!cli_list_add(&unlocks, optarg))
				return usage_error("too many --unlock options");
			break;
		case OPT_ALLOW_UNSIGNED:
			uo.allow_unsigned = true;
			break;
		case OPT_KEY_AREA:
			uo.key_area_path = optarg;
			break;
		case OPT_CERT:
		case OPT_PUBKEY:
			if (!cli_list_add(c == OPT_CERT ? &certs : &pubkeys, optarg))
				return usage_error("too many trust anchors");
			break;
		case OPT_EXPECT_DIGEST:
			if (!cli_list_add(&digests, optarg))
				return usage_error("too many --expect-digest options");
			break;
		case OPT_JSON:
			break;		/* want_json */
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return json_fail(NULL, NULL, EXIT_USAGE,
					 "unrecognized option or missing argument");
		}
	}
	if (leakage) {
		if (want_json)
			return usage_error("--json goes with -s, -S and --delta only");
		if (argc == optind)
			return usage_error("--leakage needs at least one IMAGE");
		if (show_sb || stats || have_nid || path || manifest_out || sig_out ||
		    delta_old || unlocks.n)
			return usage_error("--leakage goes with no other option");
		if (show_leakage(argv + optind, (unsigned int)(argc - optind), &err)) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return EXIT_FAILED;
		}
		return 0;
	}
	if (argc - optind != 1)
		return usage_error(argc - optind ? "too many arguments" : "no IMAGE given");
	if ((certs.n || pubkeys.n || digests.n || uo.allow_unsigned || uo.key_area_path) &&
	    !unlocks.n)
		return usage_error("trust anchors, --allow-unsigned and --key-area go with "
				   "--unlock");
	if ((extents || list || cat) && !have_nid && !path)
		return usage_error("-e, --ls and --cat need --nid or --path");
	if (cat && (show_sb || stats || extents || list))
		return usage_error("--cat goes with none of -s, -S, -e and --ls");
	if (have_nid && path)
		return usage_error("--nid and --path exclude each other");
	if (want_json && (have_nid || path || manifest_out || sig_out))
		return usage_error("--json goes with -s, -S and --delta only");
	oo.device_paths = devices.items;
	oo.ndevice_paths = devices.n;
	ret = es_image_open(&img, argv[optind], &oo, &err);
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return json_fail(NULL, argv[optind], EXIT_FAILED, err.msg);
	}
	if (want_json) {
		j = &json;
		json_begin(j, prog);
		json_add(j, ",\"image\":");
		json_str(j, argv[optind]);
	}
	if (unlocks.n) {
		cli_protect_secrets();
		trust = cli_trust_load(prog, &certs, &pubkeys, &digests, EXIT_USAGE, EXIT_FAILED,
				       &ret);
		if (!trust) {
			es_image_close(img);
			free(json.buf);
			return json_fail(NULL, argv[optind], ret, "a trust anchor cannot be used");
		}
		uo.image_path = argv[optind];
		uo.specs = unlocks.items;
		uo.nspecs = unlocks.n;
		uo.prompt = &prompt;
		ret = es_image_encrypted(img) ? unlock_image(img, trust, &uo, &unlocked, &err) :
		      es_fail(&err, -EINVAL, "the image is not encrypted: --unlock has nothing "
			      "to open");
		es_trust_free(trust);
		if (ret) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			es_image_close(img);
			ret = json_fail(j, argv[optind], ret == -EKEYREJECTED || ret == -EPERM ||
					ret == -ERANGE ? EXIT_LOCKED : EXIT_FAILED, err.msg);
			free(json.buf);
			return ret;
		}
	}
	if (blkid_udev) {
		show_blkid_udev(img);
		es_image_close(img);
		es_unlocked_free(unlocked);
		return 0;
	}
	if (show_sb || (!stats && !have_nid && !path && !manifest_out && !sig_out && !delta_old)) {
		if (j) {
			json_super(j, img);
		} else {
			show_super(img);
		}
		show_seal(img, j);
	}
	if (!ret && (manifest_out || sig_out))
		ret = export_seal(img, manifest_out, sig_index, sig_out, &err);
	if (!ret && delta_old)
		ret = show_delta(img, argv[optind], delta_old, j, &err);
	if (!ret && stats)
		ret = show_stats(img, j, &err);
	if (!ret && (have_nid || path)) {
		struct es_inode ino;

		if (path)
			ret = es_lookup(img, path, &nid, &err);
		if (!ret)
			ret = es_inode_read(img, nid, &ino, &err);
		if (!ret && list)
			ret = es_dir_iterate(img, &ino, ls_cb, NULL, &err);
		else if (!ret && cat)
			ret = cat_inode(img, &ino, &err);
		else if (!ret)
			ret = show_inode(img, &ino, extents, &err);
	}
	es_image_close(img);
	es_unlocked_free(unlocked);
	if (ret) {
		fflush(stdout);
		fprintf(stderr, "%s: %s%s\n", prog, err.msg,
			ret == -EACCES ? " (give --unlock)" : "");
		ret = json_fail(j, argv[optind], EXIT_FAILED, err.msg);
	} else if (j) {
		json_add(j, "}\n");
		if (j->oom) {
			fprintf(stderr, "%s: out of memory\n", prog);
			ret = EXIT_FAILED;
		} else {
			fputs(j->buf, stdout);
		}
	}
	free(json.buf);
	return ret;
}
