/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/* File I/O helpers: full reads and writes, atomic output files. */
#ifndef ES_IO_H
#define ES_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "erofs/err.h"

/* "parent/name" in a new string (name need not be NUL-terminated). */
char *es_path_join(const char *parent, const uint8_t *name, size_t len);

/*
 * The size of an input es_open_input() opened (measured now: a file may
 * grow or shrink), and whether it is a block device.
 */
int es_input_size(int fd, const char *path, uint64_t *size, bool *blockdev,
		  struct es_err *err);

/*
 * Map every page of a large new buffer (malloc(), calloc()) now, in one
 * system call, instead of one page fault per page on first touch; the
 * contents are unchanged.  Best effort: nothing is reported.
 */
void es_prefault(void *buf, size_t len);

/*
 * A buffer about to be written whole (a window, a copy buffer, a table
 * read from disk): on this kind of host a first touch costs 10-20 us per
 * 4 KiB page.  From half a huge page up it is malloc()'ed on huge-page
 * boundaries with the kernel asked for transparent huge pages (a fault
 * per 2 MiB); smaller, its pages are mapped at once (es_prefault).
 * Uninitialised; freed with free(); NULL when out of memory.
 */
void *es_alloc_big(size_t len);
/* es_alloc_big() of n * size bytes, zeroed (calloc()'s contract, for the
 * large tables made once and filled at once); NULL on overflow too. */
void *es_calloc_big(size_t n, size_t size);

/* pread until len bytes or EOF; returns bytes read or -errno. */
ssize_t es_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* pread until at least min bytes (never more than max) or EOF: a short
 * read (end of file) ends it, without a second call to see the EOF. */
ssize_t es_pread_atleast(int fd, void *buf, size_t min, size_t max, uint64_t off);
/* pwrite all of buf; returns 0 or -errno. */
int es_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* pwritev all of iov[0..iovcnt) (which it may change); returns 0 or -errno. */
struct iovec;
int es_pwritev_full(int fd, struct iovec *iov, int iovcnt, uint64_t off);
/* read until len bytes or EOF; returns bytes read or -errno. */
ssize_t es_read_full(int fd, void *buf, size_t len);

/*
 * An output file written under a temporary name beside its final path,
 * fsynced and renamed into place on commit, unlinked on abort: a failed
 * build never leaves a half-written file or touches an existing one.
 */
struct es_outfile {
	int fd;
	char *path;
	char *tmp_path;
};

int es_outfile_create(struct es_outfile *of, const char *path, struct es_err *err);
int es_outfile_commit(struct es_outfile *of, struct es_err *err);
void es_outfile_abort(struct es_outfile *of);

/*
 * Early write-back of an output written mostly in order: once
 * ES_WRITEBACK_STEP bytes of consecutive writes have gathered, the kernel
 * is asked to start writing them out (without waiting), so that the final
 * fsync finds little left.  Only a hint: the fsync still reports errors.
 *
 * Where the storage below caches writes itself (a virtual disk), what
 * the final fsync waits for is its cache flush, whatever was written back
 * before.  es_writeback_start() adds a thread that calls fdatasync() after
 * each step, while the build goes on, so that the final fsync flushes the
 * last step only; es_writeback_stop() joins it and returns the first error
 * it met (the final fsync may not see it again: an error is reported once
 * per open file).
 */
#define ES_WRITEBACK_STEP (16u << 20)
struct es_flusher;
struct es_writeback {
	uint64_t from, to;		/* the range not yet handed over */
	uint64_t unsynced;		/* handed over since the last fdatasync */
	struct es_flusher *flusher;	/* NULL: hints only */
};
void es_writeback_note(struct es_writeback *w, int fd, uint64_t off, uint64_t len);
/* Every write noted so far is final (nothing more, or only a little, is to
 * come): hand it over now and have it synced in the background, so that
 * the final fsync overlaps with what the build still does. */
void es_writeback_flush(struct es_writeback *w, int fd);
/* 0, or a negative errno when the thread cannot start (hints only then). */
int es_writeback_start(struct es_writeback *w, int fd);
/* 0, or the first error of a background fdatasync(); safe without a start. */
int es_writeback_stop(struct es_writeback *w);

/* An unnamed temporary file in the folder of path (scratch space as large
 * as an output); a negative errno with a message otherwise. */
int es_tmpfile_near(const char *path, struct es_err *err);

#endif
