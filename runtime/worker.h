/* SPDX-License-Identifier: MIT */
/* Per-worker state: one thread's ring, run queue, timers, stacks, inbox and counters. */
#ifndef CORING_WORKER_H
#define CORING_WORKER_H

#include <coring/runtime.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "callback.h"
#include "reclaim.h"
#include "context.h"
#include "current.h"
#include "inbox.h"
#include "list.h"
#include "ring.h"
#include "runq.h"
#include "stack_pool.h"
#include "timer_heap.h"

struct cr__ring;
struct cr__offload;
struct cr__worker;

/* What every worker of one cr_run shares. */
typedef struct cr__runtime {
	unsigned nworkers;	     /* worker count */
	struct cr__worker **workers; /* all workers, index = worker id */
	pthread_t *threads;	     /* threads of workers 1..n-1 */
	cr_config cfg;		     /* configuration in force */
	_Atomic unsigned next_any;   /* round-robin cursor for CR_ON_ANY */
	_Atomic int stopping;	     /* 1 once the main task ended */
	int spin_ok;		     /* 1: several workers, each with a CPU of its own */
	_Atomic uint64_t running;    /* workers with tasks not yet ended (see live) */
	struct cr__offload *offload; /* blocking-call pool */
	sigset_t saved_mask;	     /* signal mask of cr_run's caller, restored at exit */
	_Atomic uint64_t epoch;	     /* reclamation epoch, bumped by every retire (reclaim.c) */
} cr__runtime;

/* Everything one worker thread owns; only the inbox and the sleep flags are
 * touched by other threads. */
typedef struct cr__worker {
	cr__inbox inbox;	    /* messages from other threads (MPSC) */
	_Atomic int sleeping;	    /* 1 while (about to be) blocked in io_uring_enter */
	_Atomic int bell_rung;	    /* 1 once someone rang since the worker slept */
	char pad[64];		    /* keeps the fields below off the shared cache line */
	_Atomic uint64_t qs_epoch;  /* epoch seen at the last quiescent point; UINT64_MAX offline */
	char pad2[56];		    /* keeps qs_epoch (read by other workers) on its own line */
	cr__runtime *rt;	    /* the runtime this worker belongs to */
	cr__retired *retired_head;  /* objects retired here, oldest first (reclaim.c) */
	cr__retired **retired_tail; /* where the next retired object is linked */
	size_t retired_len;	    /* objects on that list */
	unsigned id;		    /* index in rt->workers */
	int ring_fd;		    /* ring fd other workers target with MSG_RING */
	int event_fd;		    /* doorbell for threads that are not workers */
	uint64_t event_buf;	    /* read buffer of the eventfd read */
	cr__cqe_handler event_handler;	/* re-arms the eventfd read */
	int signal_fd;			/* signalfd for cancel_on_signal, or -1 */
	uint8_t signal_buf[128];	/* read buffer of the signalfd read */
	cr__cqe_handler signal_handler; /* cancels the main task on SIGINT/SIGTERM */
	struct cr__ring *ring;		/* this worker's io_uring */
	cr__runq ready;			/* runnable tasks and callbacks, FIFO */
	cr__ctx sched_ctx;		/* the scheduler's context (thread's own stack) */
	cr_task *current;		/* running task, NULL in the scheduler */
	cr_task *exiting;		/* finished task to reap once switched away */
	uint64_t live;			/* its tasks not yet ended; while above 0 it
					 * counts once in rt->running */
	cr__timer_heap timers;		/* sleeps, call_later, deadlines */
	cr__stack_pool stacks;		/* stack slots */
	cr__callbacks callbacks;	/* call_soon / call_later records */
	cr_stats stats;			/* counters for cr_stats_get */
	cr_config cfg;			/* configuration in force */
	cr__list all;			/* cr_task.all_node: live tasks (for shutdown) */
	cr_task *main_task;		/* the task cr_run started (worker 0 only) */
	int main_result;		/* its return value */
	int stopping;			/* 1 once this worker cancelled its tasks for shutdown */
	cr__msg stop_msg;		/* tells this worker the main task ended */
	unsigned since_poll;		/* items run since the kernel was last asked */
	size_t batch_left;		/* items of the current ready snapshot not yet run */
	uint64_t inflight;		/* submitted operations a task still waits for */
	uint64_t handler_ops;	    /* operations in the kernel whose completions go to a handler */
	int sq_dirty;		    /* 1: SQEs may be waiting to be submitted (set by
				     * cr__ring_sqe, cleared by cr__ring_poll) */
	uint64_t last_msg_ns;	    /* when the inbox last had messages */
	int under_valgrind;	    /* 1: never block inside io_uring_enter */
	void *altstack;		    /* signal stack for overflow reports */
	size_t altstack_size;	    /* its size */
	void *sched_fake_stack;	    /* ASan fake-stack handle of the scheduler */
	const void *sched_stack_lo; /* ASan: scheduler stack bottom */
	size_t sched_stack_size;    /* ASan: scheduler stack size */
	void *sched_fiber;	    /* TSan fiber of the scheduler */
#if defined(CORING_FAULTS) && CORING_FAULTS
	struct cr__faults *faults; /* the fault injector (CORING_FAULTS), or NULL */
#endif
} cr__worker;

#endif
