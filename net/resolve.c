/* SPDX-License-Identifier: MIT */
/* cr_addr_resolve: numeric text directly, host names through getaddrinfo on the offload pool. */
#include <coring/net.h>
#include <coring/runtime.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <string.h>

#include "addr.h"
#include "runtime_internal.h"

/* Longest host name (RFC 1035: 253 characters, plus an optional final dot). */
#define HOST_MAX 254

/* One lookup, handed to a pool thread; lives on the calling task's stack. */
struct lookup {
	const char *host; /* NUL-terminated host name */
	uint16_t port;	  /* port for every result */
	cr_addr *out;	  /* where results go */
	size_t max;	  /* room in out */
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 1 if the n characters at s read as a number to inet_aton (decimal, octal
 * or 0x hex), which getaddrinfo would turn into an IPv4 address. */
static int numeric_label(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < n && is_hex(s[i]); i++)
			;
		return i == n;
	}
	for (i = 0; i < n && is_digit(s[i]); i++)
		;
	return i == n;
}

/* 1 if the n characters at s form a host name: labels of 1..63 letters,
 * digits, '-' (not first or last) or '_' separated by dots, an optional
 * final dot, and a last label that is not a number (so "1.2.3" or "0x7f.1"
 * are not looked up). */
static int valid_host(const char *s, size_t n)
{
	size_t start = 0; /* where the current label starts */

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > HOST_MAX - 1)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';
		if (c == '.') {
			if (i == start || i - start > 63 || s[start] == '-' || s[i - 1] == '-')
				return 0;
			if (i == n)
				return !numeric_label(s + start, i - start);
			start = i + 1;
		} else if (!is_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
			   c != '-' && c != '_') {
			return 0;
		}
	}
	return 0; /* not reached */
}

/* Splits "host", "host:port" or "[host]:port" into host (HOST_MAX + 1 bytes)
 * and *port (default_port if none).  Returns 0 or -EINVAL. */
static int split_host(const char *text, char *host, uint16_t *port)
{
	const char *h = text, *end, *colon;
	size_t n;
	int rc;

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end)
			return -EINVAL;
		h = text + 1;
		n = (size_t)(end - h);
		if (end[1] == ':') {
			rc = cr__addr_parse_port(end + 2, strlen(end + 2), port);
			if (rc < 0)
				return rc;
		} else if (end[1] != '\0') {
			return -EINVAL;
		}
	} else {
		colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':'))
			return -EINVAL; /* not IPv6 (cr_addr_parse said so), not a name */
		n = colon ? (size_t)(colon - text) : strlen(text);
		if (colon) {
			rc = cr__addr_parse_port(colon + 1, strlen(colon + 1), port);
			if (rc < 0)
				return rc;
		}
	}
	if (!valid_host(h, n))
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

/* Maps a getaddrinfo error to a negative errno value. */
static int gai_errno(int rc)
{
	switch (rc) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
}

/* 1 if a equals one of the n addresses at list. */
static int seen(const cr_addr *list, size_t n, const cr_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].len == a->len && memcmp(&list[i].u, &a->u, a->len) == 0)
			return 1;
	return 0;
}

/* Runs on a pool thread: getaddrinfo, then copies distinct IPv6 and IPv4
 * results with the port set.  Returns the count (>= 1) or -errno. */
static intptr_t lookup_run(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo hints, *res = NULL, *ai;
	size_t n = 0;
	cr_addr a;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM; /* one entry per address, not one per type */
	hints.ai_flags = 0;		 /* no AI_ADDRCONFIG: localhost gives ::1 too */
	rc = getaddrinfo(l->host, NULL, &hints, &res);
	if (rc != 0)
		return gai_errno(rc);
	for (ai = res; ai && n < l->max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || !ai->ai_addr ||
		    ai->ai_addrlen > sizeof(a.u))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.u, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		cr_addr_set_port(&a, l->port);
		if (!seen(l->out, n, &a))
			l->out[n++] = a;
	}
	freeaddrinfo(res);
	return n > 0 ? (intptr_t)n : -ENOENT;
}

/* Returns the number of addresses written (>= 1), -EINVAL (malformed, or
 * NULL / max 0), -ENOENT, -EAGAIN, -ENOMEM, -EPERM (a name outside a task),
 * -ECANCELED or -ETIMEDOUT (lookup not started). */
int cr_addr_resolve(const char *text, uint16_t default_port, cr_addr *out, size_t max)
{
	char host[HOST_MAX + 1];
	struct lookup l;
	intptr_t res = -EINVAL;
	int rc;

	if (!text || !out || max == 0)
		return -EINVAL;
	if (cr_addr_parse(text, default_port, &out[0]) == 0)
		return 1;
	l.port = default_port;
	rc = split_host(text, host, &l.port);
	if (rc < 0)
		return rc;
	l.host = host;
	l.out = out;
	l.max = max < INT_MAX ? max : INT_MAX;
	rc = cr_to_thread(lookup_run, &l, &res);
	if (rc < 0)
		return rc;
	/* A cancellation or deadline that landed while getaddrinfo ran ends the call
	 * as it would in asyncio: the answer holds nothing that could leak. */
	rc = cr__wait_prepare();
	return rc < 0 ? rc : (int)res;
}
