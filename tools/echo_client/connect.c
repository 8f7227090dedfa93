/* SPDX-License-Identifier: MIT */
/* Resolving the server's address and connecting to the first of its addresses that accepts. */
#include "connect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ec_resolve(const char *text, unsigned default_port, cr_addr *out, size_t max)
{
	int n = cr_addr_resolve(text, (uint16_t)default_port, out, max);
	if (n > 0)
		return n;
	const char *why = n == -EINVAL	 ? "not a valid address (host, host:port, 1.2.3.4:5, "
					   "[::1]:5, unix:/path)"
			  : n == -ENOENT ? "no such host"
			  : n == -EAGAIN ? "temporary failure of the name resolver"
					 : strerror(n < 0 ? -n : EINVAL);
	fprintf(stderr, "coring-echo-client: cannot resolve '%s': %s\n", text, why);
	return n < 0 ? n : -ENOENT;
}

/* Connects to one address.  Returns the fd or a negative errno value. */
static int connect_one(const cr_addr *a)
{
	int fd = cr_connect(a);
	if (fd >= 0 && a->u.sa.sa_family != AF_UNIX)
		(void)cr_set_nodelay(fd, 1);
	return fd;
}

int ec_connect_any(const cr_addr *addrs, size_t n, _Atomic unsigned *preferred, size_t *used)
{
	size_t first = preferred ? atomic_load_explicit(preferred, memory_order_relaxed) : 0;
	if (first >= n)
		first = 0;
	int fd = connect_one(&addrs[first]);
	if (fd >= 0 || fd == -ECANCELED || fd == -ETIMEDOUT) {
		if (fd >= 0 && used)
			*used = first;
		return fd;
	}
	for (size_t i = 0; i < n; i++) {
		if (i == first)
			continue;
		fd = connect_one(&addrs[i]);
		if (fd >= 0) {
			if (preferred)
				atomic_store_explicit(preferred, (unsigned)i, memory_order_relaxed);
			if (used)
				*used = i;
			return fd;
		}
		if (fd == -ECANCELED || fd == -ETIMEDOUT)
			return fd;
	}
	return fd;
}
