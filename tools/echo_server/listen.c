/* SPDX-License-Identifier: MIT */
/* The addresses served: resolving them, listening through cr_server, the UDP sockets beside it. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
		fprintf(stderr, "coring-echo-server: too many addresses (at most %u)\n",
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

/* Binds the UDP sockets of an IP address, one per worker, on its (bound)
 * port.  Returns 0 or -errno (not printed). */
static int open_udp(struct es_listener *l, const struct es_options *o, unsigned workers)
{
	cr_listen_opts lo = {.backlog = o->backlog, .reuseport = 1, .v6only = 1};
	int r;
	if (!(l->udp_fds = new_fds(workers)))
		return -ENOMEM;
	if ((r = probe_free(&l->addr, SOCK_DGRAM)) < 0)
		return r;
	for (unsigned i = 0; i < workers; i++)
		if ((l->udp_fds[i] = cr_udp_bind(&l->addr, &lo)) < 0)
			return l->udp_fds[i];
	return 0;
}

/* Returns 1 if the host has the IPv6 loopback (::1 can be bound), else 0
 * (a warning printed). */
static int have_v6_loopback(const cr_addr *v6)
{
	cr_addr any = *v6;
	cr_addr_set_port(&any, 0);
	int r = probe_free(&any, SOCK_STREAM);
	if (r != -EADDRNOTAVAIL && r != -EAFNOSUPPORT)
		return 1;
	fprintf(stderr,
		"coring-echo-server: warning: no IPv6 loopback (::1: %s), serving 127.0.0.1 only\n",
		strerror(-r));
	return 0;
}

/* Default: localhost, i.e. 127.0.0.1 and ::1.  Returns 0 or -EINVAL. */
static int collect_default(struct es_listen_set *set, const struct es_options *o)
{
	cr_addr v4, v6;
	if (cr_addr_parse("127.0.0.1", o->port, &v4) < 0 || cr_addr_parse("::1", o->port, &v6) < 0)
		return -EINVAL;
	add_addr(set, &v4, "localhost");
	if (have_v6_loopback(&v6))
		add_addr(set, &v6, "localhost");
	return 0;
}

/* Says which address could not be listened on: the first whose port or
 * path is taken, else all of them.  Returns nothing. */
static void print_listen_error(const struct es_listen_set *set, int err)
{
	for (unsigned i = 0; i < set->n; i++) {
		const cr_addr *a = &set->l[i].addr;
		if (!set->l[i].is_unix && cr_addr_port(a) != 0 && probe_free(a, SOCK_STREAM) < 0) {
			print_error(a, "tcp", err);
			return;
		}
		if (set->l[i].is_unix && err == -EEXIST) {
			fprintf(stderr,
				"coring-echo-server: cannot listen on %s: the file exists and is "
				"not a socket\n",
				a->u.un.sun_path);
			return;
		}
	}
	print_error(&set->l[0].addr, set->n > 1 ? "tcp, and the other addresses" : "tcp", err);
}

int es_listen_open(struct es_listen_set *set, cr_server *srv, const struct es_options *o,
		   unsigned workers)
{
	int r;
	memset(set, 0, sizeof(*set));
	set->workers = workers;
	r = o->n_listen == 0 ? collect_default(set, o) : collect(set, o);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < set->n; i++)
		if ((r = cr_server_add_addr(srv, &set->l[i].addr)) < 0) {
			print_error(&set->l[i].addr, "tcp", r);
			return r;
		}
	if ((r = cr_server_listen(srv)) < 0) {
		print_listen_error(set, r);
		return r;
	}
	for (unsigned i = 0; i < set->n; i++) {
		struct es_listener *l = &set->l[i];
		cr_server_addr(srv, i, &l->addr); /* the real port after port 0 */
		if (l->is_unix || !o->udp)
			continue;
		if ((r = open_udp(l, o, workers)) < 0) {
			print_error(&l->addr, "udp", r);
			es_listen_close(set);
			return r;
		}
	}
	return 0;
}

void es_listen_close(struct es_listen_set *set)
{
	for (unsigned i = 0; i < set->n; i++) {
		int *fds = set->l[i].udp_fds;
		for (unsigned k = 0; fds && k < set->workers; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		free(fds);
		set->l[i].udp_fds = NULL;
	}
}
