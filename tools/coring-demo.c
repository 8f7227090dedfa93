/* SPDX-License-Identifier: MIT */
/* coring-demo: a short tour of the runtime through its public API, with a small report. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coring.h>

/* What to run, from the command line. */
struct demo_opts {
	unsigned long tasks;	/* concurrent sleeping tasks */
	unsigned long yields;	/* yield round trips between two tasks */
	unsigned long spawns;	/* spawn+join pairs */
	unsigned long timers;	/* call_at callbacks */
	unsigned long file_mib; /* MiB written and read back */
};

static struct demo_opts opts = {
	.tasks = 10000,
	.yields = 1000000,
	.spawns = 100000,
	.timers = 100000,
	.file_mib = 16,
};

static int failures;

static double ms_since(uint64_t start_ns)
{
	return (double)(cr_now_ns() - start_ns) / 1e6;
}

/* Prints one report line: section name, verdict and a free-form measurement. */
static void report(const char *section, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(const char *section, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("  %-12s %-4s ", section, ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

/* ---- many concurrent tasks that sleep and yield ------------------------------ */

static int sleeper(void *arg)
{
	unsigned long i = (unsigned long)(uintptr_t)arg;
	int rc = cr_sleep((i % 10 + 1) * 1000000ull);

	for (int k = 0; rc == 0 && k < 3; k++)
		rc = cr_yield();
	return rc < 0 ? rc : (int)(i & 0xffff);
}

static void demo_tasks(void)
{
	unsigned long n = opts.tasks, bad = 0;
	cr_task **tasks = calloc(n, sizeof(*tasks));
	int *results = calloc(n, sizeof(*results));
	uint64_t t0 = cr_now_ns();
	unsigned long spawned = 0;
	int rc = 0;

	if (!tasks || !results) {
		report("tasks", 0, "out of memory for %lu tasks", n);
		goto out;
	}
	for (; spawned < n; spawned++) {
		rc = cr_spawn(&tasks[spawned], sleeper, (void *)(uintptr_t)spawned, NULL);
		if (rc < 0)
			break;
	}
	if (spawned > 0 && cr_gather(tasks, spawned, results) < 0)
		bad = spawned;
	for (unsigned long i = 0; i < spawned && !bad; i++)
		bad += results[i] != (int)(i & 0xffff);
	report("tasks", rc == 0 && bad == 0,
	       "%lu tasks slept 1-10 ms and yielded 3 times each: %.1f ms in all%s%s", spawned,
	       ms_since(t0), rc < 0 ? ", spawn failed: " : "", rc < 0 ? strerror(-rc) : "");
out:
	free(tasks);
	free(results);
}

/* ---- yield round trips between two tasks ------------------------------------ */

static int yielder(void *arg)
{
	unsigned long n = *(const unsigned long *)arg;

	for (unsigned long i = 0; i < n; i++) {
		int rc = cr_yield();

		if (rc < 0)
			return rc;
	}
	return 0;
}

static void demo_yield(void)
{
	unsigned long n = opts.yields;
	cr_task *t[2];
	int results[2] = {-1, -1};
	uint64_t t0 = cr_now_ns(), ns;
	int rc = cr_spawn(&t[0], yielder, &n, &(cr_spawn_opts){.name = "ping"});

	if (rc == 0 && (rc = cr_spawn(&t[1], yielder, &n, &(cr_spawn_opts){.name = "pong"})) < 0)
		cr_join(t[0], NULL);
	if (rc == 0)
		rc = cr_gather(t, 2, results);
	ns = cr_now_ns() - t0;
	if (rc < 0 || results[0] != 0 || results[1] != 0 || n == 0) {
		report("yield", n == 0, "no yields measured%s",
		       rc < 0 ? " (spawn/gather failed)" : "");
		return;
	}
	/* Each round trip is two switches: ping -> pong -> ping. */
	report("yield", 1, "%lu round trips between two tasks: %.1f ns each, %.2f M switches/s", n,
	       (double)ns / (double)n, 2e3 * (double)n / (double)ns);
}

/* ---- spawn + join ---------------------------------------------------------- */

static int returns_arg(void *arg)
{
	return (int)(uintptr_t)arg;
}

static void demo_spawn_join(void)
{
	unsigned long n = opts.spawns, done = 0;
	uint64_t t0 = cr_now_ns(), ns;
	int rc = 0;

	for (; done < n; done++) {
		cr_task *t;
		int result = -1;

		rc = cr_spawn(&t, returns_arg, (void *)(uintptr_t)(done & 0xff), NULL);
		if (rc == 0)
			rc = cr_join(t, &result);
		if (rc == 0 && result != (int)(done & 0xff))
			rc = -EIO;
		if (rc < 0)
			break;
	}
	ns = cr_now_ns() - t0;
	report("spawn+join", rc == 0, "%lu pairs: %.1f ns each%s%s", done,
	       done ? (double)ns / (double)done : 0.0, rc < 0 ? ", failed: " : "",
	       rc < 0 ? strerror(-rc) : "");
}

/* ---- many timers: call_at callbacks with shared deadlines ------------------- */

/* One scheduled callback and the deadline it was given. */
struct timer_entry {
	uint64_t deadline; /* absolute monotonic deadline */
	unsigned long idx; /* scheduling order */
};

/* What the timer callbacks observed. */
struct timer_log {
	unsigned long fired;	    /* callbacks run */
	unsigned long out_of_order; /* fired before an earlier deadline or scheduling order */
	uint64_t last_deadline;	    /* deadline of the previous callback */
	unsigned long last_idx;	    /* index of the previous callback */
	uint64_t last_fire_ns;	    /* when the latest callback ran */
};

static struct timer_log tlog;

static void on_timer(void *arg)
{
	const struct timer_entry *e = arg;
	uint64_t now = cr_now_ns();

	if (tlog.fired > 0 && (e->deadline < tlog.last_deadline ||
			       (e->deadline == tlog.last_deadline && e->idx < tlog.last_idx)))
		tlog.out_of_order++;
	tlog.last_fire_ns = now;
	tlog.last_deadline = e->deadline;
	tlog.last_idx = e->idx;
	tlog.fired++;
}

static void demo_timers(void)
{
	const unsigned long buckets = 100; /* distinct deadlines; the rest are ties */
	const uint64_t spacing = 500000;   /* 0.5 ms between deadlines */
	unsigned long n = opts.timers, scheduled = 0;
	struct timer_entry *e = calloc(n ? n : 1, sizeof(*e));
	uint64_t t0 = cr_now_ns(), base = t0 + 2000000, last, sched_ns, give_up;

	memset(&tlog, 0, sizeof(tlog));
	if (!e) {
		report("timers", 0, "out of memory for %lu timers", n);
		return;
	}
	for (; scheduled < n; scheduled++) {
		e[scheduled].deadline = base + (scheduled % buckets) * spacing;
		e[scheduled].idx = scheduled;
		if (cr_call_at(e[scheduled].deadline, on_timer, &e[scheduled]) == 0)
			break;
	}
	sched_ns = cr_now_ns() - t0; /* no callback runs before this task waits */
	/* Wait for the last deadline, then a little more for stragglers (bounded). */
	last = base + (buckets - 1) * spacing;
	give_up = last + 5000000000ull;
	cr_sleep_until(last);
	while (tlog.fired < scheduled && cr_now_ns() < give_up && cr_sleep(1000000) == 0)
		;
	report("timers", scheduled == n && tlog.fired == n && tlog.out_of_order == 0,
	       "%lu call_at on %lu deadlines: scheduled at %.0f ns each, %lu fired, %lu out of "
	       "order, the last %.2f ms after its deadline",
	       scheduled, buckets, scheduled ? (double)sched_ns / (double)scheduled : 0.0,
	       tlog.fired, tlog.out_of_order,
	       tlog.last_fire_ns > last ? (double)(tlog.last_fire_ns - last) / 1e6 : 0.0);
	free(e);
}

/* ---- deadlines and cancellation ---------------------------------------------- */

static int long_sleeper(void *arg)
{
	(void)arg;
	return cr_sleep(10ull * 1000000000ull);
}

static void demo_deadline_cancel(void)
{
	cr_deadline d;
	cr_task *t;
	uint64_t t0 = cr_now_ns();
	int rc, result = 0, charged;

	cr_timeout_enter(&d, 5000000); /* 5 ms */
	rc = cr_sleep(1000000000ull);  /* would be 1 s */
	charged = cr_deadline_exit(&d);
	report("deadline", rc == -ETIMEDOUT && charged == 1,
	       "1 s sleep inside a 5 ms scope returned %s after %.2f ms",
	       rc == -ETIMEDOUT ? "-ETIMEDOUT" : strerror(-rc), ms_since(t0));

	t0 = cr_now_ns();
	rc = cr_spawn(&t, long_sleeper, NULL, &(cr_spawn_opts){.name = "sleepy"});
	if (rc == 0) {
		cr_yield(); /* let it start sleeping */
		rc = cr_cancel(t);
		if (rc == 0)
			rc = cr_join(t, &result);
	}
	report("cancel", rc == 0 && result == -ECANCELED,
	       "cancelled a 10 s sleeper: it returned %s after %.2f ms",
	       result == -ECANCELED ? "-ECANCELED" : "something else", ms_since(t0));
}

/* ---- file I/O through the ring ------------------------------------------------ */

static void demo_file(void)
{
	const size_t chunk = 64 * 1024;
	size_t total = (size_t)opts.file_mib * 1024 * 1024, done;
	char path[4096];
	const char *dir = getenv("TMPDIR");
	unsigned char *buf = malloc(chunk), *back = malloc(chunk);
	uint64_t t0, write_ns, read_ns;
	int fd = -1, ok = 0;
	ssize_t rc = 0;

	snprintf(path, sizeof(path), "%s/coring-demo.%ld", dir && *dir ? dir : "/tmp",
		 (long)getpid());
	if (!buf || !back || total == 0)
		goto out;
	fd = cr_file_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	t0 = cr_now_ns();
	for (done = 0; done < total && rc >= 0; done += chunk) {
		memset(buf, (int)(done / chunk) & 0xff, chunk);
		rc = cr_file_write_all(fd, buf, chunk, (int64_t)done);
	}
	if (rc >= 0)
		rc = cr_file_fsync(fd, 0);
	write_ns = cr_now_ns() - t0;
	t0 = cr_now_ns();
	for (done = 0; done < total && rc >= 0; done += chunk) {
		memset(buf, (int)(done / chunk) & 0xff, chunk);
		rc = cr_file_read(fd, back, chunk, (int64_t)done);
		if (rc >= 0 && ((size_t)rc != chunk || memcmp(buf, back, chunk) != 0))
			rc = -EIO;
	}
	read_ns = cr_now_ns() - t0;
	ok = rc >= 0;
	if (ok)
		report("file", 1,
		       "wrote+fsynced %lu MiB at %.0f MiB/s, read back and verified at %.0f MiB/s",
		       opts.file_mib, (double)opts.file_mib * 1e9 / (double)write_ns,
		       (double)opts.file_mib * 1e9 / (double)read_ns);
out:
	if (fd >= 0) {
		if (cr_file_close(fd) < 0)
			ok = 0;
		unlink(path);
	}
	if (!ok)
		report("file", total == 0, "%s: %s", path,
		       total == 0 ? "skipped" : strerror((int)-rc));
	free(buf);
	free(back);
}

/* ---- the main task ---------------------------------------------------------- */

static void print_stats(void)
{
	cr_stats s;

	if (cr_stats_get(&s) < 0)
		return;
	printf("\nloop counters: %" PRIu64 " tasks spawned, %" PRIu64 " switches, %" PRIu64
	       " SQEs in %" PRIu64 " io_uring_enter calls, %" PRIu64 " CQEs, %" PRIu64
	       " timers fired, %" PRIu64 " callbacks run, %" PRIu64 " stacks mapped\n",
	       s.tasks_spawned, s.switches, s.sqes_submitted, s.enter_calls, s.cqes, s.timers_fired,
	       s.callbacks_run, s.stacks_mapped);
	printf("ring setup flags 0x%x, stack guard mode %u (%s)\n", s.ring_flags, s.guard_mode,
	       s.guard_mode == 0   ? "MADV_GUARD_INSTALL"
	       : s.guard_mode == 1 ? "mprotect"
				   : "canary only");
}

static int demo_main(void *arg)
{
	(void)arg;
	printf("coring %s demo (main task \"%s\")\n\n", CR_VERSION_STRING, cr_task_name(NULL));
	demo_tasks();
	demo_yield();
	demo_spawn_join();
	demo_timers();
	demo_deadline_cancel();
	demo_file();
	print_stats();
	return failures;
}

/* ---- command line -------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: coring-demo [options]\n"
		"Runs a short tour of the coring runtime and prints what it measured.\n\n"
		"  -t, --tasks N      concurrent tasks that sleep and yield (default %lu)\n"
		"  -y, --yields N     yield round trips between two tasks (default %lu)\n"
		"  -s, --spawns N     spawn+join pairs (default %lu)\n"
		"  -T, --timers N     call_at callbacks (default %lu)\n"
		"  -f, --file-mib N   MiB written to and read from $TMPDIR (default %lu, 0 = "
		"skip)\n"
		"  -h, --help         print this help\n"
		"  -V, --version      print the version\n\n"
		"Exit status: 0 all ok, 1 a check failed, 2 bad usage, 3 the runtime could not "
		"start.\n",
		opts.tasks, opts.yields, opts.spawns, opts.timers, opts.file_mib);
}

static int parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"tasks", required_argument, NULL, 't'},
		{"yields", required_argument, NULL, 'y'},
		{"spawns", required_argument, NULL, 's'},
		{"timers", required_argument, NULL, 'T'},
		{"file-mib", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c, rc, result = 0;

	while ((c = getopt_long(argc, argv, "t:y:s:T:f:hV", longopts, NULL)) != -1) {
		unsigned long *dst = c == 't'	? &opts.tasks
				     : c == 'y' ? &opts.yields
				     : c == 's' ? &opts.spawns
				     : c == 'T' ? &opts.timers
				     : c == 'f' ? &opts.file_mib
						: NULL;

		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == 'V') {
			printf("coring-demo %s\n", CR_VERSION_STRING);
			return 0;
		}
		if (!dst || parse_count(optarg, c == 'f' ? 4096 : 100000000, dst) < 0) {
			if (dst)
				fprintf(stderr, "coring-demo: bad count '%s' for -%c\n", optarg, c);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "coring-demo: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	rc = cr_run(NULL, demo_main, NULL, &result);
	if (rc < 0) {
		fprintf(stderr, "coring-demo: the runtime could not start (%s): %s\n",
			strerror(-rc), cr_setup_error());
		fprintf(stderr, "coring-demo: run coring-probe to see what this kernel supports\n");
		return 3;
	}
	printf("\n%s\n", result == 0 ? "all checks passed" : "SOME CHECKS FAILED");
	return result == 0 ? 0 : 1;
}
