/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The boot build's <string.h>: the only C library functions the reader
 * calls.  The environment that links the boot archive provides them (a
 * boot loader has its own; boot-extract takes the host C library's).
 */
#ifndef EROFS_BOOT_STRING_H
#define EROFS_BOOT_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
