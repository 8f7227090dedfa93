/* SPDX-License-Identifier: MIT */
/* Signals, graceful shutdown (stop accepting, grace period, cut the rest) and the totals. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

/* What the task watching for a second signal needs. */
struct hurry {
	cr_task *main; /* the main task, cancelled to end the grace period */
	int signalled; /* 1 once a second signal came */
	int quiet;     /* --quiet */
};

static const int stop_signals[] = {SIGINT, SIGTERM};

/* Task: waits for a second SIGINT/SIGTERM, then interrupts the main task's
 * joins so that it cancels the workers.  Returns 0 or -errno. */
static int hurry_main(void *arg)
{
	struct hurry *h = arg;
	int signo = 0;
	int r = cr_signal_wait(stop_signals, 2, &signo);
	if (r < 0)
		return r;
	if (!h->quiet)
		fprintf(stderr, "coring-echo-server: %s again: closing every connection now\n",
			strsignal(signo));
	h->signalled = 1;
	cr_cancel(h->main);
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

void es_serve_until_signal(struct es_shared *sh, struct es_worker *ws, cr_task **tasks, unsigned n,
			   struct es_stats *total)
{
	const struct es_options *o = sh->opts;
	int signo = 0;
	int r = cr_signal_wait(stop_signals, 2, &signo);
	if (r < 0)
		fprintf(stderr, "coring-echo-server: waiting for signals failed: %s; stopping\n",
			strerror(-r));
	else if (!o->quiet)
		fprintf(stderr,
			"coring-echo-server: %s: stopped accepting; open connections have %.3g s "
			"to finish\n",
			strsignal(signo), (double)o->grace_ns / 1e9);
	sh->grace_deadline_ns = cr_now_ns() + o->grace_ns;
	cr_event_set(&sh->stop);

	struct hurry h = {.main = cr_current(), .quiet = o->quiet};
	cr_task *watcher = NULL;
	if (cr_spawn(&watcher, hurry_main, &h, &(cr_spawn_opts){.name = "hurry"}) < 0)
		watcher = NULL;
	int cut = 0;
	for (unsigned i = 0; i < n; i++) {
		while (cr_join(tasks[i], NULL) < 0) {
			if (h.signalled && !cut) {
				for (unsigned k = i; k < n; k++)
					cr_cancel(tasks[k]);
				cut = 1;
			}
		}
		es_stats_add(total, &ws[i].stats);
	}
	if (watcher) {
		cr_cancel(watcher);
		while (cr_join(watcher, NULL) < 0)
			; /* the watcher may have cancelled us just now */
	}
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
