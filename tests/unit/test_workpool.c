// SPDX-License-Identifier: GPL-2.0-or-later
/* lib/base/workpool.c: every index runs exactly once, whatever the pool,
 * in a loop run with the caller (for) or without it (start, wait). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/workpool.h"

struct loop {
	unsigned int *calls;		/* per index */
	unsigned int *by_worker;	/* per worker */
	unsigned int nworkers;
	unsigned int bad_worker;
};

static void count(void *ctx, unsigned int worker, size_t i)
{
	struct loop *l = ctx;

	/* each index is written by one call only: no lock needed if correct */
	l->calls[i]++;
	if (worker >= l->nworkers)
		__atomic_fetch_add(&l->bad_worker, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&l->by_worker[worker], 1, __ATOMIC_RELAXED);
}

/* every index once, on a worker that exists */
static void check_loop(const struct loop *l, size_t n)
{
	unsigned int total = 0;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(l->calls[i], 1);
	assert_int_equal(l->calls[n], 0);
	assert_int_equal(l->bad_worker, 0);
	for (unsigned int w = 0; w < l->nworkers; w++)
		total += l->by_worker[w];
	assert_int_equal(total, n);
}

static void run_pool(unsigned int nthreads)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 64, 1000, 4097 };
	struct es_workpool *p;

	assert_int_equal(es_workpool_new(nthreads, &p), 0);
	assert_non_null(p);
	assert_int_equal(es_workpool_size(p), nthreads ? nthreads : 1);
	/* many loops on the same threads: generations must not mix */
	for (unsigned int round = 0; round < 50; round++) {
		size_t n = sizes[round % (sizeof(sizes) / sizeof(sizes[0]))];
		struct loop l = { .nworkers = es_workpool_size(p) };

		l.calls = calloc(n + 1, sizeof(*l.calls));
		l.by_worker = calloc(l.nworkers, sizeof(*l.by_worker));
		assert_non_null(l.calls);
		assert_non_null(l.by_worker);
		/* a started loop every third round: waited for explicitly, or by
		   the next loop's own wait (the check comes after it) */
		if (round % 3 == 0) {
			es_workpool_start(p, n, count, &l);
			es_workpool_wait(p);
		} else {
			es_workpool_for(p, n, count, &l);
		}
		check_loop(&l, n);
		free(l.calls);
		free(l.by_worker);
	}
	es_workpool_free(p);
}

static void test_one_thread(void **state)
{
	(void)state;
	run_pool(0);
	run_pool(1);
}

static void test_several_threads(void **state)
{
	(void)state;
	run_pool(2);
	run_pool(8);
}

/* Started loops: the caller may work between start and wait, every index
 * still runs once; loops alternate with ordinary ones on the same pool. */
static void run_started(unsigned int nthreads)
{
	static const size_t sizes[] = { 0, 1, 2, 5, 300, 4097 };
	struct es_workpool *p;

	assert_int_equal(es_workpool_new(nthreads, &p), 0);
	for (unsigned int round = 0; round < 24; round++) {
		size_t n = sizes[round % (sizeof(sizes) / sizeof(sizes[0]))];
		struct loop l = { .nworkers = es_workpool_size(p) };
		volatile unsigned long busywork = 0;

		l.calls = calloc(n + 1, sizeof(*l.calls));
		l.by_worker = calloc(l.nworkers, sizeof(*l.by_worker));
		assert_non_null(l.calls);
		assert_non_null(l.by_worker);
		es_workpool_start(p, n, count, &l);
		for (unsigned long k = 0; k < 10000; k++)	/* the caller's own work */
			busywork += k;
		es_workpool_wait(p);
		es_workpool_wait(p);	/* a second wait has nothing to wait for */
		check_loop(&l, n);
		if (round % 2) {	/* an ordinary loop in between */
			memset(l.calls, 0, (n + 1) * sizeof(*l.calls));
			es_workpool_for(p, n, count, &l);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(l.calls[i], 1);
		}
		free(l.calls);
		free(l.by_worker);
	}
	es_workpool_free(p);
}

static void test_started_loops(void **state)
{
	(void)state;
	run_started(1);
	run_started(2);
	run_started(8);
}

static void test_free_idle(void **state)
{
	struct es_workpool *p;

	(void)state;
	/* a pool that never ran a loop shuts down; so does NULL */
	assert_int_equal(es_workpool_new(4, &p), 0);
	es_workpool_free(p);
	es_workpool_free(NULL);
}

static void test_free_started(void **state)
{
	struct loop l = { .nworkers = 4 };
	struct es_workpool *p;

	(void)state;
	/* freeing a pool waits for the loop it started */
	l.calls = calloc(5000, sizeof(*l.calls));
	l.by_worker = calloc(l.nworkers, sizeof(*l.by_worker));
	assert_non_null(l.calls);
	assert_non_null(l.by_worker);
	assert_int_equal(es_workpool_new(4, &p), 0);
	es_workpool_start(p, 5000, count, &l);
	es_workpool_free(p);
	for (size_t i = 0; i < 5000; i++)
		assert_int_equal(l.calls[i], 1);
	assert_int_equal(l.bad_worker, 0);
	free(l.calls);
	free(l.by_worker);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_thread),
		cmocka_unit_test(test_several_threads),
		cmocka_unit_test(test_free_idle),
		cmocka_unit_test(test_free_started),
		cmocka_unit_test(test_started_loops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
