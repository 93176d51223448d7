// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * LD_PRELOAD shim for tests: when a program opens a file whose name is
 * $VANISH_NAME (relative to a directory fd), the file is unlinked just
 * before the real openat() runs, so it vanishes between the directory scan
 * and the open, exactly the race a real tree can have.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*openat_fn)(int, const char *, int, ...);

int openat(int dirfd, const char *path, int flags, ...)
{
	static openat_fn real;
	const char *victim = getenv("VANISH_NAME");
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (!real)
		real = (openat_fn)dlsym(RTLD_NEXT, "openat");
	if (victim && !strcmp(path, victim))
		unlinkat(dirfd, path, 0);
	return real(dirfd, path, flags, mode);
}
