/* SPDX-License-Identifier: MIT */
/* Multishot accept: a queue of accepted fds, re-arming with backoff after EMFILE/ENFILE, and close.
 */
#include <coring/net.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "multishot.h"
#include "sqe.h"

#define QUEUE_MAX_DEFAULT 64	     /* queue_max when the caller passes 0 */
#define BACKOFF_MIN_NS 1000000ull    /* first re-arm delay after EMFILE/ENFILE */
#define BACKOFF_MAX_NS 1000000000ull /* longest delay */

struct cr_acceptor {
	cr__multishot ms;     /* the multishot accept and its FIFO of fds */
	int lfd;	      /* listening socket */
	unsigned queue_max;   /* accepted fds queued before accepting pauses */
	uint8_t fd_starved;   /* the last accept ended in EMFILE/ENFILE */
	uint64_t errors;      /* EMFILE/ENFILE seen */
	uint64_t backoff_ns;  /* next re-arm delay after running out of fds */
	cr_callback_id rearm; /* pending delayed re-arm, 0 if none */
};

static void prep(cr__multishot *m, struct io_uring_sqe *sqe)
{
	cr_acceptor *a = cr__container_of(m, cr_acceptor, ms);
	cr__sqe_init(sqe, IORING_OP_ACCEPT, a->lfd);
	sqe->ioprio = IORING_ACCEPT_MULTISHOT;
	sqe->accept_flags = SOCK_CLOEXEC;
}

static void complete(cr__multishot *m, int res, uint32_t flags)
{
	cr_acceptor *a = cr__container_of(m, cr_acceptor, ms);
	(void)flags;
	if (res >= 0) {
		/* No memory to queue it, or closing: the connection is refused. */
		if (m->closing || cr__multishot_push(m, &res) < 0)
			close(res);
		a->fd_starved = 0;
		a->backoff_ns = BACKOFF_MIN_NS;
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOMEM || res == -ENOBUFS) {
		a->errors += res == -EMFILE || res == -ENFILE;
		a->fd_starved = 1; /* out of a resource: retry with backoff */
	} else if (res != -ECANCELED && res != -ECONNABORTED && res != -EINTR && res != -EAGAIN &&
		   res != -EPROTO && res != -EPERM) {
		cr__multishot_end(m, res); /* the listening socket itself is unusable */
	}
}

static int full(cr__multishot *m)
{
	return m->len >= cr__container_of(m, cr_acceptor, ms)->queue_max;
}

static int may_arm(cr__multishot *m)
{
	cr_acceptor *a = cr__container_of(m, cr_acceptor, ms);
	return !a->rearm && m->len <= a->queue_max / 2;
}

static void delayed_rearm(void *arg)
{
	cr_acceptor *a = arg;
	a->rearm = 0;
	cr__multishot_rearm(&a->ms);
}

static void ended(cr__multishot *m, int res)
{
	cr_acceptor *a = cr__container_of(m, cr_acceptor, ms);
	(void)res;
	if (a->fd_starved) {
		/* Out of fds: try again later, not in a loop. */
		a->rearm = cr_call_later(a->backoff_ns, delayed_rearm, a);
		a->backoff_ns =
			a->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : a->backoff_ns * 2;
	}
	cr__multishot_rearm(m); /* now, unless a delayed re-arm is pending */
}

static void drop(cr__multishot *m, void *item)
{
	(void)m;
	close(*(int *)item);
}

static const cr__multishot_ops acceptor_ops = {prep, complete, full, may_arm, ended, drop};

int cr_acceptor_open(cr_acceptor **out, int listen_fd, unsigned queue_max)
{
	if (!cr__in_task())
		return -EPERM;
	if (!out || listen_fd < 0)
		return -EINVAL;
	cr_acceptor *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->lfd = listen_fd;
	a->queue_max = queue_max ? queue_max : QUEUE_MAX_DEFAULT;
	a->backoff_ns = BACKOFF_MIN_NS;
	cr__multishot_start(&a->ms, &acceptor_ops, sizeof(int));
	*out = a;
	return 0;
}

int cr_acceptor_next(cr_acceptor *a)
{
	if (!a)
		return -EINVAL;
	int e = cr__multishot_wait(&a->ms);
	if (e)
		return e;
	int fd = *(int *)cr__multishot_head(&a->ms);
	cr__multishot_pop(&a->ms);
	cr__multishot_rearm(&a->ms);
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
	if (a->ms.w != cr__self())
		return -EXDEV;
	if (a->rearm)
		cr_callback_cancel(a->rearm);
	a->rearm = 0;
	cr__multishot_close(&a->ms); /* closes the fds nobody took */
	free(a);
	return 0;
}
