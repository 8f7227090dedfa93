/* SPDX-License-Identifier: MIT */
/* Stream sockets: listen, accept, connect, shutdown, close and socket options. */
#include <coring/net.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "bind.h"
#include "sqe.h"

/* Returns a new close-on-exec socket for a's family, or -errno. */
static int new_socket(const cr_addr *a, int type)
{
	if (!a || a->len == 0)
		return -EINVAL;
	int fd = socket(a->u.sa.sa_family, type | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

/* Applies the reuse options of opts to an unbound socket.  Returns 0 or -errno. */
static int prepare_bind(int fd, const cr_addr *a, const cr_listen_opts *opts)
{
	int r = 0;
	if (a->u.sa.sa_family == AF_UNIX)
		return 0;
	r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (r == 0 && opts && opts->reuseport)
		r = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (r == 0 && a->u.sa.sa_family == AF_INET6)
		r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, opts && opts->v6only);
	return r;
}

int cr__net_bind(const cr_addr *a, int type, const cr_listen_opts *opts)
{
	int fd = new_socket(a, type);
	if (fd < 0)
		return fd;
	int r = prepare_bind(fd, a, opts);
	if (r == 0 && bind(fd, &a->u.sa, a->len) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int cr_listen(const cr_addr *a, const cr_listen_opts *opts)
{
	int fd = cr__net_bind(a, SOCK_STREAM, opts);
	if (fd < 0)
		return fd;
	int backlog = opts && opts->backlog > 0 ? opts->backlog : SOMAXCONN;
	if (listen(fd, backlog) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int cr_accept(int listen_fd, cr_addr *peer)
{
	cr_addr tmp;
	cr_addr *p = peer ? peer : &tmp;
	p->len = sizeof(p->u);
	struct io_uring_sqe s;
	cr__sqe_init(&s, IORING_OP_ACCEPT, listen_fd);
	s.addr = (uint64_t)(uintptr_t)&p->u;
	s.addr2 = (uint64_t)(uintptr_t)&p->len;
	s.accept_flags = SOCK_CLOEXEC;
	int fd = cr__io_wait(&s);
	if (fd >= 0)
		cr__mark_defined(p, sizeof(*p));
	if (fd >= 0 && cr__wait_take_cancel()) {
		/* Accepted just as the task was cancelled: the caller will not see
		 * this connection, so it must not stay open. */
		close(fd);
		return -ECANCELED;
	}
	return fd;
}

int cr_connect(const cr_addr *a)
{
	int fd = new_socket(a, SOCK_STREAM);
	if (fd < 0)
		return fd;
	struct io_uring_sqe s;
	cr__sqe_init(&s, IORING_OP_CONNECT, fd);
	s.addr = (uint64_t)(uintptr_t)&a->u;
	s.off = a->len;
	int r = cr__io_wait(&s);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int cr_shutdown(int fd, int how)
{
	return shutdown(fd, how) < 0 ? -errno : 0;
}

int cr_close(int fd)
{
	if (fd < 0)
		return -EBADF;
	/* Cancel what this ring still has in flight on fd, even when the
	 * caller is being cancelled or its deadline passed: otherwise a
	 * receive of another task would keep the socket alive (kernels before
	 * 5.19 refuse cancel-by-fd: nothing can be done there but closing). */
	struct io_uring_sqe s;
	cr__sqe_init(&s, IORING_OP_ASYNC_CANCEL, fd);
	s.cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
	(void)cr__io_wait_shielded(&s);
	return close(fd) < 0 ? -errno : 0;
}

int cr_close_reset(int fd)
{
	if (fd < 0)
		return -EBADF;
	/* A zero linger time makes close drop what is unsent and send a
	 * reset instead of a FIN. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int r = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0 ? -errno : 0;
	int c = cr_close(fd);
	return r ? r : c;
}

int cr_set_nodelay(int fd, int on)
{
	return set_int(fd, IPPROTO_TCP, TCP_NODELAY, on != 0);
}

int cr_set_keepalive(int fd, int on, int idle_s, int interval_s, int count)
{
	int r = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, on != 0);
	if (r == 0 && on && idle_s > 0) {
		r = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s);
		if (r == 0 && interval_s > 0)
			r = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, interval_s);
		if (r == 0 && count > 0)
			r = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, count);
	}
	return r;
}
