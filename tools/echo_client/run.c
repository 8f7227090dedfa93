/* SPDX-License-Identifier: MIT */
/* Shared state of a load run: totals over the workers, the stop test, rate-limited errors. */
#include "run.h"

#include <stdarg.h>
#include <stdio.h>

ec_worker *ec_run_worker(ec_run *r)
{
	int w = cr_worker_id();
	return &r->workers[w < 0 ? 0 : w];
}

/* Reads a counter.  Returns its value. */
static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void ec_run_totals(ec_run *r, ec_totals *t)
{
	*t = (ec_totals){0};
	for (unsigned i = 0; i < r->n_workers; i++) {
		const ec_wstats *s = &r->workers[i].st;
		t->messages += get(&s->messages);
		t->bytes_tx += get(&s->bytes_tx);
		t->bytes_rx += get(&s->bytes_rx);
		t->errors += get(&s->errors);
		t->corrupted += get(&s->corrupted);
		t->unexpected += get(&s->unexpected);
		t->conns_open += get(&s->conns_open);
		t->conns_ok += get(&s->conns_ok);
		t->conns_failed += get(&s->conns_failed);
		t->not_started += get(&s->not_started);
		t->not_closed += get(&s->not_closed);
		t->connect_errors += get(&s->connect_errors);
		t->send_errors += get(&s->send_errors);
		t->recv_errors += get(&s->recv_errors);
		t->closed_early += get(&s->closed_early);
		t->unanswered += get(&s->unanswered);
		t->behind += get(&s->behind);
	}
}

int ec_run_stopping(ec_run *r, uint64_t now)
{
	return now >= r->end_ns || atomic_load_explicit(&r->stop, memory_order_relaxed);
}

void ec_run_error(ec_run *r, const char *fmt, ...)
{
	unsigned n = atomic_fetch_add_explicit(&r->errors_printed, 1, memory_order_relaxed);
	if (n >= EC_ERRORS_SHOWN && !r->opt->verbose)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n + 1 == EC_ERRORS_SHOWN && !r->opt->verbose)
		fprintf(stderr,
			"coring-echo-client: %s (further errors are only counted; "
			"--verbose shows them all)\n",
			line);
	else
		fprintf(stderr, "coring-echo-client: %s\n", line);
}
