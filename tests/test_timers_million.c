/* SPDX-License-Identifier: MIT */
/* test_timers_million: 1,000,000 pending cr_call_at timers (a third cancelled) fire once each in
 * deadline order, and 100,000 tasks sleep and wake on time. */
#include <coring.h>

#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define MS 1000000ull

#define N_TIMERS 1000000u
#define SPREAD_NS (200 * MS) /* deadlines spread over this window */
#define QUANTUM_NS 1000u     /* deadlines are multiples of 1 us, so many are equal */
#define N_SLEEPERS 100000u

/* Fixed-seed xorshift64* generator: the same run every time. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static double ms_since(uint64_t t0)
{
	return (double)(cr_now_ns() - t0) / 1e6;
}

static cr_stats stats_now(void)
{
	cr_stats s;
	CHECK_OK(cr_stats_get(&s));
	return s;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	CHECK_MSG(p != NULL, "calloc(%zu, %zu) failed", n, size);
	return p;
}

/* ---- one million callbacks ------------------------------------------------------------- */

static uint64_t *tm_deadline; /* per timer: its absolute deadline */
static uint64_t tm_base;      /* earliest possible deadline (for messages) */
static cr_callback_id *tm_id; /* per timer: its id */
static uint8_t *tm_runs;      /* per timer: how often it ran */
static uint32_t *tm_order;    /* timer indexes in the order they ran */
static uint32_t tm_nrun;      /* callbacks run so far */
static uint32_t tm_early;     /* callbacks that ran before their deadline */
static uint64_t tm_max_late;  /* largest delay past a deadline (ns), for the report */
static uint64_t tm_last_run;  /* when the last callback ran */

static void timer_cb(void *arg)
{
	uint32_t i = (uint32_t)(uintptr_t)arg;
	uint64_t now = cr_now_ns();
	if (now < tm_deadline[i])
		tm_early++;
	else if (now - tm_deadline[i] > tm_max_late)
		tm_max_late = now - tm_deadline[i];
	tm_last_run = now;
	if (tm_nrun < N_TIMERS)
		tm_order[tm_nrun] = i;
	tm_nrun++;
	if (tm_runs[i] < UINT8_MAX)
		tm_runs[i]++;
}

/* Checks that the callbacks ran once each, in (deadline, scheduling order) order. */
static void verify_timer_order(uint32_t expected)
{
	CHECK_EQ_U64(tm_nrun, expected);
	CHECK_EQ_U64(tm_early, 0);
	for (uint32_t i = 0; i < N_TIMERS; i++)
		CHECK_MSG(tm_runs[i] == (i % 3 != 0), "timer %u ran %u times (cancelled: %d)", i,
			  tm_runs[i], i % 3 == 0);
	uint32_t ties = 0;
	for (uint32_t k = 1; k < tm_nrun; k++) {
		uint32_t a = tm_order[k - 1], b = tm_order[k];
		ties += tm_deadline[a] == tm_deadline[b];
		int ordered = tm_deadline[a] < tm_deadline[b] ||
			      (tm_deadline[a] == tm_deadline[b] && a < b);
		CHECK_MSG(ordered,
			  "position %u: timer %u (deadline +%llu ns) ran before timer %u "
			  "(deadline +%llu ns)",
			  k, a, (unsigned long long)(tm_deadline[a] - tm_base), b,
			  (unsigned long long)(tm_deadline[b] - tm_base));
	}
	/* the deadlines are quantised, so the tie-break was exercised many times */
	printf("1M timers: %u neighbours with equal deadlines ran in scheduling order\n", ties);
	CHECK_GT_U64(ties, expected / 4);
}

static int main_million_timers(void *arg)
{
	(void)arg;
	tm_deadline = xcalloc(N_TIMERS, sizeof(*tm_deadline));
	tm_id = xcalloc(N_TIMERS, sizeof(*tm_id));
	tm_runs = xcalloc(N_TIMERS, sizeof(*tm_runs));
	tm_order = xcalloc(N_TIMERS, sizeof(*tm_order));
	cr_stats s0 = stats_now();
	CHECK_EQ_U64(s0.timers_pending, 0);

	/* deadlines in random order; scheduling order is the index */
	uint64_t t0 = cr_now_ns();
	uint64_t last = 0;
	tm_base = t0 + 50 * MS;
	for (uint32_t i = 0; i < N_TIMERS; i++) {
		tm_deadline[i] = tm_base + (rng_next() % (SPREAD_NS / QUANTUM_NS)) * QUANTUM_NS;
		if (tm_deadline[i] > last)
			last = tm_deadline[i];
	}
	for (uint32_t i = 0; i < N_TIMERS; i++) {
		tm_id[i] = cr_call_at(tm_deadline[i], timer_cb, (void *)(uintptr_t)i);
		CHECK_MSG(tm_id[i] != 0, "cr_call_at #%u failed", i);
	}
	double t_sched = ms_since(t0);
	CHECK_EQ_U64(stats_now().timers_pending, N_TIMERS);
	CHECK_EQ_U64(tm_nrun, 0); /* nothing runs before main waits */

	uint64_t t1 = cr_now_ns();
	uint32_t cancelled = 0;
	for (uint32_t i = 0; i < N_TIMERS; i += 3) {
		int r = cr_callback_cancel(tm_id[i]);
		CHECK_MSG(r == 0, "cancel #%u: %d", i, r);
		cancelled++;
	}
	double t_cancel = ms_since(t1);
	/* cancelled timers are gone from the heap at once */
	CHECK_EQ_U64(stats_now().timers_pending, N_TIMERS - cancelled);
	CHECK_EQ_INT(cr_callback_cancel(tm_id[0]), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(tm_id[N_TIMERS - 1]), -ENOENT); /* 999999 % 3 == 0 */

	uint64_t t2 = cr_now_ns();
	uint32_t expected = N_TIMERS - cancelled;
	CHECK_OK(cr_sleep_until(last));
	uint64_t give_up = cr_now_ns() + 30000 * MS;
	while (tm_nrun < expected && cr_now_ns() < give_up)
		CHECK_OK(cr_sleep(1 * MS));
	double t_wait = ms_since(t2);
	CHECK_GE_U64(cr_now_ns(), last);
	printf("1M timers: schedule %.1f ms, cancel %u in %.1f ms, wait %.1f ms; last deadline "
	       "at +%.1f ms, last callback at +%.1f ms, max lateness %.1f ms; total %.1f ms\n",
	       t_sched, cancelled, t_cancel, t_wait, (double)(last - t0) / 1e6,
	       (double)(tm_last_run - t0) / 1e6, (double)tm_max_late / 1e6, ms_since(t0));

	verify_timer_order(expected);
	cr_stats s1 = stats_now();
	CHECK_EQ_U64(s1.timers_pending, 0);
	CHECK_EQ_U64(s1.callbacks_run - s0.callbacks_run, expected);
	CHECK_GE_U64(s1.timers_fired - s0.timers_fired, expected);
	/* ran ones cannot be cancelled any more */
	CHECK_EQ_INT(cr_callback_cancel(tm_id[1]), -ENOENT);
	CHECK_EQ_INT(cr_callback_cancel(tm_id[N_TIMERS - 2]), -ENOENT);

	free(tm_deadline);
	free(tm_id);
	free(tm_runs);
	free(tm_order);
	return 0;
}

/* ---- one hundred thousand sleeping tasks ------------------------------------------------ */

static uint64_t *sl_ns;	     /* per task: how long it sleeps */
static uint8_t *sl_woke;     /* per task: 1 once it woke on time */
static uint32_t sl_started;  /* tasks that began their sleep */
static uint64_t sl_max_late; /* largest delay past a wake-up time (ns), for the report */

/* Sleeps sl_ns[i]; returns 0 if it woke no earlier than asked, else an error. */
static int sleeper(void *arg)
{
	uint32_t i = (uint32_t)(uintptr_t)arg;
	uint64_t start = cr_now_ns();
	sl_started++;
	int r = cr_sleep(sl_ns[i]);
	uint64_t end = cr_now_ns();
	if (r < 0)
		return r;
	if (end < start + sl_ns[i])
		return -EPROTO; /* woke early */
	if (end - (start + sl_ns[i]) > sl_max_late)
		sl_max_late = end - (start + sl_ns[i]);
	sl_woke[i]++;
	return 0;
}

static int main_sleepers(void *arg)
{
	(void)arg;
	sl_ns = xcalloc(N_SLEEPERS, sizeof(*sl_ns));
	sl_woke = xcalloc(N_SLEEPERS, sizeof(*sl_woke));
	cr_task **tasks = xcalloc(N_SLEEPERS, sizeof(*tasks));
	uint32_t *perm = xcalloc(N_SLEEPERS, sizeof(*perm));

	/* distinct durations: 1 ms + a random permutation of N steps of 990 ns (< 100 ms) */
	for (uint32_t i = 0; i < N_SLEEPERS; i++)
		perm[i] = i;
	for (uint32_t i = N_SLEEPERS - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rng_next() % (i + 1));
		uint32_t tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (uint32_t i = 0; i < N_SLEEPERS; i++)
		sl_ns[i] = 1 * MS + (uint64_t)perm[i] * (99 * MS / N_SLEEPERS);
	free(perm);

	cr_spawn_opts opts = {.name = "sleeper", .stack_size = 16 * 1024};
	uint64_t t0 = cr_now_ns();
	for (uint32_t i = 0; i < N_SLEEPERS; i++) {
		int r = cr_spawn(&tasks[i], sleeper, (void *)(uintptr_t)i, &opts);
		CHECK_MSG(r == 0, "spawn #%u: %d (%s)", i, r, strerror(-r));
	}
	double t_spawn = ms_since(t0);
	cr_stats s = stats_now();
	CHECK_EQ_U64(s.tasks_alive, N_SLEEPERS + 1);

	uint64_t t1 = cr_now_ns();
	uint32_t failures = 0;
	for (uint32_t i = 0; i < N_SLEEPERS; i++) {
		int res = 0;
		CHECK_OK(cr_join(tasks[i], &res));
		if (res != 0 && failures++ < 10)
			fprintf(stderr, "sleeper %u (%.3f ms): %d (%s)\n", i,
				(double)sl_ns[i] / 1e6, res, strerror(-res));
	}
	double t_join = ms_since(t1);
	printf("100k sleepers (16 KiB stacks): spawn %.1f ms, all woke after %.1f ms (max "
	       "lateness %.1f ms), total %.1f ms\n",
	       t_spawn, t_join, (double)sl_max_late / 1e6, ms_since(t0));
	CHECK_EQ_U64(failures, 0);
	CHECK_EQ_U64(sl_started, N_SLEEPERS);
	for (uint32_t i = 0; i < N_SLEEPERS; i++)
		CHECK_MSG(sl_woke[i] == 1, "sleeper %u woke %u times", i, sl_woke[i]);
	s = stats_now();
	CHECK_EQ_U64(s.tasks_alive, 1);
	CHECK_EQ_U64(s.timers_pending, 0);
	free(tasks);
	free(sl_ns);
	free(sl_woke);
	return 0;
}

int main(void)
{
	CHECK_EQ_INT(check_run(NULL, main_million_timers, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_sleepers, NULL), 0);
	printf("test_timers_million: OK\n");
	return 0;
}
