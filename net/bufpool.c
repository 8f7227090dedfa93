/* SPDX-License-Identifier: MIT */
/* Provided-buffer pools: buffers the kernel picks from for multishot receives. */
#include "bufpool.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "runtime_internal.h"
#include "receiver.h"

/* Buffer group ids handed out so far (16 bits in the kernel). */
static unsigned next_bgid;

int cr_bufpool_create(cr_bufpool **out, unsigned count, size_t size)
{
	struct cr__worker *w = cr__self();
	if (!w)
		return -EPERM;
	if (!out || count == 0 || count > 32768 || (count & (count - 1)) || size == 0 ||
	    size > (1u << 31))
		return -EINVAL;
	cr_bufpool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->w = w;
	p->count = count;
	p->size = size;
	cr__list_init(&p->starved);
	p->bgid = __atomic_fetch_add(&next_bgid, 1, __ATOMIC_RELAXED) & 0xffff;
	p->base = mmap(NULL, (size_t)count * size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (p->base == MAP_FAILED) {
		free(p);
		return -ENOMEM;
	}
	int r = cr__ring_buf_ring_create(w, count, p->bgid, &p->ring);
	if (r < 0) {
		munmap(p->base, (size_t)count * size);
		free(p);
		return r;
	}
	for (unsigned i = 0; i < count; i++)
		cr__ring_buf_ring_add(p->ring, count, p->base + (size_t)i * size, (unsigned)size, i,
				      i);
	cr__ring_buf_ring_advance(p->ring, count);
	*out = p;
	return 0;
}

int cr_bufpool_destroy(cr_bufpool *p)
{
	if (!p)
		return 0;
	if (p->w != cr__self())
		return -EXDEV;
	if (p->receivers)
		return -EBUSY;
	cr__ring_buf_ring_destroy(p->w, p->ring, p->count, p->bgid);
	munmap(p->base, (size_t)p->count * p->size);
	free(p);
	return 0;
}

unsigned cr_bufpool_free_count(const cr_bufpool *p)
{
	return p->count - p->in_use;
}

void cr__bufpool_put(cr_bufpool *p, unsigned bid)
{
	cr__ring_buf_ring_add(p->ring, p->count, p->base + (size_t)bid * p->size, (unsigned)p->size,
			      bid, 0);
	cr__ring_buf_ring_advance(p->ring, 1);
	p->in_use--;
	/* Every receiver that ran dry gets another go: we cannot tell which of
	 * them has data waiting, and one that re-arms without data takes no
	 * buffer.  Those that find the pool dry again come back to the list. */
	cr__list fed;
	cr__list_init(&fed);
	cr__list *n;
	while ((n = cr__list_pop_front(&p->starved)))
		cr__list_push_back(&fed, n);
	while ((n = cr__list_pop_front(&fed)))
		cr__receiver_fed(cr__list_entry(n, cr_receiver, starved_node));
}

void cr__bufpool_starve(cr_bufpool *p, cr_receiver *r)
{
	cr__list_push_back(&p->starved, &r->starved_node);
}

void cr__bufpool_unstarve(cr_receiver *r)
{
	if (cr__list_linked(&r->starved_node))
		cr__list_remove(&r->starved_node);
}
