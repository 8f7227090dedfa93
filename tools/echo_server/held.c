/* SPDX-License-Identifier: MIT */
/* The held-bytes budget: copies kept for clients that do not read, and who is cut when they are too
 * many. */
#include <errno.h>
#include <stdint.h>

#include "server.h"

/* Returns the live connection of w holding the most bytes and not cut yet,
 * counting extra more bytes for asker; NULL if none holds anything. */
static struct es_conn *largest_holder(struct es_worker *w, struct es_conn *asker, size_t more)
{
	struct es_conn *best = NULL;
	size_t most = 0;
	for (struct es_conn *c = w->conns.next; c != &w->conns; c = c->next) {
		size_t h = c->held + (c == asker ? more : 0);
		if (c->held_cut || c->cancel_requested || h == 0)
			continue;
		/* on a tie the asker goes: it is the one asking for more */
		if (h > most || (h == most && c == asker)) {
			most = h;
			best = c;
		}
	}
	return best;
}

/* Cuts v for the budget: its task ends at its next wait (it is sending its
 * copy) and frees the copy; its bytes no longer count meanwhile. */
static void cut(struct es_conn *v)
{
	v->held_cut = 1;
	v->w->held_doomed += v->held;
	if (v->task)
		cr_cancel(v->task);
}

int es_held_reserve(struct es_conn *c, size_t more)
{
	struct es_worker *w = c->w;
	if (w->held_budget) {
		while (w->held_bytes - w->held_doomed + more > w->held_budget) {
			struct es_conn *v = largest_holder(w, c, more);
			if (!v || v == c) {
				c->held_cut = 1; /* the caller ends the connection */
				w->held_doomed += c->held;
				return -ENOBUFS;
			}
			cut(v);
		}
	}
	c->held += more;
	w->held_bytes += more;
	if (w->held_bytes > w->stats.held_peak)
		w->stats.held_peak = w->held_bytes;
	return 0;
}

void es_held_release(struct es_conn *c)
{
	struct es_worker *w = c->w;
	w->held_bytes -= c->held;
	if (c->held_cut)
		w->held_doomed -= c->held;
	c->held = 0;
}
