/* SPDX-License-Identifier: MIT */
/* The buffered reader: read, readexactly, readuntil / readline with a limit, peek, fill, consume.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_internal.h"
#include "stream_impl.h"

/* Returns the number of buffered bytes. */
static size_t buffered(const cr_stream *s)
{
	return s->rend - s->rstart;
}

/* Checks the common arguments of a reading call.  Returns 0, -EINVAL, -EXDEV
 * or -EBUSY (another task is inside a receive). */
static int readable(const cr_stream *s)
{
	int e = cr__stream_check(s);
	if (e)
		return e;
	return s->reading ? -EBUSY : 0;
}

/* One receive into buf; records end of stream and errors (lasting, except
 * an interruption).  Returns as cr_recv. */
static ssize_t receive(cr_stream *s, void *buf, size_t len)
{
	if (s->rerr)
		return s->rerr;
	if (s->reof)
		return 0;
	s->reading = 1;
	ssize_t n = cr_recv(s->fd, buf, len);
	s->reading = 0;
	if (n > 0)
		s->nin += (uint64_t)n;
	if (n == 0)
		s->reof = 1;
	else if (n < 0 && n != -ECANCELED && n != -ETIMEDOUT && n != -EINTR && n != -ENOMEM)
		s->rerr = (int)n;
	return n;
}

/* Makes room at the end of the read buffer: allocates, moves the buffered
 * bytes to the front, or doubles the buffer up to the limit.  Returns 0,
 * -EMSGSIZE (limit bytes buffered) or -ENOMEM. */
static int make_room(cr_stream *s)
{
	if (s->rstart == s->rend)
		s->rstart = s->rend = 0;
	if (s->rend < s->rcap && (s->rcap - s->rend >= s->rcap / 4 || s->rstart == 0))
		return 0;
	if (s->rstart) { /* little room left at the end: slide to the front */
		memmove(s->rbuf, s->rbuf + s->rstart, buffered(s));
		s->rend -= s->rstart;
		s->rstart = 0;
		return 0;
	}
	if (s->rcap >= s->limit)
		return -EMSGSIZE;
	size_t cap = s->rcap ? s->rcap * 2 : s->read_size;
	if (cap > s->limit)
		cap = s->limit;
	char *n = realloc(s->rbuf, cap);
	if (!n)
		return -ENOMEM;
	s->rbuf = n;
	s->rcap = cap;
	return 0;
}

/* One receive appended to the buffer.  Returns the bytes added, 0 at end of
 * stream, -EMSGSIZE (full at the limit), -ENOMEM, or as cr_recv. */
static ssize_t fill_once(cr_stream *s)
{
	if (s->rnew) { /* an interrupted pool fill buffered them: this fill reports them */
		size_t k = s->rnew;
		s->rnew = 0;
		return (ssize_t)k;
	}
	if (s->rhid) { /* the pool reader received them already */
		size_t k = cr__stream_expose(s);
		if (k)
			return (ssize_t)k;
		cr__stream_stall_reader(s);
		return -EMSGSIZE;
	}
	if (s->rx)
		return cr__stream_pool_fill(s);
	if (s->rerr)
		return s->rerr;
	if (s->reof)
		return 0;
	int e = make_room(s);
	if (e)
		return e;
	ssize_t n = receive(s, s->rbuf + s->rend, s->rcap - s->rend);
	if (n > 0)
		s->rend += (size_t)n;
	return n;
}

ssize_t cr_stream_fill(cr_stream *s)
{
	int e = readable(s);
	if (e)
		return e;
	ssize_t n = fill_once(s);
	return n > 0 ? (ssize_t)buffered(s) : n;
}

ssize_t cr_stream_peek(cr_stream *s, const void **data)
{
	if (!s || !data)
		return -EINVAL;
	*data = s->rbuf ? s->rbuf + s->rstart : NULL;
	return (ssize_t)buffered(s);
}

int cr_stream_consume(cr_stream *s, size_t n)
{
	if (!s || n > buffered(s))
		return -EINVAL;
	s->rstart += n;
	return 0;
}

int cr_stream_at_eof(const cr_stream *s)
{
	return s && s->reof && buffered(s) == 0 && s->rhid == 0;
}

/* Copies up to len buffered bytes into buf and consumes them.  Returns the count. */
static size_t take(cr_stream *s, void *buf, size_t len)
{
	size_t n = buffered(s) < len ? buffered(s) : len;
	if (!n)
		return 0; /* rbuf may be NULL */
	memcpy(buf, s->rbuf + s->rstart, n);
	s->rstart += n;
	return n;
}

ssize_t cr_stream_read(cr_stream *s, void *buf, size_t len)
{
	int e = readable(s);
	if (e)
		return e;
	if (!len)
		return 0;
	if (!buf)
		return -EINVAL;
	if (buffered(s) == 0) {
		if (len >= s->read_size && !s->rx && !s->rhid) /* large: not through the buffer */
			return receive(s, buf, len);
		ssize_t n = fill_once(s);
		if (n <= 0)
			return n;
	}
	return (ssize_t)take(s, buf, len);
}

ssize_t cr_stream_readexactly(cr_stream *s, void *buf, size_t n, size_t *got)
{
	size_t done = 0;
	ssize_t r = readable(s);
	if (!r && n && !buf)
		r = -EINVAL;
	while (!r && done < n) {
		done += take(s, (char *)buf + done, n - done);
		if (done == n)
			break;
		int direct = n - done >= s->read_size && !s->rx && !s->rhid;
		if (direct)
			r = receive(s, (char *)buf + done, n - done); /* straight into buf */
		else
			r = fill_once(s);
		if (r > 0 && direct)
			done += (size_t)r;
		r = r == 0 ? -ENODATA : r < 0 ? r : 0;
	}
	if (got)
		*got = done;
	return r ? r : (ssize_t)n;
}

/* Finds the delimiter in the buffered bytes from offset `from`.  Returns its
 * offset from rstart, or -1. */
static ssize_t find(const cr_stream *s, const void *delim, size_t dlen, size_t from)
{
	const char *base = s->rbuf + s->rstart, *p;
	size_t have = buffered(s);
	if (have < dlen || from > have - dlen)
		return -1;
	if (dlen == 1)
		p = memchr(base + from, *(const char *)delim, have - from);
	else
		p = memmem(base + from, have - from, delim, dlen);
	return p ? p - base : -1;
}

ssize_t cr_stream_readuntil(cr_stream *s, const void *delim, size_t dlen, const void **line)
{
	int e = readable(s);
	if (e)
		return e;
	if (!delim || !line || dlen == 0 || dlen > s->limit)
		return -EINVAL;
	size_t from = 0;
	for (;;) {
		ssize_t at = find(s, delim, dlen, from);
		if (at >= 0) {
			size_t end = (size_t)at + dlen;
			if (end > s->limit)
				return -EMSGSIZE; /* nothing consumed */
			*line = s->rbuf + s->rstart;
			s->rstart += end;
			return (ssize_t)end;
		}
		if (buffered(s) >= s->limit) {
			cr__stream_stall_reader(s); /* no more reading until consumed */
			return -EMSGSIZE;
		}
		if (buffered(s) >= dlen)
			from = buffered(s) - dlen + 1; /* the bytes before cannot start it */
		ssize_t n = fill_once(s);
		if (n == 0)
			return -ENODATA; /* the bytes stay buffered */
		if (n < 0)
			return n;
	}
}

ssize_t cr_stream_readline(cr_stream *s, const void **line)
{
	return cr_stream_readuntil(s, "\n", 1, line);
}
