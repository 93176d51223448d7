/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Big-endian loads and stores for the portable hashes and GHASH, whose
 * specifications (FIPS 180-4, SP 800-38D) define their words big-endian;
 * the on-disk structures are little-endian (erofs/format.h).
 */
#ifndef EROFS_CRYPTO_BE_H
#define EROFS_CRYPTO_BE_H

#include <stdint.h>

static inline uint32_t es_load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void es_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint64_t es_load_be64(const uint8_t *p)
{
	return (uint64_t)es_load_be32(p) << 32 | es_load_be32(p + 4);
}

static inline void es_store_be64(uint8_t *p, uint64_t v)
{
	es_store_be32(p, (uint32_t)(v >> 32));
	es_store_be32(p + 4, (uint32_t)v);
}

#endif
