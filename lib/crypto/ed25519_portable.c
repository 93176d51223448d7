// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Ed25519 signature verification (RFC 8032, pure Ed25519) in plain C for
 * the freestanding boot build: es_crypto_ed25519_verify of
 * lib/crypto/backend.h.  Hosted builds verify through OpenSSL
 * (lib/crypto/openssl.c) and never link this.
 *
 * Everything here is public (key, message, signature), so the code is
 * variable-time and written for size: field elements are 16 signed limbs of
 * 16 bits (products fit an int64_t without 128-bit arithmetic, so 32-bit
 * targets work too), one complete addition formula serves for doubling,
 * the base point is decoded from its encoding, and the hash is reduced
 * mod L by plain binary long division.  A verification costs about 4500
 * field multiplications.
 *
 * Acceptance is OpenSSL's, input for input: S must be below L (else
 * -EINVAL, as a malformed signature); R is compared as an encoding, so
 * only its canonical form can match; the public key decodes as OpenSSL
 * decodes it (y reduced mod p, a sign bit on x = 0 ignored) and is refused
 * with -EINVAL only when it is not a curve point.  RFC 8032 would also
 * refuse the non-canonical key encodings; doing so here would let the
 * boot reader refuse an image that the hosted verifier accepts, and public
 * keys are trust anchors, not attacker input.
 */
#include <errno.h>
#include <string.h>
#include "crypto/backend.h"
#include "crypto/sha512.h"

/* An element of GF(2^255 - 19): value = sum of limb[i] * 2^(16 i). */
typedef int64_t fe[16];

/* Extended coordinates: x = X/Z, y = Y/Z, xy = T/Z. */
struct point {
	fe x, y, z, t;
};

static const fe curve_d2 = {	/* 2d, d = -121665/121666 */
	0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0,
	0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406,
};
static const fe curve_d = {
	0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070,
	0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203,
};
static const fe sqrt_minus_1 = {	/* 2^((p-1)/4) */
	0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43,
	0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83,
};
/* the base point B: y = 4/5, x even */
static const uint8_t base_encoding[32] = {
	0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
};
/* L = 2^252 + 27742317777372353535851937790883648493, 32-bit words */
static const uint32_t group_order[8] = {
	0x5cf5d3ed, 0x5812631a, 0xa2f79cd6, 0x14def9de, 0, 0, 0, 0x10000000,
};

static void fe_copy(fe o, const fe a)
{
	memcpy(o, a, sizeof(fe));
}

static void fe_set(fe o, int64_t v)
{
	memset(o, 0, sizeof(fe));
	o[0] = v;
}

static void fe_add(fe o, const fe a, const fe b)
{
	for (int i = 0; i < 16; i++)
		o[i] = a[i] + b[i];
}

static void fe_sub(fe o, const fe a, const fe b)
{
	for (int i = 0; i < 16; i++)
		o[i] = a[i] - b[i];
}

/*
 * Bring every limb back to [0, 2^16), the carry out of the top folded in
 * as 38 (2^256 = 38 mod p).  >> on a negative int64_t is an arithmetic
 * shift on every compiler that builds this (GCC, Clang).
 */
static void fe_carry(fe o)
{
	for (int i = 0; i < 16; i++) {
		int64_t c = o[i] >> 16;

		o[i] -= c * 65536;
		if (i < 15)
			o[i + 1] += c;
		else
			o[0] += 38 * c;
	}
}

static void fe_mul(fe o, const fe a, const fe b)
{
	int64_t t[31];

	memset(t, 0, sizeof(t));
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			t[i + j] += a[i] * b[j];
	for (int i = 0; i < 15; i++)
		t[i] += 38 * t[i + 16];
	memcpy(o, t, sizeof(fe));
	fe_carry(o);
	fe_carry(o);
}

/* o = a^e for the exponents below: bits top..0 all set but those in skip. */
static void fe_pow(fe o, const fe a, int top, uint32_t skip)
{
	fe c;

	fe_copy(c, a);
	for (int i = top; i >= 0; i--) {
		fe_mul(c, c, c);
		if (i >= 32 || !(skip >> i & 1))
			fe_mul(c, c, a);
	}
	fe_copy(o, c);
}

/* a^(p-2) = 1/a; p - 2 = 2^255 - 21: bit 254 and 253..0 but 4 and 2 */
static void fe_invert(fe o, const fe a)
{
	fe_pow(o, a, 253, 1u << 4 | 1u << 2);
}

/* a^((p-5)/8); (p-5)/8 = 2^252 - 3: bits 251..0 but 1 */
static void fe_pow_p58(fe o, const fe a)
{
	fe_pow(o, a, 250, 1u << 1);
}

/* The canonical little-endian encoding, fully reduced mod p. */
static void fe_pack(uint8_t out[32], const fe a)
{
	fe t, m;

	fe_copy(t, a);
	fe_carry(t);
	fe_carry(t);
	fe_carry(t);
	/* now 0 <= t < 2^256 < 2p + 38: subtract p at most twice */
	for (int round = 0; round < 2; round++) {
		int64_t borrow;

		m[0] = t[0] - 0xffed;
		for (int i = 1; i < 16; i++) {
			m[i] = t[i] - (i == 15 ? 0x7fff : 0xffff) - (m[i - 1] >> 16 & 1);
			m[i - 1] &= 0xffff;
		}
		borrow = m[15] >> 16 & 1;
		m[15] &= 0xffff;
		if (!borrow)
			fe_copy(t, m);
	}
	for (int i = 0; i < 16; i++) {
		out[2 * i] = (uint8_t)t[i];
		out[2 * i + 1] = (uint8_t)(t[i] >> 8);
	}
}

/* The low 255 bits: values from p up are taken mod p, as OpenSSL does. */
static void fe_unpack(fe o, const uint8_t in[32])
{
	for (int i = 0; i < 16; i++)
		o[i] = in[2 * i] | (int64_t)in[2 * i + 1] << 8;
	o[15] &= 0x7fff;
}

static bool fe_equal(const fe a, const fe b)
{
	uint8_t x[32], y[32];

	fe_pack(x, a);
	fe_pack(y, b);
	return !memcmp(x, y, 32);
}

/* The "sign" of x: the low bit of its canonical encoding. */
static int fe_parity(const fe a)
{
	uint8_t x[32];

	fe_pack(x, a);
	return x[0] & 1;
}

/*
 * p += q, with the unified formula of Hisil, Wong, Carter and Dawson for
 * a = -1 (complete on this curve: it doubles too).
 */
static void point_add(struct point *p, const struct point *q)
{
	fe a, b, c, d, t;

	fe_sub(a, p->y, p->x);
	fe_sub(t, q->y, q->x);
	fe_mul(a, a, t);		/* (Y1 - X1)(Y2 - X2) */
	fe_add(b, p->x, p->y);
	fe_add(t, q->x, q->y);
	fe_mul(b, b, t);		/* (Y1 + X1)(Y2 + X2) */
	fe_mul(c, p->t, q->t);
	fe_mul(c, c, curve_d2);		/* 2d T1 T2 */
	fe_mul(d, p->z, q->z);
	fe_add(d, d, d);		/* 2 Z1 Z2 */
	fe_sub(t, b, a);		/* E */
	fe_add(b, b, a);		/* H */
	fe_sub(a, d, c);		/* F */
	fe_add(d, d, c);		/* G */
	fe_mul(p->x, t, a);
	fe_mul(p->y, d, b);
	fe_mul(p->z, a, d);
	fe_mul(p->t, t, b);
}

/*
 * Decode a point: y from the low 255 bits, x = sqrt((y^2 - 1)/(d y^2 + 1))
 * with the parity of the top bit.  -EINVAL when there is no such x.
 */
static int point_decode(struct point *p, const uint8_t in[32])
{
	fe u, v, w, check;

	fe_unpack(p->y, in);
	fe_set(p->z, 1);
	fe_mul(u, p->y, p->y);
	fe_mul(v, u, curve_d);
	fe_sub(u, u, p->z);		/* u = y^2 - 1 */
	fe_add(v, v, p->z);		/* v = d y^2 + 1 */
	/* x = u v^3 (u v^7)^((p-5)/8) is a square root of u/v if there is one */
	fe_mul(w, v, v);
	fe_mul(w, w, v);		/* v^3 */
	fe_mul(p->x, w, w);
	fe_mul(p->x, p->x, v);
	fe_mul(p->x, p->x, u);		/* u v^7 */
	fe_pow_p58(p->x, p->x);
	fe_mul(p->x, p->x, w);
	fe_mul(p->x, p->x, u);
	fe_mul(check, p->x, p->x);
	fe_mul(check, check, v);	/* v x^2: u, or -u if x needs sqrt(-1) */
	if (!fe_equal(check, u)) {
		fe_set(w, 0);
		fe_sub(u, w, u);
		if (!fe_equal(check, u))
			return -EINVAL;
		fe_mul(p->x, p->x, sqrt_minus_1);
	}
	if (fe_parity(p->x) != in[31] >> 7) {
		fe_set(w, 0);
		fe_sub(p->x, w, p->x);
	}
	fe_mul(p->t, p->x, p->y);
	return 0;
}

static void point_encode(uint8_t out[32], const struct point *p)
{
	fe zi, x, y;

	fe_invert(zi, p->z);
	fe_mul(x, p->x, zi);
	fe_mul(y, p->y, zi);
	fe_pack(out, y);
	out[31] ^= (uint8_t)(fe_parity(x) << 7);
}

/* The 512-bit little-endian h mod L, by binary long division. */
static void reduce_mod_order(uint32_t r[8], const uint8_t h[64])
{
	memset(r, 0, 8 * sizeof(r[0]));
	for (int bit = 511; bit >= 0; bit--) {
		bool less = false;
		uint32_t borrow = 0;
		int i;

		/* r < L < 2^253, so 2r + 1 still fits in 256 bits */
		for (i = 7; i > 0; i--)
			r[i] = r[i] << 1 | r[i - 1] >> 31;
		r[0] = r[0] << 1 | (h[bit / 8] >> (bit % 8) & 1);
		for (i = 7; i >= 0 && r[i] == group_order[i]; i--)
			;
		less = i >= 0 && r[i] < group_order[i];
		if (less)
			continue;
		for (i = 0; i < 8; i++) {
			uint64_t d = (uint64_t)r[i] - group_order[i] - borrow;

			r[i] = (uint32_t)d;
			borrow = (uint32_t)(d >> 63);
		}
	}
}

int es_crypto_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
			     const uint8_t sig[64])
{
	struct point neg_a, sum, table[3];
	struct es_sha512_ctx hash;
	uint8_t h[ES_SHA512_DIGEST_SIZE], check[32], s_bytes[32];
	uint32_t k[8];
	fe zero;
	int ret;

	if (!pub || !sig || (!msg && len))
		return -EINVAL;
	if (!es_crypto_ed25519_scalar_reduced(sig + 32))
		return -EINVAL;
	ret = point_decode(&neg_a, pub);
	if (ret)
		return ret;
	fe_set(zero, 0);
	fe_sub(neg_a.x, zero, neg_a.x);
	fe_sub(neg_a.t, zero, neg_a.t);

	/* k = SHA-512(R | A | M) mod L */
	es_sha512_init(&hash);
	es_sha512_update(&hash, sig, 32);
	es_sha512_update(&hash, pub, 32);
	es_sha512_update(&hash, msg, len);
	es_sha512_final(&hash, h);
	reduce_mod_order(k, h);

	/* [S]B - [k]A, both scalars at once (Straus): B, -A, B - A */
	if (point_decode(&table[0], base_encoding))
		return -EIO;		/* cannot happen: B is on the curve */
	table[1] = neg_a;
	table[2] = table[0];
	point_add(&table[2], &neg_a);
	memcpy(s_bytes, sig + 32, 32);
	fe_set(sum.x, 0);
	fe_set(sum.y, 1);
	fe_set(sum.z, 1);
	fe_set(sum.t, 0);
	for (int bit = 252; bit >= 0; bit--) {
		unsigned int pick = (unsigned int)(s_bytes[bit / 8] >> (bit % 8) & 1) |
				    (unsigned int)(k[bit / 32] >> (bit % 32) & 1) << 1;

		point_add(&sum, &sum);
		if (pick)
			point_add(&sum, &table[pick - 1]);
	}
	point_encode(check, &sum);
	return es_crypto_memcmp(check, sig, 32) ? -EBADMSG : 0;
}
