/* SPDX-License-Identifier: MIT */
/* cr_server on one worker: bad input, max_conns refusal, idle cut, Unix path and abstract name,
 * take, the per-worker receive pool. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_cases.h"

/* The idle timeout of idle_cut. */
#define IDLE_MS 300

static int never_called(cr_stream *s, const cr_server_conn *c, void *arg)
{
	(void)s;
	(void)c;
	(void)arg;
	CHECK_MSG(0, "handler called");
	return 0;
}

/* Bad input for every call. */
static void bad_input(void)
{
	cr_server *srv;
	cr_server_opts o;
	cr_server_stats st;
	cr_addr a;
	cr_server_opts_init(NULL); /* does nothing, does not crash */
	cr_server_opts_init(&o);
	CHECK_EQ_U64(o.idle_timeout_ns, CR_SERVER_IDLE_TIMEOUT_DEFAULT);
	CHECK_EQ_U64(o.grace_ns, CR_SERVER_GRACE_DEFAULT);
	CHECK_EQ_INT(o.nodelay, 1);
	CHECK_EQ_INT(cr_server_create(NULL, never_called, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_create(&srv, NULL, NULL, NULL), -EINVAL);
	o.backlog = -1;
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);
	cr_server_opts_init(&o);
	o.nodelay = 2;
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);
	cr_server_opts_init(&o);
	o.stack_size = (size_t)CR_MAX_STACK_SIZE + 1;
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);
	cr_server_opts_init(&o);
	o.stream.limit = (size_t)CR_STREAM_LIMIT_MAX + 1;
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);
	cr_server_opts_init(&o);
	o.stream.high_water = 100;
	o.stream.low_water = 200;
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);
	cr_server_opts_init(&o);
	CHECK_EQ_U64(o.pool_buffers, CR_SERVER_POOL_BUFFERS_DEFAULT);
	CHECK_EQ_U64(o.pool_buffer_size, CR_SERVER_POOL_BUFFER_SIZE_DEFAULT);
	o.pool_buffers = 3; /* not a power of two */
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);
	o.pool_buffers = 65536;
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);
	cr_server_opts_init(&o);
	o.stream.pool = (cr_bufpool *)&o; /* one worker's pool for every worker: refused */
	CHECK_EQ_INT(cr_server_create(&srv, never_called, NULL, &o), -EINVAL);

	CHECK_OK(cr_server_create(&srv, never_called, NULL, NULL));
	CHECK_EQ_INT(cr_server_add(NULL, "127.0.0.1:0"), -EINVAL);
	CHECK_EQ_INT(cr_server_add(srv, NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_add(srv, "no address"), -EINVAL);
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:99999"), -EINVAL);
	CHECK_EQ_INT(cr_server_add(srv, ""), -EINVAL);
	memset(&a, 0, sizeof(a));
	a.u.sa.sa_family = AF_PACKET;
	a.len = sizeof(a.u.in);
	CHECK_EQ_INT(cr_server_add_addr(srv, &a), -EINVAL);
	CHECK_EQ_INT(cr_server_add_addr(srv, NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_listen(NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_listen(srv), -EINVAL); /* no address */
	CHECK_EQ_INT(cr_server_serve(NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_serve(srv), -EINVAL); /* no address */
	CHECK_EQ_INT(cr_server_port(NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_port(srv), -ENOTCONN);
	CHECK_EQ_INT(cr_server_addr(srv, 0, &a), -EINVAL);
	CHECK_EQ_INT(cr_server_addr(NULL, 0, &a), -EINVAL);
	CHECK_EQ_INT(cr_server_stop(NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_stopping(NULL), 0);
	CHECK_EQ_INT(cr_server_stopping(srv), 0);
	CHECK_EQ_INT(cr_server_take(NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_stats_get(NULL, -1, &st), -EINVAL);
	CHECK_EQ_INT(cr_server_stats_get(srv, -1, NULL), -EINVAL);
	CHECK_EQ_INT(cr_server_stats_get(srv, 0, &st), -EINVAL); /* no workers yet */
	CHECK_EQ_INT(cr_server_stats_get(srv, -2, &st), -EINVAL);
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.accepted, 0);
	for (unsigned i = 0; i < CR_SERVER_MAX_ADDRS; i++)
		CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), (int)i);
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), -ENOSPC);
	CHECK_EQ_INT(cr_server_destroy(NULL), -EINVAL);
	CHECK_OK(cr_server_destroy(srv));

	/* A port in use (by a plain listener): -EADDRINUSE, nothing left open. */
	cr_addr bound;
	int lfd = listen_loop(&bound, 0), fds = count_fds();
	char text[CR_ADDR_STRLEN];
	CHECK_GT_INT(cr_addr_format(&bound, text, sizeof(text)), 0);
	CHECK_OK(cr_server_create(&srv, never_called, NULL, NULL));
	CHECK_EQ_INT(cr_server_add(srv, text), 0);
	CHECK_EQ_INT(cr_server_listen(srv), -EADDRINUSE);
	CHECK_EQ_INT(count_fds(), fds);
	CHECK_OK(cr_server_destroy(srv));
	CHECK_OK(cr_close(lfd));

	/* A Unix path that is a regular file: -EEXIST, the file left alone. */
	char path[64];
	snprintf(path, sizeof(path), "/tmp/coring-srv-file-%d", (int)getpid());
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fclose(f);
	CHECK_OK(cr_server_create(&srv, never_called, NULL, NULL));
	CHECK_EQ_INT(cr_server_add(srv, path), 0);
	CHECK_EQ_INT(cr_server_serve(srv), -EEXIST);
	struct stat sb;
	CHECK_EQ_INT(stat(path, &sb), 0);
	CHECK_OK(cr_server_destroy(srv));
	unlink(path);

	/* Listen twice, serve after a stop asked before serving: returns at once. */
	CHECK_OK(cr_server_create(&srv, never_called, NULL, NULL));
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), 0);
	CHECK_OK(cr_server_listen(srv));
	CHECK_EQ_INT(cr_server_listen(srv), -EBUSY);
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), -EBUSY);
	CHECK_OK(cr_server_addr(srv, 0, &a));
	CHECK_EQ_INT(cr_addr_port(&a), cr_server_port(srv));
	CHECK_EQ_INT(cr_server_addr(srv, 1, &a), -EINVAL);
	CHECK_OK(cr_server_stop(srv));
	CHECK_OK(cr_server_stop(srv)); /* idempotent */
	CHECK_EQ_INT(cr_server_stopping(srv), 1);
	CHECK_EQ_INT(cr_server_serve(srv), 0);
	CHECK_EQ_INT(cr_server_serve(srv), -EBUSY); /* once */
	CHECK_OK(cr_server_destroy(srv));
}

/* max_conns: the connection over the limit is accepted and reset, and counted. */
static void refusal(void)
{
	struct handler_log log = {0};
	cr_server_opts o;
	cr_server_opts_init(&o);
	o.max_conns = 2;
	int port;
	cr_server *srv = line_server(&o, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	int a = connect_port(port), b = connect_port(port);
	echo_line(a, "one\n");
	echo_line(b, "two\n");
	int c = connect_port(port); /* the kernel completes the handshake; the server resets */
	CHECK_EQ_INT(wait_end(c), -ECONNRESET);
	cr_server_stats st;
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.refused, 1);
	CHECK_EQ_U64(st.active, 2);
	CHECK_OK(cr_close(c));
	CHECK_OK(cr_shutdown(a, SHUT_WR)); /* a ends: room for another */
	CHECK_EQ_INT(wait_end(a), 0);
	CHECK_WAIT_UNTIL(cr_server_stats_get(srv, -1, &st) == 0 && st.active == 1, "a to end");
	c = connect_port(port);
	echo_line(c, "three\n");
	CHECK_OK(cr_server_stop(srv));
	CHECK_EQ_INT(wait_end(b), 0); /* between lines at the stop: a clean end */
	CHECK_EQ_INT(wait_end(c), 0);
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_INT(sv.result, 0);
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.accepted, 3);
	CHECK_EQ_U64(st.completed, 3);
	CHECK_EQ_U64(st.active, 0);
	CHECK_EQ_U64(st.refused, 1);
	CHECK_EQ_U64(st.bytes_in, 14);
	CHECK_EQ_U64(st.bytes_out, 14);
	CHECK_OK(cr_close(a));
	CHECK_OK(cr_close(b));
	CHECK_OK(cr_close(c));
	CHECK_OK(cr_server_destroy(srv));
}

/* Idle timeout: a silent client is cut (a reset) after the timeout and not much later; a
 * client that talks more often is not. */
static void idle_cut(void)
{
	struct handler_log log = {0};
	cr_server_opts o;
	cr_server_opts_init(&o);
	o.idle_timeout_ns = IDLE_MS * MS;
	int port;
	cr_server *srv = line_server(&o, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	int quiet = connect_port(port), busy = connect_port(port);
	uint64_t t0 = cr_now_ns();
	for (int i = 0; i < 10; i++) { /* 500 ms of a line every 50 ms */
		echo_line(busy, "still here\n");
		CHECK_OK(cr_sleep(50 * MS));
	}
	CHECK_EQ_INT(wait_end(quiet), -ECONNRESET);
	uint64_t took = cr_now_ns() - t0;
	CHECK_GE_U64(took, IDLE_MS * MS);
	echo_line(busy, "and now\n");
	cr_server_stats st;
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.idle_closed, 1);
	CHECK_EQ_U64(st.active, 1);
	CHECK_OK(cr_shutdown(busy, SHUT_WR)); /* ends cleanly */
	CHECK_EQ_INT(wait_end(busy), 0);
	/* The quiet one alone, timed: cut within the timeout and a quarter more (plus slack). */
	quiet = (cr_close(quiet), connect_port(port));
	echo_line(quiet, "hello\n");
	t0 = cr_now_ns();
	CHECK_EQ_INT(wait_end(quiet), -ECONNRESET);
	took = cr_now_ns() - t0;
	CHECK_GE_U64(took, IDLE_MS * MS);
	CHECK_LT_U64(took, IDLE_MS * MS * 5 / 4 + 250 * MS); /* slack: a shared machine */
	CHECK_OK(cr_server_stop(srv));
	CHECK_OK(cr_join(t, NULL));
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.idle_closed, 2);
	CHECK_EQ_U64(st.completed, 1);
	CHECK_OK(cr_close(quiet));
	CHECK_OK(cr_close(busy));
	CHECK_OK(cr_server_destroy(srv));
}

/* A Unix path and an abstract name served together; the path is removed at the stop. */
static void unix_addrs(void)
{
	struct handler_log log = {0};
	char path[80], abs[80];
	snprintf(path, sizeof(path), "unix:/tmp/coring-srv-%d.sock", (int)getpid());
	snprintf(abs, sizeof(abs), "@coring-srv-%d", (int)getpid());
	cr_server *srv;
	CHECK_OK(cr_server_create(&srv, line_echo, &log, NULL));
	CHECK_EQ_INT(cr_server_add(srv, path), 0);
	CHECK_EQ_INT(cr_server_add(srv, abs), 1);
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), 2);
	CHECK_OK(cr_server_listen(srv));
	CHECK_EQ_INT(cr_server_port(srv) > 0, 1);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	int fds[3];
	for (unsigned i = 0; i < 3; i++) {
		cr_addr a;
		CHECK_OK(cr_server_addr(srv, i, &a));
		fds[i] = cr_connect(&a);
		CHECK_OK(fds[i]);
		echo_line(fds[i], "over a unix socket\n");
	}
	struct stat sb;
	CHECK_EQ_INT(stat(path + 5, &sb), 0);
	CHECK_OK(cr_server_stop(srv));
	CHECK_OK(cr_join(t, NULL));
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ_INT(wait_end(fds[i]), 0);
		CHECK_OK(cr_close(fds[i]));
	}
	CHECK_EQ_INT(stat(path + 5, &sb), -1); /* removed */
	cr_server_stats st;
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.accepted, 3);
	CHECK_OK(cr_server_destroy(srv));
}

/* Lines over several pool buffers, on connections that share a pool of 2 x 64 B per worker,
 * one of them a client that never reads. */
static void pooled_echo(void)
{
	struct handler_log log = {0};
	cr_server_opts o;
	cr_server_opts_init(&o);
	o.pool_buffers = 2; /* all of it would be the hog's if its stream kept reading */
	o.pool_buffer_size = 64;
	o.stream.max_held = 2;
	o.stream.high_water = 4096;
	int port;
	cr_server *srv = line_server(&o, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	/* a client that sends lines and never reads: its echo stalls its stream */
	int hog = connect_port(port);
	static char block[1 << 16];
	memset(block, 'h', sizeof(block));
	for (size_t i = 255; i < sizeof(block); i += 256)
		block[i] = '\n';
	int one = 4096;
	CHECK_OK(setsockopt(hog, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)));
	for (int i = 0; i < 8; i++) /* more than the socket buffers take: the server stops */
		(void)send(hog, block, sizeof(block), MSG_DONTWAIT);
	CHECK_OK(cr_sleep(50 * MS));
	char line[1000];
	for (int c = 0; c < 3; c++) {
		int fd = connect_port(port);
		for (int k = 0; k < 5; k++) {
			size_t n = 1 + (size_t)(c * 331 + k * 97) % (sizeof(line) - 2);
			for (size_t i = 0; i < n; i++)
				line[i] = (char)('a' + (i + (size_t)k) % 26);
			line[n] = '\n';
			line[n + 1] = 0;
			echo_line(fd, line);
		}
		CHECK_OK(cr_shutdown(fd, SHUT_WR));
		CHECK_EQ_INT(wait_end(fd), 0);
		CHECK_OK(cr_close(fd));
	}
	CHECK_OK(cr_close_reset(hog));
	CHECK_OK(cr_server_stop(srv));
	CHECK_OK(cr_join(t, NULL));
	cr_server_stats st;
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.accepted, 4);
	CHECK_EQ_U64(st.active, 0);
	CHECK_OK(cr_server_destroy(srv));
}

/* A handler that takes its connection: the toolkit leaves the stream open. */
static int taker(cr_stream *s, const cr_server_conn *c, void *arg)
{
	cr_stream **out = arg;
	CHECK_OK(cr_server_take(c));
	CHECK_EQ_INT(cr_server_take(c), -EALREADY);
	*out = s;
	return -1; /* would be a reset if the toolkit still owned it */
}

/* A handler takes its connection, with a worker pool or without: the stream outlives the
 * server (and its pool) and still reads. */
static void take(unsigned pool_buffers)
{
	cr_stream *taken = NULL;
	cr_server *srv;
	cr_server_opts o;
	cr_server_opts_init(&o);
	o.pool_buffers = pool_buffers;
	o.pool_buffer_size = 64;
	CHECK_OK(cr_server_create(&srv, taker, &taken, &o));
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), 0);
	CHECK_OK(cr_server_listen(srv));
	int port = cr_server_port(srv);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	int fd = connect_port(port);
	CHECK_WAIT_UNTIL(taken != NULL, "the handler to take the connection");
	cr_server_stats st;
	CHECK_WAIT_UNTIL(cr_server_stats_get(srv, -1, &st) == 0 && st.taken == 1 && st.active == 0,
			 "the connection to leave the server");
	CHECK_OK(cr_stream_write(taken, "mine\n", 5));
	CHECK_OK(cr_stream_flush(taken));
	char b[5];
	recv_exact(fd, b, 5);
	CHECK_EQ_MEM(b, "mine\n", 5);
	const char *more = "sent before the stop, read after it\n";
	CHECK_EQ_INT(cr_send_all(fd, more, strlen(more), NULL), (ssize_t)strlen(more));
	CHECK_OK(cr_sleep(5 * MS));
	CHECK_OK(cr_server_stop(srv));
	CHECK_OK(cr_join(t, NULL));
	const void *line;
	CHECK_EQ_INT(cr_stream_readline(taken, &line), (ssize_t)strlen(more));
	CHECK_EQ_MEM(line, more, strlen(more));
	CHECK_OK(cr_stream_close(taken)); /* still open after the stop */
	CHECK_EQ_INT(wait_end(fd), 0);
	CHECK_OK(cr_close(fd));
	CHECK_OK(cr_server_destroy(srv));
}

/* Port 0 on 127.0.0.1 and on ::1 share one ephemeral port (as the echo server always
 * did); a second IPv4 address with port 0 cannot share it and gets its own. */
static void shared_ephemeral_port(void)
{
	struct handler_log log = {0};
	cr_server *srv;
	CHECK_OK(cr_server_create(&srv, line_echo, &log, NULL));
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), 0);
	int v6 = cr_server_add(srv, "[::1]:0");
	CHECK_EQ_INT(v6, 1);
	CHECK_EQ_INT(cr_server_add(srv, "127.0.0.1:0"), 2);
	int r = cr_server_listen(srv);
	if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT) { /* no ::1 on this host */
		CHECK_OK(cr_server_destroy(srv));
		return;
	}
	CHECK_OK(r);
	cr_addr a4, a6, b4;
	CHECK_OK(cr_server_addr(srv, 0, &a4));
	CHECK_OK(cr_server_addr(srv, 1, &a6));
	CHECK_OK(cr_server_addr(srv, 2, &b4));
	CHECK_GT_INT(cr_addr_port(&a4), 0);
	CHECK_EQ_INT(cr_addr_port(&a6), cr_addr_port(&a4));
	CHECK_NE_INT(cr_addr_port(&b4), cr_addr_port(&a4));
	CHECK_EQ_INT(cr_server_port(srv), cr_addr_port(&a4));
	CHECK_OK(cr_server_destroy(srv));
}

static int main_task(void *arg)
{
	(void)arg;
	CHECK_EQ_INT(cr_server_listen(NULL), -EINVAL);
	bad_input();
	refusal();
	idle_cut();
	unix_addrs();
	take(0);
	take(4);
	pooled_echo();
	shared_ephemeral_port();
	return 0;
}

int main(void)
{
	check_watchdog(60);
	CHECK_EQ_INT(cr_server_serve(NULL), -EINVAL);
	run_main(1, main_task);
	puts("ok");
	return 0;
}
