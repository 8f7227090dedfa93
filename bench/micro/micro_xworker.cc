// SPDX-License-Identifier: MIT
// Cross-thread rows of coring-bench: wake-up, spawn + join, lock hand-off and queue between
// workers 0 and 1, and a round trip to the offload pool.
#include "micro.h"

#include <cerrno>

namespace
{

constexpr int PEER_WORKER = 1;
constexpr intptr_t BLOCKING_RESULT = 7; // what the offloaded function returns

// Event ping-pong between this task on worker 0 and a peer on worker 1: every set wakes a
// task on the other worker.  One iteration is one round trip (two cross-worker wake-ups).
int xw_wake_body(benchmark::State &state)
{
	return micro::event_round_trips(state, PEER_WORKER);
}

// Returns 0: the body of the tasks spawned on worker 1.
int empty_task(void *)
{
	return 0;
}

// One iteration: cr_spawn of an empty task on worker 1 (CR_ON_WORKER), then cr_join from
// worker 0.  Counters, both workers: enters_per_op, messages_per_op (inbox messages).
int xw_spawn_join_body(benchmark::State &state)
{
	cr_stats a, b;
	int r = micro::sum_stats(&a);
	if (r < 0)
		return r;
	for (auto _ : state) {
		cr_task *t;
		r = micro::spawn_peer(&t, empty_task, nullptr, PEER_WORKER);
		if (r == 0)
			r = cr_join(t, nullptr);
		if (r)
			break;
	}
	if (r == 0 && (r = micro::sum_stats(&b)) == 0) {
		micro::per_iteration(state, "enters_per_op", a.enter_calls, b.enter_calls);
		micro::per_iteration(state, "messages_per_op", a.messages, b.messages);
	}
	return r;
}

// Lock hand-offs between this task on worker 0 and a peer on worker 1: ns per hand-off.
int xw_lock_handoff_body(benchmark::State &state)
{
	return micro::lock_handoffs(state, PEER_WORKER);
}

// Producer on worker 0, consumer on worker 1, queue of capacity 1024: ns per item.
int xw_queue_body(benchmark::State &state)
{
	return micro::queue_stream(state, PEER_WORKER);
}

// Returns BLOCKING_RESULT: the function cr_to_thread runs on the offload pool.
intptr_t blocking_fn(void *)
{
	return BLOCKING_RESULT;
}

// One iteration: cr_to_thread of an empty function, from the only worker to a pool thread
// and back.  Counter: enters_per_op (worker 0).
int to_thread_body(benchmark::State &state)
{
	cr_stats a, b;
	int r = cr_stats_get(&a);
	if (r < 0)
		return r;
	for (auto _ : state) {
		intptr_t res = 0;
		r = cr_to_thread(blocking_fn, nullptr, &res);
		if (r == 0 && res != BLOCKING_RESULT)
			r = -EPROTO;
		if (r)
			break;
	}
	if (r == 0 && (r = cr_stats_get(&b)) == 0)
		micro::per_iteration(state, "enters_per_op", a.enter_calls, b.enter_calls);
	return r;
}

} // namespace

void micro_register_xworker()
{
	micro::add_coring("coring/xw_wake", 2, xw_wake_body);
	micro::add_coring("coring/xw_spawn_join", 2, xw_spawn_join_body);
	micro::add_coring("coring/xw_lock_handoff", 2, xw_lock_handoff_body);
	micro::add_coring("coring/xw_queue_throughput", 2, xw_queue_body);
	micro::add_coring("coring/to_thread", 1, to_thread_body);
}
