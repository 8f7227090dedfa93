/* SPDX-License-Identifier: MIT */
/* net_cases.h: helpers shared by the network tests (test_net_*.c, test_xthread_net_echo.c). */
#ifndef CORING_TESTS_NET_CASES_H
#define CORING_TESTS_NET_CASES_H

#include <dirent.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "check.h"

/* One millisecond in nanoseconds. */
#define MS 1000000ull

/* ---- addresses and sockets ---------------------------------------------------------------- */

/* Fills *a with 127.0.0.1:port by hand (does not depend on cr_addr_parse).  Returns nothing. */
static inline void loop4(cr_addr *a, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->u.in.sin_family = AF_INET;
	a->u.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->u.in.sin_port = htons(port);
	a->len = sizeof(a->u.in);
}

/* Listens on 127.0.0.1 with an ephemeral port (backlog 0 = the default); *bound gets the
 * address to connect to.  Returns the listening fd (fails the test if it cannot listen). */
static inline int listen_loop(cr_addr *bound, int backlog)
{
	cr_addr a;
	cr_listen_opts o = {.backlog = backlog};
	loop4(&a, 0);
	int fd = cr_listen(&a, &o);
	CHECK_OK(fd);
	CHECK_OK(cr_socket_addr(fd, 0, bound));
	return fd;
}

/* A connected TCP pair on a fresh loopback listener, which it closes again: *cli from
 * cr_connect, *srv from cr_accept.  When not NULL, *bound gets the listener's address and
 * *peer the address cr_accept reported.  Returns nothing (fails the test on an error). */
static inline void tcp_pair_at(int *cli, int *srv, cr_addr *bound, cr_addr *peer)
{
	cr_addr a;
	int lfd = listen_loop(&a, 0);
	*cli = cr_connect(&a);
	CHECK_OK(*cli);
	*srv = cr_accept(lfd, peer);
	CHECK_OK(*srv);
	CHECK_OK(cr_close(lfd));
	if (bound)
		*bound = a;
}

/* A connected TCP pair on a fresh loopback listener (see tcp_pair_at).  Returns nothing. */
static inline void tcp_pair(int *cli, int *srv)
{
	tcp_pair_at(cli, srv, NULL, NULL);
}

/* Returns how many fds the process has open (the directory's own not counted). */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Receives exactly len bytes into buf.  Returns nothing (fails the test on an error or an
 * early EOF). */
static inline void recv_exact(int fd, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = cr_recv(fd, (char *)buf + done, len - done);
		CHECK_MSG(n > 0, "recv after %zu of %zu bytes: %zd", done, len, n);
		done += (size_t)n;
	}
}

/* ---- tasks and runs ----------------------------------------------------------------------- */

/* Spawns fn(arg) and sleeps 2 ms, so that the task is blocked in its call by the time this
 * returns.  Returns the task. */
static inline cr_task *spawn_waiting(cr_task_fn fn, void *arg)
{
	cr_task *t;
	CHECK_OK(cr_spawn(&t, fn, arg, NULL));
	CHECK_OK(cr_sleep(2 * MS));
	return t;
}

/* Joins t, giving up after ns nanoseconds; *res gets the task's result.  Returns what cr_join
 * returned (-ETIMEDOUT when t did not end in time). */
static inline int join_within(cr_task *t, uint64_t ns, int *res)
{
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, ns));
	int j = cr_join(t, res);
	cr_deadline_exit(&d);
	return j;
}

/* Runs fn (arg NULL) as the main task of a runtime with this many workers.  Returns nothing
 * (fails the test unless fn returns 0). */
static inline void run_main(unsigned workers, cr_task_fn fn)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = workers;
	CHECK_EQ_INT(check_run(&cfg, fn, NULL), 0);
}

/* ---- test streams ------------------------------------------------------------------------- */

/* Returns byte i of the test stream with this seed. */
static inline uint8_t pattern(uint32_t seed, size_t i)
{
	uint64_t x = ((uint64_t)i + 1) * 0x9e3779b97f4a7c15ull + seed * 0xbf58476d1ce4e5b9ull;
	return (uint8_t)((x >> 29) ^ (x >> 47));
}

/* A 32-bit integer hash (lengths and pieces that look random).  Returns the hash of x. */
static inline uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* Fills buf[0..len-1] with bytes from..from+len-1 of stream seed.  Returns nothing. */
static inline void fill_pattern(void *buf, uint32_t seed, size_t from, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(seed, from + i);
}

/* Fails the test (naming `what`) unless data[0..len-1] are bytes from..from+len-1 of stream
 * seed.  Returns nothing. */
static inline void check_pattern(const void *data, size_t len, uint32_t seed, size_t from,
				 const char *what)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(seed, from + i))
			CHECK_MSG(0, "%s %u byte %zu: 0x%02x, expected 0x%02x", what, seed,
				  from + i, p[i], pattern(seed, from + i));
}

/* Sends len bytes of stream seed from offset `from`, in pieces of at most 4 KiB.  Returns
 * nothing (fails the test unless every piece is sent whole). */
static inline void send_pattern(int fd, uint32_t seed, size_t from, size_t len)
{
	uint8_t buf[4096];
	size_t done = 0;
	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		fill_pattern(buf, seed, from + done, n);
		CHECK_EQ_INT(cr_send_all(fd, buf, n, NULL), (ssize_t)n);
		done += n;
	}
}

#endif
