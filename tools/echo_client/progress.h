/* SPDX-License-Identifier: MIT */
/* The live progress line of load mode: once a second on stderr. */
#ifndef EC_PROGRESS_H
#define EC_PROGRESS_H

/* The progress task (arg: the ec_run): every second after the start, prints
 * to stderr the messages/s and MB/s of the last second, the open
 * connections, errors and corrupted bytes so far.  Runs until cancelled.
 * Returns 0. */
int ec_progress_main(void *arg);

#endif
