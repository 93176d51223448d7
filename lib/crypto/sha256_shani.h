/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The SHA-256 compression function alone, on the SHA-NI instructions
 * (lib/crypto/sha256_mb.c), for code that keeps its own chaining state:
 * HMAC under one key many times starts from the key's precomputed inner
 * and outer states and saves two of its five compressions, and OpenSSL's
 * EVP calls, which cost more than the hashing for messages this short.
 */
#ifndef EROFS_CRYPTO_SHA256_SHANI_H
#define EROFS_CRYPTO_SHA256_SHANI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CPU has the instructions and ES_SHA256_NO_SHANI does not mask them. */
bool es_sha256_shani_usable(void);

/*
 * state[0..8) = A..H; n 64-byte blocks of data.  Call only when
 * es_sha256_shani_usable() said so.
 */
void es_sha256_shani_compress(uint32_t state[8], const uint8_t *data, size_t n);

#endif
