// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * A run of independent jobs on a few threads.  The threads live for one
 * run: callers give each run enough work (a window of many jobs) that
 * starting them is noise, and nothing outlives the call.
 */
#include <pthread.h>
#include <stdatomic.h>
#include "base/workpool.h"

struct work_run {
	es_work_fn *fn;
	void *ctx;
	size_t njobs;
	atomic_size_t next;		/* the next job nobody took */
};

struct worker_arg {
	struct work_run *run;
	unsigned int worker;
};

static void take_jobs(struct work_run *r, unsigned int worker)
{
	for (;;) {
		size_t i = atomic_fetch_add(&r->next, 1);

		if (i >= r->njobs)
			return;
		r->fn(r->ctx, i, worker);
	}
}

static void *worker_main(void *p)
{
	struct worker_arg *a = p;

	take_jobs(a->run, a->worker);
	return NULL;
}

void es_work_run(unsigned int nthreads, size_t njobs, es_work_fn *fn, void *ctx)
{
	struct worker_arg args[ES_WORK_MAX_THREADS];
	pthread_t tids[ES_WORK_MAX_THREADS];
	struct work_run r = { .fn = fn, .ctx = ctx, .njobs = njobs };
	unsigned int started = 0;

	atomic_init(&r.next, 0);
	if (nthreads > ES_WORK_MAX_THREADS)
		nthreads = ES_WORK_MAX_THREADS;
	if ((size_t)nthreads > njobs)
		nthreads = (unsigned int)njobs;
	/* worker 0 is the caller; 1.. are the threads that could be started */
	for (unsigned int t = 1; t < nthreads; t++) {
		args[started] = (struct worker_arg){ .run = &r, .worker = started + 1 };
		if (pthread_create(&tids[started], NULL, worker_main, &args[started]))
			break;
		started++;
	}
	take_jobs(&r, 0);
	for (unsigned int t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
}
