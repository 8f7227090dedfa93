/* SPDX-License-Identifier: MIT */
/* Load mode: many connections sending checked messages for a while, then a report. */
#ifndef EC_LOAD_H
#define EC_LOAD_H

#include "options.h"

/* Runs load mode from the main task: resolves the target, spawns one
 * connection task per --connections across the workers, prints progress,
 * waits for them all, prints the report.  Returns the exit status: 0, or 1
 * if anything failed. */
int ec_load_run(const ec_options *o);

#endif
