/* SPDX-License-Identifier: MIT */
/* The multishot core: arming, back-pressure, the result FIFO, its one waiter, and close. */
#include "multishot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FIFO_FIRST_CAP 16 /* results the FIFO holds when first allocated */

static uint64_t user_data(cr__multishot *m)
{
	return (uint64_t)(uintptr_t)&m->handler | CR__UD_HANDLER;
}

static void arm(cr__multishot *m)
{
	struct io_uring_sqe tmpl;
	m->ops->prep(m, &tmpl);
	cr__ring_queue(m->w, &tmpl, user_data(m));
	cr__ring_handler_op_begin(m->w);
	m->armed = 1;
}

static void on_cqe(cr__cqe_handler *h, int res, uint32_t flags)
{
	cr__multishot *m = cr__container_of(h, cr__multishot, handler);
	m->ops->complete(m, res, flags);
	if (!(flags & IORING_CQE_F_MORE)) {
		cr__ring_handler_op_end(m->w);
		m->armed = 0;
		m->cancelling = 0;
		if (!m->closing)
			m->ops->ended(m, res);
		cr__wake_slot(&m->end_waiter); /* close or pause waits for this */
	} else if (m->ops->full(m)) {
		cr__multishot_cancel(m); /* nobody takes the results: stop for now */
	}
	if (m->len || m->error)
		cr__wake_slot(&m->waiter);
}

void cr__multishot_start(cr__multishot *m, const cr__multishot_ops *ops, size_t item_size)
{
	m->handler.fn = on_cqe;
	m->ops = ops;
	m->w = cr__self();
	m->size = (unsigned)item_size;
	arm(m);
}

void cr__multishot_rearm(cr__multishot *m)
{
	if (!m->armed && !m->ended && !m->paused && !m->closing && m->ops->may_arm(m))
		arm(m);
}

void cr__multishot_cancel(cr__multishot *m)
{
	if (!m->armed || m->cancelling)
		return;
	cr__ring_cancel(m->w, user_data(m));
	m->cancelling = 1;
}

/* Parks the calling task, deaf to cancellation, until the operation's last
 * completion has been handled.  Returns nothing. */
static void await_end(cr__multishot *m)
{
	cr__wait wait;
	cr__wait_init(&wait, NULL);
	m->end_waiter = &wait;
	cr__wait_park(&wait);
}

void cr__multishot_pause(cr__multishot *m)
{
	m->paused = 1;
	cr__multishot_cancel(m);
	/* An arm queued just before (a re-arm by the release of a chunk) may
	 * still take data, and buffers with it, when the kernel sees it: wait
	 * until the operation has ended, so that every result it delivers is
	 * queued when this returns.  Another task already waiting for the end
	 * (a close, a pause) lets this one go at once: it stays paused. */
	if (m->armed && !m->end_waiter && cr__in_task() && m->w == cr__self())
		await_end(m);
}

void cr__multishot_resume(cr__multishot *m)
{
	m->paused = 0;
	cr__multishot_rearm(m);
}

void cr__multishot_end(cr__multishot *m, int error)
{
	m->ended = 1;
	if (error)
		m->error = error;
}

int cr__multishot_push(cr__multishot *m, const void *item)
{
	if (m->len == m->cap) {
		unsigned cap = m->cap ? m->cap * 2 : FIFO_FIRST_CAP;
		unsigned char *n = malloc((size_t)cap * m->size);
		if (!n)
			return -ENOMEM;
		if (m->len) { /* full: the entries run from head to the end, then wrap */
			size_t first = (size_t)(m->cap - m->head) * m->size;
			memcpy(n, m->items + (size_t)m->head * m->size, first);
			memcpy(n + first, m->items, (size_t)m->head * m->size);
		}
		free(m->items);
		m->items = n;
		m->cap = cap;
		m->head = 0;
	}
	memcpy(m->items + (size_t)((m->head + m->len) % m->cap) * m->size, item, m->size);
	m->len++;
	return 0;
}

void *cr__multishot_head(cr__multishot *m)
{
	return m->len ? m->items + (size_t)m->head * m->size : NULL;
}

void cr__multishot_pop(cr__multishot *m)
{
	m->head = (m->head + 1) % m->cap;
	m->len--;
}

int cr__multishot_wait(cr__multishot *m)
{
	if (m->w != cr__self())
		return -EXDEV;
	while (m->len == 0) {
		if (m->closing)
			return -EBADF;
		if (m->error)
			return m->error;
		m->users++;
		int e = cr__wait_in_slot(&m->waiter); /* woken then cancelled: the result stays */
		m->users--;
		if (e < 0)
			return e;
	}
	return m->closing ? -EBADF : 0;
}

int cr__multishot_poll(cr__multishot *m)
{
	if (m->w != cr__self())
		return -EXDEV;
	if (m->closing)
		return -EBADF;
	if (m->len == 0)
		return m->error ? m->error : -EAGAIN;
	return 0;
}

void cr__multishot_close(cr__multishot *m)
{
	m->closing = 1;
	/* A task waiting for a result gets -EBADF; let it leave first. */
	cr__wake_slot(&m->waiter);
	while (m->users)
		cr__yield_shielded();
	if (m->armed) {
		cr__multishot_cancel(m);
		/* Wait for the final completion, deaf to cancellation: the kernel
		 * must be done with the operation before its owner goes away (a
		 * pause waiting for it too is let go first: it no longer has a
		 * task in the way, close runs on the owning worker). */
		while (m->armed) {
			if (m->end_waiter)
				cr__yield_shielded();
			else
				await_end(m);
		}
	}
	void *item;
	while ((item = cr__multishot_head(m))) {
		m->ops->drop(m, item);
		cr__multishot_pop(m);
	}
	free(m->items);
	m->items = NULL;
	m->cap = 0;
}
