/* SPDX-License-Identifier: MIT */
/* Signals: a graceful or immediate stop of the cr_server, SIGUSR1's snapshot, and the totals. */
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
	struct es_shared *sh; /* shared state: the server, the workers */
	int fd;		      /* the signalfd */
	uint64_t t0;	      /* start time, for the totals */
	cr_task *main;	      /* the main task (it serves), cancelled to cut every connection */
	cr_task *task;	      /* the watcher itself */
	int stopping;	      /* 1 once a stop began */
	int failed;	      /* -errno once waiting for signals failed, else 0 */
	int done;	      /* 1 once the main task no longer needs the watcher */
};

/* SIGUSR1: prints the totals so far.  Returns nothing. */
static void print_snapshot(struct es_watch *wt)
{
	struct es_stats total;
	memset(&total, 0, sizeof(total));
	es_stats_collect(wt->sh, &total);
	fprintf(stderr, "coring-echo-server: SIGUSR1: %s; the totals so far:\n",
		wt->stopping ? "stopping" : "still serving");
	es_stats_print(&total, (double)(cr_now_ns() - wt->t0) / 1e9);
}

/* Starts the stop (grace_ns for the connections to finish: cr_server's
 * grace period, --grace; 0 cuts at once), or, once stopping, cuts every
 * connection now.  Returns nothing. */
static void stop(struct es_watch *wt, const char *why, uint64_t grace_ns)
{
	const struct es_options *o = wt->sh->opts;
	if (wt->stopping) {
		if (!o->quiet)
			fprintf(stderr,
				"coring-echo-server: %s again: closing every connection now\n",
				why);
		cr_server_stop_now(wt->sh->srv); /* in case the stop has not taken effect */
		cr_cancel(wt->main);		 /* cancelling the serving task cuts at once */
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
	if (grace_ns == 0)
		cr_server_stop_now(wt->sh->srv);
	else
		cr_server_stop(wt->sh->srv);
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

struct es_watch *es_watch_start(struct es_shared *sh, int signal_fd, uint64_t t0)
{
	struct es_watch *wt = calloc(1, sizeof(*wt));
	cr_task *task = NULL;
	int r = wt ? 0 : -ENOMEM;
	if (wt) {
		*wt = (struct es_watch){.sh = sh, .fd = signal_fd, .t0 = t0, .main = cr_current()};
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

int es_watch_end(struct es_watch *wt)
{
	wt->done = 1;
	cr_cancel(wt->task);
	while (cr_join(wt->task, NULL) < 0)
		; /* the watcher may have cancelled us just now */
	int status = wt->failed ? ES_EXIT_FAILED : ES_EXIT_STOPPED;
	free(wt);
	return status;
}

/* Returns a - b, or 0 if b is larger. */
static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Returns the value of a relaxed counter. */
static uint64_t get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void es_stats_collect(const struct es_shared *sh, struct es_stats *t)
{
	cr_server_stats ss;
	if (cr_server_stats_get(sh->srv, -1, &ss) < 0)
		memset(&ss, 0, sizeof(ss));
	for (unsigned i = 0; i < sh->n; i++) {
		struct es_worker *w = &sh->ws[i];
		t->send_timeouts += get(&w->send_timeouts);
		t->held_cut += get(&w->held_cut);
		t->held_peak += get(&w->held_peak);
		t->udp_in += get(&w->udp_in);
		t->udp_out += get(&w->udp_out);
		t->udp_bytes_in += get(&w->udp_bytes_in);
		t->udp_bytes_out += get(&w->udp_bytes_out);
		t->udp_errors += get(&w->udp_errors);
	}
	t->accepted += ss.accepted;
	t->refused += ss.refused;
	t->completed += ss.completed;
	/* the handler's own cuts (send timeout, budget) are counted apart */
	t->errors += minus(ss.handler_errors + ss.setup_errors, t->send_timeouts + t->held_cut);
	t->idle_closed += ss.idle_closed;
	t->cancelled += ss.cut;
	t->bytes_in += ss.bytes_in;
	t->bytes_out += ss.bytes_out;
	t->accept_fd_errors += ss.accept_fd_errors;
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
		" cut over --max-held-bytes; unsent echo for clients that do not read peaked at "
		"%" PRIu64 " bytes (sum of the workers' peaks)\n",
		seconds, s->accepted, s->completed, s->errors, s->idle_closed, s->cancelled,
		s->refused, s->bytes_in, s->bytes_out, s->udp_in, s->udp_bytes_in, s->udp_out,
		s->udp_bytes_out, s->udp_errors, s->accept_fd_errors, s->send_timeouts, s->held_cut,
		s->held_peak);
}
