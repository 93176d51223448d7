/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * A bounded queue of jobs run by a fixed set of threads (hosted only):
 * one producer pushes, each thread runs the jobs it takes with a state of
 * its own (a reader, a buffer) made before any thread starts.  The bound
 * keeps what is in flight (memory, open descriptors) independent of how
 * many jobs there are.
 */
#ifndef ES_BASE_WORKQ_H
#define ES_BASE_WORKQ_H

#include <stddef.h>
#include "erofs/err.h"

struct es_workq;

struct es_workq_ops {
	/* the state of thread i, made in the caller's thread; 0 or a negative
	   code with a message */
	int (*thread_init)(void *ctx, unsigned int i, void **state, struct es_err *err);
	/* run one job (which it owns from then on) */
	void (*run)(void *ctx, void *state, void *job);
	void (*thread_fini)(void *ctx, void *state);
};

/*
 * Start nthreads threads (at least one) and a queue of depth jobs (at
 * least one).  Returns 0, or a negative code with a message: nothing is
 * left running then.
 */
int es_workq_start(struct es_workq **out, unsigned int nthreads, size_t depth,
		   const struct es_workq_ops *ops, void *ctx, struct es_err *err);
/* Queue job; waits while the queue is full. */
void es_workq_push(struct es_workq *q, void *job);
/* Run every job pushed, stop the threads, free their states and q. */
void es_workq_finish(struct es_workq *q);

#endif
