/* SPDX-License-Identifier: MIT */
/* server_cases.h: a line-echo handler and line clients shared by the cr_server tests. */
#ifndef CORING_TESTS_SERVER_CASES_H
#define CORING_TESTS_SERVER_CASES_H

#include <stdatomic.h>
#include <stdio.h>

#include "net_cases.h"

/* What the test handlers record (any worker writes: atomics). */
struct handler_log {
	atomic_int cancels;   /* -ECANCELED seen by handlers */
	atomic_int ended;     /* handlers that returned */
	atomic_int last_err;  /* the last negative result a handler ended with */
	int ignore_cancel;    /* 1 = go on reading after -ECANCELED */
	const char *stop_cmd; /* a line that makes the handler stop the server, or NULL */
};

/* A line echo: answers every line, finishes a line in hand when told to stop
 * (-ECANCELED), ends at EOF or between lines after the stop.  Returns 0 or a
 * negative errno (a reset). */
static inline int line_echo(cr_stream *s, const cr_server_conn *c, void *arg)
{
	struct handler_log *log = arg;
	int r = 0;
	for (;;) {
		const void *line, *p;
		if (!log->ignore_cancel && cr_server_stopping(c->server) &&
		    cr_stream_peek(s, &p) == 0)
			break; /* stopping, no message in hand */
		ssize_t n = cr_stream_readline(s, &line);
		if (n == -ECANCELED) {
			atomic_fetch_add(&log->cancels, 1);
			if (log->ignore_cancel || cr_stream_peek(s, &p) > 0)
				continue; /* a message in hand: finish it */
			break;
		}
		if (n < 0) {
			r = n == -ENODATA ? 0 : (int)n;
			break;
		}
		if (log->stop_cmd && (size_t)n == strlen(log->stop_cmd) &&
		    memcmp(line, log->stop_cmd, (size_t)n) == 0)
			cr_server_stop(c->server);
		if ((r = cr_stream_write(s, line, (size_t)n)) < 0 || (r = cr_stream_drain(s)) < 0)
			break;
	}
	if (r < 0)
		atomic_store(&log->last_err, r);
	atomic_fetch_add(&log->ended, 1);
	return r;
}

/* Connects to 127.0.0.1:port.  Returns the fd (fails the test if it cannot). */
static inline int connect_port(int port)
{
	cr_addr a;
	loop4(&a, (uint16_t)port);
	int fd = cr_connect(&a);
	CHECK_OK(fd);
	return fd;
}

/* Sends line (with its newline) and checks the same bytes come back.  Returns nothing. */
static inline void echo_line(int fd, const char *line)
{
	size_t n = strlen(line);
	char back[4096];
	CHECK(n <= sizeof(back));
	CHECK_EQ_INT(cr_send_all(fd, line, n, NULL), (ssize_t)n);
	recv_exact(fd, back, n);
	CHECK_EQ_MEM(back, line, n);
}

/* Waits for the peer's end: returns what the first recv that got no data returned (0 for a
 * clean end, -ECONNRESET for a reset), failing the test if data came. */
static inline ssize_t wait_end(int fd)
{
	char b[64];
	ssize_t n = cr_recv(fd, b, sizeof(b));
	CHECK_MSG(n <= 0, "expected the end, got %zd bytes", n);
	return n;
}

/* Argument of serve_task. */
struct serving {
	cr_server *srv; /* the server */
	int result;	/* what cr_server_serve returned */
};

/* Task: serves until stopped.  Returns cr_server_serve's result. */
static inline int serve_task(void *arg)
{
	struct serving *sv = arg;
	sv->result = cr_server_serve(sv->srv);
	return sv->result;
}

/* Creates a server with the line echo on 127.0.0.1:0 and listens; *port gets the port.
 * Returns it. */
static inline cr_server *line_server(const cr_server_opts *o, struct handler_log *log, int *port)
{
	cr_server *srv;
	CHECK_OK(cr_server_create(&srv, line_echo, log, o));
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), 0);
	CHECK_OK(cr_server_listen(srv));
	*port = cr_server_port(srv);
	CHECK_GT_INT(*port, 0);
	return srv;
}

#endif
