// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The seal trailer: verifying devices against it, writing it, the signature
 * policy and the delta between two images (reading it: lib/read/seal.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "erofs/format.h"
#include "erofs/keytable.h"
#include "erofs/seal.h"
#include "erofs/sha256.h"
#include "erofs/sign.h"
#include "erofs/verity.h"
#include "crypto/hashpool.h"
#include "io.h"

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

int es_io_verity_digest(const struct es_io *io, unsigned int dev, uint64_t size,
			unsigned int nthreads, uint8_t digest[32], uint8_t **tree,
			size_t *tree_len, struct es_err *err)
{
	enum { PIECE = 1u << 20 };
	struct es_verity_builder b;
	int fd = es_io_fd(io, dev);
	uint8_t *buf;
	int ret;

	if (fd >= 0) {
		/* a file: pread() in threads, the fast way */
		ret = es_verity_digest_fd_parallel(fd, size, nthreads, digest, tree, tree_len);
		return ret ? es_fail(err, ret, "read error: %s", strerror(-ret)) : 0;
	}
	buf = malloc(PIECE);
	if (!buf)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_verity_builder_init(&b, size);
	if (ret) {
		free(buf);
		return es_fail(err, ret, "read error: %s", strerror(-ret));
	}
	for (uint64_t off = 0; !ret && off < size; off += PIECE) {
		size_t n = size - off < PIECE ? (size_t)(size - off) : PIECE;

		ret = es_io_read(io, dev, off, buf, n, err);
		if (!ret)
			ret = es_verity_builder_update(&b, buf, n);
	}
	if (!ret)
		ret = es_verity_builder_final(&b, NULL, digest);
	if (!ret && tree)
		*tree = es_verity_builder_take_tree(&b, tree_len);
	es_verity_builder_free(&b);
	free(buf);
	return ret ? es_fail(err, ret, "read error: %s", strerror(-ret)) : 0;
}

int es_seal_verify_device(const struct es_io *io, const struct es_seal *s,
			  unsigned int dev, unsigned int nthreads, struct es_err *err)
{
	const struct es_seal_device *d = &s->devices[dev];
	uint8_t digest[32], *computed = NULL, *stored = NULL;
	size_t computed_len = 0, stored_len = 0;
	struct es_err stat_err = { 0 };
	struct es_verity_geom g;
	struct es_io_dev info;
	char name[96], tag[65];
	int ret;

	device_name(s, dev, name, sizeof(name));
	/* a blob is asked for by its digest, the name BLOB_DIR lookups use */
	es_hex(d->digest, 32, tag);
	ret = es_io_stat(io, dev, dev ? (const uint8_t *)tag : NULL, &info, &stat_err);
	if (ret) {
		if (!stat_err.code)
			es_fail(&stat_err, ret, "not available");
		es_err_copy(err, &stat_err);
		es_err_prefix(err, "%s: ", name);
		return ret;
	}
	/* a blob may sit on a block device (a partition) larger than itself */
	if (dev != 0 && info.size != d->size && !(info.size > d->size && info.container))
		return es_fail(err, -EBADMSG, "%s: %llu bytes, the manifest says %llu "
			       "(truncated or replaced?)", name, (unsigned long long)info.size,
			       (unsigned long long)d->size);
	if (info.size < d->size)
		return es_fail(err, -EBADMSG, "%s: truncated", name);
	ret = es_io_verity_digest(io, dev, d->size, nthreads, digest, &computed,
				  &computed_len, err);
	if (ret) {
		es_err_prefix(err, "%s: ", name);
		return ret;
	}
	es_verity_geometry(d->size, &g);
	if (!memcmp(digest, d->digest, 32)) {
		/* the usual case: the stored tree compared piece by piece,
		 * not loaded whole into new memory */
		ret = es_seal_compare_tree(io, s, dev, computed, computed_len, err);
		if (ret > 0)
			ret = es_fail(err, -ES_ECORRUPT, "%s: the stored Merkle tree is "
				      "damaged (the data itself matches the manifest)", name);
		goto out;
	}
	ret = es_seal_load_tree(io, s, dev, &stored, &stored_len, err);
	if (ret)
		goto out;
	{
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
	size_t n = MF_DEVICES + (size_t)in->ndevices * MF_DEVICE_SIZE +
		   (in->flags & MF_FLAG_ENCRYPTED ? MF_ENC_SIZE : 0);
	uint8_t *m = calloc(1, n);

	if (!m)
		return NULL;
	memcpy(m, MF_MAGIC, 8);
	es_put32(m + MF_VERSION, ES_SEAL_VERSION);
	es_put32(m + MF_FLAGS, in->flags);
	memcpy(m + MF_UUID, in->uuid, 16);
	es_put64(m + MF_BUILD_TIME, (uint64_t)in->build_time);
	es_put32(m + MF_BLKSZ, ES_VERITY_BLOCK_SIZE);
	es_put32(m + MF_CHUNKSIZE, in->chunksize);
	es_put32(m + MF_SUITE, in->suite);
	es_put32(m + MF_NDEVICES, in->ndevices);
	memcpy(m + MF_KEY_TABLE_DIGEST, in->key_table_digest, 32);
	memcpy(m + MF_CHUNK_INDEX_DIGEST, index_digest, 32);
	for (unsigned int i = 0; i < in->ndevices; i++) {
		uint8_t *d = m + MF_DEVICES + (size_t)i * MF_DEVICE_SIZE;

		es_put64(d, in->devices[i].size);
		memcpy(d + 8, in->devices[i].digest, 32);
		es_put64(d + 40, in->devices[i].tree_offset);
	}
	if (in->flags & MF_FLAG_ENCRYPTED) {
		uint8_t *e = m + MF_DEVICES + (size_t)in->ndevices * MF_DEVICE_SIZE;

		es_put64(e + MF_ENC_TABLE_ENTRIES, in->table_entries);
		es_put32(e + MF_ENC_TABLE_SEG_SIZE, ES_KT_SEG_SIZE);
		memcpy(e + MF_ENC_DOMAIN_CHECK, in->domain_check, 32);
	}
	*len = n;
	return m;
}

static uint8_t *encode_chunk_index(const struct es_seal_input *in, size_t *len)
{
	size_t n = CIX_HEADER + (size_t)in->nchunks * CIX_REC;
	/* 2 MB for 42k chunks, written once: huge pages, not a fault a page */
	uint8_t *b = es_calloc_big(1, n);

	if (!b)
		return NULL;
	memcpy(b, CIX_MAGIC, 8);
	es_put64(b + 8, in->nchunks);
	for (uint64_t i = 0; i < in->nchunks; i++) {
		uint8_t *r = b + CIX_HEADER + i * CIX_REC;
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
	struct es_seal_section manifest_sec, sigs_sec = { 0 }, trees_sec, index_sec,
			       keys_sec = { 0 };
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
	if (!ret && in->key_area_len)
		ret = put_section(fd, &pos, in->key_area, in->key_area_len, &keys_sec, err);
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
			&manifest_sec, &sigs_sec, &trees_sec, &index_sec, &keys_sec,
		};

		for (int i = 0; i < 5; i++) {
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

int es_trust_pin_manifest_digests(struct es_trust *t, const char *const *texts,
				  unsigned int n, struct es_err *err)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t digest[32];
		int ret = es_manifest_digest_parse(texts[i], digest, err);

		if (!ret)
			ret = es_trust_add_manifest_digest(t, digest, err);
		if (ret)
			return ret;
	}
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

/* The blob digests of s (devices 1..), sorted; NULL when out of memory. */
static uint8_t *sorted_blob_digests(const struct es_seal *s)
{
	uint8_t *v = malloc(s->ndevices * 32u);

	if (!v)
		return NULL;
	for (unsigned int i = 1; i < s->ndevices; i++)
		memcpy(v + 32 * (i - 1), s->devices[i].digest, 32);
	if (s->ndevices > 2)
		qsort(v, s->ndevices - 1, 32, digest_cmp);
	return v;
}

static bool has_digest(const uint8_t *sorted, unsigned int n, const uint8_t digest[32])
{
	return n && bsearch(digest, sorted, n, 32, digest_cmp);
}

int es_seal_delta(const struct es_seal *old_seal, const struct es_seal *new_seal,
		  struct es_seal_delta *d, struct es_err *err)
{
	uint8_t *have = malloc((old_seal->nchunks ? old_seal->nchunks : 1) * 32);
	uint8_t *old_blobs = sorted_blob_digests(old_seal);
	uint8_t *new_blobs = sorted_blob_digests(new_seal);
	uint64_t n = 0;

	memset(d, 0, sizeof(*d));
	d->is_new = calloc(new_seal->ndevices, sizeof(*d->is_new));
	if (!have || !old_blobs || !new_blobs || !d->is_new) {
		free(have);
		free(old_blobs);
		free(new_blobs);
		es_seal_delta_free(d);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	/* chunks OLD keeps in blobs (not in its own filesystem region) */
	for (uint64_t i = 0; i < old_seal->nchunks; i++)
		if (old_seal->chunks[i].device)
			memcpy(have + 32 * n++, old_seal->chunks[i].digest, 32);
	qsort(have, n, 32, digest_cmp);
	for (unsigned int i = 1; i < new_seal->ndevices; i++) {
		if (has_digest(old_blobs, old_seal->ndevices - 1, new_seal->devices[i].digest)) {
			d->shared_blob_bytes += new_seal->devices[i].size;
		} else {
			d->is_new[i] = true;
			d->new_blobs++;
			d->new_blob_bytes += new_seal->devices[i].size;
		}
	}
	/* the other way round: OLD's blobs NEW no longer reads */
	for (unsigned int i = 1; i < old_seal->ndevices; i++) {
		if (!has_digest(new_blobs, new_seal->ndevices - 1, old_seal->devices[i].digest)) {
			d->unused_old_blobs++;
			d->unused_old_blob_bytes += old_seal->devices[i].size;
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
	free(old_blobs);
	free(new_blobs);
	return 0;
}

void es_seal_delta_free(struct es_seal_delta *d)
{
	free(d->is_new);
	d->is_new = NULL;
}
