/* SPDX-License-Identifier: MIT */
/* Snapshot of the current worker's counters. */
#include <errno.h>

#include "ring.h"
#include "worker.h"

int cr_stats_get(cr_stats *out)
{
	cr__worker *w = cr__self();
	if (!w)
		return -ESRCH;
	*out = w->stats;
	out->timers_pending = w->timers.len;
	out->stacks_mapped = w->stacks.mapped_slots;
	out->ring_flags = cr__ring_setup_flags(w->ring);
	out->guard_mode = (unsigned)w->stacks.guard_mode;
	return 0;
}
