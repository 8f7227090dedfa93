/* SPDX-License-Identifier: MIT */
/* The task control block, kept at the top of the task's own stack slot. */
#ifndef CORING_TASK_H
#define CORING_TASK_H

#include <coring/runtime.h>
#include <stdatomic.h>
#include <stdint.h>

#include "context.h"
#include "list.h"
#include "runq.h"
#include "wait.h"

struct cr__worker;

enum cr__task_state {
	CR__TASK_READY = 1,   /* queued to run */
	CR__TASK_RUNNING = 2, /* the current task */
	CR__TASK_PARKED = 3,  /* waiting on t->wait */
	CR__TASK_DONE = 4,    /* returned; result valid */
};

/* Someone waiting for a task to end (join, gather, wait_any, groups). */
typedef struct cr__watch {
	cr__list node;	       /* on the task's watchers while linked */
	struct cr__wait *wait; /* woken with `index` when the task ends */
	int index;	       /* value handed to cr__wake */
} cr__watch;

struct cr_task {
	cr__ctx ctx;		     /* saved context while not running */
	cr__runnable run;	     /* run queue node */
	struct cr__worker *worker;   /* owning worker: tasks never migrate */
	cr_task_fn fn;		     /* body */
	void *arg;		     /* body argument */
	int result;		     /* return value once done */
	uint8_t state;		     /* enum cr__task_state */
	uint8_t detached;	     /* 1: reaped when done (no handle) */
	uint8_t cancel_pending;	     /* 1: next wait returns -ECANCELED */
	uint8_t canary_checked;	     /* 1: stack uses the canary fallback */
	cr__wait *wait;		     /* current wait while parked */
	cr_deadline *deadline;	     /* innermost deadline scope, or NULL */
	cr__list watchers;	     /* cr__watch.node: who waits for this task to end */
	cr_task_group *group;	     /* owning group, or NULL */
	cr__list group_node;	     /* on the group's members while in a group */
	cr__list all_node;	     /* on the worker's list of live tasks */
	void *slot;		     /* stack slot base (guard page) */
	size_t slot_size;	     /* stack slot size */
	int stack_class;	     /* pool size class */
	void *asan_fake_stack;	     /* ASan fake-stack handle across switches */
	void *tsan_fiber;	     /* TSan fiber of this task */
	_Atomic int done;	     /* 1 once ended (result published): other workers read it */
	atomic_flag cancel_posted;   /* set while a cross-worker cancel is on its way */
	cr__msg cancel_msg;	     /* carries a cancel from another worker */
	cr__msg release_msg;	     /* carries a join's or detach's release from another worker */
	char name[CR_TASK_NAME_MAX]; /* task name */
};

/* Reaps a finished task that nobody will join: returns its stack to the pool.
 * Must not be called on t's own stack.  Returns nothing. */
void cr__task_reap(struct cr_task *t);

/* Creates a task on w (the calling thread's worker).  Returns 0 or -errno. */
int cr__task_create(struct cr__worker *w, cr_task **out, cr_task_fn fn, void *arg,
		    const cr_spawn_opts *opts);

/* Drops the handle of t: reaps it if it ended, else marks it detached.  Works
 * for tasks on any worker.  Returns nothing. */
void cr__task_release(cr_task *t);

/* Cancels every task of w and marks it stopping.  Returns nothing. */
void cr__worker_stop(struct cr__worker *w);

#endif
