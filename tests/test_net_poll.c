/* SPDX-License-Identifier: MIT */
/* Readiness waits: cr_poll_fd and cr_poller on pipes, socket pairs, TCP and files; cancel,
 * deadlines, bad input. */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_cases.h"

#define NCONC 100	 /* socket pairs polled at once */
#define NSAME 50	 /* tasks polling one fd at once */
#define NWRITES 3000	 /* writes the multishot reader must see all of */
#define NROUNDS_PP 20000 /* ping-pong round trips per mode */
#define ALL_EV (POLLIN | POLLOUT | POLLPRI | POLLRDHUP | POLLERR | POLLHUP)

/* ---- helpers ------------------------------------------------------------------------ */

/* A non-blocking AF_UNIX stream pair.  Returns nothing (fails the test on an error). */
static void unix_pair(int sv[2])
{
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
}

/* Returns how many IORING_OP_POLL_ADD requests the process's rings hold in the kernel
 * (their fdinfo's PollList), or -1 if this kernel does not list them. */
static int kernel_polls(void)
{
	int total = -1;
	for (int fd = 0; fd < 1024; fd++) {
		char path[64], link[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, "anon_inode:[io_uring]") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		FILE *f = fopen(path, "r");
		CHECK(f != NULL);
		char line[256];
		int in_list = 0;
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "PollList:", 9) == 0) {
				in_list = 1;
				if (total < 0)
					total = 0;
			} else if (in_list && strncmp(line, "  op=", 5) == 0) {
				total += atoi(line + 5) == IORING_OP_POLL_ADD;
			} else {
				in_list = 0;
			}
		}
		fclose(f);
	}
	return total;
}

/* Fails the test unless the kernel holds `want` polls (when it lists them). */
static void check_kernel_polls(int want)
{
	int n = kernel_polls();
	if (n >= 0)
		CHECK_EQ_INT(n, want);
}

/* A wait of one task: cr_poll_fd(fd, events), its result kept. */
typedef struct poll_job {
	int fd;		 /* polled fd */
	unsigned events; /* asked for */
	int res;	 /* what cr_poll_fd returned */
	int done;	 /* 1 once it returned */
} poll_job;

static int poll_task(void *arg)
{
	poll_job *j = arg;
	j->res = cr_poll_fd(j->fd, j->events);
	j->done = 1;
	return j->res;
}

/* ---- cr_poll_fd --------------------------------------------------------------------- */

/* Bad input, outside a task and inside. */
static void bad_input(void)
{
	int sv[2], p[2];
	unix_pair(sv);
	CHECK_EQ_INT(cr_poll_fd(-1, POLLIN), -EBADF);
	CHECK_EQ_INT(cr_poll_fd(sv[0], 0), -EINVAL);
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLERR | POLLHUP), -EINVAL); /* nothing to wait for */
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLIN | 0x100000u), -EINVAL);
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLNVAL), -EINVAL);
	CHECK_OK(pipe2(p, O_CLOEXEC));
	close(p[0]);
	close(p[1]);
	CHECK_EQ_INT(cr_poll_fd(p[0], POLLIN), -EBADF);	 /* closed */
	CHECK_EQ_INT(cr_poll_fd(1000, POLLOUT), -EBADF); /* never opened */

	cr_poller *pl = (cr_poller *)&pl;
	CHECK_EQ_INT(cr_poller_open(NULL, sv[0], POLLIN), -EINVAL);
	CHECK_EQ_INT(cr_poller_open(&pl, -1, POLLIN), -EBADF);
	CHECK_EQ_INT(cr_poller_open(&pl, p[0], POLLIN), -EBADF);
	CHECK_EQ_INT(cr_poller_open(&pl, sv[0], 0), -EINVAL);
	CHECK_EQ_INT(cr_poller_open(&pl, sv[0], POLLIN | 0x100000u), -EINVAL);
	CHECK_EQ_PTR(pl, &pl); /* untouched on failure */
	CHECK_EQ_INT(cr_poller_wait(NULL), -EINVAL);
	CHECK_EQ_INT(cr_poller_close(NULL), 0);
	close(sv[0]);
	close(sv[1]);
	check_kernel_polls(0);
}

/* Readiness that is there at once, and readiness that comes later. */
static void readiness(void)
{
	int sv[2];
	unix_pair(sv);
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLOUT), POLLOUT);
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLIN | POLLOUT), POLLOUT);
	CHECK_EQ_INT(write(sv[1], "x", 1), 1);
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLIN), POLLIN);
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLIN | POLLOUT), POLLIN | POLLOUT);
	char c;
	CHECK_EQ_INT(read(sv[0], &c, 1), 1);

	/* Not ready: the task waits until the peer writes. */
	poll_job j = {sv[0], POLLIN, 0, 0};
	cr_task *t = spawn_waiting(poll_task, &j);
	CHECK_OK(cr_sleep(5 * MS));
	CHECK_EQ_INT(j.done, 0);
	check_kernel_polls(1);
	CHECK_EQ_INT(write(sv[1], "y", 1), 1);
	int res;
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_EQ_INT(res, POLLIN);
	check_kernel_polls(0);
	CHECK_EQ_INT(read(sv[0], &c, 1), 1);
	CHECK_EQ_INT(c, 'y');

	/* Not writable: fill the socket, then let the peer drain it. */
	static char big[65536];
	while (write(sv[0], big, sizeof(big)) > 0)
		;
	CHECK_EQ_INT(errno, EAGAIN);
	poll_job w = {sv[0], POLLOUT, 0, 0};
	t = spawn_waiting(poll_task, &w);
	CHECK_OK(cr_sleep(5 * MS));
	CHECK_EQ_INT(w.done, 0);
	while (read(sv[1], big, sizeof(big)) > 0)
		;
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_EQ_INT(res, POLLOUT);
	close(sv[0]);
	close(sv[1]);
}

/* Hang-ups: a closed pipe end (while waiting and before), a peer's close and half-close. */
static void hangups(void)
{
	int p[2];
	CHECK_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	poll_job j = {p[0], POLLIN, 0, 0};
	cr_task *t = spawn_waiting(poll_task, &j);
	close(p[1]);
	int res;
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_EQ_INT(res, POLLHUP);
	CHECK_EQ_INT(cr_poll_fd(p[0], POLLIN), POLLHUP);
	close(p[0]);

	CHECK_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	close(p[0]);
	CHECK_EQ_INT(cr_poll_fd(p[1], POLLOUT), POLLOUT | POLLERR);
	close(p[1]);

	int sv[2];
	unix_pair(sv);
	close(sv[1]);
	res = cr_poll_fd(sv[0], POLLIN);
	CHECK_MSG(res & POLLHUP, "peer closed: revents 0x%x without POLLHUP", (unsigned)res);
	CHECK_MSG(res & POLLIN, "peer closed: revents 0x%x without POLLIN (EOF)", (unsigned)res);
	close(sv[0]);

	/* TCP: the peer's half-close is POLLRDHUP (and POLLIN: EOF); urgent data is POLLPRI. */
	int cli, srv;
	tcp_pair(&cli, &srv);
	CHECK_EQ_INT(send(cli, "!", 1, MSG_OOB), 1);
	res = cr_poll_fd(srv, POLLPRI);
	CHECK_EQ_INT(res, POLLPRI);
	poll_job h = {srv, POLLRDHUP, 0, 0};
	t = spawn_waiting(poll_task, &h);
	CHECK_EQ_INT(h.done, 0);
	CHECK_OK(cr_shutdown(cli, SHUT_WR));
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_EQ_INT(res, POLLRDHUP);
	res = cr_poll_fd(srv, POLLIN | POLLRDHUP);
	CHECK_EQ_INT(res, POLLIN | POLLRDHUP);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
}

/* A regular file and /dev/null cannot wait: always ready. */
static void always_ready(void)
{
	char path[] = "/tmp/coring-poll-XXXXXX";
	int fd = mkstemp(path);
	CHECK_OK(fd);
	unlink(path);
	CHECK_EQ_INT(cr_poll_fd(fd, POLLIN), POLLIN);
	CHECK_EQ_INT(cr_poll_fd(fd, POLLIN | POLLOUT), POLLIN | POLLOUT);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK_OK(null);
	CHECK_EQ_INT(cr_poll_fd(null, POLLOUT), POLLOUT);

	/* A poller on it reports every time, and does not spin while nobody takes. */
	cr_poller *p;
	CHECK_OK(cr_poller_open(&p, fd, POLLIN));
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_poller_wait(p), POLLIN);
	cr_stats s0, s1;
	CHECK_OK(cr_stats_get(&s0));
	CHECK_OK(cr_sleep(20 * MS));
	CHECK_OK(cr_stats_get(&s1));
	CHECK_MSG(s1.sqes_submitted - s0.sqes_submitted < 10,
		  "an idle poller on a file submitted %llu SQEs in 20 ms",
		  (unsigned long long)(s1.sqes_submitted - s0.sqes_submitted));
	CHECK_EQ_INT(cr_poller_wait(p), POLLIN);
	CHECK_OK(cr_poller_close(p));
	close(fd);
	close(null);
}

/* Cancellation and a deadline while waiting: the kernel poll is cancelled and its
 * completion awaited; the fd can be polled again. */
static void cancel_and_deadline(void)
{
	int sv[2];
	unix_pair(sv);
	for (int round = 0; round < 20; round++) {
		poll_job j = {sv[0], POLLIN, 0, 0};
		cr_task *t = spawn_waiting(poll_task, &j);
		check_kernel_polls(1);
		CHECK_OK(cr_cancel(t));
		int res;
		CHECK_OK(join_within(t, 5000 * MS, &res));
		CHECK_EQ_INT(res, -ECANCELED);
		check_kernel_polls(0); /* gone from the kernel, not leaked */
	}

	cr_deadline d;
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLIN), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	uint64_t took = cr_now_ns() - t0;
	CHECK_GE_U64(took, 20 * MS);
	CHECK_LT_U64(took, 5000 * MS);
	check_kernel_polls(0);

	/* A deadline already passed: nothing is registered. */
	CHECK_OK(cr_deadline_enter(&d, cr_now_ns() - 1));
	CHECK_EQ_INT(cr_poll_fd(sv[0], POLLOUT), -ETIMEDOUT);
	cr_deadline_exit(&d);

	/* Another task's cr_close of the fd ends the poll as it ends a cr_recv. */
	int sv2[2];
	unix_pair(sv2);
	poll_job c = {sv2[0], POLLIN, 0, 0};
	cr_task *tc = spawn_waiting(poll_task, &c);
	CHECK_OK(cr_close(sv2[0]));
	int rc;
	CHECK_OK(join_within(tc, 5000 * MS, &rc));
	CHECK_EQ_INT(rc, -ECANCELED);
	close(sv2[1]);
	check_kernel_polls(0);

	/* The same fd polls fine afterwards. */
	poll_job j = {sv[0], POLLIN, 0, 0};
	cr_task *t = spawn_waiting(poll_task, &j);
	CHECK_EQ_INT(write(sv[1], "z", 1), 1);
	int res;
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_EQ_INT(res, POLLIN);
	close(sv[0]);
	close(sv[1]);
}

/* Many polls at once: NCONC pairs woken in a scrambled order, and NSAME tasks on one fd. */
static void many(void)
{
	static int sv[NCONC][2];
	static poll_job j[NCONC];
	static cr_task *t[NCONC];
	for (int i = 0; i < NCONC; i++) {
		unix_pair(sv[i]);
		j[i] = (poll_job){sv[i][0], POLLIN, 0, 0};
		CHECK_OK(cr_spawn(&t[i], poll_task, &j[i], NULL));
	}
	CHECK_OK(cr_sleep(5 * MS));
	check_kernel_polls(NCONC);
	for (int k = 0; k < NCONC; k++) {
		int i = (int)(mix((uint32_t)k) % NCONC);
		while (j[i].done || sv[i][1] < 0)
			i = (i + 1) % NCONC;
		char c = (char)i;
		CHECK_EQ_INT(write(sv[i][1], &c, 1), 1);
		close(sv[i][1]);
		sv[i][1] = -1;
		if (k % 10 == 0)
			CHECK_OK(cr_yield());
	}
	for (int i = 0; i < NCONC; i++) {
		int res;
		CHECK_OK(join_within(t[i], 5000 * MS, &res));
		CHECK_MSG(res & POLLIN, "pair %d: revents 0x%x", i, (unsigned)res);
		char c;
		CHECK_EQ_INT(read(sv[i][0], &c, 1), 1);
		CHECK_EQ_INT(c, (char)i);
		close(sv[i][0]);
	}

	int p[2];
	CHECK_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	static poll_job s[NSAME];
	for (int i = 0; i < NSAME; i++) {
		s[i] = (poll_job){p[0], POLLIN, 0, 0};
		CHECK_OK(cr_spawn(&t[i], poll_task, &s[i], NULL));
	}
	CHECK_OK(cr_sleep(5 * MS));
	CHECK_EQ_INT(write(p[1], "w", 1), 1);
	for (int i = 0; i < NSAME; i++) {
		int res;
		CHECK_OK(join_within(t[i], 5000 * MS, &res));
		CHECK_EQ_INT(res, POLLIN);
	}
	close(p[0]);
	close(p[1]);
	check_kernel_polls(0);
}

/* ---- cr_poller ----------------------------------------------------------------------- */

/* Writes NWRITES pieces of the pattern stream with ring sends, yielding now and then. */
typedef struct writer_job {
	int fd;	      /* where */
	size_t total; /* bytes written in all */
} writer_job;

static int writer_task(void *arg)
{
	writer_job *w = arg;
	static uint8_t buf[4096];
	size_t off = 0;
	for (uint32_t i = 0; i < NWRITES; i++) {
		size_t n = 1 + mix(i) % 3000;
		fill_pattern(buf, 7, off, n);
		CHECK_EQ_INT(cr_send_all(w->fd, buf, n, NULL), (ssize_t)n);
		off += n;
		if (mix(i + 1000) % 4 == 0)
			CHECK_OK(cr_yield());
		if (mix(i + 2000) % 64 == 0)
			CHECK_OK(cr_sleep(MS / 4));
	}
	w->total = off;
	return 0;
}

/* Reads until EAGAIN, then waits on the poller, until `expect` bytes are in; checks every
 * byte.  Returns the number of cr_poller_wait calls. */
static size_t drain_with_poller(int fd, cr_poller *p, size_t expect)
{
	static uint8_t buf[8192];
	size_t got = 0, waits = 0;
	while (got < expect) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			check_pattern(buf, (size_t)n, 7, got, "poller stream");
			got += (size_t)n;
			continue;
		}
		CHECK_MSG(n < 0 && errno == EAGAIN, "read: %zd (%s) after %zu bytes", n,
			  strerror(errno), got);
		int ev = cr_poller_wait(p);
		CHECK_MSG(ev > 0 && (ev & POLLIN), "cr_poller_wait: %d after %zu bytes", ev, got);
		waits++;
	}
	return waits;
}

/* No lost wake-up: every byte of NWRITES writes arrives through poller waits, with the
 * writer on this worker and then on another one. */
static void poller_stream(void)
{
	size_t expect = 0;
	for (uint32_t i = 0; i < NWRITES; i++)
		expect += 1 + mix(i) % 3000;
	for (unsigned where = 0; where < cr_worker_count() && where < 2; where++) {
		int sv[2];
		unix_pair(sv);
		cr_poller *p;
		CHECK_OK(cr_poller_open(&p, sv[0], POLLIN));
		writer_job w = {sv[1], 0};
		cr_spawn_opts o = {.placement = CR_ON_WORKER, .worker = where};
		cr_task *t;
		CHECK_OK(cr_spawn(&t, writer_task, &w, &o));
		size_t waits = drain_with_poller(sv[0], p, expect);
		CHECK_OK(join_within(t, 30000 * MS, NULL));
		CHECK_EQ_U64(w.total, expect);
		printf("poller stream (writer on worker %u): %zu bytes in %d writes, %zu waits\n",
		       where, expect, NWRITES, waits);
		char c;
		CHECK_EQ_INT(read(sv[0], &c, 1), -1); /* nothing more */
		CHECK_OK(cr_poller_close(p));
		close(sv[0]);
		close(sv[1]);
	}
	check_kernel_polls(0);
}

/* A poller waiting in a task. */
typedef struct poller_job {
	cr_poller *p; /* waited on */
	int res;      /* what cr_poller_wait returned */
} poller_job;

static int poller_task(void *arg)
{
	poller_job *j = arg;
	j->res = cr_poller_wait(j->p);
	return j->res;
}

/* Deadline, cancellation, close while waiting; the fd closed under the poller. */
static void poller_interrupts(void)
{
	int sv[2];
	unix_pair(sv);
	cr_poller *p;
	CHECK_OK(cr_poller_open(&p, sv[0], POLLIN));
	CHECK_OK(cr_yield());
	check_kernel_polls(1);

	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 10 * MS));
	CHECK_EQ_INT(cr_poller_wait(p), -ETIMEDOUT);
	cr_deadline_exit(&d);
	check_kernel_polls(1); /* still armed */
	CHECK_EQ_INT(write(sv[1], "a", 1), 1);
	CHECK_EQ_INT(cr_poller_wait(p), POLLIN); /* nothing lost */

	poller_job j = {p, 0};
	cr_task *t = spawn_waiting(poller_task, &j);
	CHECK_EQ_INT(cr_poller_wait(p), -EBUSY); /* one waiter at a time */
	CHECK_OK(cr_cancel(t));
	int res;
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_EQ_INT(res, -ECANCELED);

	/* Readiness that came while nobody waited is pending: taken at once. */
	CHECK_EQ_INT(write(sv[1], "b", 1), 1);
	CHECK_OK(cr_sleep(2 * MS));
	CHECK_EQ_INT(cr_poller_wait(p), POLLIN);

	/* Closed while a task waits: the task gets -EBADF, the poll leaves the kernel. */
	char buf[4];
	CHECK_EQ_INT(read(sv[0], buf, sizeof(buf)), 2);
	j.res = 0;
	t = spawn_waiting(poller_task, &j);
	CHECK_OK(cr_poller_close(p));
	CHECK_OK(join_within(t, 5000 * MS, &res));
	CHECK_EQ_INT(res, -EBADF);
	check_kernel_polls(0);

	/* cr_close of the fd cancels the poll; the poller is not re-armed and says -EBADF. */
	CHECK_OK(cr_poller_open(&p, sv[0], POLLIN));
	CHECK_OK(cr_yield());
	check_kernel_polls(1);
	CHECK_OK(cr_close(sv[0]));
	CHECK_EQ_INT(cr_poller_wait(p), -EBADF);
	CHECK_EQ_INT(cr_poller_wait(p), -EBADF); /* lasting */
	check_kernel_polls(0);
	CHECK_OK(cr_poller_close(p));
	close(sv[1]);

	/* A peer's close: POLLHUP reported. */
	unix_pair(sv);
	CHECK_OK(cr_poller_open(&p, sv[0], POLLIN));
	close(sv[1]);
	res = cr_poller_wait(p);
	CHECK_MSG(res & POLLHUP, "poller: revents 0x%x without POLLHUP", (unsigned)res);
	CHECK_OK(cr_poller_close(p));
	close(sv[0]);
}

/* Calls on a poller from another worker. */
static int foreign_task(void *arg)
{
	cr_poller *p = arg;
	CHECK_EQ_INT(cr_poller_wait(p), -EXDEV);
	CHECK_EQ_INT(cr_poller_close(p), -EXDEV);
	return 0;
}

static void poller_foreign(void)
{
	if (cr_worker_count() < 2)
		return;
	int sv[2];
	unix_pair(sv);
	cr_poller *p;
	CHECK_OK(cr_poller_open(&p, sv[0], POLLOUT));
	cr_spawn_opts o = {.placement = CR_ON_WORKER, .worker = 1};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, foreign_task, p, &o));
	CHECK_OK(join_within(t, 5000 * MS, NULL));
	CHECK_EQ_INT(cr_poller_wait(p), POLLOUT);
	CHECK_OK(cr_poller_close(p));
	close(sv[0]);
	close(sv[1]);
}

/* ---- ping-pong: one-shot against multishot ------------------------------------------- */

/* One side of a ping-pong: its fd, the mode, its poller. */
typedef struct pp_side {
	int fd;	       /* its end of the pair */
	int multishot; /* 1 = wait on a cr_poller, 0 = cr_poll_fd */
	cr_poller *p;  /* its poller (multishot) */
} pp_side;

/* Reads one byte, waiting for it as the side's mode says.  Returns the byte. */
static uint8_t pp_read(pp_side *s)
{
	uint8_t c;
	for (;;) {
		ssize_t n = read(s->fd, &c, 1);
		if (n == 1)
			return c;
		CHECK_MSG(n < 0 && errno == EAGAIN, "ping-pong read: %zd", n);
		int ev = s->multishot ? cr_poller_wait(s->p) : cr_poll_fd(s->fd, POLLIN);
		CHECK_MSG(ev & POLLIN, "ping-pong wait: %d", ev);
	}
}

static int pong_task(void *arg)
{
	pp_side *s = arg;
	for (int i = 0; i < NROUNDS_PP; i++) {
		uint8_t c = pp_read(s);
		CHECK_EQ_INT(c, (uint8_t)i);
		c++;
		CHECK_EQ_INT(write(s->fd, &c, 1), 1);
	}
	return 0;
}

/* Runs NROUNDS_PP round trips in one mode; *sqes gets the SQEs submitted per round trip.
 * Returns the round trips per second. */
static double ping_pong(int multishot, double *sqes)
{
	int sv[2];
	unix_pair(sv);
	pp_side ping = {sv[0], multishot, NULL}, pong = {sv[1], multishot, NULL};
	if (multishot) {
		CHECK_OK(cr_poller_open(&ping.p, ping.fd, POLLIN));
		CHECK_OK(cr_poller_open(&pong.p, pong.fd, POLLIN));
	}
	cr_task *t;
	CHECK_OK(cr_spawn(&t, pong_task, &pong, NULL));
	cr_stats s0, s1;
	CHECK_OK(cr_stats_get(&s0));
	uint64_t t0 = cr_now_ns();
	for (int i = 0; i < NROUNDS_PP; i++) {
		uint8_t c = (uint8_t)i;
		CHECK_EQ_INT(write(ping.fd, &c, 1), 1);
		CHECK_EQ_INT(pp_read(&ping), (uint8_t)(i + 1));
	}
	uint64_t ns = cr_now_ns() - t0;
	CHECK_OK(cr_stats_get(&s1));
	*sqes = (double)(s1.sqes_submitted - s0.sqes_submitted) / NROUNDS_PP;
	CHECK_OK(join_within(t, 5000 * MS, NULL));
	if (multishot) {
		CHECK_OK(cr_poller_close(ping.p));
		CHECK_OK(cr_poller_close(pong.p));
	}
	close(sv[0]);
	close(sv[1]);
	return NROUNDS_PP * 1e9 / (double)ns;
}

/* Both modes, best of three (the machine may be shared).  The poller must not submit an
 * SQE per wait; the speed is printed, not judged. */
static void ping_pong_both(void)
{
	double one = 0, multi = 0, one_sqes = 0, multi_sqes = 0;
	for (int rep = 0; rep < 3; rep++) {
		double a = ping_pong(0, &one_sqes), b = ping_pong(1, &multi_sqes);
		one = a > one ? a : one;
		multi = b > multi ? b : multi;
		CHECK_MSG(one_sqes >= 1.0, "one-shot: %.3f SQEs per round trip", one_sqes);
		CHECK_MSG(multi_sqes < 0.1, "multishot: %.3f SQEs per round trip", multi_sqes);
	}
	printf("ping-pong over a socket pair, poll + read/write: one-shot cr_poll_fd %.0f round "
	       "trips/s (%.2f SQEs each), multishot cr_poller %.0f round trips/s (%.3f SQEs "
	       "each): %.2fx\n",
	       one, one_sqes, multi, multi_sqes, multi / one);
}

/* ---- main ------------------------------------------------------------------------------ */

static int main_task(void *arg)
{
	(void)arg;
	bad_input();
	readiness();
	hangups();
	always_ready();
	cancel_and_deadline();
	many();
	poller_stream();
	poller_interrupts();
	poller_foreign();
	ping_pong_both();
	check_kernel_polls(0);
	return 0;
}

int main(void)
{
	check_watchdog(100);
	cr_poller *p = NULL;
	CHECK_EQ_INT(cr_poll_fd(0, POLLIN), -EPERM); /* outside a task */
	CHECK_EQ_INT(cr_poller_open(&p, 0, POLLIN), -EPERM);
	run_main(2, main_task);
	puts("test_net_poll: ok");
	return 0;
}
