/* SPDX-License-Identifier: MIT */
/* The progress line: last-second rates and error totals from every worker's counters. */
#include "progress.h"
#include "run.h"

#include <stdio.h>

int ec_progress_main(void *arg)
{
	ec_run *r = arg;
	ec_totals prev = {0}, now_t;
	uint64_t t_prev = r->start_ns;
	for (uint64_t k = 1;; k++) {
		if (cr_sleep_until(r->start_ns + k * 1000000000ull) < 0)
			return 0;
		uint64_t now = cr_now_ns();
		ec_run_totals(r, &now_t);
		double dt = (double)(now - t_prev) / 1e9;
		if (dt <= 0)
			dt = 1e-9;
		fprintf(stderr,
			"[%6.1fs] %10.0f msg/s %9.2f MB/s out %9.2f MB/s in  conns %llu  errors "
			"%llu"
			"  corrupted %llu\n",
			(double)(now - r->start_ns) / 1e9,
			(double)(now_t.messages - prev.messages) / dt,
			(double)(now_t.bytes_tx - prev.bytes_tx) / dt / 1e6,
			(double)(now_t.bytes_rx - prev.bytes_rx) / dt / 1e6,
			(unsigned long long)now_t.conns_open, (unsigned long long)now_t.errors,
			(unsigned long long)now_t.corrupted);
		prev = now_t;
		t_prev = now;
	}
}
