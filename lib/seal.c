// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* The seal trailer: encoding, parsing and cross-checking (docs/FORMAT.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/format.h"
#include "erofs/seal.h"
#include "erofs/sha256.h"
#include "erofs/sign.h"
#include "erofs/verity.h"
#include "io.h"

/* locator */
#define LOC_MAGIC		"EROFSEAL"
#define LOC_VERSION		8
#define LOC_USED		12
#define LOC_UUID		16
#define LOC_FS_SIZE		32
#define LOC_SECTIONS		40	/* 5 x (le64 offset, le64 length) */
#define LOC_CHECKSUM		120
#define LOC_BYTES		152

/* manifest */
#define MF_MAGIC		"ESMANIF1"
#define MF_VERSION		8
#define MF_FLAGS		12
#define MF_UUID			16
#define MF_BUILD_TIME		32
#define MF_BLKSZ		40
#define MF_CHUNKSIZE		44
#define MF_SUITE		48
#define MF_NDEVICES		52
#define MF_KEY_TABLE_DIGEST	56
#define MF_CHUNK_INDEX_DIGEST	88
#define MF_DEVICES		120
#define MF_DEVICE_SIZE		48

/* signatures */
#define SIG_MAGIC		"ESSIGS01"
#define SIG_HEADER		16
#define SIG_REC_HEADER		40

/* chunk index */
#define CI_MAGIC		"ESCHIDX1"
#define CI_HEADER		16
#define CI_REC			48

void es_seal_free(struct es_seal *s)
{
	if (!s)
		return;
	free(s->manifest);
	free(s->devices);
	for (unsigned int i = 0; i < s->nsigs; i++)
		free(s->sigs[i].data);
	free(s->sigs);
	free(s->chunks);
	free(s);
}

static int read_section(int fd, const struct es_seal_section *sec,
			uint8_t **out, const char *what, struct es_err *err)
{
	ssize_t got;

	*out = malloc(sec->len ? sec->len : 1);
	if (!*out)
		return es_fail(err, -ENOMEM, "out of memory reading the %s", what);
	got = es_pread_full(fd, *out, sec->len, sec->off);
	if (got < 0 || (uint64_t)got != sec->len) {
		free(*out);
		*out = NULL;
		return es_fail(err, got < 0 ? (int)got : -EIO, "cannot read the %s", what);
	}
	return 0;
}

/* Every byte of [off, off + len) is zero (len may be 0). */
static int check_zero(int fd, uint64_t off, uint64_t len, const char *what,
		      struct es_err *err)
{
	uint8_t buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t got = es_pread_full(fd, buf, n, off);

		if (got < 0 || (size_t)got != n)
			return es_fail(err, got < 0 ? (int)got : -EIO, "cannot read the %s", what);
		for (size_t i = 0; i < n; i++)
			if (buf[i])
				return es_fail(err, -ES_ECORRUPT, "seal: byte %llu (%s) is not "
					       "zero: the seal carries bytes that nothing "
					       "authenticates", (unsigned long long)(off + i),
					       what);
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * The seal region must be exactly what the writer lays out: manifest at the
 * filesystem's end, then signatures (if any), trees and chunk index, each at
 * the first 4 KiB boundary after the previous one, then the locator; the
 * padding in between is zero.  Nothing signs the locator or the padding, so
 * any slack would be room for unauthenticated data that still "verifies".
 */
static int check_layout(int fd, uint64_t loc_off, const struct es_seal *s,
			struct es_err *err)
{
	const struct {
		const struct es_seal_section *sec;
		const char *name, *pad;
	} order[] = {
		{ &s->manifest_sec, "manifest", "padding after the manifest" },
		{ &s->sigs_sec, "signatures", "padding after the signatures" },
		{ &s->trees_sec, "trees", "padding after the trees" },
		{ &s->index_sec, "chunk index", "padding after the chunk index" },
	};
	uint64_t pos = s->fs_size;
	int ret;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct es_seal_section *sec = order[i].sec;
		uint64_t end;

		if (sec == &s->sigs_sec && !sec->len) {
			if (sec->off)
				return es_fail(err, -ES_ECORRUPT, "seal locator: an empty "
					       "signatures section must be (0, 0)");
			continue;
		}
		if (sec->off != pos)
			return es_fail(err, -ES_ECORRUPT, "seal: the %s section starts at byte "
				       "%llu, not at %llu where the previous section ends: "
				       "the seal holds bytes that no section accounts for",
				       order[i].name, (unsigned long long)sec->off,
				       (unsigned long long)pos);
		end = sec->off + sec->len;
		pos = es_round_up(end, ES_SEAL_ALIGN);
		if (pos > loc_off)
			return es_fail(err, -ES_ECORRUPT, "seal: the %s section runs into the "
				       "locator", order[i].name);
		ret = check_zero(fd, end, pos - end, order[i].pad, err);
		if (ret)
			return ret;
	}
	if (pos != loc_off)
		return es_fail(err, -ES_ECORRUPT, "seal: %llu bytes lie between the chunk "
			       "index and the locator (the format leaves none)",
			       (unsigned long long)(loc_off - pos));
	return 0;
}

static int parse_locator(int fd, uint64_t file_size, struct es_seal *s,
			 struct es_err *err)
{
	uint8_t loc[ES_LOCATOR_SIZE], sum[32];
	struct es_seal_section *secs[5] = {
		&s->manifest_sec, &s->sigs_sec, &s->trees_sec, &s->index_sec, &s->keys_sec,
	};
	static const char *const names[5] = {
		"manifest", "signatures", "trees", "chunk index", "key area",
	};
	uint64_t loc_off;
	ssize_t got;
	int ret;

	if (file_size < ES_LOCATOR_SIZE)
		return -ENODATA;
	loc_off = file_size - ES_LOCATOR_SIZE;
	got = es_pread_full(fd, loc, sizeof(loc), loc_off);
	if (got != (ssize_t)sizeof(loc))
		return es_fail(err, -EIO, "cannot read the seal locator");
	if (memcmp(loc, LOC_MAGIC, 8))
		return -ENODATA;
	ret = es_sha256(loc, LOC_CHECKSUM, sum);
	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	if (memcmp(sum, loc + LOC_CHECKSUM, 32))
		return es_fail(err, -ES_ECORRUPT, "seal locator: checksum mismatch "
			       "(the last 4 KiB of the image are damaged)");
	if (es_get32(loc + LOC_VERSION) != ES_SEAL_VERSION)
		return es_fail(err, -EOPNOTSUPP, "seal locator: version %u is not "
			       "supported", es_get32(loc + LOC_VERSION));
	if (es_get32(loc + LOC_USED) != LOC_BYTES)
		return es_fail(err, -ES_ECORRUPT, "seal locator: %u bytes used, version 1 "
			       "uses %u", es_get32(loc + LOC_USED), LOC_BYTES);
	for (size_t i = LOC_BYTES; i < sizeof(loc); i++)
		if (loc[i])
			return es_fail(err, -ES_ECORRUPT, "seal locator: byte %zu is not zero: "
				       "the seal carries bytes that nothing authenticates", i);
	memcpy(s->uuid, loc + LOC_UUID, 16);
	s->fs_size = es_get64(loc + LOC_FS_SIZE);
	if (s->fs_size % ES_SEAL_ALIGN || s->fs_size > loc_off)
		return es_fail(err, -ES_ECORRUPT, "seal locator: bad filesystem size %llu",
			       (unsigned long long)s->fs_size);
	for (int i = 0; i < 5; i++) {
		const uint8_t *p = loc + LOC_SECTIONS + 16 * i;

		secs[i]->off = es_get64(p);
		secs[i]->len = es_get64(p + 8);
		if (!secs[i]->len && i != 0)
			continue;
		if (secs[i]->off % ES_SEAL_ALIGN || secs[i]->off < s->fs_size ||
		    secs[i]->off > loc_off || secs[i]->len > loc_off - secs[i]->off)
			return es_fail(err, -ES_ECORRUPT, "seal locator: the %s section "
				       "(%llu bytes at %llu) lies outside the seal", names[i],
				       (unsigned long long)secs[i]->len,
				       (unsigned long long)secs[i]->off);
	}
	if (!s->manifest_sec.len)
		return es_fail(err, -ES_ECORRUPT, "seal locator: no manifest");
	if (s->keys_sec.off || s->keys_sec.len)
		return es_fail(err, -ES_ECORRUPT, "seal locator: the key area is reserved "
			       "in version 1 and must be (0, 0)");
	return check_layout(fd, loc_off, s, err);
}

static int read_manifest(int fd, struct es_seal *s, struct es_err *err)
{
	int ret;

	if (s->manifest_sec.len < MF_DEVICES || s->manifest_sec.len > (1u << 24))
		return es_fail(err, -ES_ECORRUPT, "manifest: bad length %llu",
			       (unsigned long long)s->manifest_sec.len);
	ret = read_section(fd, &s->manifest_sec, &s->manifest, "manifest", err);
	if (ret)
		return ret;
	s->manifest_len = (size_t)s->manifest_sec.len;
	return 0;
}

static int parse_manifest(struct es_seal *s, struct es_err *err)
{
	const uint8_t *m = s->manifest;
	uint64_t need, trees_end = 0;

	if (memcmp(m, MF_MAGIC, 8))
		return es_fail(err, -ES_ECORRUPT, "manifest: bad magic");
	if (es_get32(m + MF_VERSION) != ES_SEAL_VERSION)
		return es_fail(err, -EOPNOTSUPP, "manifest: version %u is not supported",
			       es_get32(m + MF_VERSION));
	s->flags = es_get32(m + MF_FLAGS);
	s->build_time = (int64_t)es_get64(m + MF_BUILD_TIME);
	s->blksz = es_get32(m + MF_BLKSZ);
	s->chunksize = es_get32(m + MF_CHUNKSIZE);
	s->suite = es_get32(m + MF_SUITE);
	s->ndevices = es_get32(m + MF_NDEVICES);
	memcpy(s->key_table_digest, m + MF_KEY_TABLE_DIGEST, 32);
	memcpy(s->chunk_index_digest, m + MF_CHUNK_INDEX_DIGEST, 32);
	if (s->flags || s->suite)
		return es_fail(err, -EOPNOTSUPP, "manifest: flags 0x%x / crypto suite %u "
			       "are not supported by this version", s->flags, s->suite);
	need = MF_DEVICES + (uint64_t)s->ndevices * MF_DEVICE_SIZE;
	if (!s->ndevices || s->ndevices > ES_MANIFEST_MAX_DEVICES || need != s->manifest_len)
		return es_fail(err, -ES_ECORRUPT, "manifest: %u devices do not match its "
			       "length of %zu bytes", s->ndevices, s->manifest_len);
	if (memcmp(m + MF_UUID, s->uuid, 16))
		return es_fail(err, -ES_ECORRUPT, "manifest: UUID differs from the locator's");
	if (s->blksz != ES_VERITY_BLOCK_SIZE)
		return es_fail(err, -ES_ECORRUPT, "manifest: block size %u", s->blksz);
	s->devices = calloc(s->ndevices, sizeof(*s->devices));
	if (!s->devices)
		return es_fail(err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < s->ndevices; i++) {
		const uint8_t *d = m + MF_DEVICES + (size_t)i * MF_DEVICE_SIZE;
		struct es_seal_device *dev = &s->devices[i];
		struct es_verity_geom g;

		dev->size = es_get64(d);
		memcpy(dev->digest, d + 8, 32);
		dev->tree_offset = es_get64(d + 40);
		es_verity_geometry(dev->size, &g);
		if (dev->tree_offset > s->trees_sec.len ||
		    g.tree_size > s->trees_sec.len - dev->tree_offset)
			return es_fail(err, -ES_ECORRUPT, "manifest: the tree of device %u "
				       "lies outside the trees section", i);
		/* trees follow each other at 4 KiB boundaries, so the trees
		 * section holds no byte that is not part of a checked tree */
		if (dev->tree_offset != trees_end)
			return es_fail(err, -ES_ECORRUPT, "manifest: the tree of device %u "
				       "is at byte %llu of the trees section, not at %llu "
				       "where the previous one ends", i,
				       (unsigned long long)dev->tree_offset,
				       (unsigned long long)trees_end);
		trees_end = es_round_up(dev->tree_offset + g.tree_size, ES_SEAL_ALIGN);
		if (i == 0 && dev->size != s->fs_size)
			return es_fail(err, -ES_ECORRUPT, "manifest: device 0 is %llu bytes, "
				       "the filesystem %llu", (unsigned long long)dev->size,
				       (unsigned long long)s->fs_size);
	}
	if (s->trees_sec.len != trees_end)
		return es_fail(err, -ES_ECORRUPT, "seal: the trees section is %llu bytes, "
			       "the trees the manifest lists take %llu",
			       (unsigned long long)s->trees_sec.len,
			       (unsigned long long)trees_end);
	return 0;
}

int es_seal_check_image(const struct es_image *img, const struct es_seal *s,
			struct es_err *err)
{
	uint64_t fs_size = (uint64_t)img->sb.blocks << img->sb.blkszbits;

	if (s->fs_size != fs_size)
		return es_fail(err, -ES_ECORRUPT, "seal: filesystem size %llu differs "
			       "from the superblock's %llu", (unsigned long long)s->fs_size,
			       (unsigned long long)fs_size);
	if (memcmp(s->uuid, img->sb.uuid, 16))
		return es_fail(err, -ES_ECORRUPT, "seal: UUID differs from the "
			       "superblock's (seal from another image?)");
	if (s->blksz != img->sb.blksz)
		return es_fail(err, -ES_ECORRUPT, "manifest: block size differs from the "
			       "superblock's");
	if (s->ndevices != img->ndevices)
		return es_fail(err, -ES_ECORRUPT, "manifest lists %u devices, the device "
			       "table %u", s->ndevices, img->ndevices);
	for (unsigned int i = 1; i < s->ndevices; i++) {
		const struct es_seal_device *dev = &s->devices[i];
		char hex[65];

		es_hex(dev->digest, 32, hex);
		if (memcmp(img->devices[i].tag, hex, 64))
			return es_fail(err, -ES_ECORRUPT, "device table slot %u: tag does not "
				       "name the blob the manifest lists (%s)", i, hex);
		if (img->devices[i].table_blocks !=
		    (dev->size + img->sb.blksz - 1) / img->sb.blksz)
			return es_fail(err, -ES_ECORRUPT, "device table slot %u: %u blocks, "
				       "the manifest says %llu bytes", i,
				       img->devices[i].table_blocks,
				       (unsigned long long)dev->size);
	}
	return 0;
}

static int parse_signatures(int fd, struct es_seal *s, struct es_err *err)
{
	uint8_t *buf;
	uint64_t pos;
	uint32_t count;
	int ret;

	if (!s->sigs_sec.len)
		return 0;
	if (s->sigs_sec.len < SIG_HEADER || s->sigs_sec.len > 64u * ES_SIGNATURE_MAX)
		return es_fail(err, -ES_ECORRUPT, "signatures: bad section length");
	ret = read_section(fd, &s->sigs_sec, &buf, "signatures", err);
	if (ret)
		return ret;
	if (memcmp(buf, SIG_MAGIC, 8)) {
		free(buf);
		return es_fail(err, -ES_ECORRUPT, "signatures: bad magic");
	}
	count = es_get32(buf + 8);
	if (count > 64 || es_get32(buf + 12)) {
		uint32_t reserved = es_get32(buf + 12);

		free(buf);
		return es_fail(err, -ES_ECORRUPT, "signatures: %u records, reserved field "
			       "%u", count, reserved);
	}
	s->sigs = calloc(count ? count : 1, sizeof(*s->sigs));
	if (!s->sigs) {
		free(buf);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	pos = SIG_HEADER;
	for (uint32_t i = 0; i < count; i++) {
		struct es_seal_sig *sig = &s->sigs[i];

		if (pos + SIG_REC_HEADER > s->sigs_sec.len) {
			ret = es_fail(err, -ES_ECORRUPT, "signature %u: record truncated", i + 1);
			break;
		}
		sig->type = es_get32(buf + pos);
		sig->len = es_get32(buf + pos + 4);
		memcpy(sig->key_id, buf + pos + 8, 32);
		if (!sig->len || sig->len > ES_SIGNATURE_MAX ||
		    sig->len > s->sigs_sec.len - pos - SIG_REC_HEADER) {
			ret = es_fail(err, -ES_ECORRUPT, "signature %u: bad length %u", i + 1,
				      sig->len);
			break;
		}
		sig->data = malloc(sig->len);
		if (!sig->data) {
			ret = es_fail(err, -ENOMEM, "out of memory");
			break;
		}
		memcpy(sig->data, buf + pos + SIG_REC_HEADER, sig->len);
		s->nsigs++;
		pos += SIG_REC_HEADER + sig->len;
		/* the signatures section is not signed (it cannot sign itself):
		 * padding and slack would be unauthenticated bytes */
		for (; pos % 8 && pos < s->sigs_sec.len; pos++) {
			if (buf[pos]) {
				ret = es_fail(err, -ES_ECORRUPT, "signature %u: padding is "
					      "not zero", i + 1);
				break;
			}
		}
		if (ret)
			break;
	}
	if (!ret && pos != s->sigs_sec.len)
		ret = es_fail(err, -ES_ECORRUPT, "signatures: %llu bytes follow the last "
			      "record", (unsigned long long)(s->sigs_sec.len - pos));
	free(buf);
	return ret;
}

static int parse_chunk_index(int fd, struct es_seal *s, struct es_err *err)
{
	uint8_t *buf, sum[32];
	uint64_t count;
	int ret;

	if (s->index_sec.len < CI_HEADER)
		return es_fail(err, -ES_ECORRUPT, "chunk index: bad section length");
	ret = read_section(fd, &s->index_sec, &buf, "chunk index", err);
	if (ret)
		return ret;
	ret = es_sha256(buf, (size_t)s->index_sec.len, sum);
	if (ret) {
		free(buf);
		return es_fail(err, ret, "SHA-256 failed");
	}
	if (memcmp(sum, s->chunk_index_digest, 32)) {
		free(buf);
		return es_fail(err, -EBADMSG, "chunk index: digest differs from the "
			       "manifest's (chunk index damaged)");
	}
	count = es_get64(buf + 8);
	if (memcmp(buf, CI_MAGIC, 8) || count != (s->index_sec.len - CI_HEADER) / CI_REC ||
	    (s->index_sec.len - CI_HEADER) % CI_REC) {
		free(buf);
		return es_fail(err, -ES_ECORRUPT, "chunk index: malformed");
	}
	s->chunks = calloc(count ? count : 1, sizeof(*s->chunks));
	if (!s->chunks) {
		free(buf);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *r = buf + CI_HEADER + i * CI_REC;
		struct es_chunk_rec *c = &s->chunks[i];

		memcpy(c->digest, r, 32);
		c->blkaddr = es_get32(r + 32);
		c->nblocks = es_get32(r + 36);
		c->length = es_get32(r + 40);
		c->device = es_get16(r + 44);
		if (c->device >= s->ndevices || !c->nblocks ||
		    c->length > (uint64_t)c->nblocks * s->blksz ||
		    ((uint64_t)c->blkaddr + c->nblocks) * s->blksz >
		    es_round_up(s->devices[c->device].size, s->blksz)) {
			free(buf);
			return es_fail(err, -ES_ECORRUPT, "chunk index entry %llu lies "
				       "outside its device", (unsigned long long)i);
		}
	}
	s->nchunks = count;
	free(buf);
	return 0;
}

int es_seal_open_fd(int fd, uint64_t file_size, struct es_seal **out, struct es_err *err)
{
	struct es_seal *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = parse_locator(fd, file_size, s, err);
	if (!ret)
		ret = read_manifest(fd, s, err);
	if (!ret)
		ret = parse_signatures(fd, s, err);
	if (ret) {
		es_seal_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

int es_seal_parse(int fd, struct es_seal *s, struct es_err *err)
{
	int ret = parse_manifest(s, err);

	if (!ret)
		ret = parse_chunk_index(fd, s, err);
	return ret;
}

int es_seal_read_fd(int fd, uint64_t file_size, struct es_seal **out, struct es_err *err)
{
	int ret = es_seal_open_fd(fd, file_size, out, err);

	if (!ret) {
		ret = es_seal_parse(fd, *out, err);
		if (ret) {
			es_seal_free(*out);
			*out = NULL;
		}
	}
	return ret;
}

int es_seal_read(const struct es_image *img, struct es_seal **out, struct es_err *err)
{
	int ret = es_seal_read_fd(img->fd, img->file_size, out, err);

	if (!ret) {
		ret = es_seal_check_image(img, *out, err);
		if (ret) {
			es_seal_free(*out);
			*out = NULL;
		}
	}
	return ret;
}

int es_seal_load_tree(int image_fd, const struct es_seal *s,
		      unsigned int dev, uint8_t **tree, size_t *len, struct es_err *err)
{
	struct es_verity_geom g;
	ssize_t got;

	*tree = NULL;
	*len = 0;
	es_verity_geometry(s->devices[dev].size, &g);
	if (!g.tree_size)
		return 0;
	*tree = malloc(g.tree_size);
	if (!*tree)
		return es_fail(err, -ENOMEM, "out of memory for the tree of device %u", dev);
	got = es_pread_full(image_fd, *tree, g.tree_size,
			    s->trees_sec.off + s->devices[dev].tree_offset);
	if (got < 0 || (uint64_t)got != g.tree_size) {
		free(*tree);
		*tree = NULL;
		return es_fail(err, -EIO, "cannot read the tree of device %u", dev);
	}
	*len = g.tree_size;
	return 0;
}

static void device_name(const struct es_seal *s, unsigned int dev, char *buf, size_t len)
{
	char hex[65];

	if (dev == 0) {
		snprintf(buf, len, "filesystem region (device 0)");
		return;
	}
	es_hex(s->devices[dev].digest, 32, hex);
	snprintf(buf, len, "blob %u (%.16s…)", dev, hex);
}

int es_seal_verify_device(int image_fd, const struct es_seal *s,
			  unsigned int dev, int fd, unsigned int nthreads,
			  struct es_err *err)
{
	const struct es_seal_device *d = &s->devices[dev];
	uint8_t digest[32], *computed = NULL, *stored = NULL;
	size_t computed_len = 0, stored_len = 0;
	struct es_verity_geom g;
	char name[96];
	struct stat st;
	off_t end;
	int ret;

	device_name(s, dev, name, sizeof(name));
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return es_fail(err, -errno, "%s: cannot size: %s", name, strerror(errno));
	/* a blob may sit on a block device (a partition) larger than itself */
	if (dev != 0 && (uint64_t)end != d->size &&
	    !((uint64_t)end > d->size && fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)))
		return es_fail(err, -EBADMSG, "%s: %llu bytes, the manifest says %llu "
			       "(truncated or replaced?)", name, (unsigned long long)end,
			       (unsigned long long)d->size);
	if ((uint64_t)end < d->size)
		return es_fail(err, -EBADMSG, "%s: truncated", name);
	ret = es_verity_digest_fd_parallel(fd, d->size, nthreads, digest, &computed,
					   &computed_len);
	if (ret)
		return es_fail(err, ret, "%s: read error: %s", name, strerror(-ret));
	ret = es_seal_load_tree(image_fd, s, dev, &stored, &stored_len, err);
	if (ret)
		goto out;
	es_verity_geometry(d->size, &g);
	if (memcmp(digest, d->digest, 32)) {
		/* say which block: compare level 0 of the computed tree with the
		 * stored one, if the stored one is itself intact */
		uint8_t root[32];
		uint64_t bad = 0;
		bool located = false;

		if (g.levels && stored_len == computed_len &&
		    es_verity_block_digest(stored, ES_VERITY_BLOCK_SIZE, root) == 0 &&
		    es_verity_check_tree(&g, stored, stored_len, root) == 0) {
			uint8_t fd_digest[32];

			es_verity_file_digest(d->size, root, fd_digest);
			if (!memcmp(fd_digest, d->digest, 32)) {
				const uint8_t *a = computed + g.level_offset[0];
				const uint8_t *b = stored + g.level_offset[0];

				for (bad = 0; bad < g.data_blocks; bad++)
					if (memcmp(a + bad * 32, b + bad * 32, 32))
						break;
				located = bad < g.data_blocks;
			}
		} else if (!g.levels) {
			located = true;
			bad = 0;
		}
		if (located)
			ret = es_fail(err, -EBADMSG, "%s: block %llu fails its Merkle tree",
				      name, (unsigned long long)bad);
		else
			ret = es_fail(err, -EBADMSG, "%s: content does not match the "
				      "manifest digest", name);
		goto out;
	}
	if (stored_len != computed_len || (stored_len && memcmp(stored, computed, stored_len))) {
		ret = es_fail(err, -ES_ECORRUPT, "%s: the stored Merkle tree is damaged "
			      "(the data itself matches the manifest)", name);
		goto out;
	}
out:
	free(computed);
	free(stored);
	return ret;
}

/* ---- writing --------------------------------------------------------- */

static uint8_t *encode_manifest(const struct es_seal_input *in,
				const uint8_t index_digest[32], size_t *len)
{
	size_t n = MF_DEVICES + (size_t)in->ndevices * MF_DEVICE_SIZE;
	uint8_t *m = calloc(1, n);

	if (!m)
		return NULL;
	memcpy(m, MF_MAGIC, 8);
	es_put32(m + MF_VERSION, ES_SEAL_VERSION);
	es_put32(m + MF_FLAGS, 0);
	memcpy(m + MF_UUID, in->uuid, 16);
	es_put64(m + MF_BUILD_TIME, (uint64_t)in->build_time);
	es_put32(m + MF_BLKSZ, ES_VERITY_BLOCK_SIZE);
	es_put32(m + MF_CHUNKSIZE, in->chunksize);
	es_put32(m + MF_SUITE, 0);
	es_put32(m + MF_NDEVICES, in->ndevices);
	memcpy(m + MF_CHUNK_INDEX_DIGEST, index_digest, 32);
	for (unsigned int i = 0; i < in->ndevices; i++) {
		uint8_t *d = m + MF_DEVICES + (size_t)i * MF_DEVICE_SIZE;

		es_put64(d, in->devices[i].size);
		memcpy(d + 8, in->devices[i].digest, 32);
		es_put64(d + 40, in->devices[i].tree_offset);
	}
	*len = n;
	return m;
}

static uint8_t *encode_chunk_index(const struct es_seal_input *in, size_t *len)
{
	size_t n = CI_HEADER + (size_t)in->nchunks * CI_REC;
	uint8_t *b = calloc(1, n);

	if (!b)
		return NULL;
	memcpy(b, CI_MAGIC, 8);
	es_put64(b + 8, in->nchunks);
	for (uint64_t i = 0; i < in->nchunks; i++) {
		uint8_t *r = b + CI_HEADER + i * CI_REC;
		const struct es_chunk_rec *c = &in->chunks[i];

		memcpy(r, c->digest, 32);
		es_put32(r + 32, c->blkaddr);
		es_put32(r + 36, c->nblocks);
		es_put32(r + 40, c->length);
		es_put16(r + 44, c->device);
	}
	*len = n;
	return b;
}

static uint8_t *encode_signatures(const struct es_seal_sig *sigs, unsigned int n,
				  size_t *len)
{
	size_t total = SIG_HEADER, pos = SIG_HEADER;
	uint8_t *b;

	for (unsigned int i = 0; i < n; i++)
		total = es_round_up(total + SIG_REC_HEADER + sigs[i].len, 8);
	b = calloc(1, total);
	if (!b)
		return NULL;
	memcpy(b, SIG_MAGIC, 8);
	es_put32(b + 8, n);
	for (unsigned int i = 0; i < n; i++) {
		es_put32(b + pos, sigs[i].type);
		es_put32(b + pos + 4, sigs[i].len);
		memcpy(b + pos + 8, sigs[i].key_id, 32);
		memcpy(b + pos + SIG_REC_HEADER, sigs[i].data, sigs[i].len);
		pos = es_round_up(pos + SIG_REC_HEADER + sigs[i].len, 8);
	}
	*len = total;
	return b;
}

static int put_section(int fd, uint64_t *pos, const void *data, size_t len,
		       struct es_seal_section *sec, struct es_err *err)
{
	int ret;

	sec->off = *pos;
	sec->len = len;
	if (len) {
		ret = es_pwrite_full(fd, data, len, *pos);
		if (ret)
			return es_fail(err, ret, "writing the seal: %s", strerror(-ret));
	}
	*pos = es_round_up(*pos + len, ES_SEAL_ALIGN);
	return 0;
}

int es_seal_write(int fd, const struct es_seal_input *in, struct es_err *err)
{
	struct es_seal_section manifest_sec, sigs_sec = { 0 }, trees_sec, index_sec;
	struct es_seal_sig *sigs = NULL;
	unsigned int nsigs = 0;
	uint8_t *manifest = NULL, *index = NULL, *sigbuf = NULL;
	uint8_t index_digest[32], loc[ES_LOCATOR_SIZE];
	size_t manifest_len, index_len, sig_len = 0;
	uint64_t pos = in->fs_size, tree_total = 0;
	int ret;

	for (unsigned int i = 0; i < in->ndevices; i++) {
		in->devices[i].tree_offset = tree_total;
		tree_total = es_round_up(tree_total + (in->tree_lens ? in->tree_lens[i] : 0),
					 ES_SEAL_ALIGN);
	}
	index = encode_chunk_index(in, &index_len);
	if (!index)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_sha256(index, index_len, index_digest);
	if (ret) {
		free(index);
		return es_fail(err, ret, "SHA-256 failed");
	}
	manifest = encode_manifest(in, index_digest, &manifest_len);
	if (!manifest) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (in->sign) {
		ret = in->sign(in->sign_ctx, manifest, manifest_len, &sigs, &nsigs, err);
		if (ret)
			goto out;
	}
	if (nsigs) {
		sigbuf = encode_signatures(sigs, nsigs, &sig_len);
		if (!sigbuf) {
			ret = es_fail(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	ret = put_section(fd, &pos, manifest, manifest_len, &manifest_sec, err);
	if (!ret && nsigs)
		ret = put_section(fd, &pos, sigbuf, sig_len, &sigs_sec, err);
	trees_sec.off = pos;
	trees_sec.len = tree_total;
	for (unsigned int i = 0; !ret && i < in->ndevices; i++) {
		if (in->tree_lens && in->tree_lens[i]) {
			ret = es_pwrite_full(fd, in->trees[i], in->tree_lens[i],
					     pos + in->devices[i].tree_offset);
			if (ret)
				es_fail(err, ret, "writing the seal: %s", strerror(-ret));
		}
	}
	pos = es_round_up(pos + tree_total, ES_SEAL_ALIGN);
	if (!ret)
		ret = put_section(fd, &pos, index, index_len, &index_sec, err);
	if (ret)
		goto out;
	memset(loc, 0, sizeof(loc));
	memcpy(loc, LOC_MAGIC, 8);
	es_put32(loc + LOC_VERSION, ES_SEAL_VERSION);
	es_put32(loc + LOC_USED, LOC_BYTES);
	memcpy(loc + LOC_UUID, in->uuid, 16);
	es_put64(loc + LOC_FS_SIZE, in->fs_size);
	{
		const struct es_seal_section *secs[5] = {
			&manifest_sec, &sigs_sec, &trees_sec, &index_sec, NULL,
		};

		for (int i = 0; i < 4; i++) {
			es_put64(loc + LOC_SECTIONS + 16 * i, secs[i]->off);
			es_put64(loc + LOC_SECTIONS + 16 * i + 8, secs[i]->len);
		}
	}
	ret = es_sha256(loc, LOC_CHECKSUM, loc + LOC_CHECKSUM);
	if (ret) {
		es_fail(err, ret, "SHA-256 failed");
		goto out;
	}
	ret = es_pwrite_full(fd, loc, sizeof(loc), pos);
	if (ret) {
		es_fail(err, ret, "writing the seal locator: %s", strerror(-ret));
		goto out;
	}
	if (ftruncate(fd, (off_t)(pos + sizeof(loc))) < 0)
		ret = es_fail(err, -errno, "sizing the image: %s", strerror(errno));
out:
	for (unsigned int i = 0; i < nsigs; i++)
		free(sigs[i].data);
	free(sigs);
	free(manifest);
	free(index);
	free(sigbuf);
	return ret;
}

/* ---- signature policy -------------------------------------------------- */

int es_seal_check_signatures(const struct es_seal *s, const struct es_trust *t,
			     struct es_sig_result *results, struct es_err *err)
{
	bool trusted = false, untrusted = false, bad = false;

	for (unsigned int i = 0; i < s->nsigs; i++) {
		const struct es_seal_sig *sig = &s->sigs[i];
		struct es_sig_result local, *r = results ? &results[i] : &local;
		struct es_err e = { 0 };
		int ret;

		memset(r, 0, sizeof(*r));
		es_signature_describe((enum es_sig_type)sig->type, sig->key_id, sig->data,
				      sig->len, r->signer, sizeof(r->signer));
		if (!t)
			continue;
		ret = es_verify_signature(t, (enum es_sig_type)sig->type, sig->key_id,
					  sig->data, sig->len, s->manifest, s->manifest_len,
					  NULL, 0, &e);
		if (!ret) {
			r->status = ES_SIG_TRUSTED;
			trusted = true;
		} else if (ret == -EKEYREJECTED) {
			r->status = ES_SIG_UNTRUSTED;
			untrusted = true;
		} else {
			r->status = ES_SIG_BAD;
			bad = true;
		}
		snprintf(r->error, sizeof(r->error), "%s", e.msg);
	}
	if (!t)
		return 0;
	if (bad)
		return es_fail(err, -EBADMSG, "a signature over the manifest is damaged "
			       "or does not verify");
	if (!s->nsigs)
		return es_fail(err, -EBADMSG, "the image is not signed");
	if (!trusted)
		return es_fail(err, untrusted ? -EKEYREJECTED : -EBADMSG,
			       "no signature is by a trusted signer");
	return 0;
}

/* ---- manifest digest and authentication --------------------------------- */

int es_seal_manifest_digest(const struct es_seal *s, uint8_t digest[32],
			    struct es_err *err)
{
	int ret = es_sha256(s->manifest, s->manifest_len, digest);

	return ret ? es_fail(err, ret, "SHA-256 failed") : 0;
}

void es_manifest_digest_format(const uint8_t digest[32], char *out)
{
	memcpy(out, "sha256:", 7);
	es_hex(digest, 32, out + 7);
}

int es_manifest_digest_parse(const char *text, uint8_t digest[32], struct es_err *err)
{
	char lower[65];
	size_t i;

	if (strncasecmp(text, "sha256:", 7))
		return es_fail(err, -EINVAL, "manifest digest '%.80s': expected sha256:HEX "
			       "(as printed by mkfs.erofs and dump.erofs -s)", text);
	text += 7;
	for (i = 0; i < 64 && text[i]; i++)
		lower[i] = (text[i] >= 'A' && text[i] <= 'F') ? (char)(text[i] - 'A' + 'a')
							      : text[i];
	lower[i] = '\0';
	if (i != 64 || text[64] || !es_unhex(lower, digest, 32))
		return es_fail(err, -EINVAL, "manifest digest 'sha256:%.80s': expected 64 "
			       "hex digits", text);
	return 0;
}

int es_seal_authenticate(const struct es_seal *s, const struct es_trust *t,
			 struct es_sig_result *results, struct es_seal_auth *auth,
			 struct es_err *err)
{
	bool have_keys = es_trust_count(t) > 0, have_pins = es_trust_manifest_digest_count(t) > 0;
	char text[ES_MANIFEST_DIGEST_TEXT_SIZE];
	struct es_err sig_err = { 0 };
	int ret;

	memset(auth, 0, sizeof(*auth));
	ret = es_seal_manifest_digest(s, auth->manifest_digest, err);
	if (ret)
		return ret;
	es_manifest_digest_format(auth->manifest_digest, text);
	if (have_pins) {
		auth->digest = es_trust_has_manifest_digest(t, auth->manifest_digest)
			? ES_DIGEST_MATCH : ES_DIGEST_MISMATCH;
		if (auth->digest == ES_DIGEST_MATCH)
			auth->by = ES_AUTH_DIGEST;
	}
	/* signatures are checked (and reported) even when the digest already
	 * matched, so that a damaged one is still seen */
	auth->signatures = es_seal_check_signatures(s, have_keys ? t : NULL, results,
						    &sig_err);
	if (!have_keys)
		auth->signatures = -ENOKEY;
	else if (!auth->signatures && auth->by == ES_AUTH_NONE)
		auth->by = ES_AUTH_SIGNATURE;
	if (auth->by != ES_AUTH_NONE)
		return 0;
	if (!have_keys && !have_pins)
		return es_fail(err, -ENOKEY, "not authenticated: no trust anchor (no key "
			       "and no pinned manifest digest)");
	if (!have_keys)
		return es_fail(err, -EKEYREJECTED, "the manifest digest %s is not a "
			       "pinned one: another image, or its manifest was changed", text);
	if (have_pins)
		return es_fail(err, auth->signatures, "%s, and the manifest digest %s is "
			       "not a pinned one", sig_err.msg, text);
	return es_fail(err, auth->signatures, "%s", sig_err.msg);
}

static int digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int es_seal_delta(const struct es_seal *old_seal, const struct es_seal *new_seal,
		  struct es_seal_delta *d, struct es_err *err)
{
	uint8_t *have = malloc((old_seal->nchunks ? old_seal->nchunks : 1) * 32);
	uint64_t n = 0;

	memset(d, 0, sizeof(*d));
	if (!have)
		return es_fail(err, -ENOMEM, "out of memory");
	/* chunks OLD keeps in blobs (not in its own filesystem region) */
	for (uint64_t i = 0; i < old_seal->nchunks; i++)
		if (old_seal->chunks[i].device)
			memcpy(have + 32 * n++, old_seal->chunks[i].digest, 32);
	qsort(have, n, 32, digest_cmp);
	for (unsigned int i = 1; i < new_seal->ndevices; i++) {
		bool known = false;

		for (unsigned int j = 1; j < old_seal->ndevices && !known; j++)
			known = !memcmp(new_seal->devices[i].digest, old_seal->devices[j].digest, 32);
		if (known) {
			d->shared_blob_bytes += new_seal->devices[i].size;
		} else {
			d->new_blobs++;
			d->new_blob_bytes += new_seal->devices[i].size;
		}
	}
	for (uint64_t i = 0; i < new_seal->nchunks; i++) {
		const struct es_chunk_rec *c = &new_seal->chunks[i];

		if (!c->device)
			continue;
		if (n && bsearch(c->digest, have, n, 32, digest_cmp)) {
			d->shared_chunks++;
		} else {
			d->new_chunks++;
			d->new_chunk_bytes += (uint64_t)c->nblocks * new_seal->blksz;
		}
	}
	free(have);
	return 0;
}
