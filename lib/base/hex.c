// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/* Lowercase hex of digests: blob names, device-table tags, messages. */
#include "erofs/hex.h"

void es_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool es_unhex(const char *in, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo = hi < 0 ? -1 : hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * len] == '\0';
}
