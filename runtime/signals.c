/* SPDX-License-Identifier: MIT */
/* Signals as waits: signalfd reads on the ring; SIGINT/SIGTERM may cancel the main task. */
#include <errno.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "signals.h"
#include "fiber.h"
#include "io.h"
#include "offload.h"
#include "remote.h"
#include "list.h"
#include "worker.h"

static void on_stop_signal(cr__cqe_handler *h, int res, uint32_t flags);

/* Queues a read of the stop-signal fd whose completion cancels the main task. */
static void arm_stop_signal(cr__worker *w)
{
	struct io_uring_sqe *sqe = cr__ring_sqe(w);
	sqe->opcode = IORING_OP_READ;
	sqe->fd = w->signal_fd;
	sqe->addr = (uint64_t)(uintptr_t)w->signal_buf;
	sqe->len = sizeof(struct signalfd_siginfo);
	sqe->off = (uint64_t)-1;
	sqe->user_data = (uint64_t)(uintptr_t)&w->signal_handler | CR__UD_HANDLER;
}

static void on_stop_signal(cr__cqe_handler *h, int res, uint32_t flags)
{
	(void)flags;
	cr__worker *w = cr__container_of(h, cr__worker, signal_handler);
	if (res == -ECANCELED || res == -EBADF)
		return;
	if (res == (int)sizeof(struct signalfd_siginfo) && w->main_task &&
	    !atomic_load_explicit(&w->rt->stopping, memory_order_relaxed))
		cr_cancel(w->main_task);
	arm_stop_signal(w);
}

int cr__signals_setup(cr__worker *w, char *why, unsigned long whylen)
{
	if (!w->cfg.cancel_on_signal)
		return 0;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	w->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w->signal_fd < 0) {
		int err = -errno;
		snprintf(why, whylen, "signalfd for SIGINT/SIGTERM failed: %s", strerror(-err));
		return err;
	}
	w->signal_handler.fn = on_stop_signal;
	arm_stop_signal(w);
	return 0;
}

/* Blocks set in the calling thread and in worker 0's (the other workers and
 * the pool threads block every signal from their start), so that the
 * signals stay pending for signalfd instead of taking their default action.
 * Returns nothing. */
static void block_everywhere(cr__worker *w, const sigset_t *set)
{
	pthread_sigmask(SIG_BLOCK, set, NULL);
	if (w->id == 0)
		return;
	cr__sigblock_req req;
	req.msg.kind = CR__MSG_SIGBLOCK;
	req.set = *set;
	cr__wait_init(&req.reply, NULL);
	cr__remote_post(w->rt->workers[0], &req.msg);
	cr__wait_park(&req.reply);
}

int cr_signal_wait(const int *signals, size_t n, int *signo)
{
	cr__worker *w = cr__self();
	if (!w || !w->current)
		return -EPERM;
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; signals && i < n; i++)
		if (signals[i] == SIGKILL || signals[i] == SIGSTOP ||
		    sigaddset(&set, signals[i]) < 0)
			return -EINVAL;
	if (!signals || n == 0)
		return -EINVAL;
	int r = cr__wait_prepare();
	if (r)
		return r;
	block_everywhere(w, &set);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct signalfd_siginfo si;
	struct io_uring_sqe s;
	memset(&s, 0, sizeof(s));
	s.opcode = IORING_OP_READ;
	s.fd = fd;
	s.addr = (uint64_t)(uintptr_t)&si;
	s.len = sizeof(si);
	s.off = (uint64_t)-1;
	r = cr__io_wait(&s);
	close(fd);
	if (r == (int)sizeof(si)) {
		cr__mark_defined(&si, sizeof(si));
		if (signo)
			*signo = (int)si.ssi_signo;
		return 0;
	}
	return r < 0 ? r : -EIO;
}
