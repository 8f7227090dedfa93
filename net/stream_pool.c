/* SPDX-License-Identifier: MIT */
/* The stream's pool reader: chunks of a multishot receiver copied into the read buffer, and its
 * stalls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"
#include "bufpool.h"
#include "stream_impl.h"

/* Returns the bytes held for reading: buffered, and received past the limit. */
static size_t held(const cr_stream *s)
{
	return s->rend - s->rstart + s->rhid;
}

/* Makes room for need more bytes after the held ones (sliding or growing the
 * buffer).  Returns 0 or -ENOMEM. */
static int reserve(cr_stream *s, size_t need)
{
	if (held(s) == 0)
		s->rstart = s->rend = 0;
	size_t end = s->rend + s->rhid;
	if (s->rcap - end >= need)
		return 0;
	if (s->rstart && s->rcap - held(s) >= need) {
		memmove(s->rbuf, s->rbuf + s->rstart, held(s));
		s->rend -= s->rstart;
		s->rstart = 0;
		return 0;
	}
	size_t cap = s->rcap ? s->rcap * 2 : s->read_size;
	if (cap < held(s) + need)
		cap = held(s) + need;
	if (s->rstart) { /* slide first: realloc then copies only what is held */
		memmove(s->rbuf, s->rbuf + s->rstart, held(s));
		s->rend -= s->rstart;
		s->rstart = 0;
	}
	char *n = realloc(s->rbuf, cap);
	if (!n)
		return -ENOMEM;
	s->rbuf = n;
	s->rcap = cap;
	return 0;
}

/* Takes the result n of a receiver call (c: its chunk when n > 0): copies
 * the chunk after the held bytes (room reserved; made buffered by
 * cr__stream_expose) and releases it, or records end of stream or a lasting
 * error.  Returns 1 for data, else 0. */
static int record(cr_stream *s, ssize_t n, cr_chunk *c)
{
	if (n > 0) {
		memcpy(s->rbuf + s->rend + s->rhid, c->data, (size_t)n);
		s->rhid += (size_t)n;
		s->nin += (uint64_t)n;
		cr_chunk_release(s->rx, c);
		return 1;
	}
	if (n == 0)
		s->reof = 1;
	else if (n != -EAGAIN && n != -ECANCELED && n != -ETIMEDOUT && n != -EINTR)
		s->rerr = (int)n;
	return 0;
}

/* Moves queued chunks into the buffer while fewer than max bytes are held.
 * Returns nothing. */
static void take_queued(cr_stream *s, size_t max)
{
	cr_chunk c;
	while (!s->reof && !s->rerr && held(s) < max && reserve(s, s->rx_size) == 0)
		if (!record(s, cr_receiver_try_next(s->rx, &c), &c))
			break;
}

int cr__stream_pool_open(cr_stream *s, cr_bufpool *pool, unsigned max_held)
{
	int e = cr_receiver_open(&s->rx, s->fd, pool, max_held);
	if (e)
		s->rx = NULL;
	else
		s->rx_size = pool->size;
	return e;
}

ssize_t cr__stream_pool_fill(cr_stream *s)
{
	if (s->rerr)
		return s->rerr;
	if (s->reof)
		return 0;
	if (held(s) >= s->limit) {
		cr__stream_stall_reader(s);
		return -EMSGSIZE;
	}
	if (s->rx_paused) {
		s->rx_paused = 0;
		cr_receiver_resume(s->rx);
	}
	if (reserve(s, s->rx_size))
		return -ENOMEM;
	cr_chunk c;
	s->reading = 1;
	ssize_t n = cr_receiver_next(s->rx, &c);
	s->reading = 0;
	if (!record(s, n, &c)) {
		/* interrupted: what arrived meanwhile is buffered all the same
		 * (peek shows it, as after an interrupted one-shot receive) */
		if (n == -ECANCELED || n == -ETIMEDOUT) {
			take_queued(s, s->limit);
			s->rnew = cr__stream_expose(s);
		}
		return n;
	}
	take_queued(s, s->limit); /* what else arrived: one wake-up for all */
	return (ssize_t)cr__stream_expose(s);
}

void cr__stream_stall_reader(cr_stream *s)
{
	if (!s->rx || s->reading)
		return;
	if (!s->rx_paused) {
		s->rx_paused = 1;
		cr_receiver_pause(s->rx); /* waits for the receive in flight */
	}
	/* Everything queued, past the limit if need be (at most max_held
	 * chunks); only a failed allocation leaves chunks in the pool. */
	take_queued(s, SIZE_MAX);
}

void cr__stream_detach_pool(cr_stream *s)
{
	if (!s->rx)
		return;
	cr__stream_stall_reader(s);
	(void)cr_receiver_close(s->rx); /* shielded: always closed */
	s->rx = NULL;
	s->rx_paused = 0;
}
