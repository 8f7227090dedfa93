/* SPDX-License-Identifier: MIT */
/* cr_run: starts the workers (the caller's thread is worker 0), runs the main task, tears down. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "fiber.h"
#include "offload.h"
#include "remote.h"
#include "ring.h"
#include "scheduler.h"
#include "signals.h"
#include "stack_overflow.h"
#include "task.h"
#include "worker.h"

/* Size of a setup explanation: setup_error and every buffer copied into it. */
#define SETUP_WHY_MAX 256

static _Thread_local char setup_error[SETUP_WHY_MAX];

const char *cr_setup_error(void)
{
	return setup_error;
}

/* Returns the number of CPUs this process may run on (its affinity mask),
 * at least 1. */
static unsigned usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n;
}

/* Copies cfg (or the defaults) into out and checks it.  Returns 0 or -EINVAL. */
static int check_config(const cr_config *cfg, cr_config *out)
{
	if (cfg)
		*out = *cfg;
	else
		cr_config_init(out);
	if (out->workers == 0) {
		unsigned n = usable_cpus();
		out->workers = n > CR_MAX_WORKERS ? CR_MAX_WORKERS : n;
	}
	if (out->workers > CR_MAX_WORKERS) {
		snprintf(setup_error, sizeof(setup_error), "cr_config.workers=%u exceeds %u",
			 out->workers, CR_MAX_WORKERS);
		return -EINVAL;
	}
	if (out->stack_size == 0)
		out->stack_size = CR_DEFAULT_STACK_SIZE;
	if (out->stack_size > CR_MAX_STACK_SIZE) {
		snprintf(setup_error, sizeof(setup_error),
			 "cr_config.stack_size=%zu exceeds the maximum of %u bytes",
			 out->stack_size, CR_MAX_STACK_SIZE);
		return -EINVAL;
	}
	if (out->sq_entries == 0 || out->sq_entries > CR_MAX_SQ_ENTRIES ||
	    out->cq_entries > CR_MAX_CQ_ENTRIES) {
		snprintf(setup_error, sizeof(setup_error),
			 "cr_config ring sizes out of range (sq 1..%u, cq <= %u)",
			 CR_MAX_SQ_ENTRIES, CR_MAX_CQ_ENTRIES);
		return -EINVAL;
	}
	if (out->cq_entries < 2 * out->sq_entries)
		out->cq_entries = 2 * out->sq_entries;
	if (out->ready_budget == 0)
		out->ready_budget = CR_DEFAULT_READY_BUDGET;
	if (out->offload_threads == 0)
		out->offload_threads = CR_DEFAULT_OFFLOAD_THREADS;
	return 0;
}

/* Finds the calling thread's stack (the scheduler runs on it): ASan needs its
 * bounds whenever a task switches back.  Returns nothing; zeros if unknown. */
static void thread_stack(const void **lo, size_t *size)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t len = 0;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &len);
		pthread_attr_destroy(&attr);
	}
	*lo = addr;
	*size = len;
}

static void worker_destroy(cr__worker *w)
{
	if (!w)
		return;
	cr__list *l;
	cr__list_for_each(l, &w->all) /* ended tasks whose handle was never released */
		cr__tsan_destroy(cr__list_entry(l, cr_task, all_node)->tsan_fiber);
	cr__reclaim_flush(w);		 /* every worker has stopped: nobody reads these any more */
	cr__timer_heap_free(&w->timers); /* first: armed timers live in callback records */
	cr__callbacks_destroy(&w->callbacks);
	cr__stack_pool_destroy(&w->stacks);
	cr__ring_close(w->ring);
#if defined(CORING_FAULTS) && CORING_FAULTS
	cr__faults_destroy(w->faults);
#endif
	if (w->event_fd >= 0)
		close(w->event_fd);
	if (w->signal_fd >= 0)
		close(w->signal_fd);
	free(w);
}

/* Creates the calling thread's worker.  Writes a reason into why on failure.
 * Returns 0 or -errno. */
static int worker_create(cr__runtime *rt, unsigned id, char *why, size_t whylen)
{
	cr__worker *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	w->rt = rt;
	w->id = id;
	w->retired_tail = &w->retired_head;
	w->cfg = rt->cfg;
	w->event_fd = -1;
	w->signal_fd = -1;
	cr__stack_pool_init(&w->stacks);
	cr__list_init(&w->all);
	int r = cr__ring_open(&w->ring, &rt->cfg, why, whylen);
#if defined(CORING_FAULTS) && CORING_FAULTS
	if (r == 0)
		r = cr__faults_create(&w->faults, getenv("CORING_FAULTS"), id, why, whylen);
#endif
	if (r == 0 && (r = cr__remote_init(w)) < 0)
		snprintf(why, whylen, "could not create the worker's eventfd: %s", strerror(-r));
	if (r == 0 && (r = cr__overflow_init(w)) < 0)
		snprintf(why, whylen, "could not set up the signal stack: %s", strerror(-r));
	if (r < 0) {
		cr__overflow_fini(w);
		worker_destroy(w);
		return r;
	}
	w->sched_fiber = cr__tsan_current();
	thread_stack(&w->sched_stack_lo, &w->sched_stack_size);
	w->under_valgrind = cr__running_on_valgrind();
	rt->workers[id] = w;
	return 0;
}

/* Start-up handshake of a worker thread. */
typedef struct thread_start {
	cr__runtime *rt;     /* runtime */
	unsigned id;	     /* worker index */
	pthread_mutex_t *mu; /* guards the fields below */
	pthread_cond_t *cv;  /* signalled when ready is set */
	int *ready;	     /* workers that finished setting up */
	int *err;	     /* first setup error */
	char *why;	     /* its explanation (setup_error: SETUP_WHY_MAX bytes) */
	int *go;	     /* 1 = run, -1 = give up (another worker failed) */
} thread_start;

static void *worker_thread(void *arg)
{
	thread_start *ts = arg;
	char why[SETUP_WHY_MAX] = "";
	int r = worker_create(ts->rt, ts->id, why, sizeof(why));
	cr__worker *w = r == 0 ? ts->rt->workers[ts->id] : NULL;
	pthread_mutex_lock(ts->mu);
	if (r < 0 && *ts->err == 0) {
		*ts->err = r;
		snprintf(ts->why, SETUP_WHY_MAX, "worker %u: %.200s", ts->id, why);
	}
	(*ts->ready)++;
	pthread_cond_broadcast(ts->cv);
	while (*ts->go == 0)
		pthread_cond_wait(ts->cv, ts->mu);
	int go = *ts->go;
	pthread_mutex_unlock(ts->mu);
	if (!w)
		return NULL;
	cr__tls_worker = w;
	if (go > 0)
		cr__sched_loop(w);
	cr__overflow_fini(w);
	cr__tls_worker = NULL;
	return NULL;
}

/* Starts workers 1..n-1 (every signal blocked in them) and waits until each
 * has its ring.  Returns the number of threads started; *err gets the first
 * setup error. */
static unsigned start_threads(cr__runtime *rt, thread_start *ts, int *err)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	unsigned started = 0;
	for (unsigned i = 1; i < rt->nworkers; i++) {
		ts[i] = ts[0];
		ts[i].id = i;
		if (pthread_create(&rt->threads[i], NULL, worker_thread, &ts[i]) != 0) {
			*err = -EAGAIN;
			snprintf(ts[0].why, SETUP_WHY_MAX, "could not start worker thread %u", i);
			break;
		}
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(ts[0].mu);
	while (*ts[0].ready < (int)started)
		pthread_cond_wait(ts[0].cv, ts[0].mu);
	pthread_mutex_unlock(ts[0].mu);
	return started;
}

static void release_threads(thread_start *ts, unsigned started, int go, cr__runtime *rt)
{
	pthread_mutex_lock(ts[0].mu);
	*ts[0].go = go;
	pthread_cond_broadcast(ts[0].cv);
	pthread_mutex_unlock(ts[0].mu);
	if (go > 0)
		return;
	for (unsigned i = 1; i <= started; i++)
		pthread_join(rt->threads[i], NULL);
}

static void runtime_destroy(cr__runtime *rt)
{
	cr__offload_destroy(rt->offload);
	for (unsigned i = 0; i < rt->nworkers; i++)
		worker_destroy(rt->workers[i]);
	free(rt->workers);
	free(rt->threads);
	free(rt);
}

static cr__runtime *runtime_alloc(const cr_config *cfg)
{
	cr__runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return NULL;
	rt->cfg = *cfg;
	rt->nworkers = cfg->workers;
	/* Spinning for messages only pays when the peer has a CPU of its own. */
	rt->spin_ok = cfg->workers > 1 && cfg->workers <= usable_cpus();
	rt->workers = calloc(cfg->workers, sizeof(*rt->workers));
	rt->threads = calloc(cfg->workers, sizeof(*rt->threads));
	rt->offload = cr__offload_create(cfg->offload_threads);
	if (!rt->workers || !rt->threads || !rt->offload) {
		runtime_destroy(rt);
		return NULL;
	}
	return rt;
}

/* Runs the main task on worker 0 until the runtime stops.  Returns 0 or -errno. */
static int run_main(cr__runtime *rt, cr_task_fn fn, void *arg, int *result)
{
	cr__worker *w = rt->workers[0];
	cr__tls_worker = w;
	cr_task *main_task = NULL;
	cr_spawn_opts opts = {.name = "main"};
	int r = cr__signals_setup(w, setup_error, sizeof(setup_error));
	if (r == 0) {
		r = cr__task_create(w, &main_task, fn, arg, &opts);
		if (r)
			snprintf(setup_error, sizeof(setup_error),
				 "could not create the main task: %s", strerror(-r));
	}
	if (r) {
		/* Nothing runs: let the other workers leave at once. */
		atomic_store(&rt->stopping, 1);
		for (unsigned i = 1; i < rt->nworkers; i++)
			cr__remote_poke(rt->workers[i]);
		cr__tls_worker = NULL;
		return r;
	}
	main_task->detached = 1;
	w->main_task = main_task;
	cr__sched_loop(w);
	if (result)
		*result = w->main_result;
	cr__tls_worker = NULL;
	return 0;
}

int cr_run(const cr_config *cfg, cr_task_fn fn, void *arg, int *result)
{
	setup_error[0] = '\0';
	if (cr__tls_worker) {
		snprintf(setup_error, sizeof(setup_error), "cr_run called inside cr_run");
		return -EBUSY;
	}
	if (!fn) {
		snprintf(setup_error, sizeof(setup_error), "cr_run needs a main function");
		return -EINVAL;
	}
	cr_config c;
	int r = check_config(cfg, &c);
	if (r)
		return r;
	cr__runtime *rt = runtime_alloc(&c);
	if (!rt) {
		snprintf(setup_error, sizeof(setup_error), "out of memory");
		return -ENOMEM;
	}
	pthread_sigmask(SIG_SETMASK, NULL, &rt->saved_mask);
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	int ready = 0, err = 0, go = 0;
	thread_start *ts = calloc(c.workers, sizeof(*ts));
	if (!ts) {
		runtime_destroy(rt);
		return -ENOMEM;
	}
	ts[0] = (thread_start){rt, 0, &mu, &cv, &ready, &err, setup_error, &go};
	r = worker_create(rt, 0, setup_error, sizeof(setup_error));
	unsigned started = 0;
	if (r == 0) {
		started = start_threads(rt, ts, &err);
		r = err;
	}
	if (r == 0) {
		release_threads(ts, started, 1, rt);
		r = run_main(rt, fn, arg, result);
		for (unsigned i = 1; i <= started; i++)
			pthread_join(rt->threads[i], NULL);
	} else {
		release_threads(ts, started, -1, rt);
	}
	if (rt->workers[0])
		cr__overflow_fini(rt->workers[0]);
	pthread_sigmask(SIG_SETMASK, &rt->saved_mask, NULL);
	free(ts);
	runtime_destroy(rt);
	return r;
}
