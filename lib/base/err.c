// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Error contexts.  Hosted, messages are formatted; built with
 * ES_FREESTANDING (no C library) they are the static text the caller gave.
 */
#include <stdbool.h>
#include <string.h>
#include "erofs/err.h"

static size_t text_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static bool utf8_continuation(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

/*
 * src (len bytes) into dst (size bytes, NUL included): whole when it fits,
 * else its first third and its end joined by ES_MSG_ELLIPSIS.  The end is
 * what a reader needs most (the file name, the reason), the start says
 * where.  Cuts never split a UTF-8 character.
 */
static void fit_middle(char *dst, size_t size, const char *src, size_t len)
{
	const size_t mark = sizeof(ES_MSG_ELLIPSIS) - 1;
	size_t room, head, tail_start;

	if (!size)
		return;
	if (len < size) {
		memmove(dst, src, len);
		dst[len] = '\0';
		return;
	}
	if (size <= mark + 2) {
		/* too small to show anything useful around the mark */
		memmove(dst, src, size - 1);
		dst[size - 1] = '\0';
		return;
	}
	room = size - 1 - mark;
	head = room / 3;
	tail_start = len - (room - head);
	while (head && utf8_continuation(src[head]))
		head--;
	while (tail_start < len && utf8_continuation(src[tail_start]))
		tail_start++;
	/* dst may be src (a message shortened in place): the tail moves left */
	memmove(dst, src, head);
	memmove(dst + head + mark, src + tail_start, len - tail_start);
	memcpy(dst + head, ES_MSG_ELLIPSIS, mark);
	dst[head + mark + (len - tail_start)] = '\0';
}

const char *es_msg_path(char *buf, const char *path)
{
	if (!path)
		path = "(no path)";
	fit_middle(buf, ES_MSG_PATH_MAX + 1, path, text_len(path));
	return buf;
}

void es_err_clear(struct es_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

int es_err_copy(struct es_err *dst, const struct es_err *src)
{
	if (dst && !dst->code && src->code)
		*dst = *src;
	return src->code;
}

#ifdef ES_FREESTANDING
int es_fail_static(struct es_err *e, int code, const char *msg)
{
	if (!e || e->code)
		return code;
	e->code = code;
	fit_middle(e->msg, sizeof(e->msg), msg, text_len(msg));
	return code;
}
#else
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* vsnprintf into dst, shortened in the middle when it does not fit. */
static void format_fitted(char *dst, size_t size, const char *fmt, va_list ap)
{
	va_list again;
	char *whole;
	int n;

	va_copy(again, ap);
	n = vsnprintf(dst, size, fmt, ap);
	if (n < 0) {
		snprintf(dst, size, "(error message could not be formatted)");
	} else if ((size_t)n >= size) {
		whole = malloc((size_t)n + 1);
		if (whole && vsnprintf(whole, (size_t)n + 1, fmt, again) == n) {
			fit_middle(dst, size, whole, (size_t)n);
		} else if (size > sizeof(ES_MSG_ELLIPSIS)) {
			/* no memory for the whole: say that the end is missing */
			memcpy(dst + size - sizeof(ES_MSG_ELLIPSIS), ES_MSG_ELLIPSIS,
			       sizeof(ES_MSG_ELLIPSIS));
		}
		free(whole);
	}
	va_end(again);
}

int es_fail(struct es_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->code)
		return code;
	e->code = code;
	va_start(ap, fmt);
	format_fitted(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void es_err_prefix(struct es_err *e, const char *fmt, ...)
{
	char prefix[ES_ERR_MSG_MAX], joined[2 * ES_ERR_MSG_MAX];
	size_t plen, mlen;
	va_list ap;

	if (!e || !e->code)
		return;
	va_start(ap, fmt);
	format_fitted(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	mlen = strnlen(e->msg, sizeof(e->msg) - 1);
	memcpy(joined, prefix, plen);
	memcpy(joined + plen, e->msg, mlen);
	fit_middle(e->msg, sizeof(e->msg), joined, plen + mlen);
}
#endif
