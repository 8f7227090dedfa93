// SPDX-License-Identifier: MIT
// Callback rows of coring-bench: call_soon in batches, and a million timers at random deadlines.
#include "micro.h"

#include <cerrno>
#include <ctime>

namespace
{

constexpr unsigned SOON_BATCH = 1024;		      // callbacks queued before each yield
constexpr uint64_t MS = 1000000ull;		      // one millisecond in ns
constexpr benchmark::IterationCount TIMERS = 1000000; // timers per pass of coring/timers_1m
constexpr uint64_t TIMER_LEAD_NS = 150 * MS;	      // first deadline after the pass starts
constexpr uint64_t TIMER_SPREAD_NS = 100 * MS;	      // deadlines spread uniformly over this window

// ---- call_soon ------------------------------------------------------------------------------

// Counts the callbacks that ran.
void count_cb(void *arg)
{
	++*static_cast<uint64_t *>(arg);
}

// Each pass queues 1024 callbacks with cr_call_soon, then yields: the loop runs the whole
// batch (FIFO) before this task resumes.  One iteration is one callback queued and run.
int call_soon_body(benchmark::State &state)
{
	uint64_t ran = 0, queued = 0;
	int r = 0;
	while (r == 0 && state.KeepRunningBatch(SOON_BATCH)) {
		for (unsigned i = 0; i < SOON_BATCH && r == 0; i++)
			r = cr_call_soon(count_cb, &ran) ? 0 : -ENOMEM;
		queued += SOON_BATCH;
		if (r == 0)
			r = cr_yield();
	}
	return r == 0 && ran != queued ? -EPROTO : r;
}

// ---- a million timers -----------------------------------------------------------------------

// One pass of coring/timers_1m: callbacks expected and run, and when the last one ran.
struct TimerPass {
	uint64_t want; // callbacks scheduled
	uint64_t ran;  // callbacks run so far
	uint64_t last; // cr_now_ns() when the last one ran
};

// Timer callback: counts, and notes the time of the last one.
void timer_cb(void *arg)
{
	auto *p = static_cast<TimerPass *>(arg);
	if (++p->ran == p->want)
		p->last = cr_now_ns();
}

// Returns the CPU time of the calling thread in ns.
uint64_t thread_cpu_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Fixed-seed xorshift64*: the same deadlines in every pass.  Returns the next number.
uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

// Schedules p->want timers at random deadlines in [base, base + TIMER_SPREAD_NS).  Returns
// the latest deadline, or 0 if a cr_call_at failed.
uint64_t schedule_timers(TimerPass *p, uint64_t base)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, latest = base;
	for (uint64_t i = 0; i < p->want; i++) {
		uint64_t when = base + rng_next(&seed) % TIMER_SPREAD_NS;
		if (!cr_call_at(when, timer_cb, p))
			return 0;
		latest = when > latest ? when : latest;
	}
	return latest;
}

// Each pass schedules a million cr_call_at timers at random deadlines spread over 100 ms,
// starting 150 ms later (so scheduling ends before the first one fires), and waits until
// all have run.  One iteration is one timer scheduled and fired.  The row's time is manual:
// worker 0's CPU time for the pass (scheduling plus firing), since the wall time is mostly
// the wait for the deadlines.  Counters: schedule_ns (wall time per cr_call_at),
// fire_cpu_ns (CPU time per timer fired), late_ms (how long after the last deadline the
// last callback ran, in the last pass).
int timers_body(benchmark::State &state)
{
	uint64_t sched_ns = 0, fire_ns = 0;
	double late_ms = 0;
	int r = 0;
	while (r == 0 && state.KeepRunningBatch(TIMERS)) {
		TimerPass p = {static_cast<uint64_t>(TIMERS), 0, 0};
		uint64_t cpu0 = thread_cpu_ns(), t0 = cr_now_ns();
		uint64_t latest = schedule_timers(&p, t0 + TIMER_LEAD_NS);
		uint64_t cpu1 = thread_cpu_ns(), t1 = cr_now_ns();
		if (!latest)
			return -ENOMEM;
		// This sleep's timer has the latest deadline and was armed last: it fires after
		// every callback timer, so they have all run when it returns.
		r = cr_sleep_until(latest);
		while (r == 0 && p.ran < p.want)
			r = cr_yield();
		uint64_t cpu2 = thread_cpu_ns();
		state.SetIterationTime(static_cast<double>(cpu2 - cpu0) / 1e9);
		sched_ns += t1 - t0;
		fire_ns += cpu2 - cpu1;
		late_ms = static_cast<double>(p.last - latest) / 1e6;
	}
	if (r == 0) {
		micro::per_iteration(state, "schedule_ns", 0, sched_ns);
		micro::per_iteration(state, "fire_cpu_ns", 0, fire_ns);
		state.counters["late_ms"] = late_ms;
	}
	return r;
}

} // namespace

void micro_register_timers()
{
	micro::add_coring("coring/call_soon", 1, call_soon_body);
	micro::add_coring("coring/timers_1m", 1, timers_body)->UseManualTime();
}
