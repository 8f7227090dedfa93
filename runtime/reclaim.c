/* SPDX-License-Identifier: MIT */
/* Quiescent-state reclamation: a retired object is freed once every worker has passed its loop top.
 */
#include "reclaim.h"
#include "worker.h"

#define OFFLINE UINT64_MAX

void cr__retire(cr__retired *r, void (*free_fn)(cr__retired *r))
{
	cr__worker *w = cr__self();
	r->free_fn = free_fn;
	r->next = NULL;
	if (!w) {
		free_fn(r);
		return;
	}
	/* Taken after r became unreachable: a worker whose quiescent epoch is
	 * above it started every later operation after the unlinking. */
	r->epoch = atomic_fetch_add_explicit(&w->rt->epoch, 1, memory_order_acq_rel);
	*w->retired_tail = r;
	w->retired_tail = &r->next;
	w->retired_len++;
}

/* Returns the lowest quiescent epoch over all workers (OFFLINE if none is online). */
static uint64_t min_epoch(const cr__runtime *rt)
{
	uint64_t m = OFFLINE;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		const cr__worker *o = rt->workers[i];
		if (!o)
			continue;
		uint64_t e = atomic_load_explicit(&o->qs_epoch, memory_order_acquire);
		if (e < m)
			m = e;
	}
	return m;
}

static void free_upto(cr__worker *w, uint64_t safe_below)
{
	cr__retired *r;
	while ((r = w->retired_head) && r->epoch < safe_below) {
		w->retired_head = r->next;
		if (!w->retired_head)
			w->retired_tail = &w->retired_head;
		w->retired_len--;
		r->free_fn(r);
	}
}

void cr__reclaim_quiescent(cr__worker *w)
{
	uint64_t e = atomic_load_explicit(&w->rt->epoch, memory_order_acquire);
	atomic_store_explicit(&w->qs_epoch, e, memory_order_release);
	if (w->retired_head)
		free_upto(w, min_epoch(w->rt));
}

void cr__reclaim_offline(cr__worker *w)
{
	atomic_store_explicit(&w->qs_epoch, OFFLINE, memory_order_release);
}

void cr__reclaim_flush(cr__worker *w)
{
	free_upto(w, OFFLINE);
}
