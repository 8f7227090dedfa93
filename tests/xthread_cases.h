/* SPDX-License-Identifier: MIT */
/* xthread_cases.h: helpers shared by the cross-worker sync stress tests (test_xthread_sync_*.c). */
#ifndef CORING_TESTS_XTHREAD_CASES_H
#define CORING_TESTS_XTHREAD_CASES_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"

/* Defined in sanitizer builds, which run fewer rounds (ASan here; CHECK_UNDER_TSAN comes from
 * check.h). */
#if defined(__SANITIZE_ADDRESS__)
#define STRESS_SMALL 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRESS_SMALL 1
#endif
#endif
#if defined(CHECK_UNDER_TSAN)
#define STRESS_SMALL 1
#endif

/* What scaled() divides by; a test may define another before including this header. */
#ifndef SCALE_DOWN
#define SCALE_DOWN 8u
#endif

/* xorshift64: a small per-task generator.  Advances *s and returns the new state. */
static inline uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Scales a count down when there are more workers than CPUs: every hand-off to another
 * worker then waits for the kernel to schedule it.  Returns n, or n / SCALE_DOWN then. */
static inline unsigned scaled(unsigned n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 && cr_worker_count() > (unsigned long)cpus ? n / SCALE_DOWN : n;
}

/* Returns spawn options that place a task named `name` on worker w. */
static inline cr_spawn_opts on_worker(unsigned w, const char *name)
{
	return (cr_spawn_opts){.name = name, .placement = CR_ON_WORKER, .worker = w};
}

/* From the main task run by xthread_run: fails unless the runtime has the number of workers
 * main asked for (arg points at it; 0 = one per CPU, not checked).  Returns how many workers
 * there are. */
static inline unsigned check_workers(void *arg)
{
	unsigned want = *(unsigned *)arg;
	unsigned nw = cr_worker_count();
	if (want)
		CHECK_EQ_U64(nw, want);
	return nw;
}

/* Runs main_task once per entry of workers[0..n-1], each in its own cr_run with that many
 * workers (0 = one per CPU) and a pointer to the count as its argument; stdout is line
 * buffered and a watchdog (110 s in sanitizer builds, else 60 s) ends a hung run.  Fails the
 * test unless every run returns 0.  Returns 0 (the exit status of main). */
static inline int xthread_run(const unsigned *workers, size_t n, cr_task_fn main_task)
{
	cr_config cfg;
	setvbuf(stdout, NULL, _IOLBF, 0);
#if defined(STRESS_SMALL)
	check_watchdog(110);
#else
	check_watchdog(60);
#endif
	for (size_t i = 0; i < n; i++) {
		unsigned want = workers[i];
		cr_config_init(&cfg);
		cfg.workers = want;
		CHECK_EQ_INT(check_run(&cfg, main_task, &want), 0);
	}
	return 0;
}

/* The number of entries of a workers[] array for xthread_run. */
#define N_WORKER_COUNTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
