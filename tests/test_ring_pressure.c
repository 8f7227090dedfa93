/* SPDX-License-Identifier: MIT */
/* Ring pressure: more I/O in flight than SQ entries, CQ overflow; no completion lost or doubled. */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"

#define NOP_TASKS 2000
#define NOPS_EACH 50
#define PIPE_READERS 500
#define BURST_READERS 1000
#define HANG_TIMEOUT_NS (60ull * 1000000000ull) /* a lost completion shows as a hang */

/* One pipe and the task reading one byte from it. */
typedef struct reader {
	int p[2];	/* the pipe */
	uint8_t want;	/* byte written into it */
	uint8_t got[2]; /* what the read returned */
	ssize_t res;	/* result of cr_file_read */
	int after;	/* result of the wait after the read */
	cr_task *task;	/* the reader */
} reader;

/* State shared by one run of the phases. */
typedef struct run {
	const char *name;   /* configuration name */
	size_t nreaders;    /* readers in the pipe phase */
	size_t nburst;	    /* readers in the overflow phase */
	size_t started;	    /* readers that reached their read */
	uint64_t nops_done; /* cr_nop calls that returned 0 */
	reader *readers;    /* array of max(nreaders, nburst) */
} run;

static run R;

static int nop_task(void *arg)
{
	(void)arg;
	int n = 0;
	for (int i = 0; i < NOPS_EACH; i++) {
		CHECK_EQ_INT(cr_nop(), 0);
		R.nops_done++;
		n++;
	}
	return n;
}

static int read_task(void *arg)
{
	reader *r = arg;
	R.started++;
	/* Ask for two bytes: a completion delivered twice or a read that
	 * consumed more than its byte would show in res or in the pipe. */
	r->res = cr_file_read(r->p[0], r->got, sizeof(r->got), -1);
	r->after = cr_yield();
	return 0;
}

static void open_readers(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		reader *r = &R.readers[i];
		memset(r, 0, sizeof(*r));
		CHECK_EQ_INT(pipe2(r->p, O_CLOEXEC), 0);
		r->want = (uint8_t)(i * 7u + 3u);
		r->res = -12345;
		r->after = -12345;
	}
}

/* Spawns n readers and waits until every read has been handed to the kernel. */
static void start_readers(size_t n)
{
	R.started = 0;
	for (size_t i = 0; i < n; i++)
		CHECK_OK(cr_spawn(&R.readers[i].task, read_task, &R.readers[i], NULL));
	while (R.started < n)
		CHECK_EQ_INT(cr_yield(), 0);
	/* The loop submits everything queued before it sleeps. */
	CHECK_EQ_INT(cr_sleep(2000000), 0);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_INT(cr_task_done(R.readers[i].task), 0);
		CHECK_EQ_INT(R.readers[i].res, -12345);
	}
}

/* Writes each reader's byte, all in one go (no wait in between). */
static void write_all_pipes(size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(write(R.readers[i].p[1], &R.readers[i].want, 1), 1);
}

/* Joins the readers and checks each got exactly its byte and left the pipe empty. */
static void finish_readers(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		reader *r = &R.readers[i];
		uint8_t c;
		int jr = cr_join(r->task, NULL);
		CHECK_MSG(jr == 0, "%s: join of reader %zu returned %d (lost completion?)", R.name,
			  i, jr);
		CHECK_MSG(r->res == 1 && r->got[0] == r->want,
			  "%s: reader %zu: res %zd byte 0x%02x, expected 1 byte 0x%02x", R.name, i,
			  r->res, r->got[0], r->want);
		CHECK_EQ_INT(r->after, 0);
		CHECK_EQ_INT(fcntl(r->p[0], F_SETFL, O_NONBLOCK), 0);
		errno = 0;
		CHECK_EQ_INT(read(r->p[0], &c, 1), -1);
		CHECK_EQ_INT(errno, EAGAIN);
		close(r->p[0]);
		close(r->p[1]);
	}
}

/* 500 reads parked in the kernel while 2,000 tasks hammer the ring with
 * nops; the pipes are written in the middle of it. */
static void phase_inflight(void)
{
	cr_task **nops = calloc(NOP_TASKS, sizeof(*nops));
	cr_stats a, b;
	CHECK(nops != NULL);
	CHECK_OK(cr_stats_get(&a));
	open_readers(R.nreaders);
	start_readers(R.nreaders);
	R.nops_done = 0;
	for (size_t i = 0; i < NOP_TASKS; i++)
		CHECK_OK(cr_spawn(&nops[i], nop_task, NULL, NULL));
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cr_yield(), 0);
	write_all_pipes(R.nreaders);
	for (size_t i = 0; i < NOP_TASKS; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(nops[i], &res), 0);
		CHECK_EQ_INT(res, NOPS_EACH);
	}
	finish_readers(R.nreaders);
	CHECK_EQ_U64(R.nops_done, (uint64_t)NOP_TASKS * NOPS_EACH);
	CHECK_OK(cr_stats_get(&b));
	uint64_t ops = (uint64_t)NOP_TASKS * NOPS_EACH + R.nreaders;
	CHECK_GE_U64(b.cqes - a.cqes, ops);
	CHECK_GE_U64(b.sqes_submitted - a.sqes_submitted, ops);
	printf("%s: %llu ops, %llu cqes, %llu sqes, %llu enters\n", R.name, (unsigned long long)ops,
	       (unsigned long long)(b.cqes - a.cqes),
	       (unsigned long long)(b.sqes_submitted - a.sqes_submitted),
	       (unsigned long long)(b.enter_calls - a.enter_calls));
	free(nops);
}

/* 1,000 parked reads complete at once: far more CQEs than the CQ holds. */
static void phase_burst(void)
{
	cr_stats a, b;
	CHECK_OK(cr_stats_get(&a));
	open_readers(R.nburst);
	start_readers(R.nburst);
	write_all_pipes(R.nburst);
	finish_readers(R.nburst);
	CHECK_OK(cr_stats_get(&b));
	CHECK_GE_U64(b.cqes - a.cqes, R.nburst);
	printf("%s: burst of %zu reads, %llu cqes\n", R.name, R.nburst,
	       (unsigned long long)(b.cqes - a.cqes));
}

/* 1,000 parked reads, half of them given data, then all cancelled in one go:
 * the cancel requests overflow the SQ from inside cr_cancel.  Each read either
 * got its byte (and the next wait is cancelled) or was cancelled (and any byte
 * written is still in the pipe). */
static void phase_cancel_burst(void)
{
	size_t n = R.nburst, won = 0, cancelled = 0;
	open_readers(n);
	start_readers(n);
	for (size_t i = 0; i < n; i += 2)
		CHECK_EQ_INT(write(R.readers[i].p[1], &R.readers[i].want, 1), 1);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(cr_cancel(R.readers[i].task), 0);
	for (size_t i = 0; i < n; i++) {
		reader *r = &R.readers[i];
		uint8_t c = 0;
		CHECK_EQ_INT(cr_join(r->task, NULL), 0);
		CHECK_EQ_INT(fcntl(r->p[0], F_SETFL, O_NONBLOCK), 0);
		if (r->res == 1) {
			won++;
			CHECK_MSG(i % 2 == 0 && r->got[0] == r->want,
				  "%s: reader %zu read 0x%02x from a pipe given %s", R.name, i,
				  r->got[0], i % 2 ? "nothing" : "its byte");
			CHECK_EQ_INT(r->after, -ECANCELED);
		} else {
			cancelled++;
			CHECK_MSG(r->res == -ECANCELED, "%s: reader %zu: res %zd", R.name, i,
				  r->res);
			CHECK_EQ_INT(r->after, 0);
			if (i % 2 == 0) {
				CHECK_EQ_INT(read(r->p[0], &c, 1), 1); /* the byte was not lost */
				CHECK_EQ_INT(c, r->want);
			}
		}
		errno = 0;
		CHECK_EQ_INT(read(r->p[0], &c, 1), -1);
		CHECK_EQ_INT(errno, EAGAIN);
		close(r->p[0]);
		close(r->p[1]);
	}
	printf("%s: cancel burst of %zu reads: %zu got data, %zu cancelled\n", R.name, n, won,
	       cancelled);
}

static int pressure_main(void *arg)
{
	(void)arg;
	cr_deadline d;
	cr_stats st;
	CHECK_OK(cr_timeout_enter(&d, HANG_TIMEOUT_NS));
	phase_inflight();
	phase_burst();
	phase_cancel_burst();
	phase_inflight(); /* the ring is still healthy after an overflow */
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	CHECK_OK(cr_stats_get(&st));
	CHECK_EQ_U64(st.tasks_alive, 1);
	return 0;
}

/* Makes room for two fds per pipe; scales the pipe counts down if the hard
 * limit is low. */
static void fit_fd_limit(void)
{
	struct rlimit rl;
	size_t need = 2 * BURST_READERS + 64;
	R.nreaders = PIPE_READERS;
	R.nburst = BURST_READERS;
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < need) {
		size_t fit = (rl.rlim_cur - 64) / 2;
		if (fit < 64)
			check_skip("RLIMIT_NOFILE hard limit %llu is too low",
				   (unsigned long long)rl.rlim_max);
		R.nburst = fit;
		if (R.nreaders > fit)
			R.nreaders = fit;
		printf("fd limit %llu: %zu / %zu readers\n", (unsigned long long)rl.rlim_cur,
		       R.nreaders, R.nburst);
	}
}

static void run_config(const char *name, const cr_config *cfg)
{
	R.name = name;
	printf("== %s\n", name);
	fflush(stdout);
	CHECK_EQ_INT(check_run(cfg, pressure_main, NULL), 0);
}

int main(void)
{
	cr_config tiny, tiny_coop;
	fit_fd_limit();
	R.readers = calloc(R.nburst > R.nreaders ? R.nburst : R.nreaders, sizeof(reader));
	CHECK(R.readers != NULL);

	cr_config_init(&tiny);
	tiny.sq_entries = 8;
	tiny.cq_entries = 16;
	run_config("sq 8 / cq 16", &tiny);

	tiny_coop = tiny;
	tiny_coop.no_defer_taskrun = 1;
	run_config("sq 8 / cq 16 without DEFER_TASKRUN", &tiny_coop);

	run_config("defaults", NULL);
	free(R.readers);
	return 0;
}
