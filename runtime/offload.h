/* SPDX-License-Identifier: MIT */
/* The offload pool: plain threads that run blocking calls for tasks (asyncio.to_thread). */
#ifndef CORING_OFFLOAD_H
#define CORING_OFFLOAD_H

struct cr__offload;
struct cr__worker;

/* Creates an empty pool that will start at most max_threads threads, lazily.
 * Returns it or NULL (out of memory). */
struct cr__offload *cr__offload_create(unsigned max_threads);

/* Stops the pool: threads finish the call they run, queued calls are
 * dropped (none can be queued: their tasks wait for them), threads are
 * joined.  Returns nothing. */
void cr__offload_destroy(struct cr__offload *p);

#endif
