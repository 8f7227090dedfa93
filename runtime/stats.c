/* SPDX-License-Identifier: MIT */
/* Snapshots of worker counters, taken by the worker that owns them. */
#include <errno.h>

#include "stats.h"
#include "remote.h"
#include "ring.h"
#include "worker.h"

void cr__stats_fill(cr__worker *w, cr_stats *out)
{
	*out = w->stats;
	out->timers_pending = w->timers.len;
	out->stacks_mapped = w->stacks.mapped_slots;
	out->ring_flags = cr__ring_setup_flags(w->ring);
	out->guard_mode = (unsigned)w->stacks.guard_mode;
}

int cr_stats_get(cr_stats *out)
{
	cr__worker *w = cr__self();
	if (!w)
		return -EPERM;
	cr__stats_fill(w, out);
	return 0;
}

int cr_stats_get_worker(unsigned worker, cr_stats *out)
{
	cr__worker *w = cr__self();
	if (!w)
		return -EPERM;
	if (worker >= w->rt->nworkers)
		return -EINVAL;
	cr__worker *to = w->rt->workers[worker];
	if (to == w) {
		cr__stats_fill(w, out);
		return 0;
	}
	if (!w->current)
		return -EPERM;
	int r = cr__wait_prepare();
	if (r)
		return r;
	cr__stats_req req;
	req.msg.kind = CR__MSG_STATS;
	req.out = out;
	cr__wait_init(&req.reply, NULL);
	cr__remote_post(to, &req.msg);
	return cr__wait_park(&req.reply);
}
