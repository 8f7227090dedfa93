/* SPDX-License-Identifier: MIT */
/* Datagram sockets: bind, recvfrom and sendto through the ring. */
#include <coring/net.h>
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "sqe.h"

#include "bind.h"

int cr_udp_bind(const cr_addr *a, const cr_listen_opts *opts)
{
	return cr__net_bind(a, SOCK_DGRAM, opts);
}

int cr_udp_socket(const cr_addr *a)
{
	if (!a || a->len == 0)
		return -EINVAL;
	int fd = socket(a->u.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* Sends or receives one message through the ring.  Returns its result. */
static ssize_t msg_io(uint8_t op, int fd, struct msghdr *m)
{
	struct io_uring_sqe s;
	cr__sqe_init(&s, op, fd);
	s.addr = (uint64_t)(uintptr_t)m;
	s.msg_flags = op == IORING_OP_SENDMSG ? MSG_NOSIGNAL : 0;
	return cr__io_wait(&s);
}

ssize_t cr_recvfrom(int fd, void *buf, size_t len, cr_addr *from)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	cr_addr tmp;
	cr_addr *f = from ? from : &tmp;
	struct msghdr m = {
		.msg_name = &f->u, .msg_namelen = sizeof(f->u), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r = msg_io(IORING_OP_RECVMSG, fd, &m);
	if (r >= 0) {
		cr__mark_defined(buf, (size_t)r < len ? (size_t)r : len);
		cr__mark_defined(&m, sizeof(m));
		cr__mark_defined(&f->u, m.msg_namelen);
	}
	f->len = r >= 0 ? m.msg_namelen : 0;
	return r;
}

ssize_t cr_sendto(int fd, const void *buf, size_t len, const cr_addr *to)
{
	if (!to)
		return -EINVAL;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr m = {.msg_name = (void *)&to->u,
			   .msg_namelen = to->len,
			   .msg_iov = &iov,
			   .msg_iovlen = 1};
	return msg_io(IORING_OP_SENDMSG, fd, &m);
}
