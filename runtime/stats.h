/* SPDX-License-Identifier: MIT */
/* A worker's counters, as cr_stats_get reports them. */
#ifndef CORING_STATS_H
#define CORING_STATS_H

#include <coring/runtime.h>

struct cr__worker;

/* Fills the counters of w (the calling worker's own).  Returns nothing. */
void cr__stats_fill(struct cr__worker *w, cr_stats *out);

#endif
