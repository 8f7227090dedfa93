/* SPDX-License-Identifier: MIT */
/* A server connection: its limit, its handler task, the idle check, cutting, taking and closing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"
#include "server_impl.h"
#include "stream_impl.h"

/* Interval of the idle check: an eighth of the timeout (at least 1 ms), so
 * that a connection is cut between the timeout and a quarter more after its
 * last byte. */
static uint64_t idle_step(uint64_t idle_ns)
{
	uint64_t step = idle_ns / 8;
	return step < 1000000u ? 1000000u : step;
}

/*
 * The idle check, a callback on the connection's worker every idle_step:
 * the stream counts as active when bytes moved since the last check or its
 * handler is not waiting on it; a stream that stayed idle and waited for
 * the timeout is cut.  One timer per connection and step, nothing per wait.
 */
static void idle_tick(void *arg)
{
	cr__srv_conn *c = arg;
	uint64_t idle = c->w->srv->opts.idle_timeout_ns;
	c->idle_id = 0;
	if (!c->stream || c->cut || c->taken)
		return;
	uint64_t seen = c->stream->nin + c->stream->nout, now = cr_now_ns();
	if (seen != c->idle_seen || !cr__stream_waiting(c->stream)) {
		c->idle_seen = seen;
		c->idle_since = now;
	} else if (now - c->idle_since >= idle) {
		cr__srv_conn_cut(c, -ETIMEDOUT);
		return;
	}
	c->idle_id = cr_call_later(idle_step(idle), idle_tick, c);
}

/* Starts the idle check of c (if the server has a timeout).  Returns nothing. */
static void idle_arm(cr__srv_conn *c)
{
	uint64_t idle = c->w->srv->opts.idle_timeout_ns;
	if (!idle)
		return;
	c->idle_since = cr_now_ns();
	c->idle_id = cr_call_later(idle_step(idle), idle_tick, c);
}

/* Stops the idle check.  Returns nothing. */
static void idle_stop(cr__srv_conn *c)
{
	if (c->idle_id)
		(void)cr_callback_cancel(c->idle_id);
	c->idle_id = 0;
}

void cr__srv_conn_cut(cr__srv_conn *c, int err)
{
	if (c->cut || c->taken)
		return;
	c->cut = err;
	if (c->stream)
		cr__stream_abort(c->stream, err);
	if (c->task)
		cr_cancel(c->task);
}

/* Takes c off its worker's list of live connections (and the limit).
 * Returns nothing. */
static void unlist(cr__srv_conn *c)
{
	if (!cr__list_linked(&c->node))
		return;
	cr__list_remove(&c->node);
	atomic_fetch_sub(&c->w->srv->live, 1);
	cr__srv_dec(&c->w->st.active);
}

/* The end of c: off the list, the worker told when it was the last, freed.
 * Returns nothing. */
static void conn_end(cr__srv_conn *c)
{
	cr__srv_worker *w = c->w;
	unlist(c);
	free(c);
	if (--w->n_conns == 0)
		cr__wake_slot(&w->drain_waiter);
}

/* Closes c's stream after its handler returned r: cleanly, or with a reset
 * if r < 0 or c was cut; counts how it ended.  Returns nothing. */
static void conn_close(cr__srv_conn *c, int r)
{
	cr__srv_counters *st = &c->w->st;
	uint64_t in = 0, out = 0;
	if (c->stream) {
		if (r < 0 || c->cut)
			cr__stream_abort(c->stream, c->cut ? c->cut : r);
		(void)cr__stream_close(c->stream, &in, &out);
		c->stream = NULL;
	} else {
		cr_close_reset(c->fd);
	}
	idle_stop(c);
	cr__srv_add(&st->bytes_in, in);
	cr__srv_add(&st->bytes_out, out);
	if (c->cut == -ETIMEDOUT)
		cr__srv_add(&st->idle_closed, 1);
	else if (c->cut)
		cr__srv_add(&st->cut, 1);
	else if (r < 0)
		cr__srv_add(&st->handler_errors, 1);
	else
		cr__srv_add(&st->completed, 1);
}

/* A connection's task: opens the stream, runs the handler, closes.  Returns 0. */
static int conn_main(void *arg)
{
	cr__srv_conn *c = arg;
	cr__srv_worker *w = c->w;
	cr_server *srv = w->srv;
	int r;
	c->task = cr_current();
	if (w->draining && !c->stop_seen) { /* accepted just before the stop */
		c->stop_seen = 1;
		cr_cancel(c->task);
	}
	if (cr_socket_addr(c->fd, 1, &c->info.peer) < 0)
		memset(&c->info.peer, 0, sizeof(c->info.peer));
	if (c->cut) {
		conn_close(c, c->cut);
		conn_end(c);
		return 0;
	}
	cr_stream_opts so = srv->opts.stream;
	so.pool = w->pool;
	r = cr_stream_open(&c->stream, c->fd, &so);
	if (r < 0) {
		c->stream = NULL;
		cr_close_reset(c->fd);
		cr__srv_add(&w->st.setup_errors, 1);
		conn_end(c);
		return 0;
	}
	idle_arm(c);
	r = srv->handler(c->stream, &c->info, srv->arg);
	if (c->taken) { /* the stream is the handler's now */
		c->stream = NULL;
		conn_end(c);
		return 0;
	}
	conn_close(c, r);
	conn_end(c);
	return 0;
}

void cr__srv_conn_start(cr__srv_worker *w, int fd, unsigned listener)
{
	cr_server *srv = w->srv;
	if (atomic_fetch_add(&srv->live, 1) >= srv->max_conns) {
		atomic_fetch_sub(&srv->live, 1);
		cr__srv_add(&w->st.refused, 1);
		cr_close_reset(fd); /* a refusal, not a connection that ended */
		return;
	}
	cr__srv_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		atomic_fetch_sub(&srv->live, 1);
		cr__srv_add(&w->st.setup_errors, 1);
		cr_close_reset(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->info.server = srv;
	c->info.listener = listener;
	c->info.worker = w->index;
	c->info.id = atomic_fetch_add(&srv->seq, 1) + 1;
	cr__list_push_back(&w->conns, &c->node);
	w->n_conns++;
	cr__srv_add(&w->st.accepted, 1);
	cr__srv_add(&w->st.active, 1);
	cr_spawn_opts so = {.name = "conn", .stack_size = srv->opts.stack_size};
	if (cr_spawn(NULL, conn_main, c, &so) < 0) {
		cr__srv_dec(&w->st.accepted);
		cr__srv_add(&w->st.setup_errors, 1);
		cr_close_reset(fd);
		conn_end(c);
	}
}

int cr_server_take(const cr_server_conn *ci)
{
	if (!ci)
		return -EINVAL;
	cr__srv_conn *c = cr__container_of(ci, cr__srv_conn, info);
	if (!c->task || cr_current() != c->task || !c->stream)
		return -EPERM;
	if (c->taken)
		return -EALREADY;
	if (c->cut)
		return c->cut; /* cut already: the toolkit resets it */
	c->taken = 1;
	cr__stream_detach_pool(c->stream); /* it may outlive the worker's pool */
	idle_stop(c);
	unlist(c);
	cr__srv_add(&c->w->st.taken, 1);
	return 0;
}
