/* SPDX-License-Identifier: MIT */
/* The worker loop: poll the ring, fire due timers, run the ready snapshot; and the switches. */
#include <errno.h>
#include <time.h>

#include "scheduler.h"
#include "fiber.h"
#include "remote.h"
#include "ring.h"
#include "stack_overflow.h"
#include "task.h"
#include "list.h"
#include "worker.h"

_Thread_local cr__worker *cr__tls_worker;

/* Bottom of t's stack region (above the guard page). */
static void *stack_lo(const cr__worker *w, const cr_task *t)
{
	return (char *)t->slot + w->stacks.page;
}

/* Usable bytes of t's stack region (below the control block). */
static size_t stack_len(const cr__worker *w, const cr_task *t)
{
	return (size_t)((const char *)t - (const char *)stack_lo(w, t));
}

/* Bookkeeping of every switch into t (from the scheduler or another task). */
static void enter_task(cr__worker *w, cr_task *t)
{
	w->current = t;
	t->state = CR__TASK_RUNNING;
	w->stats.switches++;
}

/* Finishes what a task that ended left behind once nothing runs on its stack
 * any more: ASan's view of the stack, and the reaping of a detached task.
 * Returns nothing. */
static inline void finish_exit(cr__worker *w)
{
	cr_task *e = w->exiting;
	if (e) {
		w->exiting = NULL;
		cr__asan_unpoison(stack_lo(w, e), stack_len(w, e));
		if (e->detached)
			cr__task_reap(e);
	}
}

void cr__sched_after_switch(cr__worker *w)
{
	finish_exit(w);
}

/* Runs t until control comes back to the scheduler (from t or from a task
 * that t, or a task after it, switched to directly), then finishes what the
 * last one left: its canary check, and the reaping of a task that ended. */
static void resume_task(cr__worker *w, cr_task *t)
{
	enter_task(w, t);
	cr__asan_start(&w->sched_fake_stack, stack_lo(w, t), stack_len(w, t));
	cr__tsan_switch(t->tsan_fiber);
	cr__ctx_switch(&w->sched_ctx, &t->ctx);
	cr__asan_finish(w->sched_fake_stack, NULL, NULL);
	cr_task *last = w->current;
	w->current = NULL;
	if (w->stacks.guard_mode != CR__GUARD_MADVISE && last)
		cr__overflow_check_canary(w, last);
	finish_exit(w);
}

/* Returns 1 if operations are in the kernel (task waits, or operations with a handler such as
 * multishots) and the ready budget since the last look at the ring is used up. */
static int io_due(const cr__worker *w)
{
	return (w->inflight || w->handler_ops) && w->since_poll >= w->cfg.ready_budget;
}

/* Returns 1 if a pass of the loop between two batches would do nothing but
 * start the next batch: no timer armed, no SQE to submit, no completion
 * due a look, no message waiting. */
static int loop_would_idle(cr__worker *w)
{
	return w->timers.len == 0 && !w->sq_dirty && !io_due(w) && !cr__inbox_nonempty(&w->inbox);
}

/* Takes the next item of the current batch if it is a task: the one the
 * scheduler would resume next anyway (when the batch is used up and the loop
 * has nothing else to do, the next batch starts here).  Returns it or NULL. */
static cr_task *next_in_batch(cr__worker *w)
{
	if (w->batch_left == 0 && w->ready.len && loop_would_idle(w)) {
		w->batch_left = w->ready.len;
		cr__reclaim_quiescent(w); /* a loop pass in all but name */
	}
	cr__runnable *r = w->batch_left ? w->ready.head : NULL;
	if (!r || r->kind != CR__RUN_TASK)
		return NULL;
	cr__runq_pop(&w->ready);
	w->batch_left--;
	w->since_poll++;
	return cr__container_of(r, cr_task, run);
}

void cr__sched_suspend(cr__worker *w, cr_task *t)
{
	if (w->stacks.guard_mode != CR__GUARD_MADVISE)
		cr__overflow_check_canary(w, t);
	cr_task *next = next_in_batch(w);
	if (next == t) { /* woken already and first in line: keep running */
		enter_task(w, t);
		return;
	}
	if (next) {
		/* One switch instead of two: straight to the next task. */
		enter_task(w, next);
		cr__asan_start(&t->asan_fake_stack, stack_lo(w, next), stack_len(w, next));
		cr__tsan_switch(next->tsan_fiber);
	} else {
		cr__asan_start(&t->asan_fake_stack, w->sched_stack_lo, w->sched_stack_size);
		cr__tsan_switch(w->sched_fiber);
	}
	cr__ctx_switch(&t->ctx, next ? &next->ctx : &w->sched_ctx);
	cr__asan_finish(t->asan_fake_stack, NULL, NULL);
	finish_exit(w); /* the task before may have ended (cr__sched_exit) */
}

void cr__sched_exit(cr__worker *w, cr_task *t)
{
	if (w->stacks.guard_mode != CR__GUARD_MADVISE)
		cr__overflow_check_canary(w, t);
	w->exiting = t; /* reaped by whoever runs next, off t's stack */
	cr_task *next = next_in_batch(w);
	if (next) {
		/* Straight to the next task, which finishes t's exit (see
		 * cr__sched_after_switch): no pass through the scheduler. */
		enter_task(w, next);
		cr__asan_start(NULL, stack_lo(w, next), stack_len(w, next));
		cr__tsan_switch(next->tsan_fiber);
		cr__ctx_switch(&t->ctx, &next->ctx);
	} else {
		w->current = NULL; /* the scheduler has no last task to check */
		cr__asan_start(NULL, w->sched_stack_lo, w->sched_stack_size);
		cr__tsan_switch(w->sched_fiber);
		cr__ctx_switch(&t->ctx, &w->sched_ctx);
	}
	__builtin_trap();
}

/* Returns 1 once the runtime may stop: the main task ended and no task runs
 * on any worker. */
static int runtime_done(cr__worker *w)
{
	return atomic_load_explicit(&w->rt->stopping, memory_order_seq_cst) &&
	       atomic_load_explicit(&w->rt->running, memory_order_seq_cst) == 0;
}

#define SPIN_NS 20000u		/* how long an idle worker polls its inbox before sleeping */
#define SPIN_RECENT_NS 1000000u /* ... if it had a message this recently */

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* A worker that just talked to another one is likely to hear back within
 * microseconds: polling the inbox briefly saves two context switches in the
 * kernel.  Returns 1 if a message arrived. */
static int spin_for_messages(cr__worker *w, uint64_t deadline)
{
	if (!w->rt->spin_ok || w->inflight || w->last_msg_ns == 0)
		return 0;
	uint64_t now = cr_now_ns();
	if (now - w->last_msg_ns > SPIN_RECENT_NS)
		return 0;
	uint64_t until = now + SPIN_NS < deadline ? now + SPIN_NS : deadline;
	for (unsigned i = 1;; i++) {
		if (cr__inbox_nonempty(&w->inbox) || runtime_done(w))
			return 1;
		cpu_relax();
		if ((i & 63) == 0 && cr_now_ns() >= until)
			return 0;
	}
}

/* valgrind serialises threads and does not treat io_uring_enter as a call
 * that may block, so a worker asleep in it would stall every other thread.
 * Under valgrind an idle worker polls the ring and naps in nanosleep (which
 * valgrind knows blocks) for at most a millisecond instead. */
static void valgrind_nap(cr__worker *w, uint64_t deadline)
{
	if (cr__ring_poll(w, 0, 0))
		return;
	uint64_t now = cr_now_ns();
	uint64_t ns = deadline > now ? deadline - now : 0;
	struct timespec ts = {0, (long)(ns < 1000000 ? ns : 1000000)};
	nanosleep(&ts, NULL);
}

/* Blocks in the kernel until a completion, a doorbell or the next timer,
 * unless a message or the end of the runtime is already there (the flag
 * and the re-check pair with cr__remote_poke). */
static void sleep_in_kernel(cr__worker *w)
{
	cr__timer *next = cr__timer_heap_top(&w->timers);
	uint64_t deadline = next ? next->when : UINT64_MAX;
	if (spin_for_messages(w, deadline))
		return;
	/* Clear the bell before announcing the sleep: whoever rings it from now
	 * on sends a doorbell that arrives after this point and ends the sleep. */
	atomic_store_explicit(&w->bell_rung, 0, memory_order_seq_cst);
	atomic_store_explicit(&w->sleeping, 1, memory_order_seq_cst);
	cr__reclaim_offline(w);
	int wait = !cr__inbox_nonempty(&w->inbox) && !runtime_done(w) &&
		   (!next || deadline > cr_now_ns());
	if (wait && w->under_valgrind)
		valgrind_nap(w, deadline);
	else
		cr__ring_poll(w, wait, deadline);
	atomic_store_explicit(&w->sleeping, 0, memory_order_seq_cst);
	cr__reclaim_quiescent(w);
}

/* Talks to the kernel: without ready work, sleeps until a completion, a
 * message or the next timer; with ready work, only submits / polls when due. */
static void poll_io(cr__worker *w)
{
	if (cr__remote_drain(w))
		w->last_msg_ns = cr_now_ns();
	if (w->ready.len == 0) {
		sleep_in_kernel(w);
		w->since_poll = 0;
		if (cr__remote_drain(w))
			w->last_msg_ns = cr_now_ns();
	} else if (w->sq_dirty || io_due(w)) {
		cr__ring_poll(w, 0, 0);
		w->since_poll = 0;
	}
}

/* Runs the items that were ready when the batch began (asyncio's snapshot);
 * tasks may hand the CPU to the next one directly (cr__sched_suspend). */
static void run_ready(cr__worker *w)
{
	w->batch_left = w->ready.len;
	while (w->batch_left > 0) {
		w->batch_left--;
		cr__runnable *r = cr__runq_pop(&w->ready);
		w->since_poll++;
		if (r->kind == CR__RUN_TASK)
			resume_task(w, cr__container_of(r, cr_task, run));
		else
			cr__callback_run(w, cr__container_of(r, cr__callback, run));
	}
}

void cr__sched_loop(cr__worker *w)
{
	while (!runtime_done(w)) {
		cr__reclaim_quiescent(w);
		poll_io(w);
		if (w->timers.len)
			cr__timers_fire(w, cr_now_ns());
		run_ready(w);
	}
	cr__remote_drain(w); /* handle releases posted before the last task ended */
	cr__reclaim_offline(w);
}

unsigned cr__timers_fire(cr__worker *w, uint64_t now)
{
	unsigned n = 0;
	cr__timer *t;
	while ((t = cr__timer_heap_top(&w->timers)) && t->when <= now) {
		cr__timer_heap_remove(&w->timers, t);
		t->fire(t);
		n++;
	}
	w->stats.timers_fired += n;
	return n;
}
