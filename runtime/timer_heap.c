/* SPDX-License-Identifier: MIT */
/* Binary min-heap of timers with inline keys and back-indices for O(log n) removal. */
#include "timer_heap.h"

#include <errno.h>
#include <stdlib.h>

static int earlier(const cr__timer_slot *a, const cr__timer_slot *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void place(cr__timer_heap *h, uint32_t i, cr__timer_slot s)
{
	h->items[i] = s;
	s.t->index = i;
}

static void sift_up(cr__timer_heap *h, uint32_t i, cr__timer_slot s)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!earlier(&s, &h->items[parent]))
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, s);
}

static void sift_down(cr__timer_heap *h, uint32_t i, cr__timer_slot s)
{
	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && earlier(&h->items[child + 1], &h->items[child]))
			child++;
		if (!earlier(&h->items[child], &s))
			break;
		place(h, i, h->items[child]);
		i = child;
	}
	place(h, i, s);
}

int cr__timer_heap_add(cr__timer_heap *h, cr__timer *t, uint64_t when)
{
	if (h->len == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 64;
		cr__timer_slot *items = realloc(h->items, (size_t)cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		h->items = items;
		h->cap = cap;
	}
	t->when = when;
	t->seq = h->next_seq++;
	cr__timer_slot s = {when, t->seq, t};
	sift_up(h, h->len++, s);
	return 0;
}

void cr__timer_heap_remove(cr__timer_heap *h, cr__timer *t)
{
	uint32_t i = t->index;
	if (i == CR__TIMER_IDLE)
		return;
	t->index = CR__TIMER_IDLE;
	cr__timer_slot last = h->items[--h->len];
	if (i == h->len)
		return;
	if (i > 0 && earlier(&last, &h->items[(i - 1) / 2]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

void cr__timer_heap_free(cr__timer_heap *h)
{
	for (uint32_t i = 0; i < h->len; i++)
		h->items[i].t->index = CR__TIMER_IDLE;
	free(h->items);
	h->items = NULL;
	h->len = h->cap = 0;
}
