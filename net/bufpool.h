/* SPDX-License-Identifier: MIT */
/* A provided-buffer ring on one worker, and the receivers waiting for its buffers to come back. */
#ifndef CORING_NET_BUFPOOL_H
#define CORING_NET_BUFPOOL_H

#include <coring/net.h>

#include "runtime_internal.h"

struct cr__worker;

struct cr_bufpool {
	struct cr__worker *w; /* the worker whose ring it is registered with */
	void *ring;	      /* the provided-buffer ring shared with the kernel */
	unsigned count;	      /* buffers (a power of two) */
	size_t size;	      /* bytes per buffer */
	unsigned bgid;	      /* buffer group id in the ring */
	unsigned char *base;  /* buffer memory: count * size bytes */
	unsigned in_use;      /* buffers taken by the kernel and not given back */
	unsigned receivers;   /* receivers open on this pool */
	cr__list starved;     /* cr_receiver.starved_node: receivers that ran dry, oldest first */
};

/* Returns buffer bid to the kernel and re-arms every receiver that ran dry.
 * Returns nothing. */
void cr__bufpool_put(cr_bufpool *p, unsigned bid);

/* Adds r to the pool's starved list.  Returns nothing. */
void cr__bufpool_starve(cr_bufpool *p, cr_receiver *r);

/* Removes r from the starved list if it is there.  Returns nothing. */
void cr__bufpool_unstarve(cr_receiver *r);

/* Re-arms receiver r after its pool had no buffer (receiver.c).  Returns nothing. */
void cr__receiver_fed(cr_receiver *r);

#endif
