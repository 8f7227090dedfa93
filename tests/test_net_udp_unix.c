/* SPDX-License-Identifier: MIT */
/* UDP datagrams with their sender addresses; Unix stream sockets on a path and abstract names. */
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net_cases.h"

#define NPING 100
#define UNIX_LEN ((size_t)2 * 1024 * 1024)

/* ---- helpers ------------------------------------------------------------------------ */

/* Returns 1 if two IP addresses have the same family, address and port. */
static int same_ip(const cr_addr *x, const cr_addr *y)
{
	if (x->u.sa.sa_family != y->u.sa.sa_family || cr_addr_port(x) != cr_addr_port(y))
		return 0;
	if (x->u.sa.sa_family == AF_INET)
		return x->u.in.sin_addr.s_addr == y->u.in.sin_addr.s_addr;
	return memcmp(&x->u.in6.sin6_addr, &y->u.in6.sin6_addr, 16) == 0;
}

/* ---- UDP ------------------------------------------------------------------------------ */

/* One UDP socket pair on the address family of `any` (port 0): ping-pongs
 * datagrams of many sizes and checks the sender addresses both ways. */
static void udp_ping_pong(const cr_addr *any)
{
	cr_addr srv_addr, cli_addr, from;
	int srv = cr_udp_bind(any, NULL);
	CHECK_OK(srv);
	CHECK_OK(cr_socket_addr(srv, 0, &srv_addr));
	CHECK_GT_INT(cr_addr_port(&srv_addr), 0);
	int cli = cr_udp_bind(any, NULL);
	CHECK_OK(cli);
	CHECK_OK(cr_socket_addr(cli, 0, &cli_addr));
	CHECK_NE_INT(cr_addr_port(&cli_addr), cr_addr_port(&srv_addr));

	static uint8_t out[65000], in[65536];
	uint32_t rng = 12345;
	for (int i = 0; i < NPING; i++) {
		rng = rng * 1103515245u + 12345u;
		size_t len = i == 0 ? 0 : 1 + (rng >> 8) % (i % 10 == 0 ? sizeof(out) : 1500);
		fill_pattern(out, (uint32_t)i, 0, len);
		CHECK_EQ_INT(cr_sendto(cli, out, len, &srv_addr), (ssize_t)len);
		memset(&from, 0, sizeof(from));
		CHECK_EQ_INT(cr_recvfrom(srv, in, sizeof(in), &from), (ssize_t)len);
		CHECK_EQ_MEM(in, out, len);
		CHECK_MSG(same_ip(&from, &cli_addr), "datagram %d: sender is not the client", i);
		CHECK_EQ_INT(from.len, cli_addr.len);
		/* answer to the reported sender */
		CHECK_EQ_INT(cr_sendto(srv, in, len, &from), (ssize_t)len);
		memset(&from, 0, sizeof(from));
		CHECK_EQ_INT(cr_recvfrom(cli, in, sizeof(in), &from), (ssize_t)len);
		CHECK_EQ_MEM(in, out, len);
		CHECK_MSG(same_ip(&from, &srv_addr), "reply %d: sender is not the server", i);
	}

	/* a datagram longer than the buffer is cut to it; the rest is dropped */
	for (size_t k = 0; k < 100; k++)
		out[k] = (uint8_t)k;
	CHECK_EQ_INT(cr_sendto(cli, out, 100, &srv_addr), 100);
	CHECK_EQ_INT(cr_sendto(cli, out + 50, 3, &srv_addr), 3);
	ssize_t n = cr_recvfrom(srv, in, 10, NULL);
	CHECK_EQ_INT(n, 10); /* the bytes stored, as recvmsg(2) without MSG_TRUNC */
	CHECK_EQ_MEM(in, out, 10);
	CHECK_EQ_INT(cr_recvfrom(srv, in, sizeof(in), NULL), 3); /* the next datagram, whole */
	CHECK_EQ_MEM(in, out + 50, 3);

	/* an unbound socket gets an address on its first send */
	int anon = cr_udp_socket(any);
	CHECK_OK(anon);
	CHECK_EQ_INT(cr_sendto(anon, "anon", 4, &srv_addr), 4);
	CHECK_EQ_INT(cr_recvfrom(srv, in, sizeof(in), &from), 4);
	CHECK_EQ_MEM(in, "anon", 4);
	cr_addr anon_addr;
	CHECK_OK(cr_socket_addr(anon, 0, &anon_addr));
	CHECK(same_ip(&from, &anon_addr) || (cr_addr_port(&from) == cr_addr_port(&anon_addr)));
	CHECK_EQ_INT(cr_sendto(srv, "back", 4, &from), 4);
	CHECK_EQ_INT(cr_recvfrom(anon, in, sizeof(in), NULL), 4);
	CHECK_EQ_MEM(in, "back", 4);
	CHECK_OK(cr_close(anon));

	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
}

static int recvfrom_task(void *arg)
{
	char buf[16];
	cr_addr from;
	return (int)cr_recvfrom((int)(intptr_t)arg, buf, sizeof(buf), &from);
}

static void test_udp(void)
{
	int base = count_fds();
	cr_addr a;
	loop4(&a, 0);
	udp_ping_pong(&a);
	CHECK_EQ_INT(count_fds(), base);

	cr_addr a6;
	CHECK_OK(cr_addr_parse("[::1]:0", 0, &a6));
	int probe = cr_udp_bind(&a6, NULL);
	if (probe == -EADDRNOTAVAIL || probe == -EAFNOSUPPORT) {
		printf("no IPv6 loopback: UDP over IPv6 skipped\n");
	} else {
		CHECK_OK(probe);
		CHECK_OK(cr_close(probe));
		udp_ping_pong(&a6);
	}
	CHECK_EQ_INT(count_fds(), base);

	/* cancellation and a deadline around recvfrom; the socket works after both */
	int s = cr_udp_bind(&a, NULL);
	CHECK_OK(s);
	cr_addr sa;
	CHECK_OK(cr_socket_addr(s, 0, &sa));
	cr_task *t = spawn_waiting(recvfrom_task, (void *)(intptr_t)s);
	CHECK_OK(cr_cancel(t));
	int r;
	CHECK_OK(cr_join(t, &r));
	CHECK_EQ_INT(r, -ECANCELED);
	cr_deadline d;
	char buf[16];
	CHECK_OK(cr_timeout_enter(&d, 10 * MS));
	CHECK_EQ_INT(cr_recvfrom(s, buf, sizeof(buf), NULL), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	int c = cr_udp_socket(&a);
	CHECK_OK(c);
	CHECK_EQ_INT(cr_sendto(c, "still", 5, &sa), 5);
	CHECK_EQ_INT(cr_recvfrom(s, buf, sizeof(buf), NULL), 5);
	CHECK_EQ_MEM(buf, "still", 5);
	CHECK_OK(cr_close(c));

	/* errors */
	CHECK_EQ_INT(cr_sendto(s, "x", 1, NULL), -EINVAL);
	CHECK_EQ_INT(cr_udp_socket(NULL), -EINVAL);
	cr_listen_opts rp = {.reuseport = 1};
	CHECK_OK(cr_close(s));
	/* two sockets may share a port with reuseport */
	s = cr_udp_bind(&a, &rp);
	CHECK_OK(s);
	CHECK_OK(cr_socket_addr(s, 0, &sa));
	int s2 = cr_udp_bind(&sa, &rp);
	CHECK_OK(s2);
	CHECK_OK(cr_close(s2));
	CHECK_OK(cr_close(s));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- Unix stream sockets -------------------------------------------------------------------- */

struct unix_peer {
	int fd;
	size_t len;
};

/* Echo until EOF, then half-close. */
static int unix_echo_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	size_t size = 65536;
	char *buf = malloc(size); /* not on the task's 64 KiB stack */
	CHECK(buf != NULL);
	for (;;) {
		ssize_t n = cr_recv(fd, buf, size);
		CHECK_GE_INT(n, 0);
		if (n == 0)
			break;
		CHECK_EQ_INT(cr_send_all(fd, buf, (size_t)n, NULL), n);
	}
	CHECK_OK(cr_shutdown(fd, SHUT_WR));
	free(buf);
	return 0;
}

static int unix_send_task(void *arg)
{
	struct unix_peer *p = arg;
	uint8_t *buf = malloc(p->len);
	CHECK(buf != NULL);
	fill_pattern(buf, 7, 0, p->len);
	CHECK_EQ_INT(cr_send_all(p->fd, buf, p->len, NULL), (ssize_t)p->len);
	CHECK_OK(cr_shutdown(p->fd, SHUT_WR));
	free(buf);
	return 0;
}

/* Listens on a, connects, echoes UNIX_LEN bytes through it and checks them. */
static void unix_round_trip(const cr_addr *a)
{
	int lfd = cr_listen(a, NULL);
	CHECK_OK(lfd);
	int cli = cr_connect(a);
	CHECK_OK(cli);
	cr_addr peer;
	int srv = cr_accept(lfd, &peer);
	CHECK_OK(srv);
	CHECK_EQ_INT(peer.u.sa.sa_family, AF_UNIX);
	/* the client is unnamed: formatting its address must not read past it */
	char ptext[CR_ADDR_STRLEN];
	int pr = cr_addr_format(&peer, ptext, sizeof(ptext));
	CHECK(pr >= 0 || pr == -EAFNOSUPPORT || pr == -EINVAL);
	/* the server's own address is the one listened on */
	cr_addr local;
	CHECK_OK(cr_socket_addr(srv, 0, &local));
	CHECK_EQ_INT(local.u.sa.sa_family, AF_UNIX);
	CHECK_EQ_INT(local.len, a->len);
	CHECK_EQ_MEM(local.u.un.sun_path, a->u.un.sun_path,
		     a->len - offsetof(struct sockaddr_un, sun_path));
	char text[CR_ADDR_STRLEN], want[CR_ADDR_STRLEN];
	CHECK_GT_INT(cr_addr_format(&local, text, sizeof(text)), 0);
	CHECK_GT_INT(cr_addr_format(a, want, sizeof(want)), 0);
	CHECK_EQ_STR(text, want);
	CHECK_EQ_INT(cr_addr_port(&local), -1);

	cr_task *echo, *snd;
	CHECK_OK(cr_spawn(&echo, unix_echo_task, (void *)(intptr_t)srv, NULL));
	struct unix_peer p = {cli, UNIX_LEN};
	CHECK_OK(cr_spawn(&snd, unix_send_task, &p, NULL));
	uint8_t *in = malloc(UNIX_LEN + 1);
	CHECK(in != NULL);
	size_t got = 0;
	for (;;) {
		ssize_t n = cr_recv(cli, in + got, UNIX_LEN + 1 - got);
		CHECK_GE_INT(n, 0);
		if (n == 0)
			break;
		got += (size_t)n;
		CHECK_LE_U64(got, UNIX_LEN);
	}
	CHECK_EQ_U64(got, UNIX_LEN);
	check_pattern(in, UNIX_LEN, 7, 0, "unix stream");
	free(in);
	CHECK_OK(cr_join(snd, NULL));
	CHECK_OK(cr_join(echo, NULL));
	/* TCP options do not apply, and say so */
	CHECK_LT_INT(cr_set_nodelay(cli, 1), 0);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_OK(cr_close(lfd));
}

static void test_unix_path(void)
{
	int base = count_fds();
	char dir[] = "/tmp/coring-net-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[PATH_MAX], text[PATH_MAX + 8];
	snprintf(path, sizeof(path), "%s/sock", dir);
	cr_addr a;

	/* "unix:/path" and "/path" name the same socket */
	snprintf(text, sizeof(text), "unix:%s", path);
	CHECK_OK(cr_addr_parse(text, 0, &a));
	cr_addr b;
	CHECK_OK(cr_addr_parse(path, 0, &b));
	CHECK_EQ_INT(a.len, b.len);
	CHECK_EQ_MEM(&a.u.un, &b.u.un, a.len);
	CHECK_EQ_INT(a.u.sa.sa_family, AF_UNIX);

	unix_round_trip(&a);
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	/* the stale socket file is not removed by cr_listen */
	CHECK_EQ_INT(cr_listen(&a, NULL), -EADDRINUSE);
	/* nobody listens there any more */
	CHECK_EQ_INT(cr_connect(&a), -ECONNREFUSED);
	CHECK_EQ_INT(unlink(path), 0);
	CHECK_EQ_INT(cr_connect(&a), -ENOENT);
	/* after unlinking, the same path works again */
	unix_round_trip(&a);
	CHECK_EQ_INT(unlink(path), 0);
	CHECK_EQ_INT(rmdir(dir), 0);

	/* a path too long for sun_path is refused when parsed */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	CHECK_EQ_INT(cr_addr_parse(longp, 0, &a), -EINVAL);
	CHECK_EQ_INT(count_fds(), base);
}

static void test_unix_abstract(void)
{
	int base = count_fds();
	char name[64];
	snprintf(name, sizeof(name), "@coring-test-net-%d-%u", (int)getpid(),
		 (unsigned)(cr_now_ns() & 0xffffff));
	cr_addr a;
	int r = cr_addr_parse(name, 0, &a);
	if (r < 0) {
		printf("abstract Unix names not parsed (%d): skipped\n", r);
		return;
	}
	CHECK_EQ_INT(a.u.sa.sa_family, AF_UNIX);
	CHECK_EQ_INT(a.u.un.sun_path[0], 0);
	/* the name has no NUL terminator in the address: len counts only it */
	CHECK_EQ_INT(a.len, offsetof(struct sockaddr_un, sun_path) + strlen(name));
	char text[CR_ADDR_STRLEN];
	CHECK_EQ_INT(cr_addr_format(&a, text, sizeof(text)), (int)strlen(name));
	CHECK_EQ_STR(text, name);
	unix_round_trip(&a);
	/* abstract names vanish with their socket: the name is free again */
	unix_round_trip(&a);
	CHECK_EQ_INT(count_fds(), base);
}

static int main_task(void *arg)
{
	(void)arg;
	int base = count_fds();
	test_udp();
	test_unix_path();
	test_unix_abstract();
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
