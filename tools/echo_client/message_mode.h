/* SPDX-License-Identifier: MIT */
/* Message mode: the C twin of asyncio_echo_client.py. */
#ifndef EC_MESSAGE_MODE_H
#define EC_MESSAGE_MODE_H

#include "options.h"

/* Runs message mode from the main task: connects, sends each message with
 * one write, half-closes, and prints what comes back (or, with --verbose,
 * logs to stderr what asyncio_echo_client.py logs) until the server's end
 * of stream.  Returns the exit status: 0, or 1 on any failure. */
int ec_message_mode(const ec_options *o);

#endif
