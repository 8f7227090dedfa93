/* SPDX-License-Identifier: MIT */
/* Formats bytes exactly as Python's repr(bytes) does (b'...' or b"..."), for asyncio-style logs. */
#ifndef EC_PYREPR_H
#define EC_PYREPR_H

#include <stddef.h>

/* Longest repr of len bytes, including the terminating NUL. */
#define EC_PYREPR_MAX(len) (4 * (len) + 4)

/* Writes repr(bytes(data[0:len])) as CPython formats it into out, which
 * must hold EC_PYREPR_MAX(len) bytes: single quotes unless the data holds a
 * ' and no ", backslash escapes for the quote, \\, \t, \n, \r, and \xhh
 * (lowercase) for other bytes below 0x20 or from 0x7f.  Returns the length
 * written, without the NUL. */
size_t ec_pyrepr(const void *data, size_t len, char *out);

#endif
