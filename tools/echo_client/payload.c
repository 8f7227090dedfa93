/* SPDX-License-Identifier: MIT */
/* Message contents: a 16-byte header, then pseudo-random words seeded by (connection, message). */
#include "payload.h"

#include <string.h>

static const uint8_t magic[4] = {'c', 'r', 'e', '1'};

static int lines; /* 1 = line mode (ec_payload_set_lines) */

void ec_payload_set_lines(int on)
{
	lines = on;
}

/* Applies line mode's rule to bytes [off, off + n) of message m, in buf.  Returns nothing. */
static void make_lines(const ec_msg_id *m, uint32_t off, uint8_t *buf, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (buf[j] == '\n')
			buf[j] = ' ';
	if (n > 0 && (uint64_t)off + n == m->len)
		buf[n - 1] = '\n';
}

/* The splitmix64 finaliser.  Returns the mixed value. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* What generates one message: its seed and header. */
typedef struct gen {
	uint64_t seed;	  /* seed of the pseudo-random words */
	uint64_t mult;	  /* odd multiplier of the pseudo-random words */
	int has_header;	  /* 1 if the message starts with a header */
	uint8_t head[16]; /* the header bytes */
} gen;

/* Writes v little-endian into p.  Returns nothing. */
static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Reads a little-endian 32-bit value.  Returns it. */
static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Prepares the generator of message m.  Returns nothing. */
static void gen_init(gen *g, const ec_msg_id *m)
{
	g->seed = mix(mix((uint64_t)m->conn + 0x9e3779b97f4a7c15ull) ^ m->seq);
	g->mult = mix(g->seed) | 1;
	g->has_header = m->len >= EC_PAYLOAD_HEADER;
	if (g->has_header) {
		memcpy(g->head, magic, 4);
		put_le32(g->head + 4, m->conn);
		put_le32(g->head + 8, (uint32_t)m->seq);
		put_le32(g->head + 12, m->len);
	}
}

/* Returns the 8 bytes of word w of the message (bytes 8w .. 8w+7), in
 * memory order. */
static uint64_t word(const gen *g, uint64_t w)
{
	uint64_t x;
	if (w < 2 && g->has_header) {
		memcpy(&x, g->head + 8 * w, 8);
		return x;
	}
	/* One multiply by an odd factor of this message's own, and a shift:
	 * different messages use different factors, so their words are not
	 * related by a constant (as with one common factor). */
	x = (g->seed + w) * g->mult;
	return x ^ (x >> 32);
}

/* Copies bytes [b, b + take) of word w of the message to out.  Returns nothing. */
static void part_word(const gen *g, uint64_t w, unsigned b, size_t take, uint8_t *out)
{
	uint64_t x = word(g, w);
	uint8_t bytes[8];
	memcpy(bytes, &x, 8);
	memcpy(out, bytes + b, take);
}

void ec_payload_fill(const ec_msg_id *m, uint32_t off, void *buf, size_t n)
{
	gen g;
	uint8_t *out = buf;
	uint64_t pos = off;
	size_t total = n;
	gen_init(&g, m);
	if ((pos & 7) && n > 0) {
		size_t take = 8 - (pos & 7) < n ? 8 - (pos & 7) : n;
		part_word(&g, pos >> 3, (unsigned)(pos & 7), take, out);
		out += take;
		pos += take;
		n -= take;
	}
	uint64_t w = pos >> 3;
	for (; n >= 8; n -= 8, out += 8, w++) {
		uint64_t x = word(&g, w);
		memcpy(out, &x, 8);
	}
	if (n > 0)
		part_word(&g, w, 0, n, out);
	if (lines)
		make_lines(m, off, buf, total);
}

/* ec_payload_verify in line mode: compares with what ec_payload_fill makes,
 * a piece at a time.  Returns the number of bytes that differ. */
static size_t verify_lines(const ec_msg_id *m, uint32_t off, const uint8_t *in, size_t n,
			   size_t *first_bad)
{
	uint8_t want[256];
	size_t bad = 0;
	for (size_t i = 0; i < n; i += sizeof(want)) {
		size_t take = n - i < sizeof(want) ? n - i : sizeof(want);
		ec_payload_fill(m, off + (uint32_t)i, want, take);
		for (size_t j = 0; j < take; j++) {
			if (in[i + j] != want[j]) {
				if (bad == 0 && first_bad)
					*first_bad = i + j;
				bad++;
			}
		}
	}
	return bad;
}

/* Counts the bytes of data[0:take] that differ from bytes [b, b + take) of
 * word w, noting the first (at index base + j) in *first.  Returns the count. */
static size_t check_word(const gen *g, uint64_t w, unsigned b, const uint8_t *data, size_t take,
			 size_t base, size_t *first, size_t bad)
{
	uint64_t x = word(g, w);
	uint8_t bytes[8];
	size_t n = 0;
	memcpy(bytes, &x, 8);
	for (size_t j = 0; j < take; j++) {
		if (data[j] != bytes[b + j]) {
			if (bad + n == 0 && first)
				*first = base + j;
			n++;
		}
	}
	return n;
}

size_t ec_payload_verify(const ec_msg_id *m, uint32_t off, const void *data, size_t n,
			 size_t *first_bad)
{
	gen g;
	const uint8_t *in = data;
	uint64_t pos = off;
	size_t i = 0, bad = 0;
	if (lines)
		return verify_lines(m, off, in, n, first_bad);
	gen_init(&g, m);
	if ((pos & 7) && n > 0) {
		size_t take = 8 - (pos & 7) < n ? 8 - (pos & 7) : n;
		bad += check_word(&g, pos >> 3, (unsigned)(pos & 7), in, take, 0, first_bad, bad);
		i = take;
		pos += take;
	}
	uint64_t w = pos >> 3;
	for (; n - i >= 8; i += 8, w++) {
		uint64_t x = word(&g, w), y;
		memcpy(&y, in + i, 8);
		if (x != y)
			bad += check_word(&g, w, 0, in + i, 8, i, first_bad, bad);
	}
	if (i < n)
		bad += check_word(&g, w, 0, in + i, n - i, i, first_bad, bad);
	return bad;
}

uint8_t ec_payload_byte(const ec_msg_id *m, uint32_t off)
{
	uint8_t b;
	ec_payload_fill(m, off, &b, 1);
	return b;
}

int ec_payload_header(const void *data, size_t n, ec_msg_id *out)
{
	const uint8_t *p = data;
	if (n < EC_PAYLOAD_HEADER || memcmp(p, magic, 4) != 0)
		return 0;
	out->conn = get_le32(p + 4);
	out->seq = get_le32(p + 8);
	out->len = get_le32(p + 12);
	return out->len >= EC_PAYLOAD_HEADER;
}
