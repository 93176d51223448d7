// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for lib/base/workpool.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "base/workpool.h"

#define NJOBS 1000

struct ctx {
	atomic_uint runs[NJOBS];	/* how often job i ran */
	unsigned int worker_of[NJOBS];
	atomic_uint busy[ES_WORK_MAX_THREADS + 1];	/* jobs running per worker */
	atomic_uint overlap;		/* a worker number used twice at once */
	uint64_t out[NJOBS];
};

static void job(void *p, size_t i, unsigned int worker)
{
	struct ctx *c = p;
	uint64_t v = i;

	if (worker > ES_WORK_MAX_THREADS)
		worker = ES_WORK_MAX_THREADS;
	if (atomic_fetch_add(&c->busy[worker], 1))
		atomic_fetch_add(&c->overlap, 1);
	for (int k = 0; k < 1000; k++)		/* a little work, so jobs overlap */
		v = v * 6364136223846793005ull + 1442695040888963407ull;
	c->out[i] = v;
	c->worker_of[i] = worker;
	atomic_fetch_add(&c->runs[i], 1);
	atomic_fetch_sub(&c->busy[worker], 1);
}

static void run_with(unsigned int nthreads, size_t njobs)
{
	static struct ctx c, ref;

	memset(&c, 0, sizeof(c));
	memset(&ref, 0, sizeof(ref));
	es_work_run(1, njobs, job, &ref);
	es_work_run(nthreads, njobs, job, &c);
	for (size_t i = 0; i < NJOBS; i++) {
		/* every job exactly once; none past njobs */
		assert_int_equal(atomic_load(&c.runs[i]), i < njobs ? 1 : 0);
		if (i >= njobs)
			continue;
		/* worker numbers stay below the thread count */
		assert_true(c.worker_of[i] < (nthreads ? nthreads : 1));
		/* results depend on the job alone */
		assert_true(c.out[i] == ref.out[i]);
		assert_int_equal(ref.worker_of[i], 0);
	}
	assert_int_equal(atomic_load(&c.overlap), 0);
}

static void test_one_thread(void **state)
{
	(void)state;
	run_with(0, NJOBS);
	run_with(1, NJOBS);
}

static void test_many_threads(void **state)
{
	(void)state;
	run_with(2, NJOBS);
	run_with(8, NJOBS);
	/* more threads than the cap are clamped to it */
	run_with(ES_WORK_MAX_THREADS + 10, NJOBS);
}

static void test_few_jobs(void **state)
{
	(void)state;
	run_with(8, 0);		/* nothing to run: returns at once */
	run_with(8, 1);
	run_with(8, 3);		/* fewer jobs than threads */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_thread),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_few_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
