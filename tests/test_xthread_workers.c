/* SPDX-License-Identifier: MIT */
/* Workers: placement, cross-worker join/cancel/detach, spawn storm, stats, leak-free shutdown. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#if defined(CHECK_UNDER_TSAN)
#define STORM_TASKS 3000u /* tasks spawned on other workers, each spawning back */
#else
#define STORM_TASKS 4000u
#endif

#define MS 1000000ull
#define HOUR_NS (3600ull * 1000000000ull)
#define WORKERS 4

static cr_spawn_opts on_worker(unsigned w)
{
	return (cr_spawn_opts){.placement = CR_ON_WORKER, .worker = w};
}

static int return_worker_id(void *arg)
{
	(void)arg;
	return cr_worker_id();
}

static int return_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

/* ---- counting what the process owns ------------------------------------------------ */

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int count_fds(void)
{
	return count_dir("/proc/self/fd");
}

static int count_threads(void)
{
	return count_dir("/proc/self/task");
}

/* ---- workers = 0: one per CPU; placement ------------------------------------------- */

/* Spawned on worker 1: spawns with CR_ON_CURRENT and with no options. */
static int spawn_on_current(void *arg)
{
	(void)arg;
	cr_task *t;
	int res = -1;
	cr_spawn_opts cur = {.placement = CR_ON_CURRENT};
	CHECK_OK(cr_spawn(&t, return_worker_id, NULL, &cur));
	CHECK_EQ_INT(cr_join(t, &res), 0);
	CHECK_EQ_INT(res, cr_worker_id());
	CHECK_OK(cr_spawn(&t, return_worker_id, NULL, NULL));
	CHECK_EQ_INT(cr_join(t, &res), 0);
	CHECK_EQ_INT(res, cr_worker_id());
	return cr_worker_id();
}

static int main_default_workers(void *arg)
{
	unsigned expect = *(unsigned *)arg;
	cr_task *t = NULL;
	int res = -1;
	CHECK_EQ_U64(cr_worker_count(), expect);
	CHECK_EQ_INT(cr_worker_id(), 0);
	for (unsigned w = 0; w < expect; w++) {
		cr_spawn_opts o = on_worker(w);
		CHECK_OK(cr_spawn(&t, return_worker_id, NULL, &o));
		CHECK_EQ_INT(cr_join(t, &res), 0);
		CHECK_EQ_INT(res, (int)w);
	}
	if (expect > 1) {
		cr_spawn_opts o = on_worker(1);
		CHECK_OK(cr_spawn(&t, spawn_on_current, NULL, &o));
		CHECK_EQ_INT(cr_join(t, &res), 0);
		CHECK_EQ_INT(res, 1);
	}
	/* Out of range and nonsense placements are refused and create nothing. */
	cr_stats before, after;
	CHECK_OK(cr_stats_get(&before));
	cr_spawn_opts bad = on_worker(expect);
	t = NULL;
	CHECK_EQ_INT(cr_spawn(&t, return_worker_id, NULL, &bad), -EINVAL);
	CHECK(t == NULL);
	bad.worker = 100000;
	CHECK_EQ_INT(cr_spawn(&t, return_worker_id, NULL, &bad), -EINVAL);
	CHECK_EQ_INT(cr_spawn(NULL, return_worker_id, NULL, &bad), -EINVAL);
	bad = (cr_spawn_opts){.placement = 99};
	CHECK_EQ_INT(cr_spawn(&t, return_worker_id, NULL, &bad), -EINVAL);
	cr_spawn_opts ok = on_worker(expect - 1);
	CHECK_EQ_INT(cr_spawn(&t, NULL, NULL, &ok), -EINVAL);
	CHECK(t == NULL);
	CHECK_OK(cr_stats_get(&after));
	CHECK_EQ_U64(after.tasks_spawned, before.tasks_spawned);
	return 0;
}

/* ---- workers = 4: round robin, join, cancel, deadlines, detach ---------------------- */

static int main_round_robin(void)
{
	enum { PER = 25 };
	unsigned n = cr_worker_count();
	cr_task *t[WORKERS * PER];
	int hits[WORKERS] = {0};
	cr_spawn_opts any = {.placement = CR_ON_ANY};
	for (unsigned i = 0; i < n * PER; i++)
		CHECK_OK(cr_spawn(&t[i], return_worker_id, NULL, &any));
	for (unsigned i = 0; i < n * PER; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK(res >= 0 && res < (int)n);
		hits[res]++;
		/* Round robin: each run of n consecutive spawns covers every worker once. */
		if (i % n == n - 1) {
			for (unsigned w = 0; w < n; w++)
				CHECK_MSG(hits[w] == (int)(i / n + 1),
					  "after %u CR_ON_ANY spawns worker %u got %d", i + 1, w,
					  hits[w]);
		}
	}
	printf("CR_ON_ANY: %u spawns, %d on each of %u workers\n", n * PER, PER, n);
	return 0;
}

/* A task that sleeps an hour and reports how the sleep ended. */
typedef struct sleeper {
	_Atomic int started; /* 1 once it is about to sleep */
	int sleep_res;	     /* result of the long sleep */
	int worker;	     /* where it ran */
} sleeper;

static int sleep_long(void *arg)
{
	sleeper *s = arg;
	s->worker = cr_worker_id();
	atomic_store(&s->started, 1);
	s->sleep_res = cr_sleep(HOUR_NS);
	return 100 + s->worker;
}

/* Joins a task on another worker; records the join result. */
typedef struct joiner {
	cr_task *target;     /* to join */
	_Atomic int started; /* 1 once it is about to join */
	int join_res;	     /* cr_join's result */
	int target_res;	     /* the target's result if joined */
} joiner;

static int join_other(void *arg)
{
	joiner *j = arg;
	atomic_store(&j->started, 1);
	j->join_res = cr_join(j->target, &j->target_res);
	return j->join_res;
}

static int main_join_cancel(void)
{
	cr_task *t[WORKERS];
	int res;
	/* Joins of results from every worker. */
	for (unsigned w = 0; w < WORKERS; w++) {
		cr_spawn_opts o = on_worker(w);
		CHECK_OK(cr_spawn(&t[w], return_arg, (void *)(intptr_t)(1000 + w), &o));
	}
	for (unsigned w = 0; w < WORKERS; w++) {
		res = -1;
		CHECK_EQ_INT(cr_join(t[w], &res), 0);
		CHECK_EQ_INT(res, 1000 + (int)w);
	}
	/* Joining a task that already ended on another worker. */
	cr_spawn_opts o3 = on_worker(3);
	CHECK_OK(cr_spawn(&t[0], return_arg, (void *)(intptr_t)77, &o3));
	CHECK_WAIT_UNTIL(cr_task_done(t[0]), "the task on worker 3 to end");
	CHECK_EQ_INT(cr_cancel(t[0]), -ESRCH);
	CHECK_EQ_INT(cr_join(t[0], &res), 0);
	CHECK_EQ_INT(res, 77);

	/* Cross-worker cancel of a sleeping task: its sleep returns -ECANCELED. */
	sleeper s = {0};
	uint64_t t0 = cr_now_ns();
	cr_spawn_opts o2 = on_worker(2);
	CHECK_OK(cr_spawn(&t[0], sleep_long, &s, &o2));
	CHECK_WAIT_UNTIL(atomic_load(&s.started), "the sleeper to start");
	CHECK_EQ_INT(cr_sleep(2 * MS), 0);
	CHECK_EQ_INT(cr_task_done(t[0]), 0);
	CHECK_EQ_INT(cr_cancel(t[0]), 0);
	int again = cr_cancel(t[0]); /* harmless; -ESRCH if the first already ended it */
	CHECK_MSG(again == 0 || again == -ESRCH, "second cr_cancel returned %d", again);
	CHECK_EQ_INT(cr_join(t[0], &res), 0);
	CHECK_EQ_INT(s.sleep_res, -ECANCELED);
	CHECK_EQ_INT(s.worker, 2);
	CHECK_EQ_INT(res, 102);
	CHECK_LT_U64(cr_now_ns() - t0, 5000 * MS);

	/* A deadline around a cross-worker join: -ETIMEDOUT, the handle stays joinable. */
	sleeper s2 = {0};
	cr_deadline d;
	cr_spawn_opts o1 = on_worker(1);
	CHECK_OK(cr_spawn(&t[1], sleep_long, &s2, &o1));
	t0 = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&d, 30 * MS));
	res = -1;
	CHECK_EQ_INT(cr_join(t[1], &res), -ETIMEDOUT);
	CHECK_EQ_INT(res, -1);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	uint64_t waited = cr_now_ns() - t0;
	CHECK_GE_U64(waited, 30 * MS);
	CHECK_LT_U64(waited, 3000 * MS);
	CHECK_EQ_INT(cr_task_done(t[1]), 0);
	/* Still joinable: a second, shorter deadline times out again. */
	CHECK_OK(cr_timeout_enter(&d, 5 * MS));
	CHECK_EQ_INT(cr_join(t[1], &res), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_INT(cr_cancel(t[1]), 0);
	CHECK_EQ_INT(cr_join(t[1], &res), 0);
	CHECK_EQ_INT(res, 101);
	CHECK_EQ_INT(s2.sleep_res, -ECANCELED);

	/* A task on worker 2 joining one on worker 3 is cancelled: its join returns
	 * -ECANCELED and the target runs on, joinable by someone else. */
	sleeper s3 = {0};
	joiner j = {0};
	CHECK_OK(cr_spawn(&j.target, sleep_long, &s3, &o3));
	CHECK_OK(cr_spawn(&t[2], join_other, &j, &o2));
	CHECK_WAIT_UNTIL(atomic_load(&j.started) && atomic_load(&s3.started), "joiner and target");
	CHECK_EQ_INT(cr_sleep(2 * MS), 0);
	CHECK_EQ_INT(cr_cancel(t[2]), 0);
	CHECK_EQ_INT(cr_join(t[2], &res), 0);
	CHECK_EQ_INT(res, -ECANCELED);
	CHECK_EQ_INT(j.join_res, -ECANCELED);
	CHECK_EQ_INT(cr_task_done(j.target), 0);
	CHECK_EQ_INT(cr_cancel(j.target), 0);
	CHECK_EQ_INT(cr_join(j.target, &res), 0);
	CHECK_EQ_INT(res, 103);
	CHECK_EQ_INT(s3.sleep_res, -ECANCELED);

	/* A caller cancelled before its cross-worker join does not wait at all. */
	sleeper s4 = {0};
	CHECK_OK(cr_spawn(&t[3], sleep_long, &s4, &o1));
	cr_cancel(cr_current());
	CHECK_EQ_INT(cr_join(t[3], &res), -ECANCELED);
	CHECK_EQ_INT(cr_cancel(t[3]), 0);
	CHECK_EQ_INT(cr_join(t[3], &res), 0);
	CHECK_EQ_INT(res, 101);
	printf("cross-worker join, cancel, deadline and cancelled join: ok\n");
	return 0;
}

/* Detached tasks on other workers are reaped there once they end. */
typedef struct detach_rec {
	_Atomic int ended; /* tasks that finished */
} detach_rec;

static int short_then_count(void *arg)
{
	detach_rec *r = arg;
	cr_sleep(5 * MS);
	atomic_fetch_add(&r->ended, 1);
	return 0;
}

static uint64_t tasks_alive(unsigned w)
{
	cr_stats s;
	CHECK_EQ_INT(cr_stats_get_worker(w, &s), 0);
	return s.tasks_alive;
}

static int main_detach(void)
{
	detach_rec r = {0};
	uint64_t alive1 = tasks_alive(1), alive2 = tasks_alive(2);
	cr_task *a, *b;
	cr_spawn_opts o1 = on_worker(1), o2 = on_worker(2);
	CHECK_OK(cr_spawn(&a, short_then_count, &r, &o1));   /* detached while it runs */
	CHECK_OK(cr_spawn(&b, return_arg, (void *)1, &o2));  /* detached after it ended */
	CHECK_OK(cr_spawn(NULL, short_then_count, &r, &o2)); /* never had a handle */
	CHECK_EQ_U64(tasks_alive(1), alive1 + 1);
	cr_detach(a);
	CHECK_WAIT_UNTIL(cr_task_done(b), "the task on worker 2 to end");
	cr_detach(b);
	CHECK_WAIT_UNTIL(atomic_load(&r.ended) == 2, "the detached tasks to end");
	CHECK_WAIT_UNTIL(tasks_alive(1) == alive1 && tasks_alive(2) == alive2,
			 "detached tasks to be reaped on workers 1 and 2");
	printf("cross-worker detach: tasks reaped on their workers\n");
	return 0;
}

/* ---- spawn storm and stats ------------------------------------------------------------ */

static int storm_child(void *arg)
{
	CHECK_EQ_INT(cr_worker_id(), 0);
	return (int)(intptr_t)arg * 3 + 1;
}

/* Runs on worker 1..3: spawns a child back on worker 0 and joins it. */
static int storm_parent(void *arg)
{
	cr_task *c;
	int res = -1;
	cr_spawn_opts o0 = on_worker(0);
	CHECK_NE_INT(cr_worker_id(), 0);
	CHECK_OK(cr_spawn(&c, storm_child, arg, &o0));
	CHECK_EQ_INT(cr_join(c, &res), 0);
	CHECK_EQ_INT(res, (int)(intptr_t)arg * 3 + 1);
	return res + 1;
}

static int main_storm(void)
{
	cr_stats before[WORKERS], after[WORKERS];
	uint64_t expect_spawned[WORKERS] = {0};
	cr_task **t = calloc(STORM_TASKS, sizeof(*t));
	CHECK(t != NULL);
	for (unsigned w = 0; w < WORKERS; w++)
		CHECK_EQ_INT(cr_stats_get_worker(w, &before[w]), 0);
	uint64_t t0 = cr_now_ns();
	for (unsigned i = 0; i < STORM_TASKS; i++) {
		unsigned w = 1 + i % (WORKERS - 1);
		cr_spawn_opts o = on_worker(w);
		CHECK_OK(cr_spawn(&t[i], storm_parent, (void *)(intptr_t)i, &o));
		expect_spawned[w]++;
		expect_spawned[0]++; /* its child */
	}
	uint64_t sum = 0, expect_sum = 0;
	for (unsigned i = 0; i < STORM_TASKS; i++) {
		int res = 0;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		sum += (uint64_t)res;
		expect_sum += 3ull * i + 2;
	}
	uint64_t elapsed = cr_now_ns() - t0;
	CHECK_EQ_U64(sum, expect_sum);
	for (unsigned w = 0; w < WORKERS; w++) {
		CHECK_EQ_INT(cr_stats_get_worker(w, &after[w]), 0);
		CHECK_MSG(after[w].tasks_spawned - before[w].tasks_spawned == expect_spawned[w],
			  "worker %u: tasks_spawned grew by %llu, expected %llu", w,
			  (unsigned long long)(after[w].tasks_spawned - before[w].tasks_spawned),
			  (unsigned long long)expect_spawned[w]);
	}
	/* Every task is reaped once its handle is released (releases travel as messages). */
	for (unsigned w = 0; w < WORKERS; w++)
		CHECK_WAIT_UNTIL(tasks_alive(w) == before[w].tasks_alive,
				 "storm tasks to be reaped");
	cr_stats s0;
	CHECK_OK(cr_stats_get(&s0));
	CHECK_GE_U64(s0.wakeups_received, STORM_TASKS); /* at least the joins' wake-ups */
	printf("spawn storm: %u tasks on workers 1..%u each spawned and joined a child on worker 0 "
	       "in %.1f ms, sum %llu; tasks_spawned per worker: %llu %llu %llu %llu\n",
	       STORM_TASKS, WORKERS - 1, (double)elapsed / 1e6, (unsigned long long)sum,
	       (unsigned long long)expect_spawned[0], (unsigned long long)expect_spawned[1],
	       (unsigned long long)expect_spawned[2], (unsigned long long)expect_spawned[3]);
	free(t);
	return 0;
}

static int main_four_workers(void *arg)
{
	(void)arg;
	CHECK_EQ_U64(cr_worker_count(), WORKERS);
	cr_stats st;
	CHECK_EQ_INT(cr_stats_get_worker(WORKERS, &st), -EINVAL);
	CHECK_EQ_INT(main_round_robin(), 0);
	CHECK_EQ_INT(main_join_cancel(), 0);
	CHECK_EQ_INT(main_detach(), 0);
	CHECK_EQ_INT(main_storm(), 0);
	return 0;
}

/* ---- shutdown while tasks on other workers are blocked ---------------------------------- */

#define OFFLOAD_THREADS 2
#define OFFLOAD_CALLS 5

typedef struct shut {
	int pipe_r;			   /* read end that never gets data */
	_Atomic int blocked;		   /* tasks about to block */
	_Atomic int fn_started;		   /* offloaded calls that began */
	_Atomic int fn_ran[OFFLOAD_CALLS]; /* 1 if call i began */
	int sleep_res[WORKERS];		   /* per sleeper */
	int read_res;			   /* cr_file_read's result */
	int join_res;			   /* the cross-worker joiner's cr_join */
	int victim_res;			   /* the joined task's sleep */
	int off_res[OFFLOAD_CALLS];	   /* cr_to_thread results */
	intptr_t off_val[OFFLOAD_CALLS];   /* their values */
	int off_next[OFFLOAD_CALLS];	   /* the wait after a completed call */
	uint64_t main_end_ns;		   /* when the main task returned */
} shut;

typedef struct shut_arg {
	shut *s; /* shared record */
	int i;	 /* index */
} shut_arg;

static int shut_sleeper(void *arg)
{
	shut_arg *a = arg;
	atomic_fetch_add(&a->s->blocked, 1);
	a->s->sleep_res[a->i] = cr_sleep(HOUR_NS);
	return 0;
}

static int shut_reader(void *arg)
{
	shut *s = arg;
	char buf[8];
	atomic_fetch_add(&s->blocked, 1);
	s->read_res = (int)cr_file_read(s->pipe_r, buf, sizeof(buf), -1);
	return 0;
}

/* Joined across workers; lingers 100 ms after its cancellation so that the
 * joiner's own cancellation is what ends the join. */
static int shut_victim(void *arg)
{
	shut *s = arg;
	s->victim_res = cr_sleep(HOUR_NS);
	cr_sleep(100 * MS);
	return 9;
}

static int shut_joiner(void *arg)
{
	shut *s = arg;
	cr_task *v;
	cr_spawn_opts o3 = on_worker(3);
	CHECK_OK(cr_spawn(&v, shut_victim, s, &o3));
	atomic_fetch_add(&s->blocked, 1);
	s->join_res = cr_join(v, NULL);
	if (s->join_res < 0)
		cr_detach(v);
	return 0;
}

static shut *g_shut;

static intptr_t blocking_200ms(void *arg)
{
	int i = (int)(intptr_t)arg;
	atomic_store(&g_shut->fn_ran[i], 1);
	atomic_fetch_add(&g_shut->fn_started, 1);
	struct timespec ts = {0, 200 * 1000 * 1000};
	nanosleep(&ts, NULL);
	return 1000 + i;
}

static int shut_offloader(void *arg)
{
	shut_arg *a = arg;
	shut *s = a->s;
	atomic_fetch_add(&s->blocked, 1);
	s->off_res[a->i] = cr_to_thread(blocking_200ms, (void *)(intptr_t)a->i, &s->off_val[a->i]);
	if (s->off_res[a->i] == 0)
		s->off_next[a->i] = cr_sleep(HOUR_NS); /* the pending cancellation lands here */
	return 0;
}

static int main_shutdown(void *arg)
{
	shut *s = arg;
	static shut_arg sa[WORKERS], oa[OFFLOAD_CALLS];
	int expect_blocked = 0;
	for (int w = 1; w < WORKERS; w++) {
		sa[w] = (shut_arg){s, w};
		cr_spawn_opts o = on_worker((unsigned)w);
		CHECK_OK(cr_spawn(NULL, shut_sleeper, &sa[w], &o));
		expect_blocked++;
	}
	cr_spawn_opts o1 = on_worker(1), o2 = on_worker(2);
	CHECK_OK(cr_spawn(NULL, shut_reader, s, &o1));
	CHECK_OK(cr_spawn(NULL, shut_joiner, s, &o2));
	expect_blocked += 2;
	for (int i = 0; i < OFFLOAD_CALLS; i++) {
		oa[i] = (shut_arg){s, i};
		cr_spawn_opts o = on_worker(1 + (unsigned)i % 2);
		CHECK_OK(cr_spawn(NULL, shut_offloader, &oa[i], &o));
		expect_blocked++;
	}
	CHECK_WAIT_UNTIL(atomic_load(&s->blocked) == expect_blocked &&
				 atomic_load(&s->fn_started) == OFFLOAD_THREADS,
			 "every task to block");
	CHECK_EQ_INT(cr_sleep(20 * MS), 0); /* let them reach their waits */
	CHECK_EQ_INT(atomic_load(&s->fn_started), OFFLOAD_THREADS);
	s->main_end_ns = cr_now_ns();
	return 42;
}

static void test_shutdown(void)
{
	static shut s;
	int p[2];
	cr_config cfg;
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC), 0);
	s.pipe_r = p[0];
	g_shut = &s;
	cr_config_init(&cfg);
	cfg.workers = WORKERS;
	cfg.offload_threads = OFFLOAD_THREADS;

	int fds = count_fds(), threads = count_threads();
	CHECK_EQ_INT(check_run(&cfg, main_shutdown, &s), 42);
	uint64_t stop_ns = cr_now_ns() - s.main_end_ns;
	CHECK_EQ_INT(count_fds(), fds);
	CHECK_EQ_INT(count_threads(), threads);

	for (int w = 1; w < WORKERS; w++)
		CHECK_EQ_INT(s.sleep_res[w], -ECANCELED);
	CHECK_EQ_INT(s.read_res, -ECANCELED);
	CHECK_EQ_INT(s.join_res, -ECANCELED);
	CHECK_EQ_INT(s.victim_res, -ECANCELED);
	int started = 0, dropped = 0;
	for (int i = 0; i < OFFLOAD_CALLS; i++) {
		if (atomic_load(&s.fn_ran[i])) {
			started++;
			CHECK_EQ_INT(s.off_res[i], 0);
			CHECK_EQ_INT(s.off_val[i], 1000 + i);
			CHECK_EQ_INT(s.off_next[i], -ECANCELED);
		} else {
			dropped++;
			CHECK_EQ_INT(s.off_res[i], -ECANCELED);
		}
	}
	CHECK_EQ_INT(started, OFFLOAD_THREADS);
	CHECK_EQ_INT(dropped, OFFLOAD_CALLS - OFFLOAD_THREADS);
	CHECK_LT_U64(stop_ns, 5000 * MS);
	close(p[0]);
	close(p[1]);
	printf("shutdown: cr_run returned %.1f ms after the main task (blocked: %d sleepers, a "
	       "pipe "
	       "read, a cross-worker join, %d running + %d queued offloaded calls); fds %d and "
	       "threads %d as before\n",
	       (double)stop_ns / 1e6, WORKERS - 1, OFFLOAD_THREADS, OFFLOAD_CALLS - OFFLOAD_THREADS,
	       fds, threads);
}

static int main_trivial(void *arg)
{
	(void)arg;
	return 0;
}

int main(void)
{
	cr_config cfg;
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_watchdog(60);
#if defined(CHECK_UNDER_TSAN)
	printf("TSan build: spawn storm of %u tasks\n", STORM_TASKS);
#endif
	CHECK_EQ_INT(cr_worker_id(), -1);
	CHECK_EQ_U64(cr_worker_count(), 0);

	/* Warm-up: lets sanitizer runtimes start their helper threads before the
	 * thread count is taken. */
	cr_config_init(&cfg);
	cfg.workers = 2;
	CHECK_EQ_INT(check_run(&cfg, main_trivial, NULL), 0);
	int base_threads = count_threads();
#if !defined(CHECK_UNDER_TSAN)
	CHECK_EQ_INT(base_threads, 1);
#endif

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned expect = cpus < 1 ? 1 : cpus > CR_MAX_WORKERS ? CR_MAX_WORKERS : (unsigned)cpus;
	cr_config_init(&cfg);
	cfg.workers = 0;
	CHECK_EQ_INT(check_run(&cfg, main_default_workers, &expect), 0);
	printf("workers = 0: %u workers for %ld online CPUs; CR_ON_WORKER / CR_ON_CURRENT / "
	       "-EINVAL: ok\n",
	       expect, cpus);
	CHECK_EQ_INT(count_threads(), base_threads);

	cr_config_init(&cfg);
	cfg.workers = WORKERS;
	CHECK_EQ_INT(check_run(&cfg, main_four_workers, NULL), 0);
	CHECK_EQ_INT(count_threads(), base_threads);

	test_shutdown();
	CHECK_EQ_INT(cr_worker_id(), -1);
	CHECK_EQ_U64(cr_worker_count(), 0);
	return 0;
}
