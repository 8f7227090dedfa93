/* SPDX-License-Identifier: MIT */
/* An accept loop: a multishot acceptor on one listening socket, a connection task per client. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

int es_accept_main(void *arg)
{
	struct es_accept_loop *a = arg;
	struct es_worker *w = a->w;
	cr_acceptor *acc;
	int r = cr_acceptor_open(&acc, *a->lfd, 0);
	if (r < 0) {
		/* Closing the socket below sends this worker's share of a
		 * SO_REUSEPORT port to the other workers. */
		fprintf(stderr, "coring-echo-server: worker %u: cannot accept: %s\n", w->index,
			strerror(-r));
		goto out;
	}
	while (!w->stopping) {
		int fd = cr_acceptor_next(acc);
		if (fd < 0) {
			if (fd != -ECANCELED || !w->stopping) {
				fprintf(stderr, "coring-echo-server: worker %u: accept: %s\n",
					w->index, strerror(-fd));
				r = fd;
			}
			break;
		}
		if (!a->is_unix)
			cr_set_nodelay(fd, 1);
		es_conn_start(w, fd);
	}
	w->stats.accept_fd_errors += cr_acceptor_errors(acc);
	cr_acceptor_close(acc);
out:
	cr_close(*a->lfd);
	*a->lfd = -1;
	return r;
}
