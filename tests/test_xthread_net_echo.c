/* SPDX-License-Identifier: MIT */
/* Echo servers on every worker (reuseport, acceptor, receivers, a pool each); clients anywhere. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_cases.h"

#define NWORKERS 3
#ifdef CHECK_UNDER_TSAN
#define NCLIENTS 12
#define MAX_MSG (16 * 1024)
#define NMSG 8
#else
#define NCLIENTS 48
#define MAX_MSG (64 * 1024)
#define NMSG 24
#endif
#define POOL_COUNT 16
#define POOL_SIZE 2048

/* ---- server: one per worker --------------------------------------------------------- */

struct server {
	int lfd;     /* this worker's reuseport listener */
	int worker;  /* where it runs */
	int served;  /* connections accepted */
	int started; /* 1 once the acceptor is open */
};

struct conn {
	int fd;
	cr_bufpool *pool;
};

/* Echoes every chunk back until EOF, then half-closes and closes. */
static int conn_task(void *arg)
{
	struct conn *c = arg;
	cr_receiver *r;
	CHECK_OK(cr_receiver_open(&r, c->fd, c->pool, 4));
	cr_chunk ch;
	ssize_t n;
	while ((n = cr_receiver_next(r, &ch)) > 0) {
		ssize_t s = cr_send_all(c->fd, ch.data, ch.len, NULL);
		cr_chunk_release(r, &ch);
		CHECK_EQ_INT(s, n);
	}
	CHECK_EQ_INT(n, 0);
	CHECK_OK(cr_shutdown(c->fd, SHUT_WR));
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_close(c->fd));
	free(c);
	return 0;
}

static int server_task(void *arg)
{
	struct server *sv = arg;
	CHECK_EQ_INT(cr_worker_id(), sv->worker);
	cr_bufpool *pool;
	CHECK_OK(cr_bufpool_create(&pool, POOL_COUNT, POOL_SIZE));
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, sv->lfd, 0));
	__atomic_store_n(&sv->started, 1, __ATOMIC_RELEASE);
	cr_task_group g;
	cr_task_group_init(&g);
	int fd;
	while ((fd = cr_acceptor_next(a)) >= 0) {
		struct conn *c = malloc(sizeof(*c));
		CHECK(c != NULL);
		c->fd = fd;
		c->pool = pool;
		CHECK_OK(cr_task_group_spawn(&g, conn_task, c, NULL));
		__atomic_add_fetch(&sv->served, 1, __ATOMIC_RELAXED);
	}
	CHECK_EQ_INT(fd, -ECANCELED); /* the way the main task stops us */
	CHECK_OK(cr_acceptor_close(a));
	CHECK_OK(cr_task_group_wait(&g));
	CHECK_EQ_INT(cr_bufpool_free_count(pool), POOL_COUNT);
	CHECK_OK(cr_bufpool_destroy(pool));
	CHECK_OK(cr_close(sv->lfd));
	return 0;
}

/* ---- clients: on any worker ---------------------------------------------------------- */

struct client {
	const cr_addr *addr;
	uint32_t id;
	int fd;
	size_t total; /* bytes the client sends */
};

static size_t msg_len(uint32_t id, int m)
{
	return 1 + mix(id * 131u + (uint32_t)m) % MAX_MSG;
}

static int client_sender(void *arg)
{
	struct client *c = arg;
	uint8_t *buf = malloc(MAX_MSG);
	CHECK(buf != NULL);
	size_t off = 0;
	for (int m = 0; m < NMSG; m++) {
		size_t len = msg_len(c->id, m);
		fill_pattern(buf, c->id, off, len);
		CHECK_EQ_INT(cr_send_all(c->fd, buf, len, NULL), (ssize_t)len);
		off += len;
	}
	CHECK_OK(cr_shutdown(c->fd, SHUT_WR));
	free(buf);
	return 0;
}

static int client_task(void *arg)
{
	struct client *c = arg;
	c->fd = cr_connect(c->addr);
	CHECK_OK(c->fd);
	c->total = 0;
	for (int m = 0; m < NMSG; m++)
		c->total += msg_len(c->id, m);
	cr_task *snd;
	CHECK_OK(cr_spawn(&snd, client_sender, c, NULL));
	uint8_t *buf = malloc(16384);
	CHECK(buf != NULL);
	size_t got = 0;
	for (;;) {
		ssize_t n = cr_recv(c->fd, buf, 16384);
		CHECK_GE_INT(n, 0);
		if (n == 0)
			break;
		check_pattern(buf, (size_t)n, c->id, got, "client");
		got += (size_t)n;
	}
	CHECK_EQ_U64(got, c->total);
	CHECK_OK(cr_join(snd, NULL));
	CHECK_OK(cr_close(c->fd));
	free(buf);
	return 0;
}

static int main_task(void *arg)
{
	(void)arg;
	CHECK_EQ_INT(cr_worker_count(), NWORKERS);
	cr_addr addr;
	memset(&addr, 0, sizeof(addr));
	addr.u.in.sin_family = AF_INET;
	addr.u.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.len = sizeof(addr.u.in);
	cr_listen_opts rp = {.reuseport = 1};
	static struct server sv[NWORKERS];
	cr_task *servers[NWORKERS];
	for (int w = 0; w < NWORKERS; w++) {
		sv[w].lfd = cr_listen(&addr, &rp);
		CHECK_OK(sv[w].lfd);
		if (w == 0)
			CHECK_OK(
				cr_socket_addr(sv[0].lfd, 0, &addr)); /* the others join its port */
		sv[w].worker = w;
		cr_spawn_opts o = {
			.name = "server", .placement = CR_ON_WORKER, .worker = (unsigned)w};
		CHECK_OK(cr_spawn(&servers[w], server_task, &sv[w], &o));
	}
	for (int w = 0; w < NWORKERS; w++)
		CHECK_WAIT_UNTIL(__atomic_load_n(&sv[w].started, __ATOMIC_ACQUIRE), "servers up");

	static struct client cl[NCLIENTS];
	static cr_task *clients[NCLIENTS];
	for (int i = 0; i < NCLIENTS; i++) {
		cl[i].addr = &addr;
		cl[i].id = (uint32_t)i;
		cr_spawn_opts o = {.name = "client", .placement = CR_ON_ANY};
		CHECK_OK(cr_spawn(&clients[i], client_task, &cl[i], &o));
	}
	int res[NCLIENTS];
	CHECK_OK(cr_gather(clients, NCLIENTS, res));
	for (int i = 0; i < NCLIENTS; i++)
		CHECK_EQ_INT(res[i], 0);

	int served = 0;
	for (int w = 0; w < NWORKERS; w++) {
		CHECK_OK(cr_cancel(servers[w]));
		int r = -1;
		CHECK_OK(cr_join(servers[w], &r));
		CHECK_EQ_INT(r, 0);
		served += sv[w].served;
		printf("worker %d served %d connections\n", w, sv[w].served);
	}
	CHECK_EQ_INT(served, NCLIENTS);
	return 0;
}

int main(void)
{
	check_watchdog(100);
	run_main(NWORKERS, main_task);
	printf("ok\n");
	return 0;
}
