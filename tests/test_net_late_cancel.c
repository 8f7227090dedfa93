/* SPDX-License-Identifier: MIT */
/* Multishot waits against a busy worker: a task that only yields does not starve a receiver, and
 * a receiver or acceptor waiter woken by a result, then cancelled before it ran, ends cancelled
 * with the result still queued (asyncio's StreamReader keeps the data). */
#include <coring.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

/* The task that waits on the receiver or the acceptor. */
typedef struct waiter_job {
	cr_receiver *r; /* the receiver it reads, or NULL */
	cr_acceptor *a; /* the acceptor it reads, or NULL */
	cr_chunk chunk; /* what a receive returned */
	int parked;	/* 1 once it is about to wait */
	long first;	/* what its one call returned */
} waiter_job;

static int waiter(void *arg)
{
	waiter_job *j = arg;
	j->parked = 1;
	j->first = j->r ? (long)cr_receiver_next(j->r, &j->chunk) : (long)cr_acceptor_next(j->a);
	return 0;
}

static uint64_t cqes_now(void)
{
	cr_stats s;
	CHECK_OK(cr_stats_get(&s));
	return s.cqes;
}

/*
 * Makes the result that wakes the waiter (make_result), then yields until the
 * loop has reaped a completion: the waiter is then ready behind this task,
 * which cancels it before it runs.
 */
static void wake_then_cancel(cr_task *t, waiter_job *j, void (*make_result)(void *), void *arg)
{
	while (!j->parked)
		CHECK_OK(cr_yield());
	CHECK_OK(cr_yield()); /* the waiter is parked now */
	uint64_t before = cqes_now();
	make_result(arg);
	uint64_t end = cr_now_ns() + 5000000000ull;
	while (cqes_now() == before) {
		CHECK_MSG(cr_now_ns() < end, "no completion within 5 s");
		CHECK_OK(cr_yield());
	}
	CHECK_OK(cr_cancel(t));
}

static void write_byte(void *arg)
{
	CHECK_EQ_INT((int)write(*(int *)arg, "x", 1), 1);
}

static int main_receiver(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	cr_bufpool *pool;
	CHECK_OK(cr_bufpool_create(&pool, 4, 4096));
	waiter_job j = {0};
	CHECK_OK(cr_receiver_open(&j.r, sv[0], pool, 0));
	cr_task *t;
	CHECK_OK(cr_spawn(&t, waiter, &j, NULL));
	wake_then_cancel(t, &j, write_byte, &sv[1]);
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_INT((int)j.first, -ECANCELED);
	/* the byte stayed queued: the next call returns it at once */
	cr_chunk c;
	CHECK_EQ_INT((int)cr_receiver_try_next(j.r, &c), 1);
	CHECK_EQ_INT(((char *)c.data)[0], 'x');
	cr_chunk_release(j.r, &c);
	CHECK_OK(cr_receiver_close(j.r));
	CHECK_OK(cr_bufpool_destroy(pool));
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* Connects a plain blocking socket to the listener's port (loopback). */
static void connect_to(void *arg)
{
	int *fds = arg; /* [0] listener, [1] gets the client socket */
	cr_addr a;
	CHECK_OK(cr_socket_addr(fds[0], 0, &a));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_OK(fd);
	CHECK_OK(connect(fd, (struct sockaddr *)&a.u, a.len));
	fds[1] = fd;
}

static int main_acceptor(void *arg)
{
	(void)arg;
	cr_addr any;
	CHECK_OK(cr_addr_parse("127.0.0.1:0", 0, &any));
	int fds[2] = {cr_listen(&any, NULL), -1};
	CHECK_OK(fds[0]);
	waiter_job j = {0};
	CHECK_OK(cr_acceptor_open(&j.a, fds[0], 0));
	cr_task *t;
	CHECK_OK(cr_spawn(&t, waiter, &j, NULL));
	wake_then_cancel(t, &j, connect_to, fds);
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_INT((int)j.first, -ECANCELED);
	/* the accepted fd stayed queued: the next call returns it */
	int fd = cr_acceptor_next(j.a);
	CHECK_OK(fd);
	CHECK_OK(cr_close(fd));
	CHECK_OK(cr_acceptor_close(j.a));
	close(fds[1]);
	CHECK_OK(cr_close(fds[0]));
	return 0;
}

/* ---- a worker busy with a task that only yields still reaps multishot completions ---- */

static volatile int stop_yielding;

static int yielder(void *arg)
{
	(void)arg;
	while (!stop_yielding)
		CHECK_OK(cr_yield());
	return 0;
}

static int main_busy_worker(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	cr_bufpool *pool;
	CHECK_OK(cr_bufpool_create(&pool, 4, 4096));
	cr_receiver *r;
	CHECK_OK(cr_receiver_open(&r, sv[0], pool, 0));
	CHECK_OK(cr_sleep(1000000)); /* the receive is in the kernel, and finds nothing yet */
	stop_yielding = 0;
	cr_task *busy;
	CHECK_OK(cr_spawn(&busy, yielder, NULL, NULL));
	CHECK_EQ_INT((int)write(sv[1], "y", 1), 1);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 2000000000ull));
	cr_chunk c;
	ssize_t n = cr_receiver_next(r, &c); /* the yielder is always ready meanwhile */
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	CHECK_EQ_INT((int)n, 1);
	cr_chunk_release(r, &c);
	stop_yielding = 1;
	CHECK_OK(cr_join(busy, NULL));
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_bufpool_destroy(pool));
	close(sv[0]);
	close(sv[1]);
	return 0;
}

int main(void)
{
	check_watchdog(60);
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 1;
	CHECK_EQ_INT(check_run(&cfg, main_busy_worker, NULL), 0);
	CHECK_EQ_INT(check_run(&cfg, main_receiver, NULL), 0);
	CHECK_EQ_INT(check_run(&cfg, main_acceptor, NULL), 0);
	printf("test_net_late_cancel: OK\n");
	return 0;
}
