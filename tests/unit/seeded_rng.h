/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The unit tests' random inputs: xorshift64* from a fixed seed per test
 * file, so that every run on every machine sees the same bytes.
 */
#ifndef ES_TESTS_SEEDED_RNG_H
#define ES_TESTS_SEEDED_RNG_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t seeded_rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

/* the top byte of each draw */
static inline void seeded_fill(uint64_t *state, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seeded_rng(state) >> 56);
}

#endif
