// SPDX-License-Identifier: MIT
// Runtime-core rows of coring-bench: yield, spawn+join, cr_nop, sleep(0), timer arm+cancel, and
// the raw context switch.
#include "micro.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>

namespace
{

constexpr uint64_t SECOND_NS = 1000000000ull;
constexpr unsigned NOP_TASKS = 64; // tasks with a cr_nop in flight in coring/nop64

// ---- yield between two tasks ------------------------------------------------------------

// Peer task: yields until *arg (an std::atomic<int>) is set.  Returns 0 or the first error.
int yield_peer(void *arg)
{
	auto *stop = static_cast<std::atomic<int> *>(arg);
	int r = 0;
	while (r == 0 && !stop->load(std::memory_order_relaxed))
		r = cr_yield();
	return r;
}

// Each batch of 2 iterations is one cr_yield of this task and one of the peer: ns per yield.
int yield_body(benchmark::State &state)
{
	std::atomic<int> stop{0};
	cr_task *t;
	cr_stats a, b;
	int r = micro::spawn_peer(&t, yield_peer, &stop, -1);
	if (r < 0)
		return r;
	r = cr_stats_get(&a);
	while (r == 0 && state.KeepRunningBatch(2)) {
		r = cr_yield();
		if (r)
			break;
	}
	int e = r == 0 ? cr_stats_get(&b) : r;
	stop.store(1);
	r = micro::finish_peer(t, r);
	if (r == 0 && e == 0)
		micro::per_iteration(state, "switches_per_op", a.switches, b.switches);
	return micro::first_error(r, e);
}

// Two peer tasks run the same yield loop (the same code yields on both sides, as in
// boost.context's row, where both sides sit in one loop each); this task only starts them
// and joins.  The peers stop after the row's iteration count, split between them, so the
// time is ns per yield.  Beside coring/yield it shows what the return into a different
// caller after each switch costs (one mispredicted return per switch).
struct SymmetricYield {
	benchmark::IterationCount rounds; // yields each peer makes
};

int symmetric_peer(void *arg)
{
	auto *p = static_cast<SymmetricYield *>(arg);
	for (benchmark::IterationCount i = 0; i < p->rounds; i++) {
		int r = cr_yield();
		if (r)
			return r;
	}
	return 0;
}

int yield_symmetric_body(benchmark::State &state)
{
	int r = 0;
	while (r == 0 && state.KeepRunningBatch(state.max_iterations)) {
		SymmetricYield p{state.max_iterations / 2};
		cr_task *a, *b;
		r = micro::spawn_peer(&a, symmetric_peer, &p, -1);
		if (r < 0)
			break;
		r = micro::spawn_peer(&b, symmetric_peer, &p, -1);
		if (r < 0) {
			micro::finish_peer(a, r);
			break;
		}
		r = micro::first_error(micro::finish_peer(a, 0), micro::finish_peer(b, 0));
	}
	return r;
}

// ---- spawn + join ---------------------------------------------------------------------------

int empty_task(void *)
{
	return 0;
}

int spawn_join_body(benchmark::State &state)
{
	int r = 0;
	for (auto _ : state) {
		cr_task *t;
		r = cr_spawn(&t, empty_task, nullptr, nullptr);
		if (r == 0)
			r = cr_join(t, nullptr);
		if (r)
			break;
	}
	return r;
}

// ---- cr_nop, one at a time and 64 in flight ------------------------------------------------

int nop_body(benchmark::State &state)
{
	cr_stats a, b;
	int r = cr_stats_get(&a);
	if (r < 0)
		return r;
	for (auto _ : state) {
		r = cr_nop();
		if (r)
			break;
	}
	if (r == 0 && (r = cr_stats_get(&b)) == 0)
		micro::per_iteration(state, "enters_per_op", a.enter_calls, b.enter_calls);
	return r;
}

// The 63 other tasks of coring/nop64 and what they share.
struct NopCrowd {
	std::atomic<int> stop{0};
	uint64_t done = 0; // NOPs completed by the peers (one worker: no race)
};

// Peer task: cr_nop until stop is set, counting.  Returns 0 or the first error.
int nop_peer(void *arg)
{
	auto *c = static_cast<NopCrowd *>(arg);
	int r = 0;
	while (r == 0 && !c->stop.load(std::memory_order_relaxed)) {
		r = cr_nop();
		if (r == 0)
			c->done++;
	}
	return r;
}

// 64 tasks (this one and 63 peers) each keep one cr_nop in flight.  In steady state every
// task completes one NOP per round, so a batch of 64 iterations is one NOP of this task and
// 63 of the peers: ns per NOP.  nops_per_op (NOPs counted / iterations) checks that.
int nop64_body(benchmark::State &state)
{
	NopCrowd crowd;
	cr_task *t[NOP_TASKS - 1];
	unsigned spawned = 0;
	int r = 0;
	for (; spawned < NOP_TASKS - 1 && r == 0; spawned++) {
		r = micro::spawn_peer(&t[spawned], nop_peer, &crowd, -1);
		if (r < 0)
			break;
	}
	cr_stats a, b;
	uint64_t mine = 0, theirs = 0;
	if (r == 0)
		r = cr_stats_get(&a);
	while (r == 0 && state.KeepRunningBatch(NOP_TASKS)) {
		r = cr_nop();
		if (r)
			break;
		mine++;
	}
	theirs = crowd.done;
	crowd.stop.store(1);
	int e = r == 0 ? cr_stats_get(&b) : r;
	for (unsigned i = 0; i < spawned; i++)
		r = micro::first_error(r, micro::finish_peer(t[i], r));
	if (r == 0 && e == 0) {
		micro::per_iteration(state, "enters_per_op", a.enter_calls, b.enter_calls);
		micro::per_iteration(state, "nops_per_op", 0, mine + theirs);
	}
	return micro::first_error(r, e);
}

// ---- sleep(0), timer arm + cancel --------------------------------------------------------

int sleep0_body(benchmark::State &state)
{
	int r = 0;
	for (auto _ : state) {
		r = cr_sleep(0);
		if (r)
			break;
	}
	return r;
}

void never_called(void *)
{
}

int timer_cancel_body(benchmark::State &state)
{
	int r = 0;
	for (auto _ : state) {
		cr_callback_id id = cr_call_later(SECOND_NS, never_called, nullptr);
		r = id ? cr_callback_cancel(id) : -ENOMEM;
		if (r)
			break;
	}
	return r;
}

// ---- raw context switch (coring/context.h), no cr_run --------------------------------------

constexpr size_t RAW_STACK_SIZE = 64 * 1024;

// The two contexts of coring/context_switch.
struct RawPair {
	cr_context main;
	cr_context peer;
};

// The peer context: switches straight back, forever (abandoned at the end, never returns).
void raw_peer_loop(void *arg)
{
	auto *p = static_cast<RawPair *>(arg);
	for (;;)
		cr_context_switch(&p->peer, &p->main);
}

// Each batch of 2 iterations is one cr_context_switch to the peer and one back: ns per switch,
// as baseline/boost_fiber_switch.  Runs on Google Benchmark's thread, outside any cr_run.
void context_switch_row(benchmark::State &state)
{
	RawPair p{};
	void *stack = std::malloc(RAW_STACK_SIZE);
	int r = stack ? cr_context_make(&p.peer, stack, RAW_STACK_SIZE, raw_peer_loop, &p)
		      : -ENOMEM;
	if (r < 0) {
		std::free(stack);
		micro::fail(state, "cr_context_make", r);
		return;
	}
	while (state.KeepRunningBatch(2))
		cr_context_switch(&p.main, &p.peer);
	std::free(stack);
}

} // namespace

void micro_register_runtime()
{
	micro::add_coring("coring/yield", 1, yield_body);
	micro::add_coring("coring/yield_symmetric", 1, yield_symmetric_body);
	micro::add_coring("coring/spawn_join", 1, spawn_join_body);
	micro::add_coring("coring/nop", 1, nop_body);
	micro::add_coring("coring/nop64", 1, nop64_body);
	micro::add_coring("coring/sleep0", 1, sleep0_body);
	micro::add_coring("coring/timer_arm_cancel", 1, timer_cancel_body);
	benchmark::RegisterBenchmark("coring/context_switch", context_switch_row);
}
