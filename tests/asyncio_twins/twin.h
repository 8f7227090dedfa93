/* SPDX-License-Identifier: MIT */
/* twin.h: what every asyncio twin shares: error checks, Python's spellings, one-worker cr_run. */
#ifndef CORING_ASYNCIO_TWIN_H
#define CORING_ASYNCIO_TWIN_H

#include <coring.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nanoseconds in a millisecond and in a second (cr_sleep and cr_call_later take ns). */
#define MS 1000000ull
#define SEC 1000000000ull

/* Reports an unexpected failure on stderr and exits 1 (stdout flushed first). */
static inline void twin_fail(const char *file, int line, const char *what, int rc)
{
	fflush(stdout);
	if (rc < 0)
		fprintf(stderr, "%s:%d: %s: returned %d (%s)\n", file, line, what, rc,
			strerror(-rc));
	else
		fprintf(stderr, "%s:%d: %s\n", file, line, what);
	exit(1);
}

/* Returns rc, or exits 1 through twin_fail if rc < 0. */
static inline int twin_check(int rc, const char *what, const char *file, int line)
{
	if (rc < 0)
		twin_fail(file, line, what, rc);
	return rc;
}

/* A call that must not fail: its value, or exit 1 naming the call and the error. */
#define TRY(call) twin_check((call), #call, __FILE__, __LINE__)

/* A failed expectation that is not a call: exit 1 with a message. */
#define FAIL(what) twin_fail(__FILE__, __LINE__, (what), 0)

/*
 * A wait in a task that may be cancelled: -ECANCELED is returned from the
 * enclosing function, the way CancelledError propagates out of a coroutine;
 * any other error exits 1.
 */
#define AWAIT(call)                                                                                \
	do {                                                                                       \
		int await_rc_ = (call);                                                            \
		if (await_rc_ == -ECANCELED)                                                       \
			return await_rc_;                                                          \
		twin_check(await_rc_, #call, __FILE__, __LINE__);                                  \
	} while (0)

/* Python's str() of a bool. */
static inline const char *py_bool(int v)
{
	return v ? "True" : "False";
}

/*
 * asyncio.run(main()): runs main_fn(arg) as the main task on a single worker
 * (asyncio is one thread), then flushes stdout (a pipe under the test, so
 * fully buffered).  Returns the exit status: 0, 1 on any failure, 77 (skip)
 * when io_uring cannot be used here.
 */
static inline int twin_run(cr_task_fn main_fn, void *arg)
{
	cr_config cfg;
	int result = -1;
	int rc;

	cr_config_init(&cfg);
	cfg.workers = 1;
	rc = cr_run(&cfg, main_fn, arg, &result);
	if (fflush(stdout) != 0) {
		perror("fflush(stdout)");
		return 1;
	}
	if (rc == -ENOSYS || rc == -EPERM || rc == -EACCES) {
		fprintf(stderr, "SKIP: io_uring is not usable here: %s\n", cr_setup_error());
		return 77;
	}
	if (rc < 0) {
		fprintf(stderr, "cr_run: returned %d (%s): %s\n", rc, strerror(-rc),
			cr_setup_error());
		return 1;
	}
	if (result != 0) {
		fprintf(stderr, "main task returned %d\n", result);
		return 1;
	}
	return 0;
}

#endif
