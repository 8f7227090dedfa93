/* SPDX-License-Identifier: MIT */
/* Sending a file region on a stream: splice file -> pipe -> socket, both on the ring. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "sqe.h"
#include "stream_impl.h"

/* Pipe size asked for (the kernel may give less: the default is 64 KiB). */
#define PIPE_SIZE (256 * 1024)

/* One splice of up to len bytes from in (at off_in, or -1) to out, waited for
 * on the ring.  Returns the bytes moved, 0 at the end of in, or -errno. */
static int splice_ring(int in, int64_t off_in, int out, size_t len)
{
	struct io_uring_sqe s;
	cr__sqe_init(&s, IORING_OP_SPLICE, out);
	s.splice_fd_in = in;
	s.splice_off_in = (uint64_t)off_in;
	s.off = (uint64_t)-1;
	s.len = (uint32_t)len;
	s.splice_flags = SPLICE_F_MOVE;
	return cr__io_wait(&s);
}

/* Creates the stream's splice pipe if it has none.  Returns its capacity or -errno. */
static int pipe_open(cr_stream *s)
{
	int p[2];
	if (s->pipe_r < 0) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		s->pipe_r = p[0];
		s->pipe_w = p[1];
		(void)fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
	}
	int size = fcntl(s->pipe_w, F_GETPIPE_SZ);
	return size > 0 ? size : 65536;
}

/* Drops the pipe (bytes may be stuck in it after an error).  Returns nothing. */
static void pipe_drop(cr_stream *s)
{
	close(s->pipe_r);
	close(s->pipe_w);
	s->pipe_r = s->pipe_w = -1;
}

/* Moves len bytes from the pipe to the socket.  Returns 0 or -errno (*sent
 * counts what left). */
static int pipe_to_socket(cr_stream *s, size_t len, size_t *sent)
{
	while (len) {
		int n = splice_ring(s->pipe_r, -1, s->fd, len);
		if (n <= 0)
			return n ? n : -EIO;
		len -= (size_t)n;
		*sent += (size_t)n;
		s->nout += (uint64_t)n;
	}
	return 0;
}

/* The splice loop: file -> pipe -> socket, a pipe's worth at a time.
 * Returns 0 (count sent or end of file) or -errno; *sent counts. */
static int splice_file(cr_stream *s, int file_fd, int64_t off, size_t count, size_t *sent)
{
	int cap = pipe_open(s);
	if (cap < 0)
		return cap;
	while (*sent < count) {
		size_t want = count - *sent < (size_t)cap ? count - *sent : (size_t)cap;
		int n = splice_ring(file_fd, off + (int64_t)*sent, s->pipe_w, want);
		if (n == 0)
			return 0; /* end of file */
		if (n < 0)
			return n;
		int e = pipe_to_socket(s, (size_t)n, sent);
		if (e) {
			pipe_drop(s);
			if (e != -ECANCELED && e != -ETIMEDOUT)
				s->werr = e; /* the connection failed: lasting */
			return e;
		}
	}
	return 0;
}

ssize_t cr_stream_sendfile(cr_stream *s, int file_fd, off_t offset, size_t count, size_t *sent)
{
	size_t done = 0;
	int e = cr__stream_check(s);
	if (!e && offset < 0)
		e = -EINVAL;
	if (!e && s->splicing)
		e = -EBUSY;
	if (!e && s->wclosed)
		e = -EPIPE;
	if (!e && count)
		e = cr__stream_wait_unsent(s, 0); /* the buffered bytes go first */
	if (!e && count) {
		s->splicing = 1;
		e = splice_file(s, file_fd, (int64_t)offset, count, &done);
		s->splicing = 0;
		cr__stream_start_send(s); /* what was written meanwhile */
	}
	if (sent)
		*sent = done;
	return e ? e : (ssize_t)done;
}
