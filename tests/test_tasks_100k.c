/* SPDX-License-Identifier: MIT */
/* test_tasks_100k: 100,000 tasks with the default stack size are alive at once under the stock
 * vm.max_map_count, guard pages cost no VMA each, and every result comes back. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define NTASKS 100000
#define SLEEP_NS (200u * 1000u * 1000u) /* common deadline, this far after the gate opens */
#define MAPS_LIMIT 20000		/* far below the stock vm.max_map_count of 65530 */

static cr_task *tasks[NTASKS];
static cr_task *gate;	     /* every task blocks until this one ends (an event) */
static uint64_t deadline;    /* set by main when it opens the gate, read by each task */
static size_t started, woke; /* tasks that reached the gate / finished their sleep */
static size_t early_wakeups; /* tasks whose sleep ended before the deadline */
static size_t wait_failures; /* tasks whose gate wait or sleep returned an error */

/* Returns the first integer after `key` in /proc/self/status (kB), or -1. */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0) {
			v = strtol(line + n, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Returns the number of lines (mappings) in /proc/self/maps, or -1. */
static long maps_lines(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Returns vm.max_map_count, or -1 if it cannot be read. */
static long max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Returns 1 if the running kernel is at least major.minor (where MADV_GUARD_INSTALL exists). */
static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return 0;
	return a > major || (a == major && b >= minor);
}

/* The gate: sleeps "forever"; main opens it by cancelling it. */
static int gate_body(void *arg)
{
	(void)arg;
	return cr_sleep(3600ull * 1000000000ull) == -ECANCELED ? 0 : -1;
}

/* Blocks on the gate, then sleeps until the common deadline; returns its index. */
static int sleeper(void *arg)
{
	int index = (int)(intptr_t)arg;
	size_t which = 1;

	started++;
	if (cr_wait_any(&gate, 1, &which) != 0 || which != 0)
		wait_failures++;
	if (cr_sleep_until(deadline) != 0)
		wait_failures++;
	if (cr_now_ns() < deadline)
		early_wakeups++;
	woke++;
	return index;
}

static int main_task(void *arg)
{
	(void)arg;
	long limit = max_map_count();
	long maps_before = maps_lines();
	uint64_t t0 = cr_now_ns();
	cr_stats st;

	printf("vm.max_map_count = %ld, /proc/self/maps before: %ld lines\n", limit, maps_before);
	CHECK_OK(cr_spawn(&gate, gate_body, NULL, NULL));
	for (int i = 0; i < NTASKS; i++) {
		cr_spawn_opts opts = {.name = "sleeper", .stack_size = 0};
		int r = cr_spawn(&tasks[i], sleeper, (void *)(intptr_t)i, &opts);
		if (r < 0) {
			CHECK_OK(cr_stats_get(&st));
			CHECK_MSG(0, "cr_spawn #%d: %d (%s); maps lines %ld, guard_mode %u", i, r,
				  strerror(-r), maps_lines(), st.guard_mode);
		}
	}
	uint64_t t_spawned = cr_now_ns();

	/* One yield runs every spawned task once (FIFO: they were queued before us):
	 * the gate parks in its sleep, every other task parks waiting for the gate. */
	CHECK_OK(cr_yield());
	uint64_t t_parked = cr_now_ns();

	CHECK_OK(cr_stats_get(&st));
	long maps_peak = maps_lines();
	printf("peak: tasks_alive %llu, stacks_mapped %llu, guard_mode %u, maps %ld lines, "
	       "timers_pending %llu\n",
	       (unsigned long long)st.tasks_alive, (unsigned long long)st.stacks_mapped,
	       st.guard_mode, maps_peak, (unsigned long long)st.timers_pending);
	printf("spawn %.1f ms, first run of all %.1f ms\n", (double)(t_spawned - t0) / 1e6,
	       (double)(t_parked - t_spawned) / 1e6);
	CHECK_EQ_U64(started, NTASKS);
	CHECK_EQ_U64(woke, 0);
	CHECK_EQ_INT(cr_task_done(gate), 0);
	CHECK_GE_U64(st.tasks_alive, NTASKS + 2);
	CHECK_GE_U64(st.stacks_mapped, NTASKS);
	CHECK_GT_INT(maps_peak, 0);
	if (kernel_at_least(6, 13)) {
		/* MADV_GUARD_INSTALL exists: guard pages must not split the mappings. */
		CHECK_EQ_INT(st.guard_mode, 0);
		CHECK_LT_INT(maps_peak, MAPS_LIMIT);
	} else {
		printf("kernel older than 6.13: guard_mode %u (fallback), maps limit %ld\n",
		       st.guard_mode, limit);
		/* The fallback must leave the process room for other mappings. */
		long vma_limit = limit > 0 ? limit : 65530;
		CHECK_LT_INT(maps_peak, vma_limit);
	}

	/* Open the gate: all tasks wake, then sleep until one common deadline. */
	deadline = cr_now_ns() + SLEEP_NS;
	CHECK_OK(cr_cancel(gate));
	int gate_result = -1;
	CHECK_OK(cr_join(gate, &gate_result));
	CHECK_EQ_INT(gate_result, 0);

	uint64_t sum = 0;
	for (int i = 0; i < NTASKS; i++) {
		int res = -1;
		CHECK_OK(cr_join(tasks[i], &res));
		CHECK_EQ_INT(res, i);
		sum += (uint64_t)res;
	}
	uint64_t t_done = cr_now_ns();
	CHECK_EQ_U64(sum, (uint64_t)NTASKS * (NTASKS - 1) / 2);
	CHECK_EQ_U64(woke, NTASKS);
	CHECK_EQ_U64(wait_failures, 0);
	CHECK_EQ_U64(early_wakeups, 0);
	CHECK_GE_U64(t_done, deadline);
	CHECK_OK(cr_stats_get(&st));
	CHECK_EQ_U64(st.tasks_alive, 1);
	CHECK_EQ_U64(st.timers_pending, 0);

	printf("joined %d tasks, sum %llu; total %.1f ms; peak RSS (VmHWM) %ld kB\n", NTASKS,
	       (unsigned long long)sum, (double)(t_done - t0) / 1e6, status_kb("VmHWM:"));
	return 0;
}

int main(void)
{
	CHECK_EQ_INT(check_run(NULL, main_task, NULL), 0);
	printf("after cr_run: /proc/self/maps %ld lines\n", maps_lines());
	return 0;
}
