/* SPDX-License-Identifier: MIT */
/* Connecting to the first of a server's addresses that accepts. */
#ifndef EC_CONNECT_H
#define EC_CONNECT_H

#include <coring.h>

#include <stdatomic.h>
#include <stddef.h>

/* Connects to addrs[*preferred] first (if preferred is not NULL), then to
 * the others in order, and remembers in *preferred the one that worked; TCP
 * sockets get TCP_NODELAY.  *used (if not NULL) gets the index connected to.
 * Returns the fd, or the negative errno value of the last attempt (stopping
 * at once on -ECANCELED or -ETIMEDOUT). */
int ec_connect_any(const cr_addr *addrs, size_t n, _Atomic unsigned *preferred, size_t *used);

/* Resolves the target text (host, IP address with or without port, unix:
 * path) with default_port, printing a clear message on failure.  Returns
 * the number of addresses written to out (>= 1) or a negative errno value. */
int ec_resolve(const char *text, unsigned default_port, cr_addr *out, size_t max);

#endif
