// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The key area (hosted): opening it, unlocking, reading the table, and the
 * commits that change it.  See include/erofs/keyarea.h; the bytes are in
 * docs/FORMAT.md section 4.  Reading the header copies and choosing the
 * winner (keyarea_hdr.c) and opening slots (keyslot_open.c) are
 * freestanding code that the boot unlock shares.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/keyarea.h"
#include "erofs/secret.h"
#include "erofs/sha256.h"
#include "io.h"
#include "keys/keyarea_hdr.h"
#include "keys/keyslot_entry.h"
#include "io.h"

/* What a header copy says, apart from its own bookkeeping. */
struct ka_state {
	struct es_ka_hdr h;
	es_ka_slots slots;
};

struct es_keyarea {
	struct es_keyarea_dev dev;
	bool have_expect;
	struct es_keyarea_expect expect;
	struct es_ka_geom g;
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

/* ---- encoding and decoding a copy ------------------------------------------ */

static int encode_copy(const struct ka_state *st, const struct es_ka_geom *g, unsigned int which,
		       uint64_t seq, uint8_t buf[ES_KEYAREA_COPY_SIZE], struct es_err *err)
{
	int ret;

	memset(buf, 0, ES_KEYAREA_COPY_SIZE);
	memcpy(buf + H_MAGIC, es_ka_copy_magic[which], 8);
	es_put32(buf + H_VERSION, ES_KA_VERSION);
	es_put32(buf + H_COPY_SIZE, ES_KEYAREA_COPY_SIZE);
	es_put32(buf + H_NSLOTS, ES_KEYAREA_SLOTS);
	es_put32(buf + H_SLOT_SIZE, ES_KEYSLOT_SIZE);
	es_put64(buf + H_SEQ, seq);
	es_put64(buf + H_OWN_OFF, (uint64_t)which * ES_KEYAREA_COPY_SIZE);
	es_put64(buf + H_AREA_SIZE, g->size);
	memcpy(buf + H_UUID, st->h.uuid, ES_UUID_SIZE);
	es_put32(buf + H_SUITE, st->h.suite);
	es_put32(buf + H_GEN, st->h.gen);
	es_put64(buf + H_ENTRIES, st->h.entries);
	memcpy(buf + H_TABLE_DIGEST, st->h.table_digest, ES_SHA256_DIGEST_SIZE);
	memcpy(buf + H_KID, st->h.kid, ES_KID_SIZE);
	/* a fresh salt each time: no two copies or writes are byte-identical */
	if (es_crypto_random(buf + H_SALT, ES_KA_SALT_SIZE))
		return es_fail(err, -EIO, "no random bytes for a salt");
	es_put32(buf + H_ACTIVE, st->h.active);
	es_put64(buf + H_D_OFF, g->d_off);
	es_put64(buf + H_T0_OFF, g->t_off[0]);
	es_put64(buf + H_T1_OFF, g->t_off[1]);
	es_put64(buf + H_TSLOT_SIZE, g->tslot);
	es_put64(buf + H_CT_LEN, g->ct_len);
	memcpy(buf + H_SLOTS, st->slots, sizeof(st->slots));
	ret = es_ka_checksum(buf, buf + H_CHECKSUM);
	return ret ? es_fail(err, ret, "SHA-256 failed") : 0;
}

/* ---- I/O ------------------------------------------------------------------------ */

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
		int ret = es_ka_read(dev, off, buf, n, what, err);

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
	ret = es_ka_read_copies(dev, expect, need_winner, buf, ka->copies, &ka->st.h, &ka->g,
				ka->st.slots, &ka->have_winner, &ka->winner, err);
	if (ret)
		goto fail;
	ka->tk = es_secret_alloc(ES_TABLE_KEY_SIZE);
	if (!ka->tk) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto fail;
	}
	free(buf);
	*out = ka;
	return 0;
fail:
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
	memcpy(s->uuid, ka->st.h.uuid, ES_UUID_SIZE);
	s->suite = ka->st.h.suite;
	s->gen = ka->st.h.gen;
	s->entries = ka->st.h.entries;
	memcpy(s->table_digest, ka->st.h.table_digest, ES_SHA256_DIGEST_SIZE);
	memcpy(s->kid, ka->st.h.kid, ES_KID_SIZE);
	s->winner = ka->winner;
	s->copies[0] = ka->copies[0];
	s->copies[1] = ka->copies[1];
	s->active_table = ka->st.h.active;
	s->area_size = ka->dev.size;
	s->digests_off = ka->g.d_off;
	s->digests_len = ka->g.d_len;
	s->table_off = ka->g.t_off[ka->st.h.active];
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
static int open_with_cred(void *ctx, const uint8_t entry[ES_KEYSLOT_SIZE],
			  const uint8_t uuid[ES_UUID_SIZE], const uint8_t kid[ES_KID_SIZE],
			  uint8_t tk[ES_TABLE_KEY_SIZE], struct es_err *err)
{
	return es_keyslot_unwrap(ctx, entry, uuid, kid, tk, err);
}

static int unlock_state(const struct ka_state *st, struct es_keyslot_cred *const *creds,
			unsigned int ncreds, uint8_t tk[ES_TABLE_KEY_SIZE], unsigned int *slot,
			struct es_err *err)
{
	struct es_keyslot_search search = { 0 };

	for (unsigned int c = 0; c < ncreds; c++) {
		int ret = es_keyslot_search(&search, (const uint8_t (*)[ES_KEYSLOT_SIZE])st->slots,
					    ES_KEYAREA_SLOTS, st->h.uuid, st->h.kid, open_with_cred,
					    creds[c], tk, slot, err);

		if (ret != -EKEYREJECTED)
			return ret;
	}
	return es_keyslot_search_failed(&search, err);
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
	es_ka_table_info(&st->h, info);
}

void es_keyarea_table_info(const struct es_keyarea *ka, struct es_keytable_info *info)
{
	table_info(&ka->st, info);
}

/* ---- the table ------------------------------------------------------------------ */

/* Read D of the area in ka (state st) and check it against st's table digest. */
static int load_digests(const struct es_keyarea_dev *dev, const struct ka_state *st,
			const struct es_ka_geom *g, uint8_t **out, struct es_err *err)
{
	struct es_keytable_info info;
	uint8_t want[ES_SHA256_DIGEST_SIZE];
	uint8_t *d;
	int ret;

	*out = NULL;
	d = malloc(g->d_len);
	if (!d)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_ka_read(dev, g->d_off, d, g->d_len, "table digests", err);
	if (ret)
		goto fail;
	table_info(st, &info);
	ret = es_keytable_digest_of(&info, d, want);
	if (ret) {
		ret = es_fail(err, ret, "cannot compute the table digest");
		goto fail;
	}
	if (es_crypto_memcmp(want, st->h.table_digest, ES_SHA256_DIGEST_SIZE)) {
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
	len = es_keytable_seg_len(ka->st.h.entries, k) + ES_KT_TAG_SIZE;
	ret = es_ka_read(&ka->dev, ka->g.t_off[ka->st.h.active] + seg_ct_off(k), ct, len,
		       "key table", err);
	if (ret)
		return ret;
	table_info(&ka->st, &info);
	return es_keytable_open_segment(&info, ka->tk, k, ct, d, plain, err);
}

/*
 * Tables at least this many segments long (16 MiB of 4 KiB chunks, a few
 * hundred microseconds of work, well above a thread's start) are
 * decrypted by two threads, each half of it: the reader's start waits on
 * the whole table, and a machine with a second core has it idle then.
 */
#define SPLIT_SEGMENTS 64

/* A part of the table that a second thread decrypts. */
struct table_part {
	const struct es_keytable_info *info;
	const uint8_t *tk, *ct, *digests;
	uint8_t *plain;
	uint64_t first, count;
	struct es_err err;
	int ret;
};

static int decrypt_part(struct table_part *p, struct es_err *err)
{
	struct es_crypto_aead *a = NULL;
	int ret = es_crypto_aead_new(&a);

	if (ret)
		return es_fail(err, ret, "cannot set up the key table's cipher");
	ret = es_keytable_decrypt_range(p->info, a, p->tk, p->first, p->count, p->ct,
					p->digests, p->plain, err);
	/* one cipher context for the part, freed (cleansed) right after */
	es_crypto_aead_free(a);
	return ret;
}

static void *part_thread(void *arg)
{
	struct table_part *p = arg;

	p->ret = decrypt_part(p, &p->err);
	return NULL;
}

/* The whole table of state st (slot st->h.active) under tk, into plain. */
static int decrypt_table(const struct es_keyarea_dev *dev, const struct ka_state *st,
			 const struct es_ka_geom *g, const uint8_t *tk, const uint8_t *digests,
			 uint8_t *plain, struct es_err *err)
{
	struct es_keytable_info info;
	struct table_part mine, theirs;
	uint64_t nseg = es_keytable_nseg(g->entries);
	uint8_t *ct = es_alloc_big(g->ct_len);
	pthread_t helper;
	bool split;
	int ret;

	if (!ct)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = es_ka_read(dev, g->t_off[st->h.active], ct, g->ct_len, "key table", err);
	table_info(st, &info);
	if (ret)
		goto out;
	/* segments are stored back to back (seg_ct_off), as the table decrypts them */
	mine = (struct table_part){ .info = &info, .tk = tk, .ct = ct, .digests = digests,
				    .plain = plain, .count = nseg };
	theirs = mine;
	split = nseg >= SPLIT_SEGMENTS && sysconf(_SC_NPROCESSORS_ONLN) > 1;
	if (split) {
		mine.count = nseg / 2;
		theirs.first = mine.count;
		theirs.count = nseg - mine.count;
		/* without a thread, this one does it all */
		if (pthread_create(&helper, NULL, part_thread, &theirs)) {
			split = false;
			mine.count = nseg;
		}
	}
	ret = decrypt_part(&mine, err);
	if (split) {
		pthread_join(helper, NULL);
		/* the first segment that failed is said, as one thread would */
		if (!ret && theirs.ret)
			ret = es_err_copy(err, &theirs.err);
	}
out:
	/* all or nothing: no secret of a table that failed */
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
	uint8_t check[ES_SHA256_DIGEST_SIZE];
	struct ka_state *st = NULL;
	uint8_t *buf = NULL, *tk = NULL;
	struct es_ka_geom g;
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
	if (!es_ka_geometry(t->entries, &g) || g.size > SIZE_MAX)
		return es_fail(err, -EFBIG, "key area: %llu table entries are out of range",
			       (unsigned long long)t->entries);
	memset(&info, 0, sizeof(info));
	memcpy(info.uuid, t->uuid, ES_UUID_SIZE);
	info.suite = t->suite;
	info.entries = t->entries;
	ret = es_keytable_digest_of(&info, t->digests, check);
	if (ret)
		return es_fail(err, ret, "cannot compute the table digest");
	if (memcmp(check, t->table_digest, ES_SHA256_DIGEST_SIZE))
		return es_fail(err, -EINVAL, "key area: the table digest does not match D");

	st = calloc(1, sizeof(*st));
	buf = es_calloc_big(1, (size_t)g.size);
	tk = es_secret_alloc(ES_TABLE_KEY_SIZE);
	if (!st || !buf || !tk) {
		ret = es_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(st->h.uuid, t->uuid, ES_UUID_SIZE);
	st->h.suite = t->suite;
	st->h.gen = 1;
	st->h.entries = t->entries;
	memcpy(st->h.table_digest, t->table_digest, ES_SHA256_DIGEST_SIZE);
	st->h.active = 0;
	ret = fresh_table_key(tk, st->h.kid, err);
	if (ret)
		goto out;
	ret = encrypt_table(st, tk, t->plain, buf + g.t_off[0], err);
	if (ret)
		goto out;
	memcpy(buf + g.d_off, t->digests, g.d_len);
	for (unsigned int i = 0; i < ncreds; i++) {
		ret = es_keyslot_wrap(creds[i], st->h.uuid, tk, st->h.kid, policy, st->slots[i], err);
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
	unsigned int spare = !ka->st.h.active;
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
		ret = es_keyslot_wrap(c, next->h.uuid, ka->tk, next->h.kid, policy, next->slots[i],
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
			int r = es_keyslot_unwrap(creds[c], entry, src->h.uuid, src->h.kid, tk, &serr);

			if (!r)
				opener = creds[c];
			else if (r != -ENOKEY && r != -EKEYREJECTED && r != -ERANGE)
				ret = es_fail(err, r, "slot %u: %s", i, serr.msg);
		}
		if (!ret && opener) {
			es_keyslot_policy_of(&info, &policy);
			ret = es_keyslot_wrap(opener, dst->h.uuid, new_tk, dst->h.kid, &policy,
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
	next->h.active = slot;
	ret = fresh_table_key(tk, next->h.kid, err);
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
	if (ka->st.h.gen == UINT32_MAX)
		return es_fail(err, -EOVERFLOW, "key area: the table generation is exhausted");
	ret = es_keyarea_digests(ka, &d, err);
	if (ret)
		return ret;
	plain_len = (size_t)(ka->st.h.entries * ES_KT_ENTRY_SIZE);
	plain = es_secret_alloc(plain_len);
	if (!plain)
		return es_fail(err, -ENOMEM, "out of memory");
	ret = decrypt_table(&ka->dev, &ka->st, &ka->g, ka->tk, d, plain, err);
	if (!ret) {
		base = ka->st;
		base.h.gen++;
		ret = reencrypt_commit(ka, &ka->st, &base, plain, !ka->st.h.active, creds, ncreds,
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
	    (memcmp(cur->st.h.uuid, bak->st.h.uuid, ES_UUID_SIZE) ||
	     memcmp(cur->st.h.table_digest, bak->st.h.table_digest, ES_SHA256_DIGEST_SIZE) ||
	     cur->st.h.suite != bak->st.h.suite || cur->st.h.entries != bak->st.h.entries)) {
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
	plain_len = (size_t)(bak->st.h.entries * ES_KT_ENTRY_SIZE);
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
	base.h.gen = (cur->have_winner && cur->st.h.gen > base.h.gen ? cur->st.h.gen : base.h.gen);
	if (base.h.gen == UINT32_MAX) {
		ret = es_fail(err, -EOVERFLOW, "key area: the table generation is exhausted");
		goto out;
	}
	base.h.gen++;
	slot = cur->have_winner ? !cur->st.h.active : 0;
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
