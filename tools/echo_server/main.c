/* SPDX-License-Identifier: MIT */
/* coring-echo-server: RFC 862 echo over TCP, UDP and Unix sockets on every worker of coring, on
 * cr_server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

/* The UDP loops: one per worker per IP address with UDP. */
struct udp_loops {
	struct es_udp_loop *loops; /* their arguments */
	cr_task **tasks;	   /* their tasks */
	unsigned n;		   /* how many run */
};

/* Starts the UDP loops on every worker.  Returns 0 or -errno (printed; the
 * loops started are left running: stop_udp ends them). */
static int start_udp(struct es_shared *sh, struct udp_loops *u)
{
	unsigned max = sh->set->n * sh->n;
	u->loops = calloc(max ? max : 1, sizeof(*u->loops));
	u->tasks = calloc(max ? max : 1, sizeof(*u->tasks));
	if (!u->loops || !u->tasks) {
		fprintf(stderr, "coring-echo-server: out of memory\n");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < sh->set->n; i++) {
		struct es_listener *l = &sh->set->l[i];
		for (unsigned k = 0; l->udp_fds && k < sh->n; k++) {
			struct es_udp_loop *lp = &u->loops[u->n];
			lp->w = &sh->ws[k];
			lp->fd = &l->udp_fds[k];
			cr_spawn_opts so = {.name = "udp", .placement = CR_ON_WORKER, .worker = k};
			int r = cr_spawn(&u->tasks[u->n], es_udp_main, lp, &so);
			if (r < 0) {
				fprintf(stderr, "coring-echo-server: worker %u: cannot start: %s\n",
					k, strerror(-r));
				return r;
			}
			u->n++;
		}
	}
	return 0;
}

/* Cancels and joins the UDP loops (they close their sockets).  Returns nothing. */
static void stop_udp(struct es_shared *sh, struct udp_loops *u)
{
	for (unsigned k = 0; k < sh->n; k++)
		sh->ws[k].stopping = 1;
	for (unsigned i = 0; i < u->n; i++)
		cr_cancel(u->tasks[i]);
	for (unsigned i = 0; i < u->n; i++)
		while (cr_join(u->tasks[i], NULL) < 0)
			; /* a cancel of this task now is the watcher's: serving is over */
	free(u->loops);
	free(u->tasks);
	memset(u, 0, sizeof(*u));
}

/* What main hands to the main task. */
struct run {
	const struct es_options *o; /* the command line */
	int signal_fd;		    /* signalfd of the handled signals */
};

/* Checks the port file (written to a temporary name first), starts the
 * signal watcher, prints the banner, then publishes the port file.
 * Returns the watcher, or NULL with *status set (error printed). */
static struct es_watch *announce(struct es_shared *sh, const struct run *run, uint64_t t0,
				 int *status)
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
	struct es_watch *wt = es_watch_start(sh, run->signal_fd, t0);
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

/* Fills *so from the command line.  Returns nothing. */
static void server_opts(const struct es_options *o, cr_server_opts *so)
{
	cr_server_opts_init(so);
	/* 0: as many as the fd limit allows; accepting backs off at EMFILE (not
	 * cr_server's default, which keeps a reserve of fds under the limit) */
	so->max_conns = o->max_conns ? o->max_conns : UINT64_MAX;
	so->idle_timeout_ns = o->idle_ns;
	so->grace_ns = o->grace_ns;
	so->backlog = o->backlog;
	so->stream.read_size = o->buffer_size; /* one receive: one buffer's worth */
	so->stream.limit = o->buffer_size;
	so->stream.high_water = (size_t)o->max_held * o->buffer_size;
	so->stream.max_held = o->max_held; /* chunks a connection's receiver may queue */
	so->pool_buffers = o->buffers;	   /* each worker's receive pool */
	so->pool_buffer_size = o->buffer_size;
}

/* Serves until a signal stops the server, then prints the totals.
 * Returns the exit status. */
static int serve(struct es_shared *sh, const struct run *run, uint64_t t0)
{
	const struct es_options *o = run->o;
	struct udp_loops udp = {0};
	int status = ES_EXIT_START, start_status = 0;
	struct es_watch *wt = NULL;
	if (start_udp(sh, &udp) == 0)
		wt = announce(sh, run, t0, &start_status);
	if (!wt) {
		stop_udp(sh, &udp);
		return start_status ? start_status : ES_EXIT_START;
	}
	int r = cr_server_serve(sh->srv); /* until the watcher stops it */
	if (r < 0)
		fprintf(stderr, "coring-echo-server: serving failed: %s\n", strerror(-r));
	stop_udp(sh, &udp);
	status = es_watch_end(wt);
	if (start_status)
		status = start_status;
	if (!o->quiet) {
		struct es_stats total;
		memset(&total, 0, sizeof(total));
		es_stats_collect(sh, &total);
		es_stats_print(&total, (double)(cr_now_ns() - t0) / 1e9);
	}
	return status;
}

/* The main task: the server and its addresses, serving until a signal,
 * the totals.  Returns the exit status. */
static int main_task(void *arg)
{
	const struct run *run = arg;
	const struct es_options *o = run->o;
	unsigned n = cr_worker_count();
	uint64_t t0 = cr_now_ns();
	struct es_listen_set *set = calloc(1, sizeof(*set));
	struct es_shared sh = {.opts = o, .set = set, .n = n, .ws = calloc(n, sizeof(*sh.ws))};
	cr_server_opts so;
	int status = ES_EXIT_START;
	server_opts(o, &so);
	if (!set || !sh.ws || cr_server_create(&sh.srv, es_echo, &sh, &so) < 0) {
		fprintf(stderr, "coring-echo-server: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; o->max_held_bytes && i < n; i++) { /* a share each, at least a byte */
		uint64_t share = o->max_held_bytes / n;
		sh.ws[i].held_budget = share ? (size_t)share : 1;
	}
	if (es_listen_open(set, sh.srv, o, n) < 0) {
		status = set->bad_text ? ES_EXIT_USAGE : ES_EXIT_START;
		goto out;
	}
	status = serve(&sh, run, t0);
	es_listen_close(set);
out:
	if (sh.srv)
		cr_server_destroy(sh.srv);
	free(set);
	free(sh.ws);
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
