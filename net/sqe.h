/* SPDX-License-Identifier: MIT */
/* SQE templates, net's only door to the ring: run by cr__io_wait, queued by the multishot core. */
#ifndef CORING_NET_SQE_H
#define CORING_NET_SQE_H

#include <linux/io_uring.h>
#include <stdint.h>
#include <string.h>

#include "runtime_internal.h"

/* Zeroes *s and sets its opcode and fd.  Returns nothing. */
static inline void cr__sqe_init(struct io_uring_sqe *s, uint8_t op, int fd)
{
	memset(s, 0, sizeof(*s));
	s->opcode = op;
	s->fd = fd;
}

#endif
