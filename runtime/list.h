/* SPDX-License-Identifier: MIT */
/* container_of and a circular doubly linked intrusive list with a sentinel head (as libuv's
 * queue.h). */
/* A head is made empty with cr__list_init; a node is unlinked while zeroed (so zeroed or
 * calloc'ed records need no set-up) and zeroed again by cr__list_remove. */
#ifndef CORING_LIST_H
#define CORING_LIST_H

#include <coring/runtime.h> /* struct cr__list: public, since cr_task_group embeds one */
#include <stddef.h>

/* The struct of `type` whose field `member` is at ptr. */
#define cr__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* The struct of `type` whose cr__list field `member` is node n. */
#define cr__list_entry(n, type, member) cr__container_of(n, type, member)

/* Visits every node of list h in order; the body must not unlink `pos`. */
#define cr__list_for_each(pos, h) for ((pos) = (h)->next; (pos) != (h); (pos) = (pos)->next)

/* Makes h an empty list.  Returns nothing. */
static inline void cr__list_init(cr__list *h)
{
	h->next = h;
	h->prev = h;
}

/* Returns 1 if list h has no node, else 0. */
static inline int cr__list_empty(const cr__list *h)
{
	return h->next == h;
}

/* Returns 1 if node n is on a list, 0 if it is unlinked (zeroed). */
static inline int cr__list_linked(const cr__list *n)
{
	return n->next != NULL;
}

/* Links n between prev and next.  Returns nothing. */
static inline void cr__list_link(cr__list *n, cr__list *prev, cr__list *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

/* Appends n at the back of h.  Returns nothing. */
static inline void cr__list_push_back(cr__list *h, cr__list *n)
{
	cr__list_link(n, h->prev, h);
}

/* Prepends n at the front of h.  Returns nothing. */
static inline void cr__list_push_front(cr__list *h, cr__list *n)
{
	cr__list_link(n, h, h->next);
}

/* Unlinks n from its list and zeroes it (cr__list_linked is then 0).
 * Returns nothing. */
static inline void cr__list_remove(cr__list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = NULL;
	n->prev = NULL;
}

/* Returns the first node of h, or NULL if h is empty. */
static inline cr__list *cr__list_first(const cr__list *h)
{
	return cr__list_empty(h) ? NULL : h->next;
}

/* Unlinks and returns the first node of h, or NULL if h is empty. */
static inline cr__list *cr__list_pop_front(cr__list *h)
{
	cr__list *n = cr__list_first(h);
	if (n)
		cr__list_remove(n);
	return n;
}

#endif
