// SPDX-License-Identifier: MIT
// micro.h: what coring-bench's files share: running a Google Benchmark body as a coring task.
#ifndef CORING_BENCH_MICRO_H
#define CORING_BENCH_MICRO_H

#include <benchmark/benchmark.h>
#include <coring.h>

#include <cstdint>

namespace micro
{

// A benchmark body run as the main task of cr_run.  It runs the state's loop and returns 0,
// or breaks out of the loop and returns a negative errno value.
using Body = int (*)(benchmark::State &state);

// Runs body(state) as the main task of a fresh cr_run with `workers` workers (worker 0 is
// the calling thread, so Google Benchmark's CPU timer reads worker 0).  cr_run's start-up
// and teardown happen outside the timed loop.  A setup failure or a negative result is
// reported with state.SkipWithError.  Returns nothing.
void run_in_coring(benchmark::State &state, unsigned workers, Body body);

// Registers `name` as a row that runs body inside cr_run with `workers` workers.  Returns
// the registered benchmark, for further settings.
benchmark::internal::Benchmark *add_coring(const char *name, unsigned workers, Body body);

// Reports a failed row: state.SkipWithError(what: strerror(-err)), and remembers that a row
// failed (see any_failed).  Returns nothing.
void fail(benchmark::State &state, const char *what, int err);

// Returns true once any row has failed.
bool any_failed();

// Spawns fn(arg) on worker `worker`, or on the calling worker if worker < 0.  Returns 0, an
// error of cr_spawn, or -ENODEV if the runtime has no such worker.
int spawn_peer(cr_task **t, cr_task_fn fn, void *arg, int worker);

// Ends a row that spawned peer t: cancels t if r < 0 (so that it does not wait forever),
// then joins it.  Returns r if it is an error, else the error of cr_join, else -EIO if the
// peer returned non-zero, else 0.
int finish_peer(cr_task *t, int r);

// Returns the first of a, b that is negative, else 0.
inline int first_error(int a, int b)
{
	return a < 0 ? a : b < 0 ? b : 0;
}

// Adds up the counters of workers 0 .. cr_worker_count()-1 into *sum (the fields the rows
// report: enter_calls, switches, wakeups_sent, doorbells_sent, messages).  Call from a
// task, outside the timed loop (reading another worker waits for it).  Returns 0 or the
// error of cr_stats_get_worker.
int sum_stats(cr_stats *sum);

// Sets state.counters[name] to (after - before) per iteration of the state's loop (Google
// Benchmark's kAvgIterations).  Returns nothing.
void per_iteration(benchmark::State &state, const char *name, uint64_t before, uint64_t after);

// ---- rows that run on one worker or across two (micro_sync.cc) --------------------------

// Event ping-pong with a peer task on worker `worker` (< 0: this worker): this task sets
// ping and waits for pong, the peer the other way round, each clearing what it waited
// for.  One iteration is one round trip.  Returns 0 or a negative errno value.
int event_round_trips(benchmark::State &state, int worker);

// This task puts one item per iteration into a queue of capacity 1024 and a consumer task
// on worker `worker` (< 0: this worker) gets them.  The last iteration also puts a stop
// item and joins the consumer, so the timed loop includes the drain of the last items.
// One iteration is one item.  Returns 0 or a negative errno value.
int queue_stream(benchmark::State &state, int worker);

// Lock hand-offs with a peer task on worker `worker` (< 0: this worker): this task holds a
// cr_lock, and each pass releases it to the waiting peer and waits in its own acquire
// while the peer does the same.  A batch of 2 iterations is 2 hand-offs.  Counters:
// enters_per_op, handoffs_per_op (1.0 when every release found the other task waiting),
// and switches_per_op on one worker or doorbells_per_op across two.  Returns 0 or a
// negative errno value.
int lock_handoffs(benchmark::State &state, int worker);

} // namespace micro

// One registration function per file; main calls them in this order.
void micro_register_runtime();
void micro_register_sync();
void micro_register_timers();
void micro_register_xworker();
void micro_register_baselines();
void micro_register_uring();
void micro_register_stream();

#endif
