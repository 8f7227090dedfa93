/* SPDX-License-Identifier: MIT */
/* Signals, graceful shutdown (stop accepting, grace period, cut the rest) and the totals. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "server.h"

/* The signals the server handles; every other signal keeps its default action. */
static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1};

static void handled_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(set, handled[i]);
}

void es_signals_block(void)
{
	sigset_t set;
	handled_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int es_signals_open(void)
{
	sigset_t set;
	handled_set(&set);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* What the task reading the signals shares with the main task (both run on
 * the main task's worker, so plain fields suffice). */
struct es_watch {
	struct es_shared *sh; /* shared state: stop event, grace deadline */
	struct es_worker *ws; /* the workers, for SIGUSR1's snapshot */
	unsigned n;	      /* how many */
	int fd;		      /* the signalfd */
	uint64_t t0;	      /* start time, for the totals */
	cr_task *main;	      /* the main task, cancelled to cut every connection */
	cr_task *task;	      /* the watcher itself */
	int stopping;	      /* 1 once a stop began */
	int cut;	      /* 1 once every connection is to be cut at once */
	int failed;	      /* -errno once waiting for signals failed, else 0 */
	int done;	      /* 1 once the main task no longer needs the watcher */
};

/* One worker's counters, copied by a task on that worker. */
struct snap {
	struct es_worker *w; /* the worker */
	struct es_stats s;   /* its counters when the task ran */
};

/* Task on worker s->w: copies its counters.  Returns 0. */
static int snap_main(void *arg)
{
	struct snap *s = arg;
	s->s = s->w->stats;
	return 0;
}

/* SIGUSR1: prints the totals so far, each worker's counters read on that
 * worker (they are not atomics).  Returns nothing. */
static void print_snapshot(struct es_watch *wt)
{
	struct snap *sn = calloc(wt->n, sizeof(*sn));
	cr_task **t = calloc(wt->n, sizeof(*t));
	struct es_stats total;
	unsigned spawned = 0;
	int r = sn && t ? 0 : -ENOMEM;
	memset(&total, 0, sizeof(total));
	for (; r == 0 && spawned < wt->n; spawned++) {
		sn[spawned].w = &wt->ws[spawned];
		cr_spawn_opts so = {
			.name = "snapshot", .placement = CR_ON_WORKER, .worker = spawned};
		if ((r = cr_spawn(&t[spawned], snap_main, &sn[spawned], &so)) < 0)
			break;
	}
	for (unsigned i = 0; i < spawned; i++) {
		while (cr_join(t[i], NULL) < 0)
			; /* a cancel now is for the read that follows */
		es_stats_add(&total, &sn[i].s);
	}
	if (r < 0) {
		fprintf(stderr, "coring-echo-server: SIGUSR1: cannot collect the totals: %s\n",
			strerror(-r));
	} else {
		fprintf(stderr, "coring-echo-server: SIGUSR1: %s; the totals so far:\n",
			wt->stopping ? "stopping" : "still serving");
		es_stats_print(&total, (double)(cr_now_ns() - wt->t0) / 1e9);
	}
	free(sn);
	free(t);
}

/* Starts the stop (grace_ns for the connections to finish), or, once
 * stopping, cuts every connection now.  Returns nothing. */
static void stop(struct es_watch *wt, const char *why, uint64_t grace_ns)
{
	const struct es_options *o = wt->sh->opts;
	if (wt->stopping) {
		if (!o->quiet)
			fprintf(stderr,
				"coring-echo-server: %s again: closing every connection now\n",
				why);
		wt->cut = 1;
		cr_cancel(wt->main); /* its joins cancel the workers */
		return;
	}
	if (!o->quiet && grace_ns == 0)
		fprintf(stderr,
			"coring-echo-server: %s: stopped accepting; closing every connection now\n",
			why);
	else if (!o->quiet)
		fprintf(stderr,
			"coring-echo-server: %s: stopped accepting; open connections have %.3g s "
			"to finish\n",
			why, (double)grace_ns / 1e9);
	wt->stopping = 1;
	wt->sh->grace_deadline_ns = cr_now_ns() + grace_ns;
	cr_event_set(&wt->sh->stop);
}

void es_watch_stop_now(struct es_watch *wt, const char *why)
{
	stop(wt, why, 0);
}

/* Acts on one signal as the usage text says.  Returns nothing. */
static void on_signal(struct es_watch *wt, int signo)
{
	switch (signo) {
	case SIGUSR1:
		print_snapshot(wt);
		break;
	case SIGQUIT:
		stop(wt, "SIGQUIT", 0);
		break;
	case SIGHUP:
		stop(wt, "SIGHUP", wt->sh->opts->grace_ns);
		break;
	case SIGINT:
		stop(wt, "SIGINT", wt->sh->opts->grace_ns);
		break;
	default:
		stop(wt, "SIGTERM", wt->sh->opts->grace_ns);
	}
}

/* Task: reads the signalfd until the main task is done with it.  When the
 * read fails for good (a bad fd, or errors for a second in a row) it stops
 * the server (grace period) and records why.
 * Returns 0 or that -errno. */
static int watch_main(void *arg)
{
	struct es_watch *wt = arg;
	unsigned failures = 0;
	while (!wt->done) {
		struct signalfd_siginfo si;
		ssize_t r = cr_file_read(wt->fd, &si, sizeof(si), -1);
		if (wt->done)
			break;
		if (r == (ssize_t)sizeof(si)) {
			failures = 0;
			on_signal(wt, (int)si.ssi_signo);
			continue;
		}
		if (r == -ECANCELED || r == -EINTR || r == -EAGAIN)
			continue;
		/* Anything but a bad fd or buffer may pass (ENOMEM, ENOBUFS, an
		 * injected fault): try again for a second before giving up. */
		if (r < 0 && r != -EBADF && r != -EINVAL && r != -EFAULT && ++failures < 1000) {
			cr_sleep(1000000);
			continue;
		}
		wt->failed = r < 0 ? (int)r : -EIO;
		fprintf(stderr, "coring-echo-server: waiting for signals failed: %s; stopping\n",
			strerror(-wt->failed));
		if (!wt->stopping)
			stop(wt, "no more signals", wt->sh->opts->grace_ns);
		return wt->failed;
	}
	return 0;
}

void es_join_workers(struct es_worker *ws, cr_task **tasks, unsigned n, struct es_stats *total)
{
	for (unsigned i = 0; i < n; i++) {
		while (cr_join(tasks[i], NULL) < 0)
			;
		es_stats_add(total, &ws[i].stats);
	}
}

/* Joins the worker tasks, cancelling those left once wt->cut is set.
 * Returns nothing. */
static void join_cutting(struct es_watch *wt, cr_task **tasks, struct es_stats *total)
{
	int cutting = 0;
	for (unsigned i = 0; i < wt->n; i++) {
		for (;;) {
			if (wt->cut && !cutting) {
				for (unsigned k = i; k < wt->n; k++)
					cr_cancel(tasks[k]);
				cutting = 1;
			}
			if (cr_join(tasks[i], NULL) == 0)
				break;
		}
		es_stats_add(total, &wt->ws[i].stats);
	}
}

struct es_watch *es_watch_start(struct es_shared *sh, struct es_worker *ws, unsigned n,
				int signal_fd, uint64_t t0)
{
	struct es_watch *wt = calloc(1, sizeof(*wt));
	cr_task *task = NULL;
	int r = wt ? 0 : -ENOMEM;
	if (wt) {
		*wt = (struct es_watch){.sh = sh,
					.ws = ws,
					.n = n,
					.fd = signal_fd,
					.t0 = t0,
					.main = cr_current()};
		r = cr_spawn(&task, watch_main, wt, &(cr_spawn_opts){.name = "signals"});
	}
	if (r < 0) {
		fprintf(stderr, "coring-echo-server: cannot wait for signals: %s\n", strerror(-r));
		free(wt);
		return NULL;
	}
	wt->task = task;
	return wt;
}

int es_serve_until_signal(struct es_watch *wt, cr_task **tasks, struct es_stats *total)
{
	struct es_shared *sh = wt->sh;
	while (!cr_event_is_set(&sh->stop))
		cr_event_wait(&sh->stop); /* a cancel here comes with wt->cut set */
	join_cutting(wt, tasks, total);
	wt->done = 1;
	cr_cancel(wt->task);
	while (cr_join(wt->task, NULL) < 0)
		; /* the watcher may have cancelled us just now */
	int status = wt->failed ? ES_EXIT_FAILED : ES_EXIT_STOPPED;
	free(wt);
	return status;
}

void es_stats_add(struct es_stats *a, const struct es_stats *b)
{
	a->accepted += b->accepted;
	a->refused += b->refused;
	a->completed += b->completed;
	a->errors += b->errors;
	a->idle_closed += b->idle_closed;
	a->send_timeouts += b->send_timeouts;
	a->held_cut += b->held_cut;
	a->held_peak += b->held_peak;
	a->cancelled += b->cancelled;
	a->bytes_in += b->bytes_in;
	a->bytes_out += b->bytes_out;
	a->accept_fd_errors += b->accept_fd_errors;
	a->udp_in += b->udp_in;
	a->udp_out += b->udp_out;
	a->udp_bytes_in += b->udp_bytes_in;
	a->udp_bytes_out += b->udp_bytes_out;
	a->udp_errors += b->udp_errors;
}

void es_stats_print(const struct es_stats *s, double seconds)
{
	fprintf(stderr,
		"coring-echo-server: totals after %.1f s:\n"
		"  connections %" PRIu64 " accepted: %" PRIu64 " ended by the client, %" PRIu64
		" errors, %" PRIu64 " idle timeouts, %" PRIu64
		" cut after the grace period; %" PRIu64 " refused over --max-conns\n"
		"  stream      %" PRIu64 " bytes in, %" PRIu64 " bytes out\n"
		"  udp         %" PRIu64 " datagrams in (%" PRIu64 " bytes), %" PRIu64
		" out (%" PRIu64 " bytes), %" PRIu64 " errors\n"
		"  accept      %" PRIu64 " EMFILE/ENFILE failures (retried)\n"
		"  limits      %" PRIu64 " send timeouts, %" PRIu64
		" cut over --max-held-bytes; copies for clients that do not read peaked at %" PRIu64
		" bytes (sum of the workers' peaks)\n",
		seconds, s->accepted, s->completed, s->errors, s->idle_closed, s->cancelled,
		s->refused, s->bytes_in, s->bytes_out, s->udp_in, s->udp_bytes_in, s->udp_out,
		s->udp_bytes_out, s->udp_errors, s->accept_fd_errors, s->send_timeouts, s->held_cut,
		s->held_peak);
}
