/* SPDX-License-Identifier: MIT */
/* TCP on loopback: big round trips, half-close, EPIPE, refusal, cancellation, deadlines, close. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_cases.h"

#define BIG_LEN ((size_t)8 * 1024 * 1024)
#define NRACE 200 /* accept/cancel races */

/* ---- helpers ------------------------------------------------------------------------ */

/* listen_loop, also checking that the bound address is IPv4 with a real port.  Returns the
 * listening fd. */
static int listen_checked(cr_addr *bound, int backlog)
{
	int fd = listen_loop(bound, backlog);
	CHECK_EQ_INT(bound->u.sa.sa_family, AF_INET);
	CHECK_GT_INT(cr_addr_port(bound), 0);
	return fd;
}

/* tcp_pair, also checking the listener's address and that the accepted peer is the client's
 * local address.  Returns nothing. */
static void tcp_pair_checked(int *cli, int *srv)
{
	cr_addr bound, peer, cli_local;
	tcp_pair_at(cli, srv, &bound, &peer);
	CHECK_EQ_INT(bound.u.sa.sa_family, AF_INET);
	CHECK_GT_INT(cr_addr_port(&bound), 0);
	CHECK_EQ_INT(peer.u.sa.sa_family, AF_INET);
	CHECK_OK(cr_socket_addr(*cli, 0, &cli_local));
	CHECK_EQ_INT(cr_addr_port(&peer), cr_addr_port(&cli_local));
}

/* ---- large round trip through an echo task -------------------------------------------- */

/* Echoes everything until EOF with irregular recv sizes, then half-closes. */
static int echo_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	size_t bufsz = 200000, total = 0;
	char *buf = malloc(bufsz);
	CHECK(buf != NULL);
	unsigned k = 0;
	for (;;) {
		size_t want = 1 + (k++ * 7919u) % bufsz;
		ssize_t n = cr_recv(fd, buf, want);
		CHECK_GE_INT(n, 0);
		if (n == 0)
			break;
		size_t sent = 0;
		CHECK_EQ_INT(cr_send_all(fd, buf, (size_t)n, &sent), n);
		CHECK_EQ_U64(sent, (size_t)n);
		total += (size_t)n;
	}
	CHECK_OK(cr_shutdown(fd, SHUT_WR));
	free(buf);
	return total == BIG_LEN ? 0 : -EIO;
}

struct sender {
	int fd;
	const uint8_t *data;
	size_t len;
};

/* Sends the whole buffer in one cr_send_all, then half-closes. */
static int sender_task(void *arg)
{
	struct sender *s = arg;
	size_t sent = 0;
	CHECK_EQ_INT(cr_send_all(s->fd, s->data, s->len, &sent), (ssize_t)s->len);
	CHECK_EQ_U64(sent, s->len);
	CHECK_OK(cr_shutdown(s->fd, SHUT_WR));
	return 0;
}

static void test_round_trip(void)
{
	int cli, srv;
	tcp_pair_checked(&cli, &srv);
	CHECK_OK(cr_set_nodelay(cli, 1));
	uint8_t *out = malloc(BIG_LEN), *in = malloc(BIG_LEN);
	CHECK(out && in);
	fill_pattern(out, 1, 0, BIG_LEN);
	memset(in, 0, BIG_LEN);

	cr_task *echo, *snd;
	CHECK_OK(cr_spawn(&echo, echo_task, (void *)(intptr_t)srv, NULL));
	struct sender s = {cli, out, BIG_LEN};
	CHECK_OK(cr_spawn(&snd, sender_task, &s, NULL));
	size_t got = 0;
	unsigned k = 0;
	for (;;) {
		size_t room = BIG_LEN - got;
		size_t want = 1 + (k++ * 104729u) % (256 * 1024);
		if (want > room)
			want = room ? room : 1; /* at the end: ask for 1 to see EOF */
		ssize_t n = cr_recv(cli, room ? in + got : in, want);
		CHECK_GE_INT(n, 0);
		if (n == 0)
			break;
		CHECK_MSG(room > 0, "more bytes than were sent");
		got += (size_t)n;
	}
	CHECK_EQ_U64(got, BIG_LEN);
	CHECK_EQ_MEM(in, out, BIG_LEN);
	int r;
	CHECK_OK(cr_join(snd, &r));
	CHECK_EQ_INT(r, 0);
	CHECK_OK(cr_join(echo, &r));
	CHECK_EQ_INT(r, 0);
	/* after EOF both ways, recv keeps returning 0 */
	CHECK_EQ_INT(cr_recv(cli, in, 16), 0);
	CHECK_EQ_INT(cr_recv(srv, in, 16), 0);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	free(out);
	free(in);
	printf("round trip: %zu bytes checked\n", (size_t)BIG_LEN);
}

/* ---- half-close ------------------------------------------------------------------------- */

static void test_half_close(void)
{
	int cli, srv;
	char buf[64];
	tcp_pair_checked(&cli, &srv);
	CHECK_EQ_INT(cr_send(cli, "hello", 5), 5);
	CHECK_OK(cr_shutdown(cli, SHUT_WR));
	recv_exact(srv, buf, 5);
	CHECK_EQ_MEM(buf, "hello", 5);
	CHECK_EQ_INT(cr_recv(srv, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(cr_recv(srv, buf, sizeof(buf)), 0);
	/* the server can still answer on its open direction */
	CHECK_EQ_INT(cr_send_all(srv, "world, again", 12, NULL), 12);
	CHECK_OK(cr_shutdown(srv, SHUT_WR));
	recv_exact(cli, buf, 12);
	CHECK_EQ_MEM(buf, "world, again", 12);
	CHECK_EQ_INT(cr_recv(cli, buf, sizeof(buf)), 0);
	/* the client's write side is shut: sending fails with EPIPE, no SIGPIPE */
	CHECK_EQ_INT(cr_send(cli, "x", 1), -EPIPE);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	/* bad arguments */
	CHECK_EQ_INT(cr_shutdown(-1, SHUT_WR), -EBADF);
	CHECK_EQ_INT(cr_close(-1), -EBADF);
	CHECK_EQ_INT(cr_recv(-1, NULL, 4), -EFAULT);
	CHECK_EQ_INT(cr_send(-1, NULL, 4), -EFAULT);
}

/* ---- EPIPE ---------------------------------------------------------------------------- */

static void test_epipe(void)
{
	int cli, srv;
	char buf[64];
	tcp_pair_checked(&cli, &srv);
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(cr_recv(cli, buf, sizeof(buf)), 0); /* the peer's FIN */
	/* The first sends may still be accepted (the RST is on its way); then
	 * EPIPE, never a SIGPIPE (which would kill this process). */
	static char blob[64 * 1024];
	ssize_t r = 0;
	int i;
	for (i = 0; i < 1000 && r >= 0; i++) {
		r = cr_send(cli, blob, sizeof(blob));
		if (r >= 0)
			CHECK_OK(cr_sleep(1 * MS));
	}
	CHECK_MSG(r == -EPIPE, "send to a closed peer: %zd (%s) after %d sends", r,
		  strerror((int)-r), i);
	CHECK_EQ_INT(cr_send(cli, blob, 1), -EPIPE);
	size_t sent = 12345;
	CHECK_EQ_INT(cr_send_all(cli, blob, sizeof(blob), &sent), -EPIPE);
	CHECK_EQ_U64(sent, 0);
	CHECK_OK(cr_close(cli));
}

/* ---- refused -------------------------------------------------------------------------- */

static void test_refused(void)
{
	cr_addr a;
	int before = count_fds();
	int lfd = listen_checked(&a, 0);
	CHECK_OK(cr_close(lfd)); /* nobody listens on that port now */
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_connect(&a), -ECONNREFUSED);
	CHECK_EQ_INT(count_fds(), before);
	/* bad addresses */
	cr_addr empty;
	memset(&empty, 0, sizeof(empty));
	CHECK_LT_INT(cr_connect(&empty), 0);
	CHECK_LT_INT(cr_listen(&empty, NULL), 0);
	CHECK_EQ_INT(count_fds(), before);
	/* listening twice on one port without reuseport fails */
	lfd = listen_checked(&a, 0);
	CHECK_EQ_INT(cr_listen(&a, NULL), -EADDRINUSE);
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), before);
}

/* ---- cancellation of blocked calls -------------------------------------------------- */

static int recv_task(void *arg)
{
	char buf[16];
	return (int)cr_recv((int)(intptr_t)arg, buf, sizeof(buf));
}

static int accept_task(void *arg)
{
	int fd = cr_accept((int)(intptr_t)arg, NULL);
	return fd;
}

static int connect_task(void *arg)
{
	return cr_connect(arg);
}

/* Spawns fn(arg), lets it block, cancels it; returns its result. */
static int spawn_block_cancel(cr_task_fn fn, void *arg)
{
	cr_task *t;
	CHECK_OK(cr_spawn(&t, fn, arg, NULL));
	for (int i = 0; i < 5; i++)
		CHECK_OK(cr_yield());
	CHECK_OK(cr_sleep(5 * MS));
	CHECK_EQ_INT(cr_task_done(t), 0);
	CHECK_OK(cr_cancel(t));
	int r = 0;
	CHECK_OK(cr_join(t, &r));
	return r;
}

/* Fills lfd's accept queue (backlog 1) until a connect blocks; the
 * connected fds go to fds[]. Returns how many, or -1 if connects never
 * blocked (then the caller skips the blocked-connect checks). */
static int fill_backlog(const cr_addr *a, int *fds, int max)
{
	int n = 0;
	while (n < max) {
		cr_deadline d;
		CHECK_OK(cr_timeout_enter(&d, 100 * MS));
		int fd = cr_connect(a);
		int expired = cr_deadline_exit(&d);
		if (fd == -ETIMEDOUT) {
			CHECK_EQ_INT(expired, 1);
			return n;
		}
		CHECK_OK(fd);
		fds[n++] = fd;
	}
	return -1;
}

static void test_cancel(void)
{
	int base = count_fds();
	int cli, srv;

	/* a blocked recv */
	tcp_pair_checked(&cli, &srv);
	int with_pair = count_fds();
	CHECK_EQ_INT(spawn_block_cancel(recv_task, (void *)(intptr_t)srv), -ECANCELED);
	CHECK_EQ_INT(count_fds(), with_pair);
	/* the socket still works: nothing was eaten by the cancelled recv */
	char buf[8];
	CHECK_EQ_INT(cr_send(cli, "after", 5), 5);
	recv_exact(srv, buf, 5);
	CHECK_EQ_MEM(buf, "after", 5);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(count_fds(), base);

	/* a blocked accept */
	cr_addr a;
	int lfd = listen_checked(&a, 0);
	CHECK_EQ_INT(spawn_block_cancel(accept_task, (void *)(intptr_t)lfd), -ECANCELED);
	CHECK_EQ_INT(count_fds(), base + 1);
	/* accepts still work after it */
	cli = cr_connect(&a);
	CHECK_OK(cli);
	srv = cr_accept(lfd, NULL);
	CHECK_OK(srv);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));

	/* accept racing with cancellation: either a connection or -ECANCELED,
	 * and no accepted fd ever left behind */
	int cancelled = 0, closed_by_cancel = 0;
	for (int i = 0; i < NRACE; i++) {
		cr_task *t;
		CHECK_OK(cr_spawn(&t, accept_task, (void *)(intptr_t)lfd, NULL));
		CHECK_OK(cr_yield());
		if (i % 2 == 0) {
			/* a plain blocking connect: when it returns, the connection is
			 * queued and the accept's completion is on its way */
			cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			CHECK_GE_INT(cli, 0);
			CHECK_EQ_INT(connect(cli, &a.u.sa, a.len), 0);
		} else {
			cli = cr_connect(&a);
			CHECK_OK(cli);
		}
		for (int k = 0; k < (i / 2) % 3; k++)
			CHECK_OK(cr_yield());
		int cr = cr_cancel(t);
		CHECK(cr == 0 || cr == -ESRCH);
		int r;
		CHECK_OK(cr_join(t, &r));
		if (r >= 0) {
			CHECK_OK(cr_close(r));
		} else {
			CHECK_EQ_INT(r, -ECANCELED);
			cancelled++;
			/* Either the connection still waits in the queue, or the
			 * kernel accepted it as the task was cancelled and
			 * cr_accept closed it: then the client sees EOF. */
			char b;
			ssize_t peek = recv(cli, &b, 1, MSG_DONTWAIT | MSG_PEEK);
			struct pollfd pfd = {.fd = lfd, .events = POLLIN};
			if (peek != 0 && !(peek < 0 && errno == ECONNRESET) &&
			    poll(&pfd, 1, 0) == 1) {
				int fd = cr_accept(lfd, NULL);
				CHECK_OK(fd);
				CHECK_OK(cr_close(fd));
			} else {
				cr_deadline d;
				CHECK_OK(cr_timeout_enter(&d, 5000 * MS));
				ssize_t n = cr_recv(cli, &b, 1);
				CHECK_EQ_INT(cr_deadline_exit(&d), 0);
				CHECK_MSG(n == 0 || n == -ECONNRESET,
					  "client of a cancelled accept: %zd", n);
				closed_by_cancel++;
			}
		}
		CHECK_OK(cr_close(cli));
		CHECK_EQ_INT(count_fds(), base + 1);
	}
	printf("accept/cancel race: %d of %d cancelled, %d of them closed after accepting\n",
	       cancelled, NRACE, closed_by_cancel);
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);

	/* a blocked connect: a listener whose accept queue is full drops SYNs */
	lfd = listen_checked(&a, 1);
	int fds[64];
	int n = fill_backlog(&a, fds, 64);
	if (n < 0) {
		printf("connects never blocked on a full backlog: blocked connect not tested\n");
		n = 64;
	} else {
		int mid = count_fds();
		CHECK_EQ_INT(spawn_block_cancel(connect_task, &a), -ECANCELED);
		CHECK_EQ_INT(count_fds(), mid);
		/* and the deadline path of connect already ran in fill_backlog */
		printf("blocked connect cancelled after %d queued connections\n", n);
	}
	for (int i = 0; i < n; i++)
		CHECK_OK(cr_close(fds[i]));
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- deadlines -------------------------------------------------------------------------- */

static void test_deadline(void)
{
	int base = count_fds();
	int cli, srv;
	char buf[16];
	tcp_pair_checked(&cli, &srv);
	for (int round = 0; round < 3; round++) {
		cr_deadline d;
		CHECK_OK(cr_timeout_enter(&d, 20 * MS));
		CHECK_EQ_INT(cr_recv(srv, buf, sizeof(buf)), -ETIMEDOUT);
		CHECK_EQ_INT(cr_deadline_exit(&d), 1);
		/* the socket works afterwards, both ways */
		CHECK_EQ_INT(cr_send(cli, "ping", 4), 4);
		recv_exact(srv, buf, 4);
		CHECK_EQ_MEM(buf, "ping", 4);
		CHECK_EQ_INT(cr_send(srv, "pong", 4), 4);
		recv_exact(cli, buf, 4);
		CHECK_EQ_MEM(buf, "pong", 4);
	}
	/* data already waiting beats an expired-later deadline */
	CHECK_EQ_INT(cr_send(cli, "ready", 5), 5);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 5000 * MS));
	recv_exact(srv, buf, 5);
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	CHECK_EQ_MEM(buf, "ready", 5);

	/* an accept under a deadline */
	cr_addr a;
	int lfd = listen_checked(&a, 0);
	CHECK_OK(cr_timeout_enter(&d, 10 * MS));
	CHECK_EQ_INT(cr_accept(lfd, NULL), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_OK(cr_close(lfd));

	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- sends that cannot finish: deadline and cancellation ------------------------------------- */

static int send_big_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	size_t len = BIG_LEN;
	char *buf = malloc(len);
	CHECK(buf != NULL);
	memset(buf, 'c', len);
	ssize_t r = cr_send_all(fd, buf, len, NULL);
	free(buf);
	return (int)r;
}

static void test_send_blocked(void)
{
	int base = count_fds();
	int cli, srv;
	tcp_pair_checked(&cli, &srv);
	/* the peer reads nothing: send_all stops at the deadline and says how
	 * much went out; exactly that much arrives, in order */
	uint8_t *out = malloc(BIG_LEN);
	CHECK(out != NULL);
	fill_pattern(out, 3, 0, BIG_LEN);
	size_t sent = 0;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 50 * MS));
	CHECK_EQ_INT(cr_send_all(cli, out, BIG_LEN, &sent), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_GT_U64(sent, 0);
	CHECK_LT_U64(sent, BIG_LEN);
	CHECK_OK(cr_shutdown(cli, SHUT_WR));
	uint8_t *in = malloc(BIG_LEN);
	CHECK(in != NULL);
	size_t got = 0;
	for (;;) {
		ssize_t n = cr_recv(srv, in + got, BIG_LEN - got);
		CHECK_GE_INT(n, 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	printf("send_all under a deadline: %zu bytes sent, %zu received\n", sent, got);
	CHECK_EQ_U64(got, sent);
	CHECK_EQ_MEM(in, out, got);
	free(in);
	free(out);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));

	/* a task blocked in send is cancelled; the socket still works */
	tcp_pair_checked(&cli, &srv);
	cr_task *t;
	CHECK_OK(cr_spawn(&t, send_big_task, (void *)(intptr_t)cli, NULL));
	CHECK_OK(cr_sleep(20 * MS));
	CHECK_EQ_INT(cr_task_done(t), 0);
	CHECK_OK(cr_cancel(t));
	int r = 0;
	CHECK_OK(cr_join(t, &r));
	CHECK_EQ_INT(r, -ECANCELED);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(count_fds(), base);

	/* two listeners share a port with reuseport */
	cr_addr a;
	cr_listen_opts rp = {.reuseport = 1};
	loop4(&a, 0);
	int l1 = cr_listen(&a, &rp);
	CHECK_OK(l1);
	CHECK_OK(cr_socket_addr(l1, 0, &a));
	int l2 = cr_listen(&a, &rp);
	CHECK_OK(l2);
	CHECK_OK(cr_close(l1));
	CHECK_OK(cr_close(l2));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- close with a recv of another task in flight ------------------------------------------ */

static void test_close_in_flight(void)
{
	int base = count_fds();
	for (int round = 0; round < 10; round++) {
		int cli, srv;
		tcp_pair_checked(&cli, &srv);
		cr_task *t;
		CHECK_OK(cr_spawn(&t, recv_task, (void *)(intptr_t)srv, NULL));
		for (int i = 0; i < 3 + round % 3; i++)
			CHECK_OK(cr_yield());
		CHECK_OK(cr_close(srv));
		int r = 0;
		CHECK_OK(cr_join(t, &r));
		CHECK_MSG(r < 0, "recv on an fd closed under it returned %d", r);
		/* the peer sees the close */
		char buf[8];
		cr_deadline d;
		CHECK_OK(cr_timeout_enter(&d, 5000 * MS));
		ssize_t n = cr_recv(cli, buf, sizeof(buf));
		CHECK_EQ_INT(cr_deadline_exit(&d), 0);
		CHECK(n == 0 || n == -ECONNRESET);
		CHECK_OK(cr_close(cli));
	}
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- close as cleanup: in an expired deadline scope, or with a cancellation pending ---------- */

static int cleanup_fd;

/* Cancelled while not waiting, then closes: the close must still cancel the
 * fd's operations, and the cancellation must reach the next wait. */
static int closer_task(void *arg)
{
	(void)arg;
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_OK(cr_close(cleanup_fd));
	return cr_sleep(5000 * MS);
}

/* The peer of a closed fd sees its end (not a hang); the task that was
 * blocked in recv on it got an error. */
static void check_closed(int cli, cr_task *reader, const char *how)
{
	cr_deadline d;
	int res = 0;
	CHECK_OK(cr_timeout_enter(&d, 5000 * MS));
	int j = cr_join(reader, &res);
	char b;
	ssize_t n = cr_recv(cli, &b, 1);
	cr_deadline_exit(&d);
	CHECK_MSG(j == 0, "cr_close %s: the recv of another task on the fd is still in flight",
		  how);
	CHECK_MSG(res < 0, "cr_close %s: the other task's recv returned %d", how, res);
	CHECK_MSG(n == 0 || n == -ECONNRESET, "cr_close %s: the peer got %zd instead of EOF", how,
		  n);
}

static void test_close_cleanup(void)
{
	int base = count_fds();
	int cli, srv;
	cr_task *t;

	/* an idle timeout fired; the handler closes inside the expired scope */
	tcp_pair_checked(&cli, &srv);
	CHECK_OK(cr_spawn(&t, recv_task, (void *)(intptr_t)srv, NULL));
	CHECK_OK(cr_yield());
	cr_deadline d;
	char b;
	CHECK_OK(cr_timeout_enter(&d, 1 * MS));
	CHECK_EQ_INT(cr_recv(cli, &b, 1), -ETIMEDOUT);
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	check_closed(cli, t, "in an expired deadline scope");
	CHECK_OK(cr_close(cli));

	/* a cancelled task cleans up */
	tcp_pair_checked(&cli, &srv);
	cleanup_fd = srv;
	CHECK_OK(cr_spawn(&t, recv_task, (void *)(intptr_t)srv, NULL));
	CHECK_OK(cr_yield());
	cr_task *c;
	CHECK_OK(cr_spawn(&c, closer_task, NULL, NULL));
	int r = 0;
	CHECK_OK(cr_join(c, &r));
	CHECK_MSG(r == -ECANCELED, "a cancellation pending at cr_close was lost (next wait: %d)",
		  r);
	check_closed(cli, t, "with a cancellation pending");
	CHECK_OK(cr_close(cli));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- socket options ---------------------------------------------------------------------- */

static int get_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	CHECK_EQ_INT(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

static void test_options(void)
{
	int cli, srv;
	tcp_pair_checked(&cli, &srv);
	CHECK_EQ_INT(cr_set_nodelay(cli, 1), 0);
	CHECK_NE_INT(get_int(cli, IPPROTO_TCP, TCP_NODELAY), 0);
	CHECK_EQ_INT(cr_set_nodelay(cli, 0), 0);
	CHECK_EQ_INT(get_int(cli, IPPROTO_TCP, TCP_NODELAY), 0);
	CHECK_EQ_INT(cr_set_keepalive(srv, 1, 30, 5, 3), 0);
	CHECK_NE_INT(get_int(srv, SOL_SOCKET, SO_KEEPALIVE), 0);
	CHECK_EQ_INT(get_int(srv, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	CHECK_EQ_INT(get_int(srv, IPPROTO_TCP, TCP_KEEPINTVL), 5);
	CHECK_EQ_INT(get_int(srv, IPPROTO_TCP, TCP_KEEPCNT), 3);
	CHECK_EQ_INT(cr_set_keepalive(srv, 0, 0, 0, 0), 0);
	CHECK_EQ_INT(get_int(srv, SOL_SOCKET, SO_KEEPALIVE), 0);
	CHECK_EQ_INT(cr_set_keepalive(cli, 1, 0, 0, 0), 0);
	CHECK_NE_INT(get_int(cli, SOL_SOCKET, SO_KEEPALIVE), 0);
	/* errors come back as -errno */
	CHECK_EQ_INT(cr_set_nodelay(-1, 1), -EBADF);
	CHECK_EQ_INT(cr_set_keepalive(-1, 1, 0, 0, 0), -EBADF);
	/* the options do not disturb the connection */
	char buf[4];
	CHECK_EQ_INT(cr_send(cli, "opts", 4), 4);
	recv_exact(srv, buf, 4);
	CHECK_EQ_MEM(buf, "opts", 4);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
}

/* ---- IPv6 loopback, if the machine has it ---------------------------------------------------- */

static void test_ipv6(void)
{
	cr_addr a, bound;
	CHECK_OK(cr_addr_parse("[::1]:0", 0, &a));
	int lfd = cr_listen(&a, NULL);
	if (lfd == -EADDRNOTAVAIL || lfd == -EAFNOSUPPORT) {
		printf("no IPv6 loopback: skipped\n");
		return;
	}
	CHECK_OK(lfd);
	CHECK_OK(cr_socket_addr(lfd, 0, &bound));
	CHECK_EQ_INT(bound.u.sa.sa_family, AF_INET6);
	int cli = cr_connect(&bound);
	CHECK_OK(cli);
	int srv = cr_accept(lfd, NULL);
	CHECK_OK(srv);
	char buf[8];
	CHECK_EQ_INT(cr_send_all(cli, "six", 3, NULL), 3);
	recv_exact(srv, buf, 3);
	CHECK_EQ_MEM(buf, "six", 3);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_OK(cr_close(lfd));
}

static int main_task(void *arg)
{
	(void)arg;
	int base = count_fds();
	test_round_trip();
	test_half_close();
	test_epipe();
	test_refused();
	test_cancel();
	test_deadline();
	test_send_blocked();
	test_close_in_flight();
	test_options();
	test_ipv6();
	test_close_cleanup();
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
