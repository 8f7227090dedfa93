/* SPDX-License-Identifier: MIT */
/* The addresses served: resolving them, one SO_REUSEPORT socket per worker each, Unix paths. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

/* Addresses one --listen text may resolve to. */
#define MAX_RESOLVED 16

static int same_addr(const cr_addr *a, const cr_addr *b)
{
	return a->len == b->len && memcmp(&a->u, &b->u, a->len) == 0;
}

static void print_error(const cr_addr *a, const char *what, int err)
{
	char text[CR_ADDR_STRLEN];
	if (cr_addr_format(a, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "?");
	fprintf(stderr, "coring-echo-server: cannot listen on %s (%s): %s\n", text, what,
		strerror(-err));
}

/* Adds a (unless already present) to set.  Returns 0 or -ENOSPC. */
static int add_addr(struct es_listen_set *set, const cr_addr *a, const char *host_text)
{
	for (unsigned i = 0; i < set->n; i++)
		if (same_addr(&set->l[i].addr, a))
			return 0;
	if (set->n == ES_MAX_ADDRS) {
		fprintf(stderr, "coring-echo-server: too many addresses (at most %d)\n",
			ES_MAX_ADDRS);
		return -ENOSPC;
	}
	struct es_listener *l = &set->l[set->n++];
	memset(l, 0, sizeof(*l));
	l->addr = *a;
	l->is_unix = a->u.sa.sa_family == AF_UNIX;
	l->host_text = host_text;
	return 0;
}

static int is_unix_text(const char *t)
{
	return strncmp(t, "unix:", 5) == 0 || t[0] == '/' || (t[0] == '.' && t[1] == '/') ||
	       t[0] == '@';
}

/* Fills set->l[].addr from the --listen texts.  Returns 0 or -errno (printed). */
static int collect(struct es_listen_set *set, const struct es_options *o)
{
	for (unsigned i = 0; i < o->n_listen; i++) {
		const char *t = o->listen[i];
		cr_addr found[MAX_RESOLVED];
		int n;
		if (is_unix_text(t))
			n = cr_addr_parse(t, o->port, &found[0]) == 0 ? 1 : -EINVAL;
		else
			n = cr_addr_resolve(t, o->port, found, MAX_RESOLVED);
		if (n < 0) {
			fprintf(stderr, "coring-echo-server: --listen %s: %s\n", t,
				n == -EINVAL   ? "not an address (try 127.0.0.1:7007, [::1]:7007, "
						 "a host name or unix:/path)"
				: n == -ENOENT ? "no such host"
					       : strerror(-n));
			set->bad_text = n == -EINVAL;
			return n;
		}
		for (int k = 0; k < n; k++) {
			int r = add_addr(set, &found[k], NULL);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * Fails with -EADDRINUSE if something is bound to a's port already.  The
 * listeners use SO_REUSEPORT, which lets any socket of the same user join
 * the port silently (a second server would share the traffic), so a plain
 * socket tries first: TCP with SO_REUSEADDR (so connections in TIME_WAIT do
 * not count, a listener does), UDP without.  Returns 0 or -errno.
 */
static int probe_free(const cr_addr *a, int type)
{
	int fd = socket(a->u.sa.sa_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, r = 0;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->u.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &a->u.sa, a->len) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int *new_fds(unsigned n)
{
	int *fds = malloc(n * sizeof(*fds));
	for (unsigned i = 0; fds && i < n; i++)
		fds[i] = -1;
	return fds;
}

/* Creates the TCP listeners (one per worker) and UDP sockets of an IP
 * address.  *shared_port is the ephemeral port picked first, tried again
 * for later port-0 addresses.  Returns 0 or -errno (not printed). */
static int open_ip(struct es_listener *l, const struct es_options *o, unsigned workers,
		   uint16_t *shared_port, const char **what)
{
	cr_listen_opts lo = {.backlog = o->backlog, .reuseport = 1, .v6only = 1};
	int want_shared = cr_addr_port(&l->addr) == 0 && *shared_port != 0;
	int r;
	if (!(l->tcp_fds = new_fds(workers)) || (o->udp && !(l->udp_fds = new_fds(workers))))
		return -ENOMEM;
	if (want_shared)
		cr_addr_set_port(&l->addr, *shared_port);
	*what = "tcp";
	if (cr_addr_port(&l->addr) != 0 && (r = probe_free(&l->addr, SOCK_STREAM)) < 0) {
		if (!want_shared)
			return r;
		cr_addr_set_port(&l->addr, 0); /* the shared port is taken here: a new one */
	}
	for (unsigned i = 0; i < workers; i++) {
		if ((l->tcp_fds[i] = cr_listen(&l->addr, &lo)) < 0)
			return l->tcp_fds[i];
		if (i == 0 && cr_addr_port(&l->addr) == 0) {
			cr_addr bound;
			if ((r = cr_socket_addr(l->tcp_fds[0], 0, &bound)) < 0)
				return r;
			cr_addr_set_port(&l->addr, (uint16_t)cr_addr_port(&bound));
		}
	}
	if (*shared_port == 0)
		*shared_port = (uint16_t)cr_addr_port(&l->addr);
	if (!o->udp)
		return 0;
	*what = "udp";
	if ((r = probe_free(&l->addr, SOCK_DGRAM)) < 0)
		return r;
	for (unsigned i = 0; i < workers; i++)
		if ((l->udp_fds[i] = cr_udp_bind(&l->addr, &lo)) < 0)
			return l->udp_fds[i];
	return 0;
}

/* Returns 1 if a Unix socket answers at path (in use), 0 if not. */
static int unix_alive(const cr_addr *a)
{
	int fd = cr_connect(a);
	if (fd < 0)
		return 0;
	cr_close(fd);
	return 1;
}

/* Creates the one listener of a Unix address, replacing a stale socket file.
 * Returns 0 or -errno (not printed). */
static int open_unix(struct es_listener *l, const struct es_options *o, const char **what)
{
	cr_listen_opts lo = {.backlog = o->backlog};
	const char *path = l->addr.u.un.sun_path;
	struct stat st;
	*what = "unix";
	if (!(l->tcp_fds = new_fds(1)))
		return -ENOMEM;
	if (path[0] != '\0' && lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unix_alive(&l->addr))
			return -EADDRINUSE;
		unlink(path); /* a stale socket left by a server that died */
	}
	if ((l->tcp_fds[0] = cr_listen(&l->addr, &lo)) < 0)
		return l->tcp_fds[0];
	l->unlink_path = path[0] != '\0';
	return 0;
}

static void close_listener(struct es_listener *l, unsigned workers);

/* Default: localhost, i.e. 127.0.0.1 and ::1.  Returns 0 or -errno. */
static int open_default(struct es_listen_set *set, const struct es_options *o,
			uint16_t *shared_port)
{
	cr_addr v4, v6;
	const char *what;
	int r;
	if (cr_addr_parse("127.0.0.1", o->port, &v4) < 0 || cr_addr_parse("::1", o->port, &v6) < 0)
		return -EINVAL;
	add_addr(set, &v4, "localhost");
	if ((r = open_ip(&set->l[0], o, set->workers, shared_port, &what)) < 0) {
		print_error(&set->l[0].addr, what, r);
		return r;
	}
	add_addr(set, &v6, "localhost");
	if ((r = open_ip(&set->l[1], o, set->workers, shared_port, &what)) < 0) {
		if (r != -EADDRNOTAVAIL && r != -EAFNOSUPPORT) {
			print_error(&set->l[1].addr, what, r);
			return r;
		}
		fprintf(stderr,
			"coring-echo-server: warning: no IPv6 loopback (::1: %s), "
			"serving 127.0.0.1 only\n",
			strerror(-r));
		close_listener(&set->l[1], set->workers);
		set->n = 1;
	}
	return 0;
}

int es_listen_open(struct es_listen_set *set, const struct es_options *o, unsigned workers)
{
	uint16_t shared_port = 0;
	const char *what = "";
	int r = 0;
	memset(set, 0, sizeof(*set));
	set->workers = workers;
	if (o->n_listen == 0) {
		r = open_default(set, o, &shared_port);
		if (r < 0)
			es_listen_close(set);
		return r;
	}
	if ((r = collect(set, o)) < 0)
		goto fail;
	for (unsigned i = 0; i < set->n; i++) {
		struct es_listener *l = &set->l[i];
		r = l->is_unix ? open_unix(l, o, &what)
			       : open_ip(l, o, workers, &shared_port, &what);
		if (r < 0) {
			if (r == -EEXIST)
				fprintf(stderr,
					"coring-echo-server: cannot listen on %s: the file "
					"exists and is not a socket\n",
					l->addr.u.un.sun_path);
			else
				print_error(&l->addr, what, r);
			goto fail;
		}
	}
	return 0;
fail:
	es_listen_close(set);
	return r;
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; fds && i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* Closes one address's sockets and removes its Unix path.  Returns nothing. */
static void close_listener(struct es_listener *l, unsigned workers)
{
	close_all(l->tcp_fds, l->is_unix ? 1 : workers);
	close_all(l->udp_fds, workers);
	free(l->tcp_fds);
	free(l->udp_fds);
	l->tcp_fds = l->udp_fds = NULL;
	if (l->unlink_path) {
		unlink(l->addr.u.un.sun_path);
		l->unlink_path = 0;
	}
}

void es_listen_close(struct es_listen_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		close_listener(&set->l[i], set->workers);
}
