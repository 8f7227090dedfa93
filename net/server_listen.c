/* SPDX-License-Identifier: MIT */
/* The server's listening sockets: SO_REUSEPORT per worker for TCP, one shared socket per Unix path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "server_impl.h"

/*
 * Fails with -EADDRINUSE if something listens on a's port already: the
 * listeners use SO_REUSEPORT, which lets a second socket of the same user
 * join a port silently, so a plain socket (SO_REUSEADDR only, so that
 * connections in TIME_WAIT do not count) tries first.  Returns 0 or -errno.
 */
static int probe_free(const cr_addr *a)
{
	int fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, r = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->u.sa.sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &a->u.sa, a->len) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Allocates l's fd slots, all -1.  Returns 0 or -ENOMEM. */
static int new_fds(cr__srv_listener *l, unsigned n)
{
	l->fds = malloc(n * sizeof(*l->fds));
	if (!l->fds)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		l->fds[i] = -1;
	l->nfds = n;
	return 0;
}

/* One SO_REUSEPORT listener per worker on an IP address; the first picks
 * the port when it is 0.  *shared_port is the port of the first IP address
 * (0 before it), which a later port-0 address takes where it is free.
 * Returns 0 or -errno. */
static int open_ip(cr_server *srv, cr__srv_listener *l, uint16_t *shared_port)
{
	cr_listen_opts lo = {.backlog = srv->opts.backlog, .reuseport = 1, .v6only = 1};
	int want_shared = cr_addr_port(&l->addr) == 0 && *shared_port != 0;
	int r = new_fds(l, srv->workers);
	if (r)
		return r;
	if (want_shared)
		cr_addr_set_port(&l->addr, *shared_port);
	if (cr_addr_port(&l->addr) != 0 && (r = probe_free(&l->addr)) < 0) {
		if (!want_shared)
			return r;
		cr_addr_set_port(&l->addr, 0); /* the shared port is taken here: a new one */
	}
	for (unsigned i = 0; i < srv->workers; i++) {
		if ((l->fds[i] = cr_listen(&l->addr, &lo)) < 0)
			return l->fds[i];
		if (i == 0 && cr_addr_port(&l->addr) == 0) {
			cr_addr bound;
			if ((r = cr_socket_addr(l->fds[0], 0, &bound)) < 0)
				return r;
			cr_addr_set_port(&l->addr, (uint16_t)cr_addr_port(&bound));
		}
	}
	if (*shared_port == 0)
		*shared_port = (uint16_t)cr_addr_port(&l->addr);
	return 0;
}

/* Returns 1 if a Unix socket answers at a (a server uses it), 0 if not. */
static int unix_alive(const cr_addr *a)
{
	int fd = cr_connect(a);
	if (fd < 0)
		return 0;
	cr_close(fd);
	return 1;
}

/* The one listener of a Unix address, replacing a stale socket file.
 * Returns 0 or -errno. */
static int open_unix(cr_server *srv, cr__srv_listener *l)
{
	cr_listen_opts lo = {.backlog = srv->opts.backlog};
	const char *path = l->addr.u.un.sun_path;
	struct stat st;
	int r = new_fds(l, 1);
	if (r)
		return r;
	if (path[0] != '\0' && lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unix_alive(&l->addr))
			return -EADDRINUSE;
		unlink(path); /* left by a server that died */
	}
	if ((l->fds[0] = cr_listen(&l->addr, &lo)) < 0)
		return l->fds[0];
	l->unlink_path = path[0] != '\0';
	return 0;
}

int cr__srv_listen_open(cr_server *srv)
{
	uint16_t shared_port = 0;
	for (unsigned i = 0; i < srv->n; i++) {
		cr__srv_listener *l = &srv->l[i];
		int r = l->is_unix ? open_unix(srv, l) : open_ip(srv, l, &shared_port);
		if (r < 0) {
			cr__srv_listen_close(srv);
			return r;
		}
		atomic_store(&l->users, l->is_unix ? srv->workers : 0);
	}
	return 0;
}

/* Closes fd if open and marks the slot closed.  Returns nothing. */
static void close_slot(int *fd)
{
	if (*fd < 0)
		return;
	if (cr__in_task())
		cr_close(*fd); /* cancels what this worker's ring has in flight on it */
	else
		close(*fd);
	*fd = -1;
}

void cr__srv_listener_release(cr__srv_listener *l, unsigned w)
{
	if (!l->fds)
		return;
	if (!l->is_unix) {
		if (w < l->nfds)
			close_slot(&l->fds[w]);
		return;
	}
	if (atomic_fetch_sub(&l->users, 1) != 1)
		return; /* other workers still accept on it */
	close_slot(&l->fds[0]);
	if (l->unlink_path) {
		unlink(l->addr.u.un.sun_path); /* new clients find nothing there */
		l->unlink_path = 0;
	}
}

void cr__srv_listen_close(cr_server *srv)
{
	for (unsigned i = 0; i < srv->n; i++) {
		cr__srv_listener *l = &srv->l[i];
		for (unsigned k = 0; l->fds && k < l->nfds; k++)
			close_slot(&l->fds[k]);
		free(l->fds);
		l->fds = NULL;
		l->nfds = 0;
		if (l->unlink_path) {
			unlink(l->addr.u.un.sun_path);
			l->unlink_path = 0;
		}
	}
}
