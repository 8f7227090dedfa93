/* SPDX-License-Identifier: MIT */
/* The buffered writer: writes coalesced into one send per loop iteration, drain, flush, half-close.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "runtime_internal.h"
#include "sqe.h"
#include "stream_impl.h"

/* Longest single send (like write(2)). */
#define MAX_SEND ((size_t)INT_MAX & ~(size_t)4095)
/* First size of a write buffer. */
#define WBUF_FIRST 4096

/* Wakes the drain waiter if its target is reached or the writer failed.  Returns nothing. */
static void wake_drain(cr_stream *s)
{
	if (s->werr || cr__stream_unsent(s) <= s->drain_target)
		cr__wake_slot(&s->drain_waiter);
}

/* Queues one send of the unsent part of fly.  Returns nothing. */
static void queue_send(cr_stream *s)
{
	struct io_uring_sqe sqe;
	size_t len = s->fly.len - s->fly_off;
	cr__sqe_init(&sqe, IORING_OP_SEND, s->fd);
	sqe.addr = (uint64_t)(uintptr_t)(s->fly.data + s->fly_off);
	sqe.len = (uint32_t)(len > MAX_SEND ? MAX_SEND : len);
	sqe.msg_flags = MSG_NOSIGNAL;
	cr__ring_queue(s->w, &sqe, (uint64_t)(uintptr_t)&s->send_h | CR__UD_HANDLER);
	cr__ring_handler_op_begin(s->w); /* a handler's operation: reaped while tasks keep busy */
	s->sending = 1;
}

/* The completion of the send in flight: account, then send the rest or what
 * was written meanwhile. */
static void on_send(cr__cqe_handler *h, int res, uint32_t flags)
{
	cr_stream *s = cr__container_of(h, cr_stream, send_h);
	(void)flags;
	cr__ring_handler_op_end(s->w);
	s->sending = 0;
	if (res > 0) {
		s->nout += (uint64_t)res;
		s->fly_off += (size_t)res;
		if (s->fly_off == s->fly.len)
			s->fly.len = s->fly_off = 0;
	} else if (res == 0 || (res != -EINTR && res != -EAGAIN && !s->closing)) {
		s->werr = res ? res : -EIO; /* lasting: the byte stream has a hole now */
	}
	if (s->closing) {
		if (s->close_waiter)
			cr__wake(s->close_waiter, 0);
		return;
	}
	cr__stream_start_send(s);
	wake_drain(s);
}

void cr__stream_start_send(cr_stream *s)
{
	if (s->sending || s->splicing || s->closing || s->werr)
		return;
	if (s->fly.len == s->fly_off) {
		if (s->acc.len == 0)
			return;
		cr__wbuf t = s->fly; /* the accumulated bytes fly; the empty buffer collects */
		s->fly = s->acc;
		s->acc = t;
		s->acc.len = 0;
		s->fly_off = 0;
	}
	s->send_h.fn = on_send;
	queue_send(s);
}

/* The end-of-iteration flush scheduled by the first write of an iteration. */
static void flush_soon(void *arg)
{
	cr_stream *s = arg;
	s->flush_id = 0;
	cr__stream_start_send(s);
}

/* Arranges for the buffered bytes to be sent at the end of this loop
 * iteration (at once if no callback can be scheduled).  Returns nothing. */
static void schedule_flush(cr_stream *s)
{
	if (s->sending || s->flush_id || s->splicing)
		return; /* the send's completion or the splice's end sends them */
	s->flush_id = cr_call_soon(flush_soon, s);
	if (!s->flush_id)
		cr__stream_start_send(s);
}

/* Makes room for add more bytes in b.  Returns 0 or -ENOMEM. */
static int reserve(cr__wbuf *b, size_t add)
{
	if (b->cap - b->len >= add)
		return 0;
	if (add > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	size_t cap = b->cap ? b->cap : WBUF_FIRST;
	while (cap - b->len < add)
		cap *= 2;
	char *n = realloc(b->data, cap);
	if (!n)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

/* Checks that s may take writes.  Returns 0, -EINVAL, -EXDEV, the lasting
 * error or -EPIPE after write_eof. */
static int writable(const cr_stream *s)
{
	int e = cr__stream_check(s);
	if (e)
		return e;
	if (s->werr)
		return s->werr;
	return s->wclosed ? -EPIPE : 0;
}

int cr_stream_write(cr_stream *s, const void *data, size_t len)
{
	int e = writable(s);
	if (e)
		return e;
	if (!len)
		return 0;
	if (!data)
		return -EINVAL;
	if (reserve(&s->acc, len))
		return -ENOMEM;
	memcpy(s->acc.data + s->acc.len, data, len);
	s->acc.len += len;
	schedule_flush(s);
	return 0;
}

int cr_stream_writev(cr_stream *s, const struct iovec *iov, int n)
{
	int e = writable(s);
	if (e)
		return e;
	if (n < 0 || (!iov && n > 0))
		return -EINVAL;
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (!iov[i].iov_base && iov[i].iov_len)
			return -EINVAL;
		if (iov[i].iov_len > SIZE_MAX / 2 - total)
			return -ENOMEM;
		total += iov[i].iov_len;
	}
	if (!total)
		return 0;
	if (reserve(&s->acc, total))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (!iov[i].iov_len)
			continue; /* its base may be NULL */
		memcpy(s->acc.data + s->acc.len, iov[i].iov_base, iov[i].iov_len);
		s->acc.len += iov[i].iov_len;
	}
	schedule_flush(s);
	return 0;
}

size_t cr_stream_write_buffered(const cr_stream *s)
{
	return s ? cr__stream_unsent(s) : 0;
}

int cr__stream_wait_unsent(cr_stream *s, size_t target)
{
	cr__stream_start_send(s); /* about to wait: no need to wait for the callback */
	while (!s->werr && cr__stream_unsent(s) > target) {
		if (s->drain_waiter)
			return -EBUSY;
		/* the peer may not read for long: hold no pool buffer meanwhile
		 * (the pause waits: the send may have completed meanwhile) */
		cr__stream_stall_reader(s);
		if (s->werr || cr__stream_unsent(s) <= target)
			break;
		s->drain_target = target;
		int e = cr__wait_in_slot(&s->drain_waiter);
		if (e < 0)
			return e;
	}
	return s->werr;
}

int cr_stream_drain(cr_stream *s)
{
	int e = cr__stream_check(s);
	if (e)
		return e;
	if (s->werr)
		return s->werr;
	if (cr__stream_unsent(s) <= s->high)
		return 0;
	return cr__stream_wait_unsent(s, s->low);
}

int cr_stream_flush(cr_stream *s)
{
	int e = cr__stream_check(s);
	return e ? e : cr__stream_wait_unsent(s, 0);
}

int cr_stream_write_eof(cr_stream *s)
{
	int e = cr__stream_check(s);
	if (e)
		return e;
	if (s->wclosed)
		return 0;
	e = cr__stream_wait_unsent(s, 0);
	if (e)
		return e;
	e = cr_shutdown(s->fd, SHUT_WR);
	if (e == 0)
		s->wclosed = 1;
	return e;
}
