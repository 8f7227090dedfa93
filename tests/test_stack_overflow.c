/* SPDX-License-Identifier: MIT */
/* test_stack_overflow: unbounded recursion on a 16 KiB task stack kills the process with a report
 * naming the task, while bounded recursion on the same stack runs fine. */
#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMALL_STACK (16u * 1024u)
#define FRAME_BYTES 192	 /* volatile local array per recursion level */
#define SAFE_DEPTH 8	 /* levels the non-overflowing task recurses */
#define CHILD_ALARM_S 30 /* a child that neither overflows nor ends is killed by SIGALRM */
#define EXPECTED_MESSAGE "stack overflow in task 'deep-recursion'"

/* Written by the child, read by the parent after it died. */
typedef struct shared_state {
	volatile long depth;	      /* deepest recursion level reached */
	volatile uintptr_t first_buf; /* address of the level-0 array */
	volatile uintptr_t last_buf;  /* address of the deepest array */
	volatile unsigned guard_mode; /* cr_stats.guard_mode in the child */
	volatile int started;	      /* 1 once the recursion began */
} shared_state;

static shared_state *shared;	      /* MAP_SHARED: survives the child's death */
static volatile long depth_limit;     /* volatile: the compiler cannot see the recursion end */
static volatile int yield_each_level; /* canary fallback: switch so the canary gets checked */

/* Recurses until depth_limit; the array and the use of the result after the
 * call keep every level a real frame (no loop, no tail call). */
__attribute__((noinline)) static long recurse(long depth)
{
	volatile unsigned char buf[FRAME_BYTES];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(depth + (long)i);
	if (depth == 0)
		shared->first_buf = (uintptr_t)buf;
	shared->last_buf = (uintptr_t)buf;
	shared->depth = depth;
	if (yield_each_level && cr_yield() != 0)
		return -1000000;
	if (depth >= depth_limit)
		return buf[0];
	return recurse(depth + 1) + buf[depth % FRAME_BYTES];
}

/* Expected value of recurse(0) with depth_limit = n. */
static long expected_sum(long n)
{
	long s = 0;
	for (long d = 0; d <= n; d++)
		s += (unsigned char)(d + (d == n ? 0 : d % FRAME_BYTES));
	return s;
}

static int deep_body(void *arg)
{
	(void)arg;
	shared->started = 1;
	return (int)recurse(0);
}

static int child_main(void *arg)
{
	cr_task *t;
	cr_spawn_opts opts = {.name = arg, .stack_size = SMALL_STACK};
	cr_stats st;
	int result = -1;

	CHECK_OK(cr_stats_get(&st));
	shared->guard_mode = st.guard_mode;
	yield_each_level = st.guard_mode == 2;
	CHECK_OK(cr_spawn(&t, deep_body, NULL, &opts));
	CHECK_OK(cr_join(t, &result));
	return result;
}

/* Runs child_main(name) with the given depth limit in a child whose stderr
 * goes to a pipe; returns its wait status and stores its stderr in err. */
static int run_child(const char *name, long limit, char *err, size_t errlen)
{
	int fds[2];
	size_t used = 0;

	CHECK_EQ_INT(pipe(fds), 0);
	memset((void *)shared, 0, sizeof(*shared));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK_MSG(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core); /* the crash is expected: no core file */
		alarm(CHILD_ALARM_S);
		depth_limit = limit;
		int result = 0;
		int rc = cr_run(NULL, child_main, (void *)name, &result);
		if (rc == -ENOSYS || rc == -EPERM || rc == -EACCES)
			_exit(CHECK_SKIP_CODE);
		fprintf(stderr, "child: cr_run %d, result %d\n", rc, result);
		_exit(rc == 0 && result == expected_sum(limit) ? 0 : 1);
	}
	close(fds[1]);
	for (;;) {
		ssize_t k = read(fds[0], err + used, errlen - 1 - used);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		used += (size_t)k;
		if (used == errlen - 1)
			break;
	}
	err[used] = '\0';
	close(fds[0]);
	int status = 0;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	return status;
}

static int built_with_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return 1;
#endif
#endif
	return 0;
}

int main(void)
{
	static char err[1 << 16];

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	CHECK(shared != MAP_FAILED);

	/* 1. Bounded recursion on the same small stack: exits normally, says nothing. */
	int status = run_child("shallow-recursion", SAFE_DEPTH, err, sizeof(err));
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHECK_SKIP_CODE)
		check_skip("io_uring is not usable here (child skipped): %s", err);
	long frame =
		(long)(shared->first_buf - shared->last_buf) / (SAFE_DEPTH > 0 ? SAFE_DEPTH : 1);
	printf("bounded: status 0x%x, depth %ld, %ld bytes per level, guard_mode %u\n", status,
	       shared->depth, frame, shared->guard_mode);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "bounded recursion: child status 0x%x, stderr:\n%s", status, err);
	CHECK_EQ_INT(shared->depth, SAFE_DEPTH);
	CHECK_MSG(strstr(err, "stack overflow") == NULL, "unexpected report:\n%s", err);
	CHECK_GE_INT(frame, FRAME_BYTES);
	/* The bounded run must really fit: use at most half of the 16 KiB slot. */
	CHECK_LT_INT(frame * SAFE_DEPTH, SMALL_STACK / 2);

	/* 2. Unbounded recursion: the guard page (or the canary) stops it, with a report. */
	status = run_child("deep-recursion", 1L << 40, err, sizeof(err));
	printf("unbounded: status 0x%x (%s), depth %ld, stack used %lu bytes, guard_mode %u\n",
	       status, WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "not killed by a signal",
	       shared->depth, (unsigned long)(shared->first_buf - shared->last_buf),
	       shared->guard_mode);
	printf("child stderr:\n%s", err);
	CHECK_EQ_INT(shared->started, 1);
	if (!WIFSIGNALED(status) || strstr(err, EXPECTED_MESSAGE) == NULL) {
		if (built_with_asan() && strstr(err, "AddressSanitizer") != NULL)
			check_skip("built with ASan, which reported the overflow itself instead of "
				   "coring (status 0x%x)",
				   status);
	}
	CHECK_MSG(WIFSIGNALED(status), "child was not killed by a signal: status 0x%x", status);
	int sig = WTERMSIG(status);
	CHECK_MSG(sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT,
		  "child killed by signal %d (%s), expected SIGSEGV/SIGBUS or SIGABRT", sig,
		  strsignal(sig));
	if (shared->guard_mode != 2)
		CHECK_MSG(sig == SIGSEGV || sig == SIGBUS,
			  "guard page mode %u, but killed by signal %d (%s)", shared->guard_mode,
			  sig, strsignal(sig));
	CHECK_MSG(strstr(err, EXPECTED_MESSAGE) != NULL, "no \"%s\" in the child's stderr",
		  EXPECTED_MESSAGE);
	/* It died because the stack ran out: it got through most of the 16 KiB slot. */
	CHECK_GE_INT(shared->depth, SAFE_DEPTH);
	CHECK_GT_U64(shared->first_buf - shared->last_buf, SMALL_STACK / 2);
	CHECK_LT_U64(shared->first_buf - shared->last_buf, SMALL_STACK);
	return 0;
}
