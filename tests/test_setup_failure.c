/* SPDX-License-Identifier: MIT */
/* cr_run fails cleanly with an errno and a message naming the cause (seccomp, bad config). */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#if defined(__x86_64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_AARCH64
#endif

static int must_not_run(void *arg)
{
	*(int *)arg = 1;
	return 0;
}

/* Reads kernel.io_uring_disabled (-1 if the sysctl does not exist). */
static int io_uring_disabled_sysctl(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

#ifdef AUDIT_ARCH_HERE
/* Makes io_uring_setup fail with err for this process and its future
 * children.  Returns 0, or -1 if seccomp filters cannot be installed. */
static int block_io_uring_setup(int err)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_HERE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return -1;
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		fprintf(stderr, "seccomp(SECCOMP_SET_MODE_FILTER): %s\n", strerror(errno));
		return -1;
	}
	return 0;
}
#else
static int block_io_uring_setup(int err)
{
	(void)err;
	fprintf(stderr, "no seccomp filter for this architecture in the test\n");
	return -1;
}
#endif

/* Checks one failed cr_run: the errno, the message, nothing run. */
static void check_failed_run(const cr_config *cfg, int err, const char *must_mention)
{
	int called = 0, result = -7;
	int rc = cr_run(cfg, must_not_run, &called, &result);
	const char *msg = cr_setup_error();
	CHECK_MSG(rc == -err, "cr_run returned %d (%s), expected %d (%s); message: %s", rc,
		  strerror(-rc), -err, strerror(err), msg ? msg : "(null)");
	CHECK_EQ_INT(called, 0);
	CHECK_EQ_INT(result, -7); /* untouched */
	CHECK(msg != NULL);
	CHECK_MSG(strlen(msg) > 10, "setup error message too short: \"%s\"", msg);
	CHECK_MSG(strstr(msg, "io_uring") != NULL, "message does not name io_uring: \"%s\"", msg);
	if (must_mention)
		CHECK_MSG(strstr(msg, must_mention) != NULL, "message does not mention %s: \"%s\"",
			  must_mention, msg);
	printf("  %s -> %d: %s\n", strerror(err), rc, msg);
	fflush(stdout);
}

/* In a child: installs the filter, then expects every cr_run to fail with -err. */
static int child_body(int err)
{
	cr_config tiny;
	cr_task *t = NULL;
	cr_stats st;
	const char *cause = NULL;
	int disabled = io_uring_disabled_sysctl();

	if (block_io_uring_setup(err) < 0)
		return CHECK_SKIP_CODE;
	/* A sysctl, when set, is an equally true cause to report. */
	if (disabled <= 0)
		cause = err == ENOMEM ? "ENOMEM" : "seccomp";
	check_failed_run(NULL, err, cause);
	/* Nothing stayed behind: the next attempt fails the same way (not -EBUSY). */
	check_failed_run(NULL, err, cause);
	cr_config_init(&tiny);
	tiny.sq_entries = 8;
	tiny.no_defer_taskrun = 1;
	check_failed_run(&tiny, err, cause);
	/* With several workers every ring fails; the threads are torn down. */
	cr_config_init(&tiny);
	tiny.workers = 3;
	check_failed_run(&tiny, err, cause);
	/* Outside cr_run the API refuses politely. */
	CHECK_EQ_PTR(cr_current(), NULL);
	CHECK_EQ_INT(cr_spawn(&t, must_not_run, NULL, NULL), -EPERM);
	CHECK_EQ_INT(cr_stats_get(&st), -EPERM);
	return 0;
}

static int counts_calls(void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Returns the lowest fd number free in this process. */
static int lowest_free_fd(void)
{
	int fd = dup(0);
	CHECK_GE_INT(fd, 0);
	close(fd);
	return fd;
}

/* In a child: RLIMIT_NOFILE leaves room for 0, 1, 2, ... more fds, so that
 * the ring or another per-worker fd of a two-worker runtime cannot be made
 * (EMFILE) at each step of the setup in turn.  Every run fails cleanly with a
 * message or succeeds, and no fd is left behind either way. */
static int child_fd_limits(void)
{
	struct rlimit saved, rl;
	int first = lowest_free_fd(), failures = 0, successes = 0;
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 2;
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &saved), 0);
	for (int room = 0; room <= 16; room++) {
		int called = 0;
		rl = saved;
		rl.rlim_cur = (rlim_t)(first + room);
		CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
		int rc = cr_run(&cfg, counts_calls, &called, NULL);
		CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &saved), 0);
		if (rc == 0) {
			successes++;
			CHECK_EQ_INT(called, 1);
		} else {
			const char *msg = cr_setup_error();
			failures++;
			CHECK_MSG(rc < 0, "cr_run returned %d", rc);
			CHECK_EQ_INT(called, 0);
			CHECK_MSG(strlen(msg) > 10, "room for %d fds: cr_run %d, message \"%s\"",
				  room, rc, msg);
			printf("  room for %d fds -> %d: %s\n", room, rc, msg);
		}
		CHECK_MSG(lowest_free_fd() == first, "room for %d fds: cr_run %d left fd %d open",
			  room, rc, first);
	}
	CHECK_GT_INT(failures, 0);
	CHECK_GT_INT(successes, 0);
	return 0;
}

/* Runs child_body(err) (err 0: child_fd_limits) in a forked child.  Returns
 * its exit status (0, 1, 77). */
static int in_child(int err)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK_GE_INT(pid, 0);
	if (pid == 0)
		exit(err ? child_body(err) : child_fd_limits()); /* exit: leak checks run */
	int status = 0;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK_MSG(WIFEXITED(status), "child for %s died: %s", strerror(err),
		  WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "?");
	return WEXITSTATUS(status);
}

static int nested_main(void *arg)
{
	int called = 0;
	(void)arg;
	CHECK_EQ_INT(cr_run(NULL, must_not_run, &called, NULL), -EBUSY);
	CHECK_EQ_INT(called, 0);
	CHECK_MSG(strlen(cr_setup_error()) > 0, "no message for -EBUSY");
	CHECK_EQ_INT(cr_yield(), 0); /* the outer run is unharmed */
	return 41;
}

/* Absurd configurations and misuse fail with -EINVAL / -EBUSY and a message. */
static void check_bad_configs(void)
{
	cr_config c;
	int called = 0;
	static const struct {
		const char *what;
		unsigned sq;
		size_t stack;
	} bad[] = {
		{"sq_entries=0", 0, 0},
		{"sq_entries=1<<24", 1u << 24, 0},
		{"stack_size above the maximum", 256, (size_t)CR_MAX_STACK_SIZE * 2},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_config_init(&c);
		c.sq_entries = bad[i].sq;
		if (bad[i].stack)
			c.stack_size = bad[i].stack;
		int rc = cr_run(&c, must_not_run, &called, NULL);
		CHECK_MSG(rc == -EINVAL, "%s: cr_run returned %d", bad[i].what, rc);
		CHECK_EQ_INT(called, 0);
		CHECK_MSG(strlen(cr_setup_error()) > 10, "%s: message \"%s\"", bad[i].what,
			  cr_setup_error());
		printf("  %s -> -EINVAL: %s\n", bad[i].what, cr_setup_error());
	}
	CHECK_EQ_INT(cr_run(NULL, NULL, NULL, NULL), -EINVAL);
	CHECK_MSG(strlen(cr_setup_error()) > 0, "no message for a NULL main function");
}

int main(void)
{
	static const int errs[] = {ENOSYS, EPERM, ENOMEM};
	int skipped = 0;

	printf("bad configurations:\n");
	check_bad_configs();
	/* A good run after the failures works (skips if io_uring is unusable here). */
	CHECK_EQ_INT(check_run(NULL, nested_main, NULL), 41);

	printf("two workers with too few fds:\n");
	CHECK_EQ_INT(in_child(0), 0);

	printf("io_uring_setup blocked by seccomp:\n");
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		int st = in_child(errs[i]);
		if (st == CHECK_SKIP_CODE) {
			skipped = 1;
			break;
		}
		CHECK_MSG(st == 0, "child for %s exited with %d", strerror(errs[i]), st);
	}
	if (skipped)
		check_skip("seccomp filters are not available here");
	return 0;
}
