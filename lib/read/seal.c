// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Reading the seal trailer (docs/FORMAT.md): locator, manifest, signature
 * records, chunk index, and the cross-check against the image.  The parsing
 * works on buffers the caller provides, so that the boot reader can use it
 * without a heap; the hosted functions at the end allocate those buffers.
 */
#include <errno.h>
#include <string.h>
#include "erofs/format.h"
#include "erofs/keytable.h"
#include "erofs/seal.h"
#include "erofs/sha256.h"
#include "erofs/verity.h"

/*
 * Bytes of the image file (device 0) inside the size it said it has: a
 * short read means it shrank under us, an I/O error as such.
 */
static int read_image_bytes(const struct es_io *io, uint64_t off, void *buf, size_t len,
			    const char *what, struct es_err *err)
{
	struct es_err io_err = { 0 };
	int ret = es_io_read(io, 0, off, buf, len, &io_err);

	if (ret)
		return es_fail(err, ret == -ES_ECORRUPT ? -EIO : ret, "cannot read the %s",
			       what);
	return 0;
}

/*
 * *at: the offset of the first byte of [off, off + len) that is not zero,
 * or off + len.  Read in small pieces: the boot reader's stack is small.
 */
static int find_nonzero(const struct es_io *io, uint64_t off, uint64_t len, const char *what,
			uint64_t *at, struct es_err *err)
{
	uint8_t buf[512];

	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		int ret = read_image_bytes(io, off, buf, n, what, err);

		if (ret)
			return ret;
		for (size_t i = 0; i < n; i++)
			if (buf[i]) {
				*at = off + i;
				return 0;
			}
		off += n;
		len -= n;
	}
	*at = off;
	return 0;
}

/* Every byte of [off, off + len) is zero (len may be 0). */
static int check_zero(const struct es_io *io, uint64_t off, uint64_t len, const char *what,
		      struct es_err *err)
{
	uint64_t at;
	int ret = find_nonzero(io, off, len, what, &at, err);

	if (!ret && at != off + len)
		return es_fail(err, -ES_ECORRUPT, "seal: byte %llu (%s) is not "
			       "zero: the seal carries bytes that nothing "
			       "authenticates", (unsigned long long)at, what);
	return ret;
}

/*
 * The seal region must be exactly what the writer lays out: manifest at the
 * filesystem's end, then signatures (if any), trees, chunk index and key area
 * (if any), each at the first 4 KiB boundary after the previous one, then
 * the locator; the
 * padding in between is zero.  Nothing signs the locator or the padding, so
 * any slack would be room for unauthenticated data that still "verifies".
 */
static int check_layout(const struct es_io *io, uint64_t loc_off, const struct es_seal *s,
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
		{ &s->keys_sec, "key area", "padding after the key area" },
	};
	uint64_t pos = s->fs_size;
	int ret;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct es_seal_section *sec = order[i].sec;
		uint64_t end;

		if ((sec == &s->sigs_sec || sec == &s->keys_sec) && !sec->len) {
			if (sec->off)
				return es_fail(err, -ES_ECORRUPT, "seal locator: an empty "
					       "%s section must be (0, 0)", order[i].name);
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
		ret = check_zero(io, end, pos - end, order[i].pad, err);
		if (ret)
			return ret;
	}
	if (pos != loc_off)
		return es_fail(err, -ES_ECORRUPT, "seal: %llu bytes lie between the %s "
			       "and the locator (the format leaves none)",
			       (unsigned long long)(loc_off - pos),
			       s->keys_sec.len ? "key area" : "chunk index");
	return 0;
}

int es_seal_read_locator(const struct es_io *io, uint64_t file_size, struct es_seal *s,
			 struct es_err *err)
{
	uint8_t loc[LOC_BYTES], sum[32];
	const struct {
		struct es_seal_section *sec;
		const char *name;
	} secs[5] = {
		{ &s->manifest_sec, "manifest" }, { &s->sigs_sec, "signatures" },
		{ &s->trees_sec, "trees" }, { &s->index_sec, "chunk index" },
		{ &s->keys_sec, "key area" },
	};
	uint64_t loc_off, at;
	int ret;

	if (file_size < ES_LOCATOR_SIZE)
		return -ENODATA;
	loc_off = file_size - ES_LOCATOR_SIZE;
	ret = read_image_bytes(io, loc_off, loc, sizeof(loc), "seal locator", err);
	if (ret)
		return ret;
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
	ret = find_nonzero(io, loc_off + LOC_BYTES, ES_LOCATOR_SIZE - LOC_BYTES,
			   "seal locator", &at, err);
	if (ret)
		return ret;
	if (at != loc_off + ES_LOCATOR_SIZE)
		return es_fail(err, -ES_ECORRUPT, "seal locator: byte %zu is not zero: "
			       "the seal carries bytes that nothing authenticates",
			       (size_t)(at - loc_off));
	memcpy(s->uuid, loc + LOC_UUID, 16);
	s->fs_size = es_get64(loc + LOC_FS_SIZE);
	if (s->fs_size % ES_SEAL_ALIGN || s->fs_size > loc_off)
		return es_fail(err, -ES_ECORRUPT, "seal locator: bad filesystem size %llu",
			       (unsigned long long)s->fs_size);
	for (int i = 0; i < 5; i++) {
		const uint8_t *p = loc + LOC_SECTIONS + 16 * i;

		struct es_seal_section *sec = secs[i].sec;

		sec->off = es_get64(p);
		sec->len = es_get64(p + 8);
		if (!sec->len && i != 0)
			continue;
		if (sec->off % ES_SEAL_ALIGN || sec->off < s->fs_size ||
		    sec->off > loc_off || sec->len > loc_off - sec->off)
			return es_fail(err, -ES_ECORRUPT, "seal locator: the %s section "
				       "(%llu bytes at %llu) lies outside the seal", secs[i].name,
				       (unsigned long long)sec->len,
				       (unsigned long long)sec->off);
	}
	if (!s->manifest_sec.len)
		return es_fail(err, -ES_ECORRUPT, "seal locator: no manifest");
	return check_layout(io, loc_off, s, err);
}

int es_seal_manifest_size(const struct es_seal *s, size_t *len, struct es_err *err)
{
	*len = 0;
	if (s->manifest_sec.len < MF_DEVICES || s->manifest_sec.len > ES_MANIFEST_MAX_SIZE)
		return es_fail(err, -ES_ECORRUPT, "manifest: bad length %llu",
			       (unsigned long long)s->manifest_sec.len);
	*len = (size_t)s->manifest_sec.len;
	return 0;
}

int es_seal_load_manifest(const struct es_io *io, struct es_seal *s, uint8_t *buf,
			  struct es_err *err)
{
	size_t len;
	int ret = es_seal_manifest_size(s, &len, err);

	if (!ret)
		ret = read_image_bytes(io, s->manifest_sec.off, buf, len, "manifest", err);
	if (ret)
		return ret;
	s->manifest = buf;
	s->manifest_len = len;
	return 0;
}

int es_seal_decode_manifest(struct es_seal *s, struct es_err *err)
{
	const uint8_t *m = s->manifest;
	uint64_t need;

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
	if ((s->flags & ~MF_FLAG_ENCRYPTED) ||
	    s->suite != (s->flags & MF_FLAG_ENCRYPTED ? ES_SUITE_XTS_V1 : ES_SUITE_NONE))
		return es_fail(err, -EOPNOTSUPP, "manifest: flags 0x%x / crypto suite %u "
			       "are not supported by this version", s->flags, s->suite);
	need = MF_DEVICES + (uint64_t)s->ndevices * MF_DEVICE_SIZE +
	       (s->flags & MF_FLAG_ENCRYPTED ? MF_ENC_SIZE : 0);
	if (!s->ndevices || s->ndevices > ES_MANIFEST_MAX_DEVICES || need != s->manifest_len)
		return es_fail(err, -ES_ECORRUPT, "manifest: %u devices do not match its "
			       "length of %zu bytes", s->ndevices, s->manifest_len);
	if (s->flags & MF_FLAG_ENCRYPTED) {
		const uint8_t *e = m + MF_DEVICES + (size_t)s->ndevices * MF_DEVICE_SIZE;

		s->table_entries = es_get64(e + MF_ENC_TABLE_ENTRIES);
		s->table_seg_size = es_get32(e + MF_ENC_TABLE_SEG_SIZE);
		memcpy(s->domain_check, e + MF_ENC_DOMAIN_CHECK, 32);
		if (s->table_seg_size != ES_KT_SEG_SIZE || !s->table_entries ||
		    es_get32(e + MF_ENC_TABLE_SEG_SIZE + 4))
			return es_fail(err, -ES_ECORRUPT, "manifest: key table of %llu entries "
				       "in segments of %u bytes",
				       (unsigned long long)s->table_entries, s->table_seg_size);
	} else if (!es_is_zero(s->key_table_digest, 32)) {
		return es_fail(err, -ES_ECORRUPT, "manifest: a key table digest in an "
			       "image that is not encrypted");
	}
	if (memcmp(m + MF_UUID, s->uuid, 16))
		return es_fail(err, -ES_ECORRUPT, "manifest: UUID differs from the locator's");
	if (s->blksz != ES_VERITY_BLOCK_SIZE)
		return es_fail(err, -ES_ECORRUPT, "manifest: block size %u", s->blksz);
	return 0;
}

int es_seal_decode_devices(struct es_seal *s, struct es_seal_device *devices,
			   struct es_err *err)
{
	uint64_t trees_end = 0;

	s->devices = devices;
	for (unsigned int i = 0; i < s->ndevices; i++) {
		const uint8_t *d = s->manifest + MF_DEVICES + (size_t)i * MF_DEVICE_SIZE;
		struct es_seal_device *dev = &devices[i];
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
	if (!(s->flags & MF_FLAG_ENCRYPTED) != !es_image_encrypted(img))
		return es_fail(err, -ES_ECORRUPT, "the manifest says the image is %s, "
			       "the superblock that it is %s",
			       s->flags & MF_FLAG_ENCRYPTED ? "encrypted" : "not encrypted",
			       es_image_encrypted(img) ? "encrypted" : "not encrypted");
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

int es_seal_sigs_size(const struct es_seal *s, size_t *len, struct es_err *err)
{
	*len = (size_t)s->sigs_sec.len;
	if (s->sigs_sec.len && (s->sigs_sec.len < SIG_HEADER ||
				s->sigs_sec.len > ES_SEAL_MAX_SIGS * ES_SIGNATURE_MAX))
		return es_fail(err, -ES_ECORRUPT, "signatures: bad section length");
	return 0;
}

int es_seal_parse_sigs(const struct es_seal *s, uint8_t *buf,
		       struct es_seal_sig sigs[ES_SEAL_MAX_SIGS], unsigned int *nsigs,
		       struct es_err *err)
{
	const uint64_t len = s->sigs_sec.len;
	uint64_t pos = SIG_HEADER;
	uint32_t count;

	*nsigs = 0;
	if (!len)
		return 0;
	if (memcmp(buf, SIG_MAGIC, 8))
		return es_fail(err, -ES_ECORRUPT, "signatures: bad magic");
	count = es_get32(buf + 8);
	if (count > ES_SEAL_MAX_SIGS || es_get32(buf + 12))
		return es_fail(err, -ES_ECORRUPT, "signatures: %u records, reserved field "
			       "%u", count, es_get32(buf + 12));
	for (uint32_t i = 0; i < count; i++) {
		struct es_seal_sig *sig = &sigs[i];

		if (pos + SIG_REC_HEADER > len)
			return es_fail(err, -ES_ECORRUPT, "signature %u: record truncated",
				       i + 1);
		sig->type = es_get32(buf + pos);
		sig->len = es_get32(buf + pos + 4);
		memcpy(sig->key_id, buf + pos + 8, 32);
		if (!sig->len || sig->len > ES_SIGNATURE_MAX ||
		    sig->len > len - pos - SIG_REC_HEADER)
			return es_fail(err, -ES_ECORRUPT, "signature %u: bad length %u", i + 1,
				       sig->len);
		sig->data = buf + pos + SIG_REC_HEADER;
		pos += SIG_REC_HEADER + sig->len;
		/* the signatures section is not signed (it cannot sign itself):
		 * padding and slack would be unauthenticated bytes */
		for (; pos % 8 && pos < len; pos++)
			if (buf[pos])
				return es_fail(err, -ES_ECORRUPT, "signature %u: padding is "
					       "not zero", i + 1);
		*nsigs = i + 1;
	}
	if (pos != len)
		return es_fail(err, -ES_ECORRUPT, "signatures: %llu bytes follow the last "
			       "record", (unsigned long long)(len - pos));
	return 0;
}

int es_seal_check_chunk_index(const struct es_seal *s, const uint8_t *buf,
			      uint64_t *count, struct es_err *err)
{
	const uint64_t len = s->index_sec.len;
	uint8_t sum[32];
	int ret;

	if (len < CIX_HEADER)
		return es_fail(err, -ES_ECORRUPT, "chunk index: bad section length");
	ret = es_sha256(buf, (size_t)len, sum);
	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	if (memcmp(sum, s->chunk_index_digest, 32))
		return es_fail(err, -EBADMSG, "chunk index: digest differs from the "
			       "manifest's (chunk index damaged)");
	*count = es_get64(buf + 8);
	if (memcmp(buf, CIX_MAGIC, 8) || *count != (len - CIX_HEADER) / CIX_REC ||
	    (len - CIX_HEADER) % CIX_REC)
		return es_fail(err, -ES_ECORRUPT, "chunk index: malformed");
	return 0;
}

int es_seal_chunk_record(const struct es_seal *s, const uint8_t *buf, uint64_t i,
			 struct es_chunk_rec *c, struct es_err *err)
{
	const uint8_t *r = buf + CIX_HEADER + i * CIX_REC;

	memcpy(c->digest, r, 32);
	c->blkaddr = es_get32(r + 32);
	c->nblocks = es_get32(r + 36);
	c->length = es_get32(r + 40);
	c->device = es_get16(r + 44);
	if (c->device >= s->ndevices || !c->nblocks ||
	    c->length > (uint64_t)c->nblocks * s->blksz ||
	    ((uint64_t)c->blkaddr + c->nblocks) * s->blksz >
	    es_round_up(s->devices[c->device].size, s->blksz))
		return es_fail(err, -ES_ECORRUPT, "chunk index entry %llu lies "
			       "outside its device", (unsigned long long)i);
	return 0;
}

#ifndef ES_FREESTANDING
/* ---- hosted: the seal in allocated memory -------------------------------- */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include "io.h"

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

/* A section of the image file into a new buffer. */
static int read_section(const struct es_io *io, const struct es_seal_section *sec,
			uint8_t **out, const char *what, struct es_err *err)
{
	int ret;

	*out = es_alloc_big(sec->len ? sec->len : 1);
	if (!*out)
		return es_fail(err, -ENOMEM, "out of memory reading the %s", what);
	ret = read_image_bytes(io, sec->off, *out, sec->len, what, err);
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

static int read_manifest(const struct es_io *io, struct es_seal *s, struct es_err *err)
{
	size_t len;
	uint8_t *buf;
	int ret = es_seal_manifest_size(s, &len, err);

	if (ret)
		return ret;
	buf = malloc(len);
	if (!buf)
		return es_fail(err, -ENOMEM, "out of memory reading the manifest");
	ret = es_seal_load_manifest(io, s, buf, err);
	if (ret)
		free(buf);
	return ret;
}

/* The signatures, each copied into its own buffer (es_seal_free frees them). */
static int read_signatures(const struct es_io *io, struct es_seal *s, struct es_err *err)
{
	struct es_seal_sig found[ES_SEAL_MAX_SIGS];
	unsigned int count;
	uint8_t *buf;
	size_t len;
	int ret = es_seal_sigs_size(s, &len, err);

	if (ret || !len)
		return ret;
	ret = read_section(io, &s->sigs_sec, &buf, "signatures", err);
	if (ret)
		return ret;
	ret = es_seal_parse_sigs(s, buf, found, &count, err);
	if (!ret) {
		s->sigs = calloc(count ? count : 1, sizeof(*s->sigs));
		if (!s->sigs)
			ret = es_fail(err, -ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; !ret && i < count; i++) {
		s->sigs[i] = found[i];
		s->sigs[i].data = malloc(found[i].len);
		if (!s->sigs[i].data) {
			ret = es_fail(err, -ENOMEM, "out of memory");
			break;
		}
		memcpy(s->sigs[i].data, found[i].data, found[i].len);
		s->nsigs++;
	}
	free(buf);
	return ret;
}

/*
 * An index of at least this many records is checked against the
 * manifest's digest by a second thread while this one decodes it (each
 * about a millisecond per 20,000 records): the decoded records are used
 * only once the digest matched.
 */
#define INDEX_SPLIT_RECORDS 8192

struct index_check {
	const struct es_seal *s;
	const uint8_t *buf;
	uint64_t count;
	struct es_err err;
	int ret;
};

static void *index_check_thread(void *arg)
{
	struct index_check *ic = arg;

	ic->ret = es_seal_check_chunk_index(ic->s, ic->buf, &ic->count, &ic->err);
	return NULL;
}

static int read_chunk_index(const struct es_io *io, struct es_seal *s, struct es_err *err)
{
	const uint64_t len = s->index_sec.len;
	/* what a well-formed index of len bytes holds: the check says if it is */
	uint64_t count = len > CIX_HEADER ? (len - CIX_HEADER) / CIX_REC : 0;
	struct index_check ic = { .s = s };
	struct es_err derr = { 0 };
	pthread_t helper;
	bool split;
	uint8_t *buf;
	int ret, dret = 0;

	ret = read_section(io, &s->index_sec, &buf, "chunk index", err);
	if (ret)
		return ret;
	ic.buf = buf;
	split = count >= INDEX_SPLIT_RECORDS &&
		!pthread_create(&helper, NULL, index_check_thread, &ic);
	if (!split) {
		ret = es_seal_check_chunk_index(s, buf, &count, err);
		if (ret)
			goto out;
	}
	s->chunks = es_calloc_big(count ? count : 1, sizeof(*s->chunks));
	if (!s->chunks)
		dret = es_fail(&derr, -ENOMEM, "out of memory");
	for (uint64_t i = 0; !dret && i < count; i++)
		dret = es_seal_chunk_record(s, buf, i, &s->chunks[i], &derr);
	if (split) {
		pthread_join(helper, NULL);
		/* what the index is wrong in comes before what it says */
		if (ic.ret)
			ret = es_err_copy(err, &ic.err);
	}
	if (!ret && dret)
		ret = es_err_copy(err, &derr);
	if (!ret)
		s->nchunks = count;
out:
	free(buf);
	return ret;
}

int es_seal_open(const struct es_io *io, struct es_seal **out, struct es_err *err)
{
	struct es_seal *s = calloc(1, sizeof(*s));
	struct es_io_dev info;
	int ret;

	*out = NULL;
	if (!s)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_io_stat(io, 0, NULL, &info, err);
	if (!ret)
		ret = es_seal_read_locator(io, info.size, s, err);
	if (!ret)
		ret = read_manifest(io, s, err);
	if (!ret)
		ret = read_signatures(io, s, err);
	if (ret) {
		es_seal_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

int es_seal_parse(const struct es_io *io, struct es_seal *s, struct es_err *err)
{
	struct es_seal_device *devices;
	int ret = es_seal_decode_manifest(s, err);

	if (ret)
		return ret;
	devices = calloc(s->ndevices, sizeof(*devices));
	if (!devices)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_seal_decode_devices(s, devices, err);
	if (!ret)
		ret = read_chunk_index(io, s, err);
	return ret;
}

int es_seal_read_io(const struct es_io *io, struct es_seal **out, struct es_err *err)
{
	int ret = es_seal_open(io, out, err);

	if (!ret) {
		ret = es_seal_parse(io, *out, err);
		if (ret) {
			es_seal_free(*out);
			*out = NULL;
		}
	}
	return ret;
}

int es_seal_read(const struct es_image *img, struct es_seal **out, struct es_err *err)
{
	int ret = es_seal_read_io(&img->io, out, err);

	if (!ret) {
		ret = es_seal_check_image(img, *out, err);
		if (ret) {
			es_seal_free(*out);
			*out = NULL;
		}
	}
	return ret;
}

int es_seal_load_tree(const struct es_io *io, const struct es_seal *s,
		      unsigned int dev, uint8_t **tree, size_t *len, struct es_err *err)
{
	struct es_err io_err = { 0 };
	struct es_verity_geom g;

	*tree = NULL;
	*len = 0;
	es_verity_geometry(s->devices[dev].size, &g);
	if (!g.tree_size)
		return 0;
	*tree = es_alloc_big(g.tree_size);
	if (!*tree)
		return es_fail(err, -ENOMEM, "out of memory for the tree of device %u", dev);
	if (es_io_read(io, 0, s->trees_sec.off + s->devices[dev].tree_offset, *tree,
		       g.tree_size, &io_err)) {
		free(*tree);
		*tree = NULL;
		return es_fail(err, -EIO, "cannot read the tree of device %u", dev);
	}
	*len = g.tree_size;
	return 0;
}

int es_seal_compare_tree(const struct es_io *io, const struct es_seal *s, unsigned int dev,
			 const uint8_t *tree, size_t len, struct es_err *err)
{
	enum { PIECE = 64 * 1024 };
	struct es_err io_err = { 0 };
	struct es_verity_geom g;
	uint8_t *buf;
	int ret = 0;

	es_verity_geometry(s->devices[dev].size, &g);
	if (len != g.tree_size)
		return 1;
	if (!len)
		return 0;
	buf = malloc(PIECE);
	if (!buf)
		return es_fail(err, -ENOMEM, "out of memory for the tree of device %u", dev);
	for (size_t off = 0; !ret && off < len; off += PIECE) {
		size_t n = len - off < PIECE ? len - off : PIECE;

		if (es_io_read(io, 0, s->trees_sec.off + s->devices[dev].tree_offset + off, buf,
			       n, &io_err))
			ret = es_fail(err, -EIO, "cannot read the tree of device %u", dev);
		else if (memcmp(buf, tree + off, n))
			ret = 1;
	}
	free(buf);
	return ret;
}
#endif
