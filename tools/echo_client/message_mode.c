/* SPDX-License-Identifier: MIT */
/* Message mode: connect, send each message in one write, half-close, print the echo until EOF. */
#include "message_mode.h"
#include "connect.h"
#include "pyrepr.h"
#include "run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The messages asyncio_echo_client.py sends. */
static const char *const default_messages[] = {
	"This is the message. ",
	"It will be sent ",
	"in parts.",
};

/* Size of the receive buffer. */
#define RECV_BUF (64u * 1024u)

/* Logs "<name>: <prefix><repr of data>" to stderr as one write.  Returns 0
 * or -ENOMEM. */
static int log_bytes(const char *name, const char *prefix, const void *data, size_t len)
{
	size_t cap = strlen(name) + strlen(prefix) + EC_PYREPR_MAX(len) + 4;
	char *line = malloc(cap);
	if (!line)
		return -ENOMEM;
	int k = snprintf(line, cap, "%s: %s", name, prefix);
	size_t n = (size_t)k + ec_pyrepr(data, len, line + k);
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	free(line);
	return 0;
}

/* Logs "EchoClient: connecting to HOST port P" as asyncio does with the
 * peer's address (host without brackets; a Unix socket shows its path).
 * Returns nothing. */
static void log_peer(int fd)
{
	cr_addr peer;
	char host[INET6_ADDRSTRLEN] = "?";
	if (cr_socket_addr(fd, 1, &peer) < 0) {
		fprintf(stderr, "EchoClient: connecting to ? port ?\n");
		return;
	}
	switch (peer.u.sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &peer.u.in.sin_addr, host, sizeof(host));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &peer.u.in6.sin6_addr, host, sizeof(host));
		break;
	default: {
		char text[CR_ADDR_STRLEN];
		if (cr_addr_format(&peer, text, sizeof(text)) < 0)
			snprintf(text, sizeof(text), "unix socket");
		fprintf(stderr, "EchoClient: connecting to %s\n", text);
		return;
	}
	}
	fprintf(stderr, "EchoClient: connecting to %s port %d\n", host, cr_addr_port(&peer));
}

/* Connects to the target.  Returns the fd or -1 (message printed). */
static int open_target(const ec_options *o)
{
	cr_addr addrs[EC_MAX_ADDRS];
	int n = ec_resolve(ec_options_target(o), o->port, addrs, EC_MAX_ADDRS);
	if (n < 0)
		return -1;
	int fd = ec_connect_any(addrs, (size_t)n, NULL, NULL);
	if (fd < 0) {
		char text[CR_ADDR_STRLEN];
		if (cr_addr_format(&addrs[0], text, sizeof(text)) < 0)
			snprintf(text, sizeof(text), "%s", ec_options_target(o));
		if (fd == -ETIMEDOUT)
			fprintf(stderr,
				"coring-echo-client: cannot connect to %s: timed out (--timeout %g "
				"s)\n",
				text, o->timeout_s);
		else
			fprintf(stderr, "coring-echo-client: cannot connect to %s%s: %s\n", text,
				n > 1 ? " (nor its other addresses)" : "", strerror(-fd));
		return -1;
	}
	return fd;
}

/* Sends each message with one write (logging it after, as asyncio does).
 * Returns 0, -1 or -ETIMEDOUT (message printed). */
static int send_messages(const ec_options *o, int fd)
{
	size_t n = o->n_messages ? o->n_messages : sizeof(default_messages) / sizeof(char *);
	for (size_t i = 0; i < n; i++) {
		const char *m = o->n_messages ? o->messages[i] : default_messages[i];
		size_t len = strlen(m);
		ssize_t r = len ? cr_send_all(fd, m, len, NULL) : 0;
		if (r == -ETIMEDOUT) {
			fprintf(stderr,
				"coring-echo-client: send: timed out (--timeout %g s): the server "
				"did not take the messages\n",
				o->timeout_s);
			return -ETIMEDOUT;
		}
		if (r < 0) {
			fprintf(stderr, "coring-echo-client: send: %s\n", strerror((int)-r));
			return -1;
		}
		if (o->verbose)
			log_bytes("EchoClient", "sending ", m, len);
	}
	return 0;
}

/* Prints (or logs) what comes back until the end of stream.  Returns 0, -1
 * (message printed) or -ETIMEDOUT (--timeout passed first; message printed). */
static int receive_all(const ec_options *o, int fd)
{
	char *buf = malloc(RECV_BUF);
	int status = 0;
	uint64_t got = 0;
	if (!buf) {
		fprintf(stderr, "coring-echo-client: out of memory\n");
		return -1;
	}
	for (;;) {
		ssize_t n = cr_recv(fd, buf, RECV_BUF);
		if (n > 0) {
			got += (uint64_t)n;
			if (o->verbose)
				log_bytes("EchoClient", "received ", buf, (size_t)n);
			else if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
				status = -1;
			continue;
		}
		if (n == 0) {
			if (o->verbose)
				fprintf(stderr, "EchoClient: received EOF\n");
		} else if (n == -ETIMEDOUT) {
			fprintf(stderr,
				"coring-echo-client: the server did not end its stream within "
				"--timeout (%g s); %llu bytes came back\n",
				o->timeout_s, (unsigned long long)got);
			status = -ETIMEDOUT;
		} else {
			fprintf(stderr, "coring-echo-client: receive: %s\n", strerror((int)-n));
			status = -1;
		}
		break;
	}
	free(buf);
	return status;
}

/* Sends, half-closes and receives on the connected fd.  Returns the exit
 * status (enum ec_exit). */
static int exchange(const ec_options *o, int fd)
{
	int status = send_messages(o, fd);
	if (status == -ETIMEDOUT)
		return EC_EXIT_FAILED; /* the wait for the echo would time out too */
	if (status == 0) {
		int e = cr_shutdown(fd, SHUT_WR);
		if (e < 0) {
			fprintf(stderr, "coring-echo-client: shutdown: %s\n", strerror(-e));
			status = -1;
		}
	}
	int r = receive_all(o, fd);
	if (r == -ETIMEDOUT)
		return status < 0 ? EC_EXIT_FAILED : EC_EXIT_NOT_CLOSED;
	if (o->verbose)
		fprintf(stderr, "EchoClient: server closed connection\n");
	return status < 0 || r < 0 ? EC_EXIT_FAILED : EC_EXIT_OK;
}

int ec_message_mode(const ec_options *o)
{
	if (o->verbose)
		fprintf(stderr, "main: waiting for client to complete\n");
	/* --timeout bounds everything from the name lookup to the end of stream. */
	cr_deadline d;
	int bounded = o->timeout_s > 0;
	if (bounded)
		(void)cr_timeout_enter(&d, (uint64_t)(o->timeout_s * 1e9));
	int status = EC_EXIT_FAILED;
	int fd = open_target(o);
	if (fd >= 0) {
		if (o->verbose)
			log_peer(fd);
		status = exchange(o, fd);
	}
	if (bounded)
		(void)cr_deadline_exit(&d);
	if (fd < 0)
		return EC_EXIT_FAILED;
	(void)cr_close(fd);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "coring-echo-client: could not write to stdout\n");
		status = EC_EXIT_FAILED;
	}
	if (o->verbose)
		fprintf(stderr, "main: closing event loop\n");
	return status;
}
