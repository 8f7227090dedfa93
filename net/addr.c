/* SPDX-License-Identifier: MIT */
/* Addresses: parsing numeric text, formatting, ports, and a socket's own or peer address. */
#include <coring/net.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* Where sun_path starts, and the longest Unix path or abstract name accepted. */
#define UN_OFF offsetof(struct sockaddr_un, sun_path)
#define UN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* An IPv6 address in text, '%', an interface name or index, NUL. */
#define IN6_TEXT_MAX (INET6_ADDRSTRLEN + IF_NAMESIZE + 2)

/* ---- parsing ----------------------------------------------------------------------- */

int cr__addr_parse_port(const char *s, size_t n, uint16_t *port)
{
	uint32_t v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* A Unix path (abstract = 0) or abstract name (abstract = 1, without the
 * '@').  The length of a path includes its NUL, as getsockname reports it. */
static int parse_unix(const char *name, int abstract, cr_addr *a)
{
	size_t n = strnlen(name, UN_PATH_MAX + 1);

	if (n == 0 || n > UN_PATH_MAX)
		return -EINVAL;
	a->u.un.sun_family = AF_UNIX;
	if (abstract) {
		memcpy(a->u.un.sun_path + 1, name, n); /* sun_path[0] stays 0 */
		a->len = (socklen_t)(UN_OFF + 1 + n);
	} else {
		memcpy(a->u.un.sun_path, name, n);
		a->len = (socklen_t)(UN_OFF + n + 1);
	}
	return 0;
}

/* An IPv6 zone: an interface name or a decimal index. */
static int parse_scope(const char *s, uint32_t *scope)
{
	size_t n = strlen(s);
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n >= IF_NAMESIZE)
		return -EINVAL;
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0'); /* n < 16 digits: no overflow */
	if (i == n) {
		if (v > UINT32_MAX)
			return -EINVAL;
		*scope = (uint32_t)v;
		return 0;
	}
	/* Characters the kernel refuses in interface names (its ioctl would
	 * read the alias "lo:1" as "lo"). */
	for (i = 0; i < n; i++)
		if (strchr("/:% \t\n\v\f\r", s[i]))
			return -EINVAL;
	*scope = if_nametoindex(s);
	return *scope ? 0 : -EINVAL;
}

/* The n characters at s as an IPv6 address with an optional "%zone". */
static int parse_in6(const char *s, size_t n, uint16_t port, cr_addr *a)
{
	char buf[IN6_TEXT_MAX];
	uint32_t scope = 0;
	char *pct;
	int rc;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	pct = strchr(buf, '%');
	if (pct) {
		*pct = '\0';
		rc = parse_scope(pct + 1, &scope);
		if (rc < 0)
			return rc;
	}
	if (inet_pton(AF_INET6, buf, &a->u.in6.sin6_addr) != 1)
		return -EINVAL;
	a->u.in6.sin6_family = AF_INET6;
	a->u.in6.sin6_port = htons(port);
	a->u.in6.sin6_scope_id = scope;
	a->len = sizeof(a->u.in6);
	return 0;
}

/* The n characters at s as a dotted-quad IPv4 address. */
static int parse_in4(const char *s, size_t n, uint16_t port, cr_addr *a)
{
	char buf[INET_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a->u.in.sin_addr) != 1)
		return -EINVAL;
	a->u.in.sin_family = AF_INET;
	a->u.in.sin_port = htons(port);
	a->len = sizeof(a->u.in);
	return 0;
}

/* "[v6]" or "[v6]:port". */
static int parse_bracketed(const char *text, uint16_t port, cr_addr *a)
{
	const char *end = strchr(text, ']');
	int rc;

	if (!end)
		return -EINVAL;
	if (end[1] == ':') {
		rc = cr__addr_parse_port(end + 2, strlen(end + 2), &port);
		if (rc < 0)
			return rc;
	} else if (end[1] != '\0') {
		return -EINVAL;
	}
	return parse_in6(text + 1, (size_t)(end - text - 1), port, a);
}

/* Dispatches on the form of text; a is zeroed. */
static int parse_text(const char *text, uint16_t port, cr_addr *a)
{
	const char *colon;
	int rc;

	if (strncmp(text, "unix:", 5) == 0)
		return parse_unix(text + 5, 0, a);
	if (text[0] == '/' || (text[0] == '.' && text[1] == '/'))
		return parse_unix(text, 0, a);
	if (text[0] == '@')
		return parse_unix(text + 1, 1, a);
	if (text[0] == '[')
		return parse_bracketed(text, port, a);
	colon = strchr(text, ':');
	if (colon && strchr(colon + 1, ':'))
		return parse_in6(text, strlen(text), port, a); /* bare IPv6: no port */
	if (colon) {
		rc = cr__addr_parse_port(colon + 1, strlen(colon + 1), &port);
		if (rc < 0)
			return rc;
		return parse_in4(text, (size_t)(colon - text), port, a);
	}
	return parse_in4(text, strlen(text), port, a);
}

/* Returns 0 (out filled) or -EINVAL (out untouched). */
int cr_addr_parse(const char *text, uint16_t default_port, cr_addr *out)
{
	int saved = errno;
	cr_addr a;
	int rc;

	if (!text || !out)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	rc = parse_text(text, default_port, &a);
	errno = saved; /* if_nametoindex may have set it */
	if (rc == 0)
		*out = a;
	return rc;
}

/* ---- formatting ------------------------------------------------------------------ */

/* Writes "a.b.c.d:port" into tmp (CR_ADDR_STRLEN bytes).  Returns its length. */
static int format_in4(const struct sockaddr_in *in, char *tmp)
{
	char ip[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)))
		return -EINVAL;
	return snprintf(tmp, CR_ADDR_STRLEN, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
}

/* Writes "[v6]:port" or "[v6%zone]:port" into tmp.  Returns its length. */
static int format_in6(const struct sockaddr_in6 *in6, char *tmp)
{
	char ip[INET6_ADDRSTRLEN];
	char zone[IF_NAMESIZE + 12] = "";

	if (!inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)))
		return -EINVAL;
	if (in6->sin6_scope_id != 0) {
		char name[IF_NAMESIZE];
		if (if_indextoname(in6->sin6_scope_id, name))
			snprintf(zone, sizeof(zone), "%%%s", name);
		else
			snprintf(zone, sizeof(zone), "%%%u", (unsigned)in6->sin6_scope_id);
	}
	return snprintf(tmp, CR_ADDR_STRLEN, "[%s%s]:%u", ip, zone,
			(unsigned)ntohs(in6->sin6_port));
}

/* Writes "unix:/path", "@name" (NUL bytes in the name shown as '@') or
 * "unix:" (unnamed) into tmp.  Returns its length. */
static int format_un(const cr_addr *a, char *tmp)
{
	const char *p = a->u.un.sun_path;
	size_t n = a->len > UN_OFF ? a->len - UN_OFF : 0;

	if (n > sizeof(a->u.un.sun_path))
		n = sizeof(a->u.un.sun_path);
	if (n == 0)
		return snprintf(tmp, CR_ADDR_STRLEN, "unix:");
	if (p[0] == '\0') {
		tmp[0] = '@';
		for (size_t i = 1; i < n; i++)
			tmp[i] = p[i] ? p[i] : '@';
		tmp[n] = '\0';
		return (int)n;
	}
	return snprintf(tmp, CR_ADDR_STRLEN, "unix:%.*s", (int)strnlen(p, n), p);
}

/* Returns the length written, -ENOSPC (truncated, NUL-terminated if len > 0),
 * -EAFNOSUPPORT, or -EINVAL (a or buf NULL). */
int cr_addr_format(const cr_addr *a, char *buf, size_t len)
{
	char tmp[CR_ADDR_STRLEN];
	int saved = errno;
	int n;

	if (!a || (!buf && len))
		return -EINVAL;
	switch (a->u.sa.sa_family) {
	case AF_INET:
		n = format_in4(&a->u.in, tmp);
		break;
	case AF_INET6:
		n = format_in6(&a->u.in6, tmp);
		break;
	case AF_UNIX:
		n = format_un(a, tmp);
		break;
	default:
		return -EAFNOSUPPORT;
	}
	errno = saved; /* inet_ntop and if_indextoname may have set it */
	if (n < 0)
		return n;
	if (len == 0)
		return -ENOSPC;
	if ((size_t)n >= len) {
		memcpy(buf, tmp, len - 1);
		buf[len - 1] = '\0';
		return -ENOSPC;
	}
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

/* ---- ports and socket addresses -------------------------------------------------- */

/* Returns the port, or -1 (not an IP address, or a NULL). */
int cr_addr_port(const cr_addr *a)
{
	if (!a)
		return -1;
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in.sin_port);
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.in6.sin6_port);
	return -1;
}

/* Returns 0, -EAFNOSUPPORT (not an IP address), or -EINVAL (a NULL). */
int cr_addr_set_port(cr_addr *a, uint16_t port)
{
	if (!a)
		return -EINVAL;
	if (a->u.sa.sa_family == AF_INET)
		a->u.in.sin_port = htons(port);
	else if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
	else
		return -EAFNOSUPPORT;
	return 0;
}

/* Returns 0, -errno of getsockname / getpeername, or -EINVAL (out NULL). */
int cr_socket_addr(int fd, int peer, cr_addr *out)
{
	int saved = errno;
	socklen_t len = sizeof(out->u);
	cr_addr a;
	int rc;

	if (!out)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	rc = peer ? getpeername(fd, &a.u.sa, &len) : getsockname(fd, &a.u.sa, &len);
	if (rc < 0) {
		rc = -errno;
		errno = saved;
		return rc;
	}
	a.len = len < sizeof(a.u) ? len : (socklen_t)sizeof(a.u);
	*out = a;
	return 0;
}
