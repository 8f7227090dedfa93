/* SPDX-License-Identifier: MIT */
/* Queue stress across workers: MPMC exactly-once delivery, per-producer order, join, shutdown,
 * pass-on of a put's room and shutdown racing with cancellations. */
#include <stdatomic.h>
#include <unistd.h>

#include "xthread_cases.h"

#if defined(STRESS_SMALL)
#define ITEMS_PER_PRODUCER 10000u /* items each producer puts */
#define SHUTDOWN_ROUNDS 100u	  /* shutdowns racing with puts and gets */
#define RACE_ITEMS 2000u	  /* most items per producer in a shutdown race */
#define PASSON_ROUNDS 1000u	  /* rounds of the put pass-on race */
#else
#define ITEMS_PER_PRODUCER 40000u
#define SHUTDOWN_ROUNDS 300u
#define RACE_ITEMS 4000u
#define PASSON_ROUNDS 2000u
#endif
#define SD_PER_WORKER 40u /* waiters per worker ended by a shutdown */
#define SC_ROUNDS 40u	  /* shutdowns racing with cancels of their waiters */
#define MAX_PRODUCERS 16u
#define MAX_CONSUMERS 16u

/* ---- helpers ---------------------------------------------------------------------------- */

/* One queue item: who put it and its number in that producer's sequence. */
typedef struct item {
	uint32_t pid; /* producer index */
	uint32_t seq; /* 0, 1, 2, ... per producer */
} item;

/* Priority order of items: by sequence number, then producer. */
static int cmp_item(const void *a, const void *b, void *ctx)
{
	const item *x = a, *y = b;
	(void)ctx;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void queue_init_kind(cr_queue *q, int kind, long maxsize)
{
	switch (kind) {
	case CR_QUEUE_FIFO:
		CHECK_EQ_INT(cr_queue_init(q, sizeof(item), maxsize), 0);
		break;
	case CR_QUEUE_LIFO:
		CHECK_EQ_INT(cr_lifo_queue_init(q, sizeof(item), maxsize), 0);
		break;
	default:
		CHECK_EQ_INT(cr_priority_queue_init(q, sizeof(item), maxsize, cmp_item, NULL), 0);
		break;
	}
}

static const char *const kind_names[] = {"Queue", "LifoQueue", "PriorityQueue"};

/* ---- MPMC: every item exactly once ---------------------------------------------------------- */

typedef struct mpmc {
	cr_queue q;				     /* the queue under test */
	int kind;				     /* enum cr_queue_kind */
	unsigned producers, consumers;		     /* task counts */
	unsigned per;				     /* items per producer */
	_Atomic uint8_t *seen;			     /* per item: times it was got */
	_Atomic uint64_t got;			     /* items got in all */
	_Atomic uint64_t done;			     /* task_done calls */
	_Atomic uint64_t nowait_put, nowait_get;     /* items moved with the _nowait calls */
	_Atomic unsigned consumer_of[MAX_CONSUMERS]; /* items got per consumer */
} mpmc;

typedef struct role_arg {
	mpmc *m;	 /* shared */
	unsigned index;	 /* producer or consumer index */
	unsigned worker; /* where it runs */
	uint64_t rng;	 /* generator */
} role_arg;

static int producer(void *arg)
{
	role_arg *a = arg;
	mpmc *m = a->m;
	CHECK_EQ_INT(cr_worker_id(), (int)a->worker);
	for (uint32_t seq = 0; seq < m->per; seq++) {
		item it = {.pid = a->index, .seq = seq};
		if (rnd(&a->rng) % 4 == 0) {
			int r;
			while ((r = cr_queue_put_nowait(&m->q, &it)) == -EAGAIN) {
				CHECK(cr_queue_maxsize(&m->q) > 0);
				CHECK_EQ_INT(cr_yield(), 0);
			}
			CHECK_EQ_INT(r, 0);
			atomic_fetch_add_explicit(&m->nowait_put, 1, memory_order_relaxed);
		} else {
			CHECK_EQ_INT(cr_queue_put(&m->q, &it), 0);
		}
		if (rnd(&a->rng) % 64 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return 0;
}

static int consumer(void *arg)
{
	role_arg *a = arg;
	mpmc *m = a->m;
	uint32_t next[MAX_PRODUCERS] = {0}; /* lowest seq still allowed per producer (FIFO) */
	unsigned got = 0;
	CHECK_EQ_INT(cr_worker_id(), (int)a->worker);
	for (;;) {
		item it;
		int r;
		if (rnd(&a->rng) % 4 == 0) {
			while ((r = cr_queue_get_nowait(&m->q, &it)) == -EAGAIN)
				CHECK_EQ_INT(cr_yield(), 0);
			if (r == 0)
				atomic_fetch_add_explicit(&m->nowait_get, 1, memory_order_relaxed);
		} else {
			r = cr_queue_get(&m->q, &it);
		}
		if (r == -ESHUTDOWN)
			break;
		CHECK_EQ_INT(r, 0);
		CHECK_MSG(it.pid < m->producers && it.seq < m->per, "garbage item {%u, %u}", it.pid,
			  it.seq);
		unsigned prev = atomic_fetch_add(&m->seen[it.pid * m->per + it.seq], 1);
		CHECK_MSG(prev == 0, "item {%u, %u} got %u times", it.pid, it.seq, prev + 1);
		if (m->kind == CR_QUEUE_FIFO) {
			CHECK_MSG(it.seq >= next[it.pid],
				  "consumer %u got {%u, %u} after {%u, %u}: producer order broken",
				  a->index, it.pid, it.seq, it.pid, next[it.pid] - 1);
			next[it.pid] = it.seq + 1;
		}
		got++;
		atomic_fetch_add(&m->got, 1);
		if (rnd(&a->rng) % 32 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
		atomic_fetch_add(&m->done, 1);
		CHECK_EQ_INT(cr_queue_task_done(&m->q), 0);
	}
	atomic_store(&m->consumer_of[a->index], got);
	return 0;
}

/* Waits for every item to be task_done (one of these on every worker). */
static int joiner(void *arg)
{
	mpmc *m = arg;
	CHECK_EQ_INT(cr_queue_join(&m->q), 0);
	/* join returned: every item put was marked done. */
	CHECK_EQ_U64(atomic_load(&m->done), (uint64_t)m->producers * m->per);
	return 0;
}

static void run_mpmc(int kind, long maxsize, unsigned producers, unsigned consumers)
{
	static mpmc m;
	static role_arg pa[MAX_PRODUCERS], ca[MAX_CONSUMERS];
	cr_task *pt[MAX_PRODUCERS], *ct[MAX_CONSUMERS], *jt[CR_MAX_WORKERS];
	unsigned nw = cr_worker_count();
	CHECK(producers <= MAX_PRODUCERS && consumers <= MAX_CONSUMERS);
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.producers = producers;
	m.consumers = consumers;
	m.per = scaled(ITEMS_PER_PRODUCER);
	m.seen = calloc((size_t)producers * m.per, 1);
	CHECK(m.seen != NULL);
	queue_init_kind(&m.q, kind, maxsize);

	uint64_t t0 = cr_now_ns();
	/* Consumers first (they wait on the empty queue), on every worker. */
	for (unsigned i = 0; i < consumers; i++) {
		ca[i] = (role_arg){
			.m = &m, .index = i, .worker = i % nw, .rng = 0xdeadbeefcafe1234ull + i};
		cr_spawn_opts o = on_worker(i % nw, "consumer");
		CHECK_OK(cr_spawn(&ct[i], consumer, &ca[i], &o));
	}
	/* Producers on every worker, starting from the other end. */
	for (unsigned i = 0; i < producers; i++) {
		unsigned w = (nw - 1 - i % nw);
		pa[i] = (role_arg){
			.m = &m, .index = i, .worker = w, .rng = 0x1234567887654321ull + i};
		cr_spawn_opts o = on_worker(w, "producer");
		CHECK_OK(cr_spawn(&pt[i], producer, &pa[i], &o));
	}
	for (unsigned i = 0; i < producers; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(pt[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	/* Every item is put: a join on every worker waits until all are done. */
	for (unsigned w = 0; w < nw; w++) {
		cr_spawn_opts oj = on_worker(w, "joiner");
		CHECK_OK(cr_spawn(&jt[w], joiner, &m, &oj));
	}
	int res = -1;
	for (unsigned w = 0; w < nw; w++) {
		CHECK_EQ_INT(cr_join(jt[w], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	/* The consumers all wait on the empty queue now: shutdown ends them. */
	CHECK_EQ_INT(cr_queue_empty(&m.q), 1);
	CHECK_EQ_INT(cr_queue_shutdown(&m.q, 0), 0);
	uint64_t total = 0;
	for (unsigned i = 0; i < consumers; i++) {
		res = -1;
		CHECK_EQ_INT(cr_join(ct[i], &res), 0);
		CHECK_EQ_INT(res, 0);
		total += atomic_load(&m.consumer_of[i]);
	}
	uint64_t elapsed = cr_now_ns() - t0;
	uint64_t expect = (uint64_t)producers * m.per;
	CHECK_EQ_U64(total, expect);
	CHECK_EQ_U64(atomic_load(&m.got), expect);
	for (uint64_t i = 0; i < expect; i++)
		CHECK_MSG(atomic_load(&m.seen[i]) == 1, "item {%u, %u} got %u times",
			  (unsigned)(i / m.per), (unsigned)(i % m.per),
			  (unsigned)atomic_load(&m.seen[i]));
	CHECK_EQ_U64(cr_queue_qsize(&m.q), 0);
	CHECK_EQ_INT(cr_queue_task_done(&m.q), -EPERM);
	item it = {0, 0};
	CHECK_EQ_INT(cr_queue_put_nowait(&m.q, &it), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_get_nowait(&m.q, &it), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_destroy(&m.q), 0);
	printf("%s(maxsize=%ld) workers=%u %u producers x %u consumers: %llu items exactly once "
	       "in %.1f ms (%llu put_nowait, %llu get_nowait)\n",
	       kind_names[kind], maxsize, nw, producers, consumers, (unsigned long long)expect,
	       (double)elapsed / 1e6, (unsigned long long)atomic_load(&m.nowait_put),
	       (unsigned long long)atomic_load(&m.nowait_get));
	free(m.seen);
}

/* ---- shutdown ends every waiter, on every worker ----------------------------------------- */

typedef struct sd {
	cr_queue q;		  /* the queue */
	int put_side;		  /* 1: waiters put into a full queue, 0: they get */
	_Atomic unsigned entered; /* waiters about to wait */
	_Atomic unsigned shut;	  /* waiters that got -ESHUTDOWN */
} sd;

static int sd_waiter(void *arg)
{
	sd *s = arg;
	item it = {7, 7};
	atomic_fetch_add(&s->entered, 1);
	int r = s->put_side ? cr_queue_put(&s->q, &it) : cr_queue_get(&s->q, &it);
	CHECK_EQ_INT(r, -ESHUTDOWN);
	atomic_fetch_add(&s->shut, 1);
	return 0;
}

/* Waiters spread over every worker wait on a queue; worker 0 shuts it down. */
static void run_shutdown_waiters(int put_side, int immediate)
{
	static sd s;
	unsigned nw = cr_worker_count();
	unsigned n = SD_PER_WORKER * nw; /* more than a wait-queue segment holds */
	static cr_task *t[SD_PER_WORKER * CR_MAX_WORKERS];
	memset(&s, 0, sizeof(s));
	s.put_side = put_side;
	CHECK_EQ_INT(cr_queue_init(&s.q, sizeof(item), 2), 0);
	if (put_side) {
		item a = {1, 0}, b = {1, 1};
		CHECK_EQ_INT(cr_queue_put_nowait(&s.q, &a), 0);
		CHECK_EQ_INT(cr_queue_put_nowait(&s.q, &b), 0);
		CHECK_EQ_INT(cr_queue_full(&s.q), 1);
	}
	for (unsigned i = 0; i < n; i++) {
		cr_spawn_opts o = on_worker(i % nw, "sd-waiter");
		CHECK_OK(cr_spawn(&t[i], sd_waiter, &s, &o));
	}
	CHECK_WAIT_UNTIL(atomic_load(&s.entered) == n, "the waiters to start");
	CHECK_EQ_INT(cr_sleep(2000000), 0); /* most of them are parked by now (not required) */
	CHECK_EQ_INT(cr_queue_shutdown(&s.q, immediate), 0);
	for (unsigned i = 0; i < n; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	CHECK_EQ_U64(atomic_load(&s.shut), n);
	if (put_side && !immediate) {
		/* The two items stay and can still be got, in order; then -ESHUTDOWN. */
		item it;
		CHECK_EQ_U64(cr_queue_qsize(&s.q), 2);
		CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), 0);
		CHECK_EQ_INT(it.seq, 0);
		CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), 0);
		CHECK_EQ_INT(it.seq, 1);
		CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), -ESHUTDOWN);
		CHECK_EQ_INT(cr_queue_task_done(&s.q), 0);
		CHECK_EQ_INT(cr_queue_task_done(&s.q), 0);
	}
	CHECK_EQ_U64(cr_queue_qsize(&s.q), 0);
	CHECK_EQ_INT(cr_queue_join(&s.q), 0); /* nothing unfinished: returns at once */
	CHECK_EQ_INT(cr_queue_destroy(&s.q), 0);
	printf("shutdown(immediate=%d) workers=%u: %u waiting %s on every worker ended with "
	       "-ESHUTDOWN\n",
	       immediate, nw, n, put_side ? "puts" : "gets");
}

/* ---- shutdown racing with puts and gets --------------------------------------------------- */

typedef struct sr {
	cr_queue q;		    /* the queue */
	unsigned per;		    /* most items per producer */
	_Atomic uint8_t *put_ok;    /* per item: 1 if its put returned 0 */
	_Atomic uint8_t *got;	    /* per item: times it was got */
	_Atomic uint64_t n_put_ok;  /* puts that returned 0 */
	_Atomic uint64_t n_got;	    /* items got */
	_Atomic uint64_t n_refused; /* puts that returned -ESHUTDOWN */
} sr;

typedef struct sr_arg {
	sr *s;		/* shared */
	unsigned index; /* producer or consumer index */
	uint64_t rng;	/* generator */
} sr_arg;

static int sr_producer(void *arg)
{
	sr_arg *a = arg;
	sr *s = a->s;
	for (uint32_t seq = 0; seq < s->per; seq++) {
		item it = {.pid = a->index, .seq = seq};
		int r = cr_queue_put(&s->q, &it);
		if (r == -ESHUTDOWN) {
			atomic_fetch_add(&s->n_refused, 1);
			return 0;
		}
		CHECK_EQ_INT(r, 0);
		atomic_store(&s->put_ok[a->index * s->per + seq], 1);
		atomic_fetch_add(&s->n_put_ok, 1);
		if (rnd(&a->rng) % 16 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	return 0;
}

static int sr_consumer(void *arg)
{
	sr_arg *a = arg;
	sr *s = a->s;
	for (;;) {
		item it;
		int r = cr_queue_get(&s->q, &it);
		if (r == -ESHUTDOWN)
			return 0;
		CHECK_EQ_INT(r, 0);
		unsigned prev = atomic_fetch_add(&s->got[it.pid * s->per + it.seq], 1);
		CHECK_MSG(prev == 0, "item {%u, %u} got %u times", it.pid, it.seq, prev + 1);
		atomic_fetch_add(&s->n_got, 1);
		if (rnd(&a->rng) % 8 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
		CHECK_EQ_INT(cr_queue_task_done(&s->q), 0);
	}
}

/*
 * Producers and consumers on every worker; worker 0 shuts the queue down at a
 * random moment.  immediate = 0: every item whose put returned 0 is got
 * exactly once.  immediate = 1: items are got at most once, the rest were
 * dropped, and join still returns (dropped items count as done).
 */
static void run_shutdown_race(int immediate, long maxsize)
{
	static sr s;
	static sr_arg args[2 * CR_MAX_WORKERS];
	cr_task *t[2 * CR_MAX_WORKERS];
	unsigned nw = cr_worker_count();
	unsigned np = nw, nc = nw;
	uint64_t rng = 0x0123456789abcdefull + (uint64_t)immediate;
	uint64_t sum_put = 0, sum_got = 0, sum_refused = 0, sum_dropped = 0;
	uint64_t t0 = cr_now_ns();
	for (unsigned round = 0; round < SHUTDOWN_ROUNDS; round++) {
		memset(&s, 0, sizeof(s));
		s.per = scaled(RACE_ITEMS);
		s.put_ok = calloc((size_t)np * s.per, 1);
		s.got = calloc((size_t)np * s.per, 1);
		CHECK(s.put_ok && s.got);
		CHECK_EQ_INT(cr_queue_init(&s.q, sizeof(item), maxsize), 0);
		for (unsigned i = 0; i < nc; i++) {
			args[np + i] = (sr_arg){.s = &s, .index = i, .rng = rnd(&rng) | 1};
			cr_spawn_opts o = on_worker(i % nw, "sr-consumer");
			CHECK_OK(cr_spawn(&t[np + i], sr_consumer, &args[np + i], &o));
		}
		for (unsigned i = 0; i < np; i++) {
			args[i] = (sr_arg){.s = &s, .index = i, .rng = rnd(&rng) | 1};
			cr_spawn_opts o = on_worker((i + 1) % nw, "sr-producer");
			CHECK_OK(cr_spawn(&t[i], sr_producer, &args[i], &o));
		}
		/* Let them run a random while (sometimes not at all), then shut down. */
		uint64_t wait = rnd(&rng) % 4;
		if (wait == 1)
			CHECK_EQ_INT(cr_yield(), 0);
		else if (wait > 1)
			CHECK_EQ_INT(cr_sleep(rnd(&rng) % 3000000), 0);
		CHECK_EQ_INT(cr_queue_shutdown(&s.q, immediate), 0);
		for (unsigned i = 0; i < np + nc; i++) {
			int res = -1;
			CHECK_EQ_INT(cr_join(t[i], &res), 0);
			CHECK_EQ_INT(res, 0);
		}
		/* Every consumer called task_done for each item it got, so join
		 * returns only if the dropped items were counted as done. */
		CHECK_EQ_INT(cr_queue_join(&s.q), 0);
		CHECK_EQ_U64(cr_queue_qsize(&s.q), 0);
		uint64_t dropped = 0;
		for (uint64_t i = 0; i < (uint64_t)np * s.per; i++) {
			unsigned p = atomic_load(&s.put_ok[i]), g = atomic_load(&s.got[i]);
			CHECK_MSG(g <= p, "item {%u, %u} got %u times but put %u times",
				  (unsigned)(i / s.per), (unsigned)(i % s.per), g, p);
			if (!immediate)
				CHECK_MSG(g == p, "item {%u, %u} put but never got",
					  (unsigned)(i / s.per), (unsigned)(i % s.per));
			dropped += p - g;
		}
		CHECK_EQ_U64(atomic_load(&s.n_got) + dropped, atomic_load(&s.n_put_ok));
		CHECK_EQ_INT(cr_queue_task_done(&s.q), -EPERM);
		CHECK_EQ_INT(cr_queue_destroy(&s.q), 0);
		sum_put += atomic_load(&s.n_put_ok);
		sum_got += atomic_load(&s.n_got);
		sum_refused += atomic_load(&s.n_refused);
		sum_dropped += dropped;
		free(s.put_ok);
		free(s.got);
	}
	printf("shutdown race(immediate=%d, maxsize=%ld) workers=%u: %u rounds, %llu put, %llu "
	       "got, %llu dropped, %llu puts refused, in %.1f ms\n",
	       immediate, maxsize, nw, SHUTDOWN_ROUNDS, (unsigned long long)sum_put,
	       (unsigned long long)sum_got, (unsigned long long)sum_dropped,
	       (unsigned long long)sum_refused, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- a putter woken by a get and cancelled before it ran passes the room on ---------------- */

/*
 * Rounds of one race on a full queue of maxsize 1: putter A, then putter B
 * wait (B with a deadline only a lost wake-up can reach); worker 0 gets the
 * item while A is cancelled (or its deadline expires) from another worker at
 * nearly the same moment.  Whatever the interleaving, B's put must go
 * through: directly (A was cancelled first), passed on by A (woken, then
 * cancelled before it ran), or after A's own put was got.
 */
typedef struct pp {
	cr_queue q;		/* maxsize 1, full at the start of a round */
	cr_task *a;		/* putter A (first in line) */
	uint64_t a_timeout;	/* A's deadline scope in ns (0: none) */
	int cancel_a;		/* 1: A is cancelled this round */
	unsigned delay;		/* the canceller's spin before cancelling */
	unsigned round;		/* the round (the seq of every item put in it) */
	_Atomic int a_in, b_in; /* the putters are about to put */
	_Atomic unsigned go;	/* round whose get is being made now */
	_Atomic unsigned done;	/* round whose cancel was made */
	_Atomic int stop;	/* ends the canceller */
	int a_res;		/* A's result */
} pp;

#define PP_B_TIMEOUT 10000000000ull /* B's deadline: only a lost wake-up reaches it */

static int pp_a(void *arg)
{
	pp *s = arg;
	cr_deadline d;
	item it = {1, s->round};
	if (s->a_timeout)
		CHECK_EQ_INT(cr_timeout_enter(&d, s->a_timeout), 0);
	atomic_store(&s->a_in, 1);
	int r = cr_queue_put(&s->q, &it);
	if (s->a_timeout) {
		int x = cr_deadline_exit(&d);
		CHECK_MSG(x == 1 || r != -ETIMEDOUT, "deadline not charged after -ETIMEDOUT");
	}
	CHECK_MSG(r == 0 || r == -ECANCELED || r == -ETIMEDOUT, "A's put returned %d", r);
	CHECK_MSG(r != -ECANCELED || s->cancel_a, "A: -ECANCELED nobody asked for");
	s->a_res = r;
	return 0;
}

static int pp_b(void *arg)
{
	pp *s = arg;
	cr_deadline d;
	item it = {2, s->round};
	CHECK_EQ_INT(cr_timeout_enter(&d, PP_B_TIMEOUT), 0);
	atomic_store(&s->b_in, 1);
	int r = cr_queue_put(&s->q, &it);
	cr_deadline_exit(&d);
	CHECK_MSG(r == 0,
		  "B's put returned %d: the room given to A (cancelled: %d, deadline %llu ns, "
		  "A's result %d) was lost",
		  r, s->cancel_a, (unsigned long long)s->a_timeout, s->a_res);
	return 0;
}

/* Cancels A of round r as soon as the get of round r is being made. */
static int pp_canceller(void *arg)
{
	pp *s = arg;
	unsigned seen = 0;
	for (;;) {
		unsigned g, spins = 0;
		while ((g = atomic_load(&s->go)) == seen && !atomic_load(&s->stop))
			if (++spins % 4096 == 0)
				CHECK_EQ_INT(cr_yield(), 0);
		if (g == seen)
			return 0;
		seen = g;
		for (volatile unsigned i = 0; i < s->delay; i++)
			;
		if (s->cancel_a) {
			int r = cr_cancel(s->a);
			CHECK_MSG(r == 0 || r == -ESRCH, "cr_cancel returned %d", r);
		}
		atomic_store(&s->done, g);
	}
}

/* Yields (and now and then sleeps) until *flag is set. */
static void until_set(_Atomic int *flag)
{
	unsigned idle = 0;
	while (!atomic_load(flag)) {
		if (++idle % 64 == 0)
			CHECK_EQ_INT(cr_sleep(20000), 0);
		else
			CHECK_EQ_INT(cr_yield(), 0);
	}
}

static void run_put_passon(unsigned rounds)
{
	static pp s;
	unsigned nw = cr_worker_count();
	unsigned wa = 1 % nw, wb = nw > 2 ? 2 : wa, wc = nw > 3 ? 3 : 0;
	uint64_t rng = 0xbb67ae8584caa73bull;
	unsigned a_won = 0, a_cancelled = 0, a_timed = 0;
	cr_task *ct = NULL, *bt;
	item it;
	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(cr_queue_init(&s.q, sizeof(item), 1), 0);
	if (wc != 0) {
		cr_spawn_opts oc = on_worker(wc, "pp-canceller");
		CHECK_OK(cr_spawn(&ct, pp_canceller, &s, &oc));
	}
	uint64_t t0 = cr_now_ns();
	for (unsigned r = 1; r <= rounds; r++) {
		unsigned mode = (unsigned)(rnd(&rng) % 4);
		s.round = r;
		s.cancel_a = mode != 3;
		s.a_timeout = mode >= 2 ? 1 + rnd(&rng) % 40000 : 0;
		s.delay = (unsigned)(rnd(&rng) % 2000);
		atomic_store(&s.a_in, 0);
		atomic_store(&s.b_in, 0);
		it = (item){0, r};
		CHECK_EQ_INT(cr_queue_put_nowait(&s.q, &it), 0); /* full */
		cr_spawn_opts oa = on_worker(wa, "pp-a"), ob = on_worker(wb, "pp-b");
		CHECK_OK(cr_spawn(&s.a, pp_a, &s, &oa));
		until_set(&s.a_in);
		CHECK_EQ_INT(cr_sleep(rnd(&rng) % 20000), 0); /* A most likely waits */
		CHECK_OK(cr_spawn(&bt, pp_b, &s, &ob));
		until_set(&s.b_in);
		CHECK_EQ_INT(cr_sleep(rnd(&rng) % 20000), 0);
		/* The race: the get here, the cancel there (or here, before or after). */
		atomic_store(&s.go, r);
		int early = wc == 0 && s.cancel_a && rnd(&rng) % 2;
		if (early) {
			int c = cr_cancel(s.a);
			CHECK_MSG(c == 0 || c == -ESRCH, "cr_cancel returned %d", c);
		}
		CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), 0);
		CHECK_EQ_INT(it.pid, 0);
		CHECK_EQ_INT(it.seq, r);
		if (wc == 0 && s.cancel_a && !early) {
			int c = cr_cancel(s.a);
			CHECK_MSG(c == 0 || c == -ESRCH, "cr_cancel returned %d", c);
		}
		CHECK_EQ_INT(cr_join(s.a, NULL), 0);
		if (s.a_res == 0) {
			/* A's item took the room: B waits until it is got. */
			CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), 0);
			CHECK_EQ_INT(it.pid, 1);
			CHECK_EQ_INT(it.seq, r);
		}
		CHECK_EQ_INT(cr_join(bt, NULL), 0);
		CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), 0);
		CHECK_EQ_INT(it.pid, 2);
		CHECK_EQ_INT(it.seq, r);
		CHECK_EQ_INT(cr_queue_empty(&s.q), 1);
		if (wc != 0) {
			unsigned idle = 0;
			while (atomic_load(&s.done) != r)
				if (++idle % 64 == 0)
					CHECK_EQ_INT(cr_sleep(20000), 0);
				else
					CHECK_EQ_INT(cr_yield(), 0);
		}
		a_won += s.a_res == 0;
		a_cancelled += s.a_res == -ECANCELED;
		a_timed += s.a_res == -ETIMEDOUT;
	}
	atomic_store(&s.stop, 1);
	if (ct)
		CHECK_EQ_INT(cr_join(ct, NULL), 0);
	CHECK_EQ_INT(cr_queue_destroy(&s.q), 0);
	printf("put pass-on workers=%u: %u rounds, A won %u, cancelled %u, timed out %u; B always "
	       "got the room, in %.1f ms\n",
	       nw, rounds, a_won, a_cancelled, a_timed, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- shutdown racing with cancellations of its waiters ------------------------------------ */

typedef struct sc {
	cr_queue q;   /* the queue */
	int put_side; /* 1: waiters put into a full queue, 0: they get */
	unsigned n;   /* waiters this round */
	cr_task *t[SD_PER_WORKER * CR_MAX_WORKERS];	   /* the waiters */
	_Atomic int asked[SD_PER_WORKER * CR_MAX_WORKERS]; /* 1 once a cancel was sent */
	_Atomic unsigned entered;			   /* waiters about to wait */
	_Atomic unsigned go;				   /* round whose shutdown is being made */
	_Atomic unsigned done;				   /* round whose cancels were all sent */
	_Atomic int stop;				   /* ends the canceller */
	_Atomic unsigned shut, cancelled;		   /* results of the waiters */
	uint64_t rng;					   /* the canceller's generator */
} sc;

typedef struct sc_arg {
	sc *s;		/* shared */
	unsigned index; /* index in s->t */
} sc_arg;

static int sc_waiter(void *arg)
{
	sc_arg *a = arg;
	sc *s = a->s;
	item it = {9, 9};
	atomic_fetch_add(&s->entered, 1);
	int r = s->put_side ? cr_queue_put(&s->q, &it) : cr_queue_get(&s->q, &it);
	if (r == -ECANCELED) {
		CHECK_MSG(atomic_load(&s->asked[a->index]),
			  "waiter %u: -ECANCELED nobody asked for", a->index);
		atomic_fetch_add(&s->cancelled, 1);
	} else {
		CHECK_EQ_INT(r, -ESHUTDOWN);
		atomic_fetch_add(&s->shut, 1);
	}
	return 0;
}

/* Cancels about half of the waiters of each round, in random order, while the shutdown runs. */
static int sc_canceller(void *arg)
{
	sc *s = arg;
	unsigned seen = 0;
	for (;;) {
		unsigned g, spins = 0;
		while ((g = atomic_load(&s->go)) == seen && !atomic_load(&s->stop))
			if (++spins % 4096 == 0)
				CHECK_EQ_INT(cr_yield(), 0);
		if (g == seen)
			return 0;
		seen = g;
		unsigned start = (unsigned)(rnd(&s->rng) % s->n);
		for (unsigned k = 0; k < s->n; k++) {
			unsigned i = (start + k * 7) % s->n;
			if (rnd(&s->rng) % 2)
				continue;
			for (volatile unsigned d = rnd(&s->rng) % 300; d > 0; d--)
				;
			atomic_store(&s->asked[i], 1);
			int r = cr_cancel(s->t[i]);
			CHECK_MSG(r == 0 || r == -ESRCH, "cr_cancel returned %d", r);
		}
		atomic_store(&s->done, g);
	}
}

/* Waiters on every worker; worker 0 shuts the queue down while another worker cancels half of
 * them: each ends with -ESHUTDOWN or (only if asked) -ECANCELED, and none is left waiting. */
static void run_shutdown_cancel(int put_side, int immediate, unsigned rounds)
{
	static sc s;
	static sc_arg args[SD_PER_WORKER * CR_MAX_WORKERS];
	unsigned nw = cr_worker_count();
	unsigned per = SD_PER_WORKER / 4;
	uint64_t shut = 0, cancelled = 0;
	cr_task *ct;
	memset(&s, 0, sizeof(s));
	s.put_side = put_side;
	s.n = per * nw;
	s.rng = 0x3c6ef372fe94f82bull + (uint64_t)put_side * 2 + (uint64_t)immediate;
	cr_spawn_opts oc = on_worker(nw - 1, "sc-canceller");
	CHECK_OK(cr_spawn(&ct, sc_canceller, &s, &oc));
	uint64_t t0 = cr_now_ns();
	for (unsigned r = 1; r <= rounds; r++) {
		CHECK_EQ_INT(cr_queue_init(&s.q, sizeof(item), 1), 0);
		if (put_side) {
			item a = {1, 0};
			CHECK_EQ_INT(cr_queue_put_nowait(&s.q, &a), 0);
		}
		atomic_store(&s.entered, 0);
		atomic_store(&s.shut, 0);
		atomic_store(&s.cancelled, 0);
		for (unsigned i = 0; i < s.n; i++) {
			atomic_store(&s.asked[i], 0);
			args[i] = (sc_arg){&s, i};
			cr_spawn_opts o = on_worker(i % nw, "sc-waiter");
			CHECK_OK(cr_spawn(&s.t[i], sc_waiter, &args[i], &o));
		}
		CHECK_WAIT_UNTIL(atomic_load(&s.entered) == s.n, "the waiters to start");
		CHECK_EQ_INT(cr_sleep(r % 4 * 100000), 0); /* sometimes some are not parked yet */
		atomic_store(&s.go, r);
		CHECK_EQ_INT(cr_queue_shutdown(&s.q, immediate), 0);
		/* The canceller is done with the handles before they are joined. */
		CHECK_WAIT_UNTIL(atomic_load(&s.done) == r, "the canceller");
		for (unsigned i = 0; i < s.n; i++) {
			int res = -1;
			CHECK_EQ_INT(cr_join(s.t[i], &res), 0);
			CHECK_EQ_INT(res, 0);
		}
		CHECK_EQ_U64(atomic_load(&s.shut) + atomic_load(&s.cancelled), s.n);
		shut += atomic_load(&s.shut);
		cancelled += atomic_load(&s.cancelled);
		item it;
		if (put_side && !immediate) {
			CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), 0);
			CHECK_EQ_INT(cr_queue_task_done(&s.q), 0);
		}
		CHECK_EQ_INT(cr_queue_get_nowait(&s.q, &it), -ESHUTDOWN);
		CHECK_EQ_INT(cr_queue_destroy(&s.q), 0); /* nobody left waiting */
	}
	atomic_store(&s.stop, 1);
	CHECK_EQ_INT(cr_join(ct, NULL), 0);
	printf("shutdown(immediate=%d) racing cancels workers=%u: %u rounds of %u waiting %s, %llu "
	       "ended by the shutdown, %llu cancelled, in %.1f ms\n",
	       immediate, nw, rounds, s.n, put_side ? "puts" : "gets", (unsigned long long)shut,
	       (unsigned long long)cancelled, (double)(cr_now_ns() - t0) / 1e6);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int main_task(void *arg)
{
	unsigned nw = check_workers(arg);
	unsigned p = nw + 1 < MAX_PRODUCERS ? nw + 1 : MAX_PRODUCERS;
	unsigned c = nw + 1 < MAX_CONSUMERS ? nw + 1 : MAX_CONSUMERS;
	run_mpmc(CR_QUEUE_FIFO, 4, p, c);
	run_mpmc(CR_QUEUE_FIFO, 1, p, c);
	run_mpmc(CR_QUEUE_FIFO, 0, p, c);
	run_mpmc(CR_QUEUE_FIFO, 4, 1, c); /* one producer: its order reaches every consumer */
	run_mpmc(CR_QUEUE_LIFO, 4, p, c);
	run_mpmc(CR_QUEUE_PRIORITY, 0, p, c);
	run_shutdown_waiters(0, 0);
	run_shutdown_waiters(1, 0);
	run_shutdown_waiters(1, 1);
	run_shutdown_race(0, 3);
	run_shutdown_race(1, 3);
	run_shutdown_race(1, 0);
	run_put_passon(PASSON_ROUNDS);
	run_shutdown_cancel(0, 0, SC_ROUNDS);
	run_shutdown_cancel(1, 0, SC_ROUNDS);
	run_shutdown_cancel(1, 1, SC_ROUNDS);
	return 0;
}

int main(void)
{
	static const unsigned workers[] = {2, 4};
	return xthread_run(workers, N_WORKER_COUNTS(workers), main_task);
}
