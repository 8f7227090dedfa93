/* SPDX-License-Identifier: MIT */
/* SIGINT / SIGTERM during a load run: the first stops sending, the second abandons the echoes. */
#ifndef EC_STOP_H
#define EC_STOP_H

/* The task that waits for SIGINT or SIGTERM (arg: the ec_run).  The first
 * signal sets the run's stop flag and cancels every sender, so connections
 * wait (up to --grace from now) for the echoes in flight and end as at the
 * end of --duration; the second sets the abandon flag, and connections stop
 * waiting.  Either way every connection task is cancelled once, so that
 * its receive sees the new state.  Runs until cancelled.  Returns 0. */
int ec_stop_main(void *arg);

#endif
