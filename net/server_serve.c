/* SPDX-License-Identifier: MIT */
/* Serving: a task per worker with an accept loop per address, the stop, the grace period, the cut.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "runtime_internal.h"
#include "server_impl.h"

/* One accept loop: one address on one worker. */
struct accept_loop {
	cr__srv_worker *w; /* the worker */
	unsigned li;	   /* the address */
	cr_task *task;	   /* its task, NULL if it could not start */
};

/* Task: takes connections from a multishot acceptor until the worker stops
 * (it cancels the loop) or the listener fails for good, then closes the
 * acceptor and releases the listener.  Returns 0 or -errno of accepting. */
static int accept_main(void *arg)
{
	struct accept_loop *a = arg;
	cr__srv_worker *w = a->w;
	cr__srv_listener *l = &w->srv->l[a->li];
	int lfd = l->fds[l->is_unix ? 0 : w->index];
	uint64_t seen = 0;
	cr_acceptor *acc;
	int r = cr_acceptor_open(&acc, lfd, 0);
	if (r < 0) {
		cr__srv_add(&w->st.accept_errors, 1);
		cr__srv_listener_release(l, w->index); /* its share goes to the other workers */
		return r;
	}
	while (!w->stopping) {
		int fd = cr_acceptor_next(acc);
		uint64_t errs = cr_acceptor_errors(acc);
		cr__srv_add(&w->st.accept_fd_errors, errs - seen);
		seen = errs;
		if (fd < 0) {
			if (fd != -ECANCELED || !w->stopping) {
				cr__srv_add(&w->st.accept_errors, 1);
				r = fd;
			}
			break;
		}
		if (!l->is_unix && w->srv->opts.nodelay)
			(void)cr_set_nodelay(fd, 1);
		cr__srv_conn_start(w, fd, a->li);
	}
	cr_acceptor_close(acc);
	cr__srv_listener_release(l, w->index);
	return r;
}

/* Parks the calling task until it is cancelled (or a deadline passes).
 * Returns nothing. */
static void wait_cancel(void)
{
	if (cr__wait_prepare() < 0)
		return;
	cr__wait wt;
	cr__wait_init(&wt, cr__abort_wake);
	(void)cr__wait_park(&wt);
}

/* Waits until the worker has no connection left, or an interruption.
 * Returns 0, -ECANCELED or -ETIMEDOUT. */
static int wait_drained(cr__srv_worker *w)
{
	if (!w->n_conns)
		return 0;
	return cr__wait_in_slot(&w->drain_waiter);
}

/* Cancels every handler once (they may finish within the grace period),
 * waits for them until the grace deadline (at once if hurry), cuts the
 * rest and waits for their ends.  Returns nothing. */
static void drain(cr__srv_worker *w, int hurry)
{
	cr__list *n;
	w->draining = 1;
	cr__list_for_each(n, &w->conns)
	{
		cr__srv_conn *c = cr__list_entry(n, cr__srv_conn, node);
		if (!c->stop_seen && c->task) {
			c->stop_seen = 1;
			cr_cancel(c->task);
		}
	}
	if (w->n_conns && !hurry) {
		cr_deadline d;
		cr_deadline_enter(&d, w->srv->grace_deadline_ns);
		while (w->n_conns && wait_drained(w) == 0)
			;
		cr_deadline_exit(&d);
	}
	cr__list_for_each(n, &w->conns)
		cr__srv_conn_cut(cr__list_entry(n, cr__srv_conn, node), -ECONNABORTED);
	while (w->n_conns)
		(void)wait_drained(w); /* each ends at its next wait */
}

int cr__srv_worker_main(void *arg)
{
	cr__srv_worker *w = arg;
	cr_server *srv = w->srv;
	int hurry = 0;
	if (srv->opts.pool_buffers) {
		size_t size = srv->opts.pool_buffer_size ? srv->opts.pool_buffer_size
							 : CR_SERVER_POOL_BUFFER_SIZE_DEFAULT;
		if (cr_bufpool_create(&w->pool, srv->opts.pool_buffers, size) < 0)
			w->pool = NULL; /* no provided-buffer rings: one-shot reads */
	}
	struct accept_loop *loops = calloc(srv->n, sizeof(*loops));
	for (unsigned i = 0; i < srv->n; i++) {
		if (loops) {
			loops[i].w = w;
			loops[i].li = i;
			cr_spawn_opts so = {.name = "accept"};
			if (cr_spawn(&loops[i].task, accept_main, &loops[i], &so) == 0)
				continue;
			loops[i].task = NULL;
		}
		cr__srv_add(&w->st.accept_errors, 1);
		cr__srv_listener_release(&srv->l[i], w->index);
	}
	wait_cancel(); /* the stop */
	w->stopping = 1;
	for (unsigned i = 0; loops && i < srv->n; i++)
		if (loops[i].task)
			cr_cancel(loops[i].task);
	for (unsigned i = 0; loops && i < srv->n; i++)
		while (loops[i].task && cr_join(loops[i].task, NULL) < 0)
			hurry = 1; /* a second cancellation: no grace period */
	free(loops);
	drain(w, hurry);
	if (w->pool) /* every stream is closed or detached from it */
		(void)cr_bufpool_destroy(w->pool);
	w->pool = NULL;
	return 0;
}

/* The stop wait of the serving task. */
struct stop_wait {
	cr__wait wt;	/* parked on */
	cr_server *srv; /* whose stop */
};

/* Abort of the stop wait: whoever takes the wait off the slot wakes it. */
static void abort_stop(cr__wait *wt, int reason)
{
	struct stop_wait *sw = cr__container_of(wt, struct stop_wait, wt);
	if (atomic_exchange(&sw->srv->stop_waiter, NULL) == wt)
		cr__wake(wt, reason);
}

/* Waits until a stop is asked for; an interruption of the calling task
 * asks for it.  Returns nothing. */
static void wait_stop(cr_server *srv)
{
	struct stop_wait sw = {.srv = srv};
	if (atomic_load(&srv->stop))
		return;
	if (cr__wait_prepare() < 0) {
		cr_server_stop(srv);
		return;
	}
	cr__wait_init(&sw.wt, abort_stop);
	atomic_store(&srv->stop_waiter, &sw.wt);
	if (atomic_load(&srv->stop) && atomic_exchange(&srv->stop_waiter, NULL) == &sw.wt)
		return; /* asked meanwhile, and nobody else will wake us */
	(void)cr__wait_park(&sw.wt);
	(void)cr__wait_take_cancel(); /* a cancellation that came with the stop: the same */
	cr_server_stop(srv);
}

/* The connection limit in force: opts.max_conns, or derived from
 * RLIMIT_NOFILE.  Returns it (at least 1). */
static uint64_t conn_limit(const cr_server *srv)
{
	struct rlimit rl;
	if (srv->opts.max_conns)
		return srv->opts.max_conns;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return rl.rlim_cur > CR_SERVER_FD_RESERVE + 1 ? rl.rlim_cur - CR_SERVER_FD_RESERVE : 1;
}

int cr_server_listen(cr_server *srv)
{
	if (!srv)
		return -EINVAL;
	if (!cr__in_task())
		return -EPERM;
	if (srv->listening || srv->served)
		return -EBUSY;
	if (!srv->n)
		return -EINVAL;
	unsigned n = cr_worker_count();
	cr__srv_worker *ws = calloc(n, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		ws[i].srv = srv;
		ws[i].index = i;
		cr__list_init(&ws[i].conns);
	}
	srv->workers = n;
	int r = cr__srv_listen_open(srv);
	if (r < 0) {
		free(ws);
		srv->workers = 0;
		return r;
	}
	srv->w = ws;
	srv->listening = 1;
	return 0;
}

/* Spawns the task of every worker.  Returns 0 or -errno of the first that
 * failed (its listeners are released; the others run). */
static int spawn_workers(cr_server *srv)
{
	int err = 0;
	for (unsigned i = 0; i < srv->workers; i++) {
		cr__srv_worker *w = &srv->w[i];
		cr_spawn_opts so = {.name = "server", .placement = CR_ON_WORKER, .worker = i};
		int r = cr_spawn(&w->task, cr__srv_worker_main, w, &so);
		if (r == 0)
			continue;
		w->task = NULL;
		if (!err)
			err = r;
		for (unsigned k = 0; k < srv->n; k++)
			cr__srv_listener_release(&srv->l[k], i);
	}
	return err;
}

int cr_server_serve(cr_server *srv)
{
	if (!srv)
		return -EINVAL;
	if (!cr__in_task())
		return -EPERM;
	if (srv->serving || srv->served)
		return -EBUSY;
	int r = srv->listening ? 0 : cr_server_listen(srv);
	if (r < 0)
		return r;
	srv->serving = srv->served = 1;
	srv->max_conns = conn_limit(srv);
	r = spawn_workers(srv);
	if (r < 0)
		cr_server_stop(srv);
	wait_stop(srv);
	uint64_t now = cr_now_ns(), g = atomic_load(&srv->stop_now) ? 0 : srv->opts.grace_ns;
	srv->grace_deadline_ns = g > UINT64_MAX - now ? UINT64_MAX : now + g;
	for (unsigned i = 0; i < srv->workers; i++)
		if (srv->w[i].task)
			cr_cancel(srv->w[i].task);
	int hurry = 0;
	for (unsigned i = 0; i < srv->workers; i++) {
		while (srv->w[i].task && cr_join(srv->w[i].task, NULL) < 0) {
			if (hurry++)
				continue;
			for (unsigned k = i; k < srv->workers; k++) /* cut at once */
				if (srv->w[k].task)
					cr_cancel(srv->w[k].task);
		}
		srv->w[i].task = NULL;
	}
	cr__srv_listen_close(srv);
	srv->serving = 0;
	return r;
}
