/* SPDX-License-Identifier: MIT */
/* call_soon / call_later / call_at: callbacks run by the loop, cancellable by id. */
#include <errno.h>
#include <stdlib.h>

#include "task.h"
#include "list.h"
#include "worker.h"

#define CB_BLOCK 1024u
#define CB_MAX_BLOCKS (UINT32_MAX / CB_BLOCK)

static cr__callback *cb_at(cr__callbacks *c, uint32_t index)
{
	return &c->blocks[index / CB_BLOCK][index % CB_BLOCK];
}

static int grow(cr__callbacks *c)
{
	if (c->nblocks >= CB_MAX_BLOCKS)
		return -ENOMEM;
	cr__callback **blocks = realloc(c->blocks, (c->nblocks + 1) * sizeof(*blocks));
	if (!blocks)
		return -ENOMEM;
	c->blocks = blocks;
	cr__callback *b = calloc(CB_BLOCK, sizeof(*b));
	if (!b)
		return -ENOMEM;
	c->blocks[c->nblocks] = b;
	uint32_t base = c->nblocks * CB_BLOCK;
	for (uint32_t i = CB_BLOCK; i-- > 0;) {
		b[i].index = base + i;
		b[i].gen = 1;
		b[i].run.kind = CR__RUN_CALLBACK;
		b[i].next_free = c->free_head;
		c->free_head = base + i + 1;
	}
	c->nblocks++;
	return 0;
}

static cr__callback *cb_alloc(cr__callbacks *c, cr_callback_fn fn, void *arg)
{
	if (!fn || (!c->free_head && grow(c) < 0))
		return NULL;
	cr__callback *cb = cb_at(c, c->free_head - 1);
	c->free_head = cb->next_free;
	cb->fn = fn;
	cb->arg = arg;
	c->live++;
	return cb;
}

static void cb_free(cr__callbacks *c, cr__callback *cb)
{
	cb->state = CR__CB_FREE;
	cb->gen = cb->gen + 1 ? cb->gen + 1 : 1;
	cb->next_free = c->free_head;
	c->free_head = cb->index + 1;
	c->live--;
}

static cr_callback_id cb_id(const cr__callback *cb)
{
	return ((uint64_t)cb->gen << 32) | (uint64_t)(cb->index + 1);
}

cr_callback_id cr_call_soon(cr_callback_fn fn, void *arg)
{
	cr__worker *w = cr__self();
	cr__callback *cb = w ? cb_alloc(&w->callbacks, fn, arg) : NULL;
	if (!cb)
		return 0;
	cb->state = CR__CB_QUEUED;
	cr__runq_push(&w->ready, &cb->run);
	return cb_id(cb);
}

static void cb_timer_fire(cr__timer *tm)
{
	cr__callback *cb = cr__container_of(tm, cr__callback, timer);
	cb->state = CR__CB_QUEUED;
	cr__runq_push(&cr__self()->ready, &cb->run);
}

cr_callback_id cr_call_at(uint64_t deadline_ns, cr_callback_fn fn, void *arg)
{
	cr__worker *w = cr__self();
	cr__callback *cb = w ? cb_alloc(&w->callbacks, fn, arg) : NULL;
	if (!cb)
		return 0;
	cr__timer_init(&cb->timer, cb_timer_fire);
	if (cr__timer_heap_add(&w->timers, &cb->timer, deadline_ns) < 0) {
		cb_free(&w->callbacks, cb);
		return 0;
	}
	cb->state = CR__CB_TIMER;
	return cb_id(cb);
}

cr_callback_id cr_call_later(uint64_t delay_ns, cr_callback_fn fn, void *arg)
{
	uint64_t now = cr_now_ns();
	return cr_call_at(delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns, fn, arg);
}

int cr_callback_cancel(cr_callback_id id)
{
	cr__worker *w = cr__self();
	uint32_t index = (uint32_t)id, gen = (uint32_t)(id >> 32);
	if (!w)
		return -EPERM;
	if (index == 0 || index > w->callbacks.nblocks * CB_BLOCK)
		return -ENOENT;
	cr__callback *cb = cb_at(&w->callbacks, index - 1);
	if (cb->gen != gen)
		return -ENOENT;
	if (cb->state == CR__CB_TIMER) {
		cr__timer_heap_remove(&w->timers, &cb->timer);
		cb_free(&w->callbacks, cb);
		return 0;
	}
	if (cb->state == CR__CB_QUEUED) {
		cb->state = CR__CB_CANCELLED; /* freed when the queue reaches it */
		return 0;
	}
	return -ENOENT;
}

void cr__callback_run(cr__worker *w, cr__callback *cb)
{
	if (cb->state == CR__CB_CANCELLED) {
		cb_free(&w->callbacks, cb);
		return;
	}
	cr_callback_fn fn = cb->fn;
	void *arg = cb->arg;
	cb_free(&w->callbacks, cb);
	w->stats.callbacks_run++;
	fn(arg);
}

void cr__callbacks_destroy(cr__callbacks *c)
{
	for (uint32_t i = 0; i < c->nblocks; i++)
		free(c->blocks[i]);
	free(c->blocks);
	c->blocks = NULL;
	c->nblocks = 0;
	c->free_head = 0;
	c->live = 0;
}
