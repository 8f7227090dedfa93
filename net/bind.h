/* SPDX-License-Identifier: MIT */
/* Creating bound sockets, shared by the stream and datagram calls. */
#ifndef CORING_NET_BIND_H
#define CORING_NET_BIND_H

#include <coring/net.h>

/* Creates a socket of type for a's family with the reuse options of opts
 * and binds it to a.  Returns the fd or -errno. */
int cr__net_bind(const cr_addr *a, int type, const cr_listen_opts *opts);

#endif
