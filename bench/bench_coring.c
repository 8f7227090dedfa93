/* SPDX-License-Identifier: MIT */
/* Runtime-core measurements through the public API only; each runs inside a task of cr_run. */
#include <coring.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* Returns the calling worker's io_uring_enter count (0 if it cannot be read). */
static uint64_t enter_calls(void)
{
	cr_stats s;
	return cr_stats_get(&s) == 0 ? s.enter_calls : 0;
}

/* Fills out with only a main value: elapsed ns divided by ops. */
static void per_op(bench_sample *out, uint64_t elapsed, uint64_t ops)
{
	memset(out, 0, sizeof(*out));
	out->value = (double)elapsed / (double)ops;
}

static int empty_task(void *arg)
{
	(void)arg;
	return 0;
}

/* Spawns n tasks running fn(arg) on this worker and joins them all.  Returns 0, the first
 * error of cr_spawn / cr_join, or -EIO if a task returned non-zero. */
static int spawn_and_join(unsigned n, cr_task_fn fn, void *arg)
{
	cr_task *t[64];
	int r = 0, res = 0;
	if (n > 64)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		r = cr_spawn(&t[i], fn, arg, NULL);
		if (r < 0) {
			n = i;
			break;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int rr = cr_join(t[i], &res);
		if (r == 0)
			r = rr < 0 ? rr : (res != 0 ? -EIO : 0);
	}
	return r;
}

/* ---- yield, sleep(0), spawn + join ------------------------------------------------------ */

/* Task body: cr_yield *(uint64_t *)arg times.  Returns 0 or the first error. */
static int yield_loop(void *arg)
{
	uint64_t n = *(const uint64_t *)arg;
	for (uint64_t i = 0; i < n; i++) {
		int r = cr_yield();
		if (r)
			return r;
	}
	return 0;
}

int bench_yield(uint64_t iters, bench_sample *out)
{
	uint64_t each = iters / 2;
	uint64_t t0 = cr_now_ns();
	int r = spawn_and_join(2, yield_loop, &each);
	per_op(out, cr_now_ns() - t0, 2 * each);
	return r;
}

int bench_sleep0(uint64_t iters, bench_sample *out)
{
	uint64_t t0 = cr_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		int r = cr_sleep(0);
		if (r)
			return r;
	}
	per_op(out, cr_now_ns() - t0, iters);
	return 0;
}

int bench_spawn_join(uint64_t iters, bench_sample *out)
{
	uint64_t t0 = cr_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		cr_task *t;
		int r = cr_spawn(&t, empty_task, NULL, NULL);
		if (r == 0)
			r = cr_join(t, NULL);
		if (r)
			return r;
	}
	per_op(out, cr_now_ns() - t0, iters);
	return 0;
}

/* ---- cr_nop --------------------------------------------------------------------------- */

/* Task body: cr_nop *(uint64_t *)arg times.  Returns 0 or the first error. */
static int nop_loop(void *arg)
{
	uint64_t n = *(const uint64_t *)arg;
	for (uint64_t i = 0; i < n; i++) {
		int r = cr_nop();
		if (r)
			return r;
	}
	return 0;
}

/* Runs `tasks` tasks of iters/tasks NOPs each; value ns per NOP, extra[0] enters per NOP. */
static int nops(uint64_t iters, unsigned tasks, bench_sample *out)
{
	uint64_t each = iters / tasks;
	uint64_t e0 = enter_calls();
	uint64_t t0 = cr_now_ns();
	int r = tasks == 1 ? nop_loop(&each) : spawn_and_join(tasks, nop_loop, &each);
	uint64_t elapsed = cr_now_ns() - t0;
	per_op(out, elapsed, each * tasks);
	out->extra[0] = (double)(enter_calls() - e0) / (double)(each * tasks);
	return r;
}

int bench_nop(uint64_t iters, bench_sample *out)
{
	return nops(iters, 1, out);
}

int bench_nop64(uint64_t iters, bench_sample *out)
{
	return nops(iters, 64, out);
}

/* ---- callbacks and timers ----------------------------------------------------------------- */

#define SOON_BATCH 1024u

static void count_cb(void *arg)
{
	(*(uint64_t *)arg)++;
}

int bench_call_soon(uint64_t iters, bench_sample *out)
{
	uint64_t ran = 0, batches = iters / SOON_BATCH;
	uint64_t t0 = cr_now_ns();
	for (uint64_t b = 0; b < batches; b++) {
		for (unsigned i = 0; i < SOON_BATCH; i++)
			if (!cr_call_soon(count_cb, &ran))
				return -ENOMEM;
		int r = cr_yield(); /* the batch runs before this task resumes (FIFO) */
		if (r)
			return r;
	}
	per_op(out, cr_now_ns() - t0, batches * SOON_BATCH);
	return ran == batches * SOON_BATCH ? 0 : -EPROTO;
}

#define MS 1000000ull
#define TIMER_LEAD_NS (150 * MS)   /* first deadline after the start: scheduling ends before */
#define TIMER_SPREAD_NS (100 * MS) /* deadlines spread uniformly over this window */

static uint64_t tm_ran;	 /* timer callbacks run in this round */
static uint64_t tm_want; /* timer callbacks expected */
static uint64_t tm_last; /* when the last one ran */

static void timer_cb(void *arg)
{
	(void)arg;
	if (++tm_ran == tm_want)
		tm_last = cr_now_ns();
}

/* Fixed-seed xorshift64*: the same deadlines in every run.  Returns the next number. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Schedules n timers at random deadlines in [base, base + spread).  Returns the latest
 * deadline, or 0 if a cr_call_at failed. */
static uint64_t schedule_timers(uint64_t n, uint64_t base)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, latest = base;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t when = base + rng_next(&seed) % TIMER_SPREAD_NS;
		if (!cr_call_at(when, timer_cb, NULL))
			return 0;
		latest = when > latest ? when : latest;
	}
	return latest;
}

int bench_timers(uint64_t iters, bench_sample *out)
{
	tm_ran = 0;
	tm_want = iters;
	uint64_t cpu0 = bench_thread_cpu_ns(), t0 = cr_now_ns();
	uint64_t latest = schedule_timers(iters, t0 + TIMER_LEAD_NS);
	uint64_t cpu1 = bench_thread_cpu_ns(), t1 = cr_now_ns();
	if (!latest)
		return -ENOMEM;
	/* This sleep's timer has the latest deadline and the highest sequence number: it
	 * fires after every callback timer, so they have all run when it returns. */
	int r = cr_sleep_until(latest);
	while (r == 0 && tm_ran < tm_want)
		r = cr_yield();
	uint64_t cpu2 = bench_thread_cpu_ns();
	per_op(out, cpu2 - cpu0, iters);
	out->extra[0] = (double)(t1 - t0) / (double)iters;
	out->extra[1] = (double)(cpu2 - cpu1) / (double)iters;
	out->extra[2] = (double)(tm_last - latest) / 1e3;
	return r;
}

int bench_timer_cancel(uint64_t iters, bench_sample *out)
{
	uint64_t t0 = cr_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		cr_callback_id id = cr_call_later(1000 * MS, count_cb, NULL);
		if (!id)
			return -ENOMEM;
		if (cr_callback_cancel(id) != 0)
			return -EPROTO;
	}
	per_op(out, cr_now_ns() - t0, iters);
	return 0;
}

/* ---- cr_to_thread and cross-worker spawn + join ---------------------------------------------- */

static intptr_t empty_blocking(void *arg)
{
	(void)arg;
	return 7;
}

int bench_to_thread(uint64_t iters, bench_sample *out)
{
	uint64_t *lat = malloc(iters * sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	uint64_t e0 = enter_calls();
	int r = 0;
	for (uint64_t i = 0; i < iters && r == 0; i++) {
		intptr_t res = 0;
		uint64_t t0 = cr_now_ns();
		r = cr_to_thread(empty_blocking, NULL, &res);
		lat[i] = cr_now_ns() - t0;
		if (r == 0 && res != 7)
			r = -EPROTO;
	}
	memset(out, 0, sizeof(*out));
	bench_latency_summary(lat, iters, &out->value, &out->extra[0], &out->extra[1]);
	out->extra[2] = (double)(enter_calls() - e0) / (double)iters;
	free(lat);
	return r;
}

int bench_xw_counters(cr_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < 2; i++) {
		cr_stats s;
		int r = cr_stats_get_worker(i, &s);
		if (r)
			return r;
		sum->enter_calls += s.enter_calls;
		sum->messages += s.messages;
		sum->wakeups_sent += s.wakeups_sent;
		sum->doorbells_sent += s.doorbells_sent;
	}
	return 0;
}

/* One round trip: spawn an empty task on worker 1 and join it.  Returns 0 or -errno. */
static int xw_spawn_join_once(void)
{
	cr_spawn_opts o = {.name = "bench-remote", .placement = CR_ON_WORKER, .worker = 1};
	cr_task *t;
	int r = cr_spawn(&t, empty_task, NULL, &o);
	return r ? r : cr_join(t, NULL);
}

int bench_xw_spawn_join(uint64_t iters, bench_sample *out)
{
	cr_stats a, b;
	uint64_t *lat = malloc(iters * sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	int r = cr_worker_count() >= 2 ? bench_xw_counters(&a) : -ENODEV;
	for (uint64_t i = 0; i < iters && r == 0; i++) {
		uint64_t t0 = cr_now_ns();
		r = xw_spawn_join_once();
		lat[i] = cr_now_ns() - t0;
	}
	if (r == 0)
		r = bench_xw_counters(&b);
	memset(out, 0, sizeof(*out));
	if (r == 0) {
		double msgs = (double)(b.messages - a.messages);
		bench_latency_summary(lat, iters, &out->value, &out->extra[0], NULL);
		out->extra[1] = msgs ? (double)(b.enter_calls - a.enter_calls) / msgs : 0.0;
		out->extra[2] = msgs / (double)iters;
	}
	free(lat);
	return r;
}
