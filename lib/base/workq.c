// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "base/workq.h"

struct es_workq {
	const struct es_workq_ops *ops;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	void **ring;
	size_t depth, head, count;
	bool closing;
	unsigned int nthreads, started;
	pthread_t *tids;
	void **states;
	struct thread_arg {
		struct es_workq *q;
		unsigned int i;
	} *args;
};

static void *worker(void *p)
{
	struct thread_arg *a = p;
	struct es_workq *q = a->q;

	for (;;) {
		void *job;

		pthread_mutex_lock(&q->lock);
		while (!q->count && !q->closing)
			pthread_cond_wait(&q->not_empty, &q->lock);
		if (!q->count) {
			pthread_mutex_unlock(&q->lock);
			return NULL;
		}
		job = q->ring[q->head];
		q->head = (q->head + 1) % q->depth;
		q->count--;
		pthread_cond_signal(&q->not_full);
		pthread_mutex_unlock(&q->lock);
		q->ops->run(q->ctx, q->states[a->i], job);
	}
}

static void free_queue(struct es_workq *q)
{
	for (unsigned int i = 0; q->states && i < q->nthreads; i++)
		if (q->states[i] && q->ops->thread_fini)
			q->ops->thread_fini(q->ctx, q->states[i]);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q->tids);
	free(q->states);
	free(q->args);
	free(q);
}

int es_workq_start(struct es_workq **out, unsigned int nthreads, size_t depth,
		   const struct es_workq_ops *ops, void *ctx, struct es_err *err)
{
	struct es_workq *q = calloc(1, sizeof(*q));
	int ret = 0;

	*out = NULL;
	if (!q)
		return es_fail(err, -ENOMEM, "out of memory");
	q->ops = ops;
	q->ctx = ctx;
	q->nthreads = nthreads ? nthreads : 1;
	q->depth = depth ? depth : 1;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->ring = calloc(q->depth, sizeof(*q->ring));
	q->tids = calloc(q->nthreads, sizeof(*q->tids));
	q->states = calloc(q->nthreads, sizeof(*q->states));
	q->args = calloc(q->nthreads, sizeof(*q->args));
	if (!q->ring || !q->tids || !q->states || !q->args) {
		free_queue(q);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; i < q->nthreads && !ret; i++)
		if (ops->thread_init)
			ret = ops->thread_init(ctx, i, &q->states[i], err);
	for (; !ret && q->started < q->nthreads; q->started++) {
		q->args[q->started] = (struct thread_arg){ q, q->started };
		ret = -pthread_create(&q->tids[q->started], NULL, worker, &q->args[q->started]);
		if (ret)
			es_fail(err, ret, "cannot start a thread: %s", strerror(-ret));
	}
	if (ret) {
		/* the threads that did start find the queue closed and empty */
		es_workq_finish(q);
		return ret;
	}
	*out = q;
	return 0;
}

void es_workq_push(struct es_workq *q, void *job)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->depth)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->ring[(q->head + q->count) % q->depth] = job;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

void es_workq_finish(struct es_workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->closing = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	for (unsigned int i = 0; i < q->started; i++)
		pthread_join(q->tids[i], NULL);
	free_queue(q);
}
