/* SPDX-License-Identifier: MIT */
/* Signals for the runtime: SIGINT/SIGTERM read from a signalfd cancel the main task. */
#ifndef CORING_SIGNALS_H
#define CORING_SIGNALS_H

struct cr__worker;

/* Blocks SIGINT/SIGTERM on worker w's thread and starts reading them from a
 * signalfd if cfg.cancel_on_signal is set.  Returns 0 or -errno (why is
 * filled). */
int cr__signals_setup(struct cr__worker *w, char *why, unsigned long whylen);

#endif
