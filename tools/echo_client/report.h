/* SPDX-License-Identifier: MIT */
/* The final report of load mode, as text or as JSON. */
#ifndef EC_REPORT_H
#define EC_REPORT_H

#include <stdio.h>

#include "histogram.h"
#include "run.h"

/* Everything the final report shows. */
typedef struct ec_report {
	const ec_options *opt; /* the command line */
	const char *target;    /* the server address as text */
	unsigned workers;      /* coring workers used */
	double elapsed_s;      /* sending period: start to the end (or the stop signal) */
	int stopped;	       /* 1 if a signal ended the run early */
	int abandoned;	       /* 1 if a second signal abandoned the echoes in flight */
	ec_totals t;	       /* the counters summed over the workers */
	const ec_hist *lat;    /* latencies of every completed message, ns */
} ec_report;

/* Returns the run's exit status (enum ec_exit): EC_EXIT_FAILED if there was
 * any error, corrupted or unanswered byte or failed connection, or if no
 * connection started at all; else EC_EXIT_NOT_CLOSED if the server did not
 * close some connection within the grace period; else EC_EXIT_OK.
 * Connections that never started (the run ended first) are no failure. */
int ec_report_status(const ec_report *rep);

/* Returns 1 if so many connections did not start (over
 * EC_NOT_STARTED_WARN_PCT percent) that the load was lighter than asked,
 * else 0. */
int ec_report_too_few_started(const ec_report *rep);

/* Share of connections (percent) that may fail to start before a warning. */
#define EC_NOT_STARTED_WARN_PCT 10

/* Prints the report as aligned text to f.  Returns nothing. */
void ec_report_text(FILE *f, const ec_report *rep);

/* Prints the report as one JSON object to f.  Returns nothing. */
void ec_report_json(FILE *f, const ec_report *rep);

#endif
