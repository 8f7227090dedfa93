/* SPDX-License-Identifier: MIT */
/* Python's repr(bytes), byte for byte (CPython Objects/bytesobject.c, PyBytes_Repr). */
#include "pyrepr.h"

#include <string.h>

size_t ec_pyrepr(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	char quote = '\'';
	if (len > 0 && memchr(p, '\'', len) && !memchr(p, '"', len))
		quote = '"';
	size_t n = 0;
	out[n++] = 'b';
	out[n++] = quote;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c == (unsigned char)quote || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\t') {
			out[n++] = '\\';
			out[n++] = 't';
		} else if (c == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (c == '\r') {
			out[n++] = '\\';
			out[n++] = 'r';
		} else if (c < ' ' || c >= 0x7f) {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = quote;
	out[n] = '\0';
	return n;
}
