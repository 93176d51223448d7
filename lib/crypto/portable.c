// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The parts of the crypto backend that the freestanding boot build needs
 * and OpenSSL would otherwise provide: wiping and constant-time
 * comparison.  No libc at all.  Hosted builds link lib/crypto/openssl.c
 * instead, never both.  See lib/crypto/backend.h.
 */
#include "crypto/backend.h"

void es_crypto_wipe(void *p, size_t len)
{
	/*
	 * Stores through a volatile pointer are observable behaviour, so the
	 * compiler must keep them even right before the memory is freed or
	 * goes out of scope; the empty asm tells it the memory is read.
	 */
	volatile uint8_t *v = p;

	while (len--)
		*v++ = 0;
#if defined(__GNUC__) || defined(__clang__)
	__asm__ __volatile__("" : : "r"(p) : "memory");
#endif
}

int es_crypto_memcmp(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;

	/* no early exit: the time depends on len only */
	while (len--)
		diff |= *x++ ^ *y++;
	return diff != 0;
}
