// SPDX-License-Identifier: MIT
// Cross-worker rows of coring-bench: wake-up round trip and queue throughput, workers 0 and 1.
#include "micro.h"

namespace
{

constexpr int PEER_WORKER = 1;

// Event ping-pong between this task on worker 0 and a peer on worker 1: every set wakes a
// task on the other worker.  One iteration is one round trip (two cross-worker wake-ups).
int xw_wake_body(benchmark::State &state)
{
	return micro::event_round_trips(state, PEER_WORKER);
}

// Producer on worker 0, consumer on worker 1, queue of capacity 1024: ns per item.
int xw_queue_body(benchmark::State &state)
{
	return micro::queue_stream(state, PEER_WORKER);
}

} // namespace

void micro_register_xworker()
{
	micro::add_coring("coring/xw_wake", 2, xw_wake_body);
	micro::add_coring("coring/xw_queue_throughput", 2, xw_queue_body);
}
