/* SPDX-License-Identifier: MIT */
/* check.h: assertion macros for tests; a failure prints both values and file:line, exits 1. */
#ifndef CORING_TESTS_CHECK_H
#define CORING_TESTS_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <coring.h>

/* Defined in ThreadSanitizer builds, where tests scale their counts down. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHECK_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(CHECK_UNDER_TSAN)
#define CHECK_UNDER_TSAN 1
#endif

/* Exit status CTest reads as "skipped" (SKIP_RETURN_CODE). */
#define CHECK_SKIP_CODE 77

#if defined(__GNUC__)
#define CHECK_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#define CHECK_NORETURN_ __attribute__((noreturn))
#else
#define CHECK_PRINTF_(f, a)
#define CHECK_NORETURN_
#endif

/* Prints "file:line: FAIL: <message>" to stderr and exits with status 1. */
static inline CHECK_NORETURN_ CHECK_PRINTF_(3, 4) void check_fail_(const char *file, int line,
								   const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Prints "SKIP: <reason>" and exits with CHECK_SKIP_CODE (the test counts as skipped). */
static inline CHECK_NORETURN_ CHECK_PRINTF_(1, 2) void check_skip(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("SKIP: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(CHECK_SKIP_CODE);
}

static inline void check_int_(const char *file, int line, const char *ea, const char *op,
			      const char *eb, long long a, long long b, int ok)
{
	if (!ok)
		check_fail_(file, line, "%s %s %s: %lld vs %lld", ea, op, eb, a, b);
}

static inline void check_u64_(const char *file, int line, const char *ea, const char *op,
			      const char *eb, uint64_t a, uint64_t b, int ok)
{
	if (!ok)
		check_fail_(file, line, "%s %s %s: %llu vs %llu", ea, op, eb, (unsigned long long)a,
			    (unsigned long long)b);
}

static inline void check_str_(const char *file, int line, const char *ea, const char *eb,
			      const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		if (a != b)
			check_fail_(file, line, "%s == %s: %s%s%s vs %s%s%s", ea, eb, a ? "\"" : "",
				    a ? a : "NULL", a ? "\"" : "", b ? "\"" : "", b ? b : "NULL",
				    b ? "\"" : "");
		return;
	}
	if (strcmp(a, b) != 0)
		check_fail_(file, line, "%s == %s: \"%s\" vs \"%s\"", ea, eb, a, b);
}

static inline void check_mem_(const char *file, int line, const char *ea, const char *eb,
			      const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++) {
		if (x[i] != y[i])
			check_fail_(file, line,
				    "%s == %s (%zu bytes): first difference at offset %zu: "
				    "0x%02x vs 0x%02x",
				    ea, eb, len, i, x[i], y[i]);
	}
}

static inline void check_nonempty_str_(const char *file, int line, const char *es, const char *s)
{
	if (s == NULL || s[0] == '\0')
		check_fail_(file, line, "%s is empty: %s", es, s ? "\"\"" : "NULL");
}

/* Fails unless cond is true. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_fail_(__FILE__, __LINE__, "CHECK(%s)", #cond);                       \
	} while (0)

/* Fails unless cond is true, with a printf-style explanation (at least one argument). */
#define CHECK_MSG(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_fail_(__FILE__, __LINE__, __VA_ARGS__);                              \
	} while (0)

/* Signed integer comparisons (both sides converted to long long, evaluated once). */
#define CHECK_INT_OP_(a, op, b)                                                                    \
	do {                                                                                       \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                    \
		check_int_(__FILE__, __LINE__, #a, #op, #b, check_a_, check_b_,                    \
			   check_a_ op check_b_);                                                  \
	} while (0)
#define CHECK_EQ_INT(a, b) CHECK_INT_OP_(a, ==, b)
#define CHECK_NE_INT(a, b) CHECK_INT_OP_(a, !=, b)
#define CHECK_LT_INT(a, b) CHECK_INT_OP_(a, <, b)
#define CHECK_LE_INT(a, b) CHECK_INT_OP_(a, <=, b)
#define CHECK_GT_INT(a, b) CHECK_INT_OP_(a, >, b)
#define CHECK_GE_INT(a, b) CHECK_INT_OP_(a, >=, b)

/* Unsigned 64-bit comparisons (sizes, counters, nanoseconds). */
#define CHECK_U64_OP_(a, op, b)                                                                    \
	do {                                                                                       \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);                       \
		check_u64_(__FILE__, __LINE__, #a, #op, #b, check_a_, check_b_,                    \
			   check_a_ op check_b_);                                                  \
	} while (0)
#define CHECK_EQ_U64(a, b) CHECK_U64_OP_(a, ==, b)
#define CHECK_NE_U64(a, b) CHECK_U64_OP_(a, !=, b)
#define CHECK_LT_U64(a, b) CHECK_U64_OP_(a, <, b)
#define CHECK_LE_U64(a, b) CHECK_U64_OP_(a, <=, b)
#define CHECK_GT_U64(a, b) CHECK_U64_OP_(a, >, b)
#define CHECK_GE_U64(a, b) CHECK_U64_OP_(a, >=, b)

/* Pointer equality. */
#define CHECK_EQ_PTR(a, b)                                                                         \
	do {                                                                                       \
		const void *check_a_ = (a), *check_b_ = (b);                                       \
		if (check_a_ != check_b_)                                                          \
			check_fail_(__FILE__, __LINE__, "%s == %s: %p vs %p", #a, #b, check_a_,    \
				    check_b_);                                                     \
	} while (0)

/* NUL-terminated strings (NULL allowed on either side). */
#define CHECK_EQ_STR(a, b) check_str_(__FILE__, __LINE__, #a, #b, (a), (b))

/* A NUL-terminated string that is neither NULL nor "". */
#define CHECK_NONEMPTY_STR(s) check_nonempty_str_(__FILE__, __LINE__, #s, (s))

/* len bytes of memory; reports the first differing offset. */
#define CHECK_EQ_MEM(a, b, len) check_mem_(__FILE__, __LINE__, #a, #b, (a), (b), (len))

/* A coring call that must succeed (return >= 0); a failure prints the -errno as text. */
#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		long long check_r_ = (long long)(expr);                                            \
		if (check_r_ < 0)                                                                  \
			check_fail_(__FILE__, __LINE__, "%s: returned %lld (%s)", #expr, check_r_, \
				    strerror((int)-check_r_));                                     \
	} while (0)

/*
 * Runs fn(arg) as the main task (cfg NULL = defaults) and returns its result.
 * Skips the test (exit 77) when io_uring cannot be used on this machine
 * (-ENOSYS, -EPERM, -EACCES: disabled by sysctl or seccomp); any other
 * cr_run failure fails the test with cr_setup_error().
 */
static inline int check_run(const cr_config *cfg, cr_task_fn fn, void *arg)
{
	int result = 0;
	int rc = cr_run(cfg, fn, arg, &result);

	if (rc == -ENOSYS || rc == -EPERM || rc == -EACCES)
		check_skip("io_uring is not usable here: %s", cr_setup_error());
	if (rc < 0)
		check_fail_(__FILE__, __LINE__, "cr_run: returned %d (%s): %s", rc, strerror(-rc),
			    cr_setup_error());
	return result;
}

/* From a task: re-evaluates cond every millisecond (sleeping in between) and
 * fails the test with `what` if it does not hold within 10 s. */
#define CHECK_WAIT_UNTIL(cond, what)                                                               \
	do {                                                                                       \
		uint64_t wu_end_ = cr_now_ns() + 10000000000ull;                                   \
		while (!(cond)) {                                                                  \
			CHECK_MSG(cr_now_ns() < wu_end_, "timed out waiting for %s", what);        \
			CHECK_EQ_INT(cr_sleep(1000000), 0);                                        \
		}                                                                                  \
	} while (0)

/* Fails the test (exit 1 with a message) if it is still running after
 * `seconds`: a lost wake-up shows as a clear failure instead of a CTest
 * timeout.  Returns nothing. */
static inline void check_watchdog_fire_(int sig)
{
	static const char msg[] = "FAIL: watchdog: no end in sight (a task was never woken?)\n";
	(void)sig;
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(1);
}

static inline void check_watchdog(unsigned seconds)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = check_watchdog_fire_;
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

#endif
