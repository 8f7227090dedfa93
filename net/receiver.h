/* SPDX-License-Identifier: MIT */
/* A multishot receive on one stream socket, filling buffers of a pool. */
#ifndef CORING_NET_RECEIVER_H
#define CORING_NET_RECEIVER_H

#include <coring/net.h>
#include <stdint.h>

#include <linux/io_uring.h>

#include "runtime_internal.h"
#include "multishot.h"

/* One completion kept for the application: data in a buffer, EOF or an error. */
typedef struct cr__recv_item {
	int32_t res;  /* bytes (> 0), 0 = end of stream, < 0 = error */
	uint32_t bid; /* buffer id when res > 0 */
} cr__recv_item;

struct cr_receiver {
	cr__multishot ms;      /* the multishot receive, its FIFO of cr__recv_item (first) */
	cr_bufpool *pool;      /* where buffers come from */
	int fd;		       /* the socket */
	unsigned max_held;     /* chunks queued + held before receiving pauses */
	unsigned held;	       /* chunks queued + held by the application */
	uint8_t single;	       /* arms one-shot receives (kernel without a byte cap) */
	uint8_t got_data;      /* a receive ever delivered data */
	cr__list starved_node; /* on the pool's starved list while it waits for a buffer */
};

#endif
