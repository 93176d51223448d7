// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/base/workq.c. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/workq.h"

#define NJOBS 2000

struct tally {
	pthread_mutex_t lock;
	unsigned int runs[NJOBS];	/* how often each job ran */
	unsigned int inits, finis;
	unsigned int by_thread[8];	/* jobs each thread's state saw */
	int fail_init_at;		/* thread_init of this thread fails (-1: none) */
};

struct job {
	unsigned int id;
};

static int t_init(void *ctx, unsigned int i, void **state, struct es_err *err)
{
	struct tally *t = ctx;
	unsigned int *mine;

	if ((int)i == t->fail_init_at)
		return es_fail(err, -ENOMEM, "thread %u: no state", i);
	mine = malloc(sizeof(*mine));
	if (!mine)
		return -ENOMEM;
	*mine = i;
	*state = mine;
	t->inits++;
	return 0;
}

static void t_run(void *ctx, void *state, void *p)
{
	struct tally *t = ctx;
	struct job *j = p;

	pthread_mutex_lock(&t->lock);
	t->runs[j->id]++;
	t->by_thread[*(unsigned int *)state]++;
	pthread_mutex_unlock(&t->lock);
	free(j);
}

static void t_fini(void *ctx, void *state)
{
	struct tally *t = ctx;

	t->finis++;
	free(state);
}

static const struct es_workq_ops ops = { .thread_init = t_init, .run = t_run,
					 .thread_fini = t_fini };

static void run_all(unsigned int nthreads, size_t depth)
{
	struct tally *t = calloc(1, sizeof(*t));
	struct es_err err = { 0 };
	struct es_workq *q;
	unsigned int total = 0;

	assert_non_null(t);
	pthread_mutex_init(&t->lock, NULL);
	t->fail_init_at = -1;
	assert_int_equal(es_workq_start(&q, nthreads, depth, &ops, t, &err), 0);
	for (unsigned int i = 0; i < NJOBS; i++) {
		struct job *j = malloc(sizeof(*j));

		assert_non_null(j);
		j->id = i;
		es_workq_push(q, j);
	}
	es_workq_finish(q);
	/* every job ran once, each with a state of its thread's */
	for (unsigned int i = 0; i < NJOBS; i++)
		assert_int_equal(t->runs[i], 1);
	for (unsigned int i = 0; i < 8; i++)
		total += t->by_thread[i];
	assert_int_equal(total, NJOBS);
	assert_int_equal(t->inits, nthreads ? nthreads : 1);
	assert_int_equal(t->finis, t->inits);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void test_one_thread(void **state)
{
	(void)state;
	run_all(1, 1);
}

static void test_many_threads(void **state)
{
	(void)state;
	run_all(8, 3);
	run_all(4, 32);
	run_all(0, 0);	/* at least one thread, a queue of one */
}

static void test_init_failure(void **state)
{
	struct tally *t = calloc(1, sizeof(*t));
	struct es_err err = { 0 };
	struct es_workq *q = (struct es_workq *)t;

	(void)state;
	assert_non_null(t);
	pthread_mutex_init(&t->lock, NULL);
	t->fail_init_at = 2;
	assert_int_equal(es_workq_start(&q, 4, 8, &ops, t, &err), -ENOMEM);
	assert_null(q);
	assert_string_equal(err.msg, "thread 2: no state");
	/* the states made before the failure were freed, no thread ran */
	assert_int_equal(t->inits, 2);
	assert_int_equal(t->finis, 2);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_thread),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_init_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
