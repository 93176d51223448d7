/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Error context: every libcore function that can fail returns a negative
 * errno-style code and, when given an error context, leaves a message in it
 * that tells the user what is wrong and where ("nid 37: chunk 4 points past
 * device 1").  The library never prints and never exits.
 */
#ifndef EROFS_ERR_H
#define EROFS_ERR_H

#include <stddef.h>

#define ES_ERR_MSG_MAX 512

struct es_err {
	int code;			/* negative errno, 0 when clear */
	char msg[ES_ERR_MSG_MAX];
};

/*
 * Record an error (unless one is already recorded) and return code.
 * A message longer than ES_ERR_MSG_MAX - 1 bytes loses its middle, marked
 * "...", never its end: the end says why.  Built with ES_FREESTANDING (no
 * C library), a small formatter of its own takes the conversions the
 * library uses: %d %i %u %x %o %c %s %%, with a zero flag, a width and
 * the h, l, ll and z lengths.
 */
int es_fail(struct es_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the recorded message with more context: "blob 3: " + msg. */
void es_err_prefix(struct es_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void es_err_clear(struct es_err *e);

/*
 * Record the error held in src into dst as es_fail() would (nothing when
 * dst already holds one); returns src's code.  For a caller that lets a
 * callee fail into a scratch context and decides afterwards whether the
 * failure matters.
 */
int es_err_copy(struct es_err *dst, const struct es_err *src);

/*
 * Paths in messages.  A path can be 4 KiB long, a message only 512 bytes:
 * a path longer than ES_MSG_PATH_MAX bytes is shown as its start and its
 * end (the file name) with "..." between them, so that two paths and the
 * reason always fit.
 */
#define ES_MSG_PATH_MAX 200
#define ES_MSG_ELLIPSIS "..."

/* path, shortened as above into buf (ES_MSG_PATH_MAX + 1 bytes); returns buf. */
const char *es_msg_path(char *buf, const char *path);

/* For a format argument: es_fail(err, code, "%s: ...", ES_PATH(path)). */
#define ES_PATH(path) es_msg_path((char[ES_MSG_PATH_MAX + 1]){ 0 }, (path))

/* EUCLEAN is what the kernel returns for a corrupted filesystem. */
#define ES_ECORRUPT 117 /* EUCLEAN */

#endif
