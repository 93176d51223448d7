/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the command-line programs: option parsing, trust anchors. */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <getopt.h>
#include "erofs/seal.h"
#include "erofs/sign.h"

/*
 * Every blob of an image stays open while it is read, and an image may
 * have up to 65535 of them: the soft limit on descriptors goes up to the
 * hard one.
 */
static inline void cli_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

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

#define CLI_MAX_WORKERS 64

/* Default worker count: the online cores, at most CLI_MAX_WORKERS. */
static inline unsigned int cli_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)(n > CLI_MAX_WORKERS ? CLI_MAX_WORKERS : n) : 1;
}

/*
 * -j N / --workers=N, as erofs-utils spells it: 0 is all cores, and more
 * than CLI_MAX_WORKERS (or the cores there are) would only wait on each
 * other, so a larger N is CLI_MAX_WORKERS.  False on garbage.
 */
static inline bool cli_parse_workers(const char *s, unsigned int *out)
{
	uint64_t v;

	if (!cli_parse_u64(s, UINT32_MAX, &v))
		return false;
	*out = !v ? cli_default_threads() : v > CLI_MAX_WORKERS ? CLI_MAX_WORKERS
								 : (unsigned int)v;
	return true;
}

/*
 * getopt names the program by argv[0] in its messages ("unrecognized
 * option"): the name users know, not the build path or a libtool wrapper's.
 */
static inline void cli_set_prog_name(char **argv, const char *prog)
{
	argv[0] = (char *)prog;
}

/*
 * An erofs-utils option this program does not implement: said by name with
 * what to use instead, a usage error rather than getopt's "unrecognized".
 * Programs list them in their getopt tables with val CLI_OPT_UNSUPPORTED
 * (long options) and look them up with cli_unsupported().
 */
#define CLI_OPT_UNSUPPORTED 0x7ffe

struct cli_unsupported {
	const char *option;	/* "--tar", "-z" */
	const char *why;	/* the rest of the sentence, or NULL */
};

static inline int cli_unsupported(const char *prog, const struct cli_unsupported *table,
				  const char *option, int exit_code)
{
	const char *why = NULL;

	for (; table && table->option; table++)
		if (!strcmp(table->option, option)) {
			why = table->why;
			break;
		}
	fprintf(stderr, "%s: %s is not supported by this %s%s%s\n", prog, option, prog,
		why ? "; " : "", why ? why : "");
	return exit_code;
}

/* The long option getopt_long() just matched ("--tar"), for cli_unsupported(). */
static inline const char *cli_long_name(const struct option *longopts, int index, char *buf,
					size_t size)
{
	snprintf(buf, size, "--%s", longopts[index].name);
	return buf;
}

/*
 * A --blob-dir to read blobs from that is no folder: the reason, in buf
 * (NULL when it is one).  Checked when the option is parsed, so that a
 * typo is not reported later as every blob missing.
 */
static inline const char *cli_blob_dir_problem(const char *dir, char *buf, size_t size)
{
	struct stat st;
	int e = stat(dir, &st) ? errno : 0;

	if (!e && S_ISDIR(st.st_mode))
		return NULL;
	snprintf(buf, size, "--blob-dir %s: %s", dir, e ? strerror(e) : "not a folder");
	return buf;
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

/*
 * The trust anchors of --cert, --pubkey and --expect-digest as one trust
 * set; NULL after printing why, with *exit_code set to usage_code (a file
 * or a digest that is no good) or operational_code (out of memory).
 */
static inline struct es_trust *cli_trust_load(const char *prog, const struct cli_list *certs,
					      const struct cli_list *pubkeys,
					      const struct cli_list *digests, int usage_code,
					      int operational_code, int *exit_code)
{
	struct es_err err = { 0 };
	struct es_trust *trust = es_trust_from_files(certs->items, certs->n, pubkeys->items,
						     pubkeys->n, &err);

	if (!trust) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		*exit_code = usage_code;
		return NULL;
	}
	if (es_trust_pin_manifest_digests(trust, digests->items, digests->n, &err)) {
		fprintf(stderr, "%s: --expect-digest: %s\n", prog, err.msg);
		es_trust_free(trust);
		*exit_code = err.code == -ENOMEM ? operational_code : usage_code;
		return NULL;
	}
	return trust;
}

#endif
