/* SPDX-License-Identifier: MIT */
/* Load mode: many connections sending checked messages for a while, then a report. */
#ifndef EC_LOAD_H
#define EC_LOAD_H

#include "options.h"

/* Runs load mode from the main task: resolves the target, starts one
 * connection task per --connections (an equal share on each worker), prints
 * progress, waits for them all, prints the report.  Returns the exit status
 * (enum ec_exit; see ec_report_status). */
int ec_load_run(const ec_options *o);

#endif
