// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * LD_PRELOAD shim for tests: it acts when a program opens a file whose name
 * (relative to a directory fd) is one of the names below, so that a test
 * can put an event at an exact point of a build instead of guessing a time.
 *
 *   VANISH_NAME=N      N is unlinked just before the real openat() runs, so
 *                      it vanishes between the directory scan and the open,
 *                      exactly the race a real tree can have.
 *   RENAME_AT=N        before N is opened, RENAME_FROM is renamed to
 *                      RENAME_TO (paths relative to the working directory):
 *                      a directory moves while the tree is scanned.
 *   GROW_AT=N          once N is open, a line is appended to it before
 *                      the first pread() of it: the file grows after the
 *                      program saw its size and before it read it.
 *   PAUSE_AT=N         before N is opened, SIGINT, SIGTERM and SIGHUP are
 *                      blocked, the file PAUSE_READY is created, and the
 *                      program waits until one of them is delivered (its
 *                      handler has run), then goes on: a signal the test
 *                      sends once PAUSE_READY exists arrives mid-build, and
 *                      cannot be lost before the wait starts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*openat_fn)(int, const char *, int, ...);

/* the descriptor of GROW_AT's file until its first read */
static int grow_fd = -1;

static bool is(const char *env, const char *path)
{
	const char *want = getenv(env);

	return want && !strcmp(path, want);
}

static void pause_for_signal(void)
{
	const char *ready = getenv("PAUSE_READY");
	sigset_t stop, old;
	int fd;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, &old);
	if (ready) {
		fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	/* old never blocks these: the test relies on delivery */
	sigdelset(&old, SIGINT);
	sigdelset(&old, SIGTERM);
	sigdelset(&old, SIGHUP);
	sigsuspend(&old);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	static openat_fn real;
	mode_t mode = 0;
	int fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (!real)
		real = (openat_fn)dlsym(RTLD_NEXT, "openat");
	if (is("VANISH_NAME", path))
		unlinkat(dirfd, path, 0);
	if (is("RENAME_AT", path) && getenv("RENAME_FROM") && getenv("RENAME_TO"))
		rename(getenv("RENAME_FROM"), getenv("RENAME_TO"));
	if (is("PAUSE_AT", path))
		pause_for_signal();
	fd = real(dirfd, path, flags, mode);
	if (fd >= 0 && is("GROW_AT", path))
		grow_fd = fd;
	return fd;
}

static void grow_before_read(int fd)
{
	char self[64];
	int w;

	if (fd != grow_fd)
		return;
	grow_fd = -1;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	w = open(self, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (w < 0 || write(w, "grown\n", 6) != 6)
		perror("GROW_AT");
	if (w >= 0)
		close(w);
}

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);

/* (64-bit builds call pread itself: pread64 is only its alias there) */
ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	static pread_fn real;

	if (!real)
		real = (pread_fn)dlsym(RTLD_NEXT, "pread");
	grow_before_read(fd);
	return real(fd, buf, len, off);
}
