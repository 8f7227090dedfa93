/* SPDX-License-Identifier: MIT */
/* Readiness of any fd through the ring: the one-shot cr_poll_fd and the multishot cr_poller. */
#include <coring/net.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>

#include "runtime_internal.h"
#include "multishot.h"
#include "sqe.h"

#define POLL_WANTED (POLLIN | POLLOUT | POLLPRI | POLLRDHUP) /* at least one of these */
#define POLL_ALWAYS (POLLERR | POLLHUP)			     /* reported whether asked for or not */

struct cr_poller {
	cr__multishot
		ms;	 /* the multishot poll; its FIFO holds at most one entry: the events seen */
	int fd;		 /* the fd polled (not owned) */
	unsigned events; /* the events asked for */
};

/* Checks an event mask.  Returns 0, or -EINVAL for unknown bits or none
 * of POLL_WANTED. */
static int check_events(unsigned events)
{
	if ((events & ~(unsigned)(POLL_WANTED | POLL_ALWAYS)) || !(events & POLL_WANTED))
		return -EINVAL;
	return 0;
}

/* Fills s with a poll of fd for events, multishot if multi.  Returns nothing. */
static void prep_poll(struct io_uring_sqe *s, int fd, unsigned events, int multi)
{
	uint32_t ev = events;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	ev = ev << 16 | ev >> 16; /* the kernel reads poll32_events as two swapped halves */
#endif
	cr__sqe_init(s, IORING_OP_POLL_ADD, fd);
	s->poll32_events = ev;
	if (multi)
		s->len = IORING_POLL_ADD_MULTI;
}

int cr_poll_fd(int fd, unsigned events)
{
	if (!cr__in_task())
		return -EPERM;
	if (fd < 0)
		return -EBADF;
	int e = check_events(events);
	if (e)
		return e;
	struct io_uring_sqe s;
	prep_poll(&s, fd, events, 0);
	return cr__io_wait(&s);
}

/* ---- the multishot poller ---------------------------------------------------------------- */

static void poller_prep(cr__multishot *m, struct io_uring_sqe *sqe)
{
	cr_poller *p = cr__container_of(m, cr_poller, ms);
	prep_poll(sqe, p->fd, p->events, 1);
}

/* ORs a readiness result into the one pending entry (made if there is none).
 * An error ends the poller with it.  The poller never cancels its own poll
 * but at close, so a cancellation is someone else's: cr_close cancelling
 * what runs on the fd before closing it.  Re-arming then could poll a
 * closed fd, or another file that reused its number: the poller ends with
 * -EBADF instead. */
static void poller_complete(cr__multishot *m, int res, uint32_t flags)
{
	if (res == -ECANCELED && !(flags & IORING_CQE_F_MORE) && !m->closing) {
		cr__multishot_end(m, -EBADF);
	} else if (res > 0) {
		unsigned *pending = cr__multishot_head(m);
		unsigned ev = (unsigned)res;
		if (pending)
			*pending |= ev;
		else if (!m->closing && cr__multishot_push(m, &ev) < 0)
			cr__multishot_end(m, -ENOMEM);
	} else if (res < 0 && res != -ECANCELED) {
		cr__multishot_end(m, res); /* -EBADF, -EINVAL, ...: the fd cannot be polled */
	}
}

/* The pending events are a bitmask: they never fill anything up. */
static int poller_full(cr__multishot *m)
{
	(void)m;
	return 0;
}

/* Re-arms only once the waiter took what is pending: a file that is always
 * ready (a regular file) ends every arm at once, and re-arming it before
 * anyone looks would spin.  The new arm checks the fd's state first, so no
 * readiness is missed meanwhile. */
static int poller_may_arm(cr__multishot *m)
{
	return m->len == 0;
}

static void poller_ended(cr__multishot *m, int res)
{
	(void)res;
	cr__multishot_rearm(m);
}

static void poller_drop(cr__multishot *m, void *item)
{
	(void)m;
	(void)item;
}

static const cr__multishot_ops poller_ops = {poller_prep,    poller_complete, poller_full,
					     poller_may_arm, poller_ended,    poller_drop};

int cr_poller_open(cr_poller **out, int fd, unsigned events)
{
	if (!cr__in_task())
		return -EPERM;
	if (!out)
		return -EINVAL;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	int e = check_events(events);
	if (e)
		return e;
	cr_poller *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = fd;
	p->events = events;
	cr__multishot_start(&p->ms, &poller_ops, sizeof(unsigned));
	*out = p;
	return 0;
}

int cr_poller_wait(cr_poller *p)
{
	if (!p)
		return -EINVAL;
	if (!cr__in_task())
		return -EPERM;
	if (p->ms.w != cr__self())
		return -EXDEV;
	if (p->ms.waiter)
		return -EBUSY; /* the core has room for one waiter */
	int e = cr__multishot_wait(&p->ms);
	if (e)
		return e;
	unsigned ev = *(unsigned *)cr__multishot_head(&p->ms);
	cr__multishot_pop(&p->ms);
	cr__multishot_rearm(&p->ms); /* if an arm ended while events were pending */
	return (int)ev;
}

int cr_poller_close(cr_poller *p)
{
	if (!p)
		return 0;
	if (!cr__in_task())
		return -EPERM;
	if (p->ms.w != cr__self())
		return -EXDEV;
	cr__multishot_close(&p->ms);
	free(p);
	return 0;
}
