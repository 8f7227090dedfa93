/* SPDX-License-Identifier: MIT */
/* Single-shot I/O on the worker's ring with kernel-side cancellation. */
#include "io.h"

#include <errno.h>
#include <string.h>

#include "ring.h"
#include "task.h"
#include "wait.h"
#include "worker.h"

/* Asks the kernel to cancel the operation whose user_data is w; the wait
 * ends when the operation's own completion arrives. */
static void io_abort(cr__wait *w, int reason)
{
	(void)reason;
	cr__ring_cancel(w->task->worker, (uint64_t)(uintptr_t)w);
}

static int io_wait(const struct io_uring_sqe *tmpl, int interruptible)
{
	cr__worker *wk = cr__self();
	if (!wk || !wk->current)
		return -EPERM;
	if (interruptible) {
		int r = cr__wait_prepare();
		if (r)
			return r;
	}
	cr__wait w;
	cr__wait_init(&w, interruptible ? io_abort : NULL);
	w.io = 1;
	cr__ring_queue(wk, tmpl, (uint64_t)(uintptr_t)&w);
	wk->inflight++;
	return cr__wait_park(&w);
}

int cr__io_wait(const struct io_uring_sqe *tmpl)
{
	return io_wait(tmpl, 1);
}

int cr__io_wait_shielded(const struct io_uring_sqe *tmpl)
{
	return io_wait(tmpl, 0);
}

int cr_nop(void)
{
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_NOP;
	sqe.fd = -1;
	return cr__io_wait(&sqe);
}
