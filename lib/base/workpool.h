/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Independent jobs on several threads (lib/base/workpool.c): run jobs
 * 0..n-1 on up to nthreads threads, the caller's own included, and return
 * once every job has run.  Jobs are handed out in index order to whichever
 * thread is free, so which thread runs a job is not fixed; a job's result
 * must depend only on its index (the caller places results in index order).
 * Hosted only (pthreads).
 */
#ifndef ES_BASE_WORKPOOL_H
#define ES_BASE_WORKPOOL_H

#include <stddef.h>

/* The most threads one run uses; more are clamped to it. */
#define ES_WORK_MAX_THREADS 64

/*
 * One job.  worker (0 .. nthreads-1) names the thread running it: no two
 * jobs run at the same time with the same worker number, so per-thread
 * scratch (an encoder, a buffer) can be indexed by it.  Jobs report
 * failure in their own result slots.
 */
typedef void es_work_fn(void *ctx, size_t job, unsigned int worker);

/*
 * Run fn(ctx, i, worker) for every i in [0, njobs) and wait for all of
 * them.  nthreads 0 or 1, or a single job: the caller runs every job
 * itself.  Threads that cannot be created leave their share to the
 * others (at worst the caller runs everything), so this cannot fail.
 */
void es_work_run(unsigned int nthreads, size_t njobs, es_work_fn *fn, void *ctx);

#endif
