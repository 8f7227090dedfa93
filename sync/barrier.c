/* SPDX-License-Identifier: MIT */
/* asyncio.Barrier: a cyclic barrier (filling, draining, resetting, broken) on a Condition. */
#include <errno.h>

#include "cqs.h"

enum { FILLING, DRAINING, RESETTING, BROKEN };

#define GET(f) __atomic_load_n(&(f), __ATOMIC_RELAXED)
#define SET(f, v) __atomic_store_n(&(f), (v), __ATOMIC_RELAXED)

int cr_barrier_init(cr_barrier *b, int parties)
{
	if (!b || parties <= 0)
		return -EINVAL; /* asyncio: ValueError; nothing is initialised */
	cr_cond_init(&b->cond, NULL);
	b->parties = parties;
	b->count = 0;
	b->state = FILLING;
	return 0;
}

int cr_barrier_destroy(cr_barrier *b)
{
	return cr_cond_destroy(&b->cond);
}

static int may_enter(void *arg)
{
	cr_barrier *b = arg;
	return b->state != DRAINING && b->state != RESETTING;
}

static int filled(void *arg)
{
	cr_barrier *b = arg;
	return b->state != FILLING;
}

/* The last task out ends draining or resetting and wakes those blocked on it. */
static void leave(cr_barrier *b)
{
	SET(b->count, b->count - 1);
	if (b->count == 0) {
		if (b->state == RESETTING || b->state == DRAINING)
			SET(b->state, FILLING);
		cr_cond_notify_all(&b->cond);
	}
}

int cr_barrier_wait(cr_barrier *b)
{
	int r = cr_cond_acquire(&b->cond);
	if (r < 0)
		return r;
	/* Wait out a previous round still draining, or a reset. */
	r = cr_cond_wait_for(&b->cond, may_enter, b);
	if (r == 0 && b->state == BROKEN)
		r = -EPIPE;
	if (r < 0) {
		cr_cond_release(&b->cond);
		return r;
	}
	int index = b->count;
	SET(b->count, index + 1);
	int result = index;
	if (index + 1 == b->parties) {
		SET(b->state, DRAINING); /* the last arrival releases the others */
		cr_cond_notify_all(&b->cond);
	} else {
		r = cr_cond_wait_for(&b->cond, filled, b);
		if (r < 0)
			result = r;
		else if (b->state == BROKEN || b->state == RESETTING)
			result = -EPIPE;
	}
	leave(b);
	cr_cond_release(&b->cond);
	return result;
}

int cr_barrier_reset(cr_barrier *b)
{
	int r = cr_cond_acquire(&b->cond);
	if (r < 0)
		return r;
	if (b->count > 0)
		SET(b->state, RESETTING); /* waiters get -EPIPE; the last out refills */
	else
		SET(b->state, FILLING);
	cr_cond_notify_all(&b->cond);
	cr_cond_release(&b->cond);
	return 0;
}

int cr_barrier_abort(cr_barrier *b)
{
	int r = cr_cond_acquire(&b->cond);
	if (r < 0)
		return r;
	SET(b->state, BROKEN);
	cr_cond_notify_all(&b->cond);
	cr_cond_release(&b->cond);
	return 0;
}

int cr_barrier_parties(const cr_barrier *b)
{
	return b->parties;
}

int cr_barrier_n_waiting(const cr_barrier *b)
{
	return GET(b->state) == FILLING ? GET(b->count) : 0;
}

int cr_barrier_broken(const cr_barrier *b)
{
	return GET(b->state) == BROKEN;
}
