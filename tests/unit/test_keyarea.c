// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for the key area (lib/keys/keyarea.c) over an in-memory device:
 * create, open, unlock, the table; add, remove, rotate and restore, and
 * the order of their writes; damaged or hostile key areas (one copy or
 * both, moved copies, truncation, every byte of a copy flipped, a slot's
 * costs raised, a removed slot pasted back after a rotation).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/io.h"
#include "erofs/keyarea.h"
#include "erofs/sha256.h"

#define ENTRIES 130	/* three segments: 64 + 64 + 2 entries */

static char dir[] = "/tmp/es-keyarea-XXXXXX";

static const struct es_keyslot_policy cheap = {
	.m_cost_kib = ES_KEYSLOT_ARGON2_MIN_KIB, .t_cost = ES_KEYSLOT_ARGON2_MIN_TIME, .lanes = 1,
};

/* ---- an in-memory device that logs its writes and can fail a sync ------- */

struct memdev {
	uint8_t *buf;
	size_t size;
	unsigned int nsync, fail_sync;	/* fail the fail_sync-th sync (1-based; 0 never) */
	unsigned int nlog;
	struct { char op; uint64_t off; size_t len; } log[64];
};

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err)
{
	struct memdev *m = ctx;

	if (off > m->size || len > m->size - off)
		return es_fail(err, -EIO, "read past the end");
	memcpy(buf, m->buf + off, len);
	return 0;
}

static void log_op(struct memdev *m, char op, uint64_t off, size_t len)
{
	if (m->nlog < sizeof(m->log) / sizeof(m->log[0])) {
		m->log[m->nlog].op = op;
		m->log[m->nlog].off = off;
		m->log[m->nlog].len = len;
		m->nlog++;
	}
}

static int mem_write(void *ctx, uint64_t off, const void *buf, size_t len, struct es_err *err)
{
	struct memdev *m = ctx;

	if (off > m->size || len > m->size - off)
		return es_fail(err, -EIO, "write past the end");
	memcpy(m->buf + off, buf, len);
	log_op(m, 'w', off, len);
	return 0;
}

static int mem_sync(void *ctx, struct es_err *err)
{
	struct memdev *m = ctx;

	log_op(m, 's', 0, 0);
	if (++m->nsync == m->fail_sync)
		return es_fail(err, -EIO, "injected sync failure");
	return 0;
}

static struct es_keyarea_dev dev_of(struct memdev *m, bool writable)
{
	struct es_keyarea_dev d = { .size = m->size, .read = mem_read, .ctx = m };

	if (writable) {
		d.write = mem_write;
		d.sync = mem_sync;
	}
	return d;
}

/* ---- fixtures -------------------------------------------------------------- */

static const uint8_t uuid[16] = { 0xaa, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
static uint8_t plain[ENTRIES * ES_KT_ENTRY_SIZE];
static uint8_t digests[3 * 32], table_digest[32];

static const char *path_of(const char *name)
{
	static char buf[64][256];
	static int i;

	i = (i + 1) % 64;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static const char *spec(const char *prefix, const char *name)
{
	static char buf[64][300];
	static int i;

	i = (i + 1) % 64;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", prefix, path_of(name));
	return buf[i];
}

static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1, .gen = 1, .entries = ENTRIES };
	uint8_t buf[64];
	char cmd[400];

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	memcpy(info.uuid, uuid, 16);
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7 + (i >> 6));
	if (es_keytable_digests(&info, plain, digests, table_digest))
		return -1;
	for (int k = 0; k < 4; k++) {
		char name[16];

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(k * 50 + i);
		snprintf(name, sizeof(name), "key%d", k);
		write_file(name, buf, sizeof(buf));
	}
	write_file("seed", plain, 40);
	write_file("pass", "hunter2 is not a passphrase\n", 28);
	write_file("wrongpass", "hunter3", 7);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && openssl genpkey -algorithm X25519 -out x.key 2>/dev/null && "
		 "openssl pkey -in x.key -pubout -out x.pub 2>/dev/null", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct es_keyslot_cred *cred(const char *s, enum es_keyslot_use use)
{
	struct es_keyslot_cred *c = NULL;
	struct es_err err = { 0 };

	if (es_keyslot_cred_load(s, use, NULL, &c, &err))
		fail_msg("%s: %s", s, err.msg);
	return c;
}

/* unlock credentials by name, loaded once per test */
struct creds {
	struct es_keyslot_cred *k[4], *x, *seed, *pass, *wrongpass;
};

static void creds_load(struct creds *c)
{
	for (int i = 0; i < 4; i++) {
		char n[8];

		snprintf(n, sizeof(n), "key%d", i);
		c->k[i] = cred(spec("keyfile:", n), ES_KEYSLOT_FOR_UNLOCK);
	}
	c->x = cred(spec("identity:", "x.key"), ES_KEYSLOT_FOR_UNLOCK);
	c->seed = cred(spec("seed:", "seed"), ES_KEYSLOT_FOR_UNLOCK);
	c->pass = cred(spec("passphrase-file:", "pass"), ES_KEYSLOT_FOR_UNLOCK);
	c->wrongpass = cred(spec("passphrase-file:", "wrongpass"), ES_KEYSLOT_FOR_UNLOCK);
}

static void creds_free(struct creds *c)
{
	for (int i = 0; i < 4; i++)
		es_keyslot_cred_free(c->k[i]);
	es_keyslot_cred_free(c->x);
	es_keyslot_cred_free(c->seed);
	es_keyslot_cred_free(c->pass);
	es_keyslot_cred_free(c->wrongpass);
}

/* A new key area with slots for these add specs, in m. */
static void make_area(struct memdev *m, const char *const *specs, unsigned int n)
{
	struct es_keyslot_cred *add[ES_KEYAREA_SLOTS];
	struct es_keyarea_table t = { .suite = ES_SUITE_XTS_V1, .entries = ENTRIES,
				      .digests = digests, .plain = plain };
	struct es_err err = { 0 };

	memcpy(t.uuid, uuid, 16);
	memcpy(t.table_digest, table_digest, 32);
	for (unsigned int i = 0; i < n; i++)
		add[i] = cred(specs[i], ES_KEYSLOT_FOR_ADD);
	memset(m, 0, sizeof(*m));
	if (es_keyarea_create(&t, add, n, &cheap, &m->buf, &m->size, &err))
		fail_msg("create: %s", err.msg);
	assert_int_equal(m->size, es_keyarea_size(ENTRIES));
	for (unsigned int i = 0; i < n; i++)
		es_keyslot_cred_free(add[i]);
}

static struct es_keyarea *open_area(struct memdev *m, bool writable)
{
	struct es_keyarea_dev d = dev_of(m, writable);
	struct es_keyarea *ka = NULL;
	struct es_err err = { 0 };

	if (es_keyarea_open(&d, NULL, &ka, &err))
		fail_msg("open: %s", err.msg);
	return ka;
}

/* Does c alone open the area in m (and its table read back as plain)? */
static bool opens(struct memdev *m, struct es_keyslot_cred *c)
{
	struct es_keyarea *ka = open_area(m, false);
	struct es_err err = { 0 };
	static uint8_t back[sizeof(plain)];
	bool ok = es_keyarea_unlock(ka, &c, 1, NULL, &err) == 0;

	if (ok) {
		if (es_keyarea_read_table(ka, back, &err))
			fail_msg("table: %s", err.msg);
		assert_memory_equal(back, plain, sizeof(plain));
	}
	es_keyarea_close(ka);
	return ok;
}

static void fix_checksum(uint8_t *copy)
{
	struct es_sha256_ctx c;

	memset(copy + 224, 0, 32);
	assert_int_equal(es_sha256_init(&c), 0);
	es_sha256_update(&c, copy, ES_KEYAREA_COPY_SIZE);
	assert_int_equal(es_sha256_final(&c, copy + 224), 0);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_create_open_unlock(void **state)
{
	const char *specs[] = { spec("keyfile:", "key0"), spec("recipient:", "x.pub"),
				spec("seed:", "seed") };
	struct es_keyarea_summary s;
	struct es_keytable_info info;
	struct es_keyslot_info si;
	struct es_err err = { 0 };
	struct es_keyarea *ka;
	struct memdev m;
	struct creds c;
	unsigned int slot = 99;
	uint8_t seg[ES_KT_SEG_SIZE];

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 3);
	ka = open_area(&m, false);
	es_keyarea_summary(ka, &s);
	assert_memory_equal(s.uuid, uuid, 16);
	assert_int_equal(s.gen, 1);
	assert_int_equal(s.entries, ENTRIES);
	assert_int_equal(s.used_slots, 3);
	assert_int_equal(s.winner, 0);
	assert_true(s.copies[0].valid && s.copies[1].valid);
	assert_int_equal(s.copies[0].seq, 1);
	assert_int_equal(s.active_table, 0);
	assert_memory_equal(s.table_digest, table_digest, 32);
	assert_int_equal(es_keyarea_slot(ka, 1, &si, &err), 0);
	assert_int_equal(si.kind, ES_KEYSLOT_X25519);
	assert_int_equal(es_keyarea_slot(ka, 3, &si, &err), 0);
	assert_int_equal(si.kind, ES_KEYSLOT_EMPTY);
	assert_int_equal(es_keyarea_slot(ka, ES_KEYAREA_SLOTS, &si, &err), -EINVAL);
	/* locked: no table key, no table */
	assert_null(es_keyarea_table_key(ka));
	assert_int_equal(es_keyarea_read_segment(ka, 0, seg, &err), -ENOKEY);
	es_err_clear(&err);
	/* a wrong key, then the X25519 identity */
	assert_int_equal(es_keyarea_unlock(ka, &c.k[1], 1, &slot, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "no credential opens"));
	es_err_clear(&err);
	assert_int_equal(es_keyarea_unlock(ka, &c.x, 1, &slot, &err), 0);
	assert_int_equal(slot, 1);
	assert_non_null(es_keyarea_table_key(ka));
	es_keyarea_table_info(ka, &info);
	assert_int_equal(info.gen, 1);
	for (uint64_t k = 0; k < 3; k++) {
		size_t len = es_keytable_seg_len(ENTRIES, k);

		assert_int_equal(es_keyarea_read_segment(ka, k, seg, &err), 0);
		assert_memory_equal(seg, plain + k * ES_KT_SEG_SIZE, len);
	}
	assert_int_equal(es_keyarea_read_segment(ka, 3, seg, &err), -EINVAL);
	es_keyarea_close(ka);
	assert_true(opens(&m, c.k[0]));
	assert_true(opens(&m, c.seed));
	assert_false(opens(&m, c.k[2]));
	/* a passphrase tries no keyfile slot at all */
	ka = open_area(&m, false);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_unlock(ka, &c.pass, 1, NULL, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "no keyslot is of the kind"));
	es_keyarea_close(ka);
	free(m.buf);
	creds_free(&c);
}

static void test_create_refuses(void **state)
{
	struct es_keyarea_table t = { .suite = ES_SUITE_XTS_V1, .entries = ENTRIES,
				      .digests = digests, .plain = plain };
	struct es_keyslot_cred *c = cred(spec("keyfile:", "key0"), ES_KEYSLOT_FOR_ADD);
	struct es_keyslot_cred *many[ES_KEYAREA_SLOTS + 1];
	struct es_err err = { 0 };
	uint8_t *area = NULL;
	size_t len;

	(void)state;
	memcpy(t.uuid, uuid, 16);
	memcpy(t.table_digest, table_digest, 32);
	t.table_digest[5] ^= 1;
	assert_int_equal(es_keyarea_create(&t, &c, 1, NULL, &area, &len, &err), -EINVAL);
	t.table_digest[5] ^= 1;
	assert_int_equal(es_keyarea_create(&t, &c, 0, NULL, &area, &len, &err), -EINVAL);
	for (unsigned int i = 0; i <= ES_KEYAREA_SLOTS; i++)
		many[i] = c;
	assert_int_equal(es_keyarea_create(&t, many, ES_KEYAREA_SLOTS + 1, NULL, &area, &len,
					   &err), -ENOSPC);
	t.entries = 0;
	assert_int_equal(es_keyarea_create(&t, &c, 1, NULL, &area, &len, &err), -EFBIG);
	assert_null(area);
	assert_int_equal(es_keyarea_size(0), 0);
	assert_int_equal(es_keyarea_size(ES_KEYAREA_MAX_ENTRIES + 1), 0);
	es_keyslot_cred_free(c);
}

/* The commit order of ENCRYPTION.md section 4, as the device saw it. */
static void test_commit_order(void **state)
{
	const char *specs[] = { spec("keyfile:", "key0") };
	struct es_keyslot_cred *add = cred(spec("keyfile:", "key1"), ES_KEYSLOT_FOR_ADD);
	struct es_keyarea_summary s;
	struct es_err err = { 0 };
	struct es_keyarea *ka;
	struct memdev m;
	struct creds c;
	unsigned int slot;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 1);
	ka = open_area(&m, true);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
	/* both copies at sequence 1: A wins the tie, so B is written first */
	assert_int_equal(es_keyarea_add(ka, add, NULL, &slot, &err), 0);
	assert_int_equal(slot, 1);
	assert_int_equal(m.nlog, 4);
	assert_true(m.log[0].op == 'w' && m.log[0].off == ES_KEYAREA_COPY_SIZE &&
		    m.log[0].len == ES_KEYAREA_COPY_SIZE);
	assert_true(m.log[1].op == 's');
	assert_true(m.log[2].op == 'w' && m.log[2].off == 0);
	assert_true(m.log[3].op == 's');
	es_keyarea_close(ka);

	/* B ahead of A (A left stale): A, the one that is not the winner, first */
	memset(m.buf, 0, 16);	/* A invalid */
	m.nlog = 0;
	ka = open_area(&m, true);
	es_keyarea_summary(ka, &s);
	assert_int_equal(s.winner, 1);
	assert_false(s.copies[0].valid);
	assert_non_null(strstr(s.copies[0].problem, "magic"));
	assert_int_equal(es_keyarea_unlock(ka, &c.k[1], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_remove(ka, 0, 0, &err), 0);
	assert_true(m.log[0].op == 'w' && m.log[0].off == 0);
	assert_true(m.log[2].op == 'w' && m.log[2].off == ES_KEYAREA_COPY_SIZE);
	es_keyarea_summary(ka, &s);
	assert_int_equal(s.copies[0].seq, 3);
	assert_int_equal(s.copies[1].seq, 3);
	es_keyarea_close(ka);
	assert_false(opens(&m, c.k[0]));
	assert_true(opens(&m, c.k[1]));

	/* a failed sync: stop at once, write nothing more, ever */
	m.nlog = 0;
	m.nsync = 0;
	m.fail_sync = 1;
	ka = open_area(&m, true);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[1], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_add(ka, add, NULL, NULL, &err), -EIO);
	assert_non_null(strstr(err.msg, "without retrying"));
	assert_int_equal(m.nlog, 2);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_add(ka, add, NULL, NULL, &err), -EIO);
	assert_int_equal(m.nlog, 2);
	es_keyarea_close(ka);
	es_keyslot_cred_free(add);
	free(m.buf);
	creds_free(&c);
}

static void test_add_remove(void **state)
{
	const char *specs[] = { spec("keyfile:", "key0"), spec("keyfile:", "key1") };
	struct es_keyslot_cred *seed = cred(spec("seed:", "seed"), ES_KEYSLOT_FOR_ADD);
	struct es_err err = { 0 };
	struct es_keyarea *ka;
	struct memdev m;
	struct creds c;
	unsigned int slot;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 2);
	ka = open_area(&m, true);
	/* changes need the table key */
	assert_int_equal(es_keyarea_add(ka, seed, NULL, &slot, &err), -ENOKEY);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[1], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_add(ka, seed, NULL, &slot, &err), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(es_keyarea_remove(ka, 5, 0, &err), -ENOENT);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_remove(ka, 16, 0, &err), -EINVAL);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_remove(ka, 0, 0, &err), 0);
	es_keyarea_close(ka);
	assert_false(opens(&m, c.k[0]));
	assert_true(opens(&m, c.k[1]));
	assert_true(opens(&m, c.seed));
	/* the next slot added takes the lowest free number */
	ka = open_area(&m, true);
	assert_int_equal(es_keyarea_unlock(ka, &c.seed, 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_remove(ka, 1, 0, &err), 0);
	/* the last slot stays unless asked */
	assert_int_equal(es_keyarea_remove(ka, 2, 0, &err), -EPERM);
	assert_non_null(strstr(err.msg, "last one"));
	es_err_clear(&err);
	/* full */
	for (unsigned int i = 0; i < ES_KEYAREA_SLOTS - 1; i++) {
		assert_int_equal(es_keyarea_add(ka, seed, NULL, &slot, &err), 0);
		assert_int_not_equal(slot, 2);
	}
	assert_int_equal(es_keyarea_add(ka, seed, NULL, &slot, &err), -ENOSPC);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_remove(ka, 2, ES_KEYAREA_LAST, &err), 0);
	es_keyarea_close(ka);
	es_keyslot_cred_free(seed);
	free(m.buf);
	creds_free(&c);
}

static bool region_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void test_rotate(void **state)
{
	const char *specs[] = { spec("keyfile:", "key0"), spec("keyfile:", "key1"),
				spec("recipient:", "x.pub"), spec("seed:", "seed") };
	enum es_keyarea_slot_fate fates[ES_KEYAREA_SLOTS];
	struct es_keyarea_summary s0, s1;
	uint8_t old_tk[32], removed[ES_KEYSLOT_SIZE];
	struct es_keyslot_cred *both[2];
	struct es_keytable_info info;
	struct es_err err = { 0 };
	struct es_keyarea *ka;
	uint8_t *before, seg[ES_KT_SEG_SIZE];
	struct memdev m;
	struct creds c;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 4);
	before = malloc(m.size);
	memcpy(before, m.buf, m.size);
	ka = open_area(&m, true);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
	memcpy(old_tk, es_keyarea_table_key(ka), 32);
	es_keyarea_summary(ka, &s0);
	/* a keyfile slot with no credential given: refused, nothing written */
	both[0] = c.k[0];
	both[1] = c.seed;
	assert_int_equal(es_keyarea_rotate(ka, both, 2, 0, fates, &err), -EPERM);
	assert_non_null(strstr(err.msg, "slot 1 (keyfile)"));
	assert_int_equal(m.nlog, 0);
	assert_memory_equal(m.buf, before, m.size);
	es_err_clear(&err);
	/* with the drop flag it goes; the X25519 slot needs no identity */
	assert_int_equal(es_keyarea_rotate(ka, both, 2, ES_KEYAREA_DROP, fates, &err), 0);
	assert_int_equal(fates[0], ES_SLOT_REWRAPPED);
	assert_int_equal(fates[1], ES_SLOT_DROPPED);
	assert_int_equal(fates[2], ES_SLOT_REWRAPPED);
	assert_int_equal(fates[3], ES_SLOT_REWRAPPED);
	assert_int_equal(fates[4], ES_SLOT_UNUSED);
	es_keyarea_summary(ka, &s1);
	assert_int_equal(s1.gen, s0.gen + 1);
	assert_int_equal(s1.active_table, 1);
	assert_memory_not_equal(s1.kid, s0.kid, 32);
	assert_memory_not_equal(es_keyarea_table_key(ka), old_tk, 32);
	/* the old table slot is wiped */
	assert_true(region_zero(m.buf + s0.table_off, (size_t)s0.table_len));
	es_keyarea_close(ka);
	assert_true(opens(&m, c.k[0]));
	assert_true(opens(&m, c.x));
	assert_true(opens(&m, c.seed));
	assert_false(opens(&m, c.k[1]));

	/* the old TK opens no segment of the new table */
	ka = open_area(&m, false);
	assert_int_equal(es_keyarea_unlock(ka, &c.x, 1, NULL, &err), 0);
	es_keyarea_table_info(ka, &info);
	{
		const uint8_t *d;

		assert_int_equal(es_keyarea_digests(ka, &d, &err), 0);
		assert_int_equal(es_keytable_open_segment(&info, old_tk, 0,
							  m.buf + s1.table_off, d, seg, &err),
				 -EBADMSG);
		es_err_clear(&err);
		info.gen = s0.gen;
		assert_int_equal(es_keytable_open_segment(&info, old_tk, 0,
							  m.buf + s1.table_off, d, seg, &err),
				 -EBADMSG);
	}
	es_keyarea_close(ka);

	/* remove + rotate: the removed slot, pasted back into both copies by
	 * someone who can write the image, opens nothing any more */
	memcpy(removed, m.buf + 4096 + 3 * ES_KEYSLOT_SIZE, ES_KEYSLOT_SIZE);
	ka = open_area(&m, true);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_remove(ka, 3, 0, &err), 0);
	assert_int_equal(es_keyarea_rotate(ka, &c.k[0], 1, 0, NULL, &err), 0);
	es_keyarea_close(ka);
	for (int copy = 0; copy < 2; copy++) {
		uint8_t *base = m.buf + copy * ES_KEYAREA_COPY_SIZE;

		memcpy(base + 4096 + 3 * ES_KEYSLOT_SIZE, removed, ES_KEYSLOT_SIZE);
		fix_checksum(base);
	}
	assert_false(opens(&m, c.seed));
	assert_true(opens(&m, c.k[0]));
	free(before);
	free(m.buf);
	creds_free(&c);
}

static void test_damage(void **state)
{
	const char *specs[] = { spec("keyfile:", "key0") };
	struct es_keyarea_expect expect;
	struct es_keyarea_summary s;
	struct es_err err = { 0 };
	struct es_keyarea *ka = NULL;
	struct es_keyarea_dev d;
	uint8_t *orig, seg[ES_KT_SEG_SIZE];
	struct memdev m;
	struct creds c;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 1);
	orig = malloc(m.size);
	memcpy(orig, m.buf, m.size);

	/* one copy damaged: the other opens */
	m.buf[300] ^= 0x10;
	ka = open_area(&m, false);
	es_keyarea_summary(ka, &s);
	assert_int_equal(s.winner, 1);
	assert_non_null(strstr(s.copies[0].problem, "checksum"));
	es_keyarea_close(ka);
	assert_true(opens(&m, c.k[0]));
	/* both: a clear error naming both */
	m.buf[ES_KEYAREA_COPY_SIZE + 5000] ^= 0x10;
	d = dev_of(&m, false);
	assert_int_equal(es_keyarea_open(&d, NULL, &ka, &err), -ES_ECORRUPT);
	assert_null(ka);
	assert_non_null(strstr(err.msg, "copy A: checksum"));
	assert_non_null(strstr(err.msg, "copy B: checksum"));
	memcpy(m.buf, orig, m.size);

	/* B's bytes in A's place */
	memcpy(m.buf, orig + ES_KEYAREA_COPY_SIZE, ES_KEYAREA_COPY_SIZE);
	ka = open_area(&m, false);
	es_keyarea_summary(ka, &s);
	assert_int_equal(s.winner, 1);
	assert_non_null(strstr(s.copies[0].problem, "magic"));
	es_keyarea_close(ka);
	memcpy(m.buf, orig, m.size);

	/* truncated: every shorter device is refused cleanly */
	for (size_t len = 0; len < m.size; len += 4093) {
		d = dev_of(&m, false);
		d.size = len;
		es_err_clear(&err);
		assert_int_not_equal(es_keyarea_open(&d, NULL, &ka, &err), 0);
		assert_null(ka);
	}

	/* another image's key area (expected UUID), and another table */
	memset(&expect, 0, sizeof(expect));
	memcpy(expect.uuid, uuid, 16);
	expect.uuid[15] ^= 1;
	d = dev_of(&m, false);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_open(&d, &expect, &ka, &err), -EXDEV);
	assert_non_null(strstr(err.msg, "another image"));
	expect.uuid[15] ^= 1;
	expect.check_table = true;
	expect.suite = ES_SUITE_XTS_V1;
	memcpy(expect.table_digest, table_digest, 32);
	expect.entries = ENTRIES;
	assert_int_equal(es_keyarea_open(&d, &expect, &ka, &err), 0);
	es_keyarea_close(ka);
	expect.table_digest[0] ^= 1;
	es_err_clear(&err);
	assert_int_equal(es_keyarea_open(&d, &expect, &ka, &err), -EXDEV);
	assert_non_null(strstr(err.msg, "table digest"));

	/* D damaged: the table is refused, so is a rotation */
	m.buf[2 * ES_KEYAREA_COPY_SIZE + 40] ^= 1;
	ka = open_area(&m, true);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_read_segment(ka, 1, seg, &err), -EBADMSG);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_rotate(ka, &c.k[0], 1, 0, NULL, &err), -EBADMSG);
	es_keyarea_close(ka);
	memcpy(m.buf, orig, m.size);
	/* a table segment damaged: that segment only */
	es_keyarea_summary(ka = open_area(&m, false), &s);
	m.buf[s.table_off + ES_KT_SEG_SIZE + 100] ^= 1;
	assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_read_segment(ka, 0, seg, &err), 0);
	assert_int_equal(es_keyarea_read_segment(ka, 1, seg, &err), -EBADMSG);
	assert_int_equal(es_keyarea_read_segment(ka, 2, seg, &err), 0);
	es_keyarea_close(ka);
	free(orig);
	free(m.buf);
	creds_free(&c);
}

/*
 * A table long enough to be decrypted by two threads (65 segments, the
 * last short): read back whole; a damaged segment in either half is
 * named, the first one when both are, and nothing of the table is left.
 */
static void test_big_table(void **state)
{
	enum { BIG = 64 * ES_KT_SEG_ENTRIES + 2, NSEG = 65 };
	const size_t len = (size_t)BIG * ES_KT_ENTRY_SIZE;
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1, .gen = 1, .entries = BIG };
	struct es_keyarea_table t = { .suite = ES_SUITE_XTS_V1, .entries = BIG };
	struct es_keyslot_cred *add = cred(spec("keyfile:", "key0"), ES_KEYSLOT_FOR_ADD);
	uint8_t *big = malloc(len), *back = malloc(len), *d = malloc(NSEG * 32), *orig;
	struct es_keyarea_summary s;
	struct es_err err = { 0 };
	struct es_keyarea *ka;
	struct memdev m;
	struct creds c;
	const uint64_t bad[][2] = { { 60, 60 }, { 3, 3 }, { 3, 60 } };

	(void)state;
	assert_non_null(big);
	assert_non_null(back);
	assert_non_null(d);
	creds_load(&c);
	memcpy(info.uuid, uuid, 16);
	for (size_t i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 13 + (i >> 8));
	assert_int_equal(es_keytable_digests(&info, big, d, t.table_digest), 0);
	memcpy(t.uuid, uuid, 16);
	t.digests = d;
	t.plain = big;
	memset(&m, 0, sizeof(m));
	if (es_keyarea_create(&t, &add, 1, &cheap, &m.buf, &m.size, &err))
		fail_msg("create: %s", err.msg);
	ka = open_area(&m, false);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_read_table(ka, back, &err), 0);
	assert_memory_equal(back, big, len);
	es_keyarea_summary(ka, &s);
	es_keyarea_close(ka);
	orig = malloc(m.size);
	assert_non_null(orig);
	memcpy(orig, m.buf, m.size);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		memcpy(m.buf, orig, m.size);
		for (int j = 0; j < 2 && (!j || bad[i][1] != bad[i][0]); j++)
			m.buf[s.table_off + bad[i][j] * (ES_KT_SEG_SIZE + ES_KT_TAG_SIZE) + 7] ^= 1;
		ka = open_area(&m, false);
		assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
		memset(back, 0x5a, len);
		es_err_clear(&err);
		assert_int_equal(es_keyarea_read_table(ka, back, &err), -EBADMSG);
		snprintf(want, sizeof(want), "segment %llu ", (unsigned long long)bad[i][0]);
		if (!strstr(err.msg, want))
			fail_msg("%s: %s", want, err.msg);
		for (size_t k = 0; k < len; k++)
			if (back[k])
				fail_msg("byte %zu of a table that failed is left", k);
		es_keyarea_close(ka);
	}
	es_keyslot_cred_free(add);
	creds_free(&c);
	free(orig);
	free(m.buf);
	free(big);
	free(back);
	free(d);
}

/* Every single-bit flip in copy A and every byte of the D array and
 * tables: no crash (this runs under ASan/UBSan too), and it still opens
 * (copy B, or a table that is not read). */
static void test_bit_flips(void **state)
{
	const char *specs[] = { spec("keyfile:", "key0"), spec("recipient:", "x.pub") };
	struct es_err err = { 0 };
	struct memdev m;
	struct creds c;
	uint8_t *orig;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 2);
	orig = malloc(m.size);
	memcpy(orig, m.buf, m.size);
	for (size_t i = 0; i < ES_KEYAREA_COPY_SIZE; i += 3) {
		struct es_keyarea_dev d = dev_of(&m, false);
		struct es_keyarea *ka = NULL;

		m.buf[i] ^= (uint8_t)(1u << (i % 8));
		if (es_keyarea_open(&d, NULL, &ka, &err))
			fail_msg("flip at %zu: %s", i, err.msg);
		assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
		es_keyarea_close(ka);
		m.buf[i] = orig[i];
	}
	/* both copies flipped at the same byte: refused or (padding) still fine */
	for (size_t i = 0; i < ES_KEYAREA_COPY_SIZE; i += 97) {
		struct es_keyarea_dev d = dev_of(&m, false);
		struct es_keyarea *ka = NULL;

		m.buf[i] ^= 0x80;
		m.buf[ES_KEYAREA_COPY_SIZE + i] ^= 0x80;
		es_err_clear(&err);
		if (!es_keyarea_open(&d, NULL, &ka, &err))
			fail_msg("both copies flipped at %zu opened", i);
		memcpy(m.buf, orig, m.size);
	}
	free(orig);
	free(m.buf);
	creds_free(&c);
}

/* An attacker lowers or raises a passphrase slot's Argon2 costs in place
 * (both copies, checksums fixed). */
static void test_argon2_costs_in_place(void **state)
{
	const char *specs[] = { spec("passphrase-file:", "pass") };
	struct es_err err = { 0 };
	struct es_keyarea *ka;
	struct memdev m;
	struct creds c;
	uint8_t *orig;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 1);
	orig = malloc(m.size);
	memcpy(orig, m.buf, m.size);
	assert_false(opens(&m, c.wrongpass));
	assert_true(opens(&m, c.pass));
	for (int t = 0; t < 2; t++) {
		for (int copy = 0; copy < 2; copy++) {
			uint8_t *base = m.buf + copy * ES_KEYAREA_COPY_SIZE;

			if (t == 0)
				es_put32(base + 4096 + 8 + 32, 1);	/* t_cost lowered */
			else
				es_put32(base + 4096 + 8 + 36, 64u << 20);	/* 64 GiB */
			fix_checksum(base);
		}
		ka = open_area(&m, false);
		es_err_clear(&err);
		assert_int_equal(es_keyarea_unlock(ka, &c.pass, 1, NULL, &err),
				 t == 0 ? -EKEYREJECTED : -ERANGE);
		if (t == 1)
			assert_non_null(strstr(err.msg, "outside the bounds"));
		es_keyarea_close(ka);
		memcpy(m.buf, orig, m.size);
	}
	free(orig);
	free(m.buf);
	creds_free(&c);
}

static void test_restore(void **state)
{
	const char *specs[] = { spec("keyfile:", "key0"), spec("keyfile:", "key1"),
				spec("recipient:", "x.pub") };
	struct es_keyslot_cred *restore_creds[2];
	enum es_keyarea_slot_fate fates[ES_KEYAREA_SLOTS];
	struct es_keyarea_summary s;
	struct memdev m, bak, other;
	struct es_keyarea_dev d, bd;
	struct es_err err = { 0 };
	struct es_keyarea *ka;
	struct creds c;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 3);
	bak = m;
	bak.buf = malloc(m.size);
	memcpy(bak.buf, m.buf, m.size);
	/* the live area moves on: key1 removed, rotated twice */
	ka = open_area(&m, true);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[0], 1, NULL, &err), 0);
	assert_int_equal(es_keyarea_remove(ka, 1, 0, &err), 0);
	assert_int_equal(es_keyarea_rotate(ka, &c.k[0], 1, 0, NULL, &err), 0);
	assert_int_equal(es_keyarea_rotate(ka, &c.k[0], 1, 0, NULL, &err), 0);
	es_keyarea_close(ka);
	assert_false(opens(&m, c.k[1]));

	/* then both header copies are destroyed */
	memset(m.buf, 0xee, 2 * ES_KEYAREA_COPY_SIZE);
	d = dev_of(&m, true);
	bd = dev_of(&bak, false);
	restore_creds[0] = c.k[0];
	restore_creds[1] = c.k[1];
	/* key1's slot of the backup comes back only with key1 */
	assert_int_equal(es_keyarea_restore(&d, NULL, &bd, restore_creds, 1, 0, fates, &err),
			 -EPERM);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_restore(&d, NULL, &bd, restore_creds, 2, 0, fates, &err), 0);
	assert_int_equal(fates[2], ES_SLOT_REWRAPPED);
	ka = open_area(&m, false);
	es_keyarea_summary(ka, &s);
	assert_int_equal(s.gen, 2);	/* the backup's 1, + 1: no valid copy remembered 3 */
	es_keyarea_close(ka);
	assert_true(opens(&m, c.k[0]));
	assert_true(opens(&m, c.k[1]));
	assert_true(opens(&m, c.x));

	/* over a live area: a generation above both, a sequence above it */
	assert_int_equal(es_keyarea_restore(&d, NULL, &bd, restore_creds, 2, 0, NULL, &err), 0);
	ka = open_area(&m, false);
	es_keyarea_summary(ka, &s);
	assert_int_equal(s.gen, 3);
	assert_true(s.copies[0].seq > 1);
	es_keyarea_close(ka);

	/* a backup of another image, or of another size */
	make_area(&other, specs, 1);
	other.buf[48] ^= 1;	/* UUID of copy A */
	fix_checksum(other.buf);
	memset(other.buf + ES_KEYAREA_COPY_SIZE, 0, 16);	/* B unusable */
	bd = dev_of(&other, false);
	es_err_clear(&err);
	assert_int_equal(es_keyarea_restore(&d, NULL, &bd, restore_creds, 2, 0, NULL, &err),
			 -EXDEV);
	bd.size -= 4096;
	es_err_clear(&err);
	assert_int_equal(es_keyarea_restore(&d, NULL, &bd, restore_creds, 2, 0, NULL, &err),
			 -EXDEV);
	free(other.buf);
	free(bak.buf);
	free(m.buf);
	creds_free(&c);
}

/* Readers that have the image open read the key area through their source. */
static void test_io_dev(void **state)
{
	const char *specs[] = { spec("keyfile:", "key2") };
	struct es_keyarea_io_ctx ctx;
	struct es_io_mem_dev mdev;
	struct es_keyarea_dev d;
	struct es_io_mem mem;
	struct es_err err = { 0 };
	struct es_keyarea *ka = NULL;
	struct es_io io;
	struct memdev m;
	struct creds c;
	uint8_t *image;

	(void)state;
	creds_load(&c);
	make_area(&m, specs, 1);
	image = calloc(1, 8192 + m.size + 4096);
	memcpy(image + 8192, m.buf, m.size);
	mdev.data = image;
	mdev.size = 8192 + m.size + 4096;
	es_io_mem_init(&io, &mem, &mdev, 1);
	es_keyarea_dev_io(&d, &ctx, &io, 8192, m.size);
	assert_null(d.write);
	assert_int_equal(es_keyarea_open(&d, NULL, &ka, &err), 0);
	assert_int_equal(es_keyarea_unlock(ka, &c.k[2], 1, NULL, &err), 0);
	es_keyarea_close(ka);
	free(image);
	free(m.buf);
	creds_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_open_unlock),
		cmocka_unit_test(test_create_refuses),
		cmocka_unit_test(test_commit_order),
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_big_table),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_argon2_costs_in_place),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_io_dev),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
