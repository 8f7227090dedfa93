/* SPDX-License-Identifier: MIT */
/* coring-runtime-bench: times the runtime core against C baselines and prints Markdown or JSON. */
#include <coring.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_RUNS 50
#define DEFAULT_RUNS 5
#define QUICK_RUNS 3
#define QUICK_DIVISOR 10

/* A secondary figure of a measurement. */
typedef struct bench_extra {
	const char *key;   /* JSON key, NULL = unused */
	const char *label; /* Markdown text with one %s for the value */
} bench_extra;

/* One measurement: what it times and how. */
typedef struct bench_case {
	const char *id;			 /* short name for --only and JSON */
	const char *title;		 /* one line saying what is timed */
	const char *unit;		 /* unit of the main value */
	unsigned workers;		 /* 0 = baseline outside cr_run, else workers */
	uint64_t iters;			 /* operations per run */
	bench_fn fn;			 /* one run */
	bench_extra extra[BENCH_EXTRAS]; /* what the sample's extras mean */
} bench_case;

/* clang-format off */
#define RT "ns/round trip"
#define P99 {"p99_ns", "p99 %s ns"}

static const bench_case cases[] = {
	{"swapcontext", "baseline: ucontext swapcontext between 2 contexts", "ns/switch",
	 0, 2000000, bench_swapcontext, {{0}}},
	{"yield", "cr_yield between 2 tasks", "ns/yield", 1, 2000000, bench_yield, {{0}}},
	{"sleep0", "cr_sleep(0) in 1 task", "ns/call", 1, 2000000, bench_sleep0, {{0}}},
	{"spawn_join", "cr_spawn + cr_join of an empty task, one at a time", "ns/pair",
	 1, 500000, bench_spawn_join, {{0}}},
	{"raw_nop", "baseline: liburing NOP, one per submit_and_wait", "ns/op",
	 0, 500000, bench_raw_nop, {{0}}},
	{"nop", "cr_nop, one in flight", "ns/op", 1, 500000, bench_nop,
	 {{"enter_per_op", "%s io_uring_enter/op"}}},
	{"raw_nop64", "baseline: liburing NOPs, 64 per submit_and_wait", "ns/op",
	 0, 2000000, bench_raw_nop64, {{0}}},
	{"nop64", "cr_nop, 64 tasks in flight", "ns/op", 1, 2000000, bench_nop64,
	 {{"enter_per_op", "%s io_uring_enter/op"}}},
	{"call_soon", "cr_call_soon in batches of 1024, then a yield", "ns/callback",
	 1, 2000000, bench_call_soon, {{0}}},
	{"timer_cancel", "cr_call_later + cr_callback_cancel (empty heap)", "ns/pair",
	 1, 2000000, bench_timer_cancel, {{0}}},
	{"timers", "cr_call_at at random deadlines over 100 ms, all fired", "CPU ns/timer",
	 1, 1000000, bench_timers,
	 {{"schedule_ns", "schedule %s ns/timer (wall)"},
	  {"fire_cpu_ns", "fire %s CPU ns/timer"},
	  {"tail_us", "last callback %s us after the last deadline"}}},
	{"condvar", "baseline: pthread mutex+condvar ping-pong, 2 threads", RT,
	 0, 10000, bench_condvar, {P99, {"mean_ns", "mean %s ns"}}},
	{"spin", "baseline: atomic ping-pong between 2 spinning threads", RT,
	 0, 100000, bench_spin, {P99, {"mean_ns", "mean %s ns"}}},
	{"xw_wake", "cross-worker wake ping-pong, workers 0<->1 (internal wait records)", RT,
	 2, 100000, bench_xw_wake,
	 {P99, {"enter_per_wake", "%s io_uring_enter/wake-up"},
	  {"doorbells_per_wake", "%s doorbells/wake-up"}}},
	{"xw_spawn_join", "cr_spawn on worker 1 + cr_join from worker 0, empty task", RT,
	 2, 50000, bench_xw_spawn_join,
	 {P99, {"enter_per_msg", "%s io_uring_enter/inbox message"},
	  {"msgs_per_rt", "%s inbox messages/round trip"}}},
	{"to_thread", "cr_to_thread of an empty function (1 worker)", RT,
	 1, 10000, bench_to_thread,
	 {P99, {"mean_ns", "mean %s ns"}, {"enter_per_call", "%s io_uring_enter/call"}}},
	{"mutex", "baseline: pthread_mutex_lock + unlock, uncontended (process has 2 threads)",
	 "ns/pair", 0, 2000000, bench_mutex, {{0}}},
	{"lock_uncontended", "cr_lock_acquire + cr_lock_release, uncontended, 1 task", "ns/pair",
	 1, 2000000, bench_lock_uncontended, {{0}}},
	{"sem_uncontended", "cr_sem_acquire + cr_sem_release (value 1), 1 task", "ns/pair",
	 1, 2000000, bench_sem_uncontended, {{0}}},
	{"lock_handoff", "cr_lock handed between 2 tasks taking turns", "ns/hand-off",
	 1, 500000, bench_lock_handoff,
	 {{"enter_per_handoff", "%s io_uring_enter/hand-off"},
	  {"switches_per_handoff", "%s switches/hand-off"},
	  {"handoffs_per_release", "%s hand-offs/release"}}},
	{"event_rt", "cr_event ping-pong between 2 tasks (set, wait, clear)", RT,
	 1, 200000, bench_event_rt, {{0}}},
	{"cond_rt", "cr_cond ping-pong between 2 tasks (flag, notify, wait)", RT,
	 1, 200000, bench_cond_rt, {{0}}},
	{"queue_pingpong", "cr_queue ping-pong between 2 tasks, 2 queues of capacity 1", RT,
	 1, 200000, bench_queue_pingpong, {{0}}},
	{"queue_throughput", "cr_queue producer -> consumer task, capacity 1024", "ns/item",
	 1, 1000000, bench_queue_throughput,
	 {{"enter_per_item", "%s io_uring_enter/item"},
	  {"switches_per_item", "%s switches/item"}}},
	{"xw_lock_handoff", "cr_lock handed between tasks on workers 0 and 1", "ns/hand-off",
	 2, 100000, bench_xw_lock_handoff,
	 {{"enter_per_handoff", "%s io_uring_enter/hand-off"},
	  {"doorbells_per_handoff", "%s doorbells/hand-off"},
	  {"handoffs_per_release", "%s hand-offs/release"}}},
	{"xw_queue", "cr_queue producer on worker 0 -> consumer on worker 1, capacity 1024",
	 "ns/item", 2, 200000, bench_xw_queue_throughput,
	 {{"enter_per_item", "%s io_uring_enter/item"},
	  {"wakeups_per_item", "%s cross-worker wake-ups/item"},
	  {"doorbells_per_item", "%s doorbells/item"}}},
};
#undef RT
#undef P99
/* clang-format on */
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* A ratio printed after the table: numerator / denominator, by case id. */
typedef struct bench_ratio {
	const char *title; /* what the ratio compares */
	const char *num;   /* case id of the numerator */
	const char *den;   /* case id of the denominator */
} bench_ratio;

static const bench_ratio ratios[] = {
	{"cr_yield / swapcontext switch", "yield", "swapcontext"},
	{"cr_nop / raw liburing NOP", "nop", "raw_nop"},
	{"cr_nop x64 tasks / raw liburing NOP x64 batch", "nop64", "raw_nop64"},
	{"cross-worker wake round trip / condvar round trip", "xw_wake", "condvar"},
	{"cross-worker wake round trip / spinning threads round trip", "xw_wake", "spin"},
	{"cross-worker spawn+join / condvar round trip", "xw_spawn_join", "condvar"},
	{"cr_lock acquire+release / pthread mutex lock+unlock (uncontended)", "lock_uncontended",
	 "mutex"},
	{"cr_lock hand-off / cr_yield", "lock_handoff", "yield"},
};
#define NRATIOS (sizeof(ratios) / sizeof(ratios[0]))

/* What the runs of one case gave. */
typedef struct case_result {
	int selected;			/* 1 if it was run */
	int err;			/* 0 or the negative errno that stopped it */
	const char *why;		/* explanation of err when known, else NULL */
	uint64_t iters;			/* operations per run */
	unsigned n;			/* runs that completed */
	bench_sample samples[MAX_RUNS]; /* per run */
	double median, min, max;	/* of samples[].value */
	double extra[BENCH_EXTRAS];	/* median of each extra over the runs */
	double others;			/* % of all CPUs used by other processes meanwhile */
} case_result;

/* Command-line options. */
typedef struct options {
	int json;	  /* 1 = JSON instead of Markdown */
	int quick;	  /* 1 = a tenth of the work, 3 runs */
	unsigned runs;	  /* measured runs per case (after one warm-up run) */
	const char *only; /* comma-separated case ids, NULL = all */
} options;

static case_result results[NCASES];
static int coring_ring_flags = -1; /* io_uring setup flags the runtime used, -1 = no run */
static unsigned coring_guard_mode; /* stack guard mode the runtime used (cr_stats) */

#if defined(__clang__) || !defined(__GNUC__)
#define COMPILER __VERSION__
#else
#define COMPILER "gcc " __VERSION__
#endif

/* ---- shared helpers (declared in bench.h) --------------------------------------------- */

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void bench_latency_summary(uint64_t *v, size_t n, double *median, double *p99, double *mean)
{
	double sum = 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	if (median)
		*median = (double)v[n / 2];
	if (p99)
		*p99 = (double)v[n * 99 / 100];
	if (mean)
		*mean = sum / (double)n;
}

/* Returns the median of v[0..n) (sorting it), n > 0. */
static double median_of(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- running the cases -------------------------------------------------------------- */

/* What the main task of one coring case needs. */
typedef struct case_job {
	const bench_case *c; /* the case */
	case_result *res;    /* where its samples go */
	unsigned runs;	     /* measured runs */
} case_job;

/* Runs one warm-up run, then the measured runs, into job->res.  Returns 0 or -errno. */
static int run_samples(const bench_case *c, case_result *res, unsigned runs)
{
	bench_sample warm;
	int r = c->fn(res->iters, &warm);
	for (res->n = 0; r == 0 && res->n < runs; res->n++)
		r = c->fn(res->iters, &res->samples[res->n]);
	return r;
}

/* Main task of a coring case.  Returns 0 or -errno. */
static int case_main(void *arg)
{
	case_job *job = arg;
	cr_stats s;
	if (cr_stats_get(&s) == 0) {
		coring_ring_flags = (int)s.ring_flags;
		coring_guard_mode = s.guard_mode;
	}
	return run_samples(job->c, job->res, job->runs);
}

/* Runs case c inside a fresh cr_run with c->workers workers.  Fills res. */
static void run_coring_case(const bench_case *c, case_result *res, unsigned runs)
{
	cr_config cfg;
	case_job job = {c, res, runs};
	int result = 0;
	cr_config_init(&cfg);
	cfg.workers = c->workers;
	int r = cr_run(&cfg, case_main, &job, &result);
	if (r < 0) {
		res->err = r;
		res->why = cr_setup_error();
	} else {
		res->err = result;
	}
}

/* Computes median, min, max and the extras' medians of res's samples. */
static void summarize(case_result *res)
{
	double v[MAX_RUNS];
	if (res->n == 0)
		return;
	for (unsigned i = 0; i < res->n; i++)
		v[i] = res->samples[i].value;
	res->median = median_of(v, res->n);
	res->min = v[0];
	res->max = v[res->n - 1];
	for (unsigned k = 0; k < BENCH_EXTRAS; k++) {
		for (unsigned i = 0; i < res->n; i++)
			v[i] = res->samples[i].extra[k];
		res->extra[k] = median_of(v, res->n);
	}
}

/* Returns 1 if id is in the comma-separated list (NULL = every id), else 0. */
static int selected(const char *list, const char *id)
{
	size_t len = strlen(id);
	if (!list)
		return 1;
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, id, n) == 0)
			return 1;
		p += n + (end != NULL);
	}
	return 0;
}

/* CPU accounting around one case, to tell how busy the rest of the machine was. */
typedef struct cpu_mark {
	uint64_t wall_ns; /* monotonic clock */
	uint64_t busy_ns; /* non-idle time of all CPUs (/proc/stat, steal included) */
	uint64_t self_ns; /* CPU time of this process, all threads */
} cpu_mark;

/* Returns the non-idle time of all CPUs since boot in ns, or 0 if /proc/stat is unreadable. */
static uint64_t machine_busy_ns(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return 0;
	/* user nice system [idle iowait] irq softirq steal */
	unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (uint64_t)(busy * (1e9 / (double)sysconf(_SC_CLK_TCK)));
}

static cpu_mark cpu_mark_now(void)
{
	struct rusage ru;
	cpu_mark m = {bench_now_ns(), machine_busy_ns(), 0};
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		m.self_ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
			    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
	return m;
}

/* Returns the share of all CPUs (%) used by others between a and b (tick resolution). */
static double others_percent(cpu_mark a, cpu_mark b)
{
	double busy = (double)(b.busy_ns - a.busy_ns), self = (double)(b.self_ns - a.self_ns);
	double capacity = (double)(b.wall_ns - a.wall_ns) * (double)sysconf(_SC_NPROCESSORS_ONLN);
	double others = busy > self ? busy - self : 0.0;
	return capacity > 0 ? 100.0 * others / capacity : 0.0;
}

/* Runs every selected case; progress goes to stderr.  Returns the number that failed. */
static int run_all(const options *o)
{
	int failed = 0;
	for (size_t i = 0; i < NCASES; i++) {
		const bench_case *c = &cases[i];
		case_result *res = &results[i];
		if (!selected(o->only, c->id))
			continue;
		res->selected = 1;
		res->iters = o->quick ? c->iters / QUICK_DIVISOR : c->iters;
		fprintf(stderr, "bench: %-16s ...", c->id);
		cpu_mark m0 = cpu_mark_now();
		if (c->workers == 0)
			res->err = run_samples(c, res, o->runs);
		else
			run_coring_case(c, res, o->runs);
		cpu_mark m1 = cpu_mark_now();
		res->others = others_percent(m0, m1);
		summarize(res);
		fprintf(stderr, " %.2f s, others used %.0f%% of the CPUs%s\n",
			(double)(m1.wall_ns - m0.wall_ns) / 1e9, res->others,
			res->err ? " FAILED" : "");
		failed += res->err != 0;
	}
	return failed;
}

/* ---- machine description ------------------------------------------------------------ */

/* Machine facts printed with the results. */
typedef struct machine {
	long cpus;	      /* online CPUs */
	char model[128];      /* CPU model name */
	char kernel[160];     /* uname release and machine */
	char date[32];	      /* UTC, ISO 8601 */
	char load_before[64]; /* /proc/loadavg before the runs */
	char load_after[64];  /* ... and after */
} machine;

/* Copies the first line of path (without newline) into buf, or "?" if unreadable. */
static void read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	snprintf(buf, len, "?");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* Writes the 1, 5 and 15 minute load averages into buf, or "?". */
static void read_loadavg(char *buf, size_t len)
{
	char line[128];
	double a, b, c;
	read_first_line("/proc/loadavg", line, sizeof(line));
	if (sscanf(line, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(buf, len, "?");
}

/* Writes the "model name" of /proc/cpuinfo into buf, or "?" if absent. */
static void read_cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");
	snprintf(buf, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(buf, len, "%s", colon + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static void describe_machine(machine *m)
{
	struct utsname u;
	time_t now = time(NULL);
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	read_cpu_model(m->model, sizeof(m->model));
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s", u.release, u.machine);
	else
		snprintf(m->kernel, sizeof(m->kernel), "?");
	strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	read_loadavg(m->load_before, sizeof(m->load_before));
}

/* Writes the names of io_uring setup flags into buf ("not measured" for -1). */
static void ring_flag_names(int flags, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{1u << 3, "CQSIZE"},
		     {1u << 7, "SUBMIT_ALL"},
		     {1u << 8, "COOP_TASKRUN"},
		     {1u << 12, "SINGLE_ISSUER"},
		     {1u << 13, "DEFER_TASKRUN"}};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags >= 0 && ((unsigned)flags & names[i].bit) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
						 names[i].name);
	if (!used)
		snprintf(buf, len, flags < 0 ? "not measured" : "none");
}

/* Returns the name of a cr_stats.guard_mode value. */
static const char *guard_name(unsigned mode)
{
	static const char *const names[] = {"MADV_GUARD_INSTALL", "mprotect", "canary only"};
	return mode < 3 ? names[mode] : "?";
}

/* ---- output ------------------------------------------------------------------------- */

/* Returns the index of the case with this id, or -1. */
static int case_index(const char *id)
{
	for (size_t i = 0; i < NCASES; i++)
		if (strcmp(cases[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* Computes ratio r from the results: *med of medians, *min of mins.  Returns 1 if both
 * cases ran without error, else 0. */
static int ratio_value(const bench_ratio *r, double *med, double *min)
{
	int a = case_index(r->num), b = case_index(r->den);
	if (a < 0 || b < 0)
		return 0;
	const case_result *x = &results[a], *y = &results[b];
	if (!x->selected || !y->selected || x->err || y->err || !x->n || !y->n)
		return 0;
	*med = x->median / y->median;
	*min = x->min / y->min;
	return 1;
}

/* Formats a number with precision suited to its size into buf.  Returns buf. */
static const char *num(double v, char *buf, size_t len)
{
	if (v >= 100 || v <= -100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 1 || v <= -1)
		snprintf(buf, len, "%.1f", v);
	else if (v == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%.3f", v);
	return buf;
}

/* Prints the notes cell of one result: its extras, or its error. */
static void print_notes(const bench_case *c, const case_result *res)
{
	char b[32];
	if (res->err) {
		printf("FAILED: %s%s%s", strerror(-res->err), res->why && *res->why ? ": " : "",
		       res->why ? res->why : "");
		return;
	}
	for (unsigned k = 0; k < BENCH_EXTRAS && c->extra[k].label; k++) {
		if (k)
			printf("; ");
		printf(c->extra[k].label, num(res->extra[k], b, sizeof(b)));
	}
}

static void print_markdown(const options *o, const machine *m)
{
	char b1[32], b2[32], flags[128], raw[128];
	ring_flag_names(coring_ring_flags, flags, sizeof(flags));
	ring_flag_names(bench_raw_ring_flags(), raw, sizeof(raw));
	printf("## coring-runtime-bench %s%s\n\n", CR_VERSION_STRING, o->quick ? " (--quick)" : "");
	printf("- machine: %ld CPUs, %s, Linux %s; compiler %s\n", m->cpus, m->model, m->kernel,
	       COMPILER);
	printf("- date: %s; load average before: %s; after: %s\n", m->date, m->load_before,
	       m->load_after);
	printf("- %u measured runs per row after 1 warm-up run; median and min of the per-run "
	       "figure; spread = max/min - 1;\n  others = share of all CPUs used by other "
	       "processes "
	       "during the row (from /proc/stat)\n",
	       o->runs);
	printf("- coring ring flags: %s, stack guards: %s; raw liburing ring flags: %s\n\n", flags,
	       guard_name(coring_guard_mode), raw);
	printf("| id | what | n/run | median | min | unit | spread | others | notes (median over "
	       "runs) |\n");
	printf("|---|---|---:|---:|---:|---|---:|---:|---|\n");
	for (size_t i = 0; i < NCASES; i++) {
		const case_result *res = &results[i];
		if (!res->selected)
			continue;
		printf("| `%s` | %s | %llu | %s | %s | %s | %.0f%% | %.0f%% | ", cases[i].id,
		       cases[i].title, (unsigned long long)res->iters,
		       res->n ? num(res->median, b1, sizeof(b1)) : "-",
		       res->n ? num(res->min, b2, sizeof(b2)) : "-", cases[i].unit,
		       res->n ? 100 * (res->max / res->min - 1) : 0.0, res->others);
		print_notes(&cases[i], res);
		printf(" |\n");
	}
	int header = 0;
	for (size_t i = 0; i < NRATIOS; i++) {
		double med, min;
		if (!ratio_value(&ratios[i], &med, &min))
			continue;
		if (!header++)
			printf("\n| ratio | of medians | of mins |\n|---|---:|---:|\n");
		printf("| %s | %.2f | %.2f |\n", ratios[i].title, med, min);
	}
}

/* Prints s as a JSON string (the texts here need no escapes beyond quotes). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void json_case(const bench_case *c, const case_result *res)
{
	printf("    {\"id\": ");
	json_str(c->id);
	printf(", \"what\": ");
	json_str(c->title);
	printf(", \"unit\": ");
	json_str(c->unit);
	printf(", \"iters\": %llu, \"error\": %d, \"median\": %.3f, \"min\": %.3f, \"max\": %.3f,"
	       " \"others_cpu_percent\": %.1f, \"samples\": [",
	       (unsigned long long)res->iters, res->err, res->median, res->min, res->max,
	       res->others);
	for (unsigned i = 0; i < res->n; i++)
		printf("%s%.3f", i ? ", " : "", res->samples[i].value);
	printf("], \"extras\": {");
	for (unsigned k = 0; k < BENCH_EXTRAS && c->extra[k].key; k++) {
		printf("%s", k ? ", " : "");
		json_str(c->extra[k].key);
		printf(": %.4f", res->extra[k]);
	}
	printf("}}");
}

static void print_json(const options *o, const machine *m)
{
	printf("{\n  \"version\": \"%s\", \"quick\": %s, \"runs\": %u,\n", CR_VERSION_STRING,
	       o->quick ? "true" : "false", o->runs);
	printf("  \"machine\": {\"cpus\": %ld, \"model\": ", m->cpus);
	json_str(m->model);
	printf(", \"kernel\": ");
	json_str(m->kernel);
	printf(", \"compiler\": ");
	json_str(COMPILER);
	printf(", \"date\": \"%s\", \"loadavg_before\": ", m->date);
	json_str(m->load_before);
	printf(", \"loadavg_after\": ");
	json_str(m->load_after);
	printf(", \"coring_ring_flags\": %d, \"raw_ring_flags\": %d},\n  \"results\": [\n",
	       coring_ring_flags, bench_raw_ring_flags());
	int first = 1;
	for (size_t i = 0; i < NCASES; i++) {
		if (!results[i].selected)
			continue;
		printf("%s", first ? "" : ",\n");
		json_case(&cases[i], &results[i]);
		first = 0;
	}
	printf("\n  ],\n  \"ratios\": [");
	first = 1;
	for (size_t i = 0; i < NRATIOS; i++) {
		double med, min;
		if (!ratio_value(&ratios[i], &med, &min))
			continue;
		printf("%s\n    {\"what\": ", first ? "" : ",");
		json_str(ratios[i].title);
		printf(", \"of_medians\": %.4f, \"of_mins\": %.4f}", med, min);
		first = 0;
	}
	printf("\n  ]\n}\n");
}

/* ---- command line ------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coring-runtime-bench [--json] [--quick] [--runs N] [--only ID,ID...] "
		"[--list]\n"
		"Times the coring runtime core (yield, spawn+join, cr_nop, callbacks, timers,\n"
		"cross-worker wake-ups, cr_to_thread), the sync primitives (lock, semaphore,\n"
		"event, condition, queue) and C baselines (swapcontext, pthread condvar and\n"
		"mutex, spinning threads, raw liburing NOP) in one run; prints a Markdown\n"
		"table and ratios.\n"
		"  --json     JSON instead of Markdown\n"
		"  --quick    a tenth of the work and %d runs (a smoke run, not for reporting)\n"
		"  --runs N   measured runs per benchmark, after one warm-up run (default %d, "
		"max %d)\n"
		"  --only L   run only the comma-separated benchmark ids in L\n"
		"  --list     print the benchmark ids and exit\n"
		"Progress goes to stderr; results to stdout.  Exit status 1 if a benchmark "
		"failed.\n",
		QUICK_RUNS, DEFAULT_RUNS, MAX_RUNS);
}

/* Parses argv into o.  Returns 0 to run, 1 to exit successfully, -1 on a usage error. */
static int parse_args(int argc, char **argv, options *o)
{
	int runs_given = 0;
	memset(o, 0, sizeof(*o));
	o->runs = DEFAULT_RUNS;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "--list") == 0) {
			for (size_t k = 0; k < NCASES; k++)
				printf("%-16s %s\n", cases[k].id, cases[k].title);
			return 1;
		} else if (strcmp(a, "--json") == 0) {
			o->json = 1;
		} else if (strcmp(a, "--quick") == 0) {
			o->quick = 1;
		} else if (strcmp(a, "--runs") == 0 && i + 1 < argc) {
			char *end;
			unsigned long n = strtoul(argv[++i], &end, 10);
			if (*end || n < 1 || n > MAX_RUNS)
				return -1;
			o->runs = (unsigned)n;
			runs_given = 1;
		} else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
			o->only = argv[++i];
		} else {
			return -1;
		}
	}
	if (o->quick && !runs_given)
		o->runs = QUICK_RUNS;
	return 0;
}

int main(int argc, char **argv)
{
	options o;
	machine m;
	int r = parse_args(argc, argv, &o);
	if (r != 0) {
		if (r < 0)
			usage(stderr);
		return r < 0 ? 2 : 0;
	}
	describe_machine(&m);
	int failed = run_all(&o);
	read_loadavg(m.load_after, sizeof(m.load_after));
	if (o.json)
		print_json(&o, &m);
	else
		print_markdown(&o, &m);
	return failed ? 1 : 0;
}
