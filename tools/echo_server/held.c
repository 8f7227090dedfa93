/* SPDX-License-Identifier: MIT */
/* The held-bytes budget: bytes written for clients that do not read, and who is cut when they are
 * too many. */
#include <errno.h>
#include <stdint.h>

#include "server.h"

/* Returns the holder of w holding the most bytes and not cut yet, counting
 * extra more bytes for asker (not on the list yet); NULL if none holds
 * anything. */
static struct es_holder *largest_holder(struct es_worker *w, struct es_holder *asker, size_t more)
{
	struct es_holder *best = asker;
	size_t most = more;
	for (struct es_holder *h = w->holders.next; h && h != &w->holders; h = h->next) {
		/* on a tie the asker goes: it is the one asking for more */
		if (!h->cut && h->held > most) {
			most = h->held;
			best = h;
		}
	}
	return best;
}

/* Cuts v for the budget: its task ends at its current wait (its drain) and
 * its bytes no longer count meanwhile. */
static void cut(struct es_holder *v)
{
	v->cut = 1;
	v->w->held_doomed += v->held;
	cr_cancel(v->task);
}

int es_held_reserve(struct es_holder *h, size_t more)
{
	struct es_worker *w = h->w;
	if (!w->holders.next)
		w->holders.next = w->holders.prev = &w->holders;
	if (w->held_budget) {
		while (w->held_bytes - w->held_doomed + more > w->held_budget) {
			struct es_holder *v = largest_holder(w, h, more);
			if (v == h) {
				h->cut = 1; /* the caller ends the connection */
				return -ENOBUFS;
			}
			cut(v);
		}
	}
	h->held = more;
	h->next = &w->holders;
	h->prev = w->holders.prev;
	h->prev->next = h;
	w->holders.prev = h;
	w->held_bytes += more;
	if (w->held_bytes > atomic_load_explicit(&w->held_peak, memory_order_relaxed))
		atomic_store_explicit(&w->held_peak, w->held_bytes, memory_order_relaxed);
	return 0;
}

void es_held_release(struct es_holder *h)
{
	struct es_worker *w = h->w;
	if (!h->next)
		return; /* never accounted */
	h->prev->next = h->next;
	h->next->prev = h->prev;
	h->next = h->prev = NULL;
	w->held_bytes -= h->held;
	if (h->cut)
		w->held_doomed -= h->held;
	h->held = 0;
}
