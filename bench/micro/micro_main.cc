// SPDX-License-Identifier: MIT
// coring-bench's main: Google Benchmark with a short default min_time and the rows registered.
#include "micro.h"

#include <sched.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace
{

// Default of --benchmark_min_time: a whole run of every row stays well under a minute.
char default_min_time[] = "--benchmark_min_time=0.2";

// Returns true if argv[1..argc) has an argument starting with prefix.
bool has_arg(int argc, char **argv, const char *prefix)
{
	for (int i = 1; i < argc; i++)
		if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0)
			return true;
	return false;
}

// Prints what this program is before Google Benchmark's own usage.  Returns nothing.
void print_preface()
{
	std::printf(
		"coring-bench: micro-benchmarks of coring's public C API beside C/C++ baselines.\n"
		"Rows are named coring/<what> and baseline/<what>; see bench/micro/README.md.\n"
		"real_time (Time) is the figure: ns per operation as each row defines it.\n"
		"Defaults added here: %s (override it on the command line).\n"
		"Examples:\n"
		"  coring-bench --benchmark_list_tests\n"
		"  coring-bench --benchmark_filter='coring/yield|baseline/boost'\n"
		"  coring-bench --benchmark_format=json > micro.json\n"
		"  coring-bench --benchmark_repetitions=5 "
		"--benchmark_report_aggregates_only=true\n\n"
		"Google Benchmark options:\n",
		default_min_time);
}

// Adds facts about the machine and coring to the context block of every report.
void add_context()
{
	benchmark::AddCustomContext("coring_version", CR_VERSION_STRING);
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		benchmark::AddCustomContext("usable_cpus", std::to_string(CPU_COUNT(&set)));
	struct utsname u;
	if (uname(&u) == 0)
		benchmark::AddCustomContext("kernel", u.release);
}

} // namespace

int main(int argc, char **argv)
{
	static char help[] = "--help";
	std::vector<char *> args(argv, argv + argc);
	for (char *&a : args)
		if (std::strcmp(a, "-h") == 0)
			a = help;
	if (has_arg(static_cast<int>(args.size()), args.data(), "--help"))
		print_preface();
	else if (!has_arg(argc, argv, "--benchmark_min_time"))
		args.insert(args.begin() + 1, default_min_time);
	int n = static_cast<int>(args.size());
	args.push_back(nullptr);
	benchmark::Initialize(&n, args.data());
	if (benchmark::ReportUnrecognizedArguments(n, args.data()))
		return 2;
	micro_register_runtime();
	micro_register_timers();
	micro_register_sync();
	micro_register_xworker();
	micro_register_baselines();
	micro_register_uring();
	micro_register_stream();
	add_context();
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return micro::any_failed() ? 1 : 0;
}
