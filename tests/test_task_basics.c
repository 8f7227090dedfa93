/* SPDX-License-Identifier: MIT */
/* test_task_basics: cr_run, spawn/join, FIFO scheduling, names, current task, detach, stack sizes,
 * shutdown cancellation and stats. */
#include <coring.h>

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ull

/* ---- small helpers ---------------------------------------------------------------- */

/* Returns the spawn argument as the task's result. */
static int ret_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

/* Returns the current worker's counters (fails the test outside cr_run). */
static cr_stats stats_now(void)
{
	cr_stats s;
	CHECK_OK(cr_stats_get(&s));
	return s;
}

/* Spawns fn(arg) with a handle, failing the test on error. */
static cr_task *spawn_or_die(cr_task_fn fn, void *arg, const cr_spawn_opts *opts)
{
	cr_task *t = NULL;
	CHECK_OK(cr_spawn(&t, fn, arg, opts));
	CHECK(t != NULL);
	return t;
}

/* Joins t and returns its result, failing the test on error. */
static int join_or_die(cr_task *t)
{
	int res = -12345;
	CHECK_OK(cr_join(t, &res));
	return res;
}

/* Yields until *flag >= target, at most max_yields times; returns 1 if reached. */
static int yield_until(const volatile int *flag, int target, int max_yields)
{
	for (int i = 0; i < max_yields && *flag < target; i++)
		CHECK_OK(cr_yield());
	return *flag >= target;
}

/* ---- cr_run results and errors ----------------------------------------------------- */

static int main_returns_42(void *arg)
{
	(void)arg;
	return 42;
}

static int ran_when_it_should_not;

static int must_not_run(void *arg)
{
	(void)arg;
	ran_when_it_should_not = 1;
	return 0;
}

static int nested_from_callback_rc = 1;

static void nested_run_cb(void *arg)
{
	(void)arg;
	nested_from_callback_rc = cr_run(NULL, must_not_run, NULL, NULL);
}

/* A spawned task also sees -EBUSY. */
static int nested_run_task(void *arg)
{
	(void)arg;
	int res = 0;
	return cr_run(NULL, must_not_run, NULL, &res);
}

static int main_nested_run(void *arg)
{
	(void)arg;
	int res = 99;
	CHECK_EQ_INT(cr_run(NULL, must_not_run, NULL, &res), -EBUSY);
	CHECK(cr_setup_error()[0] != '\0');
	CHECK_EQ_INT(join_or_die(spawn_or_die(nested_run_task, NULL, NULL)), -EBUSY);
	nested_from_callback_rc = 1;
	CHECK(cr_call_soon(nested_run_cb, NULL) != 0);
	CHECK_OK(cr_yield());
	CHECK_EQ_INT(nested_from_callback_rc, -EBUSY);
	CHECK_EQ_INT(ran_when_it_should_not, 0);
	return 5;
}

static void test_run(void)
{
	CHECK_EQ_INT(check_run(NULL, main_returns_42, NULL), 42);
	CHECK_EQ_STR(cr_setup_error(), "");

	/* result may be NULL */
	CHECK_EQ_INT(cr_run(NULL, main_returns_42, NULL, NULL), 0);

	/* NULL fn */
	int res = 7;
	CHECK_EQ_INT(cr_run(NULL, NULL, NULL, &res), -EINVAL);
	CHECK(cr_setup_error()[0] != '\0');

	/* too many workers: beyond CR_MAX_WORKERS, or beyond 1 before multi-worker support */
	cr_config cfg;
	cr_config_init(&cfg);
#ifdef CR_MAX_WORKERS
	cfg.workers = CR_MAX_WORKERS + 1;
#else
	cfg.workers = 2;
#endif
	CHECK_EQ_INT(cr_run(&cfg, must_not_run, NULL, &res), -EINVAL);
	CHECK_MSG(cr_setup_error()[0] != '\0', "workers=%u: empty cr_setup_error()", cfg.workers);
	printf("workers=%u: %s\n", cfg.workers, cr_setup_error());

	/* stack size above the maximum */
	cr_config_init(&cfg);
	cfg.stack_size = (size_t)CR_MAX_STACK_SIZE + 1;
	CHECK_EQ_INT(cr_run(&cfg, must_not_run, NULL, &res), -EINVAL);
	CHECK(cr_setup_error()[0] != '\0');
	CHECK_EQ_INT(ran_when_it_should_not, 0);

	/* a failed cr_run leaves nothing behind: the next one works */
	CHECK_EQ_INT(check_run(NULL, main_returns_42, NULL), 42);
	CHECK_EQ_STR(cr_setup_error(), "");

	/* nested: -EBUSY from the main task, a spawned task and a callback */
	CHECK_EQ_INT(check_run(NULL, main_nested_run, NULL), 5);
	CHECK_EQ_INT(ran_when_it_should_not, 0);
}

static intptr_t blocking_noop(void *arg)
{
	(void)arg;
	return 0;
}

static void noop_cb(void *arg)
{
	(void)arg;
}

/* Outside cr_run, every call that needs the runtime gives the one answer,
 * -EPERM, and does nothing; calls that return ids or pointers give 0 / NULL. */
static void test_outside_run(void)
{
	cr_task *t = NULL;
	cr_stats s;
	cr_deadline d;
	cr_task_group g;
	cr_task_group_init(&g);
	CHECK_EQ_INT(cr_spawn(&t, ret_arg, NULL, NULL), -EPERM);
	CHECK(t == NULL);
	CHECK_EQ_INT(cr_stats_get(&s), -EPERM);
	CHECK_EQ_INT(cr_stats_get_worker(0, &s), -EPERM);
	CHECK_EQ_INT(cr_sleep(0), -EPERM);
	CHECK_EQ_INT(cr_yield(), -EPERM);
	CHECK_EQ_INT(cr_timeout_enter(&d, 1000), -EPERM);
	CHECK_EQ_INT(cr_deadline_enter(&d, 1000), -EPERM);
	CHECK_EQ_INT(cr_task_group_spawn(&g, ret_arg, NULL, NULL), -EPERM);
	CHECK_EQ_INT(cr_task_group_wait(&g), -EPERM);
	CHECK_EQ_INT(cr_callback_cancel(1), -EPERM);
	CHECK_EQ_INT(cr_nop(), -EPERM);
	CHECK_EQ_INT(cr_to_thread(blocking_noop, NULL, NULL), -EPERM);
	CHECK(cr_call_soon(noop_cb, NULL) == 0);
	CHECK(cr_current() == NULL);
	CHECK_EQ_STR(cr_task_name(NULL), "");
}

/* ---- spawn / join ------------------------------------------------------------------- */

static int main_spawn_join(void *arg)
{
	(void)arg;
	enum { N = 8 };
	cr_task *t[N];
	for (int i = 0; i < N; i++)
		t[i] = spawn_or_die(ret_arg, (void *)(intptr_t)(i * 10 - 30), NULL);
	/* join in reverse order: results belong to their tasks */
	for (int i = N; i-- > 0;)
		CHECK_EQ_INT(join_or_die(t[i]), i * 10 - 30);
	/* result pointer may be NULL */
	CHECK_OK(cr_join(spawn_or_die(ret_arg, (void *)1, NULL), NULL));
	return 0;
}

/* ---- FIFO scheduling and round-robin yields --------------------------------------- */

static int fifo_log[64];
static int fifo_len;

static void log_event(int ev)
{
	CHECK(fifo_len < (int)(sizeof(fifo_log) / sizeof(fifo_log[0])));
	fifo_log[fifo_len++] = ev;
}

/* Logs id*10 + step for steps 0, 1, 2 with a yield between them. */
static int three_steps(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int step = 0; step < 3; step++) {
		if (step)
			CHECK_OK(cr_yield());
		log_event(id * 10 + step);
	}
	return id;
}

/* Logs its id once, without waiting. */
static int log_once(void *arg)
{
	log_event((int)(intptr_t)arg);
	return 0;
}

static void check_log(const int *want, int n)
{
	for (int i = 0; i < n && i < fifo_len; i++)
		CHECK_MSG(fifo_log[i] == want[i], "event %d: got %d, want %d", i, fifo_log[i],
			  want[i]);
	CHECK_EQ_INT(fifo_len, n);
}

static int main_fifo(void *arg)
{
	(void)arg;
	/* tasks start in spawn order, only once main waits */
	fifo_len = 0;
	cr_task *t[5];
	for (int i = 0; i < 5; i++)
		t[i] = spawn_or_die(log_once, (void *)(intptr_t)(i + 1), NULL);
	CHECK_EQ_INT(fifo_len, 0);
	for (int i = 0; i < 5; i++)
		join_or_die(t[i]);
	static const int want1[] = {1, 2, 3, 4, 5};
	check_log(want1, 5);

	/* yields interleave round-robin, main included */
	fifo_len = 0;
	cr_task *a = spawn_or_die(three_steps, (void *)1, NULL);
	cr_task *b = spawn_or_die(three_steps, (void *)2, NULL);
	cr_task *c = spawn_or_die(three_steps, (void *)3, NULL);
	log_event(0);
	CHECK_OK(cr_yield());
	log_event(1);
	CHECK_EQ_INT(join_or_die(a), 1);
	CHECK_EQ_INT(join_or_die(b), 2);
	CHECK_EQ_INT(join_or_die(c), 3);
	log_event(2);
	static const int want2[] = {0, 10, 20, 30, 1, 11, 21, 31, 12, 22, 32, 2};
	check_log(want2, 12);
	return 0;
}

/* ---- names and the current task ---------------------------------------------------- */

static cr_task *seen_current[4];
static char seen_name[4][CR_TASK_NAME_MAX + 8];

/* Records cr_current() and cr_task_name(NULL) in slot arg. */
static int record_self(void *arg)
{
	int i = (int)(intptr_t)arg;
	seen_current[i] = cr_current();
	snprintf(seen_name[i], sizeof(seen_name[i]), "%s", cr_task_name(NULL));
	CHECK_EQ_STR(cr_task_name(cr_current()), cr_task_name(NULL));
	return 0;
}

static int cb_ran;
static cr_task *cb_current = (cr_task *)1;
static const char *cb_name;

static void record_in_callback(void *arg)
{
	(void)arg;
	cb_current = cr_current();
	cb_name = cr_task_name(NULL);
	cb_ran = 1;
}

static int main_names(void *arg)
{
	(void)arg;
	CHECK(cr_current() != NULL);
	CHECK_EQ_STR(cr_task_name(NULL), "main");
	CHECK_EQ_STR(cr_task_name(cr_current()), "main");

	char longname[CR_TASK_NAME_MAX + 20];
	for (size_t i = 0; i < sizeof(longname) - 1; i++)
		longname[i] = (char)('a' + i % 26);
	longname[sizeof(longname) - 1] = '\0';
	char truncated[CR_TASK_NAME_MAX];
	memcpy(truncated, longname, CR_TASK_NAME_MAX - 1);
	truncated[CR_TASK_NAME_MAX - 1] = '\0';
	char exact[CR_TASK_NAME_MAX]; /* exactly CR_TASK_NAME_MAX-1 characters: kept whole */
	memcpy(exact, truncated, sizeof(exact));

	cr_spawn_opts named = {.name = "worker-7", .stack_size = 0};
	cr_spawn_opts unnamed = {.name = NULL, .stack_size = 0};
	cr_spawn_opts lng = {.name = longname, .stack_size = 0};
	cr_spawn_opts ex = {.name = exact, .stack_size = 0};
	cr_task *t[4];
	t[0] = spawn_or_die(record_self, (void *)0, NULL);
	t[1] = spawn_or_die(record_self, (void *)1, &named);
	t[2] = spawn_or_die(record_self, (void *)2, &lng);
	t[3] = spawn_or_die(record_self, (void *)3, &unnamed);
	/* the name is copied: scribbling on the caller's buffer changes nothing */
	longname[0] = '#';
	CHECK_EQ_STR(cr_task_name(t[0]), "task");
	CHECK_EQ_STR(cr_task_name(t[1]), "worker-7");
	CHECK_EQ_STR(cr_task_name(t[2]), truncated);
	CHECK_EQ_INT(strlen(cr_task_name(t[2])), CR_TASK_NAME_MAX - 1);
	CHECK_EQ_STR(cr_task_name(t[3]), "task");

	/* let them run, then check what they saw of themselves (before joining) */
	for (int i = 0; i < 4; i++)
		while (!cr_task_done(t[i]))
			CHECK_OK(cr_yield());
	for (int i = 0; i < 4; i++)
		CHECK_EQ_PTR(seen_current[i], t[i]);
	CHECK_EQ_STR(seen_name[0], "task");
	CHECK_EQ_STR(seen_name[1], "worker-7");
	CHECK_EQ_STR(seen_name[2], truncated);
	CHECK_EQ_STR(seen_name[3], "task");
	/* a finished, unjoined task keeps its name */
	CHECK_EQ_STR(cr_task_name(t[1]), "worker-7");
	for (int i = 0; i < 4; i++)
		join_or_die(t[i]);

	cr_task *e = spawn_or_die(ret_arg, NULL, &ex);
	CHECK_EQ_STR(cr_task_name(e), exact);
	join_or_die(e);

	/* main's name and identity did not change */
	CHECK_EQ_STR(cr_task_name(NULL), "main");

	/* in a callback there is no current task */
	CHECK(cr_call_soon(record_in_callback, NULL) != 0);
	CHECK(yield_until(&cb_ran, 1, 100));
	CHECK(cb_current == NULL);
	CHECK_EQ_STR(cb_name, "");
	return 0;
}

/* ---- joining oneself ----------------------------------------------------------------- */

static int join_self(void *arg)
{
	(void)arg;
	int res = 1234;
	int r = cr_join(cr_current(), &res);
	CHECK_EQ_INT(res, 1234); /* untouched */
	/* the task still works normally afterwards */
	CHECK_OK(cr_yield());
	return r;
}

static int main_join_self(void *arg)
{
	(void)arg;
	/* joining oneself could never return: -EDEADLK (and -EINVAL for NULL) */
	CHECK_EQ_INT(cr_join(cr_current(), NULL), -EDEADLK);
	CHECK_EQ_INT(join_or_die(spawn_or_die(join_self, NULL, NULL)), -EDEADLK);
	CHECK_EQ_INT(cr_join(NULL, NULL), -EINVAL);
	return 0;
}

/* ---- detached tasks and cr_task_done ------------------------------------------------- */

static int detached_done;

/* Yields three times, then counts itself as done. */
static int detached_body(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_yield());
	CHECK_OK(cr_sleep(1 * MS));
	detached_done++;
	return -1; /* a detached task's result goes nowhere */
}

static int main_detached(void *arg)
{
	(void)arg;
	cr_stats s0 = stats_now();
	CHECK_EQ_U64(s0.tasks_alive, 1);
	detached_done = 0;
	for (int i = 0; i < 10; i++)
		CHECK_OK(cr_spawn(NULL, detached_body, NULL, NULL));
	/* a handle released while the task runs */
	cr_task *t = spawn_or_die(detached_body, NULL, NULL);
	cr_detach(t);
	/* a handle released after the task ended: reaped at once */
	cr_task *quick = spawn_or_die(ret_arg, (void *)3, NULL);
	while (!cr_task_done(quick))
		CHECK_OK(cr_yield());
	CHECK_EQ_U64(stats_now().tasks_alive, 13);
	cr_detach(quick);
	CHECK_EQ_U64(stats_now().tasks_alive, 12);

	for (int i = 0; i < 10000 && detached_done < 11; i++)
		CHECK_OK(cr_sleep(1 * MS));
	CHECK_EQ_INT(detached_done, 11);
	CHECK_EQ_U64(stats_now().tasks_alive, 1);
	CHECK_EQ_U64(stats_now().tasks_spawned - s0.tasks_spawned, 12);
	return 0;
}

static int main_task_done(void *arg)
{
	(void)arg;
	cr_task *t = spawn_or_die(ret_arg, (void *)9, NULL);
	CHECK_EQ_INT(cr_task_done(t), 0); /* not started yet */
	CHECK_OK(cr_yield());
	CHECK_EQ_INT(cr_task_done(t), 1);
	CHECK_EQ_INT(cr_cancel(t), -ESRCH); /* cancelling an ended task */
	CHECK_EQ_INT(join_or_die(t), 9);
	CHECK_EQ_INT(cr_task_done(NULL), 0);
	return 0;
}

/* ---- stack sizes ------------------------------------------------------------------------ */

/* Fills n bytes with a pattern, waits, then checks the pattern is intact. */
static int fill_wait_check(unsigned char *buf, size_t n, unsigned seed)
{
	volatile unsigned char *p = buf;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31u + seed);
	CHECK_OK(cr_yield());
	CHECK_OK(cr_sleep(1 * MS));
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 31u + seed))
			return -1;
	return (int)seed;
}

static int small_stack_body(void *arg)
{
	unsigned char buf[4096];
	return fill_wait_check(buf, sizeof(buf), (unsigned)(intptr_t)arg);
}

static int big_stack_body(void *arg)
{
	unsigned char buf[512 * 1024];
	return fill_wait_check(buf, sizeof(buf), (unsigned)(intptr_t)arg);
}

static int main_stacks(void *arg)
{
	(void)arg;
	cr_stats s0 = stats_now();
	cr_task *t = NULL;
	cr_spawn_opts huge = {.name = "huge", .stack_size = (size_t)CR_MAX_STACK_SIZE + 1};
	CHECK_EQ_INT(cr_spawn(&t, ret_arg, NULL, &huge), -EINVAL);
	CHECK_EQ_INT(cr_spawn(NULL, ret_arg, NULL, &huge), -EINVAL);
	huge.stack_size = SIZE_MAX;
	CHECK_EQ_INT(cr_spawn(&t, ret_arg, NULL, &huge), -EINVAL);
	CHECK_EQ_INT(cr_spawn(&t, NULL, NULL, NULL), -EINVAL);
	CHECK(t == NULL);
	/* a failed spawn registers nothing */
	CHECK_EQ_U64(stats_now().tasks_spawned, s0.tasks_spawned);
	CHECK_EQ_U64(stats_now().tasks_alive, s0.tasks_alive);

	cr_spawn_opts o16 = {.name = "s16k", .stack_size = 16 * 1024};
	cr_spawn_opts o1m = {.name = "s1m", .stack_size = 1024 * 1024};
	cr_spawn_opts omax = {.name = "smax", .stack_size = CR_MAX_STACK_SIZE};
	cr_spawn_opts otiny = {.name = "tiny", .stack_size = 1}; /* rounded up */
	cr_task *a = spawn_or_die(small_stack_body, (void *)11, &o16);
	cr_task *b = spawn_or_die(small_stack_body, (void *)12, &o16);
	cr_task *c = spawn_or_die(big_stack_body, (void *)13, &o1m);
	cr_task *d = spawn_or_die(big_stack_body, (void *)14, &o1m);
	cr_task *e = spawn_or_die(big_stack_body, (void *)15, &omax);
	cr_task *f = spawn_or_die(ret_arg, (void *)16, &otiny);
	CHECK_EQ_INT(join_or_die(a), 11);
	CHECK_EQ_INT(join_or_die(b), 12);
	CHECK_EQ_INT(join_or_die(c), 13);
	CHECK_EQ_INT(join_or_die(d), 14);
	CHECK_EQ_INT(join_or_die(e), 15);
	CHECK_EQ_INT(join_or_die(f), 16);
	return 0;
}

static int main_stack_default_cfg(void *arg)
{
	(void)arg;
	/* cfg.stack_size = 1 MiB is the default for spawns without a size */
	CHECK_EQ_INT(join_or_die(spawn_or_die(big_stack_body, (void *)21, NULL)), 21);
	return 0;
}

/* ---- shutdown: tasks alive at the end of main are cancelled -------------------------- */

static int sleeper_result = 1;
static int unstarted_result = 1;
static int cleanup_done;

static int sleep_10s(void *arg)
{
	int *out = arg;
	*out = cr_sleep(10000 * MS);
	return 0;
}

/* On cancellation, cleans up with a wait of its own before returning. */
static int sleep_then_cleanup(void *arg)
{
	(void)arg;
	int r = cr_sleep(10000 * MS);
	if (r == -ECANCELED) {
		CHECK_OK(cr_sleep(2 * MS)); /* the cancellation was consumed */
		cleanup_done = 1;
	}
	return r;
}

static int main_leaves_tasks(void *arg)
{
	(void)arg;
	CHECK_OK(cr_spawn(NULL, sleep_10s, &sleeper_result, NULL));
	CHECK_OK(cr_spawn(NULL, sleep_then_cleanup, NULL, NULL));
	CHECK_OK(cr_yield()); /* both are now parked in their sleeps */
	CHECK_OK(cr_spawn(NULL, sleep_10s, &unstarted_result, NULL)); /* never ran yet */
	return 7;
}

static void test_shutdown(void)
{
	uint64_t t0 = cr_now_ns();
	CHECK_EQ_INT(check_run(NULL, main_leaves_tasks, NULL), 7);
	uint64_t dt = cr_now_ns() - t0;
	printf("shutdown with 3 tasks left: %.2f ms\n", (double)dt / 1e6);
	CHECK_LT_U64(dt, 5000 * MS);
	CHECK_EQ_INT(sleeper_result, -ECANCELED);
	CHECK_EQ_INT(unstarted_result, -ECANCELED);
	CHECK_EQ_INT(cleanup_done, 1);
}

/* An unjoined, undetached handle must not keep cr_run from returning. */
static int main_forgets_handle(void *arg)
{
	(void)arg;
	cr_task *t = spawn_or_die(sleep_10s, &sleeper_result, NULL);
	(void)t;
	CHECK_OK(cr_yield());
	return 3;
}

/* Runs main_forgets_handle in a child with a 5 s alarm; fails if cr_run hangs. */
static void test_shutdown_forgotten_handle(void)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(5);
		int res = 0;
		int rc = cr_run(NULL, main_forgets_handle, NULL, &res);
		_exit(rc == 0 && res == 3 ? 0 : 2);
	}
	int status = 0;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK_MSG(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM),
		  "cr_run did not return within 5 s when main left a joinable (unjoined) "
		  "task behind");
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child running main_forgets_handle failed (status 0x%x)", (unsigned)status);
}

/* ---- sleeping ------------------------------------------------------------------------------ */

/* Sleeps arg milliseconds; returns 0 if it woke no earlier than asked, else -1. */
static int sleep_ms_checked(void *arg)
{
	uint64_t ns = (uint64_t)(intptr_t)arg * MS;
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_sleep(ns));
	return cr_now_ns() - t0 >= ns ? 0 : -1;
}

/* Sleeps for UINT64_MAX ns; returns the sleep's result. */
static int sleep_forever(void *arg)
{
	(void)arg;
	return cr_sleep(UINT64_MAX);
}

static int main_sleep(void *arg)
{
	(void)arg;
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_sleep(20 * MS));
	uint64_t dt = cr_now_ns() - t0;
	printf("a 20 ms sleep took %.3f ms\n", (double)dt / 1e6);
	CHECK_GE_U64(dt, 20 * MS);
	t0 = cr_now_ns();
	CHECK_OK(cr_sleep_until(t0 + 7 * MS));
	CHECK_GE_U64(cr_now_ns(), t0 + 7 * MS);
	CHECK_OK(cr_sleep_until(t0)); /* in the past: returns at once (a yield) */
	CHECK_OK(cr_sleep(0));
	/* concurrent sleepers of different lengths each sleep at least their time */
	cr_task *t[10];
	for (int i = 0; i < 10; i++)
		t[i] = spawn_or_die(sleep_ms_checked, (void *)(intptr_t)(20 - 2 * i), NULL);
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(join_or_die(t[i]), 0);

	/* a sleep without end (the deadline saturates) ends by cancellation */
	cr_task *forever = spawn_or_die(sleep_forever, NULL, NULL);
	CHECK_OK(cr_yield());
	CHECK_EQ_U64(stats_now().timers_pending, 1);
	t0 = cr_now_ns();
	CHECK_OK(cr_cancel(forever));
	CHECK_EQ_INT(join_or_die(forever), -ECANCELED);
	CHECK_LT_U64(cr_now_ns() - t0, 5000 * MS);
	CHECK_EQ_U64(stats_now().timers_pending, 0);
	return 0;
}

/* ---- stats -------------------------------------------------------------------------------- */

static int main_stats(void *arg)
{
	(void)arg;
	cr_stats s0 = stats_now();
	CHECK_EQ_U64(s0.tasks_alive, 1);   /* main */
	CHECK_EQ_U64(s0.tasks_spawned, 1); /* main */
	cr_task *t[3];
	for (int i = 0; i < 3; i++)
		t[i] = spawn_or_die(three_steps, (void *)(intptr_t)(i + 1), NULL);
	cr_stats s1 = stats_now();
	CHECK_EQ_U64(s1.tasks_spawned, 4);
	CHECK_EQ_U64(s1.tasks_alive, 4);
	CHECK_GE_U64(s1.stacks_mapped, 4);
	fifo_len = 0;
	for (int i = 0; i < 3; i++)
		join_or_die(t[i]);
	cr_stats s2 = stats_now();
	CHECK_EQ_U64(s2.tasks_spawned, 4);
	CHECK_EQ_U64(s2.tasks_alive, 1);
	CHECK_GT_U64(s2.switches, s1.switches);
	return 0;
}

int main(void)
{
	test_outside_run();
	test_run();
	CHECK_EQ_INT(check_run(NULL, main_spawn_join, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_fifo, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_names, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_join_self, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_detached, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_task_done, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_stacks, NULL), 0);
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.stack_size = 1024 * 1024;
	CHECK_EQ_INT(check_run(&cfg, main_stack_default_cfg, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_stats, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_sleep, NULL), 0);
	test_shutdown();
	test_shutdown_forgotten_handle();
	test_outside_run();
	printf("test_task_basics: OK\n");
	return 0;
}
