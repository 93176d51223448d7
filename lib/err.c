// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "erofs/err.h"

int es_fail(struct es_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->code)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void es_err_prefix(struct es_err *e, const char *fmt, ...)
{
	char prefix[ES_ERR_MSG_MAX], joined[ES_ERR_MSG_MAX];
	va_list ap;

	if (!e || !e->code)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	{
		size_t plen = strnlen(prefix, sizeof(joined) - 1);
		size_t mlen = strnlen(e->msg, sizeof(e->msg));

		memcpy(joined, prefix, plen);
		if (mlen > sizeof(joined) - 1 - plen)
			mlen = sizeof(joined) - 1 - plen;
		memcpy(joined + plen, e->msg, mlen);
		joined[plen + mlen] = '\0';
	}
	memcpy(e->msg, joined, sizeof(e->msg));
}

void es_err_clear(struct es_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}
