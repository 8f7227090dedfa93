/* SPDX-License-Identifier: MIT */
/* The connection handler on cr_server: echo every byte received, half-close after the client's EOF.
 */
#include <errno.h>
#include <string.h>

#include "server.h"

/* Longest logger name: "EchoServer_" + an IPv6 address + "_" + a port. */
#define NAME_MAX_LEN 96

/* How a connection ended, for the counters and the log.  Every end but
 * END_EOF is abnormal: the toolkit resets the connection. */
enum outcome { END_EOF, END_SEND_TIMEOUT, END_HELD, END_ERROR };

/* One connection's handler state. */
struct conn {
	cr_stream *s;		    /* the stream */
	const struct es_options *o; /* the command line */
	cr_server *srv;		    /* the server (is it stopping?) */
	struct es_holder h;	    /* its account when its client does not read */
	int stop_seen;		    /* 1 once the stop's cancellation came */
	char name[NAME_MAX_LEN];    /* its logger name */
};

/* Returns 1 if err is the one cancellation a graceful stop sends (the
 * connection goes on until its client ends or the grace period is over). */
static int stop_cancel(struct conn *c, int err)
{
	if (err != -ECANCELED || c->stop_seen || c->h.cut || !cr_server_stopping(c->srv))
		return 0;
	c->stop_seen = 1;
	return 1;
}

/* One drain that must make progress within --send-timeout.  Returns as
 * cr_stream_drain; *late is set when the send timeout expired. */
static int drain_once(struct conn *c, enum outcome *late)
{
	size_t before = cr_stream_write_buffered(c->s);
	for (;;) {
		cr_deadline d;
		if (c->o->send_ns)
			cr_timeout_enter(&d, c->o->send_ns);
		int e = cr_stream_drain(c->s);
		if (c->o->send_ns && cr_deadline_exit(&d) == 1 && e == -ETIMEDOUT) {
			size_t now = cr_stream_write_buffered(c->s);
			if (now < before) { /* the client took some: a new period */
				before = now;
				continue;
			}
			*late = END_SEND_TIMEOUT;
		}
		if (!stop_cancel(c, e))
			return e;
	}
}

/*
 * Back-pressure: returns at once while the stream's write buffer is under
 * its high-water mark (the common case), else holds the connection's unsent
 * bytes against the worker's --max-held-bytes share while the client does
 * not read.  Returns 0 or -errno; *late is set for a send timeout or a
 * budget cut.
 */
static int drain(struct conn *c, enum outcome *late)
{
	size_t high = c->o->max_held * c->o->buffer_size;
	size_t unsent = cr_stream_write_buffered(c->s);
	if (unsent <= high)
		return 0;
	int e = es_held_reserve(&c->h, unsent);
	if (e == 0)
		e = drain_once(c, late);
	es_held_release(&c->h);
	if (c->h.cut)
		*late = END_HELD;
	return e;
}

/* Waits for the next piece to echo: with --lines a line, else everything
 * buffered.  *p gets its bytes and *consume how many of them the caller
 * consumes once it has written them (readline consumed its line itself).
 * Returns the piece's length, 0 at the client's end, or a negative errno. */
static ssize_t next_piece(struct conn *c, const void **p, size_t *consume)
{
	ssize_t n;
	*consume = 0;
	if (c->o->lines) {
		n = cr_stream_readline(c->s, p);
		if (n != -ENODATA && n != -EMSGSIZE)
			return n;
		/* the bytes after the last newline at the end, or an overlong
		 * line: echoed as they are, like the raw echo */
	} else if ((n = cr_stream_fill(c->s)) <= 0) {
		return n;
	}
	n = cr_stream_peek(c->s, p);
	if (n > 0)
		*consume = (size_t)n;
	return n;
}

/* Echoes until the client's EOF, an error, a timeout or a cut.  Returns how
 * it ended; *err gets the error (0 at EOF). */
static enum outcome echo(struct conn *c, int *err)
{
	int verbose = es_log_enabled();
	enum outcome late = END_EOF;
	ssize_t n;
	for (;;) {
		const void *p;
		size_t consume;
		n = next_piece(c, &p, &consume);
		if (n < 0 && stop_cancel(c, (int)n))
			continue;
		if (n <= 0)
			break;
		if (verbose)
			es_log_bytes(c->name, "received", p, (size_t)n);
		int e = cr_stream_write(c->s, p, (size_t)n);
		if (e == 0 && (e = drain(c, &late)) == 0 && verbose)
			es_log_bytes(c->name, "sent", p, (size_t)n);
		cr_stream_consume(c->s, consume);
		if (e < 0) {
			n = e;
			break;
		}
	}
	if (n == 0) {
		if (verbose)
			es_log(c->name, "received EOF");
		/* Everything received is written: answer the EOF with ours once
		 * it is sent.  The client can send nothing after its EOF, so
		 * closing right after (as asyncio's transport does) loses nothing. */
		int e;
		while ((e = cr_stream_write_eof(c->s)) < 0 && stop_cancel(c, e))
			;
		*err = e;
		return e == 0 ? END_EOF : END_ERROR;
	}
	*err = (int)n;
	return late == END_EOF ? END_ERROR : late;
}

/* Logs the end of a connection (--verbose).  Returns nothing. */
static void log_end(const struct conn *c, enum outcome end, int err)
{
	char why[160];
	if (end == END_SEND_TIMEOUT)
		es_log(c->name, "send timeout: the client did not read");
	else if (end == END_HELD)
		es_log(c->name,
		       "cut: unsent echo for clients that do not read over --max-held-bytes");
	else if (end == END_ERROR && err == -ETIMEDOUT)
		es_log(c->name, "idle timeout"); /* the toolkit's idle cut */
	else if (end == END_ERROR && (err == -ECONNABORTED || err == -ECANCELED))
		es_log(c->name, "grace period over");
	else if (end == END_ERROR)
		es_log(c->name, "ERROR: %s", es_oserror(err, why, sizeof(why)));
	if (end != END_ERROR || err == -ETIMEDOUT || err == -ECONNABORTED || err == -ECANCELED)
		es_log(c->name, "closing");
}

int es_echo(cr_stream *s, const cr_server_conn *ci, void *arg)
{
	struct es_shared *sh = arg;
	struct es_worker *w = &sh->ws[ci->worker];
	struct conn c = {.s = s, .o = sh->opts, .srv = sh->srv, .name = "EchoServer"};
	int err = 0;
	c.h.w = w;
	c.h.task = cr_current();
	if (es_log_enabled()) {
		es_log_name(c.name, sizeof(c.name), "EchoServer", &ci->peer, ci->id);
		es_log(c.name, "connection accepted");
	}
	enum outcome end = echo(&c, &err);
	if (end == END_SEND_TIMEOUT)
		atomic_fetch_add_explicit(&w->send_timeouts, 1, memory_order_relaxed);
	else if (end == END_HELD)
		atomic_fetch_add_explicit(&w->held_cut, 1, memory_order_relaxed);
	if (es_log_enabled())
		log_end(&c, end, err);
	if (end == END_EOF)
		return 0;
	return err < 0 ? err : -ECONNRESET;
}
