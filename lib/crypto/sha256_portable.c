// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * SHA-256 backend in plain C (FIPS 180-4), written for erofs-seal.
 *
 * No allocation and nothing from libc but memcpy/memset, so the file also
 * builds with -ffreestanding for the boot reader.  It never fails; the int
 * returns exist only to share the interface with the OpenSSL backend.
 * Link it with lib/crypto/portable.c (es_crypto_wipe).
 */
#include <string.h>
#include "crypto/backend.h"
#include "crypto/be.h"
#include "crypto/sha256_k.h"


static const uint32_t initial_state[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t rotate_right(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

/* Run the compression function over nblocks consecutive 64-byte blocks. */
static void compress_blocks(uint32_t state[8], const uint8_t *data,
			    size_t nblocks)
{
	uint32_t schedule[64];

	while (nblocks--) {
		uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
		uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
		unsigned int i;

		for (i = 0; i < 16; i++)
			schedule[i] = es_load_be32(data + 4 * i);
		for (; i < 64; i++) {
			uint32_t w15 = schedule[i - 15], w2 = schedule[i - 2];
			uint32_t s0 = rotate_right(w15, 7) ^
				      rotate_right(w15, 18) ^ (w15 >> 3);
			uint32_t s1 = rotate_right(w2, 17) ^
				      rotate_right(w2, 19) ^ (w2 >> 10);

			schedule[i] = schedule[i - 16] + s0 +
				      schedule[i - 7] + s1;
		}

		for (i = 0; i < 64; i++) {
			uint32_t sum1 = rotate_right(e, 6) ^
					rotate_right(e, 11) ^ rotate_right(e, 25);
			uint32_t choose = (e & f) ^ (~e & g);
			uint32_t t1 = h + sum1 + choose + es_sha256_k[i] +
				      schedule[i];
			uint32_t sum0 = rotate_right(a, 2) ^
					rotate_right(a, 13) ^ rotate_right(a, 22);
			uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
			uint32_t t2 = sum0 + majority;

			h = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}

		state[0] += a;
		state[1] += b;
		state[2] += c;
		state[3] += d;
		state[4] += e;
		state[5] += f;
		state[6] += g;
		state[7] += h;
		data += ES_SHA256_BLOCK_SIZE;
	}
}

static void start_message(struct es_sha256_ctx *ctx)
{
	memcpy(ctx->u.portable.state, initial_state, sizeof(initial_state));
	ctx->u.portable.total_len = 0;
	ctx->u.portable.buf_len = 0;
	ctx->error = 0;
}

int es_sha256_init(struct es_sha256_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	start_message(ctx);
	return 0;
}

void es_sha256_update(struct es_sha256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *bytes = data;
	uint8_t *buf = ctx->u.portable.buf;
	unsigned int buf_len = ctx->u.portable.buf_len;
	size_t whole_blocks;

	if (!len)
		return;
	ctx->u.portable.total_len += len;

	if (buf_len) {
		size_t take = ES_SHA256_BLOCK_SIZE - buf_len;

		if (take > len)
			take = len;
		memcpy(buf + buf_len, bytes, take);
		buf_len += (unsigned int)take;
		bytes += take;
		len -= take;
		if (buf_len < ES_SHA256_BLOCK_SIZE) {
			ctx->u.portable.buf_len = buf_len;
			return;
		}
		compress_blocks(ctx->u.portable.state, buf, 1);
		buf_len = 0;
	}

	whole_blocks = len / ES_SHA256_BLOCK_SIZE;
	if (whole_blocks) {
		compress_blocks(ctx->u.portable.state, bytes, whole_blocks);
		bytes += whole_blocks * ES_SHA256_BLOCK_SIZE;
		len -= whole_blocks * ES_SHA256_BLOCK_SIZE;
	}
	if (len)
		memcpy(buf, bytes, len);
	ctx->u.portable.buf_len = (unsigned int)len;
}

static void finish_message(struct es_sha256_ctx *ctx,
			   uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	uint8_t *buf = ctx->u.portable.buf;
	unsigned int buf_len = ctx->u.portable.buf_len;
	uint64_t bit_len = ctx->u.portable.total_len << 3;
	unsigned int i;

	/* 0x80, zeros, then the 64-bit big-endian bit length */
	buf[buf_len++] = 0x80;
	if (buf_len > ES_SHA256_BLOCK_SIZE - 8) {
		memset(buf + buf_len, 0, ES_SHA256_BLOCK_SIZE - buf_len);
		compress_blocks(ctx->u.portable.state, buf, 1);
		buf_len = 0;
	}
	memset(buf + buf_len, 0, ES_SHA256_BLOCK_SIZE - 8 - buf_len);
	es_store_be32(buf + ES_SHA256_BLOCK_SIZE - 8, (uint32_t)(bit_len >> 32));
	es_store_be32(buf + ES_SHA256_BLOCK_SIZE - 4, (uint32_t)bit_len);
	compress_blocks(ctx->u.portable.state, buf, 1);

	for (i = 0; i < 8; i++)
		es_store_be32(out + 4 * i, ctx->u.portable.state[i]);
}

int es_sha256_final_reset(struct es_sha256_ctx *ctx,
			  uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	finish_message(ctx, out);
	start_message(ctx);
	return 0;
}

int es_sha256_final(struct es_sha256_ctx *ctx,
		    uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	finish_message(ctx, out);
	es_sha256_release(ctx);
	return 0;
}

void es_sha256_release(struct es_sha256_ctx *ctx)
{
	/*
	 * Nothing is held, but the state and buffer derive from the message,
	 * which may be secret (a plaintext chunk): a plain memset() before
	 * the context goes out of scope could be dropped as a dead store.
	 */
	es_crypto_wipe(ctx, sizeof(*ctx));
}

int es_sha256(const void *data, size_t len, uint8_t out[ES_SHA256_DIGEST_SIZE])
{
	struct es_sha256_ctx ctx;

	es_sha256_init(&ctx);
	es_sha256_update(&ctx, data, len);
	return es_sha256_final(&ctx, out);
}
