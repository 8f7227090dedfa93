/* SPDX-License-Identifier: MIT */
/* cr_signal_wait and cancel_on_signal, each scenario in a fork()ed child process. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ull
#define HOUR_NS (3600ull * 1000000000ull)

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Returns 1 if sig is blocked in the calling thread. */
static int blocked_here(int sig)
{
	sigset_t cur;
	CHECK_EQ_INT(pthread_sigmask(SIG_SETMASK, NULL, &cur), 0);
	return sigismember(&cur, sig);
}

static void kill_self(void *arg)
{
	CHECK_EQ_INT(kill(getpid(), (int)(intptr_t)arg), 0);
}

/* Runs cfg/fn in the child and checks cr_run's result. */
static void run_expect(const cr_config *cfg, cr_task_fn fn, int expect)
{
	CHECK_EQ_INT(check_run(cfg, fn, NULL), expect);
}

/* ---- scenarios (each runs in its own child process) ---------------------------------------- */

/* SIGUSR1 sent by a callback on the waiter's worker. */
static int main_usr1_callback(void *arg)
{
	(void)arg;
	int sigs[] = {SIGUSR1}, signo = 0;
	CHECK(cr_call_later(10 * MS, kill_self, (void *)(intptr_t)SIGUSR1) != 0);
	CHECK_EQ_INT(cr_signal_wait(sigs, 1, &signo), 0);
	CHECK_EQ_INT(signo, SIGUSR1);
	CHECK_EQ_INT(blocked_here(SIGUSR1), 1); /* stays blocked until cr_run returns */
	/* NULL signo is allowed. */
	CHECK(cr_call_later(5 * MS, kill_self, (void *)(intptr_t)SIGUSR1) != 0);
	CHECK_EQ_INT(cr_signal_wait(sigs, 1, NULL), 0);
	return 0;
}

static void child_usr1_callback(void)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 1;
	int fds = count_fds();
	CHECK_EQ_INT(blocked_here(SIGUSR1), 0);
	run_expect(&cfg, main_usr1_callback, 0);
	CHECK_EQ_INT(blocked_here(SIGUSR1), 0); /* the caller's mask is back */
	CHECK_EQ_INT(count_fds(), fds);
}

/* SIGUSR1 sent by a task on another worker (retried until received: a
 * handler catches any copy that arrives before the waiter blocked it). */
static _Atomic int usr1_handled;
static _Atomic int usr1_received;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&usr1_handled, 1);
}

static int sender_task(void *arg)
{
	int sig = (int)(intptr_t)arg;
	CHECK_EQ_INT(cr_worker_id(), 1);
	CHECK_EQ_INT(blocked_here(sig), 1); /* other workers block every signal */
	for (int i = 0; i < 250 && !atomic_load(&usr1_received); i++) {
		CHECK_EQ_INT(kill(getpid(), sig), 0);
		CHECK_EQ_INT(cr_sleep(20 * MS), 0);
	}
	return 0;
}

static int main_usr1_other_worker(void *arg)
{
	(void)arg;
	int sigs[] = {SIGUSR1}, signo = 0;
	cr_task *t;
	cr_spawn_opts o1 = {.placement = CR_ON_WORKER, .worker = 1};
	CHECK_OK(cr_spawn(&t, sender_task, (void *)(intptr_t)SIGUSR1, &o1));
	CHECK_EQ_INT(cr_signal_wait(sigs, 1, &signo), 0);
	CHECK_EQ_INT(signo, SIGUSR1);
	atomic_store(&usr1_received, 1);
	CHECK_EQ_INT(cr_join(t, NULL), 0);
	return 0;
}

static void child_usr1_other_worker(void)
{
	cr_config cfg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	CHECK_EQ_INT(sigaction(SIGUSR1, &sa, NULL), 0);
	cr_config_init(&cfg);
	cfg.workers = 2;
	run_expect(&cfg, main_usr1_other_worker, 0);
	printf("  (copies caught by the handler before the wait: %d)\n",
	       atomic_load(&usr1_handled));
}

/* Cancelling a task blocked in cr_signal_wait (same and other worker), and a deadline. */
typedef struct waiter {
	_Atomic int started; /* 1 once about to wait */
	int res;	     /* cr_signal_wait's result */
	int signo;	     /* what it wrote to signo */
} waiter;

static int wait_usr1(void *arg)
{
	waiter *w = arg;
	int sigs[] = {SIGUSR1};
	w->signo = -1;
	atomic_store(&w->started, 1);
	w->res = cr_signal_wait(sigs, 1, &w->signo);
	return w->res;
}

/* The waiter lives on worker 1 (not cr_run's thread): the signal must still
 * reach it rather than take its default action on another thread. */
static int main_waiter_on_other_worker(void *arg)
{
	(void)arg;
	waiter w = {0};
	cr_task *t;
	int res;
	cr_spawn_opts o1 = {.placement = CR_ON_WORKER, .worker = 1};
	CHECK_OK(cr_spawn(&t, wait_usr1, &w, &o1));
	while (!atomic_load(&w.started))
		CHECK_EQ_INT(cr_sleep(1 * MS), 0);
	CHECK_EQ_INT(cr_sleep(20 * MS), 0); /* it is parked in the wait by now */
	CHECK_EQ_INT(kill(getpid(), SIGUSR1), 0);
	CHECK_EQ_INT(cr_join(t, &res), 0);
	CHECK_EQ_INT(res, 0);
	CHECK_EQ_INT(w.signo, SIGUSR1);
	return 0;
}

static void child_waiter_on_other_worker(void)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 2;
	run_expect(&cfg, main_waiter_on_other_worker, 0);
}

/* A set of two signals; either one ends the wait; pending ones are received at once. */
static int main_two_signals(void *arg)
{
	(void)arg;
	int sigs[] = {SIGUSR1, SIGUSR2}, signo = 0;
	CHECK(cr_call_later(10 * MS, kill_self, (void *)(intptr_t)SIGUSR2) != 0);
	CHECK_EQ_INT(cr_signal_wait(sigs, 2, &signo), 0);
	CHECK_EQ_INT(signo, SIGUSR2);
	/* Both are blocked now: a signal raised before the wait is pending and
	 * ends the next wait at once. */
	CHECK_EQ_INT(blocked_here(SIGUSR1), 1);
	CHECK_EQ_INT(blocked_here(SIGUSR2), 1);
	CHECK_EQ_INT(kill(getpid(), SIGUSR1), 0);
	uint64_t t0 = cr_now_ns();
	CHECK_EQ_INT(cr_signal_wait(sigs, 2, &signo), 0);
	CHECK_EQ_INT(signo, SIGUSR1);
	CHECK_LT_U64(cr_now_ns() - t0, 1000 * MS);
	/* Both pending: two waits receive both, each once. */
	CHECK_EQ_INT(kill(getpid(), SIGUSR2), 0);
	CHECK_EQ_INT(kill(getpid(), SIGUSR1), 0);
	int a = 0, b = 0;
	CHECK_EQ_INT(cr_signal_wait(sigs, 2, &a), 0);
	CHECK_EQ_INT(cr_signal_wait(sigs, 2, &b), 0);
	CHECK_MSG((a == SIGUSR1 && b == SIGUSR2) || (a == SIGUSR2 && b == SIGUSR1),
		  "received %d then %d, expected SIGUSR1 and SIGUSR2", a, b);
	sigset_t pend;
	CHECK_EQ_INT(sigpending(&pend), 0);
	CHECK_EQ_INT(sigismember(&pend, SIGUSR1), 0);
	CHECK_EQ_INT(sigismember(&pend, SIGUSR2), 0);
	return 0;
}

static void child_two_signals(void)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 1;
	int fds = count_fds();
	run_expect(&cfg, main_two_signals, 0);
	CHECK_EQ_INT(count_fds(), fds);
}

static int main_cancel(void *arg)
{
	(void)arg;
	waiter w0 = {0}, w1 = {0};
	cr_task *t0, *t1;
	int res;
	cr_spawn_opts o1 = {.placement = CR_ON_WORKER, .worker = 1};
	CHECK_OK(cr_spawn(&t0, wait_usr1, &w0, NULL));
	CHECK_OK(cr_spawn(&t1, wait_usr1, &w1, &o1));
	while (!atomic_load(&w0.started) || !atomic_load(&w1.started))
		CHECK_EQ_INT(cr_sleep(1 * MS), 0);
	CHECK_EQ_INT(cr_sleep(20 * MS), 0);
	CHECK_EQ_INT(cr_task_done(t0), 0);
	CHECK_EQ_INT(cr_task_done(t1), 0);
	CHECK_EQ_INT(cr_cancel(t0), 0);
	CHECK_EQ_INT(cr_cancel(t1), 0);
	CHECK_EQ_INT(cr_join(t0, &res), 0);
	CHECK_EQ_INT(res, -ECANCELED);
	CHECK_EQ_INT(w0.signo, -1);
	CHECK_EQ_INT(cr_join(t1, &res), 0);
	CHECK_EQ_INT(res, -ECANCELED);
	CHECK_EQ_INT(w1.signo, -1);

	/* A deadline scope around the wait. */
	int sigs[] = {SIGUSR2}, signo = -1;
	cr_deadline d;
	uint64_t start = cr_now_ns();
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	CHECK_EQ_INT(cr_signal_wait(sigs, 1, &signo), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_GE_U64(cr_now_ns() - start, 20 * MS);
	CHECK_EQ_INT(signo, -1);

	/* A pending cancellation: returns at once. */
	cr_cancel(cr_current());
	CHECK_EQ_INT(cr_signal_wait(sigs, 1, &signo), -ECANCELED);
	return 0;
}

static void child_cancel(void)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 2;
	int fds = count_fds();
	run_expect(&cfg, main_cancel, 0);
	CHECK_EQ_INT(count_fds(), fds); /* the signalfds of the cancelled waits are closed */
}

/* Bad input: -EINVAL and nothing blocked; outside a task: -EPERM. */
static int cb_res = 1;

static void signal_wait_in_callback(void *arg)
{
	(void)arg;
	int sigs[] = {SIGUSR1};
	cb_res = cr_signal_wait(sigs, 1, NULL);
}

static int main_invalid(void *arg)
{
	(void)arg;
	int signo = 0;
	int usr2[] = {SIGUSR2};
	int with_kill[] = {SIGUSR2, SIGKILL};
	int with_stop[] = {SIGSTOP};
	int zero[] = {0};
	int negative[] = {-1};
	int too_big[] = {1000};
	int usr2_then_bad[] = {SIGUSR2, 1000};
	CHECK_EQ_INT(cr_signal_wait(usr2, 0, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(NULL, 1, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(NULL, 0, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(with_kill, 2, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(with_stop, 1, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(zero, 1, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(negative, 1, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(too_big, 1, &signo), -EINVAL);
	CHECK_EQ_INT(cr_signal_wait(usr2_then_bad, 2, &signo), -EINVAL);
	CHECK_EQ_INT(signo, 0);
	/* A call that fails registers nothing: SIGUSR2 was not blocked. */
	CHECK_EQ_INT(blocked_here(SIGUSR2), 0);
	CHECK(cr_call_soon(signal_wait_in_callback, NULL) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_res, -EPERM);
	CHECK_EQ_INT(blocked_here(SIGUSR1), 0);
	return 0;
}

static void child_invalid(void)
{
	cr_config cfg;
	int sigs[] = {SIGUSR1};
	CHECK_EQ_INT(cr_signal_wait(sigs, 1, NULL), -EPERM); /* outside cr_run */
	cr_config_init(&cfg);
	cfg.workers = 1;
	run_expect(&cfg, main_invalid, 0);
}

/* cancel_on_signal: the signal cancels the main task, which shuts down
 * gracefully; cr_run returns normally. */
static int graceful_signal;
static uint64_t graceful_elapsed;

static int signal_sender(void *arg)
{
	(void)arg;
	CHECK_EQ_INT(cr_sleep(30 * MS), 0);
	CHECK_EQ_INT(kill(getpid(), graceful_signal), 0);
	return 0;
}

static int main_graceful(void *arg)
{
	(void)arg;
	uint64_t t0 = cr_now_ns();
	if (graceful_signal == SIGTERM) {
		CHECK(cr_call_later(30 * MS, kill_self, (void *)(intptr_t)SIGTERM) != 0);
	} else {
		cr_spawn_opts o1 = {.placement = CR_ON_WORKER, .worker = 1};
		CHECK_OK(cr_spawn(NULL, signal_sender, NULL, &o1));
	}
	CHECK_EQ_INT(cr_sleep(10000 * MS), -ECANCELED);
	graceful_elapsed = cr_now_ns() - t0;
	CHECK_LT_U64(graceful_elapsed, 5000 * MS);
	/* Graceful: the main task may still wait while it cleans up. */
	CHECK_EQ_INT(cr_sleep(5 * MS), 0);
	return 7;
}

static void child_graceful(int sig)
{
	cr_config cfg;
	graceful_signal = sig;
	cr_config_init(&cfg);
	cfg.workers = 2;
	cfg.cancel_on_signal = 1;
	int fds = count_fds();
	run_expect(&cfg, main_graceful, 7);
	CHECK_EQ_INT(blocked_here(sig), 0); /* mask restored */
	CHECK_EQ_INT(count_fds(), fds);
	printf("  (%s cancelled the main task after %.1f ms)\n",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT", (double)graceful_elapsed / 1e6);
}

/* Without cancel_on_signal, SIGTERM keeps its default action. */
static int main_default_term(void *arg)
{
	(void)arg;
	CHECK(cr_call_later(10 * MS, kill_self, (void *)(intptr_t)SIGTERM) != 0);
	cr_sleep(10000 * MS);
	return 3; /* not reached: the process is killed */
}

static void child_default_term(void)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 2;
	run_expect(&cfg, main_default_term, 3);
	printf("  survived SIGTERM without cancel_on_signal\n");
}

/* ---- the parent: one child per scenario ---------------------------------------------------- */

static int skipped;

/* Runs fn in a child; expect_sig 0 = must exit 0, else must die of that signal. */
static void in_child(const char *name, void (*fn)(void), int expect_sig)
{
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(20); /* a hang shows up as SIGALRM */
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st = 0;
	CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == CHECK_SKIP_CODE) {
		skipped = 1;
		printf("%s: skipped\n", name);
		return;
	}
	if (expect_sig) {
		CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == expect_sig,
			  "%s: child status 0x%x, expected death by signal %d", name, st,
			  expect_sig);
	} else {
		CHECK_MSG(!WIFSIGNALED(st), "%s: child killed by signal %d (%s)", name,
			  WTERMSIG(st), strsignal(WTERMSIG(st)));
		CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child exited with %d", name,
			  WEXITSTATUS(st));
	}
	printf("%s: ok\n", name);
}

static void child_sigterm(void)
{
	child_graceful(SIGTERM);
}

static void child_sigint(void)
{
	child_graceful(SIGINT);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	in_child("SIGUSR1 from a callback", child_usr1_callback, 0);
	in_child("SIGUSR1 from a task on another worker", child_usr1_other_worker, 0);
	in_child("SIGUSR1 to a waiter on worker 1", child_waiter_on_other_worker, 0);
	in_child("a set of two signals", child_two_signals, 0);
	in_child("cancel and deadline of cr_signal_wait", child_cancel, 0);
	in_child("invalid input", child_invalid, 0);
	in_child("cancel_on_signal + SIGTERM (callback)", child_sigterm, 0);
	in_child("cancel_on_signal + SIGINT (task on worker 1)", child_sigint, 0);
	in_child("SIGTERM without cancel_on_signal kills", child_default_term, SIGTERM);
	return skipped ? CHECK_SKIP_CODE : 0;
}
