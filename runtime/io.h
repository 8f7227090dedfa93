/* SPDX-License-Identifier: MIT */
/* One I/O operation as a wait: fill an SQE template, park until its completion. */
#ifndef CORING_IO_H
#define CORING_IO_H

#include <linux/io_uring.h>

/* Submits a copy of tmpl (user_data is set here) and parks the current task
 * until its completion.  Cancellation and deadlines cancel it in the kernel
 * and wait for the completion before returning.  Returns cqe->res (a count,
 * fd or 0 on success, -errno on failure), -ECANCELED / -ETIMEDOUT when
 * interrupted, or -EPERM outside a task. */
int cr__io_wait(const struct io_uring_sqe *tmpl);

/* As cr__io_wait, but deaf to cancellation and deadlines: for operations
 * that must complete whatever happens (the cancellations made before a
 * close).  A cancellation arriving meanwhile stays pending.  Returns
 * cqe->res or -EPERM outside a task. */
int cr__io_wait_shielded(const struct io_uring_sqe *tmpl);

#endif
