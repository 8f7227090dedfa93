/* SPDX-License-Identifier: MIT */
/* Multishot receive into pool buffers: re-arming, back-pressure, running dry and close. */
#include "receiver.h"

#include <errno.h>
#include <stdlib.h>

#include "runtime_internal.h"
#include "bufpool.h"
#include "sqe.h"

#define MAX_HELD_DEFAULT 8 /* max_held when the caller passes 0 */

/* Whether this kernel caps a multishot receive at a byte budget (6.16+):
 * 0 not known yet, 1 yes, -1 no (receivers then arm one-shot receives). */
static int byte_cap_support;

/*
 * Starts receiving.  A multishot receive is capped at the bytes of the
 * buffers the receiver may still take, so that data already waiting in the
 * socket cannot take more of the pool than max_held buffers' worth (the
 * kernel would otherwise fill up to 32 buffers before we see a completion).
 * Kernels without the cap get one-shot receives: one buffer per arm.
 */
static void prep(cr__multishot *m, struct io_uring_sqe *sqe)
{
	cr_receiver *r = cr__container_of(m, cr_receiver, ms);
	unsigned room = r->held < r->max_held ? r->max_held - r->held : 1;
	cr__sqe_init(sqe, IORING_OP_RECV, r->fd);
	sqe->flags = IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)r->pool->bgid;
	r->single = __atomic_load_n(&byte_cap_support, __ATOMIC_RELAXED) < 0;
	if (!r->single) {
		sqe->ioprio = IORING_RECV_MULTISHOT;
		sqe->file_index = (uint32_t)((size_t)room * r->pool->size); /* optlen: byte cap */
	}
}

/* Keeps an end of stream or error for the application (once); without
 * memory for it, the receiver's waits report -ENOMEM instead. */
static void end_with(cr_receiver *r, int res)
{
	if (r->ms.ended)
		return;
	cr__recv_item it = {res, 0};
	cr__multishot_end(&r->ms, cr__multishot_push(&r->ms, &it) < 0 ? -ENOMEM : 0);
}

static void complete(cr__multishot *m, int res, uint32_t flags)
{
	cr_receiver *r = cr__container_of(m, cr_receiver, ms);
	int cap = __atomic_load_n(&byte_cap_support, __ATOMIC_RELAXED);
	if (res == -EINVAL && !r->single && !r->got_data && cap <= 0 &&
	    !(flags & IORING_CQE_F_MORE)) {
		/* This kernel refuses the byte cap: use one-shot receives (the
		 * re-arm follows, as after any end). */
		__atomic_store_n(&byte_cap_support, -1, __ATOMIC_RELAXED);
		return;
	}
	if (res > 0) {
		r->got_data = 1;
		if (!r->single && cap == 0)
			__atomic_store_n(&byte_cap_support, 1, __ATOMIC_RELAXED);
	}
	if (flags & IORING_CQE_F_BUFFER) {
		cr__recv_item it = {res, flags >> IORING_CQE_BUFFER_SHIFT};
		r->pool->in_use++;
		if (res > 0 && !m->ended && cr__multishot_push(m, &it) == 0)
			r->held++;
		else
			cr__bufpool_put(r->pool, it.bid); /* nothing to deliver in it */
	} else if (res == 0) {
		end_with(r, 0);
	} else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
		end_with(r, res);
	}
}

/* Back-pressure: the application is not keeping up. */
static int full(cr__multishot *m)
{
	cr_receiver *r = cr__container_of(m, cr_receiver, ms);
	return r->held >= r->max_held;
}

/* Not while on the pool's starved list.  One-shot receives keep going up to
 * the limit; a multishot one waits until half of it is free again, so that
 * it is not re-armed per chunk. */
static int may_arm(cr__multishot *m)
{
	cr_receiver *r = cr__container_of(m, cr_receiver, ms);
	if (cr__list_linked(&r->starved_node))
		return 0;
	return r->single ? r->held < r->max_held : r->held <= r->max_held / 2;
}

static void ended(cr__multishot *m, int res)
{
	cr_receiver *r = cr__container_of(m, cr_receiver, ms);
	if (res == -ENOBUFS && !m->ended && !m->paused && cr_bufpool_free_count(r->pool) == 0)
		cr__bufpool_starve(r->pool, r); /* re-armed when a buffer comes back */
	else
		cr__multishot_rearm(m);
}

static void drop(cr__multishot *m, void *item)
{
	cr__recv_item *it = item;
	if (it->res > 0)
		cr__bufpool_put(cr__container_of(m, cr_receiver, ms)->pool, it->bid);
}

static const cr__multishot_ops receiver_ops = {prep, complete, full, may_arm, ended, drop};

void cr__receiver_fed(cr_receiver *r)
{
	cr__multishot_rearm(&r->ms);
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
	r->pool = pool;
	r->fd = fd;
	r->max_held = max_held ? max_held : MAX_HELD_DEFAULT;
	pool->receivers++;
	cr__multishot_start(&r->ms, &receiver_ops, sizeof(cr__recv_item));
	*out = r;
	return 0;
}

/* Takes the chunk at the head of the queue.  Returns as cr_receiver_next. */
static ssize_t take(cr_receiver *r, cr_chunk *c)
{
	cr__recv_item *it = cr__multishot_head(&r->ms);
	if (it->res <= 0)
		return it->res; /* end of stream or error: stays at the head */
	c->data = r->pool->base + (size_t)it->bid * r->pool->size;
	c->len = (size_t)it->res;
	c->bid = it->bid;
	cr__mark_defined(c->data, c->len); /* written by the kernel: tell memcheck */
	cr__multishot_pop(&r->ms);
	return (ssize_t)c->len;
}

ssize_t cr_receiver_try_next(cr_receiver *r, cr_chunk *c)
{
	if (!r || !c)
		return -EINVAL;
	int e = cr__multishot_poll(&r->ms);
	return e ? e : take(r, c);
}

void cr_receiver_pause(cr_receiver *r)
{
	cr__bufpool_unstarve(r);
	cr__multishot_pause(&r->ms);
}

void cr_receiver_resume(cr_receiver *r)
{
	cr__multishot_resume(&r->ms);
}

ssize_t cr_receiver_next(cr_receiver *r, cr_chunk *c)
{
	if (!r || !c)
		return -EINVAL;
	int e = cr__multishot_wait(&r->ms);
	return e ? e : take(r, c);
}

void cr_chunk_release(cr_receiver *r, cr_chunk *c)
{
	r->held--;
	cr__bufpool_put(r->pool, c->bid);
	cr__multishot_rearm(&r->ms);
}

int cr_receiver_close(cr_receiver *r)
{
	if (!r)
		return 0;
	if (r->ms.w != cr__self())
		return -EXDEV;
	cr__bufpool_unstarve(r);
	cr__multishot_close(&r->ms); /* gives back the buffers of chunks nobody took */
	r->pool->receivers--;
	free(r);
	return 0;
}
