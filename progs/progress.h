/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The progress line every program shows on a terminal while it builds,
 * verifies or extracts: what is done out of the total, the rate and the
 * time left,
 *
 *   mkfs.erofs: 1234/5678 files, 310.2/1024.0 MB, 95.1 MB/s, 0:07 left
 *
 * on standard error, redrawn at most a few times a second and wiped when
 * done.  Nothing at all when standard error is not a terminal (a log, a
 * pipe, CI) or with --quiet, so that output stays the same for scripts.
 */
#ifndef ES_PROGS_PROGRESS_H
#define ES_PROGS_PROGRESS_H

#include <fts.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "erofs/check.h"
#include "erofs/seal.h"

struct cli_progress {
	bool on;
	const char *prog;
	const char *unit;		/* what is counted: "files", "devices" */
	uint64_t total_items, total_bytes;	/* 0: not known */
	double start, last;
};

static inline double cli_progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On only for a person watching: stderr is a terminal and no --quiet. */
static inline void cli_progress_init(struct cli_progress *p, const char *prog,
				     const char *unit, bool quiet)
{
	p->on = !quiet && isatty(STDERR_FILENO);
	p->prog = prog;
	p->unit = unit;
	p->total_items = p->total_bytes = 0;
	p->start = cli_progress_now();
	p->last = p->start - 1;		/* the first update shows */
}

static inline void cli_progress_total(struct cli_progress *p, uint64_t items, uint64_t bytes)
{
	p->total_items = items;
	p->total_bytes = bytes;
}

/* Redraw the line (at most 5 times a second, unless force). */
static inline void cli_progress_show(struct cli_progress *p, uint64_t items, uint64_t bytes,
				     bool force)
{
	double now, rate, left;

	if (!p->on)
		return;
	now = cli_progress_now();
	if (!force && now - p->last < 0.2)
		return;
	p->last = now;
	rate = now > p->start ? (double)bytes / (now - p->start) : 0;
	fprintf(stderr, "\r%s: %llu", p->prog, (unsigned long long)items);
	if (p->total_items)
		fprintf(stderr, "/%llu", (unsigned long long)p->total_items);
	fprintf(stderr, " %s, %.1f", p->unit, (double)bytes / 1e6);
	if (p->total_bytes)
		fprintf(stderr, "/%.1f", (double)p->total_bytes / 1e6);
	fprintf(stderr, " MB, %.1f MB/s", rate / 1e6);
	/* a rate measured over less than a second says little about the rest */
	if (p->total_bytes > bytes && rate > 0 && now - p->start >= 1) {
		left = (double)(p->total_bytes - bytes) / rate;
		if (left < 360000)
			fprintf(stderr, ", %u:%02u left", (unsigned int)left / 60,
				(unsigned int)left % 60);
	}
	fputs("\033[K", stderr);
}

/* Wipe the line, so that what follows starts on a clean one. */
static inline void cli_progress_end(struct cli_progress *p)
{
	if (p->on)
		fputs("\r\033[K", stderr);
}

/* A verification's progress: the devices of the seal, hashed one by one. */
struct cli_verify_progress {
	struct cli_progress line;
	unsigned int done;
	uint64_t bytes;
};

/* es_verify_opts.progress */
static inline void cli_verify_progress_cb(void *ctx, const struct es_seal *s, unsigned int dev)
{
	struct cli_verify_progress *v = ctx;

	if (!v->line.total_items) {
		uint64_t total = 0;

		for (unsigned int i = 0; i < s->ndevices; i++)
			total += s->devices[i].size;
		cli_progress_total(&v->line, s->ndevices, total);
	}
	v->done++;
	v->bytes += dev < s->ndevices ? s->devices[dev].size : 0;
	cli_progress_show(&v->line, v->done, v->bytes, false);
}

/* es_check_opts.progress */
static inline void cli_check_progress_cb(void *ctx, const struct es_check_result *so_far)
{
	cli_progress_show(ctx, so_far->regular_files, so_far->data_bytes, false);
}

/*
 * The regular files and their bytes below a folder: the total of a build
 * (an estimate: --exclude-path/-regex are not applied to it).
 */
static inline void cli_tree_totals(const char *dir, uint64_t *files, uint64_t *bytes)
{
	char *const roots[] = { (char *)dir, NULL };
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	FTSENT *e;

	*files = *bytes = 0;
	while (fts && (e = fts_read(fts))) {
		if (e->fts_info == FTS_F && S_ISREG(e->fts_statp->st_mode)) {
			(*files)++;
			*bytes += (uint64_t)e->fts_statp->st_size;
		}
	}
	if (fts)
		fts_close(fts);
}

#endif
