/* SPDX-License-Identifier: MIT */
/* Load mode: set up the run, spawn the connections and helpers, wait, sum up, report. */
#include "load.h"
#include "conn.h"
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

/* Spawns every connection across the workers.  Returns how many tasks are
 * in tasks[] (failures are counted as failed connections). */
static size_t spawn_conns(ec_run *r, cr_task **tasks)
{
	size_t n = 0;
	ec_worker *w = ec_run_worker(r);
	for (unsigned i = 0; i < r->opt->connections; i++) {
		ec_conn *c = &r->conns[i];
		c->run = r;
		c->id = i;
		c->fd = -1;
		cr_spawn_opts so = {.name = "ec-conn", .placement = CR_ON_ANY};
		int e = cr_spawn(&tasks[n], ec_conn_main, c, &so);
		if (e == 0) {
			n++;
			continue;
		}
		ec_count(&w->st.errors, 1);
		ec_count(&w->st.conns_failed, 1);
		ec_run_error(r, "connection %u: cannot start its task: %s", i, strerror(-e));
	}
	return n;
}

/* Sums up the run and prints the report.  Returns the exit status. */
static int finish(ec_run *r)
{
	const ec_options *o = r->opt;
	ec_hist *all = malloc(sizeof(*all));
	if (!all) {
		fprintf(stderr, "coring-echo-client: out of memory\n");
		return 1;
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
	int failed = ec_report_failed(&rep);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "coring-echo-client: could not write the report\n");
		failed = 1;
	}
	return failed;
}

int ec_load_run(const ec_options *o)
{
	ec_run *r = run_new(o);
	if (!r)
		return 1;
	cr_task **tasks = calloc(o->connections, sizeof(*tasks));
	if (!tasks) {
		fprintf(stderr, "coring-echo-client: out of memory\n");
		run_free(r);
		return 1;
	}
	r->start_ns = cr_now_ns();
	r->end_ns = r->start_ns + (uint64_t)(o->duration_s * 1e9);
	cr_task *stopper = helper(ec_stop_main, r, "ec-stop");
	cr_task *progress = o->quiet || o->json ? NULL : helper(ec_progress_main, r, "ec-progress");
	size_t n = spawn_conns(r, tasks);
	(void)cr_gather(tasks, n, NULL);
	helper_end(progress);
	helper_end(stopper);
	int status = finish(r);
	free(tasks);
	run_free(r);
	return status;
}
