/* SPDX-License-Identifier: MIT */
/* bench.h: the sample type and the measurement functions shared by coring-runtime-bench's files. */
#ifndef CORING_BENCH_H
#define CORING_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <coring.h>

/* Secondary figures one measurement may report besides its main value. */
#define BENCH_EXTRAS 3

/* What one run of one measurement produced. */
typedef struct bench_sample {
	double value;		    /* the main figure, in the case's unit */
	double extra[BENCH_EXTRAS]; /* secondary figures, meaning given by the case */
} bench_sample;

/*
 * One run of one measurement doing `iters` operations.  Coring measurements
 * are called from inside a task of cr_run, baselines from the main thread.
 * Fills *out.  Returns 0 or a negative errno value.
 */
typedef int (*bench_fn)(uint64_t iters, bench_sample *out);

/* Returns the monotonic clock in nanoseconds (the clock cr_now_ns reads). */
uint64_t bench_now_ns(void);

/* Returns the CPU time of the calling thread in nanoseconds. */
uint64_t bench_thread_cpu_ns(void);

/* Sorts v[0..n) and fills its median, p99 and mean (n > 0; any pointer may be NULL).
 * Returns nothing. */
void bench_latency_summary(uint64_t *v, size_t n, double *median, double *p99, double *mean);

/* ---- baselines without coring (bench_baseline.c) ------------------------------------ */

/* ucontext swapcontext between two contexts: value = ns per switch. */
int bench_swapcontext(uint64_t iters, bench_sample *out);
/* pthread mutex + condvar ping-pong between two threads: value = median round trip ns,
 * extras = p99 ns, mean ns. */
int bench_condvar(uint64_t iters, bench_sample *out);
/* Two threads hand an atomic counter back and forth, spinning (and yielding the CPU after
 * a while): value = median round trip ns, extras = p99 ns, mean ns. */
int bench_spin(uint64_t iters, bench_sample *out);
/* liburing NOP, one submit_and_wait per NOP: value = ns per NOP. */
int bench_raw_nop(uint64_t iters, bench_sample *out);
/* liburing NOPs, 64 per submit_and_wait: value = ns per NOP. */
int bench_raw_nop64(uint64_t iters, bench_sample *out);
/* Returns the io_uring setup flags the raw NOP baselines used, or -1 if none ran. */
int bench_raw_ring_flags(void);

/* ---- coring, public API only (bench_coring.c) ---------------------------------------- */

/* Two tasks cr_yield to each other: value = ns per yield. */
int bench_yield(uint64_t iters, bench_sample *out);
/* One task calls cr_sleep(0): value = ns per call. */
int bench_sleep0(uint64_t iters, bench_sample *out);
/* cr_spawn + cr_join of an empty task, one at a time: value = ns per pair. */
int bench_spawn_join(uint64_t iters, bench_sample *out);
/* cr_nop one at a time: value = ns per NOP, extra[0] = io_uring_enter per NOP. */
int bench_nop(uint64_t iters, bench_sample *out);
/* 64 tasks doing cr_nop in a loop: value = ns per NOP, extra[0] = io_uring_enter per NOP. */
int bench_nop64(uint64_t iters, bench_sample *out);
/* cr_call_soon in batches of 1024, then a yield: value = ns per callback scheduled and run. */
int bench_call_soon(uint64_t iters, bench_sample *out);
/* `iters` cr_call_at over a 100 ms window: value = CPU ns per timer scheduled and fired,
 * extra = schedule ns/timer, fire CPU ns/timer, µs from the last deadline to the last run. */
int bench_timers(uint64_t iters, bench_sample *out);
/* cr_call_later + cr_callback_cancel: value = ns per pair. */
int bench_timer_cancel(uint64_t iters, bench_sample *out);
/* cr_to_thread of an empty function: value = median round trip ns, extras = p99, mean,
 * io_uring_enter per call. */
int bench_to_thread(uint64_t iters, bench_sample *out);
/* Worker 0 spawns an empty task on worker 1 and joins it: value = median round trip ns,
 * extras = p99 ns, io_uring_enter per inbox message, inbox messages per round trip. */
int bench_xw_spawn_join(uint64_t iters, bench_sample *out);

/* Adds up the counters the cross-worker rows read (io_uring_enter calls, inbox
 * messages, wake-ups and doorbells sent) over workers 0 and 1 into *sum.
 * Call from a task.  Returns 0 or -errno of cr_stats_get_worker. */
int bench_xw_counters(cr_stats *sum);

/* ---- sync/ primitives, public API only (bench_sync.c) ------------------------------- */

/* baseline: pthread_mutex_lock + unlock, uncontended, in one thread: value = ns per pair. */
int bench_mutex(uint64_t iters, bench_sample *out);
/* cr_lock_acquire + cr_lock_release by one task, never contended: value = ns per pair. */
int bench_lock_uncontended(uint64_t iters, bench_sample *out);
/* cr_sem_acquire + cr_sem_release (value 1) by one task: value = ns per pair. */
int bench_sem_uncontended(uint64_t iters, bench_sample *out);
/* Two tasks on one worker take turns on one lock, each release handing it to the other:
 * value = ns per hand-off, extras = io_uring_enter per hand-off, context switches per
 * hand-off, hand-offs per release (1.0 when every release hands the lock on). */
int bench_lock_handoff(uint64_t iters, bench_sample *out);
/* Two tasks ping-pong through two events (set, wait, clear): value = ns per round trip. */
int bench_event_rt(uint64_t iters, bench_sample *out);
/* Two tasks ping-pong through one condition (own lock) and a flag: value = ns per round
 * trip. */
int bench_cond_rt(uint64_t iters, bench_sample *out);
/* Two tasks ping-pong an item through two queues of capacity 1: value = ns per round trip. */
int bench_queue_pingpong(uint64_t iters, bench_sample *out);
/* A producer and a consumer task on one worker, queue of capacity 1024: value = ns per
 * item, extras = io_uring_enter per item, context switches per item. */
int bench_queue_throughput(uint64_t iters, bench_sample *out);
/* As bench_lock_handoff with the two tasks on workers 0 and 1: value = ns per hand-off,
 * extras = io_uring_enter per hand-off, doorbells per hand-off (both workers), hand-offs
 * per release. */
int bench_xw_lock_handoff(uint64_t iters, bench_sample *out);
/* Producer on worker 0, consumer on worker 1, queue of capacity 1024: value = ns per item,
 * extras = io_uring_enter, cross-worker wake-ups and doorbells per item (both workers). */
int bench_xw_queue_throughput(uint64_t iters, bench_sample *out);

/* ---- coring, internal wake records (bench_xworker.c) ------------------------------- */

/* Ping-pong of wait records between tasks on workers 0 and 1: value = median round trip
 * ns, extras = p99 ns, io_uring_enter per wake-up, doorbells per wake-up. */
int bench_xw_wake(uint64_t iters, bench_sample *out);

#endif
