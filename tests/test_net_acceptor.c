/* SPDX-License-Identifier: MIT */
/* Multishot accept: many connections, queue pause and resume, EMFILE without a busy loop, close. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_cases.h"

#define NCLI 100 /* connections of the many-connections test */
#define QMAX 8	 /* its queue limit */
#define QSLACK 8 /* fds the kernel may accept before the pause takes effect */
#define EMFILE_LIMIT 128
#define NEXIST 4  /* connections open before the fds run out */
#define NBURST 16 /* connections made while no fd is left */
#define EMFILE_ROUNDS 30
#define MAX_ENTERS 3000 /* io_uring_enter calls allowed in the EMFILE period */

/* ---- helpers ------------------------------------------------------------------------ */

/* Returns 1 if the acceptor has no fd queued (a deadline already passed
 * makes cr_acceptor_next fail at once instead of waiting); else takes the
 * queued fd, stores it in *fd and returns 0. */
static int queue_empty(cr_acceptor *a, int *fd)
{
	cr_deadline d;
	CHECK_OK(cr_deadline_enter(&d, cr_now_ns() - 1));
	int r = cr_acceptor_next(a);
	cr_deadline_exit(&d);
	if (r == -ETIMEDOUT)
		return 1;
	CHECK_OK(r);
	*fd = r;
	return 0;
}

static int cmp_int(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;
	return (a > b) - (a < b);
}

/* Echoes until EOF, then closes. */
static int echo_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[512];
	for (;;) {
		ssize_t n = cr_recv(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		CHECK_EQ_INT(cr_send_all(fd, buf, (size_t)n, NULL), n);
	}
	CHECK_OK(cr_close(fd));
	return 0;
}

/* One echo round trip on a client fd. */
static void echo_once(int fd, unsigned tag)
{
	char out[32], in[32];
	int n = snprintf(out, sizeof(out), "message %u", tag);
	CHECK_EQ_INT(cr_send_all(fd, out, (size_t)n, NULL), n);
	recv_exact(fd, in, (size_t)n);
	CHECK_EQ_MEM(in, out, (size_t)n);
}

/* ---- many connections, pause and resume ----------------------------------------------- */

static void test_many(void)
{
	int base = count_fds();
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, lfd, QMAX));
	static int cli[NCLI], srv[NCLI];
	for (int i = 0; i < NCLI; i++) {
		cli[i] = cr_connect(&addr);
		CHECK_OK(cli[i]);
		uint32_t id = (uint32_t)i;
		CHECK_EQ_INT(cr_send_all(cli[i], &id, 4, NULL), 4);
	}
	/* nobody takes them: the acceptor stops at its queue limit, the rest
	 * waits in the kernel's backlog */
	CHECK_OK(cr_sleep(20 * MS));
	int queued = count_fds() - base - 1 - NCLI;
	printf("many: %d of %d connections accepted and queued (queue_max %d)\n", queued, NCLI,
	       QMAX);
	CHECK_GE_INT(queued, QMAX / 2);
	CHECK_LE_INT(queued, QMAX + QSLACK);
	/* taking them resumes accepting; every connection arrives exactly once */
	static int seen[NCLI];
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < NCLI; i++) {
		srv[i] = cr_acceptor_next(a);
		CHECK_OK(srv[i]);
		uint32_t id;
		recv_exact(srv[i], &id, 4);
		CHECK_LT_INT(id, NCLI);
		CHECK_EQ_INT(seen[id], 0);
		seen[id] = 1;
		/* (once resumed, the accept may take the whole backlog at once: the
		 * backlog, not queue_max, bounds that, as net.h documents) */
	}
	static int sorted[NCLI];
	memcpy(sorted, srv, sizeof(sorted));
	qsort(sorted, NCLI, sizeof(int), cmp_int);
	for (int i = 1; i < NCLI; i++)
		CHECK_NE_INT(sorted[i], sorted[i - 1]);
	int fd;
	CHECK(queue_empty(a, &fd));
	CHECK_EQ_U64(cr_acceptor_errors(a), 0);
	for (int i = 0; i < NCLI; i++) {
		CHECK_OK(cr_close(cli[i]));
		CHECK_OK(cr_close(srv[i]));
	}
	CHECK_OK(cr_acceptor_close(a));
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- EMFILE ------------------------------------------------------------------------------ */

static void test_emfile(void)
{
	struct rlimit orig, low;
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &orig), 0);
	int base = count_fds();
	if (base + NEXIST * 2 + NBURST + 16 > EMFILE_LIMIT || orig.rlim_cur < EMFILE_LIMIT) {
		printf("emfile: %d fds open already, limit %llu: skipped\n", base,
		       (unsigned long long)orig.rlim_cur);
		return;
	}
	low = orig;
	low.rlim_cur = EMFILE_LIMIT;
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);

	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, lfd, 0));
	int cli[NEXIST];
	cr_task *echo[NEXIST + NBURST];
	for (int i = 0; i < NEXIST; i++) {
		cli[i] = cr_connect(&addr);
		CHECK_OK(cli[i]);
		int s = cr_acceptor_next(a);
		CHECK_OK(s);
		CHECK_OK(cr_spawn(&echo[i], echo_task, (void *)(intptr_t)s, NULL));
		echo_once(cli[i], (unsigned)i);
	}
	/* sockets for the burst, made while fds remain */
	int burst[NBURST];
	for (int i = 0; i < NBURST; i++) {
		burst[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK_GE_INT(burst[i], 0);
	}
	/* use up every fd left */
	static int filler[EMFILE_LIMIT];
	int nfill = 0;
	for (;;) {
		int fd = dup(lfd);
		if (fd < 0) {
			CHECK_EQ_INT(errno, EMFILE);
			break;
		}
		CHECK_LT_INT(nfill, EMFILE_LIMIT);
		filler[nfill++] = fd;
	}

	cr_stats s0, s1;
	CHECK_OK(cr_stats_get(&s0));
	uint64_t err0 = cr_acceptor_errors(a);
	/* a burst of connections the server cannot accept now */
	for (int i = 0; i < NBURST; i++)
		CHECK_EQ_INT(connect(burst[i], &addr.u.sa, addr.len), 0);
	/* ~300 ms: the existing connections keep echoing, the acceptor fails
	 * and backs off instead of spinning */
	for (int r = 0; r < EMFILE_ROUNDS; r++) {
		for (int i = 0; i < NEXIST; i++)
			echo_once(cli[i], (unsigned)(r * NEXIST + i));
		CHECK_OK(cr_sleep(10 * MS));
	}
	CHECK_OK(cr_stats_get(&s1));
	uint64_t errs = cr_acceptor_errors(a) - err0;
	uint64_t enters = s1.enter_calls - s0.enter_calls;
	int fd;
	int empty = queue_empty(a, &fd);
	/* give the fds back before checking, so that a failure can report */
	for (int i = 0; i < nfill; i++)
		close(filler[i]);
	printf("emfile: %d fillers, %llu accept errors, %llu io_uring_enter calls in the period\n",
	       nfill, (unsigned long long)errs, (unsigned long long)enters);
	CHECK_MSG(empty, "an fd was accepted with none left: %d", empty ? -1 : fd);
	CHECK_GT_U64(errs, 0);
	CHECK_LT_U64(enters, MAX_ENTERS);

	/* fds are free again: the pending connections are accepted and served */
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &orig), 0);
	for (int i = 0; i < NBURST; i++) {
		cr_deadline d;
		CHECK_OK(cr_timeout_enter(&d, 10000 * MS));
		int s = cr_acceptor_next(a);
		CHECK_EQ_INT(cr_deadline_exit(&d), 0);
		CHECK_OK(s);
		CHECK_OK(cr_spawn(&echo[NEXIST + i], echo_task, (void *)(intptr_t)s, NULL));
	}
	for (int i = 0; i < NBURST; i++)
		echo_once(burst[i], 1000u + (unsigned)i);
	for (int i = 0; i < NEXIST; i++)
		echo_once(cli[i], 2000u + (unsigned)i);
	for (int i = 0; i < NEXIST; i++)
		CHECK_OK(cr_close(cli[i]));
	for (int i = 0; i < NBURST; i++)
		CHECK_OK(cr_close(burst[i]));
	CHECK_OK(cr_gather(echo, NEXIST + NBURST, NULL));
	CHECK_OK(cr_acceptor_close(a));
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- close with fds queued --------------------------------------------------------------- */

static void close_queued(unsigned queue_max, int nconn)
{
	int base = count_fds();
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, lfd, queue_max));
	int cli[16];
	CHECK_LE_INT(nconn, 16);
	for (int i = 0; i < nconn; i++) {
		cli[i] = cr_connect(&addr);
		CHECK_OK(cli[i]);
	}
	int want = nconn < (int)queue_max ? nconn : (int)queue_max;
	CHECK_WAIT_UNTIL(count_fds() - base - 1 - nconn >= want, "accepted fds queued");
	CHECK_OK(cr_acceptor_close(a));
	/* the queued fds are closed: only the clients and the listener remain */
	CHECK_EQ_INT(count_fds(), base + 1 + nconn);
	/* connections that were accepted see their end; the others stay in the
	 * backlog and are still accepted by a new acceptor */
	int ended = 0;
	for (int i = 0; i < nconn; i++) {
		char b;
		cr_deadline d;
		CHECK_OK(cr_timeout_enter(&d, 50 * MS));
		ssize_t n = cr_recv(cli[i], &b, 1);
		cr_deadline_exit(&d);
		CHECK(n == 0 || n == -ECONNRESET || n == -ETIMEDOUT);
		if (n != -ETIMEDOUT)
			ended++;
	}
	CHECK_GE_INT(ended, want);
	CHECK_OK(cr_acceptor_open(&a, lfd, 0));
	for (int i = 0; i < nconn - ended; i++) {
		int s = cr_acceptor_next(a);
		CHECK_OK(s);
		CHECK_OK(cr_close(s));
	}
	CHECK_OK(cr_acceptor_close(a));
	for (int i = 0; i < nconn; i++)
		CHECK_OK(cr_close(cli[i]));
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

/* Connects to addr with a blocking connect (the loop does not run meanwhile).
 * Returns the client fd (fails the test on an error). */
static int connect_now(const cr_addr *addr)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_GE_INT(c, 0);
	CHECK_EQ_INT(connect(c, &addr->u.sa, addr->len), 0);
	return c;
}

/* After an acceptor closed: client c's connection was either closed by the
 * acceptor (c sees its end) or still waits in lfd's backlog (then it is
 * accepted and closed here).  Closes c.  Returns 1 in the first case, else 0. */
static int ended_or_accepted(int c, int lfd)
{
	char b;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	ssize_t n = cr_recv(c, &b, 1);
	cr_deadline_exit(&d);
	if (n == -ETIMEDOUT) {
		int s = cr_accept(lfd, NULL);
		CHECK_OK(s);
		CHECK_OK(cr_close(s));
	} else {
		CHECK(n == 0 || n == -ECONNRESET);
	}
	CHECK_OK(cr_close(c));
	return n != -ETIMEDOUT;
}

/* Closes acceptors just as connections arrive: an fd the kernel accepted
 * for a cancelled multishot is closed, never leaked. */
static void close_race(void)
{
	int base = count_fds();
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	int taken = 0, closed = 0;
	for (int i = 0; i < 100; i++) {
		cr_acceptor *a;
		CHECK_OK(cr_acceptor_open(&a, lfd, 0));
		for (int k = 0; k < i % 3; k++)
			CHECK_OK(cr_yield());
		int c = connect_now(&addr);
		if (i % 4 == 1)
			CHECK_OK(cr_yield());
		CHECK_OK(cr_acceptor_close(a));
		CHECK_EQ_INT(count_fds(), base + 2);
		if (ended_or_accepted(c, lfd))
			closed++;
		else
			taken++;
	}
	printf("close race: %d connections closed with their acceptor, %d left in the backlog\n",
	       closed, taken);
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

static void test_close(void)
{
	close_queued(64, 10); /* all accepted and queued, the accept still armed */
	close_queued(4, 12);  /* paused at its limit */
	close_race();
	/* closing an idle acceptor, and a NULL one */
	int base = count_fds();
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, lfd, 0));
	CHECK_OK(cr_acceptor_close(a));
	CHECK_EQ_INT(cr_acceptor_close(NULL), 0);
	/* the listener is still usable */
	int c = cr_connect(&addr);
	CHECK_OK(c);
	int s = cr_accept(lfd, NULL);
	CHECK_OK(s);
	CHECK_OK(cr_close(c));
	CHECK_OK(cr_close(s));
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- cancellation and deadlines ------------------------------------------------------------ */

static int next_task(void *arg)
{
	return cr_acceptor_next(arg);
}

static void test_cancel(void)
{
	int base = count_fds();
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, lfd, 0));
	cr_task *t = spawn_waiting(next_task, a);
	CHECK_EQ_INT(cr_task_done(t), 0);
	CHECK_OK(cr_cancel(t));
	int r;
	CHECK_OK(cr_join(t, &r));
	CHECK_EQ_INT(r, -ECANCELED);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 10 * MS));
	CHECK_EQ_INT(cr_acceptor_next(a), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	/* still accepting */
	int c = cr_connect(&addr);
	CHECK_OK(c);
	int s = cr_acceptor_next(a);
	CHECK_OK(s);
	CHECK_EQ_INT(cr_send(c, "hi", 2), 2);
	char b[2];
	recv_exact(s, b, 2);
	CHECK_EQ_MEM(b, "hi", 2);
	CHECK_OK(cr_close(c));
	CHECK_OK(cr_close(s));
	CHECK_OK(cr_acceptor_close(a));
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(cr_acceptor_next(NULL), -EINVAL);
	CHECK_EQ_INT(cr_acceptor_open(&a, -1, 0), -EINVAL);
	CHECK_EQ_INT(count_fds(), base);
}

/* cr_acceptor_close while another task waits in cr_acceptor_next (a server
 * stopping its accept loop from a signal task): the waiter must get an
 * error, not sleep forever on freed memory. */
static void test_close_with_waiter(void)
{
	int base = count_fds();
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, lfd, 0));
	cr_task *t = spawn_waiting(next_task, a);
	CHECK_OK(cr_acceptor_close(a));
	int r = 0;
	int j = join_within(t, 5000 * MS, &r);
	CHECK_MSG(j == 0, "a task in cr_acceptor_next was not woken by cr_acceptor_close");
	CHECK_MSG(r == -EBADF, "cr_acceptor_next on a closed acceptor returned %d", r);
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

/* cr_acceptor_close just after a connection woke the task waiting in
 * cr_acceptor_next, before that task ran: it gets -EBADF (or the fd, if it
 * ran first), and the queued fd is closed, not leaked. */
static void test_close_woken_waiter(void)
{
	int base = count_fds();
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	int ebadf = 0, taken = 0;
	for (int i = 0; i < 20; i++) {
		cr_acceptor *a;
		CHECK_OK(cr_acceptor_open(&a, lfd, 0));
		cr_task *t = spawn_waiting(next_task, a);
		int c = connect_now(&addr);
		/* The nop completes before the accept's completion is posted,
		 * so this task runs again before the woken one does. */
		CHECK_OK(cr_nop());
		CHECK_OK(cr_acceptor_close(a));
		int r = 0;
		CHECK_OK(cr_join(t, &r));
		CHECK_MSG(r == -EBADF || r >= 0, "cr_acceptor_next returned %d", r);
		CHECK_EQ_INT(count_fds(), base + 2 + (r >= 0)); /* no queued fd left open */
		if (r >= 0) {
			taken++;
			CHECK_OK(cr_close(r));
		} else {
			ebadf++;
		}
		ended_or_accepted(c, lfd); /* closed by whoever had it, or still waiting */
		CHECK_EQ_INT(count_fds(), base + 1);
	}
	printf("close with a woken waiter: %d waiters got -EBADF, %d the fd\n", ebadf, taken);
	CHECK_OK(cr_close(lfd));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- a listening socket that cannot accept ------------------------------------------------ */

/* An acceptor on a socket that is not listening: the error comes out of
 * cr_acceptor_next and stays, without re-arming in a loop. */
static void test_lasting_error(void)
{
	int base = count_fds();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_GE_INT(fd, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, fd, 0));
	CHECK_EQ_INT(cr_acceptor_next(a), -EINVAL);
	cr_stats s0;
	CHECK_OK(cr_stats_get(&s0));
	CHECK_OK(cr_sleep(5 * MS));
	cr_stats s1;
	CHECK_OK(cr_stats_get(&s1));
	CHECK_LE_U64(s1.sqes_submitted - s0.sqes_submitted, 2); /* the sleep's own, not re-arms */
	CHECK_EQ_INT(cr_acceptor_next(a), -EINVAL);
	CHECK_EQ_U64(cr_acceptor_errors(a), 0);
	CHECK_OK(cr_acceptor_close(a));
	CHECK_OK(cr_close(fd));
	CHECK_EQ_INT(count_fds(), base);
}

static int main_task(void *arg)
{
	(void)arg;
	int base = count_fds();
	test_many();
	test_close();
	test_cancel();
	test_emfile();
	test_close_with_waiter();
	test_close_woken_waiter();
	test_lasting_error();
	CHECK_EQ_INT(count_fds(), base);
	return 0;
}

/* ---- an acceptor belongs to its worker ------------------------------------------------------ */

static int other_worker_task(void *arg)
{
	CHECK_EQ_INT(cr_acceptor_next(arg), -EXDEV);
	CHECK_EQ_INT(cr_acceptor_close(arg), -EXDEV);
	return 0;
}

static int main_xdev(void *arg)
{
	(void)arg;
	cr_addr addr;
	int lfd = listen_loop(&addr, 0);
	cr_acceptor *a;
	CHECK_OK(cr_acceptor_open(&a, lfd, 0));
	cr_task *t;
	cr_spawn_opts o = {.placement = CR_ON_WORKER, .worker = 1};
	CHECK_OK(cr_spawn(&t, other_worker_task, a, &o));
	int r;
	CHECK_OK(cr_join(t, &r));
	CHECK_EQ_INT(r, 0);
	CHECK_OK(cr_acceptor_close(a));
	CHECK_OK(cr_close(lfd));
	return 0;
}

int main(void)
{
	check_watchdog(90);
	cr_acceptor *a;
	CHECK_EQ_INT(cr_acceptor_open(&a, 3, 0), -EPERM); /* outside a task */
	run_main(2, main_xdev);
	run_main(1, main_task);
	printf("ok\n");
	return 0;
}
