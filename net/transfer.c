/* SPDX-License-Identifier: MIT */
/* Unbuffered byte transfers on the ring: recv, send (some), send all, send without waiting. */
#include <coring/net.h>
#include <errno.h>
#include <limits.h>

#include "runtime_internal.h"
#include "sqe.h"

/* Longest single transfer (like read(2) and write(2)). */
#define MAX_IO ((size_t)INT_MAX & ~(size_t)4095)

/* One receive or send of up to len bytes through the ring.  Returns its result. */
static ssize_t transfer(uint8_t op, int fd, const void *buf, size_t len, uint32_t flags)
{
	if (!buf && len)
		return -EFAULT;
	struct io_uring_sqe s;
	cr__sqe_init(&s, op, fd);
	s.addr = (uint64_t)(uintptr_t)buf;
	s.len = (uint32_t)(len > MAX_IO ? MAX_IO : len);
	s.msg_flags = flags;
	return cr__io_wait(&s);
}

ssize_t cr_recv(int fd, void *buf, size_t len)
{
	ssize_t n = transfer(IORING_OP_RECV, fd, buf, len, 0);
	if (n > 0)
		cr__mark_defined(buf, (size_t)n); /* written by the kernel: tell memcheck */
	return n;
}

ssize_t cr_send(int fd, const void *buf, size_t len)
{
	return transfer(IORING_OP_SEND, fd, buf, len, MSG_NOSIGNAL);
}

ssize_t cr_send_nowait(int fd, const void *buf, size_t len)
{
	return transfer(IORING_OP_SEND, fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

ssize_t cr_send_all(int fd, const void *buf, size_t len, size_t *sent)
{
	size_t done = 0;
	ssize_t r = 0;
	while (done < len) {
		r = cr_send(fd, (const char *)buf + done, len - done);
		if (r < 0)
			break;
		done += (size_t)r;
	}
	if (sent)
		*sent = done;
	return r < 0 ? r : (ssize_t)len;
}
