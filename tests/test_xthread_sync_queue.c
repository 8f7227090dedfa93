/* SPDX-License-Identifier: MIT */
/* Queue stress across workers: MPMC exactly-once delivery, per-producer order, join, shutdown. */
#include <stdatomic.h>
#include <unistd.h>

#include "xthread_cases.h"

#if defined(STRESS_SMALL)
#define ITEMS_PER_PRODUCER 10000u /* items each producer puts */
#define SHUTDOWN_ROUNDS 100u	  /* shutdowns racing with puts and gets */
#define RACE_ITEMS 2000u	  /* most items per producer in a shutdown race */
#else
#define ITEMS_PER_PRODUCER 40000u
#define SHUTDOWN_ROUNDS 300u
#define RACE_ITEMS 4000u
#endif
#define SD_PER_WORKER 40u /* waiters per worker ended by a shutdown */
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
	return 0;
}

int main(void)
{
	static const unsigned workers[] = {2, 4};
	return xthread_run(workers, N_WORKER_COUNTS(workers), main_task);
}
