// SPDX-License-Identifier: MIT
// Runs a Google Benchmark body inside cr_run, and the peer and counter helpers of the coring rows.
#include "micro.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

namespace micro
{

namespace
{

std::atomic<bool> failed{false};

// What the main task needs: the state, the body, and where to leave its result.
struct Job {
	benchmark::State *state;
	Body body;
	int result;
};

// The main task of cr_run: runs the body.  Returns 0 (the body's result is in the job).
int job_main(void *arg)
{
	Job *job = static_cast<Job *>(arg);
	job->result = job->body(*job->state);
	return 0;
}

} // namespace

void fail(benchmark::State &state, const char *what, int err)
{
	std::string msg = std::string(what) + ": " + std::strerror(err < 0 ? -err : err);
	failed.store(true);
	state.SkipWithError(msg.c_str());
}

bool any_failed()
{
	return failed.load();
}

void run_in_coring(benchmark::State &state, unsigned workers, Body body)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = workers;
	Job job = {&state, body, 0};
	int r = cr_run(&cfg, job_main, &job, nullptr);
	if (r < 0) {
		std::string what = std::string("cr_run failed (") + cr_setup_error() + ")";
		fail(state, what.c_str(), r);
	} else if (job.result < 0) {
		fail(state, "benchmark body failed", job.result);
	}
}

benchmark::internal::Benchmark *add_coring(const char *name, unsigned workers, Body body)
{
	return benchmark::RegisterBenchmark(
		name, [workers, body](benchmark::State &st) { run_in_coring(st, workers, body); });
}

int spawn_peer(cr_task **t, cr_task_fn fn, void *arg, int worker)
{
	cr_spawn_opts o = {};
	o.name = "bench-peer";
	if (worker >= 0) {
		if (cr_worker_count() <= static_cast<unsigned>(worker))
			return -ENODEV;
		o.placement = CR_ON_WORKER;
		o.worker = static_cast<unsigned>(worker);
	}
	return cr_spawn(t, fn, arg, &o);
}

int finish_peer(cr_task *t, int r)
{
	int res = 0;
	if (r < 0)
		(void)cr_cancel(t);
	int j = cr_join(t, &res);
	if (r < 0)
		return r;
	if (j < 0)
		return j;
	return res != 0 ? -EIO : 0;
}

int sum_stats(cr_stats *sum)
{
	std::memset(sum, 0, sizeof(*sum));
	unsigned n = cr_worker_count();
	for (unsigned i = 0; i < n; i++) {
		cr_stats s;
		int r = cr_stats_get_worker(i, &s);
		if (r < 0)
			return r;
		sum->enter_calls += s.enter_calls;
		sum->switches += s.switches;
		sum->wakeups_sent += s.wakeups_sent;
		sum->doorbells_sent += s.doorbells_sent;
		sum->messages += s.messages;
	}
	return 0;
}

void per_iteration(benchmark::State &state, const char *name, uint64_t before, uint64_t after)
{
	state.counters[name] = benchmark::Counter(static_cast<double>(after - before),
						  benchmark::Counter::kAvgIterations);
}

} // namespace micro
