// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The boot unlock: see include/erofs/keydec.h.  Freestanding: no heap, no
 * writable globals, nothing from the C library but memcpy, memset and
 * memcmp; everything lives in the caller's memory (struct keydec).
 *
 * The key table is never held whole.  Opening checks it once, segment by
 * segment: D_k is read in pieces and streamed into the table digest (which
 * must be the signed one) and into the digest of its group of segments
 * (ES_KEYDEC_GROUPS groups at most), and each segment is opened against its
 * D_k.  What is kept per group is that digest and the (device, block) of
 * its first chunk.  A chunk's entry is then found by the group (entries
 * are in chunk-index order, sorted by device and block), and inside it by
 * opening segments, each against a D_k re-read and re-checked against its
 * group's digest.  With up to ES_KEYDEC_GROUPS segments (8191 chunks) a
 * group is one segment: one segment opened per chunk not in the last one.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keydec.h"
#include "erofs/keytable.h"
#include "keys/chunk_cipher.h"
#include "keys/keyarea_hdr.h"
#include "keys/keyslot_entry.h"

#define ES_KEYDEC_GROUPS	128
#define D_PIECE			1024	/* bytes of D read at a time */
#define SEG_CT_SIZE		(ES_KT_SEG_SIZE + ES_KT_TAG_SIZE)

/* entry layout (keytable.h): secret[32] | le16 device | ... | le64 block */
#define ENTRY_DEVICE		32
#define ENTRY_BLOCK		40

/* The first chunk of a group of segments. */
struct fence {
	uint64_t block;
	uint16_t dev;
	bool used;		/* the group names a chunk (not so: only the meta key) */
};

struct keydec {
	struct es_keyarea_dev dev;
	struct es_ka_hdr hdr;		/* the winning header copy's */
	struct es_ka_geom g;
	struct es_keytable_info info;
	uint8_t tk[ES_TABLE_KEY_SIZE];
	struct es_unit_ciphers c;
	bool ciphers;			/* c.meta and c.data were initialised */
	uint64_t seg_per_group, ngroups;
	bool have_seg;			/* u.run.seg holds segment seg, open */
	uint64_t seg;
	union {
		struct {		/* while a slot is looked for */
			uint8_t copy[ES_KEYAREA_COPY_SIZE];
			es_ka_slots slots;
		} open;
		struct {		/* from then on */
			uint8_t seg[SEG_CT_SIZE];
			uint8_t d[D_PIECE];
			uint8_t group_digest[ES_KEYDEC_GROUPS][ES_SHA256_DIGEST_SIZE];
			struct fence fence[ES_KEYDEC_GROUPS];
		} run;
	} u;
};

_Static_assert(sizeof(struct keydec) <= ES_KEYDEC_MEM_SIZE, "ES_KEYDEC_MEM_SIZE holds it");
_Static_assert(_Alignof(struct keydec) <= ES_KEYDEC_MEM_ALIGN, "ES_KEYDEC_MEM_ALIGN aligns it");
_Static_assert(D_PIECE % ES_SHA256_DIGEST_SIZE == 0, "whole D_k per piece");

/* ---- unlocking -------------------------------------------------------------- */

static int open_slot(void *ctx, const uint8_t entry[ES_KEYSLOT_SIZE],
		     const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
		     uint8_t tk[ES_TABLE_KEY_SIZE], struct es_err *err)
{
	const struct es_keydec_cred *c = ctx;
	struct es_keyslot_info info;
	uint8_t kek[KEK_SIZE];
	size_t label_len;
	int ret = es_keyslot_parse_form(entry, &info, err);

	if (ret)
		return ret;
	if (info.kind != c->kind ||
	    (c->kind == ES_KEYSLOT_SEED && c->label &&
	     !es_keyslot_label_matches(&info, c->label, c->label_len)))
		return -ENOKEY;
	/* a seed without a label: each seed slot, under its own label */
	for (label_len = 0; info.label[label_len]; label_len++)
		;
	if (c->kind == ES_KEYSLOT_SEED)
		ret = es_keyslot_kek_seed(entry + E_PARAMS, uuid, c->secret, c->secret_len,
					  info.label, label_len, kek);
	else
		ret = es_keyslot_kek_keyfile(entry + E_PARAMS, uuid, c->secret, c->secret_len,
					     kek);
	if (ret)
		ret = es_fail(err, ret, "HKDF failed");
	else
		ret = es_keyslot_open_kek(entry, uuid, kid, kek, tk, err);
	es_crypto_wipe(kek, sizeof(kek));
	return ret;
}

static int check_cred(const struct es_keydec_cred *c, struct es_err *err)
{
	if (c->kind != ES_KEYSLOT_KEYFILE && c->kind != ES_KEYSLOT_SEED)
		return es_fail(err, -EOPNOTSUPP, "the boot reader opens key-file and seed "
			       "slots only, not %s slots", es_keyslot_kind_name(c->kind));
	if (!c->secret || c->secret_len < ES_KEYFILE_MIN || c->secret_len > ES_KEYFILE_MAX)
		return es_fail(err, -EINVAL, "a %s file has %u to %u bytes, not %zu",
			       c->kind == ES_KEYSLOT_SEED ? "seed" : "key", ES_KEYFILE_MIN,
			       ES_KEYFILE_MAX, c->secret ? c->secret_len : 0);
	if (c->kind == ES_KEYSLOT_SEED) {
		if (c->label_len > ES_KEYSLOT_LABEL_MAX || (c->label_len && !c->label))
			return es_fail(err, -EINVAL, "a seed label has at most %u bytes",
				       ES_KEYSLOT_LABEL_MAX);
		for (size_t i = 0; i < c->label_len; i++)
			if (!es_keyslot_label_char_ok(c->label[i]))
				return es_fail(err, -EINVAL, "a seed label holds printable "
					       "ASCII only");
	}
	return 0;
}

/* ---- the key table -------------------------------------------------------------- */

static int entry_cmp(const uint8_t *e, unsigned int dev, uint64_t block)
{
	unsigned int d = es_get16(e + ENTRY_DEVICE);
	uint64_t b = es_get64(e + ENTRY_BLOCK);

	if (d != dev)
		return d < dev ? -1 : 1;
	return b < block ? -1 : b > block;
}

/* Read segment s's ciphertext into u.run.seg and open it against d_k there. */
static int open_segment(struct keydec *k, uint64_t s, const uint8_t d_k[ES_SHA256_DIGEST_SIZE],
			struct es_err *err)
{
	size_t len = es_keytable_seg_len(k->info.entries, s);
	int ret;

	k->have_seg = false;
	ret = es_ka_read(&k->dev, k->g.t_off[k->hdr.active] + s * SEG_CT_SIZE, k->u.run.seg,
			 len + ES_KT_TAG_SIZE, "key table", err);
	if (!ret)
		ret = es_keytable_open_segment_d(&k->info, k->tk, s, k->u.run.seg, d_k,
						 k->u.run.seg, err);
	if (ret)
		return ret;
	k->have_seg = true;
	k->seg = s;
	return 0;
}

/* D_first .. D_{first+n-1} (n <= D_PIECE / 32) into u.run.d. */
static int read_digests(struct keydec *k, uint64_t first, uint64_t n, struct es_err *err)
{
	return es_ka_read(&k->dev, k->g.d_off + first * ES_SHA256_DIGEST_SIZE, k->u.run.d,
			  (size_t)n * ES_SHA256_DIGEST_SIZE, "table digests", err);
}

/* The first chunk entry of the open segment s, and the number of entries. */
static size_t seg_entries(const struct keydec *k, uint64_t s, size_t *first)
{
	*first = s == 0;	/* entry 0 is the metadata key */
	return es_keytable_seg_len(k->info.entries, s) / ES_KT_ENTRY_SIZE;
}

/*
 * The check at opening: every D_k into the table digest (which must be the
 * signed one) and its group's digest, every segment opened against its
 * D_k; the metadata key and each group's first chunk kept.  Nothing is
 * used unless the table digest matches at the end.
 */
static int scan_table(struct keydec *k, struct es_err *err)
{
	const uint64_t nseg = k->g.nseg, per = k->seg_per_group;
	const uint64_t piece = D_PIECE / ES_SHA256_DIGEST_SIZE;
	struct es_sha256_ctx all, group;
	uint8_t digest[ES_SHA256_DIGEST_SIZE];
	bool group_open = false;
	int ret;

	ret = es_keytable_digest_start(&k->info, &all);
	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	for (uint64_t s = 0; s < nseg && !ret; s++) {
		uint8_t d_k[ES_SHA256_DIGEST_SIZE];
		uint64_t g = s / per;
		size_t first, n;

		if (s % piece == 0)
			ret = read_digests(k, s, nseg - s < piece ? nseg - s : piece, err);
		if (ret)
			break;
		memcpy(d_k, k->u.run.d + (s % piece) * ES_SHA256_DIGEST_SIZE, sizeof(d_k));
		es_sha256_update(&all, d_k, sizeof(d_k));
		if (s % per == 0) {
			ret = es_sha256_init(&group);
			if (ret) {
				ret = es_fail(err, ret, "SHA-256 failed");
				break;
			}
			group_open = true;
		}
		es_sha256_update(&group, d_k, sizeof(d_k));
		ret = open_segment(k, s, d_k, err);
		if (ret)
			break;
		n = seg_entries(k, s, &first);
		if (s == 0) {
			ret = es_crypto_xts_setkey(&k->c.meta, k->u.run.seg);
			if (ret) {
				ret = es_fail(err, ret, "key table: the metadata key is unusable");
				break;
			}
		}
		if (s % per == 0 && first < n) {
			const uint8_t *e = k->u.run.seg + first * ES_KT_ENTRY_SIZE;

			k->u.run.fence[g].used = true;
			k->u.run.fence[g].dev = es_get16(e + ENTRY_DEVICE);
			k->u.run.fence[g].block = es_get64(e + ENTRY_BLOCK);
		}
		if ((s + 1) % per == 0 || s + 1 == nseg) {
			group_open = false;
			ret = es_sha256_final(&group, k->u.run.group_digest[g]);
			if (ret)
				ret = es_fail(err, ret, "SHA-256 failed");
		}
	}
	if (group_open)
		es_sha256_release(&group);
	if (ret) {
		es_sha256_release(&all);
		return ret;
	}
	ret = es_sha256_final(&all, digest);
	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	/* hdr.table_digest is the manifest's (the header copy was checked against it) */
	if (es_crypto_memcmp(digest, k->hdr.table_digest, sizeof(digest)))
		return es_fail(err, -EBADMSG, "key area: the table digests (D) do not match "
			       "the table digest: damaged");
	return 0;
}

/*
 * Open segment s (unless it is open): its group's D_k re-read and checked
 * against the digest kept at opening, then the segment against D_k.
 */
static int load_segment(struct keydec *k, uint64_t s, struct es_err *err)
{
	const uint64_t piece = D_PIECE / ES_SHA256_DIGEST_SIZE;
	uint64_t g = s / k->seg_per_group, first = g * k->seg_per_group;
	uint64_t end = first + k->seg_per_group;
	uint8_t d_k[ES_SHA256_DIGEST_SIZE], digest[ES_SHA256_DIGEST_SIZE];
	struct es_sha256_ctx group;
	int ret;

	if (k->have_seg && k->seg == s)
		return 0;
	k->have_seg = false;
	if (end > k->g.nseg)
		end = k->g.nseg;
	ret = es_sha256_init(&group);
	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	for (uint64_t x = first; x < end; x += piece) {
		uint64_t n = end - x < piece ? end - x : piece;

		ret = read_digests(k, x, n, err);
		if (ret) {
			es_sha256_release(&group);
			return ret;
		}
		es_sha256_update(&group, k->u.run.d, (size_t)n * ES_SHA256_DIGEST_SIZE);
		if (s >= x && s < x + n)
			memcpy(d_k, k->u.run.d + (s - x) * ES_SHA256_DIGEST_SIZE, sizeof(d_k));
	}
	ret = es_sha256_final(&group, digest);
	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	if (es_crypto_memcmp(digest, k->u.run.group_digest[g], sizeof(digest)))
		return es_fail(err, -EBADMSG, "key area: the table digests (D) changed since "
			       "they were checked");
	return open_segment(k, s, d_k, err);
}

/*
 * Where the chunk at (dev, block) is relative to the open segment: -1
 * before it, 1 after it, else 0 and *entry (NULL when it has none).
 */
static int probe_segment(const struct keydec *k, unsigned int dev, uint64_t block,
			 const uint8_t **entry)
{
	size_t first, n = seg_entries(k, k->seg, &first), lo, hi;
	const uint8_t *e = k->u.run.seg;

	*entry = NULL;
	if (first >= n || entry_cmp(e + (n - 1) * ES_KT_ENTRY_SIZE, dev, block) < 0)
		return 1;
	if (entry_cmp(e + first * ES_KT_ENTRY_SIZE, dev, block) > 0)
		return -1;
	lo = first;
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_cmp(e + mid * ES_KT_ENTRY_SIZE, dev, block);

		if (!c) {
			*entry = e + mid * ES_KT_ENTRY_SIZE;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The key-table entry of the chunk at (dev, block), in the open segment. */
static int find_entry(struct keydec *k, unsigned int dev, uint64_t block,
		      const uint8_t **entry, struct es_err *err)
{
	uint64_t lo, hi, g = k->ngroups;
	int ret;

	if (k->have_seg && !probe_segment(k, dev, block, entry))
		goto found;
	/* the last group whose first chunk is not after it */
	for (uint64_t i = 0; i < k->ngroups; i++) {
		const struct fence *f = &k->u.run.fence[i];

		if (f->used && (f->dev < dev || (f->dev == dev && f->block <= block)))
			g = i;
	}
	*entry = NULL;
	if (g == k->ngroups)
		goto found;
	lo = g * k->seg_per_group;
	hi = lo + k->seg_per_group < k->g.nseg ? lo + k->seg_per_group : k->g.nseg;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int where;

		ret = load_segment(k, mid, err);
		if (ret)
			return ret;
		where = probe_segment(k, dev, block, entry);
		if (!where)
			break;
		if (where < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
found:
	/* none: es_unit_ciphers_chunk says so */
	return *entry ? es_keytable_check_entry(*entry, dev, block, err) : 0;
}

/* ---- the decryption stage ------------------------------------------------------- */

static int dec_meta(void *ctx, uint64_t blkno, uint8_t *block, struct es_err *err)
{
	struct keydec *k = ctx;

	return es_unit_ciphers_meta(&k->c, blkno, block, err);
}

static int dec_chunk(void *ctx, unsigned int dev, uint64_t chunk_block, uint64_t unit,
		     uint8_t *block, struct es_err *err)
{
	struct keydec *k = ctx;
	const uint8_t *e = NULL;

	if (!es_unit_ciphers_keyed_for(&k->c, dev, chunk_block)) {
		int ret = find_entry(k, dev, chunk_block, &e, err);

		if (ret)
			return ret;
	}
	return es_unit_ciphers_chunk(&k->c, e, dev, chunk_block, unit, block, err);
}

/* ---- opening and closing ------------------------------------------------------- */

int es_keydec_open(void *mem, size_t mem_len, const struct es_keyarea_dev *area,
		   const struct es_keyarea_expect *expect, const struct es_keydec_cred *cred,
		   struct es_decryptor *dec, unsigned int *slot, struct es_err *err)
{
	struct es_keyarea_copy_state copies[2];
	struct es_keyslot_search search = { 0 };
	struct keydec *k = mem;
	bool have_winner;
	unsigned int winner;
	int ret;

	if (!mem || ((uintptr_t)mem & (ES_KEYDEC_MEM_ALIGN - 1)) ||
	    mem_len < ES_KEYDEC_MEM_SIZE)
		return es_fail(err, -EINVAL, "the key table needs %u bytes of memory aligned to "
			       "%u", ES_KEYDEC_MEM_SIZE, ES_KEYDEC_MEM_ALIGN);
	if (!area || !area->read || !expect || !cred || !dec)
		return es_fail(err, -EINVAL, "unlocking: missing argument");
	/* the manifest anchors the table: without it any table would do */
	if (!expect->check_table || !expect->entries)
		return es_fail(err, -EINVAL, "unlocking needs the signed manifest's key "
			       "table digest and entry count");
	ret = check_cred(cred, err);
	if (ret)
		return ret;
	memset(k, 0, sizeof(*k));
	k->dev = *area;
	ret = es_ka_read_copies(area, expect, true, k->u.open.copy, copies, &k->hdr, &k->g,
				k->u.open.slots, &have_winner, &winner, err);
	if (ret)
		goto fail;
	ret = es_keyslot_search(&search, (const uint8_t (*)[ES_KEYSLOT_SIZE])k->u.open.slots,
				ES_KEYAREA_SLOTS, k->hdr.uuid, k->hdr.kid, open_slot,
				(void *)cred, k->tk, slot, err);
	if (ret == -EKEYREJECTED)
		ret = es_keyslot_search_failed(&search, err);
	if (ret)
		goto fail;
	memset(&k->u, 0, sizeof(k->u));
	es_ka_table_info(&k->hdr, &k->info);
	k->seg_per_group = (k->g.nseg + ES_KEYDEC_GROUPS - 1) / ES_KEYDEC_GROUPS;
	k->ngroups = (k->g.nseg + k->seg_per_group - 1) / k->seg_per_group;
	ret = es_crypto_xts_init(&k->c.meta, ES_CRYPTO_DECRYPT);
	if (!ret) {
		ret = es_crypto_xts_init(&k->c.data, ES_CRYPTO_DECRYPT);
		if (ret)
			es_crypto_xts_release(&k->c.meta);
	}
	if (ret) {
		ret = es_fail(err, ret, "cannot set up AES-256-XTS");
		goto fail;
	}
	k->ciphers = true;
	ret = scan_table(k, err);
	if (ret)
		goto fail;
	dec->meta = dec_meta;
	dec->chunk = dec_chunk;
	dec->ctx = k;
	return 0;
fail:
	es_keydec_close(k);
	return ret;
}

void es_keydec_close(void *mem)
{
	struct keydec *k = mem;

	if (!k)
		return;
	if (k->ciphers) {
		es_crypto_xts_release(&k->c.meta);
		es_crypto_xts_release(&k->c.data);
	}
	es_crypto_wipe(k, sizeof(*k));
}
