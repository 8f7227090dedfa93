/* SPDX-License-Identifier: MIT */
/* Messages between workers: what each inbox message kind asks the owner to do. */
#ifndef CORING_REMOTE_H
#define CORING_REMOTE_H

#include <signal.h>

#include "task.h"
#include "worker.h"

enum cr__msg_kind {
	CR__MSG_WAKE = 1,     /* cr__wait: make its task ready */
	CR__MSG_SPAWN = 2,    /* cr__spawn_req: create a task here, reply */
	CR__MSG_WATCH = 3,    /* cr__watch_req: wake the requester when a task ends */
	CR__MSG_UNWATCH = 4,  /* cr__watch_req: stop watching, wake with the abort reason */
	CR__MSG_CANCEL = 5,   /* cr_task.cancel_msg: cancel a task here */
	CR__MSG_RELEASE = 6,  /* cr_task.release_msg: a handle was dropped */
	CR__MSG_STOP = 7,     /* cr__worker.stop_msg: the main task ended */
	CR__MSG_STATS = 8,    /* cr__stats_req: copy this worker's counters, reply */
	CR__MSG_SIGBLOCK = 9, /* cr__sigblock_req: block signals in this thread, reply */
};

/* A request to block signals in worker 0's thread (the only one that gets
 * process-directed signals by default). */
typedef struct cr__sigblock_req {
	cr__msg msg;	/* CR__MSG_SIGBLOCK */
	sigset_t set;	/* signals to block */
	cr__wait reply; /* the requester's wait */
} cr__sigblock_req;

/* A request to create a task on another worker; lives on the requester's stack. */
typedef struct cr__spawn_req {
	cr__msg msg;	    /* CR__MSG_SPAWN */
	cr_task_fn fn;	    /* body */
	void *arg;	    /* its argument */
	cr_spawn_opts opts; /* name / stack size */
	int detached;	    /* 1: no handle wanted */
	int err;	    /* result of the creation */
	cr_task *task;	    /* created task */
	cr__wait reply;	    /* the requester's wait */
} cr__spawn_req;

/* A request to be woken when a task on another worker ends. */
typedef struct cr__watch_req {
	cr__msg msg;		  /* CR__MSG_WATCH */
	cr__msg unwatch_msg;	  /* CR__MSG_UNWATCH, sent when the wait is aborted */
	cr_task *task;		  /* watched task */
	cr__watch node;		  /* linked on the task by its worker */
	cr__wait wait;		  /* the requester's wait */
	_Atomic int unwatch_done; /* set last by the task's worker once UNWATCH is handled */
} cr__watch_req;

/* A request for another worker's counters. */
typedef struct cr__stats_req {
	cr__msg msg;	/* CR__MSG_STATS */
	cr_stats *out;	/* where to copy them */
	cr__wait reply; /* the requester's wait */
} cr__stats_req;

/* Waits (from a task) until task t on another worker has ended.  shielded:
 * ignore cancellation and deadlines.  Returns 0, -ECANCELED or -ETIMEDOUT. */
int cr__remote_wait_done(cr_task *t, int shielded);

/* Creates a task on worker `to` from a task on another worker.  Returns as
 * cr_spawn. */
int cr__remote_spawn(cr__worker *to, cr_task **out, cr_task_fn fn, void *arg,
		     const cr_spawn_opts *opts);

/* Posts m to worker `to`'s inbox and rings its doorbell if it sleeps.
 * Callable from any thread.  Returns nothing. */
void cr__remote_post(cr__worker *to, cr__msg *m);

/* Rings `to`'s doorbell if it is asleep (no message).  Returns nothing. */
void cr__remote_poke(cr__worker *to);

/* Handles every message in w's inbox.  Returns the number handled. */
unsigned cr__remote_drain(cr__worker *w);

/* Sets up w's doorbells (eventfd read on the ring).  Returns 0 or -errno. */
int cr__remote_init(cr__worker *w);

#endif
