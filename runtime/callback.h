/* SPDX-License-Identifier: MIT */
/* Loop callbacks (call_soon / call_later) in a per-worker slab addressed by generation ids. */
#ifndef CORING_CALLBACK_H
#define CORING_CALLBACK_H

#include <coring/runtime.h>
#include <stdint.h>

#include "runq.h"
#include "timer_heap.h"

enum cr__cb_state { CR__CB_FREE = 0, CR__CB_TIMER = 1, CR__CB_QUEUED = 2, CR__CB_CANCELLED = 3 };

/* One scheduled callback. */
typedef struct cr__callback {
	cr__runnable run;   /* run queue node (kind CR__RUN_CALLBACK) */
	cr__timer timer;    /* armed for call_later / call_at */
	cr_callback_fn fn;  /* what to call */
	void *arg;	    /* its argument */
	uint32_t gen;	    /* generation: part of the id, bumped on free */
	uint32_t index;	    /* position in the slab */
	uint32_t next_free; /* free list link (index + 1, 0 = end) */
	uint8_t state;	    /* enum cr__cb_state */
} cr__callback;

/* Slab of callbacks in fixed blocks so records never move. */
typedef struct cr__callbacks {
	cr__callback **blocks; /* blocks of CR__CB_BLOCK records */
	uint32_t nblocks;      /* blocks allocated */
	uint32_t free_head;    /* first free record (index + 1, 0 = none) */
	uint64_t live;	       /* records not free */
} cr__callbacks;

struct cr__worker;

/* Runs a dequeued callback (or drops it if cancelled) and frees it.  Returns nothing. */
void cr__callback_run(struct cr__worker *w, cr__callback *cb);

/* Frees every block.  Returns nothing. */
void cr__callbacks_destroy(cr__callbacks *c);

#endif
