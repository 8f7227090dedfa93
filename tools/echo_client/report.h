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

/* Returns 1 if the run failed: any error, corrupted or unanswered byte, or
 * failed connection; else 0. */
int ec_report_failed(const ec_report *rep);

/* Prints the report as aligned text to f.  Returns nothing. */
void ec_report_text(FILE *f, const ec_report *rep);

/* Prints the report as one JSON object to f.  Returns nothing. */
void ec_report_json(FILE *f, const ec_report *rep);

#endif
