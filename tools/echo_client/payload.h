/* SPDX-License-Identifier: MIT */
/* Load-mode message contents: unique per (connection, message), made and checked anywhere. */
#ifndef EC_PAYLOAD_H
#define EC_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Byte i of message `seq` of connection `conn` (len bytes long) is a pure
 * function of (conn, seq, len, i), so the sender can produce any piece of a
 * message and the receiver can check any piece it gets back without keeping
 * a copy.  A message of at least EC_PAYLOAD_HEADER bytes starts with a
 * readable header: the 4 bytes "cre1", then the connection number, the
 * message number (low 32 bits) and the length, each 4 bytes little-endian;
 * the rest (and all of a shorter message) is pseudo-random: word w (bytes
 * 8w..8w+7) is x ^ (x >> 32) with x = (seed + w) * mult, where seed and the
 * odd mult are splitmix64 hashes of (conn, seq).  Bytes echoed to the wrong connection or in the
 * wrong order therefore show up as corrupted, and the header of misplaced
 * data tells where it came from.
 */

/*
 * Line mode (--lines, for servers of a line protocol): every message ends with
 * its only newline: a generated '\n' byte becomes ' ' and the last byte of the
 * message is '\n'.  The header's bytes go through the same rule, so a header
 * holding a 0x0a byte is not readable as one then (only diagnostics use it).
 */

/* Turns line mode on (1) or off (0) for every message made or checked from
 * now on; set it before any connection starts.  Returns nothing. */
void ec_payload_set_lines(int on);

/* Length of the header at the start of messages at least that long. */
#define EC_PAYLOAD_HEADER 16

/* The identity of a message. */
typedef struct ec_msg_id {
	uint32_t conn; /* connection number */
	uint64_t seq;  /* message number within the connection */
	uint32_t len;  /* total length of the message */
} ec_msg_id;

/* Writes bytes [off, off + n) of message m into buf.  Returns nothing. */
void ec_payload_fill(const ec_msg_id *m, uint32_t off, void *buf, size_t n);

/* Compares data (n bytes) with bytes [off, off + n) of message m.  Returns
 * the number of bytes that differ; *first_bad (if not NULL and some differ)
 * gets the index in data of the first one. */
size_t ec_payload_verify(const ec_msg_id *m, uint32_t off, const void *data, size_t n,
			 size_t *first_bad);

/* Returns the byte at offset off of message m. */
uint8_t ec_payload_byte(const ec_msg_id *m, uint32_t off);

/* Reads a message header from data (n bytes, the start of a message).
 * Returns 1 and fills *out (seq: low 32 bits only) if data holds a valid
 * header, else 0. */
int ec_payload_header(const void *data, size_t n, ec_msg_id *out);

#endif
