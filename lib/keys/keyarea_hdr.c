// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Reading the key area's header copies: see keyarea_hdr.h; the bytes are
 * in docs/FORMAT.md section 4.
 *
 * The layout follows from the number of table entries alone, and every
 * offset a header copy stores must be the one that follows: a copy cannot
 * point a reader anywhere else.  So the size of everything a reader
 * allocates or reads is bounded by the size of the area it was given.
 * Freestanding: the boot unlock reads key areas with this code too.
 */
#include <errno.h>
#include <string.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/io.h"
#include "keys/keyarea_hdr.h"
#include "keys/keyslot_entry.h"

_Static_assert(H_SLOTS + ES_KEYAREA_SLOTS * ES_KEYSLOT_SIZE == ES_KEYAREA_COPY_SIZE,
	       "slots fill the copy");

const char es_ka_copy_magic[2][9] = { "ESKEYHDA", "ESKEYHDB" };

static uint64_t round_up(uint64_t v)
{
	return es_round_up(v, ES_KEYAREA_ALIGN);
}

bool es_ka_geometry(uint64_t entries, struct es_ka_geom *g)
{
	memset(g, 0, sizeof(*g));
	if (!entries || entries > ES_KEYAREA_MAX_ENTRIES)
		return false;
	g->entries = entries;
	g->nseg = es_keytable_nseg(entries);
	g->ct_len = es_keytable_ct_size(entries);
	if (!g->nseg || !g->ct_len)
		return false;
	g->d_off = 2 * ES_KEYAREA_COPY_SIZE;
	g->d_len = g->nseg * ES_SHA256_DIGEST_SIZE;
	g->tslot = round_up(g->ct_len);
	g->t_off[0] = g->d_off + round_up(g->d_len);
	g->t_off[1] = g->t_off[0] + g->tslot;
	g->size = g->t_off[1] + g->tslot;
	return true;
}

uint64_t es_keyarea_size(uint64_t entries)
{
	struct es_ka_geom g;

	return es_ka_geometry(entries, &g) ? g.size : 0;
}

int es_ka_checksum(const uint8_t copy[ES_KEYAREA_COPY_SIZE], uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	static const uint8_t zero[ES_SHA256_DIGEST_SIZE];
	struct es_sha256_ctx c;
	int ret = es_sha256_init(&c);

	if (ret)
		return ret;
	es_sha256_update(&c, copy, H_CHECKSUM);
	es_sha256_update(&c, zero, ES_SHA256_DIGEST_SIZE);
	es_sha256_update(&c, copy + H_CHECKSUM + ES_SHA256_DIGEST_SIZE,
			 ES_KEYAREA_COPY_SIZE - H_CHECKSUM - ES_SHA256_DIGEST_SIZE);
	return es_sha256_final(&c, out);
}

void es_ka_table_info(const struct es_ka_hdr *h, struct es_keytable_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->uuid, h->uuid, ES_UUID_SIZE);
	info->suite = h->suite;
	info->gen = h->gen;
	info->entries = h->entries;
}

int es_ka_read(const struct es_keyarea_dev *dev, uint64_t off, void *buf, size_t len,
	       const char *what, struct es_err *err)
{
	struct es_err ioerr = { 0 };
	int ret;

	(void)what;	/* only in messages, which a freestanding build does not format */
	if (off > dev->size || len > dev->size - off)
		return es_fail(err, -ES_ECORRUPT, "key area: the %s lies outside its %llu bytes",
			       what, (unsigned long long)dev->size);
	ret = dev->read(dev->ctx, off, buf, len, &ioerr);
	if (ret)
		return es_fail(err, ret, "key area: cannot read the %s: %s", what,
			       ioerr.msg[0] ? ioerr.msg : "read error");
	return 0;
}

/*
 * Whether the copy in buf (read at copy position which) is valid: 0, or
 * -ES_ECORRUPT with what is wrong in err, or -EXDEV for a well-formed copy
 * of another image or table (expect).
 */
static int decode_copy(const uint8_t buf[ES_KEYAREA_COPY_SIZE], unsigned int which,
		       uint64_t area_size, const struct es_keyarea_expect *expect,
		       struct es_ka_hdr *h, struct es_ka_geom *g, uint64_t *seq,
		       struct es_err *err)
{
	uint8_t sum[ES_SHA256_DIGEST_SIZE];
	struct es_err serr = { 0 };

#define BAD(...) return es_fail(err, -ES_ECORRUPT, __VA_ARGS__)
#define OTHER(...) return es_fail(err, -EXDEV, __VA_ARGS__)
	if (memcmp(buf + H_MAGIC, es_ka_copy_magic[which], 8)) {
		if (es_is_zero(buf, ES_KEYAREA_COPY_SIZE))
			BAD("all zero");
		BAD("bad magic");
	}
	if (es_get32(buf + H_VERSION) != ES_KA_VERSION)
		BAD("version %u is not supported", es_get32(buf + H_VERSION));
	if (es_ka_checksum(buf, sum) || memcmp(sum, buf + H_CHECKSUM, sizeof(sum)))
		BAD("checksum mismatch (damaged or torn write)");
	if (es_get32(buf + H_COPY_SIZE) != ES_KEYAREA_COPY_SIZE ||
	    es_get32(buf + H_NSLOTS) != ES_KEYAREA_SLOTS ||
	    es_get32(buf + H_SLOT_SIZE) != ES_KEYSLOT_SIZE)
		BAD("unsupported copy, slot count or slot size");
	if (es_get64(buf + H_OWN_OFF) != (uint64_t)which * ES_KEYAREA_COPY_SIZE)
		BAD("says it is at byte %llu, but was read at byte %llu (moved or swapped copy)",
		    (unsigned long long)es_get64(buf + H_OWN_OFF),
		    (unsigned long long)which * ES_KEYAREA_COPY_SIZE);
	h->entries = es_get64(buf + H_ENTRIES);
	if (!es_ka_geometry(h->entries, g))
		BAD("%llu table entries are out of range", (unsigned long long)h->entries);
	if (es_get64(buf + H_AREA_SIZE) != area_size || g->size != area_size)
		BAD("the key area has %llu bytes, the copy expects %llu (and its table %llu)",
		    (unsigned long long)area_size,
		    (unsigned long long)es_get64(buf + H_AREA_SIZE),
		    (unsigned long long)g->size);
	if (es_get64(buf + H_D_OFF) != g->d_off || es_get64(buf + H_T0_OFF) != g->t_off[0] ||
	    es_get64(buf + H_T1_OFF) != g->t_off[1] || es_get64(buf + H_TSLOT_SIZE) != g->tslot ||
	    es_get64(buf + H_CT_LEN) != g->ct_len)
		BAD("offsets or sizes differ from the layout of %llu entries",
		    (unsigned long long)h->entries);
	h->active = es_get32(buf + H_ACTIVE);
	if (h->active > 1)
		BAD("active table slot %u does not exist", h->active);
	if (!es_is_zero(buf + H_RESERVED, 4) || !es_is_zero(buf + H_END, H_SLOTS - H_END))
		BAD("reserved bytes are not zero");
	memcpy(h->uuid, buf + H_UUID, ES_UUID_SIZE);
	h->suite = es_get32(buf + H_SUITE);
	h->gen = es_get32(buf + H_GEN);
	memcpy(h->table_digest, buf + H_TABLE_DIGEST, ES_SHA256_DIGEST_SIZE);
	memcpy(h->kid, buf + H_KID, ES_KID_SIZE);
	*seq = es_get64(buf + H_SEQ);
	if (h->suite != ES_SUITE_XTS_V1)
		BAD("crypto suite %u is not supported", h->suite);
	if (!h->gen)
		BAD("table generation 0");
	for (unsigned int i = 0; i < ES_KEYAREA_SLOTS; i++) {
		struct es_keyslot_info info;

		if (es_keyslot_parse_form(buf + H_SLOTS + i * ES_KEYSLOT_SIZE, &info, &serr))
			BAD("slot %u: %s", i, serr.msg);
	}
	if (expect) {
		if (memcmp(h->uuid, expect->uuid, ES_UUID_SIZE))
			OTHER("belongs to another image (its UUID differs from the image's)");
		if (expect->check_table && h->suite != expect->suite)
			OTHER("names crypto suite %u, the signed manifest %u", h->suite,
			      expect->suite);
		if (expect->check_table &&
		    memcmp(h->table_digest, expect->table_digest, ES_SHA256_DIGEST_SIZE))
			OTHER("its table digest differs from the signed manifest's (a key "
			      "table of another image or build)");
		if (expect->entries && h->entries != expect->entries)
			OTHER("has %llu table entries, the signed manifest %llu",
			      (unsigned long long)h->entries,
			      (unsigned long long)expect->entries);
	}
	return 0;
#undef BAD
#undef OTHER
}

/* A message into a copy's problem, cut at its size. */
static void set_problem(struct es_keyarea_copy_state *c, const char *msg)
{
	size_t n = 0;

	while (n < sizeof(c->problem) - 1 && msg[n])
		n++;
	memcpy(c->problem, msg, n);
	c->problem[n] = '\0';
}

int es_ka_read_copies(const struct es_keyarea_dev *dev, const struct es_keyarea_expect *expect,
		      bool need_winner, uint8_t *buf, struct es_keyarea_copy_state copies[2],
		      struct es_ka_hdr *h, struct es_ka_geom *g, es_ka_slots slots,
		      bool *have_winner, unsigned int *winner, struct es_err *err)
{
	bool mismatch = false;
	int ret;

	*have_winner = false;
	*winner = 0;
	memset(copies, 0, 2 * sizeof(*copies));
	for (unsigned int i = 0; i < 2; i++) {
		struct es_keyarea_copy_state *c = &copies[i];
		struct es_err cerr = { 0 };
		struct es_ka_geom cg;
		struct es_ka_hdr ch;

		if (dev->size < (uint64_t)(i + 1) * ES_KEYAREA_COPY_SIZE) {
			es_fail(&cerr, -ES_ECORRUPT, "the key area (%llu bytes) is too small to "
				"hold it", (unsigned long long)dev->size);
			set_problem(c, cerr.msg);
			continue;
		}
		ret = es_ka_read(dev, (uint64_t)i * ES_KEYAREA_COPY_SIZE, buf,
				 ES_KEYAREA_COPY_SIZE, i ? "header copy B" : "header copy A", err);
		if (ret)
			return ret;
		ret = decode_copy(buf, i, dev->size, expect, &ch, &cg, &c->seq, &cerr);
		c->valid = ret == 0;
		if (!c->valid) {
			mismatch |= ret == -EXDEV;
			set_problem(c, cerr.msg);
			continue;
		}
		/* A on a tie */
		if (!*have_winner || c->seq > copies[*winner].seq) {
			*have_winner = true;
			*winner = i;
			*h = ch;
			*g = cg;
			memcpy(slots, buf + H_SLOTS, sizeof(es_ka_slots));
		}
		es_crypto_wipe(&ch, sizeof(ch));
	}
	if (!*have_winner && need_winner)
		return es_fail(err, mismatch ? -EXDEV : -ES_ECORRUPT,
			       "key area: no usable header copy: copy A: %s; copy B: %s",
			       copies[0].problem, copies[1].problem);
	return 0;
}

/* ---- the area inside an I/O source's device 0 -------------------------------- */

static int io_read(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err)
{
	const struct es_keyarea_io_ctx *c = ctx;

	return es_io_read(c->io, 0, c->base + off, buf, len, err);
}

void es_keyarea_dev_io(struct es_keyarea_dev *dev, struct es_keyarea_io_ctx *ctx,
		       const struct es_io *io, uint64_t off, uint64_t len)
{
	ctx->io = io;
	ctx->base = off;
	memset(dev, 0, sizeof(*dev));
	dev->size = len;
	dev->read = io_read;
	dev->ctx = ctx;
}
