// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for the boot unlock (lib/keys/keydec.c) over key areas made by the
 * hosted es_keyarea_create(): a key file and a seed open it; the metadata
 * and chunk decryption equal the backend's AES-256-XTS under the keys the
 * table was made of (for every chunk of tables of 1, 5 and 141 segments:
 * one and two segments per group); what the caller gets wrong is refused;
 * and a key area whose digests or table change after the unlock (a device
 * that answers differently the second time) is refused, not believed.
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
#include "erofs/keyarea.h"
#include "erofs/keydec.h"
#include "erofs/keytable.h"

static char dir[] = "/tmp/es-keydec-XXXXXX";
static const uint8_t key_bytes[48] = "a key file of forty-eight bytes, made for tests";
static const uint8_t seed_bytes[40] = "a machine seed of forty bytes, for tests";

static _Alignas(ES_KEYDEC_MEM_ALIGN) uint8_t mem[ES_KEYDEC_MEM_SIZE + 8];

static void write_file(const char *name, const void *data, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	write_file("key", key_bytes, sizeof(key_bytes));
	write_file("seed", seed_bytes, sizeof(seed_bytes));
	return 0;
}

static int teardown(void **state)
{
	char path[64];

	(void)state;
	snprintf(path, sizeof(path), "%s/key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/seed", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* ---- a key area of nchunks chunks, in memory --------------------------------- */

struct area {
	uint64_t entries;
	uint8_t *plain;			/* the table */
	uint8_t *area;
	size_t len;
	struct es_keyarea_expect expect;
	struct es_keyarea_dev dev;
};

static int area_read(void *ctx, uint64_t off, void *buf, size_t len, struct es_err *err)
{
	const struct area *a = ctx;

	(void)err;
	memcpy(buf, a->area + off, len);
	return 0;
}

/* chunk c (from 0): device c / 1000, block 100 + 3c; secret bytes from c */
static unsigned int chunk_dev(uint64_t c)
{
	return (unsigned int)(c / 1000);
}

static uint64_t chunk_block(uint64_t c)
{
	return 100 + 3 * c;
}

static void make_area(struct area *a, uint64_t nchunks)
{
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1 };
	struct es_keyslot_cred *creds[2];
	struct es_keyarea_table t;
	struct es_err err = { 0 };
	char spec[80];
	uint8_t *d;

	memset(a, 0, sizeof(*a));
	a->entries = nchunks + 1;
	a->plain = calloc(a->entries, ES_KT_ENTRY_SIZE);
	assert_non_null(a->plain);
	for (unsigned int i = 0; i < ES_META_KEY_SIZE; i++)
		a->plain[i] = (uint8_t)(0x80 + i);
	for (uint64_t c = 0; c < nchunks; c++) {
		uint8_t secret[ES_CHUNK_SECRET_SIZE];

		for (unsigned int j = 0; j < sizeof(secret); j++)
			secret[j] = (uint8_t)(c * 31 + 7 * j + (c >> 8));
		assert_int_equal(es_keytable_put_secret(a->plain + (c + 1) * ES_KT_ENTRY_SIZE,
							secret, chunk_dev(c), chunk_block(c)), 0);
	}
	for (unsigned int i = 0; i < ES_UUID_SIZE; i++)
		info.uuid[i] = (uint8_t)(0x21 + 7 * i);
	info.entries = a->entries;
	d = calloc(es_keytable_nseg(a->entries), ES_SHA256_DIGEST_SIZE);
	assert_non_null(d);
	memset(&t, 0, sizeof(t));
	assert_int_equal(es_keytable_digests(&info, a->plain, d, t.table_digest), 0);
	memcpy(t.uuid, info.uuid, ES_UUID_SIZE);
	t.suite = ES_SUITE_XTS_V1;
	t.entries = a->entries;
	t.digests = d;
	t.plain = a->plain;
	snprintf(spec, sizeof(spec), "keyfile:%s/key", dir);
	assert_int_equal(es_keyslot_cred_load(spec, ES_KEYSLOT_FOR_ADD, NULL, &creds[0], &err), 0);
	snprintf(spec, sizeof(spec), "seed:%s/seed:boot", dir);
	assert_int_equal(es_keyslot_cred_load(spec, ES_KEYSLOT_FOR_ADD, NULL, &creds[1], &err), 0);
	assert_int_equal(es_keyarea_create(&t, creds, 2, NULL, &a->area, &a->len, &err), 0);
	es_keyslot_cred_free(creds[0]);
	es_keyslot_cred_free(creds[1]);
	memcpy(a->expect.uuid, info.uuid, ES_UUID_SIZE);
	a->expect.check_table = true;
	a->expect.suite = ES_SUITE_XTS_V1;
	memcpy(a->expect.table_digest, t.table_digest, 32);
	a->expect.entries = a->entries;
	a->dev.size = a->len;
	a->dev.read = area_read;
	a->dev.ctx = a;
	free(d);
}

static void free_area(struct area *a)
{
	free(a->plain);
	free(a->area);
}

static const struct es_keydec_cred keyfile = {
	.kind = ES_KEYSLOT_KEYFILE, .secret = key_bytes, .secret_len = sizeof(key_bytes),
};

/* ---- decryption against the backend ------------------------------------------ */

/* block under key (64 bytes) at tweak index: the backend encrypts */
static void encrypt_unit(const uint8_t *key, uint64_t index, uint8_t *block)
{
	struct es_crypto_xts x;
	uint8_t tweak[16];

	assert_int_equal(es_crypto_xts_init(&x, ES_CRYPTO_ENCRYPT), 0);
	assert_int_equal(es_crypto_xts_setkey(&x, key), 0);
	es_crypto_xts_tweak(index, tweak);
	assert_int_equal(es_crypto_xts_crypt(&x, tweak, block, block, 4096), 0);
	es_crypto_xts_release(&x);
}

/* chunk c's unit u, encrypted under its key, decrypts through dec */
static void check_chunk(const struct area *a, const struct es_decryptor *dec, uint64_t c,
			uint64_t unit)
{
	uint8_t plain[4096], block[4096], key[ES_CHUNK_KEY_SIZE];
	struct es_err err = { 0 };

	for (unsigned int i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 13 + c);
	memcpy(block, plain, sizeof(block));
	assert_int_equal(es_derive_chunk_key(a->plain + (c + 1) * ES_KT_ENTRY_SIZE,
					     ES_SUITE_XTS_V1, key), 0);
	encrypt_unit(key, unit, block);
	assert_int_equal(dec->chunk(dec->ctx, chunk_dev(c), chunk_block(c), unit, block, &err), 0);
	assert_memory_equal(block, plain, sizeof(plain));
}

static void check_table(uint64_t nchunks, uint64_t step)
{
	uint8_t plain[4096], block[4096];
	struct es_err err = { 0 };
	struct es_decryptor dec;
	unsigned int slot = 99;
	struct area a;

	make_area(&a, nchunks);
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &keyfile,
					&dec, &slot, &err), 0);
	assert_int_equal(slot, 0);
	/* metadata block 7 under entry 0 */
	for (unsigned int i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7);
	memcpy(block, plain, sizeof(block));
	encrypt_unit(a.plain, 7, block);
	assert_int_equal(dec.meta(dec.ctx, 7, block, &err), 0);
	assert_memory_equal(block, plain, sizeof(plain));
	/* every chunk (or every step-th), in order and backwards */
	for (uint64_t c = 0; c < nchunks; c += step)
		check_chunk(&a, &dec, c, c % 3);
	for (uint64_t c = nchunks; c >= step; c -= step)
		check_chunk(&a, &dec, c - 1, 1);
	/* a chunk the table has no entry for */
	assert_int_equal(dec.chunk(dec.ctx, 0, 101, 0, block, &err), -ES_ECORRUPT);
	es_keydec_close(mem);
	assert_true(es_is_zero(mem, ES_KEYDEC_MEM_SIZE));
	free_area(&a);
}

static void test_tables(void **state)
{
	(void)state;
	check_table(10, 1);	/* one segment */
	check_table(300, 1);	/* five segments */
	check_table(9000, 7);	/* 141 segments: two per group */
}

static void test_seed(void **state)
{
	struct es_keydec_cred seed = {
		.kind = ES_KEYSLOT_SEED, .secret = seed_bytes, .secret_len = sizeof(seed_bytes),
		.label = "boot", .label_len = 4,
	};
	struct es_err err = { 0 };
	struct es_decryptor dec;
	unsigned int slot = 99;
	struct area a;

	(void)state;
	make_area(&a, 100);
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &seed, &dec,
					&slot, &err), 0);
	assert_int_equal(slot, 1);
	check_chunk(&a, &dec, 42, 0);
	es_keydec_close(mem);
	/* no label: every seed slot */
	seed.label = NULL;
	seed.label_len = 0;
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &seed, &dec,
					&slot, &err), 0);
	es_keydec_close(mem);
	/* another label: no slot of that kind */
	seed.label = "other";
	seed.label_len = 5;
	err.code = 0;
	err.msg[0] = '\0';
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &seed, &dec,
					NULL, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "seed label"));
	assert_true(es_is_zero(mem, ES_KEYDEC_MEM_SIZE));
	free_area(&a);
}

static void test_refused(void **state)
{
	static const uint8_t wrong[48] = "not the key file of forty-eight bytes at all!!";
	struct es_keydec_cred c = keyfile;
	struct es_keyarea_expect other;
	struct es_err err = { 0 };
	struct es_decryptor dec;
	struct area a;

	(void)state;
	make_area(&a, 100);
	c.secret = wrong;
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &c, &dec, NULL,
					&err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "no credential opens a keyslot"));
	c.kind = ES_KEYSLOT_PASSPHRASE;
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &c, &dec, NULL,
					NULL), -EOPNOTSUPP);
	c = keyfile;
	c.secret_len = 31;
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &c, &dec, NULL,
					NULL), -EINVAL);
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE - 1, &a.dev, &a.expect, &keyfile,
					&dec, NULL, NULL), -EINVAL);
	assert_int_equal(es_keydec_open(mem + 4, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &keyfile,
					&dec, NULL, NULL), -EINVAL);
	other = a.expect;
	other.check_table = false;
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &other, &keyfile, &dec,
					NULL, NULL), -EINVAL);
	/* the key area of another table */
	other = a.expect;
	other.table_digest[5] ^= 1;
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &other, &keyfile, &dec,
					NULL, NULL), -EXDEV);
	free_area(&a);
}

/* the key area's bytes change after the unlock checked them */
static void test_changed_under_reader(void **state)
{
	struct es_err err = { 0 };
	struct es_decryptor dec;
	uint8_t block[4096] = { 0 };
	struct area a;
	uint64_t d_off = 2 * ES_KEYAREA_COPY_SIZE, t_off;

	(void)state;
	make_area(&a, 9000);		/* 141 segments: groups of two */
	t_off = es_get64(a.area + 192);	/* table slot 0, active after creation */
	assert_int_equal(es_keydec_open(mem, ES_KEYDEC_MEM_SIZE, &a.dev, &a.expect, &keyfile, &dec,
					NULL, &err), 0);
	/* D_100 (group 50): its chunks are refused from now on, others not */
	a.area[d_off + 100 * 32 + 3] ^= 1;
	assert_int_equal(dec.chunk(dec.ctx, chunk_dev(100 * 64), chunk_block(100 * 64), 0, block,
				   &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "changed since they were checked"));
	check_chunk(&a, &dec, 10, 0);
	/* the ciphertext of segment 30 */
	a.area[t_off + 30 * 4112 + 77] ^= 1;
	memset(&err, 0, sizeof(err));
	assert_int_equal(dec.chunk(dec.ctx, chunk_dev(30 * 64), chunk_block(30 * 64), 0, block,
				   &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "key table segment 30"));
	check_chunk(&a, &dec, 5000, 2);
	es_keydec_close(mem);
	free_area(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_changed_under_reader),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
