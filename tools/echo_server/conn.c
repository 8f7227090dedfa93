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

/* Bytes copied out of pool buffers while the client does not read; freed
 * once sent, so that a client that stalled once holds nothing afterwards. */
struct spill {
	char *buf;  /* the copy */
	size_t len; /* bytes in it */
	size_t cap; /* bytes allocated (accounted in the connection's held bytes) */
};

/* Appends n bytes, within the held-bytes budget.  Returns 0, -ENOBUFS
 * (over the budget: c must end) or -ENOMEM. */
static int spill_add(struct es_conn *c, struct spill *sp, const void *p, size_t n)
{
	if (sp->len + n > sp->cap) {
		size_t cap = sp->cap ? sp->cap : 16384;
		while (cap < sp->len + n)
			cap *= 2;
		int e = es_held_reserve(c, cap - sp->cap);
		if (e < 0)
			return e;
		char *b = realloc(sp->buf, cap);
		if (!b)
			return -ENOMEM; /* accounted until the connection ends, at once */
		sp->buf = b;
		sp->cap = cap;
	}
	memcpy(sp->buf + sp->len, p, n);
	sp->len += n;
	return 0;
}

/* Frees the copy and its account.  Returns nothing. */
static void spill_free(struct es_conn *c, struct spill *sp)
{
	free(sp->buf);
	sp->buf = NULL;
	sp->len = sp->cap = 0;
	es_held_release(c);
}

/* How a connection ended, for the counters and the log.  Every end but
 * END_EOF is abnormal: the client gets a reset (cr_close_reset). */
enum outcome { END_EOF, END_IDLE, END_SEND_TIMEOUT, END_HELD, END_CUT, END_ERROR };

/* Waits for the next chunk, at most idle_ns if not 0.  *late becomes
 * END_IDLE when the idle timeout (not a socket error) ended the wait.
 * Returns as cr_receiver_next. */
static ssize_t next_chunk(cr_receiver *r, cr_chunk *ch, uint64_t idle_ns, enum outcome *late)
{
	if (!idle_ns)
		return cr_receiver_next(r, ch);
	cr_deadline d;
	cr_timeout_enter(&d, idle_ns);
	ssize_t n = cr_receiver_next(r, ch);
	if (cr_deadline_exit(&d) == 1)
		*late = END_IDLE;
	return n;
}

/* Sends all len bytes; each send must make progress within --send-timeout
 * (or --idle-timeout if shorter); *late tells which one expired, if one
 * did.  *sent gets the bytes sent.  Returns 0 or -errno. */
static int send_chunk(int fd, const char *p, size_t len, size_t *sent, const struct es_options *o,
		      enum outcome *late)
{
	uint64_t t = o->send_ns;
	enum outcome kind = END_SEND_TIMEOUT;
	if (o->idle_ns && (!t || o->idle_ns < t)) {
		t = o->idle_ns;
		kind = END_IDLE;
	}
	*sent = 0;
	while (*sent < len) {
		cr_deadline d;
		if (t)
			cr_timeout_enter(&d, t);
		ssize_t s = cr_send(fd, p + *sent, len - *sent);
		if (t && cr_deadline_exit(&d) == 1)
			*late = kind;
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
 * receiving (the pause holds no buffer once the queue is taken), then
 * sends the copy, frees it and receives again.  A client that never reads
 * therefore holds a bounded copy of its own data (at most about --max-held
 * chunks), never the worker's pool that other connections need, and a
 * client that read again holds nothing.  Returns 0 or -errno.
 */
static int spill_and_send(struct es_conn *c, const char *name, cr_receiver *r, cr_chunk *ch,
			  size_t done, struct spill *sp, enum outcome *late)
{
	struct es_worker *w = c->w;
	int verbose = es_log_enabled();
	int e = spill_add(c, sp, ch->data + done, ch->len - done);
	cr_chunk_release(r, ch);
	cr_receiver_pause(r);
	ssize_t m;
	cr_chunk more;
	while ((m = cr_receiver_try_next(r, &more)) > 0) {
		w->stats.bytes_in += (uint64_t)m;
		if (verbose && e == 0)
			es_log_bytes(name, "received", more.data, more.len);
		if (e == 0)
			e = spill_add(c, sp, more.data, more.len);
		cr_chunk_release(r, &more); /* after an error too: hold no buffer */
	}
	size_t sent = 0;
	if (e == 0)
		e = send_chunk(c->fd, sp->buf, sp->len, &sent, w->sh->opts, late);
	w->stats.bytes_out += sent;
	if (e == 0 && verbose)
		es_log_bytes(name, "sent", sp->buf, sp->len);
	spill_free(c, sp);
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
	int verbose = es_log_enabled();
	enum outcome late = END_EOF; /* END_IDLE or END_SEND_TIMEOUT once one expired */
	struct spill sp = {0};
	cr_receiver *r;
	ssize_t n;
	*err = cr_receiver_open(&r, c->fd, w->pool, o->max_held);
	if (*err < 0)
		return END_ERROR;
	for (;;) {
		cr_chunk ch;
		size_t sent;
		n = next_chunk(r, &ch, o->idle_ns, &late);
		if (n <= 0)
			break;
		w->stats.bytes_in += (uint64_t)n;
		if (verbose)
			es_log_bytes(name, "received", ch.data, ch.len);
		n = send_fast(c->fd, ch.data, ch.len, &sent);
		w->stats.bytes_out += sent;
		if (n == -EAGAIN) {
			n = spill_and_send(c, name, r, &ch, sent, &sp, &late);
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
	spill_free(c, &sp);
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
	if (c->held_cut)
		return END_HELD;
	if (late != END_EOF)
		return late;
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
	if (end == END_EOF)
		cr_close(c->fd);
	else
		cr_close_reset(c->fd); /* abnormal: the client must not take it for an end */
	if (end == END_EOF)
		w->stats.completed++;
	else if (end == END_IDLE)
		w->stats.idle_closed++;
	else if (end == END_SEND_TIMEOUT)
		w->stats.send_timeouts++;
	else if (end == END_HELD)
		w->stats.held_cut++;
	else if (end == END_ERROR)
		w->stats.errors++;
	if (es_log_enabled()) {
		char why[160];
		if (end == END_ERROR)
			es_log(name, "ERROR: %s", es_oserror(err, why, sizeof(why)));
		else if (end == END_IDLE)
			es_log(name, "idle timeout");
		else if (end == END_SEND_TIMEOUT)
			es_log(name, "send timeout: the client did not read");
		else if (end == END_HELD)
			es_log(name,
			       "cut: copies for clients that do not read over --max-held-bytes");
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
		/* Over the limit: accepted and reset at once (a refusal, not an
		 * echo that ended). */
		atomic_fetch_sub_explicit(&sh->live, 1, memory_order_relaxed);
		w->stats.refused++;
		cr_close_reset(fd);
		return 0;
	}
	struct es_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		cr_close_reset(fd);
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
		cr_close_reset(fd);
		conn_end(c);
	}
	return r;
}
