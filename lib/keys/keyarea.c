// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The key area: header copies, the choice of the winning copy, unlocking,
 * and the commits that change it.  See include/erofs/keyarea.h; the bytes
 * are in docs/FORMAT.md section 4.
 *
 * The layout follows from the number of table entries alone, and every
 * offset a header copy stores must be the one that follows: a copy cannot
 * point a reader anywhere else.  So the size of everything a reader
 * allocates is bounded by the size of the area it was given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keyarea.h"
#include "erofs/secret.h"
#include "erofs/sha256.h"

/* ---- header copy layout (docs/FORMAT.md 4.2) ----------------------------- */

#define H_MAGIC		0
#define H_VERSION	8
#define H_COPY_SIZE	12
#define H_NSLOTS	16
#define H_SLOT_SIZE	20
#define H_SEQ		24
#define H_OWN_OFF	32
#define H_AREA_SIZE	40
#define H_UUID		48
#define H_SUITE		64
#define H_GEN		68
#define H_ENTRIES	72
#define H_TABLE_DIGEST	80
#define H_KID		112
#define H_SALT		144
#define H_ACTIVE	176
#define H_RESERVED	180
#define H_D_OFF		184
#define H_T0_OFF	192
#define H_T1_OFF	200
#define H_TSLOT_SIZE	208
#define H_CT_LEN	216
#define H_CHECKSUM	224
#define H_END		256	/* zero up to H_SLOTS */
#define H_SLOTS		4096

#define KA_VERSION	1u
#define SALT_SIZE	32
#define DIGEST_SIZE	ES_SHA256_DIGEST_SIZE

_Static_assert(H_SLOTS + ES_KEYAREA_SLOTS * ES_KEYSLOT_SIZE == ES_KEYAREA_COPY_SIZE,
	       "slots fill the copy");

static const char *const copy_magic[2] = { "ESKEYHDA", "ESKEYHDB" };

/* Where everything is, for a table of entries entries. */
struct geom {
	uint64_t entries, nseg;
	uint64_t d_off, d_len;
	uint64_t t_off[2], tslot, ct_len;
	uint64_t size;
};

static uint64_t round_up(uint64_t v)
{
	return (v + ES_KEYAREA_ALIGN - 1) / ES_KEYAREA_ALIGN * ES_KEYAREA_ALIGN;
}

static bool geometry(uint64_t entries, struct geom *g)
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
	g->d_len = g->nseg * DIGEST_SIZE;
	g->tslot = round_up(g->ct_len);
	g->t_off[0] = g->d_off + round_up(g->d_len);
	g->t_off[1] = g->t_off[0] + g->tslot;
	g->size = g->t_off[1] + g->tslot;
	return true;
}

uint64_t es_keyarea_size(uint64_t entries)
{
	struct geom g;

	return geometry(entries, &g) ? g.size : 0;
}

/* What a header copy says, apart from its own bookkeeping. */
struct ka_state {
	uint8_t uuid[ES_UUID_SIZE];
	uint32_t suite, gen;
	uint64_t entries;
	uint8_t table_digest[DIGEST_SIZE];
	uint8_t kid[ES_KID_SIZE];
	unsigned int active;
	uint8_t slots[ES_KEYAREA_SLOTS][ES_KEYSLOT_SIZE];
};

struct es_keyarea {
	struct es_keyarea_dev dev;
	bool have_expect;
	struct es_keyarea_expect expect;
	struct geom g;
	struct ka_state st;		/* the winning copy's */
	struct es_keyarea_copy_state copies[2];
	bool have_winner;
	unsigned int winner;
	uint8_t *tk;			/* secret memory, ES_TABLE_KEY_SIZE */
	bool unlocked;
	uint8_t *digests;		/* D, once read and checked */
	bool broken;			/* a write or sync failed: write nothing more */
	uint64_t seq_floor;		/* commit above this too (restore: the backup's) */
};

static int checksum(const uint8_t copy[ES_KEYAREA_COPY_SIZE], uint8_t out[DIGEST_SIZE])
{
	struct es_sha256_ctx c;
	static const uint8_t zero[DIGEST_SIZE];

	int ret = es_sha256_init(&c);

	if (ret)
		return ret;
	es_sha256_update(&c, copy, H_CHECKSUM);
	es_sha256_update(&c, zero, DIGEST_SIZE);
	es_sha256_update(&c, copy + H_CHECKSUM + DIGEST_SIZE,
			 ES_KEYAREA_COPY_SIZE - H_CHECKSUM - DIGEST_SIZE);
	return es_sha256_final(&c, out);
}

/* ---- encoding and decoding a copy ------------------------------------------ */

static int encode_copy(const struct ka_state *st, const struct geom *g, unsigned int which,
		       uint64_t seq, uint8_t buf[ES_KEYAREA_COPY_SIZE], struct es_err *err)
{
	int ret;

	memset(buf, 0, ES_KEYAREA_COPY_SIZE);
	memcpy(buf + H_MAGIC, copy_magic[which], 8);
	es_put32(buf + H_VERSION, KA_VERSION);
	es_put32(buf + H_COPY_SIZE, ES_KEYAREA_COPY_SIZE);
	es_put32(buf + H_NSLOTS, ES_KEYAREA_SLOTS);
	es_put32(buf + H_SLOT_SIZE, ES_KEYSLOT_SIZE);
	es_put64(buf + H_SEQ, seq);
	es_put64(buf + H_OWN_OFF, (uint64_t)which * ES_KEYAREA_COPY_SIZE);
	es_put64(buf + H_AREA_SIZE, g->size);
	memcpy(buf + H_UUID, st->uuid, ES_UUID_SIZE);
	es_put32(buf + H_SUITE, st->suite);
	es_put32(buf + H_GEN, st->gen);
	es_put64(buf + H_ENTRIES, st->entries);
	memcpy(buf + H_TABLE_DIGEST, st->table_digest, DIGEST_SIZE);
	memcpy(buf + H_KID, st->kid, ES_KID_SIZE);
	/* a fresh salt each time: no two copies or writes are byte-identical */
	if (es_crypto_random(buf + H_SALT, SALT_SIZE))
		return es_fail(err, -EIO, "no random bytes for a salt");
	es_put32(buf + H_ACTIVE, st->active);
	es_put64(buf + H_D_OFF, g->d_off);
	es_put64(buf + H_T0_OFF, g->t_off[0]);
	es_put64(buf + H_T1_OFF, g->t_off[1]);
	es_put64(buf + H_TSLOT_SIZE, g->tslot);
	es_put64(buf + H_CT_LEN, g->ct_len);
	memcpy(buf + H_SLOTS, st->slots, sizeof(st->slots));
	ret = checksum(buf, buf + H_CHECKSUM);
	return ret ? es_fail(err, ret, "SHA-256 failed") : 0;
}

/* A copy that is not valid says why in problem; mismatch: another image's. */
static bool decode_copy(const uint8_t buf[ES_KEYAREA_COPY_SIZE], unsigned int which,
			uint64_t area_size, const struct es_keyarea_expect *expect,
			struct ka_state *st, struct geom *g, uint64_t *seq,
			char *problem, size_t problem_len, bool *mismatch)
{
	uint8_t sum[DIGEST_SIZE];
	struct es_err serr = { 0 };

#define BAD(...) do { snprintf(problem, problem_len, __VA_ARGS__); return false; } while (0)
	*mismatch = false;
	if (memcmp(buf + H_MAGIC, copy_magic[which], 8))
		BAD(es_is_zero(buf, ES_KEYAREA_COPY_SIZE) ? "all zero" : "bad magic");
	if (es_get32(buf + H_VERSION) != KA_VERSION)
		BAD("version %u is not supported", es_get32(buf + H_VERSION));
	if (checksum(buf, sum) || memcmp(sum, buf + H_CHECKSUM, DIGEST_SIZE))
		BAD("checksum mismatch (damaged or torn write)");
	if (es_get32(buf + H_COPY_SIZE) != ES_KEYAREA_COPY_SIZE ||
	    es_get32(buf + H_NSLOTS) != ES_KEYAREA_SLOTS ||
	    es_get32(buf + H_SLOT_SIZE) != ES_KEYSLOT_SIZE)
		BAD("unsupported copy, slot count or slot size");
	if (es_get64(buf + H_OWN_OFF) != (uint64_t)which * ES_KEYAREA_COPY_SIZE)
		BAD("says it is at byte %llu, but was read at byte %llu (moved or swapped copy)",
		    (unsigned long long)es_get64(buf + H_OWN_OFF),
		    (unsigned long long)which * ES_KEYAREA_COPY_SIZE);
	st->entries = es_get64(buf + H_ENTRIES);
	if (!geometry(st->entries, g))
		BAD("%llu table entries are out of range", (unsigned long long)st->entries);
	if (es_get64(buf + H_AREA_SIZE) != area_size || g->size != area_size)
		BAD("the key area has %llu bytes, the copy expects %llu (and its table %llu)",
		    (unsigned long long)area_size,
		    (unsigned long long)es_get64(buf + H_AREA_SIZE),
		    (unsigned long long)g->size);
	if (es_get64(buf + H_D_OFF) != g->d_off || es_get64(buf + H_T0_OFF) != g->t_off[0] ||
	    es_get64(buf + H_T1_OFF) != g->t_off[1] || es_get64(buf + H_TSLOT_SIZE) != g->tslot ||
	    es_get64(buf + H_CT_LEN) != g->ct_len)
		BAD("offsets or sizes differ from the layout of %llu entries",
		    (unsigned long long)st->entries);
	st->active = es_get32(buf + H_ACTIVE);
	if (st->active > 1)
		BAD("active table slot %u does not exist", st->active);
	if (!es_is_zero(buf + H_RESERVED, 4) || !es_is_zero(buf + H_END, H_SLOTS - H_END))
		BAD("reserved bytes are not zero");
	memcpy(st->uuid, buf + H_UUID, ES_UUID_SIZE);
	st->suite = es_get32(buf + H_SUITE);
	st->gen = es_get32(buf + H_GEN);
	memcpy(st->table_digest, buf + H_TABLE_DIGEST, DIGEST_SIZE);
	memcpy(st->kid, buf + H_KID, ES_KID_SIZE);
	memcpy(st->slots, buf + H_SLOTS, sizeof(st->slots));
	*seq = es_get64(buf + H_SEQ);
	if (st->suite != ES_SUITE_XTS_V1)
		BAD("crypto suite %u is not supported", st->suite);
	if (!st->gen)
		BAD("table generation 0");
	for (unsigned int i = 0; i < ES_KEYAREA_SLOTS; i++) {
		struct es_keyslot_info info;

		if (es_keyslot_parse(st->slots[i], &info, &serr))
			BAD("slot %u: %.120s", i, serr.msg);
	}
	if (expect) {
		*mismatch = true;
		if (memcmp(st->uuid, expect->uuid, ES_UUID_SIZE))
			BAD("belongs to another image (its UUID differs from the image's)");
		if (expect->check_table && st->suite != expect->suite)
			BAD("names crypto suite %u, the signed manifest %u", st->suite,
			    expect->suite);
		if (expect->check_table &&
		    memcmp(st->table_digest, expect->table_digest, DIGEST_SIZE))
			BAD("its table digest differs from the signed manifest's (a key "
			    "table of another image or build)");
		if (expect->entries && st->entries != expect->entries)
			BAD("has %llu table entries, the signed manifest %llu",
			    (unsigned long long)st->entries,
			    (unsigned long long)expect->entries);
		*mismatch = false;
	}
	return true;
#undef BAD
}

/* ---- I/O ------------------------------------------------------------------------ */

static int dev_read(const struct es_keyarea_dev *dev, uint64_t off, void *buf, size_t len,
		    const char *what, struct es_err *err)
{
	struct es_err ioerr = { 0 };
	int ret;

	if (off > dev->size || len > dev->size - off)
		return es_fail(err, -ES_ECORRUPT, "key area: the %s lies outside its %llu bytes",
			       what, (unsigned long long)dev->size);
	ret = dev->read(dev->ctx, off, buf, len, &ioerr);
	if (ret)
		return es_fail(err, ret, "key area: cannot read the %s: %s", what,
			       ioerr.msg[0] ? ioerr.msg : strerror(-ret));
	return 0;
}

static int ka_write(struct es_keyarea *ka, uint64_t off, const void *buf, size_t len,
		    const char *what, struct es_err *err)
{
	struct es_err ioerr = { 0 };
	int ret;

	if (ka->broken)
		return es_fail(err, -EIO, "key area: an earlier write failed; nothing more "
			       "is written");
	if (!ka->dev.write || !ka->dev.sync)
		return es_fail(err, -EROFS, "key area: opened read-only");
	if (off > ka->dev.size || len > ka->dev.size - off)
		return es_fail(err, -EINVAL, "key area: the %s lies outside its %llu bytes", what,
			       (unsigned long long)ka->dev.size);
	ret = ka->dev.write(ka->dev.ctx, off, buf, len, &ioerr);
	if (ret) {
		ka->broken = true;
		return es_fail(err, ret, "key area: cannot write the %s: %s", what,
			       ioerr.msg[0] ? ioerr.msg : strerror(-ret));
	}
	return 0;
}

/* After a failed sync the state on disk is unknown: stop, never retry. */
static int ka_sync(struct es_keyarea *ka, const char *what, struct es_err *err)
{
	struct es_err ioerr = { 0 };
	int ret;

	if (ka->broken)
		return es_fail(err, -EIO, "key area: an earlier write failed; nothing more "
			       "is written");
	ret = ka->dev.sync(ka->dev.ctx, &ioerr);
	if (ret) {
		ka->broken = true;
		return es_fail(err, ret, "key area: syncing the %s failed (%s); stopped "
			       "without retrying: it opens with either the old or the new "
			       "keyslots", what, ioerr.msg[0] ? ioerr.msg : strerror(-ret));
	}
	return 0;
}

/* Zeros over [off, off + len), in pieces. */
static int ka_write_zeros(struct es_keyarea *ka, uint64_t off, uint64_t len, const char *what,
			  struct es_err *err)
{
	static const uint8_t zeros[65536];

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int ret = ka_write(ka, off, zeros, n, what, err);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

static int region_is_zero(const struct es_keyarea_dev *dev, uint64_t off, uint64_t len,
			  const char *what, bool *zero, struct es_err *err)
{
	uint8_t buf[65536];

	*zero = true;
	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		int ret = dev_read(dev, off, buf, n, what, err);

		if (ret)
			return ret;
		if (!es_is_zero(buf, n)) {
			*zero = false;
			return 0;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/* ---- opening ---------------------------------------------------------------- */

/*
 * Read both copies and choose the winner.  need_winner false: a handle
 * comes back even without a valid copy (restore writes over such areas).
 */
static int ka_load(const struct es_keyarea_dev *dev, const struct es_keyarea_expect *expect,
		   bool need_winner, struct es_keyarea **out, struct es_err *err)
{
	struct es_keyarea *ka;
	uint8_t *buf = NULL;
	struct ka_state st[2];
	struct geom g[2];
	bool mismatch[2] = { false, false };
	int ret = 0;

	*out = NULL;
	if (!dev || !dev->read)
		return es_fail(err, -EINVAL, "key area: no device");
	ka = calloc(1, sizeof(*ka));
	buf = malloc(ES_KEYAREA_COPY_SIZE);
	if (!ka || !buf) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto fail;
	}
	ka->dev = *dev;
	if (expect) {
		ka->have_expect = true;
		ka->expect = *expect;
	}
	for (unsigned int i = 0; i < 2; i++) {
		struct es_keyarea_copy_state *c = &ka->copies[i];

		if (dev->size < (uint64_t)(i + 1) * ES_KEYAREA_COPY_SIZE) {
			snprintf(c->problem, sizeof(c->problem), "the key area (%llu bytes) is "
				 "too small to hold it", (unsigned long long)dev->size);
			continue;
		}
		ret = dev_read(dev, (uint64_t)i * ES_KEYAREA_COPY_SIZE, buf,
			       ES_KEYAREA_COPY_SIZE, i ? "header copy B" : "header copy A", err);
		if (ret)
			goto fail;
		c->valid = decode_copy(buf, i, dev->size, expect, &st[i], &g[i], &c->seq,
				       c->problem, sizeof(c->problem), &mismatch[i]);
	}
	if (ka->copies[0].valid || ka->copies[1].valid) {
		unsigned int w = !ka->copies[0].valid ? 1 : !ka->copies[1].valid ? 0 :
				 ka->copies[1].seq > ka->copies[0].seq ? 1 : 0;

		ka->have_winner = true;
		ka->winner = w;
		ka->st = st[w];
		ka->g = g[w];
	} else if (need_winner) {
		ret = es_fail(err, mismatch[0] || mismatch[1] ? -EXDEV : -ES_ECORRUPT,
			      "key area: no usable header copy: copy A: %s; copy B: %s",
			      ka->copies[0].problem, ka->copies[1].problem);
		goto fail;
	}
	ka->tk = es_secret_alloc(ES_TABLE_KEY_SIZE);
	if (!ka->tk) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto fail;
	}
	es_crypto_wipe(st, sizeof(st));
	free(buf);
	*out = ka;
	return 0;
fail:
	es_crypto_wipe(st, sizeof(st));
	free(buf);
	es_keyarea_close(ka);
	return ret;
}

int es_keyarea_open(const struct es_keyarea_dev *dev, const struct es_keyarea_expect *expect,
		    struct es_keyarea **out, struct es_err *err)
{
	return ka_load(dev, expect, true, out, err);
}

void es_keyarea_close(struct es_keyarea *ka)
{
	if (!ka)
		return;
	es_secret_free(ka->tk, ES_TABLE_KEY_SIZE);
	free(ka->digests);
	es_crypto_wipe(ka, sizeof(*ka));
	free(ka);
}

static unsigned int used_slots(const struct ka_state *st)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ES_KEYAREA_SLOTS; i++)
		n += st->slots[i][0] != ES_KEYSLOT_EMPTY;
	return n;
}

void es_keyarea_summary(const struct es_keyarea *ka, struct es_keyarea_summary *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->uuid, ka->st.uuid, ES_UUID_SIZE);
	s->suite = ka->st.suite;
	s->gen = ka->st.gen;
	s->entries = ka->st.entries;
	memcpy(s->table_digest, ka->st.table_digest, DIGEST_SIZE);
	memcpy(s->kid, ka->st.kid, ES_KID_SIZE);
	s->winner = ka->winner;
	s->copies[0] = ka->copies[0];
	s->copies[1] = ka->copies[1];
	s->active_table = ka->st.active;
	s->area_size = ka->dev.size;
	s->digests_off = ka->g.d_off;
	s->digests_len = ka->g.d_len;
	s->table_off = ka->g.t_off[ka->st.active];
	s->table_len = ka->g.ct_len;
	s->used_slots = used_slots(&ka->st);
}

int es_keyarea_slot(const struct es_keyarea *ka, unsigned int i, struct es_keyslot_info *info,
		    struct es_err *err)
{
	if (i >= ES_KEYAREA_SLOTS)
		return es_fail(err, -EINVAL, "there is no slot %u (slots 0 to %u)", i,
			       ES_KEYAREA_SLOTS - 1);
	return es_keyslot_parse(ka->st.slots[i], info, err);
}

/* ---- unlocking ---------------------------------------------------------------- */

/*
 * The first slot of st that a credential opens: 0 and tk, or -EKEYREJECTED
 * / -ERANGE (none opens; one was refused for its costs), or another error
 * that stops the search (out of memory).  A message in err on failure.
 */
static int unlock_state(const struct ka_state *st, struct es_keyslot_cred *const *creds,
			unsigned int ncreds, uint8_t tk[ES_TABLE_KEY_SIZE], unsigned int *slot,
			struct es_err *err)
{
	char refused[ES_ERR_MSG_MAX] = "";
	unsigned int tried = 0;
	int refused_ret = 0;

	for (unsigned int c = 0; c < ncreds; c++) {
		for (unsigned int i = 0; i < ES_KEYAREA_SLOTS; i++) {
			struct es_err serr = { 0 };
			int ret;

			if (st->slots[i][0] == ES_KEYSLOT_EMPTY)
				continue;
			ret = es_keyslot_unwrap(creds[c], st->slots[i], st->uuid, st->kid, tk,
						&serr);
			if (!ret) {
				if (slot)
					*slot = i;
				return 0;
			}
			if (ret == -ENOKEY)
				continue;
			tried++;
			if (ret == -EKEYREJECTED)
				continue;
			/* a slot this machine cannot afford: another may open */
			if (ret == -ERANGE || ret == -ENOMEM) {
				if (!refused[0]) {
					snprintf(refused, sizeof(refused), "slot %u: %.400s",
						 i, serr.msg);
					refused_ret = ret;
				}
				continue;
			}
			return es_fail(err, ret, "slot %u: %s", i, serr.msg);
		}
	}
	if (refused[0])
		return es_fail(err, refused_ret, "no credential opens a keyslot; %s", refused);
	if (!tried)
		return es_fail(err, -EKEYREJECTED, "no keyslot is of the kind of the "
			       "credentials given (or for that X25519 key or seed label)");
	return es_fail(err, -EKEYREJECTED, "no credential opens a keyslot (wrong passphrase "
		       "or key: %u slot%s tried)", tried, tried == 1 ? "" : "s");
}

int es_keyarea_unlock(struct es_keyarea *ka, struct es_keyslot_cred *const *creds,
		      unsigned int ncreds, unsigned int *slot, struct es_err *err)
{
	int ret;

	if (!ncreds)
		return es_fail(err, -EINVAL, "no credential given to unlock the key area");
	ret = unlock_state(&ka->st, creds, ncreds, ka->tk, slot, err);
	ka->unlocked = ret == 0;
	return ret;
}

bool es_keyarea_unlocked(const struct es_keyarea *ka)
{
	return ka->unlocked;
}

const uint8_t *es_keyarea_table_key(const struct es_keyarea *ka)
{
	return ka->unlocked ? ka->tk : NULL;
}

static void table_info(const struct ka_state *st, struct es_keytable_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->uuid, st->uuid, ES_UUID_SIZE);
	info->suite = st->suite;
	info->gen = st->gen;
	info->entries = st->entries;
}

void es_keyarea_table_info(const struct es_keyarea *ka, struct es_keytable_info *info)
{
	table_info(&ka->st, info);
}

/* ---- the table ------------------------------------------------------------------ */

/* Read D of the area in ka (state st) and check it against st's table digest. */
static int load_digests(const struct es_keyarea_dev *dev, const struct ka_state *st,
			const struct geom *g, uint8_t **out, struct es_err *err)
{
	struct es_keytable_info info;
	uint8_t want[DIGEST_SIZE];
	uint8_t *d;
	int ret;

	*out = NULL;
	d = malloc(g->d_len);
	if (!d)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = dev_read(dev, g->d_off, d, g->d_len, "table digests", err);
	if (ret)
		goto fail;
	table_info(st, &info);
	ret = es_keytable_digest_of(&info, d, want);
	if (ret) {
		ret = es_fail(err, ret, "cannot compute the table digest");
		goto fail;
	}
	if (es_crypto_memcmp(want, st->table_digest, DIGEST_SIZE)) {
		ret = es_fail(err, -EBADMSG, "key area: the table digests (D) do not match "
			      "the table digest: damaged");
		goto fail;
	}
	*out = d;
	return 0;
fail:
	free(d);
	return ret;
}

int es_keyarea_digests(struct es_keyarea *ka, const uint8_t **digests, struct es_err *err)
{
	int ret = 0;

	if (!ka->digests)
		ret = load_digests(&ka->dev, &ka->st, &ka->g, &ka->digests, err);
	*digests = ka->digests;
	return ret;
}

/* Segment k's ciphertext and tag: offset in the table, length. */
static uint64_t seg_ct_off(uint64_t k)
{
	return k * (ES_KT_SEG_SIZE + ES_KT_TAG_SIZE);
}

int es_keyarea_read_segment(struct es_keyarea *ka, uint64_t k, uint8_t *plain,
			    struct es_err *err)
{
	uint8_t ct[ES_KT_SEG_SIZE + ES_KT_TAG_SIZE];
	struct es_keytable_info info;
	const uint8_t *d;
	size_t len;
	int ret;

	if (!ka->unlocked)
		return es_fail(err, -ENOKEY, "key area: not unlocked");
	if (k >= ka->g.nseg)
		return es_fail(err, -EINVAL, "key table: no segment %llu", (unsigned long long)k);
	ret = es_keyarea_digests(ka, &d, err);
	if (ret)
		return ret;
	len = es_keytable_seg_len(ka->st.entries, k) + ES_KT_TAG_SIZE;
	ret = dev_read(&ka->dev, ka->g.t_off[ka->st.active] + seg_ct_off(k), ct, len,
		       "key table", err);
	if (ret)
		return ret;
	table_info(&ka->st, &info);
	return es_keytable_open_segment(&info, ka->tk, k, ct, d, plain, err);
}

/* The whole table of state st (slot st->active) under tk, into plain. */
static int decrypt_table(const struct es_keyarea_dev *dev, const struct ka_state *st,
			 const struct geom *g, const uint8_t *tk, const uint8_t *digests,
			 uint8_t *plain, struct es_err *err)
{
	struct es_keytable_info info;
	uint8_t *ct = malloc(g->ct_len);
	int ret;

	if (!ct)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = dev_read(dev, g->t_off[st->active], ct, g->ct_len, "key table", err);
	table_info(st, &info);
	for (uint64_t k = 0; !ret && k < g->nseg; k++)
		ret = es_keytable_open_segment(&info, tk, k, ct + seg_ct_off(k), digests,
					       plain + k * ES_KT_SEG_SIZE, err);
	if (ret)
		es_crypto_wipe(plain, g->entries * ES_KT_ENTRY_SIZE);
	free(ct);
	return ret;
}

int es_keyarea_read_table(struct es_keyarea *ka, uint8_t *plain, struct es_err *err)
{
	const uint8_t *d;
	int ret;

	if (!ka->unlocked)
		return es_fail(err, -ENOKEY, "key area: not unlocked");
	ret = es_keyarea_digests(ka, &d, err);
	if (ret)
		return ret;
	return decrypt_table(&ka->dev, &ka->st, &ka->g, ka->tk, d, plain, err);
}

/* ---- creating ------------------------------------------------------------------ */

/* A new TK and its kid. */
static int fresh_table_key(uint8_t tk[ES_TABLE_KEY_SIZE], uint8_t kid[ES_KID_SIZE],
			   struct es_err *err)
{
	if (es_crypto_random_secret(tk, ES_TABLE_KEY_SIZE))
		return es_fail(err, -EIO, "no random bytes for a table key");
	if (es_derive_kid(tk, kid)) {
		es_crypto_wipe(tk, ES_TABLE_KEY_SIZE);
		return es_fail(err, -EIO, "cannot derive the key id");
	}
	return 0;
}

/* The table (st: uuid, suite, gen, entries) encrypted under tk into ct. */
static int encrypt_table(const struct ka_state *st, const uint8_t *tk, const uint8_t *plain,
			 uint8_t *ct, struct es_err *err)
{
	struct es_keytable_info info;

	table_info(st, &info);
	return es_keytable_encrypt(&info, tk, plain, ct, err);
}

int es_keyarea_create(const struct es_keyarea_table *t,
		      struct es_keyslot_cred *const *creds, unsigned int ncreds,
		      const struct es_keyslot_policy *policy, uint8_t **area, size_t *area_len,
		      struct es_err *err)
{
	struct es_keytable_info info;
	uint8_t check[DIGEST_SIZE];
	struct ka_state *st = NULL;
	uint8_t *buf = NULL, *tk = NULL;
	struct geom g;
	int ret;

	*area = NULL;
	*area_len = 0;
	if (!t || !t->digests || !t->plain || (!creds && ncreds))
		return es_fail(err, -EINVAL, "key area: bad arguments");
	if (!ncreds)
		return es_fail(err, -EINVAL, "key area: at least one keyslot is needed");
	if (ncreds > ES_KEYAREA_SLOTS)
		return es_fail(err, -ENOSPC, "key area: %u keyslots asked for, it has %u",
			       ncreds, ES_KEYAREA_SLOTS);
	if (t->suite != ES_SUITE_XTS_V1)
		return es_fail(err, -EINVAL, "key area: crypto suite %u is not supported",
			       t->suite);
	if (!geometry(t->entries, &g) || g.size > SIZE_MAX)
		return es_fail(err, -EFBIG, "key area: %llu table entries are out of range",
			       (unsigned long long)t->entries);
	memset(&info, 0, sizeof(info));
	memcpy(info.uuid, t->uuid, ES_UUID_SIZE);
	info.suite = t->suite;
	info.entries = t->entries;
	ret = es_keytable_digest_of(&info, t->digests, check);
	if (ret)
		return es_fail(err, ret, "cannot compute the table digest");
	if (memcmp(check, t->table_digest, DIGEST_SIZE))
		return es_fail(err, -EINVAL, "key area: the table digest does not match D");

	st = calloc(1, sizeof(*st));
	buf = calloc(1, (size_t)g.size);
	tk = es_secret_alloc(ES_TABLE_KEY_SIZE);
	if (!st || !buf || !tk) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(st->uuid, t->uuid, ES_UUID_SIZE);
	st->suite = t->suite;
	st->gen = 1;
	st->entries = t->entries;
	memcpy(st->table_digest, t->table_digest, DIGEST_SIZE);
	st->active = 0;
	ret = fresh_table_key(tk, st->kid, err);
	if (ret)
		goto out;
	ret = encrypt_table(st, tk, t->plain, buf + g.t_off[0], err);
	if (ret)
		goto out;
	memcpy(buf + g.d_off, t->digests, g.d_len);
	for (unsigned int i = 0; i < ncreds; i++) {
		ret = es_keyslot_wrap(creds[i], st->uuid, tk, st->kid, policy, st->slots[i], err);
		if (ret) {
			es_err_prefix(err, "keyslot %u (%s): ", i, es_keyslot_cred_spec(creds[i]));
			goto out;
		}
	}
	for (unsigned int c = 0; c < 2 && !ret; c++)
		ret = encode_copy(st, &g, c, 1, buf + (size_t)c * ES_KEYAREA_COPY_SIZE, err);
out:
	es_secret_free(tk, ES_TABLE_KEY_SIZE);
	if (st)
		es_crypto_wipe(st, sizeof(*st));
	free(st);
	if (ret) {
		free(buf);
		return ret;
	}
	*area = buf;
	*area_len = (size_t)g.size;
	return 0;
}

/* ---- commits -------------------------------------------------------------------- */

/*
 * Make next the state of the area: the copy that is not the winner first
 * (the invalid one, else the lower sequence number, else B), synced, then
 * the other, synced; both with the next sequence number.
 */
static int commit(struct es_keyarea *ka, const struct ka_state *next, struct es_err *err)
{
	struct es_keyarea_copy_state *c = ka->copies;
	uint8_t *buf = malloc(ES_KEYAREA_COPY_SIZE);
	unsigned int first;
	uint64_t seq = 0;
	int ret = 0;

	if (!buf)
		return es_fail(err, -ENOMEM, "out of memory");
	seq = ka->seq_floor;
	for (unsigned int i = 0; i < 2; i++)
		if (c[i].valid && c[i].seq > seq)
			seq = c[i].seq;
	if (seq == UINT64_MAX) {
		free(buf);
		return es_fail(err, -EOVERFLOW, "key area: the sequence number is exhausted");
	}
	seq++;
	if (!c[0].valid && c[1].valid)
		first = 0;
	else if (c[0].valid && !c[1].valid)
		first = 1;
	else if (c[0].valid && c[0].seq < c[1].seq)
		first = 0;
	else
		first = 1;
	for (unsigned int step = 0; step < 2 && !ret; step++) {
		unsigned int which = step ? !first : first;
		const char *name = which ? "header copy B" : "header copy A";

		ret = encode_copy(next, &ka->g, which, seq, buf, err);
		if (!ret)
			ret = ka_write(ka, (uint64_t)which * ES_KEYAREA_COPY_SIZE, buf,
				       ES_KEYAREA_COPY_SIZE, name, err);
		if (!ret)
			ret = ka_sync(ka, name, err);
		if (!ret) {
			c[which].valid = true;
			c[which].seq = seq;
			c[which].problem[0] = '\0';
		}
	}
	free(buf);
	if (ret)
		return ret;
	ka->st = *next;
	ka->winner = 0;		/* equal sequence numbers: A */
	ka->have_winner = true;
	return 0;
}

/*
 * Before a change: the table slot the winner does not use must hold
 * nothing (a rotate that stopped after its commit may have left the old
 * table there, readable with the old TK): wipe it first.  Writing it is
 * safe, the winner does not reference it.
 */
static int finish_old_wipe(struct es_keyarea *ka, struct es_err *err)
{
	unsigned int spare = !ka->st.active;
	bool zero;
	int ret;

	ret = region_is_zero(&ka->dev, ka->g.t_off[spare], ka->g.tslot, "spare table slot",
			     &zero, err);
	if (ret || zero)
		return ret;
	ret = ka_write_zeros(ka, ka->g.t_off[spare], ka->g.tslot, "spare table slot", err);
	return ret ? ret : ka_sync(ka, "spare table slot", err);
}

static int begin_change(struct es_keyarea *ka, struct es_err *err)
{
	if (!ka->unlocked)
		return es_fail(err, -ENOKEY, "key area: not unlocked");
	if (!ka->dev.write || !ka->dev.sync)
		return es_fail(err, -EROFS, "key area: opened read-only");
	return finish_old_wipe(ka, err);
}

/*
 * One commit that changes slot i of the current state in both copies: a
 * new wrap of the table key for c, or (c NULL) an empty slot.
 */
static int change_slot(struct es_keyarea *ka, unsigned int i, const struct es_keyslot_cred *c,
		       const struct es_keyslot_policy *policy, struct es_err *err)
{
	struct ka_state *next;
	int ret = begin_change(ka, err);

	if (ret)
		return ret;
	next = malloc(sizeof(*next));
	if (!next)
		return es_fail(err, -ENOMEM, "out of memory");
	*next = ka->st;
	if (c)
		ret = es_keyslot_wrap(c, next->uuid, ka->tk, next->kid, policy, next->slots[i],
				      err);
	else
		memset(next->slots[i], 0, ES_KEYSLOT_SIZE);
	if (!ret)
		ret = commit(ka, next, err);
	es_crypto_wipe(next, sizeof(*next));
	free(next);
	return ret;
}

int es_keyarea_add(struct es_keyarea *ka, const struct es_keyslot_cred *c,
		   const struct es_keyslot_policy *policy, unsigned int *slot,
		   struct es_err *err)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ES_KEYAREA_SLOTS; i++)
		if (ka->st.slots[i][0] == ES_KEYSLOT_EMPTY)
			break;
	if (i == ES_KEYAREA_SLOTS)
		return es_fail(err, -ENOSPC, "key area: all %u keyslots are in use",
			       ES_KEYAREA_SLOTS);
	ret = change_slot(ka, i, c, policy, err);
	if (!ret && slot)
		*slot = i;
	return ret;
}

int es_keyarea_remove(struct es_keyarea *ka, unsigned int i, unsigned int flags,
		      struct es_err *err)
{
	if (i >= ES_KEYAREA_SLOTS)
		return es_fail(err, -EINVAL, "there is no slot %u (slots 0 to %u)", i,
			       ES_KEYAREA_SLOTS - 1);
	if (ka->st.slots[i][0] == ES_KEYSLOT_EMPTY)
		return es_fail(err, -ENOENT, "slot %u is empty", i);
	if (used_slots(&ka->st) == 1 && !(flags & ES_KEYAREA_LAST))
		return es_fail(err, -EPERM, "slot %u is the last one: without it nothing "
			       "opens the key table", i);
	return change_slot(ka, i, NULL, NULL, err);
}

/*
 * Rewrap every slot of src for new_tk into dst (whose uuid and kid are
 * already the new state's): the credential that opens each slot (under
 * src's uuid and kid) wraps it again; X25519 slots are wrapped for their
 * stored recipient.  A slot nothing opens is dropped with ES_KEYAREA_DROP,
 * else -EPERM naming it.  Nothing is written.
 */
static int rewrap_all(const struct ka_state *src, struct es_keyslot_cred *const *creds,
		      unsigned int ncreds, unsigned int flags, const uint8_t *new_tk,
		      struct ka_state *dst, enum es_keyarea_slot_fate *fates,
		      struct es_err *err)
{
	uint8_t *tk = es_secret_alloc(ES_TABLE_KEY_SIZE);
	char missing[256] = "";
	unsigned int kept = 0;
	int ret = 0;

	if (!tk)
		return es_fail(err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < ES_KEYAREA_SLOTS && !ret; i++) {
		const uint8_t *entry = src->slots[i];
		struct es_keyslot_cred *own = NULL;
		const struct es_keyslot_cred *opener = NULL;
		struct es_keyslot_policy policy;
		struct es_keyslot_info info;

		memset(dst->slots[i], 0, ES_KEYSLOT_SIZE);
		if (fates)
			fates[i] = ES_SLOT_UNUSED;
		if (entry[0] == ES_KEYSLOT_EMPTY)
			continue;
		ret = es_keyslot_parse(entry, &info, err);
		if (ret)
			break;
		if (info.kind == ES_KEYSLOT_X25519) {
			ret = es_keyslot_cred_recipient_of(entry, &own, err);
			opener = own;
		}
		for (unsigned int c = 0; !ret && !opener && c < ncreds; c++) {
			struct es_err serr = { 0 };
			int r = es_keyslot_unwrap(creds[c], entry, src->uuid, src->kid, tk, &serr);

			if (!r)
				opener = creds[c];
			else if (r != -ENOKEY && r != -EKEYREJECTED && r != -ERANGE)
				ret = es_fail(err, r, "slot %u: %s", i, serr.msg);
		}
		if (!ret && opener) {
			es_keyslot_policy_of(&info, &policy);
			ret = es_keyslot_wrap(opener, dst->uuid, new_tk, dst->kid, &policy,
					      dst->slots[i], err);
			if (ret)
				es_err_prefix(err, "slot %u: ", i);
			kept++;
			if (fates)
				fates[i] = ES_SLOT_REWRAPPED;
		} else if (!ret) {
			size_t n = strlen(missing);

			if (fates)
				fates[i] = ES_SLOT_DROPPED;
			if (n < sizeof(missing) - 16)
				snprintf(missing + n, sizeof(missing) - n, "%s%u (%s)",
					 n ? ", " : "", i, es_keyslot_kind_name(info.kind));
		}
		es_keyslot_cred_free(own);
	}
	es_secret_free(tk, ES_TABLE_KEY_SIZE);
	if (ret)
		return ret;
	if (missing[0] && !(flags & ES_KEYAREA_DROP))
		return es_fail(err, -EPERM, "no credential given opens slot %s: give one for "
			       "each slot to keep, or drop them", missing);
	if (!kept)
		return es_fail(err, -EPERM, "no slot would be left to open the new table key");
	return 0;
}

/*
 * The core of rotate and restore: ka's area gets the table plain (for the
 * identity in base: uuid, suite, entries, table digest, gen already
 * raised) under a fresh TK in table slot `slot`, the slots of src
 * rewrapped, one commit, then the other table slot wiped.
 */
static int reencrypt_commit(struct es_keyarea *ka, const struct ka_state *src,
			    const struct ka_state *base, const uint8_t *plain, unsigned int slot,
			    struct es_keyslot_cred *const *creds, unsigned int ncreds,
			    unsigned int flags, enum es_keyarea_slot_fate *fates,
			    struct es_err *err)
{
	uint8_t *tk = es_secret_alloc(ES_TABLE_KEY_SIZE);
	struct ka_state *next = malloc(sizeof(*next));
	uint8_t *ct = calloc(1, (size_t)ka->g.tslot);
	int ret;

	if (!tk || !next || !ct) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	*next = *base;
	next->active = slot;
	ret = fresh_table_key(tk, next->kid, err);
	if (!ret)
		ret = rewrap_all(src, creds, ncreds, flags, tk, next, fates, err);
	if (!ret)
		ret = encrypt_table(next, tk, plain, ct, err);
	/* never a slot the winner references: the caller chose a spare one */
	if (!ret)
		ret = ka_write(ka, ka->g.t_off[slot], ct, (size_t)ka->g.tslot, "new key table",
			       err);
	if (!ret)
		ret = ka_sync(ka, "new key table", err);
	if (!ret)
		ret = commit(ka, next, err);
	if (ret)
		goto out;
	memcpy(ka->tk, tk, ES_TABLE_KEY_SIZE);
	ka->unlocked = true;
	/* the old table, readable with the old TK, goes */
	ret = ka_write_zeros(ka, ka->g.t_off[!slot], ka->g.tslot, "old key table", err);
	if (!ret)
		ret = ka_sync(ka, "old key table", err);
out:
	es_secret_free(tk, ES_TABLE_KEY_SIZE);
	if (next)
		es_crypto_wipe(next, sizeof(*next));
	free(next);
	free(ct);
	return ret;
}

int es_keyarea_rotate(struct es_keyarea *ka, struct es_keyslot_cred *const *creds,
		      unsigned int ncreds, unsigned int flags,
		      enum es_keyarea_slot_fate *fates, struct es_err *err)
{
	size_t plain_len;
	struct ka_state base;
	const uint8_t *d;
	uint8_t *plain;
	int ret;

	ret = begin_change(ka, err);
	if (ret)
		return ret;
	if (ka->st.gen == UINT32_MAX)
		return es_fail(err, -EOVERFLOW, "key area: the table generation is exhausted");
	ret = es_keyarea_digests(ka, &d, err);
	if (ret)
		return ret;
	plain_len = (size_t)(ka->st.entries * ES_KT_ENTRY_SIZE);
	plain = es_secret_alloc(plain_len);
	if (!plain)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = decrypt_table(&ka->dev, &ka->st, &ka->g, ka->tk, d, plain, err);
	if (!ret) {
		base = ka->st;
		base.gen++;
		ret = reencrypt_commit(ka, &ka->st, &base, plain, !ka->st.active, creds, ncreds,
				       flags, fates, err);
		es_crypto_wipe(&base, sizeof(base));
	}
	es_secret_free(plain, plain_len);
	return ret;
}

int es_keyarea_restore(const struct es_keyarea_dev *dev,
		       const struct es_keyarea_expect *expect,
		       const struct es_keyarea_dev *backup_dev,
		       struct es_keyslot_cred *const *creds, unsigned int ncreds,
		       unsigned int flags, enum es_keyarea_slot_fate *fates,
		       struct es_err *err)
{
	struct es_keyarea *cur = NULL, *bak = NULL;
	uint8_t *plain = NULL, *cur_d = NULL;
	size_t plain_len = 0;
	const uint8_t *bak_d;
	struct ka_state base;
	unsigned int slot;
	int ret;

	if (backup_dev->size != dev->size)
		return es_fail(err, -EXDEV, "the backup holds %llu bytes, the key area %llu: "
			       "not a backup of this key area",
			       (unsigned long long)backup_dev->size,
			       (unsigned long long)dev->size);
	ret = es_keyarea_open(backup_dev, expect, &bak, err);
	if (ret) {
		es_err_prefix(err, "backup: ");
		goto out;
	}
	ret = ka_load(dev, expect, false, &cur, err);
	if (ret)
		goto out;
	if (cur->have_winner &&
	    (memcmp(cur->st.uuid, bak->st.uuid, ES_UUID_SIZE) ||
	     memcmp(cur->st.table_digest, bak->st.table_digest, DIGEST_SIZE) ||
	     cur->st.suite != bak->st.suite || cur->st.entries != bak->st.entries)) {
		ret = es_fail(err, -EXDEV, "the backup is of another image or key table "
			      "(UUID or table digest differ)");
		goto out;
	}
	if (!cur->have_winner)
		cur->g = bak->g;
	ret = es_keyarea_unlock(bak, creds, ncreds, NULL, err);
	if (ret) {
		es_err_prefix(err, "backup: ");
		goto out;
	}
	ret = es_keyarea_digests(bak, &bak_d, err);
	if (ret) {
		es_err_prefix(err, "backup: ");
		goto out;
	}
	plain_len = (size_t)(bak->st.entries * ES_KT_ENTRY_SIZE);
	plain = es_secret_alloc(plain_len);
	if (!plain) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	ret = decrypt_table(backup_dev, &bak->st, &bak->g, bak->tk, bak_d, plain, err);
	if (ret) {
		es_err_prefix(err, "backup: ");
		goto out;
	}
	/* D never changes: a damaged one is put back from the (checked) backup */
	if (load_digests(dev, &bak->st, &bak->g, &cur_d, &(struct es_err){ 0 })) {
		ret = ka_write(cur, bak->g.d_off, bak_d, (size_t)bak->g.d_len,
			       "table digests", err);
		if (!ret)
			ret = ka_sync(cur, "table digests", err);
		if (ret)
			goto out;
	}
	base = bak->st;
	base.gen = (cur->have_winner && cur->st.gen > base.gen ? cur->st.gen : base.gen);
	if (base.gen == UINT32_MAX) {
		ret = es_fail(err, -EOVERFLOW, "key area: the table generation is exhausted");
		goto out;
	}
	base.gen++;
	slot = cur->have_winner ? !cur->st.active : 0;
	/* sequence numbers only ever grow, also over copies that were lost */
	cur->seq_floor = bak->copies[bak->winner].seq;
	/* the spare slot is rewritten whole: nothing to wipe before */
	ret = reencrypt_commit(cur, &bak->st, &base, plain, slot, creds, ncreds, flags, fates,
			       err);
	es_crypto_wipe(&base, sizeof(base));
out:
	es_secret_free(plain, plain_len);
	free(cur_d);
	es_keyarea_close(bak);
	es_keyarea_close(cur);
	return ret;
}
