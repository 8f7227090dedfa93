/* SPDX-License-Identifier: MIT */
/* Multishot accept: a queue of accepted fds, re-arming with backoff after EMFILE/ENFILE, and close.
 */
#include <coring/net.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/io_uring.h>

#include "runtime_internal.h"

#define BACKOFF_MIN_NS 1000000ull    /* first re-arm delay after EMFILE/ENFILE */
#define BACKOFF_MAX_NS 1000000000ull /* longest delay */

struct cr_acceptor {
	cr__cqe_handler handler; /* completions of the multishot accept */
	struct cr__worker *w;		 /* owning worker */
	int lfd;		 /* listening socket */
	unsigned queue_max;	 /* accepted fds queued before accepting pauses */
	int *fds;		 /* FIFO of accepted fds (ring of cap) */
	unsigned cap, head, len; /* its capacity, first entry, entries */
	uint8_t armed;		 /* a multishot accept is in the kernel */
	uint8_t cancelling;	 /* an ASYNC_CANCEL for it was sent */
	uint8_t closing;	 /* cr_acceptor_close runs */
	uint8_t fd_starved;	 /* the last accept ended in EMFILE/ENFILE */
	uint64_t errors;	 /* EMFILE/ENFILE seen */
	int error;		 /* a lasting error (bad listening fd, ...), 0 if none */
	uint64_t backoff_ns;	 /* next re-arm delay after running out of fds */
	cr_callback_id rearm;	 /* pending delayed re-arm, 0 if none */
	cr__wait *waiter;	 /* the task in cr_acceptor_next */
	unsigned users;		 /* tasks inside cr_acceptor_next */
	cr__wait *close_waiter;	 /* the task in cr_acceptor_close */
};

static uint64_t user_data(cr_acceptor *a)
{
	return (uint64_t)(uintptr_t)&a->handler | CR__UD_HANDLER;
}

static void arm(cr_acceptor *a)
{
	struct io_uring_sqe *sqe = cr__ring_sqe(a->w);
	sqe->opcode = IORING_OP_ACCEPT;
	sqe->fd = a->lfd;
	sqe->ioprio = IORING_ACCEPT_MULTISHOT;
	sqe->accept_flags = SOCK_CLOEXEC;
	sqe->user_data = user_data(a);
	a->armed = 1;
}

static void cancel(cr_acceptor *a)
{
	if (!a->armed || a->cancelling)
		return;
	struct io_uring_sqe *sqe = cr__ring_sqe(a->w);
	sqe->opcode = IORING_OP_ASYNC_CANCEL;
	sqe->fd = -1;
	sqe->addr = user_data(a);
	sqe->user_data = CR__UD_IGNORE;
	a->cancelling = 1;
}

/* Appends fd; on no memory the connection is closed (refused).  Returns nothing. */
static void push(cr_acceptor *a, int fd)
{
	if (a->len == a->cap) {
		unsigned cap = a->cap ? a->cap * 2 : 16;
		int *n = malloc(cap * sizeof(*n));
		if (!n) {
			close(fd);
			return;
		}
		for (unsigned i = 0; i < a->len; i++)
			n[i] = a->fds[(a->head + i) % a->cap];
		free(a->fds);
		a->fds = n;
		a->cap = cap;
		a->head = 0;
	}
	a->fds[(a->head + a->len) % a->cap] = fd;
	a->len++;
}

static void maybe_rearm(cr_acceptor *a)
{
	if (!a->armed && !a->closing && !a->rearm && !a->error && a->len <= a->queue_max / 2)
		arm(a);
}

static void delayed_rearm(void *arg)
{
	cr_acceptor *a = arg;
	a->rearm = 0;
	maybe_rearm(a);
}

static void on_cqe(cr__cqe_handler *h, int res, uint32_t flags)
{
	cr_acceptor *a = (cr_acceptor *)h;
	if (res >= 0) {
		if (a->closing)
			close(res);
		else
			push(a, res);
		a->fd_starved = 0;
		a->backoff_ns = BACKOFF_MIN_NS;
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOMEM || res == -ENOBUFS) {
		a->errors += res == -EMFILE || res == -ENFILE;
		a->fd_starved = 1; /* out of a resource: retry with backoff */
	} else if (res != -ECANCELED && res != -ECONNABORTED && res != -EINTR && res != -EAGAIN &&
		   res != -EPROTO && res != -EPERM) {
		a->error = res; /* the listening socket itself is unusable */
	}
	if (!(flags & IORING_CQE_F_MORE)) {
		a->armed = 0;
		a->cancelling = 0;
		if (a->closing) {
			if (a->close_waiter)
				cr__wake(a->close_waiter, 0);
		} else if (a->fd_starved) {
			/* Out of fds: try again later, not in a loop. */
			a->rearm = cr_call_later(a->backoff_ns, delayed_rearm, a);
			a->backoff_ns = a->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS
									   : a->backoff_ns * 2;
			if (!a->rearm)
				maybe_rearm(a);
		} else {
			maybe_rearm(a);
		}
	} else if (a->len >= a->queue_max) {
		cancel(a); /* nobody takes the connections: stop accepting for now */
	}
	if ((a->len || a->error) && a->waiter) {
		cr__wait *w = a->waiter;
		a->waiter = NULL;
		cr__wake(w, 0);
	}
}

int cr_acceptor_open(cr_acceptor **out, int listen_fd, unsigned queue_max)
{
	if (!cr__in_task())
		return -EPERM;
	if (!out || listen_fd < 0)
		return -EINVAL;
	cr_acceptor *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->handler.fn = on_cqe;
	a->w = cr__self();
	a->lfd = listen_fd;
	a->queue_max = queue_max ? queue_max : 64;
	a->backoff_ns = BACKOFF_MIN_NS;
	arm(a);
	*out = a;
	return 0;
}

int cr_acceptor_next(cr_acceptor *a)
{
	if (!a)
		return -EINVAL;
	if (a->w != cr__self())
		return -EXDEV;
	while (a->len == 0) {
		if (a->closing)
			return -EBADF;
		if (a->error)
			return a->error;
		int e = cr__wait_prepare();
		if (e)
			return e;
		cr__wait wait;
		cr__wait_init(&wait, cr__abort_wake);
		a->waiter = &wait;
		a->users++;
		e = cr__wait_park(&wait);
		a->users--;
		if (a->waiter == &wait)
			a->waiter = NULL;
		if (e < 0)
			return e;
	}
	if (a->closing)
		return -EBADF;
	int fd = a->fds[a->head];
	a->head = (a->head + 1) % a->cap;
	a->len--;
	maybe_rearm(a);
	return fd;
}

uint64_t cr_acceptor_errors(const cr_acceptor *a)
{
	return a->errors;
}

int cr_acceptor_close(cr_acceptor *a)
{
	if (!a)
		return 0;
	if (a->w != cr__self())
		return -EXDEV;
	a->closing = 1;
	if (a->rearm)
		cr_callback_cancel(a->rearm);
	/* A task waiting in cr_acceptor_next gets -EBADF; let it leave first. */
	if (a->waiter) {
		cr__wait *w = a->waiter;
		a->waiter = NULL;
		cr__wake(w, 0);
	}
	while (a->users)
		cr__yield_shielded();
	if (a->armed) {
		cancel(a);
		cr__wait wait;
		cr__wait_init(&wait, NULL);
		a->close_waiter = &wait;
		cr__wait_park(&wait);
	}
	while (a->len) {
		close(a->fds[a->head]);
		a->head = (a->head + 1) % a->cap;
		a->len--;
	}
	free(a->fds);
	free(a);
	return 0;
}
