/* SPDX-License-Identifier: MIT */
/* Offload pool: a FIFO of blocking calls served by up to N lazily started threads. */
#include "offload.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "list.h"
#include "task.h"
#include "worker.h"

enum job_state { JOB_QUEUED = 1, JOB_RUNNING = 2, JOB_DONE = 3, JOB_DROPPED = 4 };

/* One blocking call; lives on the calling task's stack. */
typedef struct job {
	cr__list node;		  /* on the pool's queue while queued */
	cr_blocking_fn fn;	  /* the call */
	void *arg;		  /* its argument */
	intptr_t result;	  /* its return value */
	int state;		  /* enum job_state, under the pool mutex */
	cr__wait wait;		  /* the caller's wait */
	struct cr__offload *pool; /* owning pool */
} job;

struct cr__offload {
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* signalled on new work and on shutdown */
	cr__list queue;	    /* job.node: queued calls, oldest first */
	unsigned threads;   /* threads started */
	unsigned idle;	    /* threads waiting for work */
	unsigned max;	    /* most threads */
	int shutdown;	    /* 1 = threads exit */
	pthread_t *ids;	    /* started threads */
};

struct cr__offload *cr__offload_create(unsigned max_threads)
{
	struct cr__offload *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ids = calloc(max_threads, sizeof(*p->ids));
	if (!p->ids) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	cr__list_init(&p->queue);
	p->max = max_threads;
	return p;
}

static void *pool_thread(void *arg)
{
	struct cr__offload *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (cr__list_empty(&p->queue) && !p->shutdown) {
			p->idle++;
			pthread_cond_wait(&p->cv, &p->mu);
			p->idle--;
		}
		cr__list *l = cr__list_pop_front(&p->queue);
		if (!l)
			break;
		job *j = cr__list_entry(l, job, node);
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&p->mu);
		intptr_t r = j->fn(j->arg);
		pthread_mutex_lock(&p->mu);
		j->result = r;
		j->state = JOB_DONE;
		/* The wake is the last touch of j: the caller may return at once. */
		cr__wake(&j->wait, 0);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Abort of a queued call: take it out so it never runs.  A running call
 * cannot be stopped; its completion is the wake-up. */
static void job_abort(cr__wait *w, int reason)
{
	job *j = cr__container_of(w, job, wait);
	struct cr__offload *p = j->pool;
	pthread_mutex_lock(&p->mu);
	int queued = j->state == JOB_QUEUED;
	if (queued) {
		cr__list_remove(&j->node);
		j->state = JOB_DROPPED;
	}
	pthread_mutex_unlock(&p->mu);
	if (queued)
		cr__wake(w, reason);
}

/* Starts a thread if none is idle and the cap allows.  Called locked.
 * Returns 0, or -EAGAIN if there is no thread at all to run the call. */
static int maybe_start_thread(struct cr__offload *p)
{
	if (p->idle > 0 || p->threads >= p->max)
		return 0;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&p->ids[p->threads], NULL, pool_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		p->threads++;
	return p->threads > 0 ? 0 : -EAGAIN;
}

int cr_to_thread(cr_blocking_fn fn, void *arg, intptr_t *result)
{
	cr__worker *w = cr__self();
	if (!w || !w->current)
		return -EPERM;
	if (!fn)
		return -EINVAL;
	int r = cr__wait_prepare();
	if (r)
		return r;
	struct cr__offload *p = w->rt->offload;
	job j = {.fn = fn, .arg = arg, .state = JOB_QUEUED, .pool = p};
	cr__wait_init(&j.wait, job_abort);
	pthread_mutex_lock(&p->mu);
	r = maybe_start_thread(p);
	if (r == 0) {
		cr__list_push_back(&p->queue, &j.node);
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	if (r)
		return r;
	r = cr__wait_park(&j.wait);
	pthread_mutex_lock(&p->mu); /* pairs with the pool thread's writes */
	int done = j.state == JOB_DONE;
	intptr_t value = j.result;
	pthread_mutex_unlock(&p->mu);
	if (!done)
		return r;
	if (result)
		*result = value;
	return 0;
}

void cr__offload_destroy(struct cr__offload *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->shutdown = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->threads; i++)
		pthread_join(p->ids[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->ids);
	free(p);
}
