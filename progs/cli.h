/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the command-line programs (option parsing only). */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Parse a whole decimal number; false on garbage, sign or overflow. */
static inline bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static inline bool cli_parse_s64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s == ' ')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Default worker count: the online cores, at most 64. */
static inline unsigned int cli_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)(n > 64 ? 64 : n) : 1;
}

/* Repeatable options, without heap: a usage error past CLI_LIST_MAX. */
#define CLI_LIST_MAX 256

struct cli_list {
	const char *items[CLI_LIST_MAX];
	unsigned int n;
};

static inline bool cli_list_add(struct cli_list *l, const char *item)
{
	if (l->n >= CLI_LIST_MAX)
		return false;
	l->items[l->n++] = item;
	return true;
}

#endif
