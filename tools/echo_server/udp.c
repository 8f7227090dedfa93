/* SPDX-License-Identifier: MIT */
/* A UDP echo loop: every datagram goes back to its sender, one socket per worker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Largest UDP payload (IPv4: 65535 - 8 - 20), with room to spare for IPv6. */
#define DATAGRAM_MAX 65536

/* Pause after a failed receive, so that a persistent error is no busy loop. */
#define ERROR_PAUSE_NS 1000000ull

int es_udp_main(void *arg)
{
	struct es_udp_loop *u = arg;
	struct es_worker *w = u->w;
	int fd = *u->fd, r = 0;
	char *buf = malloc(DATAGRAM_MAX);
	if (!buf) {
		fprintf(stderr, "coring-echo-server: worker %u: no memory for UDP\n",
			cr_worker_id());
		r = -ENOMEM;
	}
	while (buf && !w->stopping) {
		cr_addr from;
		ssize_t n = cr_recvfrom(fd, buf, DATAGRAM_MAX, &from);
		if (n < 0) {
			if (w->stopping)
				break;
			atomic_fetch_add_explicit(&w->udp_errors, 1, memory_order_relaxed);
			cr_sleep(ERROR_PAUSE_NS);
			continue;
		}
		atomic_fetch_add_explicit(&w->udp_in, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->udp_bytes_in, (uint64_t)n, memory_order_relaxed);
		char name[96];
		if (es_log_enabled()) {
			es_log_name(name, sizeof(name), "EchoServerUDP", &from, 0);
			es_log_bytes(name, "received", buf, (size_t)n);
		}
		ssize_t s = cr_sendto(fd, buf, (size_t)n, &from);
		if (s < 0) {
			atomic_fetch_add_explicit(&w->udp_errors, 1, memory_order_relaxed);
			continue;
		}
		atomic_fetch_add_explicit(&w->udp_out, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->udp_bytes_out, (uint64_t)s, memory_order_relaxed);
		if (es_log_enabled())
			es_log_bytes(name, "sent", buf, (size_t)n);
	}
	free(buf);
	cr_close(fd);
	*u->fd = -1;
	return r;
}
