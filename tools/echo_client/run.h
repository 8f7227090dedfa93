/* SPDX-License-Identifier: MIT */
/* The shared state of one load run: target, schedule, stop flags, and per-worker counters. */
#ifndef EC_RUN_H
#define EC_RUN_H

#include <coring.h>

#include <stdatomic.h>
#include <stdint.h>

#include "histogram.h"
#include "options.h"

/* Most addresses a host name may resolve to that are tried. */
#define EC_MAX_ADDRS 16
/* Errors printed to stderr before the rest are only counted (unless --verbose). */
#define EC_ERRORS_SHOWN 10

struct ec_conn;

/* Counters of one worker.  Only tasks on that worker write them (so an add
 * is a relaxed load and store); other workers read them for the progress
 * line. */
typedef struct ec_wstats {
	_Atomic uint64_t messages;	 /* completed round trips (whole messages echoed) */
	_Atomic uint64_t bytes_tx;	 /* payload bytes sent */
	_Atomic uint64_t bytes_rx;	 /* payload bytes received */
	_Atomic uint64_t errors;	 /* error events of every kind below */
	_Atomic uint64_t corrupted;	 /* bytes received that differ from what was sent */
	_Atomic uint64_t unexpected;	 /* bytes received beyond everything sent */
	_Atomic uint64_t conns_open;	 /* connections established and not yet closed */
	_Atomic uint64_t conns_ok;	 /* connections that ended without an error, closed
					    by the server within the grace period */
	_Atomic uint64_t conns_failed;	 /* connections that did not connect or had an error */
	_Atomic uint64_t not_started;	 /* connections the run ended (or a signal stopped)
					    before they connected: neither ok nor failed */
	_Atomic uint64_t not_closed;	 /* connections without an error whose server had not
					    ended its stream at the end of the grace period */
	_Atomic uint64_t connect_errors; /* connects that failed */
	_Atomic uint64_t send_errors;	 /* sends that failed */
	_Atomic uint64_t recv_errors;	 /* receives that failed (reset, ...) */
	_Atomic uint64_t closed_early;	 /* server ended the stream before echoing everything */
	_Atomic uint64_t unanswered; /* messages whose echo did not complete in the grace time */
	_Atomic uint64_t behind;     /* --rate: messages due before the end but never sent */
} ec_wstats;

/* Everything of one worker: counters, latencies, live connections. */
typedef struct ec_worker {
	_Alignas(64) ec_wstats st; /* counters (own cache lines) */
	ec_hist hist;		   /* latencies of this worker's messages, ns */
	struct ec_conn *conns;	   /* live connections on this worker (this worker only) */
} ec_worker;

/* Sums of every worker's counters. */
typedef struct ec_totals {
	uint64_t messages;	 /* see ec_wstats for each field */
	uint64_t bytes_tx;	 /* " */
	uint64_t bytes_rx;	 /* " */
	uint64_t errors;	 /* " */
	uint64_t corrupted;	 /* " */
	uint64_t unexpected;	 /* " */
	uint64_t conns_open;	 /* " */
	uint64_t conns_ok;	 /* " */
	uint64_t conns_failed;	 /* " */
	uint64_t not_started;	 /* " */
	uint64_t not_closed;	 /* " */
	uint64_t connect_errors; /* " */
	uint64_t send_errors;	 /* " */
	uint64_t recv_errors;	 /* " */
	uint64_t closed_early;	 /* " */
	uint64_t unanswered;	 /* " */
	uint64_t behind;	 /* " */
} ec_totals;

/* One load run. */
typedef struct ec_run {
	const ec_options *opt;		 /* the command line */
	cr_addr addrs[EC_MAX_ADDRS];	 /* the server's addresses, tried in order */
	size_t n_addrs;			 /* how many */
	_Atomic unsigned preferred;	 /* index of the address that connected last */
	char target[CR_ADDR_STRLEN];	 /* the first address as text, for reports */
	uint64_t start_ns;		 /* when the run started (monotonic) */
	uint64_t end_ns;		 /* when sending stops: start + duration */
	uint64_t grace_ns;		 /* --grace */
	uint64_t connect_timeout_ns;	 /* --connect-timeout */
	double interval_ns;		 /* --rate: time between one connection's sends */
	_Atomic int stop;		 /* 1 after the first SIGINT/SIGTERM: stop sending */
	_Atomic int abandon;		 /* 1 after the second: stop waiting for echoes */
	_Atomic uint64_t stop_ns;	 /* when stop was set */
	_Atomic unsigned errors_printed; /* error lines printed so far */
	unsigned n_workers;		 /* workers of the runtime */
	ec_worker *workers;		 /* one per worker */
	struct ec_conn *conns;		 /* one per connection */
} ec_run;

/* Adds n to a counter that only the calling worker writes.  Returns nothing. */
static inline void ec_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Subtracts n from a counter that only the calling worker writes.  Returns nothing. */
static inline void ec_uncount(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - n,
			      memory_order_relaxed);
}

/* Returns the calling worker's entry of r. */
ec_worker *ec_run_worker(ec_run *r);

/* Fills *t with the sums of every worker's counters (a snapshot, each
 * counter read once).  Returns nothing. */
void ec_run_totals(ec_run *r, ec_totals *t);

/* Returns 1 once sending should stop: a signal came or the time is up. */
int ec_run_stopping(ec_run *r, uint64_t now);

/* Prints "coring-echo-client: <message>" to stderr, unless EC_ERRORS_SHOWN
 * lines were printed already and --verbose is not set.  Returns nothing. */
void ec_run_error(ec_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
