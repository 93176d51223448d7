// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * SHA-256 of several equal-length messages at once with the x86 SHA
 * extensions (see include/erofs/sha256_mb.h), written for erofs-seal from
 * FIPS 180-4 and the instruction set reference.
 *
 * SHA256RNDS2 does two rounds but needs the result of the previous two
 * before it can start, so a single message runs at the instruction's
 * latency, not at its throughput.  The messages here are independent: the
 * rounds of LANES of them are issued side by side and their chains overlap.
 * Equal lengths mean every lane needs the same number of 64-byte blocks,
 * padding included, so the lanes never diverge.
 *
 * The functions that use the extensions carry their own target attribute:
 * the rest of the build needs no -msha, and they only run after the CPU
 * has been seen to have them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/backend.h"
#include "crypto/sha256_k.h"
#include "crypto/be.h"
#include "crypto/sha256_shani.h"
#include "erofs/sha256_mb.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define HAVE_SHANI 0
#endif

#define DIGEST_SIZE	ES_SHA256_DIGEST_SIZE
#define HASH_BLOCK	ES_SHA256_BLOCK_SIZE
/*
 * Messages hashed side by side.  Measured on a 2-vCPU AMD EPYC (Zen 5) with
 * 4 KiB blocks, MB/s per CPU second: 1 lane 1450 (OpenSSL's one stream is
 * about the same), 2 lanes 2150, 3 lanes 1970, 4 lanes 1710: beyond two,
 * the 16 XMM registers the SHA instructions can name no longer hold every
 * lane's state and schedule, and the spills cost more than the overlap
 * gains (computing each lane's schedule ahead into memory was slower still).
 */
#define LANES		2

#if HAVE_SHANI

bool es_sha256_mb_cpu_has_shani(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return false;
	if (!(ecx & bit_SSSE3) || !(ecx & bit_SSE4_1))
		return false;
	if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
		return false;
	return (ebx & bit_SHA) != 0;
}

#define SHANI_FN	__attribute__((target("sha,sse4.1")))
#define SHANI_INLINE	static inline __attribute__((always_inline, target("sha,sse4.1")))


/*
 * One message in flight.  SHA256RNDS2 wants the eight state words as two
 * vectors, (A, B, E, F) and (C, D, G, H) from the highest element down;
 * w[] holds the last 16 words of the message schedule, four per vector.
 */
struct lane {
	__m128i abef, cdgh;
	__m128i w[4];
};

SHANI_INLINE void lane_start(struct lane *l)
{
	l->abef = _mm_set_epi32(0x6a09e667, (int)0xbb67ae85, 0x510e527f, (int)0x9b05688c);
	l->cdgh = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
}

/*
 * Rounds 4g .. 4g+3 of one block.  The schedule words for group g >= 4
 * are W[t-16] + s0(W[t-15]) (SHA256MSG1) + W[t-7] (the middle of the two
 * previous groups) + s1(W[t-2]) (SHA256MSG2), into the slot of group g-4.
 */
SHANI_INLINE void lane_rounds4(struct lane *l, int g, const uint8_t *block)
{
	const __m128i bswap32 = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
					       0x0405060700010203LL);
	__m128i wk;

	if (g < 4) {
		l->w[g] = _mm_shuffle_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)(block + 16 * g)),
			bswap32);
	} else {
		__m128i t = _mm_sha256msg1_epu32(l->w[g & 3], l->w[(g + 1) & 3]);

		t = _mm_add_epi32(t, _mm_alignr_epi8(l->w[(g + 3) & 3],
						     l->w[(g + 2) & 3], 4));
		l->w[g & 3] = _mm_sha256msg2_epu32(t, l->w[(g + 3) & 3]);
	}
	wk = _mm_add_epi32(l->w[g & 3],
			   _mm_load_si128((const __m128i *)(const void *)
					  &es_sha256_k[4 * g]));
	/* each instruction makes the new (A,B,E,F); the old one is (C,D,G,H) */
	l->cdgh = _mm_sha256rnds2_epu32(l->cdgh, l->abef, wk);
	l->abef = _mm_sha256rnds2_epu32(l->abef, l->cdgh,
					_mm_shuffle_epi32(wk, 0x0e));
}

/* One 64-byte block of each of n lanes; n is a constant after inlining. */
SHANI_INLINE void compress_lanes(struct lane *l, const uint8_t *const *blocks,
				 int n)
{
	__m128i saved[LANES][2];
	int g, i;

	for (i = 0; i < n; i++) {
		saved[i][0] = l[i].abef;
		saved[i][1] = l[i].cdgh;
	}
#pragma GCC unroll 16
	for (g = 0; g < 16; g++) {
#pragma GCC unroll 4
		for (i = 0; i < n; i++)
			lane_rounds4(&l[i], g, blocks[i]);
	}
	for (i = 0; i < n; i++) {
		l[i].abef = _mm_add_epi32(l[i].abef, saved[i][0]);
		l[i].cdgh = _mm_add_epi32(l[i].cdgh, saved[i][1]);
	}
}

/* The digest is A..H big-endian: reverse the bytes of (D,C,B,A), (H,G,F,E). */
SHANI_INLINE void lane_digest(const struct lane *l, uint8_t *out)
{
	const __m128i reverse = _mm_set_epi64x(0x0001020304050607LL,
					       0x08090a0b0c0d0e0fLL);

	_mm_storeu_si128((__m128i *)(void *)out,
			 _mm_shuffle_epi8(_mm_unpackhi_epi64(l->cdgh, l->abef), reverse));
	_mm_storeu_si128((__m128i *)(void *)(out + 16),
			 _mm_shuffle_epi8(_mm_unpacklo_epi64(l->cdgh, l->abef), reverse));
}

/*
 * Hash n messages of len bytes: their whole blocks straight from the
 * caller's memory, then the last partial block and the padding (0x80,
 * zeros, the bit length) from a copy, one or two blocks, the same number
 * for every lane.
 */
SHANI_INLINE void hash_lanes(const uint8_t *const *msgs, size_t len,
			     uint8_t *const *outs, int n)
{
	struct lane l[LANES];
	uint8_t tail[LANES][2 * HASH_BLOCK];
	const uint8_t *p[LANES];
	size_t whole = len / HASH_BLOCK, rest = len % HASH_BLOCK;
	size_t tail_len = rest < HASH_BLOCK - 8 ? HASH_BLOCK : 2 * HASH_BLOCK;
	size_t b;
	int i;

	for (i = 0; i < n; i++) {
		lane_start(&l[i]);
		p[i] = msgs[i];
	}
	for (b = 0; b < whole; b++) {
		compress_lanes(l, p, n);
		for (i = 0; i < n; i++)
			p[i] += HASH_BLOCK;
	}
	for (i = 0; i < n; i++) {
		if (rest)
			memcpy(tail[i], p[i], rest);
		tail[i][rest] = 0x80;
		memset(tail[i] + rest + 1, 0, tail_len - 8 - rest - 1);
		es_store_be64(tail[i] + tail_len - 8, (uint64_t)len << 3);
		p[i] = tail[i];
	}
	for (b = 0; b < tail_len / HASH_BLOCK; b++) {
		compress_lanes(l, p, n);
		for (i = 0; i < n; i++)
			p[i] += HASH_BLOCK;
	}
	for (i = 0; i < n; i++)
		lane_digest(&l[i], outs[i]);
	/* the tail held message bytes, which may be secret plaintext */
	if (rest)
		es_crypto_wipe(tail, sizeof(tail));
}

static SHANI_FN void shani_hash_1(const uint8_t *const *msgs, size_t len,
				  uint8_t *const *outs)
{
	hash_lanes(msgs, len, outs, 1);
}

static SHANI_FN void shani_hash_2(const uint8_t *const *msgs, size_t len,
				  uint8_t *const *outs)
{
	/* the fs-verity block size gets code of its own, without the loops'
	   bounds to track */
	if (len == 4096)
		hash_lanes(msgs, 4096, outs, 2);
	else
		hash_lanes(msgs, len, outs, 2);
}

SHANI_FN void es_sha256_shani_compress(uint32_t state[8], const uint8_t *data, size_t n)
{
	struct lane l;

	l.abef = _mm_set_epi32((int)state[0], (int)state[1], (int)state[4], (int)state[5]);
	l.cdgh = _mm_set_epi32((int)state[2], (int)state[3], (int)state[6], (int)state[7]);
	for (size_t b = 0; b < n; b++, data += HASH_BLOCK)
		compress_lanes(&l, &data, 1);
	state[0] = (uint32_t)_mm_extract_epi32(l.abef, 3);
	state[1] = (uint32_t)_mm_extract_epi32(l.abef, 2);
	state[4] = (uint32_t)_mm_extract_epi32(l.abef, 1);
	state[5] = (uint32_t)_mm_extract_epi32(l.abef, 0);
	state[2] = (uint32_t)_mm_extract_epi32(l.cdgh, 3);
	state[3] = (uint32_t)_mm_extract_epi32(l.cdgh, 2);
	state[6] = (uint32_t)_mm_extract_epi32(l.cdgh, 1);
	state[7] = (uint32_t)_mm_extract_epi32(l.cdgh, 0);
}

#else /* !HAVE_SHANI */

/* never called: es_sha256_shani_usable() is false here */
void es_sha256_shani_compress(uint32_t state[8], const uint8_t *data, size_t n)
{
	(void)state, (void)data, (void)n;
}


bool es_sha256_mb_cpu_has_shani(void)
{
	return false;
}

/* never called: es_sha256_mb_init() does not choose SHA-NI here */
static void shani_hash_1(const uint8_t *const *msgs, size_t len,
			 uint8_t *const *outs)
{
	(void)msgs, (void)len, (void)outs;
}

static void shani_hash_2(const uint8_t *const *msgs, size_t len,
			 uint8_t *const *outs)
{
	(void)msgs, (void)len, (void)outs;
}

#endif /* HAVE_SHANI */

static bool masked_by_environment(void)
{
	const char *v = getenv("ES_SHA256_NO_SHANI");

	return v && *v && strcmp(v, "0") != 0;
}

bool es_sha256_shani_usable(void)
{
	return !masked_by_environment() && es_sha256_mb_cpu_has_shani();
}

int es_sha256_mb_init(struct es_sha256_mb *mb, unsigned int flags)
{
	memset(mb, 0, sizeof(*mb));
	mb->shani = !(flags & ES_SHA256_MB_NO_SHANI) && es_sha256_shani_usable();
	return es_sha256_init(&mb->seq);
}

void es_sha256_mb_release(struct es_sha256_mb *mb)
{
	es_sha256_release(&mb->seq);
}

const char *es_sha256_mb_impl(const struct es_sha256_mb *mb)
{
	return mb->shani ? "sha-ni x2" : "one by one";
}

/* n <= LANES messages of len bytes, digest i to outs[i] */
static int hash_group(struct es_sha256_mb *mb, const uint8_t *const *msgs,
		      size_t n, size_t len, uint8_t *const *outs)
{
	int ret = 0;

	if (mb->shani) {
		if (n == 2)
			shani_hash_2(msgs, len, outs);
		else
			shani_hash_1(msgs, len, outs);
		return 0;
	}
	for (size_t i = 0; !ret && i < n; i++) {
		es_sha256_update(&mb->seq, msgs[i], len);
		ret = es_sha256_final_reset(&mb->seq, outs[i]);
	}
	return ret;
}

int es_sha256_mb_x2(struct es_sha256_mb *mb, const void *a, const void *b,
		    size_t len, uint8_t out_a[DIGEST_SIZE],
		    uint8_t out_b[DIGEST_SIZE])
{
	const uint8_t *msgs[2] = { a, b };
	uint8_t *outs[2] = { out_a, out_b };

	return hash_group(mb, msgs, 2, len, outs);
}

/* message i at msgs ? msgs[i] : data + i * len */
static int hash_all(struct es_sha256_mb *mb, const void *const *msgs,
		    const uint8_t *data, size_t n, size_t len, uint8_t *digests)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i += LANES) {
		const uint8_t *group[LANES];
		uint8_t *outs[LANES];
		size_t k = n - i < LANES ? n - i : LANES;

		for (size_t j = 0; j < k; j++) {
			group[j] = msgs ? msgs[i + j] : data + (i + j) * len;
			outs[j] = digests + (i + j) * DIGEST_SIZE;
		}
		ret = hash_group(mb, group, k, len, outs);
	}
	return ret;
}

int es_sha256_mb_many(struct es_sha256_mb *mb, const void *const *msgs,
		      size_t n, size_t len, uint8_t *digests)
{
	return hash_all(mb, msgs, NULL, n, len, digests);
}

int es_sha256_mb_blocks(struct es_sha256_mb *mb, const void *data, size_t n,
			size_t len, uint8_t *digests)
{
	return hash_all(mb, NULL, data, n, len, digests);
}
