/* SPDX-License-Identifier: MIT */
/* Load mode: set up the run, spawn the connections and helpers, wait, sum up, report. */
#include "load.h"
#include "conn.h"
#include "payload.h"
#include "connect.h"
#include "progress.h"
#include "report.h"
#include "stop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocates and fills the run for o.  Returns it, or NULL (message printed). */
static ec_run *run_new(const ec_options *o)
{
	ec_run *r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	r->opt = o;
	int n = ec_resolve(ec_options_target(o), o->port, r->addrs, EC_MAX_ADDRS);
	if (n < 0) {
		free(r);
		return NULL;
	}
	r->n_addrs = (size_t)n;
	if (cr_addr_format(&r->addrs[0], r->target, sizeof(r->target)) < 0)
		snprintf(r->target, sizeof(r->target), "%s", ec_options_target(o));
	r->n_workers = cr_worker_count();
	size_t wsize = (r->n_workers * sizeof(ec_worker) + 63) / 64 * 64;
	r->workers = aligned_alloc(64, wsize);
	r->conns = calloc(o->connections, sizeof(ec_conn));
	if (!r->workers || !r->conns)
		goto nomem;
	memset(r->workers, 0, wsize);
	for (unsigned i = 0; i < r->n_workers; i++)
		ec_hist_init(&r->workers[i].hist);
	r->grace_ns = (uint64_t)(o->grace_s * 1e9);
	r->connect_timeout_ns = (uint64_t)(o->connect_timeout_s * 1e9);
	if (o->rate > 0)
		r->interval_ns = (double)o->connections * 1e9 / o->rate;
	return r;
nomem:
	fprintf(stderr, "coring-echo-client: out of memory\n");
	if (r) {
		free(r->workers);
		free(r->conns);
		free(r);
	}
	return NULL;
}

/* Frees the run.  Returns nothing. */
static void run_free(ec_run *r)
{
	free(r->workers);
	free(r->conns);
	free(r);
}

/* Spawns a helper task on the calling worker.  Returns it, or NULL. */
static cr_task *helper(cr_task_fn fn, ec_run *r, const char *name)
{
	cr_task *t = NULL;
	cr_spawn_opts so = {.name = name};
	if (cr_spawn(&t, fn, r, &so) < 0) {
		fprintf(stderr, "coring-echo-client: cannot start the %s task\n", name);
		return NULL;
	}
	return t;
}

/* Cancels and joins a helper task (NULL: nothing).  Returns nothing. */
static void helper_end(cr_task *t)
{
	if (!t)
		return;
	(void)cr_cancel(t);
	(void)cr_join(t, NULL);
}

/* Connections a launcher spawns between two yields. */
#define SPAWN_BATCH 64

/* The share of connections one launcher starts. */
typedef struct ec_launch {
	ec_run *r;	 /* the run */
	unsigned first;	 /* its first connection */
	unsigned n;	 /* how many */
	cr_task **tasks; /* room for n task handles */
} ec_launch;

/* Prepares connection i for its task.  Returns it. */
static ec_conn *conn_init(ec_run *r, unsigned i)
{
	ec_conn *c = &r->conns[i];
	c->run = r;
	c->id = i;
	c->fd = -1;
	return c;
}

/* A launcher task: spawns its share of the connections on its own worker,
 * SPAWN_BATCH at a time with a yield between batches (so that those spawned
 * begin connecting while the others are spawned, and no spawn waits for
 * another worker), counts those the run ends before as not started, and
 * waits for the rest.  arg is an ec_launch.  Returns 0. */
static int launcher_main(void *arg)
{
	ec_launch *l = arg;
	ec_run *r = l->r;
	ec_worker *w = ec_run_worker(r);
	size_t n = 0;
	for (unsigned k = 0; k < l->n; k++) {
		if (k > 0 && k % SPAWN_BATCH == 0)
			(void)cr_yield();
		if (ec_run_stopping(r, cr_now_ns())) {
			ec_count(&w->st.not_started, l->n - k);
			break;
		}
		unsigned i = l->first + k;
		cr_spawn_opts so = {.name = "ec-conn"};
		int e = cr_spawn(&l->tasks[n], ec_conn_main, conn_init(r, i), &so);
		if (e == 0) {
			n++;
			continue;
		}
		ec_count(&w->st.errors, 1);
		ec_count(&w->st.conns_failed, 1);
		ec_run_error(r, "connection %u: cannot start its task: %s", i, strerror(-e));
	}
	(void)cr_gather(l->tasks, n, NULL);
	return 0;
}

/* Starts one launcher per worker, each with an equal share of the
 * connections, and waits for them.  Returns nothing (a launcher that cannot
 * start makes its connections count as failed). */
static void run_conns(ec_run *r, ec_launch *ls, cr_task **launchers, cr_task **tasks)
{
	unsigned nw = r->n_workers, total = r->opt->connections;
	size_t n = 0;
	ec_worker *self = ec_run_worker(r);
	for (unsigned w = 0; w < nw; w++) {
		ec_launch *l = &ls[w];
		l->r = r;
		l->first = (unsigned)((uint64_t)total * w / nw);
		l->n = (unsigned)((uint64_t)total * (w + 1) / nw) - l->first;
		l->tasks = tasks + l->first;
		if (l->n == 0)
			continue;
		cr_spawn_opts so = {.name = "ec-launch", .placement = CR_ON_WORKER, .worker = w};
		int e = cr_spawn(&launchers[n], launcher_main, l, &so);
		if (e == 0) {
			n++;
			continue;
		}
		ec_count(&self->st.errors, 1);
		ec_count(&self->st.conns_failed, l->n);
		ec_run_error(r, "connections %u to %u: cannot start their launcher: %s", l->first,
			     l->first + l->n - 1, strerror(-e));
	}
	(void)cr_gather(launchers, n, NULL);
}

/* Sums up the run and prints the report.  Returns the exit status. */
static int finish(ec_run *r)
{
	const ec_options *o = r->opt;
	ec_hist *all = malloc(sizeof(*all));
	if (!all) {
		fprintf(stderr, "coring-echo-client: out of memory\n");
		return EC_EXIT_FAILED;
	}
	ec_hist_init(all);
	for (unsigned i = 0; i < r->n_workers; i++)
		ec_hist_merge(all, &r->workers[i].hist);
	ec_report rep = {.opt = o, .target = r->target, .workers = r->n_workers, .lat = all};
	ec_run_totals(r, &rep.t);
	uint64_t end = r->end_ns;
	if (atomic_load_explicit(&r->stop, memory_order_acquire)) {
		uint64_t s = atomic_load_explicit(&r->stop_ns, memory_order_relaxed);
		rep.stopped = 1;
		end = s < end ? s : end;
	}
	rep.abandoned = atomic_load_explicit(&r->abandon, memory_order_relaxed);
	rep.elapsed_s = (double)(end - r->start_ns) / 1e9;
	if (o->json)
		ec_report_json(stdout, &rep);
	else
		ec_report_text(stdout, &rep);
	free(all);
	int status = ec_report_status(&rep);
	if (ec_report_too_few_started(&rep))
		fprintf(stderr,
			"coring-echo-client: warning: %llu of %u connections (%.0f%%) did not "
			"start before the run ended: the load was lighter than asked (fewer "
			"--connections, more --threads or a longer --duration)\n",
			(unsigned long long)rep.t.not_started, o->connections,
			100.0 * (double)rep.t.not_started / o->connections);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "coring-echo-client: could not write the report\n");
		status = EC_EXIT_FAILED;
	}
	return status;
}

int ec_load_run(const ec_options *o)
{
	ec_payload_set_lines(o->lines);
	ec_run *r = run_new(o);
	if (!r)
		return EC_EXIT_FAILED;
	cr_task **tasks = calloc(o->connections, sizeof(*tasks));
	cr_task **launchers = calloc(r->n_workers, sizeof(*launchers));
	ec_launch *ls = calloc(r->n_workers, sizeof(*ls));
	if (!tasks || !launchers || !ls) {
		fprintf(stderr, "coring-echo-client: out of memory\n");
		free(tasks);
		free(launchers);
		free(ls);
		run_free(r);
		return EC_EXIT_FAILED;
	}
	r->start_ns = cr_now_ns();
	r->end_ns = r->start_ns + (uint64_t)(o->duration_s * 1e9);
	cr_task *stopper = helper(ec_stop_main, r, "ec-stop");
	cr_task *progress = o->quiet || o->json ? NULL : helper(ec_progress_main, r, "ec-progress");
	run_conns(r, ls, launchers, tasks);
	helper_end(progress);
	helper_end(stopper);
	int status = finish(r);
	free(tasks);
	free(launchers);
	free(ls);
	run_free(r);
	return status;
}
