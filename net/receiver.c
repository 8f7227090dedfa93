/* SPDX-License-Identifier: MIT */
/* Multishot receive into pool buffers: re-arming, back-pressure, running dry and close. */
#include "receiver.h"

#include <errno.h>
#include <stdlib.h>

#include "runtime_internal.h"
#include "bufpool.h"

/* Whether this kernel caps a multishot receive at a byte budget (6.16+):
 * 0 not known yet, 1 yes, -1 no (receivers then arm one-shot receives). */
static int byte_cap_support;

static uint64_t user_data(cr_receiver *r)
{
	return (uint64_t)(uintptr_t)&r->handler | CR__UD_HANDLER;
}

/*
 * Starts receiving.  A multishot receive is capped at the bytes of the
 * buffers the receiver may still take, so that data already waiting in the
 * socket cannot take more of the pool than max_held buffers' worth (the
 * kernel would otherwise fill up to 32 buffers before we see a completion).
 * Kernels without the cap get one-shot receives: one buffer per arm.
 */
static void arm(cr_receiver *r)
{
	unsigned room = r->held < r->max_held ? r->max_held - r->held : 1;
	struct io_uring_sqe *sqe = cr__ring_sqe(r->w);
	sqe->opcode = IORING_OP_RECV;
	sqe->fd = r->fd;
	sqe->flags = IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)r->pool->bgid;
	r->single = __atomic_load_n(&byte_cap_support, __ATOMIC_RELAXED) < 0;
	if (!r->single) {
		sqe->ioprio = IORING_RECV_MULTISHOT;
		sqe->file_index = (uint32_t)((size_t)room * r->pool->size); /* optlen: byte cap */
	}
	sqe->user_data = user_data(r);
	r->armed = 1;
}

/* Asks the kernel to end the multishot receive (pause or close). */
static void cancel(cr_receiver *r)
{
	if (!r->armed || r->cancelling)
		return;
	struct io_uring_sqe *sqe = cr__ring_sqe(r->w);
	sqe->opcode = IORING_OP_ASYNC_CANCEL;
	sqe->fd = -1;
	sqe->addr = user_data(r);
	sqe->user_data = CR__UD_IGNORE;
	r->cancelling = 1;
}

/* Appends a completion, growing the FIFO.  Returns 0 or -ENOMEM. */
static int push(cr_receiver *r, int32_t res, uint32_t bid)
{
	if (r->len == r->cap) {
		unsigned cap = r->cap ? r->cap * 2 : 8;
		cr__recv_item *n = malloc(cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (unsigned i = 0; i < r->len; i++)
			n[i] = r->items[(r->head + i) % r->cap];
		free(r->items);
		r->items = n;
		r->cap = cap;
		r->head = 0;
	}
	r->items[(r->head + r->len) % r->cap] = (cr__recv_item){res, bid};
	r->len++;
	return 0;
}

/* Re-arms if nothing stops it: not ended, not closing, not starved, under
 * the back-pressure mark. */
static void maybe_rearm(cr_receiver *r)
{
	if (r->armed || r->ended || r->closing || r->starved || r->paused)
		return;
	/* One-shot receives keep going up to the limit; a multishot one waits
	 * until half of it is free again, so that it is not re-armed per chunk. */
	if (r->single ? r->held < r->max_held : r->held <= r->max_held / 2)
		arm(r);
}

static void wake_waiter(cr_receiver *r)
{
	cr__wait *w = r->waiter;
	if (w) {
		r->waiter = NULL;
		cr__wake(w, 0);
	}
}

/* Keeps an end of stream or error for the application (once). */
static void end_with(cr_receiver *r, int res)
{
	if (r->ended)
		return;
	r->ended = 1;
	if (push(r, res, 0) < 0)
		r->ended = 2; /* no memory for the item: reported as -ENOMEM by next */
}

static void on_cqe(cr__cqe_handler *h, int res, uint32_t flags)
{
	cr_receiver *r = (cr_receiver *)h;
	int cap = __atomic_load_n(&byte_cap_support, __ATOMIC_RELAXED);
	if (res == -EINVAL && !r->single && !r->got_data && cap <= 0 &&
	    !(flags & IORING_CQE_F_MORE)) {
		/* This kernel refuses the byte cap: use one-shot receives. */
		__atomic_store_n(&byte_cap_support, -1, __ATOMIC_RELAXED);
		r->armed = 0;
		r->cancelling = 0;
		if (r->closing) {
			if (r->close_waiter)
				cr__wake(r->close_waiter, 0);
		} else {
			maybe_rearm(r);
		}
		return;
	}
	if (res > 0) {
		r->got_data = 1;
		if (!r->single && cap == 0)
			__atomic_store_n(&byte_cap_support, 1, __ATOMIC_RELAXED);
	}
	if (flags & IORING_CQE_F_BUFFER) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
		r->pool->in_use++;
		if (res > 0 && !r->ended && push(r, res, bid) == 0)
			r->held++;
		else
			cr__bufpool_put(r->pool, bid); /* nothing to deliver in it */
	} else if (res == 0) {
		end_with(r, 0);
	} else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
		end_with(r, res);
	}
	if (!(flags & IORING_CQE_F_MORE)) {
		r->armed = 0;
		r->cancelling = 0;
		if (r->closing) {
			if (r->close_waiter)
				cr__wake(r->close_waiter, 0);
		} else if (res == -ENOBUFS && !r->ended && !r->paused &&
			   cr_bufpool_free_count(r->pool) == 0) {
			cr__bufpool_starve(r->pool, r); /* re-armed when a buffer comes back */
		} else {
			maybe_rearm(r);
		}
	} else if (r->held >= r->max_held) {
		cancel(r); /* back-pressure: the application is not keeping up */
	}
	wake_waiter(r);
}

void cr__receiver_fed(cr_receiver *r)
{
	maybe_rearm(r);
}

int cr_receiver_open(cr_receiver **out, int fd, cr_bufpool *pool, unsigned max_held)
{
	if (!cr__in_task())
		return -EPERM;
	if (!out || !pool || fd < 0)
		return -EINVAL;
	if (pool->w != cr__self())
		return -EXDEV;
	cr_receiver *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->handler.fn = on_cqe;
	r->w = cr__self();
	r->pool = pool;
	r->fd = fd;
	r->max_held = max_held ? max_held : 8;
	pool->receivers++;
	arm(r);
	*out = r;
	return 0;
}

/* Takes the chunk at the head of the queue.  Returns as cr_receiver_next. */
static ssize_t take(cr_receiver *r, cr_chunk *c)
{
	cr__recv_item *it = &r->items[r->head];
	if (it->res <= 0)
		return it->res; /* end of stream or error: stays at the head */
	c->data = r->pool->base + (size_t)it->bid * r->pool->size;
	c->len = (size_t)it->res;
	c->bid = it->bid;
	cr__mark_defined(c->data, c->len); /* written by the kernel: tell memcheck */
	r->head = (r->head + 1) % r->cap;
	r->len--;
	return it->res;
}

ssize_t cr_receiver_try_next(cr_receiver *r, cr_chunk *c)
{
	if (!r || !c)
		return -EINVAL;
	if (r->w != cr__self())
		return -EXDEV;
	if (r->closing)
		return -EBADF;
	if (r->len == 0)
		return r->ended == 2 ? -ENOMEM : -EAGAIN;
	return take(r, c);
}

void cr_receiver_pause(cr_receiver *r)
{
	r->paused = 1;
	cr__bufpool_unstarve(r->pool, r);
	cancel(r);
}

void cr_receiver_resume(cr_receiver *r)
{
	r->paused = 0;
	maybe_rearm(r);
}

ssize_t cr_receiver_next(cr_receiver *r, cr_chunk *c)
{
	if (!r || !c)
		return -EINVAL;
	struct cr__worker *w = cr__self();
	if (r->w != w)
		return -EXDEV;
	while (r->len == 0) {
		if (r->closing)
			return -EBADF;
		if (r->ended == 2)
			return -ENOMEM;
		int e = cr__wait_prepare();
		if (e)
			return e;
		cr__wait wait;
		cr__wait_init(&wait, cr__abort_wake);
		r->waiter = &wait;
		r->users++;
		e = cr__wait_park(&wait);
		r->users--;
		if (r->waiter == &wait)
			r->waiter = NULL;
		if (e < 0)
			return e;
	}
	if (r->closing)
		return -EBADF;
	return take(r, c);
}

void cr_chunk_release(cr_receiver *r, cr_chunk *c)
{
	r->held--;
	cr__bufpool_put(r->pool, c->bid);
	maybe_rearm(r);
}

int cr_receiver_close(cr_receiver *r)
{
	if (!r)
		return 0;
	if (r->w != cr__self())
		return -EXDEV;
	r->closing = 1;
	cr__bufpool_unstarve(r->pool, r);
	/* A task waiting in cr_receiver_next gets -EBADF; let it leave first. */
	wake_waiter(r);
	while (r->users)
		cr__yield_shielded();
	if (r->armed) {
		cancel(r);
		/* Wait for the final completion, deaf to cancellation: the kernel
		 * must be done with the socket's receive before r goes away. */
		cr__wait wait;
		cr__wait_init(&wait, NULL);
		r->close_waiter = &wait;
		cr__wait_park(&wait);
	}
	while (r->len) {
		cr__recv_item *it = &r->items[r->head];
		if (it->res > 0)
			cr__bufpool_put(r->pool, it->bid);
		r->head = (r->head + 1) % r->cap;
		r->len--;
	}
	r->pool->receivers--;
	free(r->items);
	free(r);
	return 0;
}
