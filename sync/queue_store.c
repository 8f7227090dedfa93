/* SPDX-License-Identifier: MIT */
/* Queue storage: ring, stack or heap of fixed-size items in one buffer that doubles as needed. */
#include "queue_store.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 8

static unsigned char *slot(const cr_queue *q, size_t i)
{
	return q->buf + i * q->item_size;
}

/* Copies one item.  Pointer- and int-sized items (the common case) are
 * copied inline instead of through a call to memcpy.  Returns nothing. */
static inline void copy_item(void *dst, const void *src, size_t size)
{
	if (size == 8)
		memcpy(dst, src, 8);
	else if (size == 4)
		memcpy(dst, src, 4);
	else
		memcpy(dst, src, size);
}

/* The heap keeps one spare slot after the last for swapping. */
static unsigned char *scratch(const cr_queue *q)
{
	return slot(q, q->cap);
}

/* Makes room for one more item.  Returns 0 or -ENOMEM. */
static int grow(cr_queue *q)
{
	if (q->len < q->cap)
		return 0;
	size_t cap = q->cap ? q->cap * 2 : MIN_CAP;
	if (q->maxsize > 0 && cap > (size_t)q->maxsize)
		cap = (size_t)q->maxsize;
	if (cap <= q->len || cap >= SIZE_MAX / q->item_size - 1)
		return -ENOMEM;
	unsigned char *nb = malloc((cap + 1) * q->item_size);
	if (!nb)
		return -ENOMEM;
	if (q->kind == CR_QUEUE_FIFO && q->len) {
		/* Unwrap the ring: oldest item first. */
		size_t first = q->cap - q->head < q->len ? q->cap - q->head : q->len;
		memcpy(nb, slot(q, q->head), first * q->item_size);
		memcpy(nb + first * q->item_size, q->buf, (q->len - first) * q->item_size);
	} else if (q->len) {
		memcpy(nb, q->buf, q->len * q->item_size);
	}
	free(q->buf);
	q->buf = nb;
	q->cap = cap;
	q->head = 0;
	return 0;
}

static int less(const cr_queue *q, size_t a, size_t b)
{
	return q->cmp(slot(q, a), slot(q, b), q->cmp_ctx) < 0;
}

static void swap(cr_queue *q, size_t a, size_t b)
{
	copy_item(scratch(q), slot(q, a), q->item_size);
	copy_item(slot(q, a), slot(q, b), q->item_size);
	copy_item(slot(q, b), scratch(q), q->item_size);
}

static void sift_up(cr_queue *q, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!less(q, i, parent))
			break;
		swap(q, i, parent);
		i = parent;
	}
}

static void sift_down(cr_queue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < q->len && less(q, l, m))
			m = l;
		if (r < q->len && less(q, r, m))
			m = r;
		if (m == i)
			return;
		swap(q, i, m);
		i = m;
	}
}

int cr__qstore_push(cr_queue *q, const void *item)
{
	int r = grow(q);
	if (r < 0)
		return r;
	size_t at = q->len;
	if (q->kind == CR_QUEUE_FIFO) {
		at += q->head; /* both below cap: no division needed to wrap */
		if (at >= q->cap)
			at -= q->cap;
	}
	copy_item(slot(q, at), item, q->item_size);
	q->len++;
	if (q->kind == CR_QUEUE_PRIORITY)
		sift_up(q, at);
	return 0;
}

void cr__qstore_pop(cr_queue *q, void *out)
{
	size_t at;
	switch (q->kind) {
	case CR_QUEUE_FIFO:
		at = q->head;
		q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
		break;
	case CR_QUEUE_LIFO:
		at = q->len - 1;
		break;
	default:
		if (out)
			copy_item(out, slot(q, 0), q->item_size);
		q->len--;
		if (q->len) {
			copy_item(slot(q, 0), slot(q, q->len), q->item_size);
			sift_down(q, 0);
		}
		return;
	}
	if (out)
		copy_item(out, slot(q, at), q->item_size);
	q->len--;
}

void cr__qstore_free(cr_queue *q)
{
	free(q->buf);
	q->buf = NULL;
	q->cap = 0;
	q->head = 0;
	q->len = 0;
}
