/* SPDX-License-Identifier: MIT */
/* cr_server on 2 workers: many line clients byte-verified, graceful stop mid-message, a handler
 * that ignores the stop cut after the grace period, stop from a handler, another worker, a
 * callback. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server_cases.h"

#define NWORKERS 2
#ifdef CHECK_UNDER_TSAN
#define NCLIENTS 8
#define NLINES 20
#else
#define NCLIENTS 32
#define NLINES 100
#endif

/* Task: one client sending random lines and checking each answer.  Returns 0. */
static int line_client(void *arg)
{
	int port = (int)(intptr_t)arg;
	int fd = connect_port(port);
	uint32_t seed = mix((uint32_t)port ^ (uint32_t)(uintptr_t)&fd);
	char line[2048];
	for (int i = 0; i < NLINES; i++) {
		size_t n = 1 + mix(seed + (uint32_t)i) % (sizeof(line) - 2);
		for (size_t k = 0; k < n; k++)
			line[k] = (char)(' ' + mix(seed ^ (uint32_t)(i * 4096 + (int)k)) % 94);
		line[n] = '\n';
		line[n + 1] = '\0';
		echo_line(fd, line);
	}
	CHECK_OK(cr_shutdown(fd, SHUT_WR));
	CHECK_EQ_INT(wait_end(fd), 0);
	CHECK_OK(cr_close(fd));
	return 0;
}

/* Many clients on any worker; the stop from the main task; every counter adds up. */
static void many_clients(void)
{
	struct handler_log log = {0};
	int port;
	cr_server *srv = line_server(NULL, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t, *cl[NCLIENTS];
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	for (int i = 0; i < NCLIENTS; i++)
		CHECK_OK(cr_spawn(&cl[i], line_client, (void *)(intptr_t)port,
				  &(cr_spawn_opts){.placement = CR_ON_ANY}));
	CHECK_OK(cr_gather(cl, NCLIENTS, NULL));
	cr_server_stats st, w0, w1;
	CHECK_WAIT_UNTIL(cr_server_stats_get(srv, -1, &st) == 0 && st.completed == NCLIENTS,
			 "every handler to end");
	CHECK_OK(cr_server_stop(srv));
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_INT(sv.result, 0);
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_OK(cr_server_stats_get(srv, 0, &w0));
	CHECK_OK(cr_server_stats_get(srv, 1, &w1));
	CHECK_EQ_INT(cr_server_stats_get(srv, 2, &w1) == 0 ? 0 : -1, -1);
	CHECK_OK(cr_server_stats_get(srv, 1, &w1));
	CHECK_EQ_U64(st.accepted, NCLIENTS);
	CHECK_EQ_U64(w0.accepted + w1.accepted, NCLIENTS);
	CHECK_EQ_U64(st.completed, NCLIENTS);
	CHECK_EQ_U64(st.active, 0);
	CHECK_EQ_U64(st.bytes_in, st.bytes_out);
	CHECK_GT_U64(st.bytes_in, (uint64_t)NCLIENTS * NLINES);
	CHECK_EQ_U64(st.cut + st.idle_closed + st.refused + st.handler_errors, 0);
	printf("many_clients: worker 0 accepted %llu, worker 1 %llu\n",
	       (unsigned long long)w0.accepted, (unsigned long long)w1.accepted);
	CHECK_OK(cr_server_destroy(srv));
}

/* Graceful stop with every connection mid-line: each gets its answer, then a clean end; new
 * clients are refused. */
static void stop_mid_message(void)
{
	struct handler_log log = {0};
	int port, fds[NCLIENTS];
	cr_server *srv = line_server(NULL, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	for (int i = 0; i < NCLIENTS; i++) {
		fds[i] = connect_port(port);
		echo_line(fds[i], "first\n");
		CHECK_EQ_INT(cr_send_all(fds[i], "half of a ", 10, NULL), 10);
	}
	cr_server_stats st;
	CHECK_WAIT_UNTIL(cr_server_stats_get(srv, -1, &st) == 0 && st.bytes_in == 0 &&
				 st.active == NCLIENTS,
			 "every connection");
	CHECK_OK(cr_sleep(20 * MS)); /* the halves are in the servers' buffers */
	CHECK_OK(cr_server_stop(srv));
	CHECK_WAIT_UNTIL(atomic_load(&log.cancels) == NCLIENTS, "every handler to see the stop");
	cr_addr a;
	loop4(&a, (uint16_t)port);
	CHECK_EQ_INT(cr_connect(&a), -ECONNREFUSED);
	for (int i = 0; i < NCLIENTS; i++) {
		char back[20];
		CHECK_EQ_INT(cr_send_all(fds[i], "line\n", 5, NULL), 5);
		recv_exact(fds[i], back, 15);
		CHECK_EQ_MEM(back, "half of a line\n", 15);
		CHECK_EQ_INT(wait_end(fds[i]), 0);
		CHECK_OK(cr_close(fds[i]));
	}
	CHECK_OK(cr_join(t, NULL));
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.completed, NCLIENTS);
	CHECK_EQ_U64(st.cut, 0);
	CHECK_OK(cr_server_destroy(srv));
}

/* A handler that ignores the stop is cut after the grace period: the client sees a reset,
 * serving ends not before the grace period. */
static void cut_after_grace(void)
{
	struct handler_log log = {.ignore_cancel = 1};
	cr_server_opts o;
	cr_server_opts_init(&o);
	o.grace_ns = 200 * MS;
	int port;
	cr_server *srv = line_server(&o, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	int a = connect_port(port), b = connect_port(port);
	echo_line(a, "x\n");
	echo_line(b, "y\n");
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_server_stop(srv));
	CHECK_OK(cr_sleep(50 * MS));
	echo_line(a, "still answered in the grace period\n");
	CHECK_EQ_INT(wait_end(a), -ECONNRESET);
	CHECK_EQ_INT(wait_end(b), -ECONNRESET);
	CHECK_OK(cr_join(t, NULL));
	CHECK_GE_U64(cr_now_ns() - t0, 200 * MS);
	CHECK_EQ_INT(atomic_load(&log.last_err), -ECONNABORTED);
	cr_server_stats st;
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.cut, 2);
	CHECK_OK(cr_close(a));
	CHECK_OK(cr_close(b));
	CHECK_OK(cr_server_destroy(srv));
}

/* cr_server_stop_now: no grace period, even for a long one: the connections are cut at once
 * (a reset), serving ends well before the grace period would have. */
static void stop_now(void)
{
	struct handler_log log = {.ignore_cancel = 1};
	cr_server_opts o;
	cr_server_opts_init(&o);
	o.grace_ns = 30000 * MS;
	int port;
	cr_server *srv = line_server(&o, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	int a = connect_port(port);
	echo_line(a, "x\n");
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_server_stop_now(srv));
	CHECK_OK(cr_server_stop_now(srv)); /* idempotent */
	CHECK_EQ_INT(wait_end(a), -ECONNRESET);
	CHECK_OK(cr_join(t, NULL));
	CHECK_LT_U64(cr_now_ns() - t0, 10000 * MS);
	cr_server_stats st;
	CHECK_OK(cr_server_stats_get(srv, -1, &st));
	CHECK_EQ_U64(st.cut, 1);
	CHECK_EQ_INT(cr_server_stop_now(NULL), -EINVAL);
	CHECK_OK(cr_close(a));
	CHECK_OK(cr_server_destroy(srv));
}

/* Task on worker 1: stops the server.  Returns 0. */
static int stop_elsewhere(void *arg)
{
	CHECK_EQ_INT(cr_worker_id(), 1);
	CHECK_OK(cr_server_stop(arg));
	return 0;
}

static void stop_cb(void *arg)
{
	cr_server_stop(arg);
}

/* The three other ways to stop: from a handler, a task on another worker, a callback. */
static void stop_ways(void)
{
	for (int way = 0; way < 3; way++) {
		struct handler_log log = {.stop_cmd = "STOP\n"};
		int port;
		cr_server *srv = line_server(NULL, &log, &port);
		struct serving sv = {.srv = srv};
		cr_task *t;
		CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
		int fd = connect_port(port);
		echo_line(fd, "hello\n");
		if (way == 0) {
			echo_line(fd, "STOP\n");
		} else if (way == 1) {
			cr_task *s;
			CHECK_OK(
				cr_spawn(&s, stop_elsewhere, srv,
					 &(cr_spawn_opts){.placement = CR_ON_WORKER, .worker = 1}));
			CHECK_OK(cr_join(s, NULL));
		} else {
			CHECK(cr_call_later(5 * MS, stop_cb, srv) != 0);
		}
		CHECK_EQ_INT(wait_end(fd), 0);
		CHECK_EQ_INT(join_within(t, 5000 * MS, NULL), 0);
		CHECK_EQ_INT(sv.result, 0);
		CHECK_OK(cr_close(fd));
		CHECK_OK(cr_server_destroy(srv));
	}
}

/* Task: serves; cancelled by the main task (as cancel_on_signal does). */
static void stop_by_cancel(void)
{
	struct handler_log log = {0};
	int port;
	cr_server *srv = line_server(NULL, &log, &port);
	struct serving sv = {.srv = srv};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, serve_task, &sv, NULL));
	int fd = connect_port(port);
	echo_line(fd, "hi\n");
	CHECK_OK(cr_cancel(t));
	CHECK_EQ_INT(wait_end(fd), 0);
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_INT(sv.result, 0);
	CHECK_EQ_INT(cr_server_stopping(srv), 1);
	CHECK_OK(cr_close(fd));
	CHECK_OK(cr_server_destroy(srv));
}

static int main_task(void *arg)
{
	(void)arg;
	CHECK_EQ_INT(cr_worker_count(), NWORKERS);
	many_clients();
	stop_mid_message();
	cut_after_grace();
	stop_now();
	stop_ways();
	stop_by_cancel();
	return 0;
}

int main(void)
{
	check_watchdog(90);
	run_main(NWORKERS, main_task);
	puts("ok");
	return 0;
}
