/* SPDX-License-Identifier: MIT */
/* SIGINT / SIGTERM: stop sending on every worker, then, on a second signal, stop waiting. */
#include "stop.h"
#include "conn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs on one worker: cancels the senders of its live connections (they
 * stop sending) and the connection tasks (a receiver then waits again with
 * the earlier deadline, or gives up if the run is abandoned).  Returns 0. */
static int stop_worker(void *arg)
{
	ec_run *r = arg;
	for (ec_conn *c = ec_run_worker(r)->conns; c; c = c->next) {
		if (c->sender)
			(void)cr_cancel(c->sender);
		(void)cr_cancel(c->self);
	}
	return 0;
}

/* Runs stop_worker on every worker and waits for them.  Returns nothing. */
static void stop_everywhere(ec_run *r)
{
	cr_task **t = calloc(r->n_workers, sizeof(*t));
	if (!t) {
		fprintf(stderr, "coring-echo-client: out of memory while stopping\n");
		return;
	}
	size_t n = 0;
	for (unsigned w = 0; w < r->n_workers; w++) {
		cr_spawn_opts so = {.name = "ec-stop", .placement = CR_ON_WORKER, .worker = w};
		if (cr_spawn(&t[n], stop_worker, r, &so) == 0)
			n++;
	}
	(void)cr_gather(t, n, NULL);
	free(t);
}

int ec_stop_main(void *arg)
{
	ec_run *r = arg;
	static const int sigs[] = {SIGINT, SIGTERM};
	for (int round = 0; round < 2; round++) {
		int signo;
		if (cr_signal_wait(sigs, 2, &signo) < 0)
			return 0;
		if (round == 0) {
			atomic_store_explicit(&r->stop_ns, cr_now_ns(), memory_order_relaxed);
			atomic_store_explicit(&r->stop, 1, memory_order_release);
			fprintf(stderr,
				"coring-echo-client: %s: stopping; waiting up to %.3g s for the "
				"echoes in flight (again to abandon them)\n",
				strsignal(signo), r->opt->grace_s);
		} else {
			atomic_store_explicit(&r->abandon, 1, memory_order_release);
			fprintf(stderr, "coring-echo-client: %s: abandoning the echoes in flight\n",
				strsignal(signo));
		}
		stop_everywhere(r);
	}
	return 0;
}
