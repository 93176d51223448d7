// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The crash harness of the key area (ENCRYPTION.md section 4, DESIGN.md
 * section 6): add, remove and rotate run over a device that stops at every
 * write and every sync in turn; at each stop, crash images are made from
 * what a power loss could leave on disk, and each must open with exactly
 * the old or exactly the new set of credentials, never neither, never a
 * mix; its table must decrypt and match its digests.  Then a second
 * operation runs on crash images of the first and is crashed the same
 * way: a credential the first one removed never comes back.
 *
 * The disk model: what was synced is durable; each write since the last
 * sync may have reached the disk in part, 512-byte sector by sector.  The
 * images made at a stop: nothing of the unsynced writes; all of them;
 * every prefix of them in write order, sector by sector; the write in
 * progress at the stop torn after every sector (with everything before
 * it); and a few random subsets of their sectors (fixed seed).  After a
 * failed write or sync the library must write nothing more; the device
 * checks that too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erofs/keyarea.h"
#include "keyarea_tool.h"

#define SECTOR		512
#define ENTRIES		130
#define MAX_PENDING	64
#define RANDOM_SUBSETS	6

/* ---- the fault-injecting device -------------------------------------------- */

struct pwrite_rec {
	uint64_t off;
	size_t len;
	uint8_t *data;
};

struct fdev {
	uint8_t *durable, *cur;
	size_t size;
	struct pwrite_rec pend[MAX_PENDING];
	unsigned int npend;
	unsigned long ops, stop_at;
	bool stopped, torn_valid, after_stop;
	struct pwrite_rec torn;
};

static int f_read(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err)
{
	struct fdev *d = ctx;

	if (off > d->size || len > d->size - off)
		return es_fail(err, -EIO, "read past the end");
	memcpy(buf, d->cur + off, len);
	return 0;
}

static int f_write(void *ctx, uint64_t off, const void *buf, size_t len, struct es_err *err)
{
	struct fdev *d = ctx;
	struct pwrite_rec *r;

	if (d->stopped) {
		d->after_stop = true;
		return es_fail(err, -EIO, "written after the stop");
	}
	if (off > d->size || len > d->size - off || d->npend == MAX_PENDING)
		return es_fail(err, -EIO, "bad write");
	if (d->ops++ == d->stop_at) {
		d->stopped = true;
		d->torn_valid = true;
		d->torn.off = off;
		d->torn.len = len;
		d->torn.data = malloc(len);
		memcpy(d->torn.data, buf, len);
		return es_fail(err, -EIO, "crash (injected) during a write");
	}
	memcpy(d->cur + off, buf, len);
	r = &d->pend[d->npend++];
	r->off = off;
	r->len = len;
	r->data = malloc(len);
	memcpy(r->data, buf, len);
	return 0;
}

static void drop_pending(struct fdev *d)
{
	for (unsigned int i = 0; i < d->npend; i++)
		free(d->pend[i].data);
	d->npend = 0;
}

static int f_sync(void *ctx, struct es_err *err)
{
	struct fdev *d = ctx;

	if (d->stopped) {
		d->after_stop = true;
		return es_fail(err, -EIO, "synced after the stop");
	}
	if (d->ops++ == d->stop_at) {
		d->stopped = true;
		return es_fail(err, -EIO, "crash (injected) at a sync");
	}
	memcpy(d->durable, d->cur, d->size);
	drop_pending(d);
	return 0;
}

static void fdev_init(struct fdev *d, const uint8_t *img, size_t size, unsigned long stop_at)
{
	memset(d, 0, sizeof(*d));
	d->size = size;
	d->durable = malloc(size);
	d->cur = malloc(size);
	memcpy(d->durable, img, size);
	memcpy(d->cur, img, size);
	d->stop_at = stop_at;
}

static void fdev_free(struct fdev *d)
{
	drop_pending(d);
	free(d->torn.data);
	free(d->durable);
	free(d->cur);
}

static struct es_keyarea_dev fdev_dev(struct fdev *d)
{
	struct es_keyarea_dev k = { .size = d->size, .read = f_read, .write = f_write,
				    .sync = f_sync, .ctx = d };

	return k;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- credentials and the states -------------------------------------------- */

enum { K0, K1, K2, K3, X, SEED, NCRED };
static const char *const cred_names[NCRED] = { "k0", "k1", "k2", "k3", "x", "seed" };
static struct es_keyslot_cred *ucred[NCRED];	/* for unlocking */
static struct es_keyslot_cred *acred[NCRED];	/* for adding */
static struct es_keyarea_expect expect;
static uint8_t plain[ENTRIES * ES_KT_ENTRY_SIZE];

struct stats {
	unsigned long stops, images, torn;
};

static unsigned int bit(int c)
{
	return 1u << c;
}

static void mask_text(unsigned int mask, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int c = 0; c < NCRED; c++)
		if (mask & bit(c))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", cred_names[c]);
}

/* Which credentials open img (and its table reads back); -1 if it opens not at all. */
static int mask_of(const uint8_t *img, size_t size, uint8_t kid[ES_KID_SIZE], char *why,
		   size_t why_len)
{
	static uint8_t back[sizeof(plain)];
	struct fdev d;
	struct es_keyarea_dev k;
	struct es_keyarea *ka = NULL;
	struct es_keyarea_summary s;
	struct es_err err = { 0 };
	int mask = 0;

	fdev_init(&d, img, size, (unsigned long)-1);
	k = fdev_dev(&d);
	k.write = NULL;
	k.sync = NULL;
	if (es_keyarea_open(&k, &expect, &ka, &err)) {
		snprintf(why, why_len, "%s", err.msg);
		fdev_free(&d);
		return -1;
	}
	es_keyarea_summary(ka, &s);
	memcpy(kid, s.kid, ES_KID_SIZE);
	es_keyarea_close(ka);
	for (int c = 0; c < NCRED; c++) {
		if (es_keyarea_open(&k, &expect, &ka, &err))
			break;
		if (!es_keyarea_unlock(ka, &ucred[c], 1, NULL, &err)) {
			if (es_keyarea_read_table(ka, back, &err) ||
			    memcmp(back, plain, sizeof(plain))) {
				snprintf(why, why_len, "%s opens, but the table does not read: %.300s",
					 cred_names[c], err.msg);
				mask = -1;
			} else if (mask >= 0) {
				mask |= (int)bit(c);
			}
		}
		es_err_clear(&err);
		es_keyarea_close(ka);
		ka = NULL;
	}
	fdev_free(&d);
	if (mask == 0)
		snprintf(why, why_len, "no credential opens it");
	return mask;
}

/* ---- operations ------------------------------------------------------------ */

enum op { OP_ADD, OP_REMOVE, OP_ROTATE, OP_ROTATE_DROP };
static const char *const op_names[] = { "add", "remove", "rotate", "rotate --drop" };

/* The set of credentials op leaves, from the set before. */
static unsigned int op_result(enum op op, unsigned int mask)
{
	switch (op) {
	case OP_ADD:
		return mask | bit(K3);
	case OP_REMOVE:
		return mask & ~bit(K1);
	case OP_ROTATE:
		return mask;
	case OP_ROTATE_DROP:
		return mask & ~(bit(K1) | bit(K2));
	}
	return mask;
}

/* Run op on d; the key area opens with k0 (every state here has it). */
static int run_op(enum op op, struct fdev *d)
{
	struct es_keyslot_cred *all[] = { ucred[K0], ucred[K1], ucred[K2], ucred[K3], ucred[SEED] };
	struct es_keyslot_cred *some[] = { ucred[K0], ucred[SEED] };
	struct es_keyarea_dev k = fdev_dev(d);
	struct es_keyarea *ka = NULL;
	struct es_err err = { 0 };
	int ret = es_keyarea_open(&k, &expect, &ka, &err);

	if (!ret)
		ret = es_keyarea_unlock(ka, &ucred[K0], 1, NULL, &err);
	if (!ret) {
		switch (op) {
		case OP_ADD:
			ret = es_keyarea_add(ka, acred[K3], NULL, NULL, &err);
			break;
		case OP_REMOVE:
			ret = es_keyarea_remove(ka, 1, 0, &err);	/* k1's slot */
			break;
		case OP_ROTATE:
			ret = es_keyarea_rotate(ka, all, 5, 0, NULL, &err);
			break;
		case OP_ROTATE_DROP:
			ret = es_keyarea_rotate(ka, some, 2, ES_KEYAREA_DROP, NULL, &err);
			break;
		}
	}
	if (ret && !d->stopped)
		fprintf(stderr, "  %s failed without a crash: %s\n", op_names[op], err.msg);
	es_keyarea_close(ka);
	return ret;
}

/* ---- crash images ----------------------------------------------------------- */

static void apply(uint8_t *img, const struct pwrite_rec *r, size_t sectors)
{
	size_t len = sectors * SECTOR < r->len ? sectors * SECTOR : r->len;

	memcpy(img + r->off, r->data, len);
}

static size_t nsectors(const struct pwrite_rec *r)
{
	return (r->len + SECTOR - 1) / SECTOR;
}

struct verdict {
	unsigned int old_mask, new_mask;
	const uint8_t *old_kid, *new_kid;	/* NULL: not checked */
	/* keep some crash images for a second operation */
	uint8_t **keep;
	unsigned int *keep_mask;
	unsigned int nkeep, keep_cap, keep_every;
	unsigned long seen;
	int failed;
	const char *label;
};

static void check_image(struct verdict *v, const uint8_t *img, size_t size, struct stats *st,
			const char *how)
{
	uint8_t kid[ES_KID_SIZE];
	char why[ES_ERR_MSG_MAX], a[64], b[64], c[64];
	int mask = mask_of(img, size, kid, why, sizeof(why));

	st->images++;
	v->seen++;
	if (mask < 0 || ((unsigned int)mask != v->old_mask && (unsigned int)mask != v->new_mask)) {
		mask_text(v->old_mask, a, sizeof(a));
		mask_text(v->new_mask, b, sizeof(b));
		mask_text(mask < 0 ? 0 : (unsigned int)mask, c, sizeof(c));
		if (v->failed++ < 5)
			fprintf(stderr, "FAIL: %s, stop %lu (%s): opens with {%s}, expected {%s} "
				"or {%s}%s%s\n", v->label, st->stops, how, c, a, b,
				mask < 0 ? ": " : "", mask < 0 ? why : "");
		return;
	}
	if (v->old_kid && memcmp(kid, v->old_kid, ES_KID_SIZE) &&
	    memcmp(kid, v->new_kid, ES_KID_SIZE)) {
		if (v->failed++ < 5)
			fprintf(stderr, "FAIL: %s (%s): a table key that is neither the old nor "
				"the new one\n", v->label, how);
		return;
	}
	if (v->keep && v->nkeep < v->keep_cap && v->seen % v->keep_every == 0) {
		v->keep[v->nkeep] = malloc(size);
		memcpy(v->keep[v->nkeep], img, size);
		v->keep_mask[v->nkeep] = (unsigned int)mask;
		v->nkeep++;
	}
}

/* Every crash image the stop in d allows. */
static void crash_images(struct verdict *v, struct fdev *d, struct stats *st)
{
	uint8_t *img = malloc(d->size);
	char how[96];

	/* nothing unsynced reached the disk */
	memcpy(img, d->durable, d->size);
	check_image(v, img, d->size, st, "unsynced writes lost");
	/* every unsynced write, in order, torn after each sector */
	for (unsigned int j = 0; j < d->npend; j++) {
		for (size_t s = 1; s <= nsectors(&d->pend[j]); s++) {
			memcpy(img, d->durable, d->size);
			for (unsigned int i = 0; i < j; i++)
				apply(img, &d->pend[i], nsectors(&d->pend[i]));
			apply(img, &d->pend[j], s);
			snprintf(how, sizeof(how), "unsynced write %u torn after sector %zu", j, s);
			check_image(v, img, d->size, st, how);
		}
	}
	/* the write in progress, torn after each sector */
	if (d->torn_valid) {
		for (size_t s = 1; s <= nsectors(&d->torn); s++) {
			memcpy(img, d->cur, d->size);
			apply(img, &d->torn, s);
			snprintf(how, sizeof(how), "write in progress torn after sector %zu", s);
			check_image(v, img, d->size, st, how);
			st->torn++;
		}
	}
	/* sectors of the unsynced writes (and the torn one) kept at random */
	for (int r = 0; r < RANDOM_SUBSETS && (d->npend || d->torn_valid); r++) {
		memcpy(img, d->durable, d->size);
		for (unsigned int j = 0; j <= d->npend; j++) {
			const struct pwrite_rec *w = j < d->npend ? &d->pend[j] :
						     d->torn_valid ? &d->torn : NULL;

			for (size_t s = 0; w && s < nsectors(w); s++) {
				size_t len = w->len - s * SECTOR < SECTOR ? w->len - s * SECTOR
									  : SECTOR;

				if (next_rand() & 1)
					memcpy(img + w->off + s * SECTOR, w->data + s * SECTOR, len);
			}
		}
		snprintf(how, sizeof(how), "random sectors, subset %d", r);
		check_image(v, img, d->size, st, how);
	}
	free(img);
}

/*
 * Run op on start at every stop point; check every crash image against
 * {before, op(before)}.  The run that reaches its end is the new state.
 */
static int crash_op(const char *label, enum op op, const uint8_t *start, size_t size,
		    unsigned int before, struct verdict *v, struct stats *st)
{
	uint8_t kid_old[ES_KID_SIZE], kid_new[ES_KID_SIZE];
	char why[ES_ERR_MSG_MAX];
	bool completed = false;

	v->label = label;
	v->old_mask = before;
	v->new_mask = op_result(op, before);
	v->old_kid = NULL;
	v->new_kid = NULL;
	if (mask_of(start, size, kid_old, why, sizeof(why)) != (int)before) {
		fprintf(stderr, "FAIL: %s: the start state is not {before}\n", label);
		return 1;
	}
	for (unsigned long stop = 0; !completed; stop++) {
		struct fdev d;
		int ret;

		fdev_init(&d, start, size, stop);
		ret = run_op(op, &d);
		if (d.after_stop) {
			fprintf(stderr, "FAIL: %s: written after the failed write or sync at "
				"operation %lu\n", label, stop);
			v->failed++;
		}
		if (!d.stopped) {
			/* the whole operation ran: the new state, synced */
			completed = true;
			if (ret) {
				fprintf(stderr, "FAIL: %s: the operation failed\n", label);
				v->failed++;
			} else if (mask_of(d.durable, size, kid_new, why, sizeof(why)) !=
				   (int)v->new_mask) {
				fprintf(stderr, "FAIL: %s: the completed operation does not give "
					"the new set\n", label);
				v->failed++;
			}
		} else {
			st->stops++;
			/* the table key is the old one or (rotate) a new one: checked
			 * once the new one is known, below, for the final state only */
			crash_images(v, &d, st);
		}
		fdev_free(&d);
	}
	return v->failed != 0;
}

/* ---- the scenarios ------------------------------------------------------------ */

static int load_creds(const char *dir)
{
	struct es_err err = { 0 };
	char spec[600];

	for (int c = 0; c < NCRED; c++) {
		const char *prefix = c == X ? "identity:" : c == SEED ? "seed:" : "keyfile:";
		const char *file = c == X ? "x.key" : cred_names[c];

		snprintf(spec, sizeof(spec), "%s%s/%s", prefix, dir, file);
		if (es_keyslot_cred_load(spec, ES_KEYSLOT_FOR_UNLOCK, NULL, &ucred[c], &err))
			goto fail;
		if (c == X)
			snprintf(spec, sizeof(spec), "recipient:%s/x.pub", dir);
		if (es_keyslot_cred_load(spec, ES_KEYSLOT_FOR_ADD, NULL, &acred[c], &err))
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "keyarea_tool crash: %s\n", err.msg);
	return 1;
}

int crash_main(const char *dir)
{
	struct es_keyslot_cred *start_slots[5];
	struct es_keyarea_table t = { .suite = ES_SUITE_XTS_V1, .entries = ENTRIES };
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1, .gen = 1, .entries = ENTRIES };
	static const struct {
		enum op first, second;
	} chains[] = {
		{ OP_REMOVE, OP_ADD }, { OP_REMOVE, OP_ROTATE }, { OP_ROTATE, OP_REMOVE },
		{ OP_ROTATE_DROP, OP_ADD }, { OP_ADD, OP_REMOVE },
	};
	uint8_t digests[3 * 32], *area;
	struct stats st = { 0 }, st2 = { 0 };
	struct es_err err = { 0 };
	unsigned int before;
	size_t size;
	int failed = 0;

	if (load_creds(dir))
		return 1;
	for (int i = 0; i < 16; i++)
		t.uuid[i] = (uint8_t)(0x5a ^ (i * 17));
	table_fill(t.uuid, ENTRIES, plain);
	memcpy(info.uuid, t.uuid, 16);
	if (es_keytable_digests(&info, plain, digests, t.table_digest))
		return 1;
	t.digests = digests;
	t.plain = plain;
	/* slots: 0 k0, 1 k1, 2 x, 3 seed, 4 k2 */
	start_slots[0] = acred[K0];
	start_slots[1] = acred[K1];
	start_slots[2] = acred[X];
	start_slots[3] = acred[SEED];
	start_slots[4] = acred[K2];
	before = bit(K0) | bit(K1) | bit(X) | bit(SEED) | bit(K2);
	if (es_keyarea_create(&t, start_slots, 5, NULL, &area, &size, &err)) {
		fprintf(stderr, "keyarea_tool crash: %s\n", err.msg);
		return 1;
	}
	memset(&expect, 0, sizeof(expect));
	memcpy(expect.uuid, t.uuid, 16);
	expect.check_table = true;
	expect.suite = ES_SUITE_XTS_V1;
	memcpy(expect.table_digest, t.table_digest, 32);
	expect.entries = ENTRIES;

	for (unsigned int c = 0; c < sizeof(chains) / sizeof(chains[0]); c++) {
		enum { KEEP = 24 };
		uint8_t *keep[KEEP];
		unsigned int keep_mask[KEEP];
		struct verdict v = { .keep = keep, .keep_mask = keep_mask, .keep_cap = KEEP,
				     .keep_every = 7 };
		char label[128];
		unsigned long stops0 = st.stops, images0 = st.images;

		snprintf(label, sizeof(label), "%s", op_names[chains[c].first]);
		failed |= crash_op(label, chains[c].first, area, size, before, &v, &st);
		printf("%-14s %3lu stops, %5lu crash images: %s\n", label, st.stops - stops0,
		       st.images - images0, v.failed ? "FAILED" : "each opens with the old or "
		       "the new credentials");
		/* the second operation, crashed, on crash images of the first */
		stops0 = st2.stops;
		images0 = st2.images;
		for (unsigned int k = 0; k < v.nkeep; k++) {
			struct verdict v2 = { 0 };

			snprintf(label, sizeof(label), "%s after a crashed %s",
				 op_names[chains[c].second], op_names[chains[c].first]);
			failed |= crash_op(label, chains[c].second, keep[k], size, keep_mask[k],
					   &v2, &st2);
			free(keep[k]);
		}
		printf("  then %-14s %4lu stops, %6lu crash images on %u crashed states\n",
		       op_names[chains[c].second], st2.stops - stops0, st2.images - images0,
		       v.nkeep);
	}
	printf("crash points tried: %lu stops (%lu crash images, %lu with a torn write in "
	       "progress), then %lu stops (%lu crash images) of a second operation on "
	       "crashed states\n", st.stops, st.images, st.torn, st2.stops, st2.images);
	for (int c = 0; c < NCRED; c++) {
		es_keyslot_cred_free(ucred[c]);
		es_keyslot_cred_free(acred[c]);
	}
	free(area);
	if (failed)
		printf("FAILED\n");
	return failed ? 1 : 0;
}
