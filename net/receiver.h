/* SPDX-License-Identifier: MIT */
/* A multishot receive on one stream socket, filling buffers of a pool. */
#ifndef CORING_NET_RECEIVER_H
#define CORING_NET_RECEIVER_H

#include <coring/net.h>
#include <stdint.h>

#include <linux/io_uring.h>

#include "runtime_internal.h"

/* One completion kept for the application: data in a buffer, EOF or an error. */
typedef struct cr__recv_item {
	int32_t res;  /* bytes (> 0), 0 = end of stream, < 0 = error */
	uint32_t bid; /* buffer id when res > 0 */
} cr__recv_item;

struct cr_receiver {
	cr__cqe_handler handler;   /* completions of the multishot receive */
	struct cr__worker *w;	   /* owning worker */
	cr_bufpool *pool;	   /* where buffers come from */
	int fd;			   /* the socket */
	unsigned max_held;	   /* chunks queued + held before receiving pauses */
	unsigned held;		   /* chunks queued + held by the application */
	cr__recv_item *items;	   /* FIFO of completions (ring of cap entries) */
	unsigned cap, head, len;   /* its capacity, first entry, entries */
	uint8_t armed;		   /* a multishot receive is in the kernel */
	uint8_t cancelling;	   /* an ASYNC_CANCEL for it was sent */
	uint8_t ended;		   /* end of stream or error queued: never re-armed */
	uint8_t closing;	   /* cr_receiver_close runs */
	uint8_t starved;	   /* on the pool's starved list */
	uint8_t single;		   /* arms one-shot receives (kernel without a byte cap) */
	uint8_t got_data;	   /* a receive ever delivered data */
	uint8_t paused;		   /* cr_receiver_pause: not re-armed until resumed */
	unsigned users;		   /* tasks inside cr_receiver_next */
	cr_receiver *starved_next; /* next on that list */
	cr__wait *waiter;	   /* the task in cr_receiver_next, or NULL */
	cr__wait *close_waiter;	   /* the task in cr_receiver_close, or NULL */
};

#endif
