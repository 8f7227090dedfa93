/* SPDX-License-Identifier: MIT */
/* coring-echo-server: RFC 862 echo over TCP, UDP and Unix sockets on every worker of coring. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

/* Starts the worker tasks and waits until each is serving or failed.
 * Returns how many were spawned; *failed is set if one could not start. */
static unsigned start_workers(struct es_shared *sh, struct es_worker *ws, cr_task **tasks,
			      unsigned n, int *failed)
{
	unsigned spawned = 0;
	*failed = 0;
	for (; spawned < n; spawned++) {
		ws[spawned].sh = sh;
		ws[spawned].index = spawned;
		cr_spawn_opts so = {.name = "worker", .placement = CR_ON_WORKER, .worker = spawned};
		int r = cr_spawn(&tasks[spawned], es_worker_main, &ws[spawned], &so);
		if (r < 0) {
			fprintf(stderr, "coring-echo-server: cannot start worker %u: %s\n", spawned,
				strerror(-r));
			*failed = 1;
			break;
		}
	}
	for (unsigned i = 0; i < spawned; i++)
		while (cr_sem_acquire(&sh->ready) < 0)
			;
	for (unsigned i = 0; i < spawned; i++)
		*failed |= ws[i].start_error < 0;
	return spawned;
}

/* What main hands to the main task. */
struct run {
	const struct es_options *o; /* the command line */
	int signal_fd;		    /* signalfd of the handled signals */
};

/* Checks the port file (written to a temporary name first), starts the
 * signal watcher, prints the banner, then publishes the port file.
 * Returns the watcher, or NULL with *status set (error printed). */
static struct es_watch *announce(struct es_shared *sh, struct es_worker *ws, unsigned n,
				 const struct run *run, uint64_t t0, int *status)
{
	const struct es_options *o = run->o;
	char tmp[4096];
	int r = o->port_file ? es_port_file_prepare(sh->set, o->port_file, tmp, sizeof(tmp)) : 0;
	if (r == -EDESTADDRREQ) {
		fprintf(stderr,
			"coring-echo-server: --port-file %s: no TCP port to write (only Unix "
			"sockets are served)\n",
			o->port_file);
		*status = ES_EXIT_USAGE;
		return NULL;
	}
	if (r < 0) {
		fprintf(stderr, "coring-echo-server: cannot write --port-file %s: %s\n",
			o->port_file, strerror(-r));
		*status = ES_EXIT_START;
		return NULL;
	}
	struct es_watch *wt = es_watch_start(sh, ws, n, run->signal_fd, t0);
	if (!wt) {
		if (o->port_file)
			unlink(tmp);
		*status = ES_EXIT_START;
		return NULL;
	}
	es_listen_print(sh->set, o);
	if (o->port_file && (r = es_port_file_publish(tmp, o->port_file)) < 0) {
		/* Next to a file just written: practically never; stop at once. */
		fprintf(stderr, "coring-echo-server: cannot write --port-file %s: %s\n",
			o->port_file, strerror(-r));
		*status = ES_EXIT_START;
		es_watch_stop_now(wt, "no port file");
	}
	return wt;
}

/* The main task: sockets, workers, serving until a signal, totals.
 * Returns the exit status. */
static int main_task(void *arg)
{
	const struct run *run = arg;
	const struct es_options *o = run->o;
	unsigned n = cr_worker_count();
	uint64_t t0 = cr_now_ns();
	struct es_listen_set *set = calloc(1, sizeof(*set));
	struct es_worker *ws = calloc(n, sizeof(*ws));
	cr_task **tasks = calloc(n, sizeof(*tasks));
	struct es_shared sh;
	struct es_stats total;
	int status = ES_EXIT_START, failed = 0, start_status = 0;
	memset(&sh, 0, sizeof(sh));
	memset(&total, 0, sizeof(total));
	if (!set || !ws || !tasks) {
		fprintf(stderr, "coring-echo-server: out of memory\n");
		goto out;
	}
	if (es_listen_open(set, o, n) < 0) {
		status = set->bad_text ? ES_EXIT_USAGE : ES_EXIT_START;
		goto out;
	}
	sh.opts = o;
	sh.set = set;
	cr_event_init(&sh.stop);
	cr_sem_init(&sh.ready, 0);
	unsigned spawned = start_workers(&sh, ws, tasks, n, &failed);
	struct es_watch *wt = failed ? NULL : announce(&sh, ws, n, run, t0, &start_status);
	if (!wt) {
		cr_event_set(&sh.stop);
		es_join_workers(ws, tasks, spawned, &total);
		status = start_status ? start_status : ES_EXIT_START;
	} else {
		int r = es_serve_until_signal(wt, tasks, &total);
		status = start_status ? start_status : r;
		if (!o->quiet)
			es_stats_print(&total, (double)(cr_now_ns() - t0) / 1e9);
	}
	cr_sem_destroy(&sh.ready);
	cr_event_destroy(&sh.stop);
	es_listen_close(set);
out:
	free(set);
	free(ws);
	free(tasks);
	return status;
}

int main(int argc, char **argv)
{
	/* First of all: the handled signals stay pending until the watcher
	 * reads them, even when they come during start-up (threads made later
	 * inherit the mask); a closed stdout or peer must not kill us. */
	es_signals_block();

	struct es_options o;
	int r = es_options_parse(&o, argc, argv);
	if (r != 0)
		return r == 1 ? ES_EXIT_STOPPED : ES_EXIT_USAGE;
	es_log_enable(o.verbose);

	struct run run = {.o = &o, .signal_fd = es_signals_open()};
	if (run.signal_fd < 0) {
		fprintf(stderr, "coring-echo-server: cannot wait for signals (signalfd: %s)\n",
			strerror(-run.signal_fd));
		return ES_EXIT_START;
	}
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = o.threads;
	int status = ES_EXIT_START;
	r = cr_run(&cfg, main_task, &run, &status);
	close(run.signal_fd);
	if (r < 0) {
		const char *why = cr_setup_error();
		fprintf(stderr, "coring-echo-server: cannot start the runtime: %s\n",
			why && *why ? why : strerror(-r));
		return ES_EXIT_START;
	}
	return status;
}
