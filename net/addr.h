/* SPDX-License-Identifier: MIT */
/* Private to net/: the decimal port parser that cr_addr_parse and cr_addr_resolve share. */
#ifndef CORING_NET_ADDR_H
#define CORING_NET_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* Parses the n characters at s as a decimal port 0..65535 (digits only, at
 * least one, no sign) into *port.  Returns 0, or -EINVAL (*port untouched). */
int cr__addr_parse_port(const char *s, size_t n, uint16_t *port);

#endif
