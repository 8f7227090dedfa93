/* SPDX-License-Identifier: MIT */
/* coring-echo-server: RFC 862 echo over TCP, UDP and Unix sockets on every worker of coring. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Writes the port file and prints the banner.  Returns 0 or -errno. */
static int announce(struct es_listen_set *set, const struct es_options *o)
{
	es_listen_print(set, o);
	if (!o->port_file)
		return 0;
	int r = es_write_port_file(set, o->port_file);
	if (r < 0)
		fprintf(stderr, "coring-echo-server: cannot write --port-file %s: %s\n",
			o->port_file,
			r == -ENOENT ? "no TCP port (Unix sockets only)" : strerror(-r));
	return r;
}

/* The main task: sockets, workers, serving until a signal, totals.
 * Returns the exit status. */
static int main_task(void *arg)
{
	const struct es_options *o = arg;
	unsigned n = cr_worker_count();
	uint64_t t0 = cr_now_ns();
	struct es_listen_set *set = calloc(1, sizeof(*set));
	struct es_worker *ws = calloc(n, sizeof(*ws));
	cr_task **tasks = calloc(n, sizeof(*tasks));
	struct es_shared sh;
	struct es_stats total;
	int status = 1, failed = 0;
	memset(&sh, 0, sizeof(sh));
	memset(&total, 0, sizeof(total));
	if (!set || !ws || !tasks) {
		fprintf(stderr, "coring-echo-server: out of memory\n");
		goto out;
	}
	if (es_listen_open(set, o, n) < 0) {
		status = set->bad_text ? 2 : 1;
		goto out;
	}
	sh.opts = o;
	sh.set = set;
	cr_event_init(&sh.stop);
	cr_sem_init(&sh.ready, 0);
	unsigned spawned = start_workers(&sh, ws, tasks, n, &failed);
	if (failed || announce(set, o) < 0) {
		cr_event_set(&sh.stop);
		es_join_workers(ws, tasks, spawned, &total);
	} else {
		es_serve_until_signal(&sh, ws, tasks, n, &total);
		if (!o->quiet)
			es_stats_print(&total, (double)(cr_now_ns() - t0) / 1e9);
		status = 0;
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
	struct es_options o;
	int r = es_options_parse(&o, argc, argv);
	if (r != 0)
		return r == 1 ? 0 : 2;
	es_log_enable(o.verbose);

	/* SIGINT/SIGTERM stay pending until the main task waits for them, even
	 * when they come during start-up; a closed stderr must not kill us. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = o.threads;
	int status = 1;
	r = cr_run(&cfg, main_task, &o, &status);
	if (r < 0) {
		const char *why = cr_setup_error();
		fprintf(stderr, "coring-echo-server: cannot start the runtime: %s\n",
			why && *why ? why : strerror(-r));
		return 1;
	}
	return status;
}
