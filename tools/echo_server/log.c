/* SPDX-License-Identifier: MIT */
/* The --verbose event log in the asyncio reference's words, with Python's repr of bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Set once before the workers start, read by all of them afterwards. */
static int log_on;

void es_log_enable(int on)
{
	log_on = on;
}

int es_log_enabled(void)
{
	return log_on;
}

/* Writes one whole line to stderr; lines from different workers never mix. */
static void put_line(const char *s, size_t n)
{
	flockfile(stderr);
	fwrite(s, 1, n, stderr);
	fflush(stderr);
	funlockfile(stderr);
}

void es_log(const char *name, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%s: ", name);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = 0;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if ((size_t)(n + m) > sizeof(line) - 2)
		m = (int)(sizeof(line) - 2) - n; /* truncated */
	line[n + m] = '\n';
	put_line(line, (size_t)(n + m) + 1);
}

/* Python picks double quotes only when the bytes hold ' and no ". */
static char quote_of(const unsigned char *p, size_t len)
{
	int single = 0, dbl = 0;
	for (size_t i = 0; i < len; i++) {
		single |= p[i] == '\'';
		dbl |= p[i] == '"';
	}
	return single && !dbl ? '"' : '\'';
}

size_t es_repr_size(const void *data, size_t len)
{
	const unsigned char *p = data;
	char q = quote_of(p, len);
	size_t n = 3 + 1; /* b, two quotes, NUL */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c == (unsigned char)q || c == '\\' || c == '\t' || c == '\n' || c == '\r')
			n += 2;
		else if (c < 0x20 || c >= 0x7f)
			n += 4;
		else
			n += 1;
	}
	return n;
}

size_t es_repr_bytes(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	char q = quote_of(p, len);
	char *o = out;
	*o++ = 'b';
	*o++ = q;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c == (unsigned char)q || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\t' || c == '\n' || c == '\r') {
			*o++ = '\\';
			*o++ = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
		} else if (c < 0x20 || c >= 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = q;
	*o = '\0';
	return (size_t)(o - out);
}

void es_log_bytes(const char *name, const char *what, const void *data, size_t len)
{
	size_t head = strlen(name) + 2 + strlen(what) + 1;
	size_t cap = head + es_repr_size(data, len) + 1;
	char *line = malloc(cap);
	if (!line) {
		es_log(name, "%s %zu bytes (no memory to show them)", what, len);
		return;
	}
	int n = snprintf(line, cap, "%s: %s ", name, what);
	size_t m = es_repr_bytes(data, len, line + n);
	line[(size_t)n + m] = '\n';
	put_line(line, (size_t)n + m + 1);
	free(line);
}

int es_addr_host(const cr_addr *a, char *buf, size_t len)
{
	if (len == 0)
		return -1;
	buf[0] = '\0';
	switch (a->u.sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &a->u.in.sin_addr, buf, (socklen_t)len);
		return ntohs(a->u.in.sin_port);
	case AF_INET6:
		/* As Python's peername: the address only, the scope is apart. */
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, buf, (socklen_t)len);
		return ntohs(a->u.in6.sin6_port);
	default:
		if (cr_addr_format(a, buf, len) < 0 && buf[0] == '\0')
			snprintf(buf, len, "?");
		return -1;
	}
}

void es_log_name(char *buf, size_t len, const char *base, const cr_addr *peer, uint64_t seq)
{
	char host[CR_ADDR_STRLEN];
	int port = es_addr_host(peer, host, sizeof(host));
	if (port >= 0)
		snprintf(buf, len, "%s_%s_%d", base, host, port);
	else
		snprintf(buf, len, "%s_%s_%llu", base,
			 peer->u.sa.sa_family == AF_UNIX ? "unix" : "unknown",
			 (unsigned long long)seq);
}

const char *es_oserror(int err, char *buf, size_t len)
{
	int e = err < 0 ? -err : err;
	char msg[128];
	snprintf(buf, len, "[Errno %d] %s", e, strerror_r(e, msg, sizeof(msg)));
	return buf;
}
