/* SPDX-License-Identifier: MIT */
/* Baseline TCP echo server on libuv: one loop, a buffer per connection, uv_try_write first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Bytes each connection reads at once (as coring-echo-server's default buffer). */
#define BUF_SIZE 16384

/*
 * One connection.  A read is echoed with uv_try_write; what the socket does
 * not take at once is sent by wreq from buf itself while reading is stopped
 * (back-pressure), and reading starts again when that write completes.
 */
struct conn {
	uv_tcp_t tcp;	    /* the handle; first, so a handle pointer is a conn pointer */
	uv_write_t wreq;    /* the write of what uv_try_write left */
	uv_shutdown_t sreq; /* the half-close after the client's EOF */
	char buf[BUF_SIZE]; /* what was received and is being echoed */
};

static void on_closed(uv_handle_t *h)
{
	free(h);
}

static void conn_close(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	struct conn *c = (struct conn *)h;
	*buf = uv_buf_init(c->buf, BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct conn *c = (struct conn *)s;
	if (nread == UV_EOF) {
		/* The client's EOF; everything received was sent: answer with ours. */
		c->sreq.data = c;
		if (uv_shutdown(&c->sreq, s, on_shutdown) < 0)
			conn_close(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return; /* EAGAIN */
	uv_buf_t b = uv_buf_init(c->buf, (unsigned)nread);
	int r = uv_try_write(s, &b, 1);
	if (r == nread)
		return;
	if (r < 0 && r != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	size_t done = r > 0 ? (size_t)r : 0;
	b = uv_buf_init(c->buf + done, (unsigned)((size_t)nread - done));
	uv_read_stop(s);
	c->wreq.data = c;
	if (uv_write(&c->wreq, s, &b, 1, on_written) < 0)
		conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	if (status < 0)
		return;
	struct conn *c = malloc(sizeof(*c));
	if (!c)
		return;
	uv_tcp_init(server->loop, &c->tcp);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static int usage(FILE *f, int status)
{
	fputs("usage: coring-bench-echo-libuv [--port P]\n"
	      "Baseline echo server for the echo comparison: one libuv loop, listening on\n"
	      "127.0.0.1:P (default 7007).  Runs until killed.\n",
	      f);
	return status;
}

int main(int argc, char **argv)
{
	int port = 7007;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout, 0);
		if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "-p")) && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 0 || v > 65535)
				return usage(stderr, 2);
			port = (int)v;
			continue;
		}
		return usage(stderr, 2);
	}
	uv_loop_t *loop = uv_default_loop();
	uv_tcp_t server;
	struct sockaddr_in addr;
	uv_tcp_init(loop, &server);
	uv_ip4_addr("127.0.0.1", port, &addr);
	int r = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
	if (r < 0) {
		fprintf(stderr, "coring-bench-echo-libuv: cannot listen on 127.0.0.1:%d: %s\n",
			port, uv_strerror(r));
		return 1;
	}
	return uv_run(loop, UV_RUN_DEFAULT);
}
