/* SPDX-License-Identifier: MIT */
/* What the server tells at start: the bound addresses, asyncio's start line, the port file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

void es_listen_print(const struct es_listen_set *set, const struct es_options *o)
{
	int said_localhost = 0;
	for (unsigned i = 0; i < set->n; i++) {
		const struct es_listener *l = &set->l[i];
		char text[CR_ADDR_STRLEN], host[CR_ADDR_STRLEN];
		if (cr_addr_format(&l->addr, text, sizeof(text)) < 0)
			snprintf(text, sizeof(text), "?");
		if (!o->quiet)
			printf("listening on %s (%s)\n", text,
			       l->is_unix   ? "unix"
			       : l->udp_fds ? "tcp, udp"
					    : "tcp");
		if (!es_log_enabled())
			continue;
		int port = es_addr_host(&l->addr, host, sizeof(host));
		if (l->host_text && strcmp(l->host_text, "localhost") == 0) {
			if (!said_localhost)
				es_log("main", "starting up on localhost port %d", port);
			said_localhost = 1;
		} else if (port >= 0) {
			es_log("main", "starting up on %s port %d", host, port);
		} else {
			es_log("main", "starting up on %s", text);
		}
	}
	fflush(stdout);
}

int es_port_file_prepare(const struct es_listen_set *set, const char *path, char *tmp, size_t len)
{
	int port = -1;
	for (unsigned i = 0; i < set->n && port < 0; i++)
		port = cr_addr_port(&set->l[i].addr);
	if (port < 0)
		return -EDESTADDRREQ; /* Unix sockets only */
	if (snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid()) >= (int)len)
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	errno = 0;
	int ok = fprintf(f, "%d\n", port) > 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok) {
		int e = errno ? errno : EIO;
		unlink(tmp);
		return -e;
	}
	return 0;
}

int es_port_file_publish(const char *tmp, const char *path)
{
	if (rename(tmp, path) == 0)
		return 0;
	int e = errno;
	unlink(tmp);
	return -e;
}
