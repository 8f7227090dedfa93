/* SPDX-License-Identifier: MIT */
/* Cross-worker wake-ups on wait records: ping-pong, fan-out/fan-in, latency, lost wake-ups. */
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"

#include "../runtime/wait.h"
#include "../runtime/remote.h"
#include "../runtime/worker.h"

#if defined(CHECK_UNDER_TSAN)
#define PINGPONG_N 150000u /* round trips, 2 workers */
#define PINGPONG4_N 10000u /* round trips per pair, 4 workers */
#define FAN_K 64u	   /* fan-out width */
#define FAN_ROUNDS 2000u
#define FAN4_ROUNDS 500u
#else
#define PINGPONG_N 500000u
#define PINGPONG4_N 20000u
#define FAN_K 128u
#define FAN_ROUNDS 4000u
#define FAN4_ROUNDS 1500u
#endif

/* Most time one ping-pong run may take; on a loaded machine the workers
 * sleep between wake-ups and each costs tens of microseconds. */
#if defined(CHECK_UNDER_TSAN)
#define PINGPONG_BUDGET_NS (5000ull * 1000000ull)
#else
#define PINGPONG_BUDGET_NS (3000ull * 1000000ull)
#endif

/* Slack for wake-ups and messages that are not the test's own (spawns,
 * joins, stats requests). */
#define OTHER_MSGS_SLACK 256u

typedef _Atomic(cr__wait *) wait_slot;

/* Takes the wait record the peer published in *slot, yielding until there is
 * one.  Returns it. */
static cr__wait *take(wait_slot *slot)
{
	cr__wait *w;
	while (!(w = atomic_exchange_explicit(slot, NULL, memory_order_acq_rel)))
		CHECK_EQ_INT(cr_yield(), 0);
	return w;
}

/* Prepares w for the current task and publishes it in *slot. */
static void publish(wait_slot *slot, cr__wait *w)
{
	CHECK_EQ_INT(cr__wait_prepare(), 0);
	cr__wait_init(w, NULL);
	CHECK(atomic_load_explicit(slot, memory_order_relaxed) == NULL);
	atomic_store_explicit(slot, w, memory_order_release);
}

/* ---- counters over all workers ---------------------------------------------------- */

typedef struct totals {
	uint64_t enter_calls, doorbells, sent, received, messages, switches;
} totals;

static totals snapshot(void)
{
	totals t = {0};
	for (unsigned i = 0; i < cr_worker_count(); i++) {
		cr_stats s;
		CHECK_EQ_INT(cr_stats_get_worker(i, &s), 0);
		t.enter_calls += s.enter_calls;
		t.doorbells += s.doorbells_sent;
		t.sent += s.wakeups_sent;
		t.received += s.wakeups_received;
		t.messages += s.messages;
		t.switches += s.switches;
	}
	return t;
}

static totals diff(totals a, totals b)
{
	return (totals){
		b.enter_calls - a.enter_calls, b.doorbells - a.doorbells, b.sent - a.sent,
		b.received - a.received,       b.messages - a.messages,	  b.switches - a.switches};
}

/* Checks the cross-worker wake-up counters against the expected number. */
static void check_wake_counts(const char *what, totals d, uint64_t cross)
{
	CHECK_MSG(d.sent >= cross && d.sent <= cross + OTHER_MSGS_SLACK,
		  "%s: wakeups_sent grew by %llu, expected %llu (+ at most %u others)", what,
		  (unsigned long long)d.sent, (unsigned long long)cross, OTHER_MSGS_SLACK);
	CHECK_MSG(d.received == d.sent,
		  "%s: wakeups_received grew by %llu but wakeups_sent by %llu", what,
		  (unsigned long long)d.received, (unsigned long long)d.sent);
	CHECK_MSG(d.doorbells <= d.sent + OTHER_MSGS_SLACK,
		  "%s: %llu doorbells for %llu wake-ups: more than one per wake-up", what,
		  (unsigned long long)d.doorbells, (unsigned long long)d.sent);
}

/* ---- ping-pong ---------------------------------------------------------------------- */

/* One ping-pong pair: side 0 and side 1 on different workers. */
typedef struct pingpong {
	wait_slot slot[2];   /* wait published by side i, to be woken by the other side */
	uint64_t sent_ns[2]; /* when the wake of side i was sent (written by the waker) */
	uint32_t n;	     /* most round trips */
	uint64_t budget_ns;  /* ... or stop after this long (a loaded machine) */
	unsigned worker[2];  /* where each side runs */
	uint64_t *lat;	     /* 2n wake-up latencies: even = into side 1, odd = into side 0 */
	uint32_t got[2];     /* wake-ups each side received (the stop excluded) */
	uint32_t done;	     /* round trips made (written by side 0) */
} pingpong;

/* Side 0: starts every round trip, then waits for the reply; ends the
 * exchange by waking side 1 with 0 after n round trips or the time budget. */
static int ping(void *arg)
{
	pingpong *pp = arg;
	uint64_t end = cr_now_ns() + pp->budget_ns;
	uint32_t k;
	CHECK_EQ_INT(cr_worker_id(), (int)pp->worker[0]);
	for (k = 1;; k++) {
		cr__wait *peer = take(&pp->slot[1]);
		cr__wait w;
		uint64_t now = cr_now_ns();
		if (k > pp->n || now >= end) {
			cr__wake(peer, 0); /* stop */
			break;
		}
		publish(&pp->slot[0], &w);
		pp->sent_ns[1] = now;
		cr__wake(peer, (int)k);
		int v = cr__wait_park(&w);
		now = cr_now_ns();
		CHECK_MSG(v == (int)k, "ping: woken with %d, expected %u", v, k);
		pp->lat[2 * (k - 1) + 1] = now - pp->sent_ns[0];
		pp->got[0]++;
	}
	pp->done = k - 1;
	return 0;
}

/* Side 1: answers every wake with the same sequence number until woken with 0. */
static int pong(void *arg)
{
	pingpong *pp = arg;
	cr__wait w;
	CHECK_EQ_INT(cr_worker_id(), (int)pp->worker[1]);
	publish(&pp->slot[1], &w);
	for (uint32_t k = 1;; k++) {
		int v = cr__wait_park(&w);
		uint64_t now = cr_now_ns();
		if (v == 0)
			break;
		CHECK_MSG(v == (int)k, "pong: woken with %d, expected %u", v, k);
		pp->lat[2 * (k - 1)] = now - pp->sent_ns[1];
		pp->got[1]++;
		cr__wait *peer = take(&pp->slot[0]);
		publish(&pp->slot[1], &w); /* for the next round trip or the stop */
		pp->sent_ns[0] = cr_now_ns();
		cr__wake(peer, (int)k);
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Runs `pairs` ping-pong pairs at once (pair p: workers 2p and 2p+1), each
 * for n round trips or budget_ns, and reports rate, latency and syscalls
 * per wake-up. */
static void run_pingpong(unsigned pairs, uint32_t n, uint64_t budget_ns)
{
	pingpong pp[2];
	cr_task *t[4];
	CHECK(pairs <= 2 && 2 * pairs <= cr_worker_count());
	for (unsigned p = 0; p < pairs; p++) {
		memset(&pp[p], 0, sizeof(pp[p]));
		pp[p].n = n;
		pp[p].budget_ns = budget_ns;
		pp[p].worker[0] = 2 * p;
		pp[p].worker[1] = 2 * p + 1;
		pp[p].lat = calloc(2 * (size_t)n, sizeof(uint64_t));
		CHECK(pp[p].lat != NULL);
	}
	totals before = snapshot();
	uint64_t t0 = cr_now_ns();
	for (unsigned p = 0; p < pairs; p++) {
		cr_spawn_opts o0 = {
			.name = "ping", .placement = CR_ON_WORKER, .worker = pp[p].worker[0]};
		cr_spawn_opts o1 = {
			.name = "pong", .placement = CR_ON_WORKER, .worker = pp[p].worker[1]};
		CHECK_OK(cr_spawn(&t[2 * p + 1], pong, &pp[p], &o1));
		CHECK_OK(cr_spawn(&t[2 * p], ping, &pp[p], &o0));
	}
	for (unsigned i = 0; i < 2 * pairs; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	uint64_t elapsed = cr_now_ns() - t0;
	totals d = diff(before, snapshot());

	uint64_t trips = 0, wakes = 0, cross = 0;
	size_t nl = 0;
	for (unsigned p = 0; p < pairs; p++) {
		CHECK_GE_U64(pp[p].done, 1);
		CHECK_EQ_U64(pp[p].got[0], pp[p].done);
		CHECK_EQ_U64(pp[p].got[1], pp[p].done);
		trips += pp[p].done;
		wakes += 2ull * pp[p].done;
		cross += 2ull * pp[p].done + 1; /* + the stop */
		nl += 2 * (size_t)pp[p].done;
	}
	uint64_t *all = malloc(nl * sizeof(uint64_t));
	CHECK(all != NULL);
	size_t at = 0;
	for (unsigned p = 0; p < pairs; p++) {
		memcpy(all + at, pp[p].lat, 2 * (size_t)pp[p].done * sizeof(uint64_t));
		at += 2 * (size_t)pp[p].done;
		free(pp[p].lat);
	}
	qsort(all, nl, sizeof(uint64_t), cmp_u64);
	check_wake_counts("ping-pong", d, cross);
	printf("PINGPONG workers=%u pairs=%u: %llu round trips in all%s in %.1f ms = %.0f round "
	       "trips/s "
	       "per pair; wake-up latency median %.2f us p99 %.2f us max %.1f us; per wake-up: "
	       "%.4f io_uring_enter, %.4f doorbells (%llu wake-ups sent, %llu received, %llu "
	       "enters, %llu doorbells)\n",
	       cr_worker_count(), pairs, (unsigned long long)trips,
	       trips < (uint64_t)n * pairs ? " (cut short by the time budget)" : "",
	       (double)elapsed / 1e6, (double)trips / pairs / ((double)elapsed / 1e9),
	       (double)all[nl / 2] / 1e3, (double)all[nl * 99 / 100] / 1e3,
	       (double)all[nl - 1] / 1e3, (double)d.enter_calls / (double)wakes,
	       (double)d.doorbells / (double)wakes, (unsigned long long)d.sent,
	       (unsigned long long)d.received, (unsigned long long)d.enter_calls,
	       (unsigned long long)d.doorbells);
	free(all);
}

/* ---- fan-out / fan-in ----------------------------------------------------------------- */

/* Worker 0 wakes k tasks spread over all workers; each wakes its collector
 * on worker 0 back; the last collector of a round wakes the coordinator. */
typedef struct fan {
	unsigned k;		 /* fan-out width */
	unsigned rounds;	 /* rounds */
	wait_slot *out_slot;	 /* per remote task: its published wait */
	wait_slot *back_slot;	 /* per collector (worker 0): its published wait */
	cr__wait *coord;	 /* coordinator's wait (worker 0 only) */
	unsigned arrived;	 /* collectors woken this round (worker 0 only) */
	uint32_t *remote_got;	 /* wake-ups received per remote task */
	uint32_t *collector_got; /* wake-ups received per collector */
	int *remote_worker;	 /* worker of each remote task */
} fan;

typedef struct fan_arg {
	fan *f;	    /* shared state */
	unsigned i; /* index */
} fan_arg;

static int fan_remote(void *arg)
{
	fan_arg *a = arg;
	fan *f = a->f;
	cr__wait w;
	f->remote_worker[a->i] = cr_worker_id();
	publish(&f->out_slot[a->i], &w);
	for (unsigned r = 1; r <= f->rounds; r++) {
		int v = cr__wait_park(&w);
		CHECK_MSG(v == (int)r, "remote %u: woken with %d in round %u", a->i, v, r);
		f->remote_got[a->i]++;
		if (r < f->rounds)
			publish(&f->out_slot[a->i], &w);
		cr__wake(take(&f->back_slot[a->i]), (int)r);
	}
	return 0;
}

static int fan_collector(void *arg)
{
	fan_arg *a = arg;
	fan *f = a->f;
	cr__wait w;
	CHECK_EQ_INT(cr_worker_id(), 0);
	publish(&f->back_slot[a->i], &w);
	for (unsigned r = 1; r <= f->rounds; r++) {
		int v = cr__wait_park(&w);
		CHECK_MSG(v == (int)r, "collector %u: woken with %d in round %u", a->i, v, r);
		f->collector_got[a->i]++;
		if (r < f->rounds)
			publish(&f->back_slot[a->i], &w);
		if (++f->arrived == f->k) {
			cr__wait *c = f->coord;
			CHECK(c != NULL);
			f->arrived = 0;
			f->coord = NULL;
			cr__wake(c, (int)r);
		}
	}
	return 0;
}

static void run_fan(unsigned k, unsigned rounds)
{
	unsigned nw = cr_worker_count();
	fan f = {.k = k, .rounds = rounds};
	f.out_slot = calloc(k, sizeof(wait_slot));
	f.back_slot = calloc(k, sizeof(wait_slot));
	f.remote_got = calloc(k, sizeof(uint32_t));
	f.collector_got = calloc(k, sizeof(uint32_t));
	f.remote_worker = calloc(k, sizeof(int));
	fan_arg *args = calloc(k, sizeof(fan_arg));
	cr_task **remotes = calloc(k, sizeof(cr_task *));
	cr_task **collectors = calloc(k, sizeof(cr_task *));
	CHECK(f.out_slot && f.back_slot && f.remote_got && f.collector_got && f.remote_worker &&
	      args && remotes && collectors);

	totals before = snapshot();
	uint64_t t0 = cr_now_ns();
	for (unsigned i = 0; i < k; i++) {
		args[i] = (fan_arg){&f, i};
		cr_spawn_opts any = {.name = "fan-remote", .placement = CR_ON_ANY};
		CHECK_OK(cr_spawn(&collectors[i], fan_collector, &args[i], NULL));
		CHECK_OK(cr_spawn(&remotes[i], fan_remote, &args[i], &any));
	}
	for (unsigned r = 1; r <= rounds; r++) {
		cr__wait cw;
		CHECK(f.coord == NULL && f.arrived == 0);
		CHECK_EQ_INT(cr__wait_prepare(), 0);
		cr__wait_init(&cw, NULL);
		f.coord = &cw;
		for (unsigned i = 0; i < k; i++)
			cr__wake(take(&f.out_slot[i]), (int)r);
		int v = cr__wait_park(&cw);
		CHECK_MSG(v == (int)r, "coordinator: woken with %d in round %u", v, r);
	}
	for (unsigned i = 0; i < k; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(remotes[i], &res), 0);
		CHECK_EQ_INT(res, 0);
		CHECK_EQ_INT(cr_join(collectors[i], &res), 0);
		CHECK_EQ_INT(res, 0);
	}
	uint64_t elapsed = cr_now_ns() - t0;
	totals d = diff(before, snapshot());

	unsigned *per_worker = calloc(nw, sizeof(unsigned));
	uint64_t remote_total = 0, collector_total = 0, cross = 0;
	for (unsigned i = 0; i < k; i++) {
		CHECK_EQ_U64(f.remote_got[i], rounds);
		CHECK_EQ_U64(f.collector_got[i], rounds);
		remote_total += f.remote_got[i];
		collector_total += f.collector_got[i];
		CHECK(f.remote_worker[i] >= 0 && f.remote_worker[i] < (int)nw);
		per_worker[f.remote_worker[i]]++;
		if (f.remote_worker[i] != 0)
			cross += 2ull * rounds; /* out and back cross workers */
	}
	for (unsigned i = 0; i < nw; i++)
		CHECK_MSG(per_worker[i] > 0, "no fan-out task landed on worker %u", i);
	CHECK_EQ_U64(remote_total, (uint64_t)k * rounds);
	CHECK_EQ_U64(collector_total, (uint64_t)k * rounds);
	check_wake_counts("fan-out/fan-in", d, cross);
	uint64_t wakes = 2ull * k * rounds + rounds;
	printf("FAN workers=%u k=%u rounds=%u: %llu wake-ups (%llu cross-worker) counted exactly "
	       "once in %.1f ms = %.2f M wake-ups/s; per cross-worker wake-up: %.4f "
	       "io_uring_enter, %.4f doorbells\n",
	       nw, k, rounds, (unsigned long long)wakes, (unsigned long long)cross,
	       (double)elapsed / 1e6, (double)wakes / ((double)elapsed / 1e9) / 1e6,
	       cross ? (double)d.enter_calls / (double)cross : 0.0,
	       cross ? (double)d.doorbells / (double)cross : 0.0);
	free(per_worker);
	free(f.out_slot);
	free(f.back_slot);
	free(f.remote_got);
	free(f.collector_got);
	free(f.remote_worker);
	free(args);
	free(remotes);
	free(collectors);
}

/* ---- a doorbell that arrives while the target is awake -----------------------------------------
 */

/*
 * A real interleaving, forced: a waker W loads target T's `sleeping` == 1
 * while T is still in io_uring_enter; T returns (timer or I/O), stores
 * sleeping = 0 and bell_rung = 0; only then W's exchange sets bell_rung = 1
 * and W rings.  T, busy, reaps that doorbell CQE in a non-blocking poll.  T
 * later sleeps with bell_rung still 1.  The next wake-up posted to T must
 * still wake it ("no wake-up is ever lost").  The test plays W on worker 0
 * with cr__remote_poke while the target task holds sleeping = 1 on worker 1.
 */
typedef struct stale {
	_Atomic int phase;   /* 1: target pretends to sleep; 2: poke done */
	wait_slot slot;	     /* the target's wait */
	_Atomic int resumed; /* 1 once the target got the wake-up */
	_Atomic int y_stop;  /* ends the yielder */
	int bell_after_poke; /* bell_rung seen by the target after the poke */
	uint64_t cqes;	     /* CQEs the target's worker reaped while busy */
} stale;

static int stale_yielder(void *arg)
{
	stale *s = arg;
	while (!atomic_load(&s->y_stop))
		CHECK_EQ_INT(cr_yield(), 0);
	return 0;
}

static int stale_target(void *arg)
{
	stale *s = arg;
	cr__worker *self = cr__self();
	cr_stats a, b;
	cr_task *y;
	cr__wait w;
	CHECK_EQ_INT(cr_worker_id(), 1);
	/* Seen from the waker, this worker is still inside io_uring_enter. */
	atomic_store(&self->sleeping, 1);
	atomic_store(&s->phase, 1);
	while (atomic_load(&s->phase) != 2)
		;
	/* It "returned" before the exchange: sleeping = 0, bell_rung as the waker left it. */
	atomic_store(&self->sleeping, 0);
	s->bell_after_poke = atomic_load(&self->bell_rung);
	/* Busy (a ready task and I/O to submit): the loop polls without blocking
	 * and reaps the doorbell's CQE on the way. */
	CHECK_OK(cr_spawn(&y, stale_yielder, s, NULL));
	CHECK_OK(cr_stats_get(&a));
	for (int i = 0; i < 20; i++)
		CHECK_EQ_INT(cr_nop(), 0);
	CHECK_OK(cr_stats_get(&b));
	s->cqes = b.cqes - a.cqes;
	atomic_store(&s->y_stop, 1);
	CHECK_EQ_INT(cr_join(y, NULL), 0);
	/* Idle again: park and let the worker sleep; worker 0 wakes us later. */
	publish(&s->slot, &w);
	int v = cr__wait_park(&w);
	CHECK_EQ_INT(v, 1234);
	atomic_store(&s->resumed, 1);
	return 0;
}

static void run_stale_doorbell(void)
{
	static stale s;
	cr__worker *w1 = cr__self()->rt->workers[1];
	cr_task *t;
	cr_spawn_opts o1 = {.name = "stale-target", .placement = CR_ON_WORKER, .worker = 1};
	memset(&s, 0, sizeof(s));
	CHECK_OK(cr_spawn(&t, stale_target, &s, &o1));
	while (atomic_load(&s.phase) != 1)
		CHECK_EQ_INT(cr_yield(), 0);
	cr__remote_poke(w1); /* the late exchange: rings a worker that is awake */
	atomic_store(&s.phase, 2);
	cr__wait *tw = take(&s.slot);
	CHECK_EQ_INT(cr_sleep(50 * 1000000ull), 0); /* worker 1 is asleep in io_uring_enter now */
	uint64_t t0 = cr_now_ns();
	cr__wake(tw, 1234);
	while (!atomic_load(&s.resumed) && cr_now_ns() - t0 < 2000000000ull)
		CHECK_EQ_INT(cr_sleep(1000000ull), 0);
	int lost = !atomic_load(&s.resumed);
	uint64_t waited = cr_now_ns() - t0;
	if (lost) {
		/* Rescue, so that the failure is reported instead of a hang. */
		atomic_store(&w1->bell_rung, 0);
		cr__remote_poke(w1);
	}
	CHECK_EQ_INT(cr_join(t, NULL), 0);
	printf("stale doorbell: bell_rung after the late poke %d, %llu CQEs reaped while busy; the "
	       "next wake-up %s after %.1f ms\n",
	       s.bell_after_poke, (unsigned long long)s.cqes,
	       lost ? "was LOST (rescued by hand)" : "arrived", (double)waited / 1e6);
	CHECK_MSG(!lost,
		  "lost wake-up: worker 1 slept through a cross-worker wake for %.1f ms because "
		  "bell_rung stayed 1 after its doorbell CQE was reaped by a non-blocking poll",
		  (double)waited / 1e6);
}

/* ---- main tasks ------------------------------------------------------------------------ */

static int main_two_workers(void *arg)
{
	(void)arg;
	CHECK_EQ_U64(cr_worker_count(), 2);
	CHECK_EQ_INT(cr_worker_id(), 0);
	run_pingpong(1, PINGPONG_N, PINGPONG_BUDGET_NS);
	run_fan(FAN_K, FAN_ROUNDS);
	return 0;
}

static int main_stale_doorbell(void *arg)
{
	(void)arg;
	run_stale_doorbell();
	return 0;
}

/* Four workers on (typically) two cores: workers are descheduled and go to
 * sleep in io_uring_enter, so wake-ups take the doorbell path. */
static int main_four_workers(void *arg)
{
	(void)arg;
	CHECK_EQ_U64(cr_worker_count(), 4);
	run_pingpong(2, PINGPONG4_N, PINGPONG_BUDGET_NS);
	run_fan(FAN_K, FAN4_ROUNDS);
	return 0;
}

int main(void)
{
	cr_config cfg;
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_watchdog(60);
#if defined(CHECK_UNDER_TSAN)
	printf("TSan build: ping-pong %u (2 workers) / %u per pair (4 workers) round trips, "
	       "fan-out k=%u rounds %u / %u\n",
	       PINGPONG_N, PINGPONG4_N, FAN_K, FAN_ROUNDS, FAN4_ROUNDS);
#endif
	printf("online CPUs: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	cr_config_init(&cfg);
	cfg.workers = 2;
	CHECK_EQ_INT(check_run(&cfg, main_two_workers, NULL), 0);
	cfg.workers = 4;
	CHECK_EQ_INT(check_run(&cfg, main_four_workers, NULL), 0);
	cfg.workers = 2;
	CHECK_EQ_INT(check_run(&cfg, main_stale_doorbell, NULL), 0);
	return 0;
}
