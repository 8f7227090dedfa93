/* SPDX-License-Identifier: MIT */
/* The worker's loop: run queue, switching between tasks, timers, and the kernel wait. */
#ifndef CORING_SCHEDULER_H
#define CORING_SCHEDULER_H

#include <stdint.h>

#include "task.h"
#include "worker.h"

/* Makes t ready (appends it to the run queue).  Returns nothing. */
static inline void cr__sched_ready(cr__worker *w, cr_task *t)
{
	t->state = CR__TASK_READY;
	cr__runq_push(&w->ready, &t->run);
}

/* Switches from the current task to the scheduler; returns when resumed.
 * The caller sets the task's state first.  Returns nothing. */
void cr__sched_suspend(cr__worker *w, cr_task *t);

/* Puts t (the running task of w) at the back of the run queue and lets every
 * other ready item run once; no wait record, so cancellation and deadlines
 * are not looked at.  Returns nothing. */
static inline void cr__sched_requeue(cr__worker *w, cr_task *t)
{
	cr__sched_ready(w, t);
	cr__sched_suspend(w, t);
}

/* Called first by a task that starts running: finishes the exit of the task
 * that switched to it, if that one ended.  Returns nothing. */
void cr__sched_after_switch(cr__worker *w);

/* Switches away from a finished task for the last time, to the next ready
 * task of the batch or to the scheduler.  Never returns (it is not declared
 * _Noreturn so that the task's entry reaches it by a jump, not a call: see
 * cr__ctx_trampoline on the CPU's return predictor). */
void cr__sched_exit(cr__worker *w, cr_task *t);

/* Runs the loop until the runtime stops (main task ended, no task running
 * anywhere).  Returns nothing. */
void cr__sched_loop(cr__worker *w);

/* Fires every timer due at or before now.  Returns the number fired. */
unsigned cr__timers_fire(cr__worker *w, uint64_t now);

#endif
