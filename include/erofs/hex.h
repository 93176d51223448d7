/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/* Lowercase hex, as blob names and device-table tags spell digests. */
#ifndef EROFS_HEX_H
#define EROFS_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of len bytes into out, which has room for 2 * len + 1. */
void es_hex(const uint8_t *in, size_t len, char *out);
/* Exactly 2 * len lowercase hex digits, NUL-terminated, into len bytes. */
bool es_unhex(const char *in, uint8_t *out, size_t len);

#endif
