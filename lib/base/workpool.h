/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * A fixed set of threads that run parallel loops (lib/base/workpool.c):
 * es_workpool_for() calls fn for every index of [0, n) across the pool's
 * threads and the calling one, and returns when all calls have returned.
 * Which thread runs which index is not fixed: callers make each call
 * depend on its index only, so results do not depend on the thread count.
 * Hosted only (pthreads).
 */
#ifndef ES_BASE_WORKPOOL_H
#define ES_BASE_WORKPOOL_H

#include <stddef.h>

struct es_workpool;

/* worker: 0 (the caller) to es_workpool_size() - 1, for per-thread state */
typedef void (*es_workpool_fn)(void *ctx, unsigned int worker, size_t index);

/* nthreads counts the caller: 1 (or 0) starts no thread. */
int es_workpool_new(unsigned int nthreads, struct es_workpool **out);
void es_workpool_free(struct es_workpool *p);
unsigned int es_workpool_size(const struct es_workpool *p);
/* Not reentrant: one loop at a time per pool (it waits for a started one). */
void es_workpool_for(struct es_workpool *p, size_t n, es_workpool_fn fn, void *ctx);
/*
 * A loop on the pool's threads alone, while the caller does something
 * else: returns at once (without helper threads, after running it).
 * es_workpool_wait() runs the calls no helper has begun on the caller (as
 * worker 0) and returns once every call has returned; the next loop waits
 * for it too.
 */
void es_workpool_start(struct es_workpool *p, size_t n, es_workpool_fn fn, void *ctx);
void es_workpool_wait(struct es_workpool *p);

#endif
