/* SPDX-License-Identifier: MIT */
/* One worker's share of the server: its buffer pool, accept loops, UDP loops, and draining. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* The loops a worker runs, and their task handles. */
struct loops {
	struct es_accept_loop *accept; /* accept loops' arguments */
	struct es_udp_loop *udp;       /* UDP loops' arguments */
	cr_task **tasks;	       /* every loop task */
	unsigned n_accept, n_udp, n_tasks;
};

/* Counts the loops worker w runs: one accept loop per IP address (and per
 * Unix path on worker 0), one UDP loop per IP address with UDP. */
static void count_loops(const struct es_worker *w, unsigned *n_accept, unsigned *n_udp)
{
	const struct es_listen_set *set = w->sh->set;
	*n_accept = *n_udp = 0;
	for (unsigned i = 0; i < set->n; i++) {
		const struct es_listener *l = &set->l[i];
		if (!l->is_unix || w->index == 0)
			(*n_accept)++;
		if (l->udp_fds)
			(*n_udp)++;
	}
}

/* Spawns the loops on this worker.  Returns 0 or -errno (the loops started
 * are left running; stop_loops ends them). */
static int start_loops(struct es_worker *w, struct loops *lp)
{
	struct es_listen_set *set = w->sh->set;
	unsigned na, nu;
	count_loops(w, &na, &nu);
	lp->accept = calloc(na ? na : 1, sizeof(*lp->accept));
	lp->udp = calloc(nu ? nu : 1, sizeof(*lp->udp));
	lp->tasks = calloc(na + nu + 1, sizeof(*lp->tasks));
	if (!lp->accept || !lp->udp || !lp->tasks)
		return -ENOMEM;
	for (unsigned i = 0; i < set->n; i++) {
		struct es_listener *l = &set->l[i];
		if (!l->is_unix || w->index == 0) {
			struct es_accept_loop *a = &lp->accept[lp->n_accept++];
			a->w = w;
			a->lfd = &l->tcp_fds[l->is_unix ? 0 : w->index];
			a->is_unix = l->is_unix;
			int r = cr_spawn(&lp->tasks[lp->n_tasks], es_accept_main, a,
					 &(cr_spawn_opts){.name = "accept"});
			if (r < 0)
				return r;
			lp->n_tasks++;
		}
		if (l->udp_fds) {
			struct es_udp_loop *u = &lp->udp[lp->n_udp++];
			u->w = w;
			u->fd = &l->udp_fds[w->index];
			int r = cr_spawn(&lp->tasks[lp->n_tasks], es_udp_main, u,
					 &(cr_spawn_opts){.name = "udp"});
			if (r < 0)
				return r;
			lp->n_tasks++;
		}
	}
	return 0;
}

/* Cancels and joins every loop (they close their sockets).  A cancel of
 * this task meanwhile is remembered in *hurry.  Returns nothing. */
static void stop_loops(struct es_worker *w, struct loops *lp, int *hurry)
{
	w->stopping = 1;
	for (unsigned i = 0; i < lp->n_tasks; i++)
		cr_cancel(lp->tasks[i]);
	for (unsigned i = 0; i < lp->n_tasks; i++)
		while (cr_join(lp->tasks[i], NULL) < 0)
			*hurry = 1;
	free(lp->accept);
	free(lp->udp);
	free(lp->tasks);
	memset(lp, 0, sizeof(*lp));
}

/* Cuts every live connection: cancels its task, or marks it if not started. */
static void cut_all(struct es_worker *w)
{
	for (struct es_conn *c = w->conns.next; c != &w->conns; c = c->next) {
		if (c->cancel_requested)
			continue;
		c->cancel_requested = 1;
		w->stats.cancelled++;
		if (c->task)
			cr_cancel(c->task);
	}
}

/* Lets the connections finish until the grace deadline (or a cancel of
 * this task), then cuts the rest and waits for their tasks to end.
 * Returns nothing. */
static void drain(struct es_worker *w, int hurry)
{
	w->draining = 1;
	if (w->n_conns && !hurry) {
		cr_deadline d;
		cr_deadline_enter(&d, w->sh->grace_deadline_ns);
		while (w->n_conns && cr_event_wait(&w->drained) == 0)
			;
		cr_deadline_exit(&d);
	}
	if (w->n_conns)
		cut_all(w);
	while (w->n_conns)
		cr_event_wait(&w->drained); /* each connection ends at its next wait */
}

int es_worker_main(void *arg)
{
	struct es_worker *w = arg;
	const struct es_options *o = w->sh->opts;
	struct loops lp;
	int hurry = 0;
	memset(&lp, 0, sizeof(lp));
	w->conns.next = w->conns.prev = &w->conns;
	cr_event_init(&w->drained);
	if (o->max_held_bytes) { /* this worker's share, at least a byte */
		uint64_t share = o->max_held_bytes / w->sh->set->workers;
		w->held_budget = share ? (size_t)share : 1;
	}
	int r = cr_bufpool_create(&w->pool, o->buffers, o->buffer_size);
	if (r < 0) {
		fprintf(stderr,
			"coring-echo-server: worker %u: cannot create a pool of %u buffers of %zu "
			"bytes: %s\n",
			w->index, o->buffers, o->buffer_size, strerror(-r));
		w->pool = NULL;
	} else if ((r = start_loops(w, &lp)) < 0) {
		fprintf(stderr, "coring-echo-server: worker %u: cannot start: %s\n", w->index,
			strerror(-r));
	}
	w->start_error = r;
	cr_sem_release(&w->sh->ready);
	/* Serve until the main task says stop (a cancel before that means the
	 * main task gave up: stop as well). */
	while (!cr_event_is_set(&w->sh->stop))
		if (cr_event_wait(&w->sh->stop) < 0)
			hurry = 1;
	stop_loops(w, &lp, &hurry);
	drain(w, hurry);
	if (w->pool && cr_bufpool_destroy(w->pool) < 0)
		fprintf(stderr, "coring-echo-server: worker %u: buffer pool still in use\n",
			w->index);
	cr_event_destroy(&w->drained);
	return r;
}
