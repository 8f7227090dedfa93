/* SPDX-License-Identifier: MIT */
/* Per-worker state: one thread's ring, run queue, timers, stacks and counters. */
#ifndef CORING_WORKER_H
#define CORING_WORKER_H

#include <coring/runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "callback.h"
#include "context.h"
#include "runq.h"
#include "stack_pool.h"
#include "task.h"
#include "timer_heap.h"

struct cr__ring;

/* Everything one worker thread owns; nothing here is shared in the hot path. */
typedef struct cr__worker {
	struct cr__ring *ring;       /* this worker's io_uring */
	cr__runq ready;              /* runnable tasks and callbacks, FIFO */
	cr__ctx sched_ctx;           /* the scheduler's context (thread's own stack) */
	cr_task *current;            /* running task, NULL in the scheduler */
	cr_task *exiting;            /* finished task to reap once switched away */
	cr__timer_heap timers;       /* sleeps, call_later, deadlines */
	cr__stack_pool stacks;       /* stack slots */
	cr__callbacks callbacks;     /* call_soon / call_later records */
	cr_stats stats;              /* counters for cr_stats_get */
	cr_config cfg;               /* configuration in force */
	cr_task *all;                /* list of live tasks (for shutdown) */
	cr_task *main_task;          /* the task cr_run started */
	int main_result;             /* its return value */
	int stopping;                /* 1 once the main task ended */
	unsigned since_poll;         /* items run since the kernel was last asked */
	uint64_t inflight;           /* submitted operations a task still waits for */
	void *altstack;              /* signal stack for overflow reports */
	size_t altstack_size;        /* its size */
	void *sched_fake_stack;      /* ASan fake-stack handle of the scheduler */
	const void *sched_stack_lo;  /* ASan: scheduler stack bottom */
	size_t sched_stack_size;     /* ASan: scheduler stack size */
	void *sched_fiber;           /* TSan fiber of the scheduler */
} cr__worker;

/* The worker running on this thread, or NULL outside cr_run. */
extern _Thread_local cr__worker *cr__tls_worker;

/* Returns the calling thread's worker or NULL. */
static inline cr__worker *cr__self(void) { return cr__tls_worker; }

/* Makes t ready (appends it to the run queue).  Returns nothing. */
void cr__sched_ready(cr__worker *w, cr_task *t);

/* Switches from the current task to the scheduler; returns when resumed.
 * The caller sets the task's state first.  Returns nothing. */
void cr__sched_suspend(cr__worker *w, cr_task *t);

/* Switches away from a finished task for the last time.  Never returns. */
_Noreturn void cr__sched_exit(cr__worker *w, cr_task *t);

/* Runs the loop until the main task ended and every task is reaped.
 * Returns nothing. */
void cr__sched_loop(cr__worker *w);

/* Creates a task on w.  Returns 0 or -errno (see cr_spawn). */
int cr__task_create(cr__worker *w, cr_task **out, cr_task_fn fn, void *arg,
		    const cr_spawn_opts *opts);

/* Fires every timer due at or before now.  Returns the number fired. */
unsigned cr__timers_fire(cr__worker *w, uint64_t now);

/* Installs the process-wide overflow reporter and this thread's signal
 * stack.  Returns 0 or -errno. */
int cr__overflow_init(cr__worker *w);

/* Removes this thread's signal stack.  Returns nothing. */
void cr__overflow_fini(cr__worker *w);

/* Aborts with a report if t's canary shows an overflow.  Returns nothing. */
void cr__overflow_check_canary(cr__worker *w, cr_task *t);

#endif
