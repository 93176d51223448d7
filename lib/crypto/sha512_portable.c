// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * SHA-512 in plain C (FIPS 180-4), written for erofs-seal's portable
 * backend: HMAC-SHA512/HKDF for the key derivations and the hash inside
 * Ed25519.  Nothing from libc but memcpy/memset; builds freestanding.
 * Rolled loops: the boot reader hashes little with it (keys, a manifest
 * signature), so small code beats speed here.
 */
#include <string.h>
#include "crypto/backend.h"
#include "crypto/be.h"
#include "crypto/sha512.h"

/* the first 64 bits of the fractional parts of the cube roots of the first 80 primes */
static const uint64_t round_constants[80] = {
	0x428a2f98d728ae22ull, 0x7137449123ef65cdull,
	0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
	0x3956c25bf348b538ull, 0x59f111f1b605d019ull,
	0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
	0xd807aa98a3030242ull, 0x12835b0145706fbeull,
	0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
	0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull,
	0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
	0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull,
	0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
	0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull,
	0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
	0x983e5152ee66dfabull, 0xa831c66d2db43210ull,
	0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
	0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull,
	0x06ca6351e003826full, 0x142929670a0e6e70ull,
	0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull,
	0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
	0x650a73548baf63deull, 0x766a0abb3c77b2a8ull,
	0x81c2c92e47edaee6ull, 0x92722c851482353bull,
	0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull,
	0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
	0xd192e819d6ef5218ull, 0xd69906245565a910ull,
	0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
	0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull,
	0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
	0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull,
	0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
	0x748f82ee5defb2fcull, 0x78a5636f43172f60ull,
	0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
	0x90befffa23631e28ull, 0xa4506cebde82bde9ull,
	0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
	0xca273eceea26619cull, 0xd186b8c721c0c207ull,
	0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
	0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull,
	0x113f9804bef90daeull, 0x1b710b35131c471bull,
	0x28db77f523047d84ull, 0x32caab7b40c72493ull,
	0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
	0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull,
	0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};

static const uint64_t initial_state[8] = {
	0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull,
	0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
	0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
	0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

static inline uint64_t rotate_right(uint64_t x, unsigned int n)
{
	return (x >> n) | (x << (64 - n));
}

static void compress_block(uint64_t state[8], const uint8_t *data)
{
	uint64_t w[16], s[8];
	unsigned int i;

	/* a 16-word window over the message schedule instead of 80 words */
	for (i = 0; i < 16; i++)
		w[i] = es_load_be64(data + 8 * i);
	memcpy(s, state, sizeof(s));
	for (i = 0; i < 80; i++) {
		uint64_t e = s[4], a = s[0], t1, t2;

		if (i >= 16) {
			uint64_t w15 = w[(i + 1) & 15], w2 = w[(i + 14) & 15];

			w[i & 15] += (rotate_right(w15, 1) ^ rotate_right(w15, 8) ^ (w15 >> 7)) +
				     w[(i + 9) & 15] +
				     (rotate_right(w2, 19) ^ rotate_right(w2, 61) ^ (w2 >> 6));
		}
		t1 = s[7] + (rotate_right(e, 14) ^ rotate_right(e, 18) ^ rotate_right(e, 41)) +
		     ((e & s[5]) ^ (~e & s[6])) + round_constants[i] + w[i & 15];
		t2 = (rotate_right(a, 28) ^ rotate_right(a, 34) ^ rotate_right(a, 39)) +
		     ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
		for (unsigned int j = 7; j; j--)
			s[j] = s[j - 1];
		s[4] += t1;
		s[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		state[i] += s[i];
	es_crypto_wipe(w, sizeof(w));
	es_crypto_wipe(s, sizeof(s));
}

void es_sha512_init(struct es_sha512_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	memcpy(ctx->state, initial_state, sizeof(initial_state));
}

void es_sha512_update(struct es_sha512_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *bytes = data;

	ctx->total_len += len;
	while (len) {
		size_t take = ES_SHA512_BLOCK_SIZE - ctx->buf_len;

		if (!ctx->buf_len && len >= ES_SHA512_BLOCK_SIZE) {
			/* whole blocks straight from the input */
			compress_block(ctx->state, bytes);
			take = ES_SHA512_BLOCK_SIZE;
		} else {
			if (take > len)
				take = len;
			memcpy(ctx->buf + ctx->buf_len, bytes, take);
			ctx->buf_len += (unsigned int)take;
			if (ctx->buf_len == ES_SHA512_BLOCK_SIZE) {
				compress_block(ctx->state, ctx->buf);
				ctx->buf_len = 0;
			}
		}
		bytes += take;
		len -= take;
	}
}

void es_sha512_final(struct es_sha512_ctx *ctx, uint8_t out[ES_SHA512_DIGEST_SIZE])
{
	uint8_t *buf = ctx->buf;
	unsigned int n = ctx->buf_len;

	/* 0x80, zeros, then the 128-bit big-endian bit length */
	buf[n++] = 0x80;
	if (n > ES_SHA512_BLOCK_SIZE - 16) {
		memset(buf + n, 0, ES_SHA512_BLOCK_SIZE - n);
		compress_block(ctx->state, buf);
		n = 0;
	}
	memset(buf + n, 0, ES_SHA512_BLOCK_SIZE - 16 - n);
	es_store_be64(buf + ES_SHA512_BLOCK_SIZE - 16, ctx->total_len >> 61);
	es_store_be64(buf + ES_SHA512_BLOCK_SIZE - 8, ctx->total_len << 3);
	compress_block(ctx->state, buf);
	for (int i = 0; i < 8; i++)
		es_store_be64(out + 8 * i, ctx->state[i]);
	es_crypto_wipe(ctx, sizeof(*ctx));
}
