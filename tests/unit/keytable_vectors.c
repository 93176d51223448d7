// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The test vectors of docs/FORMAT.md section 3.4, computed by libcore from
 * the inputs that section states (the same formulas as the oracle's
 * vector_inputs(), written again here).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/hex.h"
#include "erofs/keytable.h"
#include "keytable_vectors.h"

#define P_LEN		5000
#define ENTRIES		130
#define CHUNK_UNITS	((P_LEN + ES_CRYPTO_XTS_UNIT_SIZE - 1) / ES_CRYPTO_XTS_UNIT_SIZE)

struct inputs {
	uint8_t domain[ES_DOMAIN_KEY_SIZE];
	uint8_t p[P_LEN];
	uint8_t uuid[ES_UUID_SIZE];
	uint8_t tk[ES_TABLE_KEY_SIZE];
	uint32_t gen;
	uint8_t m[ES_META_KEY_SIZE];
	uint64_t meta_block;
	uint8_t b[ES_CRYPTO_XTS_UNIT_SIZE];
	uint8_t table[ENTRIES * ES_KT_ENTRY_SIZE];
};

struct out {
	char *buf;
	size_t size, len;
};

static void put_line(struct out *o, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void put_line(struct out *o, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->size)
		return;
	n = snprintf(o->buf + o->len, o->size - o->len, "%s = ", name);
	if (n > 0)
		o->len += (size_t)n;
	if (o->len >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
	if (o->len < o->size) {
		n = snprintf(o->buf + o->len, o->size - o->len, "\n");
		o->len += (size_t)n;
	}
}

static void put_hex(struct out *o, const char *name, const uint8_t *bytes, size_t len)
{
	char hex[2 * 128 + 1];

	if (len > 128)
		len = 128;
	es_hex(bytes, len, hex);
	put_line(o, name, "%s", hex);
}

static int put_sha256(struct out *o, const char *name, const void *data, size_t len)
{
	uint8_t d[ES_SHA256_DIGEST_SIZE];
	int ret = es_sha256(data, len, d);

	if (!ret)
		put_hex(o, name, d, sizeof(d));
	return ret;
}

static int make_inputs(struct inputs *v)
{
	uint8_t secret[ES_CHUNK_SECRET_SIZE];
	unsigned int i, c, j;
	int ret;

	for (i = 0; i < sizeof(v->domain); i++)
		v->domain[i] = (uint8_t)i;
	for (i = 0; i < P_LEN; i++)
		v->p[i] = (uint8_t)((7 * i + 3) % 256);
	for (i = 0; i < ES_UUID_SIZE; i++)
		v->uuid[i] = (uint8_t)((0xf0 + 256 - 15 * i) % 256);
	for (i = 0; i < ES_TABLE_KEY_SIZE; i++)
		v->tk[i] = (uint8_t)(0x40 + i);
	v->gen = 3;
	for (i = 0; i < ES_META_KEY_SIZE; i++)
		v->m[i] = (uint8_t)(0x80 + i);
	v->meta_block = 0x12345;
	for (i = 0; i < sizeof(v->b); i++)
		v->b[i] = (uint8_t)((5 * i + 1) % 256);
	memcpy(v->table, v->m, ES_META_KEY_SIZE);
	for (c = 0; c + 1 < ENTRIES; c++) {
		for (j = 0; j < ES_CHUNK_SECRET_SIZE; j++)
			secret[j] = (uint8_t)((c + 7 * j) % 256);
		ret = es_keytable_put_secret(v->table + (c + 1) * ES_KT_ENTRY_SIZE,
					     secret, c / 64, 100 + 3 * c);
		if (ret)
			return ret;
	}
	return 0;
}

/* XTS of len bytes (whole units), unit i under tweak u128le(first + i). */
static int xts_encrypt(const uint8_t key[ES_CRYPTO_XTS_KEY_SIZE], uint64_t first,
		       const uint8_t *in, uint8_t *out, size_t len)
{
	uint8_t tweak[ES_CRYPTO_XTS_TWEAK_SIZE];
	struct es_crypto_xts x;
	int ret = es_crypto_xts_init(&x, ES_CRYPTO_ENCRYPT);

	if (ret)
		return ret;
	ret = es_crypto_xts_setkey(&x, key);
	for (size_t off = 0; !ret && off < len; off += ES_CRYPTO_XTS_UNIT_SIZE) {
		es_crypto_xts_tweak(first + off / ES_CRYPTO_XTS_UNIT_SIZE, tweak);
		ret = es_crypto_xts_crypt(&x, tweak, in + off, out + off,
					  ES_CRYPTO_XTS_UNIT_SIZE);
	}
	es_crypto_xts_release(&x);
	return ret;
}

#define TRY(what, call)							\
	do {								\
		ret = (call);						\
		if (ret) {						\
			snprintf(buf, size, "%s: error %d\n", (what), ret); \
			goto out;					\
		}							\
	} while (0)

int kt_vectors_compute(char *buf, size_t size)
{
	struct inputs *v = calloc(1, sizeof(*v));
	uint8_t *padded = calloc(CHUNK_UNITS, ES_CRYPTO_XTS_UNIT_SIZE);
	uint8_t *chunk_ct = calloc(CHUNK_UNITS, ES_CRYPTO_XTS_UNIT_SIZE);
	uint8_t *ct = malloc(es_keytable_ct_size(ENTRIES));
	uint8_t *back = malloc(sizeof(v->table));
	uint8_t h[ES_SHA256_DIGEST_SIZE], s[ES_CHUNK_SECRET_SIZE];
	uint8_t key[ES_CHUNK_KEY_SIZE], d[ES_SHA256_DIGEST_SIZE];
	uint8_t meta_ct[ES_CRYPTO_XTS_UNIT_SIZE], ktbl[ES_KT_KEY_SIZE];
	uint8_t digests[3 * ES_SHA256_DIGEST_SIZE], tdigest[ES_SHA256_DIGEST_SIZE];
	struct es_keytable_info info = { .suite = ES_SUITE_XTS_V1, .entries = ENTRIES };
	struct out o = { .buf = buf, .size = size };
	struct es_err err = { 0 };
	char name[16];
	size_t off;
	int ret;

	if (!size)
		return -EINVAL;
	buf[0] = 0;
	if (!v || !padded || !chunk_ct || !ct || !back) {
		snprintf(buf, size, "out of memory\n");
		ret = -ENOMEM;
		goto out;
	}
	TRY("inputs", make_inputs(v));
	put_hex(&o, "K_domain", v->domain, sizeof(v->domain));
	put_line(&o, "suite", "%u", ES_SUITE_XTS_V1);
	put_line(&o, "P_len", "%u", P_LEN);
	put_hex(&o, "uuid", v->uuid, sizeof(v->uuid));
	put_hex(&o, "TK", v->tk, sizeof(v->tk));
	put_line(&o, "gen", "%" PRIu32, v->gen);
	put_hex(&o, "M", v->m, sizeof(v->m));
	put_line(&o, "meta_block", "%" PRIu64, v->meta_block);
	put_line(&o, "entries", "%u", ENTRIES);

	/* ENCRYPTION.md section 1 */
	TRY("SHA-256(P)", es_sha256(v->p, P_LEN, h));
	put_hex(&o, "P_sha256", h, sizeof(h));
	TRY("chunk secret", es_derive_chunk_secret(v->domain, ES_SUITE_XTS_V1, P_LEN, h, s));
	put_hex(&o, "chunk_secret", s, sizeof(s));
	TRY("chunk key", es_derive_chunk_key(s, ES_SUITE_XTS_V1, key));
	put_hex(&o, "chunk_key", key, sizeof(key));
	TRY("chunk id", es_derive_chunk_id(v->domain, ES_SUITE_XTS_V1, P_LEN, h, d));
	put_hex(&o, "chunk_id", d, sizeof(d));
	memcpy(padded, v->p, P_LEN);
	TRY("chunk encryption", xts_encrypt(key, 0, padded, chunk_ct,
					    CHUNK_UNITS * ES_CRYPTO_XTS_UNIT_SIZE));
	TRY("SHA-256", put_sha256(&o, "chunk_ct_sha256", chunk_ct,
				  CHUNK_UNITS * ES_CRYPTO_XTS_UNIT_SIZE));
	put_hex(&o, "chunk_ct_unit1_head", chunk_ct + ES_CRYPTO_XTS_UNIT_SIZE, 16);
	TRY("domain check", es_derive_domain_check(v->domain, v->uuid, d));
	put_hex(&o, "domain_check", d, sizeof(d));
	TRY("metadata block encryption", xts_encrypt(v->m, v->meta_block, v->b,
						     meta_ct, sizeof(meta_ct)));
	TRY("SHA-256", put_sha256(&o, "meta_ct_sha256", meta_ct, sizeof(meta_ct)));
	put_hex(&o, "meta_ct_head", meta_ct, 16);
	TRY("kid", es_derive_kid(v->tk, d));
	put_hex(&o, "kid", d, sizeof(d));
	TRY("table key", es_derive_table_key(v->tk, v->uuid, v->gen, ktbl));
	put_hex(&o, "K_tbl", ktbl, sizeof(ktbl));

	/* ENCRYPTION.md section 2 */
	memcpy(info.uuid, v->uuid, sizeof(info.uuid));
	info.gen = v->gen;
	TRY("SHA-256", put_sha256(&o, "table_pt_sha256", v->table, sizeof(v->table)));
	put_hex(&o, "entry_1", v->table + ES_KT_ENTRY_SIZE, ES_KT_ENTRY_SIZE);
	put_hex(&o, "entry_129", v->table + 129 * ES_KT_ENTRY_SIZE, ES_KT_ENTRY_SIZE);
	put_line(&o, "nseg", "%" PRIu64, es_keytable_nseg(ENTRIES));
	put_line(&o, "ct_size", "%" PRIu64, es_keytable_ct_size(ENTRIES));
	if (es_keytable_nseg(ENTRIES) != 3) {
		snprintf(buf, size, "the vector table does not have 3 segments\n");
		ret = -EINVAL;
		goto out;
	}
	TRY("table digests", es_keytable_digests(&info, v->table, digests, tdigest));
	for (unsigned int k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "D_%u", k);
		put_hex(&o, name, digests + k * ES_SHA256_DIGEST_SIZE, ES_SHA256_DIGEST_SIZE);
	}
	put_hex(&o, "table_digest", tdigest, sizeof(tdigest));
	TRY(err.msg, es_keytable_encrypt(&info, v->tk, v->table, ct, &err));
	TRY(err.msg, es_keytable_decrypt(&info, v->tk, ct, digests, back, &err));
	if (memcmp(back, v->table, sizeof(v->table))) {
		snprintf(buf, size, "the table does not decrypt to itself\n");
		ret = -EBADMSG;
		goto out;
	}
	off = 0;
	for (unsigned int k = 0; k < 3; k++) {
		off += es_keytable_seg_len(ENTRIES, k);
		snprintf(name, sizeof(name), "tag_%u", k);
		put_hex(&o, name, ct + off, ES_KT_TAG_SIZE);
		off += ES_KT_TAG_SIZE;
	}
	TRY("SHA-256", put_sha256(&o, "table_ct_sha256", ct, es_keytable_ct_size(ENTRIES)));
	if (o.len >= o.size) {
		snprintf(buf, size, "the vectors do not fit in %zu bytes\n", size);
		ret = -ENOSPC;
	}
out:
	free(v);
	free(padded);
	free(chunk_ct);
	free(ct);
	free(back);
	return ret;
}
