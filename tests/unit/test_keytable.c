// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for the derivations and the key table (lib/keys/, ENCRYPTION.md
 * sections 1-2): the published test vectors, whose expected values come
 * from the Python oracle (tests/oracle/escrypt.py), never from this code;
 * round trips over table sizes around the segment boundaries; and every
 * way of presenting a segment out of its place (bit flips, another
 * generation, UUID, index, entry count, table key, swapped segments, a
 * table re-encrypted under the right key but not the signed one), each of
 * which must be -EBADMSG with the plaintext wiped.
 *
 * The refusal of a chunk key with equal halves cannot be reached through
 * a real secret (probability 2^-256): test_derive_halves checks it against
 * a stub backend.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "seeded_rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/keytable.h"
#include "keytable_vectors.h"

/*
 * What `python3 tests/oracle/escrypt.py vectors` prints, pasted here
 * unchanged: the oracle, not this code, is the source of these values.
 */
static const char kt_oracle_vectors[] =
	"K_domain = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	"suite = 1\n"
	"P_len = 5000\n"
	"uuid = f0e1d2c3b4a5968778695a4b3c2d1e0f\n"
	"TK = 404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\n"
	"gen = 3\n"
	"M = 808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n"
	"meta_block = 74565\n"
	"entries = 130\n"
	"P_sha256 = 34398b85297bf7d9dfb59b8d511d8bbb44ab23e891570e4395e7871475fc8afb\n"
	"chunk_secret = 059b905401b99f0d56b62bcd31c381f5b2c2b316e741446f70a2e22d4e6dd5b9\n"
	"chunk_key = 5f12d745cacbd854bf4efa3e97e12a3e3456852a068e5bcbcc9a648dea9c83b18d60a2e0d6a88391a020061c3a29ba9b1918e8839eee0049b0305fde0618052a\n"
	"chunk_id = 2d9f0064f254a04a12364014c2636c88cd793f6b7300d97884b574696827281d\n"
	"chunk_ct_sha256 = 8ec3a33dc76eeedf0bf4563c29d468c32c2b6f54e1d2efcd187f65f03a2bde98\n"
	"chunk_ct_unit1_head = d534e37d8df9a92bb299997b77e10d3e\n"
	"domain_check = 3c8d1d49f52011566dbca5ff124c39db70dc61cef38f6ceb69824dcc35a5d34f\n"
	"meta_ct_sha256 = 7c18442b8a41be880278bf4fc414b72d3dc5247c9ae9c1ec19553e27d5947c3d\n"
	"meta_ct_head = 0acc7200a6da4b38787325c9efe2f29c\n"
	"kid = ac585997b24e3a9e780ce26eee46d81726e6b3a1a233609237b9ca7b6d78f75e\n"
	"K_tbl = 34ef50f4293beb47a80a5bfe9809fcc2f911747a941e6784e50a7a42962b2f96\n"
	"table_pt_sha256 = ddb660eeee24a762874fb0a982079a8f6ca3309a4a55473f5a5ff7a06d3e0bde\n"
	"entry_1 = 00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d90000000000000000640000000000000000000000000000000000000000000000\n"
	"entry_129 = 80878e959ca3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b52590200000000000000e40100000000000000000000000000000000000000000000\n"
	"nseg = 3\n"
	"ct_size = 8368\n"
	"D_0 = 3108f79541e66c8f5e662797b5af0917e9d5073347d0f0b8b1ecd1ad9508dc77\n"
	"D_1 = 07a4a987924cba175aec6cdf6d6e9140968706dbd3aec285ba6dba39f1565a26\n"
	"D_2 = c1c47d35038f460df6e47a26f29d7530002d15a3b29960ac829c53ee76eaaac1\n"
	"table_digest = ffcc1063cdf902f45d3806175b34f0456e7951754cc706562d5efaea60032ddb\n"
	"tag_0 = bbffec996f1140ae208b8f437b1c3791\n"
	"tag_1 = 3e2998cb0c89044b695b99e4cad58afd\n"
	"tag_2 = 2bf52f556c509500eaee4675e25fefcd\n"
	"table_ct_sha256 = 1014fe943e07d184dacb49aaad95c963a4c43491fbec1bb05a6714da8e5d691a\n"
	;

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t prng_state = 0x9e3779b97f4a7c15ull;

static void fill_prng(uint8_t *buf, size_t len)
{
	seeded_fill(&prng_state, buf, len);
}

/* ---- test vectors --------------------------------------------------------- */

static void test_vectors(void **state)
{
	static char ours[16384];
	const char *a = ours, *b = kt_oracle_vectors;
	unsigned int line = 1;

	(void)state;
	if (kt_vectors_compute(ours, sizeof(ours)))
		fail_msg("computing the vectors: %s", ours);
	/* line by line, so that a failure names the value that differs */
	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (la != lb || memcmp(a, b, la))
			fail_msg("line %u: libcore gives\n  %.*s\nthe oracle\n  %.*s",
				 line, (int)la, a, (int)lb, b);
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
		line++;
	}
	assert_true(line > 30);
}

/* ---- sizes and entries ---------------------------------------------------- */

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(es_keytable_nseg(0), 0);
	assert_int_equal(es_keytable_ct_size(0), 0);
	assert_int_equal(es_keytable_seg_len(0, 0), 0);
	assert_int_equal(es_keytable_nseg(1), 1);
	assert_int_equal(es_keytable_seg_len(1, 0), 64);
	assert_int_equal(es_keytable_seg_len(1, 1), 0);
	assert_int_equal(es_keytable_ct_size(1), 64 + 16);
	assert_int_equal(es_keytable_nseg(64), 1);
	assert_int_equal(es_keytable_seg_len(64, 0), 4096);
	assert_int_equal(es_keytable_nseg(65), 2);
	assert_int_equal(es_keytable_seg_len(65, 0), 4096);
	assert_int_equal(es_keytable_seg_len(65, 1), 64);
	assert_int_equal(es_keytable_ct_size(65), 65 * 64 + 2 * 16);
	assert_int_equal(es_keytable_nseg(130), 3);
	assert_int_equal(es_keytable_seg_len(130, 2), 2 * 64);
	assert_int_equal(es_keytable_seg_len(130, 3), 0);
	assert_int_equal(es_keytable_seg_len(130, UINT64_MAX), 0);
	/* the largest table still has sizes that fit in 64 bits */
	assert_int_equal(es_keytable_nseg(ES_KT_MAX_ENTRIES), (1ull << 42) + 1);
	assert_int_equal(es_keytable_ct_size(ES_KT_MAX_ENTRIES),
			 ES_KT_MAX_ENTRIES * 64 + ((1ull << 42) + 1) * 16);
	assert_int_equal(es_keytable_seg_len(ES_KT_MAX_ENTRIES, 1ull << 42), 64);
	/* a hostile count sizes nothing */
	assert_int_equal(es_keytable_nseg(ES_KT_MAX_ENTRIES + 1), 0);
	assert_int_equal(es_keytable_ct_size(ES_KT_MAX_ENTRIES + 1), 0);
	assert_int_equal(es_keytable_nseg(UINT64_MAX), 0);
	assert_int_equal(es_keytable_ct_size(UINT64_MAX), 0);
	assert_int_equal(es_keytable_seg_len(UINT64_MAX, 0), 0);
	/* where an entry lives */
	assert_int_equal(es_keytable_entry_seg(0), 0);
	assert_int_equal(es_keytable_entry_off(0), 0);
	assert_int_equal(es_keytable_entry_seg(63), 0);
	assert_int_equal(es_keytable_entry_off(63), 63 * 64);
	assert_int_equal(es_keytable_entry_seg(64), 1);
	assert_int_equal(es_keytable_entry_off(64), 0);
	assert_int_equal(es_keytable_entry_seg(129), 2);
	assert_int_equal(es_keytable_entry_off(129), 64);
}

static void test_entries(void **state)
{
	uint8_t secret[ES_CHUNK_SECRET_SIZE], entry[ES_KT_ENTRY_SIZE];
	struct es_err err = { 0 };

	(void)state;
	fill_prng(secret, sizeof(secret));
	assert_int_equal(es_keytable_put_secret(entry, secret, 65535, 0x0123456789abcdefull), 0);
	assert_memory_equal(entry, secret, sizeof(secret));
	assert_int_equal(entry[32], 0xff);
	assert_int_equal(entry[33], 0xff);
	assert_true(all_zero(entry + 34, 6));
	assert_int_equal(entry[40], 0xef);
	assert_int_equal(entry[47], 0x01);
	assert_true(all_zero(entry + 48, 16));
	assert_int_equal(es_keytable_check_entry(entry, 65535, 0x0123456789abcdefull, &err), 0);
	assert_int_equal(err.code, 0);

	/* another chunk's entry: the position was wrong */
	assert_int_equal(es_keytable_check_entry(entry, 65534, 0x0123456789abcdefull, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.msg, "names device 65535 block 81985529216486895"));
	es_err_clear(&err);
	assert_int_equal(es_keytable_check_entry(entry, 65535, 0x0123456789abcdeeull, &err),
			 -EBADMSG);
	es_err_clear(&err);
	/* every reserved byte counts */
	for (unsigned int i = 34; i < 64; i++) {
		if (i >= 40 && i < 48)
			continue;
		entry[i] ^= 1;
		assert_int_equal(es_keytable_check_entry(entry, 65535,
							 0x0123456789abcdefull, &err),
				 -EBADMSG);
		assert_non_null(strstr(err.msg, "reserved"));
		es_err_clear(&err);
		entry[i] ^= 1;
	}
	/* a device the entry cannot name: refused, nothing of the secret left */
	assert_int_equal(es_keytable_put_secret(entry, secret, 65536, 7), -ERANGE);
	assert_true(all_zero(entry, sizeof(entry)));
	assert_int_equal(es_keytable_put_secret(entry, NULL, 1, 7), -EINVAL);
	assert_int_equal(es_keytable_put_secret(NULL, secret, 1, 7), -EINVAL);
}

/* ---- round trips ---------------------------------------------------------- */

struct table {
	struct es_keytable_info info;
	uint8_t tk[ES_TABLE_KEY_SIZE];
	uint8_t *plain, *ct, *back, *digests;
	uint8_t digest[ES_SHA256_DIGEST_SIZE];
	size_t plain_len, ct_len;
};

/* A random table of entries entries, encrypted, with its digests. */
static void table_make(struct table *t, uint64_t entries)
{
	struct es_err err = { 0 };

	memset(t, 0, sizeof(*t));
	fill_prng(t->info.uuid, sizeof(t->info.uuid));
	t->info.suite = ES_SUITE_XTS_V1;
	t->info.gen = 7;
	t->info.entries = entries;
	fill_prng(t->tk, sizeof(t->tk));
	t->plain_len = entries * ES_KT_ENTRY_SIZE;
	t->ct_len = es_keytable_ct_size(entries);
	t->plain = malloc(t->plain_len);
	t->back = malloc(t->plain_len);
	t->ct = malloc(t->ct_len);
	t->digests = malloc(es_keytable_nseg(entries) * ES_SHA256_DIGEST_SIZE);
	assert_non_null(t->plain);
	assert_non_null(t->back);
	assert_non_null(t->ct);
	assert_non_null(t->digests);
	fill_prng(t->plain, t->plain_len);
	assert_int_equal(es_keytable_digests(&t->info, t->plain, t->digests, t->digest), 0);
	assert_int_equal(es_keytable_encrypt(&t->info, t->tk, t->plain, t->ct, &err), 0);
	assert_int_equal(err.code, 0);
}

static void table_free(struct table *t)
{
	free(t->plain);
	free(t->back);
	free(t->ct);
	free(t->digests);
}

/* Byte offset of segment k's ciphertext in the table's. */
static size_t seg_ct_off(uint64_t entries, uint64_t k)
{
	size_t off = 0;

	for (uint64_t i = 0; i < k; i++)
		off += es_keytable_seg_len(entries, i) + ES_KT_TAG_SIZE;
	return off;
}

static void test_round_trip(void **state)
{
	static const uint64_t sizes[] = { 1, 2, 63, 64, 65, 127, 128, 129, 130, 200, 1000 };
	uint8_t digest[ES_SHA256_DIGEST_SIZE];
	struct es_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct table t;
		uint64_t nseg;

		table_make(&t, sizes[i]);
		nseg = es_keytable_nseg(sizes[i]);
		/* ciphertext: plaintext length plus a tag per segment */
		assert_int_equal(t.ct_len, t.plain_len + nseg * ES_KT_TAG_SIZE);
		assert_int_not_equal(memcmp(t.ct, t.plain, 64), 0);
		assert_int_equal(es_keytable_decrypt(&t.info, t.tk, t.ct, t.digests, t.back, &err), 0);
		assert_memory_equal(t.back, t.plain, t.plain_len);
		/* through one reused AEAD context: the same table, also after a
		   failure left the context keyed for another key */
		{
			struct es_crypto_aead *a = NULL;

			assert_int_equal(es_crypto_aead_new(&a), 0);
			t.tk[0] ^= 1;
			assert_int_equal(es_keytable_decrypt_with(&t.info, a, t.tk, t.ct,
								  t.digests, t.back, &err),
					 -EBADMSG);
			assert_true(all_zero(t.back, t.plain_len));
			es_err_clear(&err);
			t.tk[0] ^= 1;
			for (int round = 0; round < 2; round++) {
				memset(t.back, 0xa5, t.plain_len);
				assert_int_equal(es_keytable_decrypt_with(&t.info, a, t.tk, t.ct,
									  t.digests, t.back,
									  &err), 0);
				assert_memory_equal(t.back, t.plain, t.plain_len);
			}
			es_crypto_aead_free(a);
		}
		/* one segment alone, as the boot reader does */
		for (uint64_t k = 0; k < nseg; k++) {
			uint8_t seg[ES_KT_SEG_SIZE];
			size_t len = es_keytable_seg_len(sizes[i], k);

			memset(seg, 0xa5, sizeof(seg));
			assert_int_equal(es_keytable_open_segment(&t.info, t.tk, k,
								  t.ct + seg_ct_off(sizes[i], k),
								  t.digests, seg, &err), 0);
			assert_memory_equal(seg, t.plain + k * ES_KT_SEG_SIZE, len);
			/* nothing written past the segment */
			if (len < sizeof(seg))
				assert_int_equal(seg[len], 0xa5);
		}
		/* the D array alone gives the same table digest */
		assert_int_equal(es_keytable_digest_of(&t.info, t.digests, digest), 0);
		assert_memory_equal(digest, t.digest, sizeof(digest));
		assert_int_equal(err.code, 0);
		table_free(&t);
	}
}

/* Encrypting twice under one TK and gen is the same bytes (no randomness here). */
static void test_deterministic(void **state)
{
	struct es_err err = { 0 };
	struct table t;
	uint8_t *again;

	(void)state;
	table_make(&t, 130);
	again = malloc(t.ct_len);
	assert_non_null(again);
	assert_int_equal(es_keytable_encrypt(&t.info, t.tk, t.plain, again, &err), 0);
	assert_memory_equal(again, t.ct, t.ct_len);
	/* a new generation: every byte of every segment differs in practice */
	t.info.gen++;
	assert_int_equal(es_keytable_encrypt(&t.info, t.tk, t.plain, again, &err), 0);
	for (uint64_t k = 0; k < 3; k++) {
		size_t off = seg_ct_off(130, k);

		assert_int_not_equal(memcmp(again + off, t.ct + off, 16), 0);
	}
	free(again);
	table_free(&t);
}

/* ---- what must not open --------------------------------------------------- */

/* Segment k of t (or ct) under info: must be -EBADMSG, plain wiped. */
static void expect_bad(const struct es_keytable_info *info, const uint8_t *tk,
		       uint64_t k, const uint8_t *seg_ct, const uint8_t *digests,
		       const char *why)
{
	uint8_t plain[ES_KT_SEG_SIZE];
	struct es_err err = { 0 };
	int ret;

	memset(plain, 0xa5, sizeof(plain));
	ret = es_keytable_open_segment(info, tk, k, seg_ct, digests, plain, &err);
	if (ret != -EBADMSG)
		fail_msg("%s: got %d, not -EBADMSG", why, ret);
	assert_int_equal(err.code, -EBADMSG);
	assert_non_null(strstr(err.msg, "segment"));
	assert_true(all_zero(plain, es_keytable_seg_len(info->entries, k)));
}

static void test_tamper(void **state)
{
	struct es_keytable_info info;
	struct es_err err = { 0 };
	uint8_t tk[ES_TABLE_KEY_SIZE];
	struct table t;
	uint8_t *copy;

	(void)state;
	table_make(&t, 130);
	copy = malloc(t.ct_len);
	assert_non_null(copy);

	/* a flipped bit anywhere in a segment, its ciphertext or its tag */
	for (uint64_t k = 0; k < 3; k++) {
		size_t off = seg_ct_off(130, k);
		size_t n = es_keytable_seg_len(130, k) + ES_KT_TAG_SIZE;

		for (size_t i = 0; i < n; i += (i < 64 || i + 64 > n) ? 1 : 97) {
			memcpy(copy, t.ct, t.ct_len);
			copy[off + i] ^= (uint8_t)(1u << (i % 8));
			expect_bad(&t.info, t.tk, k, copy + off, t.digests, "flipped bit");
		}
	}
	/* the right bytes under the wrong parameters */
	info = t.info;
	info.gen++;
	expect_bad(&info, t.tk, 0, t.ct, t.digests, "another generation");
	info = t.info;
	info.uuid[15] ^= 0x80;
	expect_bad(&info, t.tk, 0, t.ct, t.digests, "another UUID");
	info = t.info;
	info.entries = 129;	/* same segments, another count */
	expect_bad(&info, t.tk, 0, t.ct, t.digests, "another entry count");
	memcpy(tk, t.tk, sizeof(tk));
	tk[0] ^= 1;
	expect_bad(&t.info, tk, 0, t.ct, t.digests, "another table key");
	/* segment 1 presented as segment 0 (same length) */
	expect_bad(&t.info, t.tk, 0, t.ct + seg_ct_off(130, 1), t.digests, "another index");
	expect_bad(&t.info, t.tk, 1, t.ct, t.digests, "another index");
	/* segments 0 and 1 swapped in the whole table */
	memcpy(copy, t.ct, t.ct_len);
	memcpy(copy, t.ct + seg_ct_off(130, 1), 4096 + 16);
	memcpy(copy + seg_ct_off(130, 1), t.ct, 4096 + 16);
	memset(t.back, 0xa5, t.plain_len);
	assert_int_equal(es_keytable_decrypt(&t.info, t.tk, copy, t.digests, t.back, &err),
			 -EBADMSG);
	assert_true(all_zero(t.back, t.plain_len));
	es_err_clear(&err);
	/* a D array that is not the signed one */
	for (uint64_t k = 0; k < 3; k++) {
		uint8_t *d = t.digests + k * ES_SHA256_DIGEST_SIZE;

		d[k * 5] ^= 4;
		expect_bad(&t.info, t.tk, k, t.ct + seg_ct_off(130, k), t.digests, "wrong D");
		d[k * 5] ^= 4;
	}
	/*
	 * A table that decrypts perfectly, re-encrypted under this image's TK,
	 * UUID and generation, but with two secrets swapped: only the signed
	 * digests catch it.
	 */
	memcpy(t.back, t.plain, t.plain_len);
	memcpy(t.back + 1 * 64, t.plain + 2 * 64, 64);
	memcpy(t.back + 2 * 64, t.plain + 1 * 64, 64);
	assert_int_equal(es_keytable_encrypt(&t.info, t.tk, t.back, copy, &err), 0);
	expect_bad(&t.info, t.tk, 0, copy, t.digests, "swapped secrets");
	/* its other segments are the builder's: they still open */
	assert_int_equal(es_keytable_open_segment(&t.info, t.tk, 1, copy + seg_ct_off(130, 1),
						  t.digests, t.back, &err), 0);
	assert_int_equal(err.code, 0);
	free(copy);
	table_free(&t);
}

static void test_bad_parameters(void **state)
{
	uint8_t tk[ES_TABLE_KEY_SIZE] = { 1 }, buf[256] = { 0 }, d[ES_SHA256_DIGEST_SIZE];
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1, .entries = 1 };
	struct es_err err = { 0 };

	(void)state;
	info.entries = 0;
	assert_int_equal(es_keytable_encrypt(&info, tk, buf, buf + 128, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "at least one entry"));
	es_err_clear(&err);
	assert_int_equal(es_keytable_digests(&info, buf, buf + 128, d), -EINVAL);
	info.entries = ES_KT_MAX_ENTRIES + 1;
	assert_int_equal(es_keytable_encrypt(&info, tk, buf, buf + 128, &err), -EFBIG);
	es_err_clear(&err);
	assert_int_equal(es_keytable_open_segment(&info, tk, 0, buf, buf, buf, &err), -EFBIG);
	es_err_clear(&err);
	assert_int_equal(es_keytable_digest_of(&info, buf, d), -EFBIG);
	info.entries = 1;
	info.suite = ES_SUITE_NONE;
	assert_int_equal(es_keytable_encrypt(&info, tk, buf, buf + 128, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "suite 0"));
	es_err_clear(&err);
	info.suite = ES_SUITE_XTS_V1;
	assert_int_equal(es_keytable_open_segment(&info, tk, 1, buf, buf, buf, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "past the last"));
	es_err_clear(&err);
	assert_int_equal(es_keytable_encrypt(&info, NULL, buf, buf + 128, &err), -EINVAL);
	es_err_clear(&err);
	assert_int_equal(es_keytable_encrypt(NULL, tk, buf, buf + 128, &err), -EINVAL);
	es_err_clear(&err);
	assert_int_equal(es_keytable_decrypt(&info, tk, buf, NULL, buf + 128, &err), -EINVAL);
}

/* ---- derivations ---------------------------------------------------------- */

static void test_derive(void **state)
{
	uint8_t domain[ES_DOMAIN_KEY_SIZE], h[ES_SHA256_DIGEST_SIZE], uuid[ES_UUID_SIZE];
	uint8_t a[ES_CHUNK_KEY_SIZE], b[ES_CHUNK_KEY_SIZE];

	(void)state;
	fill_prng(domain, sizeof(domain));
	fill_prng(h, sizeof(h));
	fill_prng(uuid, sizeof(uuid));
	/* the secret and the identifier of one chunk are unrelated values */
	assert_int_equal(es_derive_chunk_secret(domain, ES_SUITE_XTS_V1, 4096, h, a), 0);
	assert_int_equal(es_derive_chunk_id(domain, ES_SUITE_XTS_V1, 4096, h, b), 0);
	assert_int_not_equal(memcmp(a, b, 32), 0);
	/* the length is part of the input */
	assert_int_equal(es_derive_chunk_secret(domain, ES_SUITE_XTS_V1, 4095, h, b), 0);
	assert_int_not_equal(memcmp(a, b, 32), 0);
	/* a key from a secret, two different halves */
	assert_int_equal(es_derive_chunk_key(a, ES_SUITE_XTS_V1, b), 0);
	assert_int_not_equal(memcmp(b, b + 32, 32), 0);
	/* only the suite these derivations are defined for */
	assert_int_equal(es_derive_chunk_secret(domain, ES_SUITE_NONE, 4096, h, a), -EINVAL);
	assert_int_equal(es_derive_chunk_id(domain, 2, 4096, h, a), -EINVAL);
	assert_int_equal(es_derive_chunk_key(a, 2, b), -EINVAL);
	assert_int_equal(es_derive_chunk_secret(NULL, ES_SUITE_XTS_V1, 4096, h, a), -EINVAL);
	assert_int_equal(es_derive_domain_check(domain, NULL, a), -EINVAL);
	assert_int_equal(es_derive_kid(NULL, a), -EINVAL);
	assert_int_equal(es_derive_table_key(domain, uuid, 0, NULL), -EINVAL);
	/* the table key follows the generation */
	assert_int_equal(es_derive_table_key(domain, uuid, 0, a), 0);
	assert_int_equal(es_derive_table_key(domain, uuid, 1, b), 0);
	assert_int_not_equal(memcmp(a, b, ES_KT_KEY_SIZE), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_derive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
