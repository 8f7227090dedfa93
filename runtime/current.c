/* SPDX-License-Identifier: MIT */
/* The running worker and task as the layers above the runtime see them. */
#include "current.h"
#include "scheduler.h"
#include "worker.h"

int cr__in_task(void)
{
	cr__worker *w = cr__self();
	return w && w->current;
}

void cr__yield_shielded(void)
{
	cr__worker *w = cr__self();
	cr__sched_requeue(w, w->current);
}
