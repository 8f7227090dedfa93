/* SPDX-License-Identifier: MIT */
/* Baseline TCP echo server: one thread, level-triggered epoll, a buffer per connection. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes each connection reads at once (as coring-echo-server's default buffer). */
#define BUF_SIZE 16384
/* Events taken from one epoll_wait. */
#define MAX_EVENTS 512
/* Connections accepted per readiness report of the listener, so clients get served too. */
#define ACCEPT_BUDGET 64
/* Full buffers read (and echoed) in a row before the connection lets the others run. */
#define READ_BUDGET 4

/*
 * One connection.  It is either reading (registered for EPOLLIN) or, after
 * a partial send, writing the rest of buf (registered for EPOLLOUT only, so
 * a client that does not read stops being read: back-pressure).
 */
struct conn {
	int fd;		    /* the socket */
	size_t off;	    /* first byte of buf not yet sent */
	size_t len;	    /* bytes of buf to send */
	char buf[BUF_SIZE]; /* what was received and is being echoed */
};

static int epfd;

static void conn_close(struct conn *c)
{
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

/* Sends buf[off..len).  Returns 1 when all is sent, 0 if the socket is full, -1 on error. */
static int flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 1;
}

static int set_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The socket is readable: read and echo until it is drained, full or out of budget. */
static void on_readable(struct conn *c)
{
	for (int round = 0; round < READ_BUDGET; round++) {
		ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		if (n == 0) {
			/* The client's EOF; everything received was sent: answer with ours. */
			shutdown(c->fd, SHUT_WR);
			conn_close(c);
			return;
		}
		c->off = 0;
		c->len = (size_t)n;
		int r = flush(c);
		if (r < 0) {
			conn_close(c);
			return;
		}
		if (r == 0) {
			if (set_events(c, EPOLLOUT) < 0)
				conn_close(c);
			return;
		}
		if (n < BUF_SIZE)
			return; /* a short read: the socket is drained */
	}
}

/* The socket has room again: send the rest, then go back to reading. */
static void on_writable(struct conn *c)
{
	int r = flush(c);
	if (r < 0 || (r == 1 && set_events(c, EPOLLIN) < 0))
		conn_close(c);
}

static void on_listener(int lfd)
{
	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient error (the listener stays readable) */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->off = c->len = 0;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(c);
	}
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, SOMAXCONN) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int usage(FILE *f, int status)
{
	fputs("usage: coring-bench-echo-epoll [--port P]\n"
	      "Baseline echo server for the echo comparison: one thread, level-triggered\n"
	      "epoll, listening on 127.0.0.1:P (default 7007).  Runs until killed.\n",
	      f);
	return status;
}

int main(int argc, char **argv)
{
	int port = 7007;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout, 0);
		if ((!strcmp(argv[i], "--port") || !strcmp(argv[i], "-p")) && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 0 || v > 65535)
				return usage(stderr, 2);
			port = (int)v;
			continue;
		}
		return usage(stderr, 2);
	}
	int lfd = listen_on(port);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	if (lfd < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		fprintf(stderr, "coring-bench-echo-epoll: cannot listen on 127.0.0.1:%d: %s\n",
			port, strerror(errno));
		return 1;
	}
	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("coring-bench-echo-epoll: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c)
				on_listener(lfd);
			else if (c->len) /* EPOLLOUT, or EPOLLERR/EPOLLHUP: send reports them */
				on_writable(c);
			else /* EPOLLIN, or EPOLLERR/EPOLLHUP: recv reports them */
				on_readable(c);
		}
	}
}
