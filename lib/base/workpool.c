// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Parallel loops on a fixed set of threads.  The threads sleep between
 * loops; a loop is published under the mutex as a new generation, and its
 * indices are handed out one at a time by an atomic counter, so a slow
 * item never holds up a whole share of the others.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include "base/workpool.h"

struct es_workpool {
	unsigned int nthreads;		/* including the caller */
	pthread_t *threads;
	unsigned int started;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* a new loop, or shutdown */
	pthread_cond_t idle;		/* the last helper left the loop */
	unsigned long generation;
	bool shutdown;
	unsigned int busy;		/* helpers still in the current loop */
	bool started_loop;		/* published, not yet waited for */
	/* the current loop */
	es_workpool_fn fn;
	void *ctx;
	size_t n;
	atomic_size_t next;
};

struct worker_arg {
	struct es_workpool *pool;
	unsigned int id;
};

static void run_items(struct es_workpool *p, unsigned int worker)
{
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);

		if (i >= p->n)
			return;
		p->fn(p->ctx, worker, i);
	}
}

static void *worker_main(void *arg)
{
	struct es_workpool *p = ((struct worker_arg *)arg)->pool;
	unsigned int id = ((struct worker_arg *)arg)->id;
	unsigned long seen = 0;

	free(arg);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->shutdown && p->generation == seen)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->shutdown)
			break;
		seen = p->generation;
		pthread_mutex_unlock(&p->lock);
		run_items(p, id);
		pthread_mutex_lock(&p->lock);
		if (--p->busy == 0)
			pthread_cond_signal(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int es_workpool_new(unsigned int nthreads, struct es_workpool **out)
{
	struct es_workpool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->nthreads = nthreads ? nthreads : 1;
	atomic_init(&p->next, 0);
	if (pthread_mutex_init(&p->lock, NULL)) {
		free(p);
		return -ENOMEM;
	}
	if (pthread_cond_init(&p->wake, NULL) || pthread_cond_init(&p->idle, NULL)) {
		/* a condition variable that failed to initialise is never destroyed */
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -ENOMEM;
	}
	if (p->nthreads > 1) {
		p->threads = calloc(p->nthreads - 1, sizeof(*p->threads));
		if (!p->threads) {
			es_workpool_free(p);
			return -ENOMEM;
		}
	}
	for (unsigned int i = 1; i < p->nthreads; i++) {
		struct worker_arg *a = malloc(sizeof(*a));
		int err;

		if (!a) {
			es_workpool_free(p);
			return -ENOMEM;
		}
		a->pool = p;
		a->id = i;
		err = pthread_create(&p->threads[p->started], NULL, worker_main, a);
		if (err) {
			free(a);
			es_workpool_free(p);
			return -err;
		}
		p->started++;
	}
	*out = p;
	return 0;
}

void es_workpool_free(struct es_workpool *p)
{
	if (!p)
		return;
	es_workpool_wait(p);
	pthread_mutex_lock(&p->lock);
	p->shutdown = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

unsigned int es_workpool_size(const struct es_workpool *p)
{
	return p->started + 1;
}

/* Publish a loop to the helpers (which exist). */
static void publish(struct es_workpool *p, size_t n, es_workpool_fn fn, void *ctx)
{
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	p->busy = p->started;
	p->generation++;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void es_workpool_wait(struct es_workpool *p)
{
	if (!p->started_loop)
		return;
	/* the caller is free now: it takes what the helpers have not begun */
	run_items(p, 0);
	pthread_mutex_lock(&p->lock);
	while (p->busy)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
	p->started_loop = false;
}

void es_workpool_for(struct es_workpool *p, size_t n, es_workpool_fn fn, void *ctx)
{
	es_workpool_wait(p);
	if (!n)
		return;
	/* one item, or no helpers: not worth waking anyone */
	if (n == 1 || !p->started) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, 0, i);
		return;
	}
	publish(p, n, fn, ctx);
	run_items(p, 0);
	p->started_loop = true;
	es_workpool_wait(p);
}

void es_workpool_start(struct es_workpool *p, size_t n, es_workpool_fn fn, void *ctx)
{
	es_workpool_wait(p);
	if (!n)
		return;
	if (!p->started) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, 0, i);
		return;
	}
	publish(p, n, fn, ctx);
	p->started_loop = true;
}
