/* SPDX-License-Identifier: MIT */
/* cr_cancel: before the first wait, in sleep, join and pipe reads, on self, once only. */
#include <fcntl.h>
#include <unistd.h>

#include "check.h"

#define LONG_SLEEP_NS (3600ull * 1000000000ull) /* an hour: only a cancel ends it */
#define MS (1000000ull)

/* Results recorded by a victim task, inspected by the test after joining it. */
typedef struct rec {
	int first;	     /* result of the first wait */
	int second;	     /* result of the second wait */
	int third;	     /* result of the third wait */
	int kind;	     /* which wait the victim starts with (0 yield, 1 sleep, 2 nop) */
	int fd;		     /* pipe read end, for the I/O victims */
	char buf[8];	     /* bytes the I/O victim read */
	uint64_t elapsed_ns; /* how long the first wait took */
	int started;	     /* 1 once the victim body runs */
} rec;

static int first_wait(int kind)
{
	if (kind == 0)
		return cr_yield();
	if (kind == 1)
		return cr_sleep(LONG_SLEEP_NS);
	return cr_nop();
}

/* Its first wait is the kind asked for; then two plain waits. */
static int victim_waits(void *arg)
{
	rec *r = arg;
	uint64_t t0 = cr_now_ns();
	r->started = 1;
	r->first = first_wait(r->kind);
	r->elapsed_ns = cr_now_ns() - t0;
	r->second = cr_yield();
	r->third = cr_sleep(1 * MS);
	return 7;
}

/* Cancelled before it ever ran: the first wait of each kind fails, the next ones do not. */
static int main_cancel_before_first_wait(void *arg)
{
	(void)arg;
	for (int kind = 0; kind < 3; kind++) {
		rec r = {.kind = kind};
		cr_task *t;
		int res = 0;
		CHECK_OK(cr_spawn(&t, victim_waits, &r, NULL));
		CHECK_EQ_INT(cr_cancel(t), 0);
		CHECK_EQ_INT(r.started, 0);
		CHECK_EQ_INT(cr_join(t, &res), 0);
		CHECK_EQ_INT(res, 7);
		CHECK_EQ_INT(r.first, -ECANCELED);
		CHECK_EQ_INT(r.second, 0);
		CHECK_EQ_INT(r.third, 0);
	}
	return 0;
}

/* A victim parked in an hour-long sleep is woken by the cancel, and only once. */
static int main_cancel_during_sleep(void *arg)
{
	(void)arg;
	rec r = {.kind = 1};
	cr_task *t;
	int res = 0;
	cr_stats st;
	CHECK_OK(cr_spawn(&t, victim_waits, &r, NULL));
	CHECK_EQ_INT(cr_sleep(2 * MS), 0);
	CHECK_EQ_INT(r.started, 1);
	CHECK_EQ_INT(cr_task_done(t), 0);
	CHECK_OK(cr_stats_get(&st));
	CHECK_GE_U64(st.timers_pending, 1);
	CHECK_EQ_INT(cr_cancel(t), 0);
	CHECK_EQ_INT(cr_join(t, &res), 0);
	CHECK_EQ_INT(res, 7);
	CHECK_EQ_INT(r.first, -ECANCELED);
	CHECK_EQ_INT(r.second, 0);
	CHECK_EQ_INT(r.third, 0);
	CHECK_MSG(r.elapsed_ns < 60ull * 1000 * MS, "cancelled sleep lasted %llu ns",
		  (unsigned long long)r.elapsed_ns);
	/* The hour-long timer is gone, not merely ignored. */
	CHECK_OK(cr_stats_get(&st));
	CHECK_EQ_U64(st.timers_pending, 0);
	return 0;
}

/* Shared state of the join test. */
typedef struct join_case {
	cr_task *target;   /* the task being joined */
	int release;	   /* set by the test to let the target return */
	int first_join;	   /* result of the interrupted cr_join */
	int target_done;   /* cr_task_done(target) right after the interrupted join */
	int second_join;   /* result of the retried cr_join */
	int target_result; /* the result the retried join got */
} join_case;

static int join_target(void *arg)
{
	join_case *c = arg;
	while (!c->release)
		CHECK_EQ_INT(cr_sleep(MS / 2), 0);
	return 42;
}

static int joiner(void *arg)
{
	join_case *c = arg;
	c->first_join = cr_join(c->target, &c->target_result);
	c->target_done = cr_task_done(c->target);
	c->second_join = cr_join(c->target, &c->target_result);
	return 0;
}

/* Cancelling a task in cr_join interrupts only the join: the target runs on
 * and its handle stays valid for a second join. */
static int main_cancel_during_join(void *arg)
{
	(void)arg;
	join_case c = {.first_join = 1, .second_join = 1, .target_result = -1};
	cr_task *j;
	CHECK_OK(cr_spawn(&c.target, join_target, &c, NULL));
	CHECK_OK(cr_spawn(&j, joiner, &c, NULL));
	CHECK_EQ_INT(cr_sleep(2 * MS), 0);
	CHECK_EQ_INT(c.first_join, 1); /* still joining */
	CHECK_EQ_INT(cr_cancel(j), 0);
	CHECK_EQ_INT(cr_sleep(2 * MS), 0);
	CHECK_EQ_INT(c.first_join, -ECANCELED);
	CHECK_EQ_INT(c.target_done, 0);
	CHECK_EQ_INT(c.target_result, -1);
	CHECK_EQ_INT(c.second_join, 1); /* the retried join waits again */
	c.release = 1;
	CHECK_EQ_INT(cr_join(j, NULL), 0);
	CHECK_EQ_INT(c.second_join, 0);
	CHECK_EQ_INT(c.target_result, 42);
	return 0;
}

static int returns_five(void *arg)
{
	(void)arg;
	return 5;
}

/* A task that has ended cannot be cancelled; its handle still joins. */
static int main_cancel_finished(void *arg)
{
	(void)arg;
	cr_task *t;
	int res = 0;
	CHECK_OK(cr_spawn(&t, returns_five, NULL, NULL));
	for (int i = 0; i < 100 && !cr_task_done(t); i++)
		CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cr_task_done(t), 1);
	CHECK_EQ_INT(cr_cancel(t), -ESRCH);
	CHECK_EQ_INT(cr_cancel(t), -ESRCH);
	/* The refused cancel left nothing pending anywhere (not on us either). */
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cr_join(t, &res), 0);
	CHECK_EQ_INT(res, 5);
	return 0;
}

static int self_canceller(void *arg)
{
	rec *r = arg;
	CHECK_EQ_PTR(cr_current(), cr_current());
	CHECK_EQ_INT(cr_cancel(cr_current()), 0);
	r->first = cr_sleep(LONG_SLEEP_NS);
	r->second = cr_yield();
	r->third = cr_nop();
	return 0;
}

/* cr_cancel(cr_current()) makes the caller's next wait, and only it, fail. */
static int main_cancel_self(void *arg)
{
	(void)arg;
	rec r = {0};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, self_canceller, &r, NULL));
	CHECK_EQ_INT(cr_join(t, NULL), 0);
	CHECK_EQ_INT(r.first, -ECANCELED);
	CHECK_EQ_INT(r.second, 0);
	CHECK_EQ_INT(r.third, 0);
	/* The same from the main task itself. */
	CHECK_EQ_INT(cr_cancel(cr_current()), 0);
	CHECK_EQ_INT(cr_nop(), -ECANCELED);
	CHECK_EQ_INT(cr_nop(), 0);
	return 0;
}

static int yield_thrice(void *arg)
{
	rec *r = arg;
	r->started = 1;
	r->first = cr_yield();
	r->second = cr_yield();
	r->third = cr_yield();
	return 0;
}

/* Cancelled while ready after a yield: exactly one of its waits fails. */
static int main_cancel_ready(void *arg)
{
	(void)arg;
	rec r = {0};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, yield_thrice, &r, NULL));
	while (!r.started)
		CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cr_cancel(t), 0);
	CHECK_EQ_INT(cr_join(t, NULL), 0);
	int cancelled =
		(r.first == -ECANCELED) + (r.second == -ECANCELED) + (r.third == -ECANCELED);
	int ok = (r.first == 0) + (r.second == 0) + (r.third == 0);
	CHECK_MSG(cancelled == 1 && ok == 2, "yields returned %d %d %d", r.first, r.second,
		  r.third);
	return 0;
}

/* Reads one byte from r->fd; then two more waits. */
static int pipe_reader(void *arg)
{
	rec *r = arg;
	r->started = 1;
	r->first = (int)cr_file_read(r->fd, r->buf, 1, -1);
	r->second = cr_yield();
	r->third = cr_yield();
	return 0;
}

static void make_pipe(int p[2])
{
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC), 0);
}

/* Checks that the pipe is empty and still usable: a byte written now comes
 * back from a fresh cr_file_read. */
static void check_pipe_works(int p[2], char byte)
{
	char c = 0;
	int fl = fcntl(p[0], F_GETFL);
	CHECK_GE_INT(fl, 0);
	CHECK_EQ_INT(fcntl(p[0], F_SETFL, fl | O_NONBLOCK), 0);
	errno = 0;
	CHECK_EQ_INT(read(p[0], &c, 1), -1); /* nothing was left behind */
	CHECK_EQ_INT(errno, EAGAIN);
	CHECK_EQ_INT(fcntl(p[0], F_SETFL, fl), 0);
	CHECK_EQ_INT(write(p[1], &byte, 1), 1);
	CHECK_EQ_INT(cr_file_read(p[0], &c, 1, -1), 1);
	CHECK_EQ_INT(c, byte);
}

/* A read parked in the kernel on an empty pipe is cancelled there: it
 * returns -ECANCELED, consumes nothing, and the pipe works afterwards. */
static int main_cancel_pipe_read(void *arg)
{
	(void)arg;
	for (int round = 0; round < 20; round++) {
		int p[2];
		rec r = {0};
		cr_task *t;
		make_pipe(p);
		r.fd = p[0];
		CHECK_OK(cr_spawn(&t, pipe_reader, &r, NULL));
		/* Let the read reach the kernel: the loop submits before sleeping. */
		CHECK_EQ_INT(cr_sleep(round % 2 ? 2 * MS : MS / 10), 0);
		CHECK_EQ_INT(r.started, 1);
		CHECK_EQ_INT(cr_task_done(t), 0);
		CHECK_EQ_INT(cr_cancel(t), 0);
		CHECK_EQ_INT(cr_join(t, NULL), 0);
		CHECK_EQ_INT(r.first, -ECANCELED);
		CHECK_EQ_INT(r.second, 0);
		CHECK_EQ_INT(r.third, 0);
		/* Give a stray completion of the cancelled read every chance to show. */
		CHECK_EQ_INT(cr_sleep(MS / 2), 0);
		check_pipe_works(p, (char)('a' + round));
		check_pipe_works(p, 'z');
		close(p[0]);
		close(p[1]);
	}
	return 0;
}

/* The read's SQE is queued but not yet submitted when the cancel comes. */
static int main_cancel_unsubmitted_read(void *arg)
{
	(void)arg;
	int p[2];
	rec r = {0};
	cr_task *t;
	make_pipe(p);
	r.fd = p[0];
	CHECK_OK(cr_spawn(&t, pipe_reader, &r, NULL));
	CHECK_EQ_INT(cr_yield(), 0); /* the reader ran first and parked */
	CHECK_EQ_INT(r.started, 1);
	CHECK_EQ_INT(cr_cancel(t), 0);
	CHECK_EQ_INT(cr_join(t, NULL), 0);
	CHECK_EQ_INT(r.first, -ECANCELED);
	CHECK_EQ_INT(r.second, 0);
	CHECK_EQ_INT(r.third, 0);
	check_pipe_works(p, 'q');
	close(p[0]);
	close(p[1]);
	return 0;
}

/* Data is already in the pipe when the read is submitted, and the cancel is
 * requested in the same loop iteration: the read completes in the kernel
 * before the cancel is seen, so it returns the data and the cancellation is
 * delivered at the following wait (the documented rule). */
static int main_read_completes_anyway(void *arg)
{
	(void)arg;
	for (int round = 0; round < 20; round++) {
		int p[2];
		rec r = {0};
		cr_task *t;
		char byte = (char)('A' + round);
		make_pipe(p);
		r.fd = p[0];
		CHECK_EQ_INT(write(p[1], &byte, 1), 1);
		CHECK_OK(cr_spawn(&t, pipe_reader, &r, NULL));
		CHECK_EQ_INT(cr_yield(), 0); /* the reader queued its read and parked */
		CHECK_EQ_INT(r.started, 1);
		CHECK_EQ_INT(cr_cancel(t), 0);
		CHECK_EQ_INT(cr_join(t, NULL), 0);
		CHECK_EQ_INT(r.first, 1);
		CHECK_EQ_INT(r.buf[0], byte);
		CHECK_EQ_INT(r.second, -ECANCELED);
		CHECK_EQ_INT(r.third, 0);
		check_pipe_works(p, 'w');
		close(p[0]);
		close(p[1]);
	}
	return 0;
}

/* Shared state of the write-and-cancel race. */
typedef struct race {
	int fd_w;	 /* pipe write end */
	cr_task *victim; /* the parked reader */
	char byte;	 /* byte to write */
} race;

static void write_and_cancel_cb(void *arg)
{
	race *x = arg;
	CHECK_EQ_INT(write(x->fd_w, &x->byte, 1), 1);
	CHECK_EQ_INT(cr_cancel(x->victim), 0);
}

/* The reader is parked in the kernel; a callback writes the byte and cancels
 * in the same loop iteration.  Either the read won (it returns the byte and
 * the next wait is cancelled) or the cancel won (-ECANCELED, the byte stays
 * in the pipe); never both, never neither, never a lost byte. */
static int main_write_and_cancel_race(void *arg)
{
	(void)arg;
	int won_read = 0, won_cancel = 0;
	for (int round = 0; round < 50; round++) {
		int p[2];
		rec r = {0};
		race x;
		char c = 0;
		make_pipe(p);
		r.fd = p[0];
		CHECK_OK(cr_spawn(&x.victim, pipe_reader, &r, NULL));
		CHECK_EQ_INT(cr_sleep(MS / 10), 0); /* the read is in the kernel */
		CHECK_EQ_INT(cr_task_done(x.victim), 0);
		x.fd_w = p[1];
		x.byte = (char)('a' + round % 26);
		CHECK_MSG(cr_call_soon(write_and_cancel_cb, &x) != 0, "cr_call_soon failed");
		CHECK_EQ_INT(cr_join(x.victim, NULL), 0);
		if (r.first == 1) {
			won_read++;
			CHECK_EQ_INT(r.buf[0], x.byte);
			CHECK_EQ_INT(r.second, -ECANCELED);
			CHECK_EQ_INT(r.third, 0);
		} else {
			won_cancel++;
			CHECK_EQ_INT(r.first, -ECANCELED);
			CHECK_EQ_INT(r.second, 0);
			CHECK_EQ_INT(r.third, 0);
			CHECK_EQ_INT(cr_file_read(p[0], &c, 1, -1), 1);
			CHECK_EQ_INT(c, x.byte);
		}
		check_pipe_works(p, 'k');
		close(p[0]);
		close(p[1]);
	}
	printf("write+cancel race: read won %d, cancel won %d\n", won_read, won_cancel);
	return 0;
}

/* After everything, no task is left behind. */
static void check_only_main_alive(void)
{
	cr_stats st;
	CHECK_OK(cr_stats_get(&st));
	CHECK_EQ_U64(st.tasks_alive, 1);
}

static int main_wrapper(void *arg)
{
	cr_task_fn fn = *(cr_task_fn *)arg;
	int r = fn(NULL);
	check_only_main_alive();
	return r;
}

int main(void)
{
	static const struct {
		const char *name;
		cr_task_fn fn;
	} cases[] = {
		{"cancel before first wait", main_cancel_before_first_wait},
		{"cancel during sleep", main_cancel_during_sleep},
		{"cancel during join", main_cancel_during_join},
		{"cancel finished task", main_cancel_finished},
		{"cancel self", main_cancel_self},
		{"cancel while ready", main_cancel_ready},
		{"cancel pipe read in kernel", main_cancel_pipe_read},
		{"cancel unsubmitted read", main_cancel_unsubmitted_read},
		{"read completes anyway", main_read_completes_anyway},
		{"write and cancel race", main_write_and_cancel_race},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_task_fn fn = cases[i].fn;
		printf("%s\n", cases[i].name);
		fflush(stdout);
		CHECK_EQ_INT(check_run(NULL, main_wrapper, &fn), 0);
	}
	return 0;
}
