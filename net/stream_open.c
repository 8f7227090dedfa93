/* SPDX-License-Identifier: MIT */
/* Opening and closing a buffered stream: options, checks of the socket, the final flush. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "stream_impl.h"

/* Checks that fd is an open stream socket.  Returns 0, -EBADF, -ENOTSOCK or -EPROTOTYPE. */
static int check_socket(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	if (fd < 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	return type == SOCK_STREAM ? 0 : -EPROTOTYPE;
}

/* Fills the limits of s from opts (NULL: defaults).  Returns 0 or -EINVAL. */
static int set_options(cr_stream *s, const cr_stream_opts *opts)
{
	cr_stream_opts o = {0};
	if (opts)
		o = *opts;
	s->limit = o.limit ? o.limit : CR_STREAM_LIMIT_DEFAULT;
	if (s->limit > CR_STREAM_LIMIT_MAX)
		return -EINVAL;
	s->high = o.high_water ? o.high_water : CR_STREAM_HIGH_WATER_DEFAULT;
	s->low = o.low_water ? o.low_water : s->high / 4;
	if (s->low > s->high)
		return -EINVAL;
	s->read_size = o.read_size ? o.read_size : CR_STREAM_READ_SIZE_DEFAULT;
	if (s->read_size > s->limit)
		s->read_size = s->limit;
	return 0;
}

int cr_stream_open(cr_stream **out, int fd, const cr_stream_opts *opts)
{
	if (!cr__in_task())
		return -EPERM;
	if (!out)
		return -EINVAL;
	int e = check_socket(fd);
	if (e)
		return e;
	cr_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	e = set_options(s, opts);
	if (e) {
		free(s);
		return e;
	}
	s->w = cr__self();
	s->fd = fd;
	s->pipe_r = s->pipe_w = -1;
	if (opts && opts->pool && (e = cr__stream_pool_open(s, opts->pool, opts->max_held))) {
		free(s);
		return e;
	}
	*out = s;
	return 0;
}

int cr__stream_check(const cr_stream *s)
{
	if (!s)
		return -EINVAL;
	return s->w == cr__self() ? 0 : -EXDEV;
}

void cr__stream_abort(cr_stream *s, int err)
{
	if (!s->rerr)
		s->rerr = err;
	if (!s->werr)
		s->werr = err;
	if (s->flush_id) { /* nothing more goes out */
		(void)cr_callback_cancel(s->flush_id);
		s->flush_id = 0;
	}
}

int cr_stream_fd(const cr_stream *s)
{
	return s ? s->fd : -EINVAL;
}

/* Cancels the send in flight and waits for its completion, deaf to
 * cancellation (the kernel must be done with the buffer).  Returns nothing. */
static void stop_sending(cr_stream *s)
{
	s->closing = 1;
	if (s->flush_id) {
		(void)cr_callback_cancel(s->flush_id);
		s->flush_id = 0;
	}
	if (!s->sending)
		return;
	cr__ring_cancel(s->w, (uint64_t)(uintptr_t)&s->send_h | CR__UD_HANDLER);
	cr__wait wait;
	cr__wait_init(&wait, NULL);
	s->close_waiter = &wait;
	cr__wait_park(&wait);
	s->close_waiter = NULL;
}

int cr_stream_close(cr_stream *s)
{
	return cr__stream_close(s, NULL, NULL);
}

int cr__stream_close(cr_stream *s, uint64_t *nin, uint64_t *nout)
{
	int e = cr__stream_check(s);
	if (e)
		return e;
	if (s->reading || s->drain_waiter || s->splicing)
		return -EBUSY;
	int r = 0;
	if (cr__stream_unsent(s))
		r = s->werr ? s->werr : cr__stream_wait_unsent(s, 0);
	stop_sending(s);
	if (s->rx)
		(void)cr_receiver_close(s->rx); /* before the fd: cancels the receive */
	/* bytes dropped: an abnormal end is a reset */
	int dropped = cr__stream_unsent(s) || s->werr;
	int c = dropped ? cr_close_reset(s->fd) : cr_close(s->fd);
	if (nin)
		*nin = s->nin;
	if (nout)
		*nout = s->nout;
	if (s->pipe_r >= 0) {
		close(s->pipe_r);
		close(s->pipe_w);
	}
	free(s->rbuf);
	free(s->acc.data);
	free(s->fly.data);
	free(s);
	return r < 0 ? r : c;
}
