// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * Copying flat files in the background.  The scan decides where each flat
 * file goes (its blocks are taken in scan order, so the layout does not
 * depend on the threads) and hands the copy, with the file's descriptor,
 * to helper threads; it goes on with the next entries meanwhile.  With a
 * full queue the scanning thread copies the oldest waiting file itself.
 *
 * Jobs retire in the order they were queued, on the scanning thread: the
 * first failure is the one reported, and the early write-back of the image
 * (es_writeback_note) sees the data region grow in order, as it would
 * without helpers.  wb_copy_drain() waits for every job; nothing reads the
 * data region or a queued file's tail before it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/workq.h"
#include "base/workpool.h"
#include "erofs/format.h"
#include "io.h"
#include "wtree.h"

/* files in flight: bounds the descriptors held open (and the memory) */
#define WCOPY_DEPTH 64

struct wcopy_job {
	struct wcopy_plan plan;
	int fd;
	char *what;
	atomic_bool claimed;		/* a thread runs it */
	bool done;			/* under the lock */
	int ret;
	struct es_err err;
};

struct wcopy {
	struct wbuild *b;
	struct es_workq *q;
	pthread_mutex_t lock;
	pthread_cond_t retired;		/* a job is done */
	struct wcopy_job jobs[WCOPY_DEPTH];
	size_t head, count;		/* the ring of jobs not yet retired */
	size_t next_steal;		/* jobs before it are claimed */
	int failed;			/* the first retired failure */
};

/* what a helper thread owns: its copy buffer */
struct wcopy_lane {
	uint8_t *buf;
};

int wb_copy_file(struct wbuild *b, const struct wcopy_plan *p, struct wsource *src,
		 uint8_t *buf, struct es_err *err, const char *what)
{
	/* a descriptor is read one byte past the end of the file: a byte
	   there means it grew (a stream entry is as long as its header says) */
	const size_t probe = src->stream ? 0 : 1;
	int ret;

	for (uint64_t off = 0; off < p->copy;) {
		size_t len = p->copy - off < WBUILD_IOBUF_SIZE ? (size_t)(p->copy - off) :
			     WBUILD_IOBUF_SIZE;
		size_t padded = (size_t)es_round_up(len, b->blksz);
		bool last = off + len == p->size;

		ret = wb_cancel_check(b->opts, err);
		if (!ret)
			ret = wb_read_checked(b, src, buf, len, last ? probe : 0, off, err, what);
		if (ret)
			return ret;
		memset(buf + len, 0, padded - len);
		ret = es_pwrite_full(b->image_fd, buf, padded, p->dst + off);
		if (ret)
			return es_fail(err, ret, "writing the image: %s", strerror(-ret));
		off += len;
	}
	if (p->tail)
		return wb_read_checked(b, src, p->n->tail, p->tail, probe, p->copy, err, what);
	return 0;
}

static void run_job(struct wcopy *c, struct wcopy_job *j, uint8_t *buf)
{
	struct wsource src = { .fd = j->fd, .rewind_to = UINT64_MAX };

	j->ret = wb_copy_file(c->b, &j->plan, &src, buf, &j->err, j->what);
	close(j->fd);
	j->fd = -1;
	pthread_mutex_lock(&c->lock);
	j->done = true;
	pthread_cond_broadcast(&c->retired);
	pthread_mutex_unlock(&c->lock);
}

static int lane_init(void *ctx, unsigned int i, void **state, struct es_err *err)
{
	struct wcopy *c = ctx;
	struct wcopy_lane *l = calloc(1, sizeof(*l));

	(void)i;
	if (l)
		l->buf = es_alloc_big(WBUILD_IOBUF_SIZE + c->b->blksz);
	if (!l || !l->buf) {
		free(l);
		return es_fail(err, -ENOMEM, "out of memory");
	}
	*state = l;
	return 0;
}

static void lane_run(void *ctx, void *state, void *job)
{
	struct wcopy_job *j = job;

	/* the scanning thread may have taken it already */
	if (!atomic_exchange(&j->claimed, true))
		run_job(ctx, j, ((struct wcopy_lane *)state)->buf);
}

static void lane_fini(void *ctx, void *state)
{
	struct wcopy_lane *l = state;

	(void)ctx;
	free(l->buf);
	free(l);
}

static const struct es_workq_ops lane_ops = {
	.thread_init = lane_init,
	.run = lane_run,
	.thread_fini = lane_fini,
};

int wb_copy_start(struct wbuild *b)
{
	unsigned int helpers = es_workpool_size(b->pool) - 1;
	struct wcopy *c;
	int ret;

	if (!helpers)
		return 0;	/* one thread: every copy is made in its turn */
	c = calloc(1, sizeof(*c));
	if (!c)
		return es_fail(b->err, -ENOMEM, "out of memory");
	c->b = b;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	if (pthread_cond_init(&c->retired, NULL)) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return es_fail(b->err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < WCOPY_DEPTH; i++)
		c->jobs[i].fd = -1;
	ret = es_workq_start(&c->q, helpers, WCOPY_DEPTH, &lane_ops, c, b->err);
	if (ret) {
		pthread_cond_destroy(&c->retired);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return ret;
	}
	b->copy = c;
	return 0;
}

/* Retire the oldest job (done); the first failure is kept. */
static void retire_head(struct wcopy *c)
{
	struct wcopy_job *j = &c->jobs[c->head];
	struct wbuild *b = c->b;

	if (j->ret && !c->failed)
		c->failed = es_err_copy(b->err, &j->err);
	else if (!j->ret && !c->failed)
		es_writeback_note(&b->writeback[0], b->image_fd, j->plan.dst,
				  es_round_up(j->plan.copy, b->blksz));
	free(j->what);
	j->what = NULL;
	c->head = (c->head + 1) % WCOPY_DEPTH;
	c->count--;
	if (c->next_steal)
		c->next_steal--;
}

/* Retire what is done at the head; with wait, at least the head. */
static void retire(struct wcopy *c, bool wait)
{
	pthread_mutex_lock(&c->lock);
	while (c->count) {
		if (!c->jobs[c->head].done) {
			if (!wait)
				break;
			pthread_cond_wait(&c->retired, &c->lock);
			continue;
		}
		retire_head(c);
		wait = false;
	}
	pthread_mutex_unlock(&c->lock);
}

/* The scanning thread copies the oldest job no helper took yet. */
static bool steal(struct wcopy *c)
{
	while (c->next_steal < c->count) {
		struct wcopy_job *j = &c->jobs[(c->head + c->next_steal) % WCOPY_DEPTH];

		c->next_steal++;
		if (!atomic_exchange(&j->claimed, true)) {
			run_job(c, j, c->b->iobuf);
			return true;
		}
	}
	return false;
}

int wb_copy_submit(struct wbuild *b, const struct wcopy_plan *p, struct wsource *src,
		   const char *what)
{
	struct wcopy *c = b->copy;
	struct wcopy_job *j;

	if (!c || src->stream || !src->give_fd) {
		int ret = wb_copy_file(b, p, src, b->iobuf, b->err, what);

		if (!ret)
			es_writeback_note(&b->writeback[0], b->image_fd, p->dst,
					  es_round_up(p->copy, b->blksz));
		return ret;
	}
	retire(c, false);
	while (!c->failed && c->count == WCOPY_DEPTH) {
		if (!steal(c))
			retire(c, true);
		else
			retire(c, false);
	}
	if (c->failed)
		return c->failed;
	j = &c->jobs[(c->head + c->count) % WCOPY_DEPTH];
	j->what = strdup(what);
	if (!j->what)
		return es_fail(b->err, -ENOMEM, "out of memory");
	j->plan = *p;
	j->fd = src->fd;
	src->fd = -1;		/* the job's now */
	j->ret = 0;
	j->done = false;
	es_err_clear(&j->err);
	atomic_store(&j->claimed, false);
	pthread_mutex_lock(&c->lock);
	c->count++;
	pthread_mutex_unlock(&c->lock);
	es_workq_push(c->q, j);
	return 0;
}

int wb_copy_drain(struct wbuild *b)
{
	struct wcopy *c = b->copy;

	if (!c)
		return 0;
	while (c->count) {
		if (!steal(c))
			retire(c, true);
		else
			retire(c, false);
	}
	return c->failed;
}

void wb_copy_free(struct wbuild *b)
{
	struct wcopy *c = b->copy;

	if (!c)
		return;
	wb_copy_drain(b);
	es_workq_finish(c->q);
	pthread_cond_destroy(&c->retired);
	pthread_mutex_destroy(&c->lock);
	free(c);
	b->copy = NULL;
}
