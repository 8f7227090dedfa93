/* SPDX-License-Identifier: MIT */
/* cr_to_thread: results, FIFO queue, thread cap, cancel/deadline of queued and running calls. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#if defined(CHECK_UNDER_TSAN)
#define CALLS_PER_TASK 100u
#else
#define CALLS_PER_TASK 500u
#endif

#define MS 1000000ull
#define HOUR_NS (3600ull * 1000000000ull)

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	nanosleep(&ts, NULL);
}

/* What the blocking functions record (they run on pool threads). */
static struct {
	_Atomic int gate;	  /* blocking functions wait until it is 1 */
	_Atomic int start_rank;	  /* next start rank handed out */
	_Atomic int inflight;	  /* functions running now */
	_Atomic int max_inflight; /* most seen running at once */
	_Atomic int calls;	  /* functions that ran */
	_Atomic int rank[64];	  /* start rank of call i, -1 if it never started */
	_Atomic int finished[64]; /* 1 once call i returned */
} g;

static void reset(void)
{
	atomic_store(&g.gate, 0);
	atomic_store(&g.start_rank, 0);
	atomic_store(&g.inflight, 0);
	atomic_store(&g.max_inflight, 0);
	atomic_store(&g.calls, 0);
	for (int i = 0; i < 64; i++) {
		atomic_store(&g.rank[i], -1);
		atomic_store(&g.finished[i], 0);
	}
}

/* Marks call i started, counts it in flight. */
static void enter(int i)
{
	atomic_store(&g.rank[i], atomic_fetch_add(&g.start_rank, 1));
	atomic_fetch_add(&g.calls, 1);
	int now = atomic_fetch_add(&g.inflight, 1) + 1;
	int max = atomic_load(&g.max_inflight);
	while (now > max && !atomic_compare_exchange_weak(&g.max_inflight, &max, now))
		;
}

static void leave(int i)
{
	atomic_fetch_sub(&g.inflight, 1);
	atomic_store(&g.finished[i], 1);
}

/* Waits (on the pool thread) until the gate opens; gives up after 10 s. */
static void wait_gate(void)
{
	for (int n = 0; n < 100000 && !atomic_load(&g.gate); n++)
		sleep_ns(100000);
}

/* Call i: waits for the gate, returns 1000 + i. */
static intptr_t gated(void *arg)
{
	int i = (int)(intptr_t)arg;
	enter(i);
	wait_gate();
	leave(i);
	return 1000 + i;
}

/* Call i: runs ~1 ms, returns 1000 + i. */
static intptr_t short_call(void *arg)
{
	int i = (int)(intptr_t)arg;
	enter(i);
	sleep_ns(1 * MS);
	leave(i);
	return 1000 + i;
}

/* Call i: runs 60 ms, returns 1000 + i. */
static intptr_t slow_call(void *arg)
{
	int i = (int)(intptr_t)arg;
	enter(i);
	sleep_ns(60 * MS);
	leave(i);
	return 1000 + i;
}

static intptr_t thread_id_call(void *arg)
{
	(void)arg;
	return (intptr_t)pthread_self();
}

/* A task making one offloaded call and, if that succeeded, one more wait. */
typedef struct caller {
	cr_blocking_fn fn;   /* function to offload */
	int i;		     /* its argument / record index */
	_Atomic int started; /* 1 once about to call */
	int res;	     /* cr_to_thread's return */
	intptr_t value;	     /* its result */
	int was_finished;    /* g.finished[i] right after the call returned */
	int next;	     /* result of the following cr_sleep(1 h), if made */
	uint64_t next_ns;    /* how long that wait took */
	int worker;	     /* where the caller ran */
	int do_next;	     /* 1: make the following wait */
} caller;

static int call_once(void *arg)
{
	caller *c = arg;
	c->worker = cr_worker_id();
	atomic_store(&c->started, 1);
	c->value = -1;
	c->res = cr_to_thread(c->fn, (void *)(intptr_t)c->i, &c->value);
	c->was_finished = atomic_load(&g.finished[c->i]);
	if (c->do_next && c->res == 0) {
		uint64_t t0 = cr_now_ns();
		c->next = cr_sleep(HOUR_NS);
		c->next_ns = cr_now_ns() - t0;
	}
	return c->res;
}

/* ---- one pool thread ------------------------------------------------------------------------ */

static int cb_result = 1;

static void call_from_callback(void *arg)
{
	(void)arg;
	cb_result = cr_to_thread(thread_id_call, NULL, NULL);
}

static void basics(void)
{
	intptr_t v = 0;
	CHECK_EQ_INT(cr_to_thread(thread_id_call, NULL, &v), 0);
	CHECK_MSG((pthread_t)v != pthread_self(), "the call ran on the caller's thread");
	v = 0;
	reset();
	CHECK_EQ_INT(cr_to_thread(short_call, (void *)3, &v), 0);
	CHECK_EQ_INT(v, 1003);
	CHECK_EQ_INT(cr_to_thread(short_call, (void *)4, NULL), 0); /* result may be dropped */
	CHECK_EQ_INT(cr_to_thread(NULL, NULL, &v), -EINVAL);
	CHECK(cr_call_soon(call_from_callback, NULL) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_result, -EPERM);
	/* A pending cancellation: the call is not made at all. */
	reset();
	cr_cancel(cr_current());
	CHECK_EQ_INT(cr_to_thread(short_call, (void *)5, &v), -ECANCELED);
	CHECK_EQ_INT(cr_sleep(2 * MS), 0);
	CHECK_EQ_INT(atomic_load(&g.calls), 0);
}

/* With one thread, calls start strictly in the order they were made. */
static void fifo_one_thread(void)
{
	enum { N = 10 };
	caller c[N];
	cr_task *t[N];
	reset();
	for (int i = 0; i < N; i++) {
		c[i] = (caller){.fn = gated, .i = i};
		CHECK_OK(cr_spawn(&t[i], call_once, &c[i], NULL));
	}
	CHECK_WAIT_UNTIL(atomic_load(&g.calls) == 1, "the first call to start");
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(atomic_load(&c[i].started), 1);
	CHECK_EQ_INT(cr_sleep(5 * MS), 0);
	CHECK_EQ_INT(atomic_load(&g.calls), 1); /* one thread: the rest wait in the queue */
	atomic_store(&g.gate, 1);
	for (int i = 0; i < N; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
		CHECK_EQ_INT(c[i].value, 1000 + i);
		CHECK_EQ_INT(c[i].was_finished, 1);
		CHECK_MSG(atomic_load(&g.rank[i]) == i, "call %d started as number %d", i,
			  atomic_load(&g.rank[i]));
	}
	CHECK_EQ_INT(atomic_load(&g.max_inflight), 1);
	printf("offload_threads=1: %d calls started in FIFO order, at most 1 at a time\n", N);
}

/* Cancelling callers whose calls are queued removes them: they never run. */
static void cancel_queued(void)
{
	caller blocker = {.fn = gated, .i = 0}, q1 = {.fn = short_call, .i = 1},
	       q2 = {.fn = short_call, .i = 2}, after = {.fn = short_call, .i = 3};
	cr_task *tb, *t1, *t2, *ta;
	int res;
	reset();
	CHECK_OK(cr_spawn(&tb, call_once, &blocker, NULL));
	CHECK_OK(cr_spawn(&t1, call_once, &q1, NULL));
	CHECK_OK(cr_spawn(&t2, call_once, &q2, NULL));
	CHECK_OK(cr_spawn(&ta, call_once, &after, NULL));
	CHECK_WAIT_UNTIL(atomic_load(&g.calls) == 1, "the blocking call to start");
	CHECK(atomic_load(&q1.started) && atomic_load(&q2.started) && atomic_load(&after.started));
	/* Cancel the middle one and the first queued one; the last stays queued. */
	CHECK_EQ_INT(cr_cancel(t2), 0);
	CHECK_EQ_INT(cr_join(t2, &res), 0);
	CHECK_EQ_INT(res, -ECANCELED);
	CHECK_EQ_INT(cr_cancel(t1), 0);
	CHECK_EQ_INT(cr_join(t1, &res), 0);
	CHECK_EQ_INT(res, -ECANCELED);
	CHECK_EQ_INT(q1.value, -1);
	atomic_store(&g.gate, 1);
	CHECK_EQ_INT(cr_join(tb, &res), 0);
	CHECK_EQ_INT(res, 0);
	CHECK_EQ_INT(blocker.value, 1000);
	CHECK_EQ_INT(cr_join(ta, &res), 0);
	CHECK_EQ_INT(res, 0);
	CHECK_EQ_INT(after.value, 1003);
	/* The queue is drained: cancelled calls never ran, the survivor ran second. */
	CHECK_EQ_INT(atomic_load(&g.rank[1]), -1);
	CHECK_EQ_INT(atomic_load(&g.rank[2]), -1);
	CHECK_EQ_INT(atomic_load(&g.rank[3]), 1);
	CHECK_EQ_INT(atomic_load(&g.calls), 2);
	printf("cancelled queued calls: -ECANCELED, never run; the rest keep their order\n");
}

/* Cancelling a caller whose call runs: it waits for the result, and the
 * cancellation lands on its next wait. */
static void cancel_running(void)
{
	caller c = {.fn = gated, .i = 0, .do_next = 1};
	cr_task *t;
	int res;
	reset();
	CHECK_OK(cr_spawn(&t, call_once, &c, NULL));
	CHECK_WAIT_UNTIL(atomic_load(&g.calls) == 1, "the call to start");
	CHECK_EQ_INT(cr_cancel(t), 0);
	CHECK_EQ_INT(cr_sleep(20 * MS), 0);
	CHECK_EQ_INT(cr_task_done(t), 0); /* still waiting for the running call */
	atomic_store(&g.gate, 1);
	CHECK_EQ_INT(cr_join(t, &res), 0);
	CHECK_EQ_INT(res, 0);
	CHECK_EQ_INT(c.res, 0);
	CHECK_EQ_INT(c.value, 1000);
	CHECK_EQ_INT(c.was_finished, 1);
	CHECK_EQ_INT(c.next, -ECANCELED);
	CHECK_LT_U64(c.next_ns, 1000 * MS);
	printf("cancelled running call: result 1000 delivered, next wait -ECANCELED\n");
}

/* Deadlines: a queued call is dropped with -ETIMEDOUT; a running one is
 * waited for, and the next wait inside the expired scope times out. */
static int deadline_caller(void *arg)
{
	caller *c = arg;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 30 * MS));
	atomic_store(&c->started, 1);
	c->value = -1;
	uint64_t t0 = cr_now_ns();
	c->res = cr_to_thread(c->fn, (void *)(intptr_t)c->i, &c->value);
	c->next_ns = cr_now_ns() - t0;
	c->was_finished = atomic_load(&g.finished[c->i]);
	if (c->res == 0)
		c->next = cr_yield();
	return cr_deadline_exit(&d);
}

static void deadlines(void)
{
	caller blocker = {.fn = gated, .i = 0}, q = {.fn = short_call, .i = 1};
	cr_task *tb, *tq;
	int res;
	reset();
	CHECK_OK(cr_spawn(&tb, call_once, &blocker, NULL));
	CHECK_OK(cr_spawn(&tq, deadline_caller, &q, NULL));
	CHECK_EQ_INT(cr_join(tq, &res), 0);
	CHECK_EQ_INT(res, 1); /* the scope expired */
	CHECK_EQ_INT(q.res, -ETIMEDOUT);
	CHECK_EQ_INT(q.value, -1);
	CHECK_GE_U64(q.next_ns, 30 * MS);
	CHECK_LT_U64(q.next_ns, 3000 * MS);
	atomic_store(&g.gate, 1);
	CHECK_EQ_INT(cr_join(tb, &res), 0);
	CHECK_EQ_INT(cr_sleep(5 * MS), 0);
	CHECK_EQ_INT(atomic_load(&g.rank[1]), -1); /* the timed-out call never ran */

	/* Running past the deadline: the 60 ms call completes and is returned. */
	caller r = {.fn = slow_call, .i = 2};
	cr_task *tr;
	CHECK_OK(cr_spawn(&tr, deadline_caller, &r, NULL));
	CHECK_EQ_INT(cr_join(tr, &res), 0);
	CHECK_EQ_INT(r.res, 0);
	CHECK_EQ_INT(r.value, 1002);
	CHECK_EQ_INT(r.was_finished, 1);
	CHECK_GE_U64(r.next_ns, 55 * MS);
	CHECK_EQ_INT(r.next, -ETIMEDOUT);
	CHECK_EQ_INT(res, 1);
	printf("deadlines: queued call -ETIMEDOUT and never run; running call returns its "
	       "result\n");
}

static int main_one_thread(void *arg)
{
	(void)arg;
	basics();
	fifo_one_thread();
	cancel_queued();
	cancel_running();
	deadlines();
	return 0;
}

/* ---- several pool threads ----------------------------------------------------------------------
 */

#define POOL 3

/* With POOL threads: at most POOL run at once (exactly POOL when enough are
 * waiting), and calls start in FIFO order up to the race between threads
 * that dequeued neighbouring calls. */
static int main_three_threads(void *arg)
{
	(void)arg;
	enum { N = 16 };
	caller c[N];
	cr_task *t[N];
	reset();
	for (int i = 0; i < N; i++) {
		c[i] = (caller){.fn = i < POOL ? gated : short_call, .i = i};
		CHECK_OK(cr_spawn(&t[i], call_once, &c[i], NULL));
	}
	CHECK_WAIT_UNTIL(atomic_load(&g.calls) == POOL, "the first calls to start");
	CHECK_EQ_INT(cr_sleep(10 * MS), 0);
	CHECK_EQ_INT(atomic_load(&g.calls), POOL); /* the others are queued */
	CHECK_EQ_INT(atomic_load(&g.inflight), POOL);
	for (int i = 0; i < POOL; i++)
		CHECK_MSG(atomic_load(&g.rank[i]) >= 0, "call %d (of the first %d) did not start",
			  i, POOL);
	atomic_store(&g.gate, 1);
	for (int i = 0; i < N; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
		CHECK_EQ_INT(c[i].value, 1000 + i);
		int rank = atomic_load(&g.rank[i]);
		CHECK_MSG(rank > i - POOL && rank < i + POOL,
			  "call %d started as number %d: not FIFO (window %d)", i, rank, POOL);
	}
	CHECK_EQ_INT(atomic_load(&g.max_inflight), POOL);
	CHECK_EQ_INT(atomic_load(&g.calls), N);
	printf("offload_threads=%d: %d calls, at most %d at once (max seen %d), FIFO starts\n",
	       POOL, N, POOL, atomic_load(&g.max_inflight));
	return 0;
}

/* Callers on every worker. */
#define WORKERS 3
#define TASKS_PER_WORKER 4
#define MULTI_POOL 2

typedef struct multi_arg {
	int base;     /* first argument of this task's calls */
	int worker;   /* where it ran */
	uint64_t sum; /* sum of results */
} multi_arg;

static intptr_t add_one(void *arg)
{
	int now = atomic_fetch_add(&g.inflight, 1) + 1;
	int max = atomic_load(&g.max_inflight);
	while (now > max && !atomic_compare_exchange_weak(&g.max_inflight, &max, now))
		;
	atomic_fetch_add(&g.calls, 1);
	if ((intptr_t)arg % 7 == 0)
		sleep_ns(100000);
	atomic_fetch_sub(&g.inflight, 1);
	return (intptr_t)arg + 1;
}

static int multi_caller(void *arg)
{
	multi_arg *m = arg;
	m->worker = cr_worker_id();
	for (unsigned k = 0; k < CALLS_PER_TASK; k++) {
		intptr_t v = 0;
		CHECK_EQ_INT(cr_to_thread(add_one, (void *)(intptr_t)(m->base + (int)k), &v), 0);
		CHECK_EQ_INT(v, m->base + (int)k + 1);
		m->sum += (uint64_t)v;
	}
	return 0;
}

static int main_workers(void *arg)
{
	(void)arg;
	enum { N = WORKERS * TASKS_PER_WORKER };
	multi_arg m[N];
	cr_task *t[N];
	reset();
	for (int i = 0; i < N; i++) {
		m[i] = (multi_arg){.base = i * 100000};
		cr_spawn_opts o = {.placement = CR_ON_WORKER, .worker = (unsigned)(i % WORKERS)};
		CHECK_OK(cr_spawn(&t[i], multi_caller, &m[i], &o));
	}
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(cr_join(t[i], NULL), 0);
		CHECK_EQ_INT(m[i].worker, i % WORKERS);
		uint64_t expect = 0;
		for (unsigned k = 0; k < CALLS_PER_TASK; k++)
			expect += (uint64_t)(m[i].base + (int)k + 1);
		CHECK_EQ_U64(m[i].sum, expect);
	}
	CHECK_EQ_INT(atomic_load(&g.calls), N * (int)CALLS_PER_TASK);
	CHECK_LE_INT(atomic_load(&g.max_inflight), MULTI_POOL);
	printf("%d workers x %d tasks x %u calls: all results right, at most %d in flight\n",
	       WORKERS, TASKS_PER_WORKER, CALLS_PER_TASK, atomic_load(&g.max_inflight));
	return 0;
}

int main(void)
{
	cr_config cfg;
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_watchdog(60);
#if defined(CHECK_UNDER_TSAN)
	printf("TSan build: %u calls per task in the multi-worker part\n", CALLS_PER_TASK);
#endif
	CHECK_EQ_INT(cr_to_thread(thread_id_call, NULL, NULL), -EPERM); /* outside cr_run */

	cr_config_init(&cfg);
	cfg.workers = 1;
	cfg.offload_threads = 1;
	CHECK_EQ_INT(check_run(&cfg, main_one_thread, NULL), 0);

	cfg.offload_threads = POOL;
	CHECK_EQ_INT(check_run(&cfg, main_three_threads, NULL), 0);

	cfg.workers = WORKERS;
	cfg.offload_threads = MULTI_POOL;
	CHECK_EQ_INT(check_run(&cfg, main_workers, NULL), 0);
	return 0;
}
