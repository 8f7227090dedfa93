/* SPDX-License-Identifier: MIT */
/* cr_close_reset: the peer of an abortive close sees a reset, never a clean end of stream. */
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_cases.h"

/* Reads from fd until an error or end of stream, at most 5 s.  Returns the
 * last result of cr_recv (0 = end of stream, < 0 = error); *got gets the
 * bytes read. */
static ssize_t read_to_end(int fd, size_t *got)
{
	char buf[4096];
	ssize_t n;
	cr_deadline d;
	*got = 0;
	CHECK_OK(cr_timeout_enter(&d, 5000 * MS));
	while ((n = cr_recv(fd, buf, sizeof(buf))) > 0)
		*got += (size_t)n;
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	return n;
}

static int recv_task(void *arg)
{
	char b;
	return (int)cr_recv((int)(intptr_t)arg, &b, 1);
}

/* The peer of a reset connection: its reads fail with ECONNRESET. */
static void test_peer_sees_reset(void)
{
	int cli, srv;
	size_t got;
	/* nothing pending */
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_close_reset(srv));
	CHECK_EQ_INT(read_to_end(cli, &got), -ECONNRESET);
	CHECK_OK(cr_close(cli));

	/* after part of an answer: the peer cannot take the cut for an end */
	tcp_pair(&cli, &srv);
	send_pattern(srv, 3, 0, 1000);
	CHECK_OK(cr_close_reset(srv));
	ssize_t n = read_to_end(cli, &got);
	CHECK_MSG(n == -ECONNRESET, "after %zu bytes the peer read %zd instead of a reset", got, n);
	CHECK_LE_U64(got, 1000);
	CHECK_OK(cr_close(cli));

	/* with data the server never read and a send the peer never read */
	tcp_pair(&cli, &srv);
	send_pattern(cli, 4, 0, 50000);
	send_pattern(srv, 5, 0, 50000);
	CHECK_OK(cr_close_reset(srv));
	CHECK_EQ_INT(read_to_end(cli, &got), -ECONNRESET);
	CHECK_OK(cr_close(cli));

	/* the plain close of the same exchange is a clean end (the contrast) */
	tcp_pair(&cli, &srv);
	send_pattern(srv, 6, 0, 1000);
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(read_to_end(cli, &got), 0);
	CHECK_EQ_U64(got, 1000);
	CHECK_OK(cr_close(cli));
}

/* As cr_close, a receive of another task in flight on the fd ends first. */
static void test_in_flight(void)
{
	int cli, srv;
	size_t got;
	tcp_pair(&cli, &srv);
	cr_task *t = spawn_waiting(recv_task, (void *)(intptr_t)srv);
	CHECK_OK(cr_close_reset(srv));
	int res = 0;
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_MSG(res < 0, "a recv in flight on the reset fd returned %d", res);
	CHECK_EQ_INT(read_to_end(cli, &got), -ECONNRESET);
	CHECK_OK(cr_close(cli));
}

/* Errors: a negative fd; something that is not a socket is still closed. */
static void test_errors(void)
{
	int base = count_fds();
	CHECK_EQ_INT(cr_close_reset(-1), -EBADF);
	int p[2];
	CHECK_EQ_INT(pipe(p), 0);
	CHECK_EQ_INT(cr_close_reset(p[0]), -ENOTSOCK);
	CHECK_OK(cr_close(p[1]));
	CHECK_EQ_INT(count_fds(), base);
}

static int main_task(void *arg)
{
	(void)arg;
	int base = count_fds();
	test_peer_sees_reset();
	test_in_flight();
	test_errors();
	CHECK_EQ_INT(count_fds(), base);
	return 0;
}

int main(void)
{
	check_watchdog(60);
	run_main(1, main_task);
	printf("ok\n");
	return 0;
}
