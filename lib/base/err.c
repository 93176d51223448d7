// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Error contexts.  Hosted, messages are formatted with vsnprintf; built
 * with ES_FREESTANDING (no C library) by a small formatter of their own.
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
#include <stdarg.h>

/* What format() writes to: buf[0..cap), len counts every byte produced. */
struct sink {
	char *buf;
	size_t cap, len;
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < s->cap)
		s->buf[s->len] = c;
	s->len++;
}

static void put_number(struct sink *s, unsigned long long v, unsigned int base, bool neg,
		       unsigned int width, bool zero)
{
	char digits[24];
	unsigned int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg && zero)
		put(s, '-');
	for (unsigned int w = n + neg; w < width; w++)
		put(s, zero ? '0' : ' ');
	if (neg && !zero)
		put(s, '-');
	while (n)
		put(s, digits[--n]);
}

/* The subset of vsnprintf the library's messages use (see err.h). */
static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		unsigned int width = 0, lng = 0;
		size_t prec = (size_t)-1;
		bool zero = false, size = false;
		unsigned long long u;
		long long v;

		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		if (*++fmt == '0')
			zero = true;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		if (*fmt == '.') {
			/* a precision bounds a string (a name that is not
			   NUL-terminated): digits or '*' */
			prec = 0;
			if (*++fmt == '*') {
				int p = va_arg(ap, int);

				prec = p < 0 ? (size_t)-1 : (size_t)p;
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (size_t)(*fmt++ - '0');
		}
		for (; *fmt == 'l' || *fmt == 'h' || *fmt == 'z'; fmt++) {
			lng += *fmt == 'l';
			size |= *fmt == 'z';
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			v = lng > 1 ? va_arg(ap, long long) : lng ? va_arg(ap, long) :
			    size ? (long long)va_arg(ap, size_t) : va_arg(ap, int);
			u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
			put_number(s, u, 10, v < 0, width, zero);
			break;
		case 'u':
		case 'x':
		case 'o':
			u = lng > 1 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) :
			    size ? va_arg(ap, size_t) : va_arg(ap, unsigned int);
			put_number(s, u, *fmt == 'u' ? 10 : *fmt == 'x' ? 16 : 8, false, width,
				   zero);
			break;
		case 'c':
			put(s, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			for (str = str ? str : "(null)"; *str && prec; str++, prec--)
				put(s, *str);
			break;
		}
		case '%':
			put(s, '%');
			break;
		default:	/* not one the library uses: shown as it is */
			put(s, '%');
			if (!*fmt)
				return;
			put(s, *fmt);
		}
	}
}

/* fmt formatted into dst (size bytes), shortened in the middle when too long. */
static void format_fitted(char *dst, size_t size, const char *fmt, va_list ap)
{
	char whole[2 * ES_ERR_MSG_MAX];
	struct sink s = { whole, sizeof(whole), 0 };

	format(&s, fmt, ap);
	if (s.len >= sizeof(whole)) {
		/* longer than even this: say that the end is missing */
		s.len = sizeof(whole) - 1;
		memcpy(whole + s.len - (sizeof(ES_MSG_ELLIPSIS) - 1), ES_MSG_ELLIPSIS,
		       sizeof(ES_MSG_ELLIPSIS) - 1);
	}
	fit_middle(dst, size, whole, s.len);
}

void es_err_prefix(struct es_err *e, const char *fmt, ...)
{
	char joined[2 * ES_ERR_MSG_MAX];
	struct sink s = { joined, ES_ERR_MSG_MAX, 0 };
	size_t mlen;
	va_list ap;

	if (!e || !e->code)
		return;
	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	if (s.len >= s.cap)
		s.len = s.cap - 1;
	mlen = text_len(e->msg);
	memcpy(joined + s.len, e->msg, mlen);
	fit_middle(e->msg, sizeof(e->msg), joined, s.len + mlen);
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

/* One es_fail for both builds: they differ only in format_fitted (no malloc
 * or vsnprintf when freestanding). */
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
