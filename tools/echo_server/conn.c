/* SPDX-License-Identifier: MIT */
/* A connection task: echo every chunk received, half-close after the client's EOF, then close. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

/* Longest logger name: "EchoServer_" + an IPv6 address + "_" + a port. */
#define NAME_MAX_LEN 96

/* How long a send may wait for the client to read before the connection
 * copies what it holds out of the pool (see echo). */
#define SPILL_NS (2 * 1000000ull)

/* Bytes copied out of pool buffers while the client does not read. */
struct spill {
	char *buf;  /* the copy */
	size_t len; /* bytes in it */
	size_t cap; /* bytes allocated */
};

/* Appends n bytes.  Returns 0 or -ENOMEM. */
static int spill_add(struct spill *sp, const void *p, size_t n)
{
	if (sp->len + n > sp->cap) {
		size_t cap = sp->cap ? sp->cap : 16384;
		while (cap < sp->len + n)
			cap *= 2;
		char *b = realloc(sp->buf, cap);
		if (!b)
			return -ENOMEM;
		sp->buf = b;
		sp->cap = cap;
	}
	memcpy(sp->buf + sp->len, p, n);
	sp->len += n;
	return 0;
}

/* How a connection ended, for the counters and the log. */
enum outcome { END_EOF, END_IDLE, END_CUT, END_ERROR };

/* Waits for the next chunk, at most idle_ns if not 0.  *idle is set when
 * the idle timeout (not a socket error) ended the wait.  Returns as
 * cr_receiver_next. */
static ssize_t next_chunk(cr_receiver *r, cr_chunk *ch, uint64_t idle_ns, int *idle)
{
	if (!idle_ns)
		return cr_receiver_next(r, ch);
	cr_deadline d;
	cr_timeout_enter(&d, idle_ns);
	ssize_t n = cr_receiver_next(r, ch);
	*idle = cr_deadline_exit(&d) == 1;
	return n;
}

/* Sends all len bytes; with idle_ns, each send must make progress within
 * it (*idle tells if it did not).  *sent gets the bytes sent.  Returns 0 or
 * -errno. */
static int send_chunk(int fd, const char *p, size_t len, size_t *sent, uint64_t idle_ns, int *idle)
{
	*sent = 0;
	while (*sent < len) {
		cr_deadline d;
		if (idle_ns)
			cr_timeout_enter(&d, idle_ns);
		ssize_t s = cr_send(fd, p + *sent, len - *sent);
		if (idle_ns)
			*idle = cr_deadline_exit(&d) == 1;
		if (s < 0)
			return (int)s;
		*sent += (size_t)s;
	}
	return 0;
}

/* Sends a chunk: first what the socket takes at once, then, waiting, the
 * rest; gives up with -EAGAIN if the client has not taken it all within
 * SPILL_NS (*sent tells how much it did take).  Returns 0,
 * -EAGAIN or an error of cr_send. */
static int send_fast(int fd, const char *p, size_t len, size_t *sent)
{
	cr_deadline d;
	ssize_t s = cr_send_nowait(fd, p, len);
	*sent = 0;
	if (s == (ssize_t)len) {
		*sent = len; /* the common case: the socket had room, no timer armed */
		return 0;
	}
	if (s < 0 && s != -EAGAIN)
		return (int)s;
	if (s > 0)
		*sent = (size_t)s;
	cr_timeout_enter(&d, SPILL_NS);
	while (*sent < len && (s = cr_send(fd, p + *sent, len - *sent)) >= 0)
		*sent += (size_t)s;
	int slow = cr_deadline_exit(&d) == 1;
	if (*sent == len)
		return 0;
	return slow && s == -ETIMEDOUT ? -EAGAIN : (int)s;
}

/*
 * The client does not read: copies the rest of the chunk and every chunk
 * already queued out of the pool, gives the buffers back and stops
 * receiving, then sends the copy and receives again.  A client that never
 * reads therefore holds a bounded copy of its own data (at most about
 * --max-held chunks), never the worker's pool that other connections need.
 * Returns 0 or -errno.
 */
static int spill_and_send(struct es_conn *c, const char *name, cr_receiver *r, cr_chunk *ch,
			  size_t done, struct spill *sp, int *idle)
{
	struct es_worker *w = c->w;
	int verbose = es_log_enabled();
	int e = spill_add(sp, ch->data + done, ch->len - done);
	cr_chunk_release(r, ch);
	cr_receiver_pause(r);
	ssize_t m;
	cr_chunk more;
	while (e == 0 && (m = cr_receiver_try_next(r, &more)) > 0) {
		w->stats.bytes_in += (uint64_t)m;
		if (verbose)
			es_log_bytes(name, "received", more.data, more.len);
		e = spill_add(sp, more.data, more.len);
		cr_chunk_release(r, &more);
	}
	size_t sent = 0;
	if (e == 0)
		e = send_chunk(c->fd, sp->buf, sp->len, &sent, w->sh->opts->idle_ns, idle);
	w->stats.bytes_out += sent;
	if (e == 0 && verbose)
		es_log_bytes(name, "sent", sp->buf, sp->len);
	sp->len = 0;
	cr_receiver_resume(r);
	return e;
}

/*
 * Echoes until the client's EOF (then half-closes), an error, the idle
 * timeout or a cancel.  A chunk is sent straight from its pool buffer; if
 * the client does not take it within SPILL_NS the connection moves what it
 * holds into a copy of its own (spill_and_send).  The receiver queues at
 * most --max-held chunks meanwhile, so the client's own sends stall
 * (back-pressure).  Returns how it ended; *err gets the error.
 */
static enum outcome echo(struct es_conn *c, const char *name, int *err)
{
	struct es_worker *w = c->w;
	const struct es_options *o = w->sh->opts;
	int verbose = es_log_enabled(), idle = 0;
	struct spill sp = {0};
	cr_receiver *r;
	ssize_t n;
	*err = cr_receiver_open(&r, c->fd, w->pool, o->max_held);
	if (*err < 0)
		return END_ERROR;
	for (;;) {
		cr_chunk ch;
		size_t sent;
		n = next_chunk(r, &ch, o->idle_ns, &idle);
		if (n <= 0)
			break;
		w->stats.bytes_in += (uint64_t)n;
		if (verbose)
			es_log_bytes(name, "received", ch.data, ch.len);
		n = send_fast(c->fd, ch.data, ch.len, &sent);
		w->stats.bytes_out += sent;
		if (n == -EAGAIN) {
			n = spill_and_send(c, name, r, &ch, sent, &sp, &idle);
			if (n < 0)
				break;
			continue;
		}
		if (n == 0 && verbose)
			es_log_bytes(name, "sent", ch.data, ch.len);
		cr_chunk_release(r, &ch);
		if (n < 0)
			break;
	}
	free(sp.buf);
	cr_receiver_close(r);
	*err = (int)n;
	if (n == 0) {
		if (verbose)
			es_log(name, "received EOF");
		/* Everything received was sent: answer the EOF with ours.  The
		 * client can send nothing after its EOF, so closing right after
		 * (as asyncio's transport does) loses nothing. */
		cr_shutdown(c->fd, SHUT_WR);
		return END_EOF;
	}
	if (idle)
		return END_IDLE;
	if (n == -ECANCELED && c->cancel_requested)
		return END_CUT;
	return END_ERROR;
}

/* Takes c off its worker's list and frees it.  Returns nothing. */
static void conn_end(struct es_conn *c)
{
	struct es_worker *w = c->w;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	if (w->sh->opts->max_conns)
		atomic_fetch_sub_explicit(&w->sh->live, 1, memory_order_relaxed);
	if (--w->n_conns == 0 && w->draining)
		cr_event_set(&w->drained);
	free(c);
}

static int conn_main(void *arg)
{
	struct es_conn *c = arg;
	struct es_worker *w = c->w;
	char name[NAME_MAX_LEN] = "EchoServer";
	enum outcome end = END_CUT;
	int err = -ECANCELED;
	c->task = cr_current();
	if (es_log_enabled()) {
		cr_addr peer;
		if (cr_socket_addr(c->fd, 1, &peer) < 0)
			memset(&peer, 0, sizeof(peer));
		es_log_name(name, sizeof(name), "EchoServer", &peer, c->seq);
		es_log(name, "connection accepted");
	}
	if (!c->cancel_requested)
		end = echo(c, name, &err);
	cr_close(c->fd);
	if (end == END_EOF)
		w->stats.completed++;
	else if (end == END_IDLE)
		w->stats.idle_closed++;
	else if (end == END_ERROR)
		w->stats.errors++;
	if (es_log_enabled()) {
		char why[160];
		if (end == END_ERROR)
			es_log(name, "ERROR: %s", es_oserror(err, why, sizeof(why)));
		else if (end == END_IDLE)
			es_log(name, "idle timeout");
		else if (end == END_CUT)
			es_log(name, "grace period over");
		if (end != END_ERROR)
			es_log(name, "closing");
	}
	conn_end(c);
	return 0;
}

int es_conn_start(struct es_worker *w, int fd)
{
	struct es_shared *sh = w->sh;
	uint64_t max = sh->opts->max_conns;
	if (max && atomic_fetch_add_explicit(&sh->live, 1, memory_order_relaxed) >= max) {
		/* Over the limit: accepted and closed at once, the client sees EOF. */
		atomic_fetch_sub_explicit(&sh->live, 1, memory_order_relaxed);
		w->stats.refused++;
		close(fd);
		return 0;
	}
	struct es_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		if (max)
			atomic_fetch_sub_explicit(&sh->live, 1, memory_order_relaxed);
		w->stats.errors++;
		return -ENOMEM;
	}
	c->w = w;
	c->fd = fd;
	c->seq = atomic_fetch_add_explicit(&sh->seq, 1, memory_order_relaxed) + 1;
	c->next = &w->conns;
	c->prev = w->conns.prev;
	c->prev->next = c;
	w->conns.prev = c;
	w->n_conns++;
	w->stats.accepted++;
	int r = cr_spawn(NULL, conn_main, c, &(cr_spawn_opts){.name = "conn"});
	if (r < 0) {
		w->stats.accepted--;
		w->stats.errors++;
		close(fd);
		conn_end(c);
	}
	return r;
}
