/* SPDX-License-Identifier: MIT */
/* Explains why io_uring_setup failed, for cr_setup_error() and coring-probe alike. */
#ifndef CORING_SETUP_ERROR_H
#define CORING_SETUP_ERROR_H

#include <stddef.h>

/* Writes into buf (len bytes) a sentence naming the likely cause of the
 * io_uring_setup failure err (a negative errno): the kernel.io_uring_disabled
 * sysctl, seccomp or LSM policy, RLIMIT_MEMLOCK on kernels before 5.12, fds.
 * Returns nothing. */
void cr__explain_setup_error(int err, char *buf, size_t len);

#endif
