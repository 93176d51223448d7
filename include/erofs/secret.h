/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Memory for secrets (table keys, passphrases, key files, plaintext key
 * tables): whole pages of their own, kept out of swap with mlock() and out
 * of core dumps with MADV_DONTDUMP where the system allows it (both are
 * best effort: RLIMIT_MEMLOCK may be small), zero-filled, and wiped before
 * they are unmapped.  Hosted only.
 */
#ifndef EROFS_SECRET_H
#define EROFS_SECRET_H

#include <stddef.h>

/* len > 0 bytes of zeroed secret memory, or NULL (out of memory). */
void *es_secret_alloc(size_t len);
/* Wipe and release what es_secret_alloc(len) returned (NULL is fine). */
void es_secret_free(void *p, size_t len);

#endif
