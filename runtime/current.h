/* SPDX-License-Identifier: MIT */
/* What code outside the scheduler may know of the running worker and task: who runs, and a shielded
 * yield. */
#ifndef CORING_CURRENT_H
#define CORING_CURRENT_H

struct cr__worker;

/* The worker running on this thread, or NULL outside cr_run (set by run.c). */
extern _Thread_local struct cr__worker *cr__tls_worker;

/* Returns the calling thread's worker, or NULL outside cr_run. */
static inline struct cr__worker *cr__self(void)
{
	return cr__tls_worker;
}

/* Returns 1 when called from a task (not from the scheduler, a callback or a
 * thread outside cr_run), else 0. */
int cr__in_task(void);

/* Lets every other ready item run once, ignoring cancellation and deadlines
 * (no wait record: a READY task is not parked, so a cancellation meanwhile
 * only marks it and its next wait reports it).  Call from a task only.
 * Returns nothing. */
void cr__yield_shielded(void);

#endif
