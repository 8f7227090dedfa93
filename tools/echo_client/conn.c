/* SPDX-License-Identifier: MIT */
/* The connection task of load mode: connect, start the sender, receive and check, close, count. */
#include "conn.h"
#include "connect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Largest send or receive buffer of a connection. */
#define BUF_MAX (64u * 1024u)
/* Smallest receive buffer of a connection. */
#define RBUF_MIN (4u * 1024u)

/* Adds c to its worker's list of live connections.  Returns nothing. */
static void link_conn(ec_conn *c)
{
	c->prev = NULL;
	c->next = c->w->conns;
	if (c->next)
		c->next->prev = c;
	c->w->conns = c;
}

/* Removes c from its worker's list.  Returns nothing. */
static void unlink_conn(ec_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

/* Allocates the buffers and the ring and initialises the semaphore.
 * Returns 0 or -ENOMEM. */
static int setup(ec_conn *c)
{
	const ec_options *o = c->run->opt;
	uint64_t want = (uint64_t)o->pipeline * o->size_max;
	c->sbuf_cap = want < BUF_MAX ? (size_t)want : BUF_MAX;
	c->rbuf_cap = want < RBUF_MIN ? RBUF_MIN : want < BUF_MAX ? (size_t)want : BUF_MAX;
	c->cap = o->pipeline;
	c->sbuf = malloc(c->sbuf_cap);
	c->rbuf = malloc(c->rbuf_cap);
	c->ring = calloc(c->cap, sizeof(*c->ring));
	if (!c->sbuf || !c->rbuf || !c->ring || cr_sem_init(&c->slots, o->pipeline) < 0)
		return -ENOMEM;
	c->slots_ready = 1;
	return 0;
}

/* Frees what setup allocated.  Returns nothing. */
static void teardown(ec_conn *c)
{
	if (c->slots_ready)
		(void)cr_sem_destroy(&c->slots);
	free(c->sbuf);
	free(c->rbuf);
	free(c->ring);
	c->sbuf = c->rbuf = NULL;
	c->ring = NULL;
}

/* Connects within --connect-timeout.  Returns 0 or a negative errno value
 * (counted and printed). */
static int open_conn(ec_conn *c)
{
	ec_run *r = c->run;
	cr_deadline d;
	cr_timeout_enter(&d, r->connect_timeout_ns);
	int fd = ec_connect_any(r->addrs, r->n_addrs, &r->preferred, NULL);
	cr_deadline_exit(&d);
	if (fd < 0) {
		if (fd != -ECANCELED)
			ec_conn_error(c, &c->w->st.connect_errors, "connect to %s: %s", r->target,
				      fd == -ETIMEDOUT ? "timed out" : strerror(-fd));
		return fd;
	}
	c->fd = fd;
	c->connected = 1;
	c->t0_ns = cr_now_ns();
	ec_count(&c->w->st.conns_open, 1);
	return 0;
}

/* Starts the sender unless the run is already stopping.  Returns 0 or a
 * negative errno value (counted and printed). */
static int start_sender(ec_conn *c)
{
	if (ec_run_stopping(c->run, cr_now_ns())) {
		c->sending_done = 1;
		return 0;
	}
	cr_spawn_opts so = {.name = "ec-sender"};
	int e = cr_spawn(&c->sender, ec_sender_main, c, &so);
	if (e < 0) {
		c->sender = NULL;
		c->sending_done = 1;
		ec_conn_error(c, &c->w->st.send_errors, "cannot start the sender: %s",
			      strerror(-e));
	}
	return e;
}

/* Cancels the sender (if it still runs) and waits for it.  Returns nothing. */
static void stop_sender(ec_conn *c)
{
	if (!c->sender)
		return;
	(void)cr_cancel(c->sender);
	/* A join interrupted by a stop signal's cancellation of this task is
	 * retried: the sender must be gone before the ring and socket are. */
	int e;
	while ((e = cr_join(c->sender, NULL)) == -ECANCELED || e == -ETIMEDOUT)
		(void)cr_cancel(c->sender);
	c->sender = NULL;
}

/* Counts what is still in flight after the receiver stopped.  Returns nothing. */
static void count_unanswered(ec_conn *c)
{
	if (c->count == 0)
		return;
	ec_count(&c->w->st.unanswered, c->count);
	if (!c->failed)
		ec_conn_error(c, NULL, "%u message%s (%llu bytes) not echoed %s", c->count,
			      c->count == 1 ? "" : "s", (unsigned long long)ec_conn_outstanding(c),
			      atomic_load_explicit(&c->run->abandon, memory_order_relaxed)
				      ? "when the run was abandoned"
				      : "within the grace period");
}

/* Counts how the connection ended: failed (an error), not started (it did
 * not connect before the run ended or a signal stopped it), not closed (no
 * error, but the server had not ended its stream when the receiver gave
 * up), or ok.  Returns nothing. */
static void count_outcome(ec_conn *c)
{
	ec_wstats *st = &c->w->st;
	if (c->failed) {
		ec_count(&st->conns_failed, 1);
	} else if (!c->connected) {
		ec_count(&st->not_started, 1);
	} else if (!c->eof) {
		ec_count(&st->not_closed, 1);
		ec_run_error(c->run, "connection %u: every echo checked, but the server %s",
			     (unsigned)c->id,
			     atomic_load_explicit(&c->run->abandon, memory_order_relaxed)
				     ? "had not closed the connection when the run was abandoned"
				     : "did not close the connection within the grace period");
	} else {
		ec_count(&st->conns_ok, 1);
	}
}

int ec_conn_main(void *arg)
{
	ec_conn *c = arg;
	ec_run *r = c->run;
	c->w = ec_run_worker(r);
	c->self = cr_current();
	c->fd = -1;
	link_conn(c);
	/* Too late to connect: the connection does not start (counted apart). */
	if (ec_run_stopping(r, cr_now_ns()))
		goto out;
	if (open_conn(c) < 0)
		goto out;
	if (setup(c) < 0) {
		ec_conn_error(c, NULL, "out of memory");
		goto close;
	}
	if (start_sender(c) == 0) {
		ec_conn_maybe_shutdown(c);
		ec_receiver_run(c);
		stop_sender(c);
	}
	count_unanswered(c);
close:
	(void)cr_close(c->fd);
	c->fd = -1;
	ec_uncount(&c->w->st.conns_open, 1);
out:
	count_outcome(c);
	teardown(c);
	unlink_conn(c);
	return 0;
}
