/* SPDX-License-Identifier: MIT */
/* test_net_addr: cr_addr_parse / cr_addr_format / ports / cr_socket_addr on tables of valid and
 * malformed text, round trips, random input, -ENOSPC, and cr_addr_resolve of names. */
#include <coring.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <stdint.h>

#include "check.h"

#define UN_OFF offsetof(struct sockaddr_un, sun_path)
#define UN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* ---- helpers ---------------------------------------------------------------------- */

/* Fails unless a and b hold the same address (family, length, bytes in use). */
static void check_same_addr(const cr_addr *a, const cr_addr *b, const char *what)
{
	CHECK_MSG(a->len == b->len, "%s: len %u vs %u", what, (unsigned)a->len, (unsigned)b->len);
	CHECK_MSG(a->len <= sizeof(a->u), "%s: len %u too large", what, (unsigned)a->len);
	CHECK_MSG(memcmp(&a->u, &b->u, a->len) == 0, "%s: bytes differ", what);
}

/* Formats a, failing unless it fits; returns buf. */
static const char *fmt(const cr_addr *a, char *buf)
{
	int n = cr_addr_format(a, buf, CR_ADDR_STRLEN);
	CHECK_MSG(n > 0 && n < CR_ADDR_STRLEN, "cr_addr_format returned %d", n);
	CHECK_EQ_U64(strlen(buf), (uint64_t)n);
	return buf;
}

/* Parses text, formats it, parses the result again: both parses must agree and
 * formatting the second gives the same text.  Returns nothing. */
static void check_round_trip(const char *text, uint16_t port)
{
	cr_addr a, b;
	char s1[CR_ADDR_STRLEN], s2[CR_ADDR_STRLEN];

	CHECK_MSG(cr_addr_parse(text, port, &a) == 0, "parse \"%s\"", text);
	fmt(&a, s1);
	CHECK_MSG(cr_addr_parse(s1, (uint16_t)(port + 1), &b) == 0, "re-parse \"%s\" (from \"%s\")",
		  s1, text);
	check_same_addr(&a, &b, s1);
	CHECK_EQ_STR(fmt(&b, s2), s1);
}

/* Formats a into every buffer size from 0 to its length + 1: each too small
 * gives -ENOSPC and the NUL-terminated prefix, and nothing past len is written. */
static void check_enospc(const cr_addr *a)
{
	char full[CR_ADDR_STRLEN], buf[CR_ADDR_STRLEN + 8];
	int n = (int)strlen(fmt(a, full));

	CHECK_EQ_INT(cr_addr_format(a, NULL, 0), -ENOSPC);
	for (int len = 0; len <= n + 1; len++) {
		memset(buf, 'Z', sizeof(buf));
		int r = cr_addr_format(a, buf, (size_t)len);
		if (len > n) {
			CHECK_EQ_INT(r, n);
			CHECK_EQ_STR(buf, full);
		} else {
			CHECK_EQ_INT(r, -ENOSPC);
			if (len > 0) {
				CHECK_EQ_U64(strlen(buf), (uint64_t)(len - 1));
				CHECK(memcmp(buf, full, (size_t)len - 1) == 0);
			}
		}
		CHECK_MSG(buf[len] == 'Z', "wrote past %d bytes", len);
	}
}

/* ---- tables --------------------------------------------------------------------------- */

/* Valid text, the default port passed, and what cr_addr_format gives back. */
static const struct {
	const char *text;
	uint16_t port;
	int family;
	const char *want;
} valid[] = {
	{"127.0.0.1:7", 0, AF_INET, "127.0.0.1:7"},
	{"127.0.0.1", 9, AF_INET, "127.0.0.1:9"},
	{"0.0.0.0:0", 5, AF_INET, "0.0.0.0:0"},
	{"255.255.255.255:65535", 0, AF_INET, "255.255.255.255:65535"},
	{"10.1.2.3:00080", 0, AF_INET, "10.1.2.3:80"},
	{"192.168.0.1:0000000000000000000000000001", 0, AF_INET, "192.168.0.1:1"},
	{"[::1]:7", 0, AF_INET6, "[::1]:7"},
	{"[::1]", 9, AF_INET6, "[::1]:9"},
	{"::1", 9, AF_INET6, "[::1]:9"},
	{"::", 5, AF_INET6, "[::]:5"},
	{"[::]:0", 5, AF_INET6, "[::]:0"},
	{"[2001:db8::1]:443", 0, AF_INET6, "[2001:db8::1]:443"},
	{"2001:0DB8:0000:0000:0000:0000:0000:0001", 1, AF_INET6, "[2001:db8::1]:1"},
	{"[::ffff:1.2.3.4]:1", 0, AF_INET6, "[::ffff:1.2.3.4]:1"},
	{"[fe80::1%4000000000]:7", 0, AF_INET6, "[fe80::1%4000000000]:7"},
	{"fe80::1%4000000001", 7, AF_INET6, "[fe80::1%4000000001]:7"},
	{"[fe80::1%0]:7", 0, AF_INET6, "[fe80::1]:7"},
	{"unix:/tmp/x.sock", 0, AF_UNIX, "unix:/tmp/x.sock"},
	{"/tmp/x.sock", 0, AF_UNIX, "unix:/tmp/x.sock"},
	{"./rel.sock", 0, AF_UNIX, "unix:./rel.sock"},
	{"unix:rel.sock", 0, AF_UNIX, "unix:rel.sock"},
	{"unix:@not-abstract", 0, AF_UNIX, "unix:@not-abstract"},
	{"unix:a:b[c]%d", 0, AF_UNIX, "unix:a:b[c]%d"},
	{"@coring", 0, AF_UNIX, "@coring"},
	{"@with space:and:colons", 0, AF_UNIX, "@with space:and:colons"},
};

/* Text that must give -EINVAL. */
static const char *const malformed[] = {
	"",
	":",
	":80",
	"127.0.0.1:",
	"127.0.0.1:65536",
	"127.0.0.1:99999999999999999999999",
	"127.0.0.1:-1",
	"127.0.0.1:+1",
	"127.0.0.1: 1",
	"127.0.0.1:1 ",
	"127.0.0.1:0x10",
	"127.0.0.1:1e3",
	"127.0.0.1:http",
	"256.0.0.1",
	"1.2.3",
	"1.2.3.4.5",
	"01.2.3.4",
	"0x7f.0.0.1",
	" 1.2.3.4",
	"1.2.3.4 ",
	"1.2.3.4\n",
	"1.2.3.4:80:90",
	"localhost",
	"localhost:80",
	"example.com",
	"[::1",
	"[::1]x",
	"[::1]:",
	"[::1]:x",
	"[::1]:65536",
	"[::1]]:7",
	"[[::1]]:7",
	"[]",
	"[]:80",
	"[127.0.0.1]:80",
	"[localhost]:80",
	"::1:",
	":::",
	"::1::2",
	"12345::",
	"[::1%]:7",
	"[::1%]",
	"fe80::1%",
	"[fe80::1%no-such-if-x]:7",
	"[fe80::1%4294967296]:7",
	"[fe80::1%99999999999999999999]:7",
	"[fe80::1%eth0%eth0]:7",
	"[fe80::1%waytoolonginterfacename]:7",
	"fe80::1%lo:80",
	"unix:",
	"@",
	"\x01",
	"\xff\xfe",
	"-",
	"%",
	"]",
	"]:80",
};

/* ---- cases ------------------------------------------------------------------------- */

static void case_valid(void)
{
	char buf[CR_ADDR_STRLEN];
	cr_addr a;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		memset(&a, 0xab, sizeof(a));
		CHECK_MSG(cr_addr_parse(valid[i].text, valid[i].port, &a) == 0, "parse \"%s\"",
			  valid[i].text);
		CHECK_MSG(a.u.sa.sa_family == valid[i].family, "\"%s\": family %d", valid[i].text,
			  a.u.sa.sa_family);
		CHECK_EQ_STR(fmt(&a, buf), valid[i].want);
		check_round_trip(valid[i].text, valid[i].port);
		check_enospc(&a);
	}
}

static void case_malformed(void)
{
	cr_addr a, pattern;
	char buf[CR_ADDR_STRLEN];

	memset(&pattern, 0x5c, sizeof(pattern));
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		a = pattern;
		errno = 4242;
		int r = cr_addr_parse(malformed[i], 7, &a);
		if (r == 0)
			fmt(&a, buf);
		CHECK_MSG(r == -EINVAL, "\"%s\": returned %d (%s)", malformed[i], r,
			  r == 0 ? buf : "");
		CHECK_EQ_INT(errno, 4242);
		CHECK_MSG(memcmp(&a, &pattern, sizeof(a)) == 0, "\"%s\" wrote to out",
			  malformed[i]);
	}
	CHECK_EQ_INT(cr_addr_parse(NULL, 7, &a), -EINVAL);
	CHECK_EQ_INT(cr_addr_parse("127.0.0.1", 7, NULL), -EINVAL);
}

/* Unix paths and abstract names at and over the length limit; a long text. */
static void case_lengths(void)
{
	char text[4096], buf[CR_ADDR_STRLEN], want[CR_ADDR_STRLEN];
	cr_addr a;

	/* "/" followed by 'p's: UN_PATH_MAX characters fit, one more does not. */
	memset(text, 0, sizeof(text));
	text[0] = '/';
	memset(text + 1, 'p', UN_PATH_MAX - 1);
	CHECK_EQ_INT(cr_addr_parse(text, 0, &a), 0);
	CHECK_EQ_U64(a.len, UN_OFF + UN_PATH_MAX + 1);
	memcpy(want, "unix:", 5);
	memcpy(want + 5, text, UN_PATH_MAX + 1);
	CHECK_EQ_STR(fmt(&a, buf), want);
	check_round_trip(text, 0);
	check_enospc(&a);
	text[UN_PATH_MAX] = 'p';
	CHECK_EQ_INT(cr_addr_parse(text, 0, &a), -EINVAL);

	/* "unix:" and a path of UN_PATH_MAX characters. */
	memset(text, 0, sizeof(text));
	memcpy(text, "unix:", 5);
	memset(text + 5, 'q', UN_PATH_MAX);
	CHECK_EQ_INT(cr_addr_parse(text, 0, &a), 0);
	CHECK_EQ_STR(fmt(&a, buf), text);
	text[5 + UN_PATH_MAX] = 'q';
	CHECK_EQ_INT(cr_addr_parse(text, 0, &a), -EINVAL);

	/* "@" and a name of UN_PATH_MAX characters: the whole sun_path. */
	memset(text, 0, sizeof(text));
	text[0] = '@';
	memset(text + 1, 'n', UN_PATH_MAX);
	CHECK_EQ_INT(cr_addr_parse(text, 0, &a), 0);
	CHECK_EQ_U64(a.len, UN_OFF + 1 + UN_PATH_MAX);
	CHECK_EQ_U64(a.len, sizeof(struct sockaddr_un));
	CHECK_EQ_INT(a.u.un.sun_path[0], 0);
	CHECK_EQ_STR(fmt(&a, buf), text);
	check_round_trip(text, 0);
	text[1 + UN_PATH_MAX] = 'n';
	CHECK_EQ_INT(cr_addr_parse(text, 0, &a), -EINVAL);

	/* Abstract name length excludes any NUL: "@ab" is offsetof + 3. */
	CHECK_EQ_INT(cr_addr_parse("@ab", 0, &a), 0);
	CHECK_EQ_U64(a.len, UN_OFF + 3);
	CHECK(memcmp(a.u.un.sun_path, "\0ab", 3) == 0);
	CHECK_EQ_INT(cr_addr_parse("/ab", 0, &a), 0);
	CHECK_EQ_U64(a.len, UN_OFF + 4);

	/* Long strings of every kind end in -EINVAL, not in a crash. */
	static const char fill[] = "0:1[]%.@/a";
	for (size_t f = 0; f < sizeof(fill) - 1; f++) {
		memset(text, fill[f], sizeof(text) - 1);
		text[sizeof(text) - 1] = '\0';
		CHECK_EQ_INT(cr_addr_parse(text, 0, &a), -EINVAL);
		text[0] = '[';
		CHECK_EQ_INT(cr_addr_parse(text, 0, &a), -EINVAL);
		/* (a port of 4087 zeros is 0: leading zeros are allowed) */
		memcpy(text, "[::1]:", 6);
		CHECK_EQ_INT(cr_addr_parse(text, 0, &a), fill[f] == '0' ? 0 : -EINVAL);
		memcpy(text, "1.2.3.4:", 8);
		CHECK_EQ_INT(cr_addr_parse(text, 0, &a), fill[f] == '0' ? 0 : -EINVAL);
		memcpy(text, "[::1%", 5);
		CHECK_EQ_INT(cr_addr_parse(text, 0, &a), -EINVAL);
	}
}

/* Interface names as IPv6 zones, by name and by number ("lo" is index 1 on
 * Linux, but ask the system rather than assume). */
static void case_scope(void)
{
	char want[CR_ADDR_STRLEN], text[64], buf[CR_ADDR_STRLEN], name[IF_NAMESIZE];
	unsigned idx = if_nametoindex("lo");
	cr_addr a;

	if (idx == 0) {
		printf("  (no interface \"lo\": zone names not tested)\n");
		return;
	}
	CHECK_EQ_INT(cr_addr_parse("[fe80::1%lo]:7", 0, &a), 0);
	CHECK_EQ_U64(a.u.in6.sin6_scope_id, idx);
	CHECK(if_indextoname(idx, name) != NULL);
	snprintf(want, sizeof(want), "[fe80::1%%%s]:7", name);
	CHECK_EQ_STR(fmt(&a, buf), want);
	check_round_trip("[fe80::1%lo]:7", 0);
	check_enospc(&a);

	snprintf(text, sizeof(text), "fe80::1%%%u", idx);
	CHECK_EQ_INT(cr_addr_parse(text, 7, &a), 0);
	CHECK_EQ_U64(a.u.in6.sin6_scope_id, idx);
	CHECK_EQ_STR(fmt(&a, buf), want);
	check_round_trip(text, 7);
}

/* Formatting addresses parse cannot produce: unnamed, odd lengths, other families. */
static void case_format_edges(void)
{
	char buf[CR_ADDR_STRLEN], want[CR_ADDR_STRLEN];
	cr_addr a;

	memset(&a, 0, sizeof(a));
	CHECK_EQ_INT(cr_addr_format(&a, buf, sizeof(buf)), -EAFNOSUPPORT);
	a.u.sa.sa_family = AF_PACKET;
	CHECK_EQ_INT(cr_addr_format(&a, buf, sizeof(buf)), -EAFNOSUPPORT);
	CHECK_EQ_INT(cr_addr_format(NULL, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ_INT(cr_addr_port(&a), -1);
	CHECK_EQ_INT(cr_addr_set_port(&a, 1), -EAFNOSUPPORT);

	/* Unnamed Unix socket: only the family (or less). */
	a.u.un.sun_family = AF_UNIX;
	a.len = sizeof(sa_family_t);
	CHECK_EQ_STR(fmt(&a, buf), "unix:");
	a.len = 0;
	CHECK_EQ_STR(fmt(&a, buf), "unix:");
	CHECK_EQ_INT(cr_addr_parse(buf, 0, &a), -EINVAL);

	/* A path filling sun_path without a NUL, and a length past the struct. */
	memset(&a, 0, sizeof(a));
	a.u.un.sun_family = AF_UNIX;
	memset(a.u.un.sun_path, 'x', sizeof(a.u.un.sun_path));
	a.len = 0xffff;
	snprintf(want, sizeof(want), "unix:%.*s", (int)sizeof(a.u.un.sun_path), a.u.un.sun_path);
	CHECK_EQ_STR(fmt(&a, buf), want);
	a.len = (socklen_t)(UN_OFF + 3);
	CHECK_EQ_STR(fmt(&a, buf), "unix:xxx");

	/* An abstract name with NUL bytes inside: shown as '@'. */
	memset(&a, 0, sizeof(a));
	a.u.un.sun_family = AF_UNIX;
	memcpy(a.u.un.sun_path, "\0a\0b", 4);
	a.len = (socklen_t)(UN_OFF + 4);
	CHECK_EQ_STR(fmt(&a, buf), "@a@b");
	a.len = (socklen_t)(UN_OFF + 1);
	CHECK_EQ_STR(fmt(&a, buf), "@");
	CHECK_EQ_INT(cr_addr_port(&a), -1);
	CHECK_EQ_INT(cr_addr_set_port(&a, 1), -EAFNOSUPPORT);

	/* buf NULL with room claimed is an error, not a crash. */
	CHECK_EQ_INT(cr_addr_format(&a, NULL, 10), -EINVAL);
}

static void case_ports(void)
{
	char buf[CR_ADDR_STRLEN];
	cr_addr a;

	CHECK_EQ_INT(cr_addr_parse("1.2.3.4:80", 0, &a), 0);
	CHECK_EQ_INT(cr_addr_port(&a), 80);
	CHECK_EQ_INT(cr_addr_set_port(&a, 65535), 0);
	CHECK_EQ_INT(cr_addr_port(&a), 65535);
	CHECK_EQ_STR(fmt(&a, buf), "1.2.3.4:65535");
	CHECK_EQ_INT(cr_addr_parse("[::1]:80", 0, &a), 0);
	CHECK_EQ_INT(cr_addr_port(&a), 80);
	CHECK_EQ_INT(cr_addr_set_port(&a, 0), 0);
	CHECK_EQ_INT(cr_addr_port(&a), 0);
	CHECK_EQ_STR(fmt(&a, buf), "[::1]:0");
	CHECK_EQ_INT(cr_addr_parse("::1", 65535, &a), 0);
	CHECK_EQ_INT(cr_addr_port(&a), 65535);
	CHECK_EQ_INT(cr_addr_port(NULL), -1);
	CHECK_EQ_INT(cr_addr_set_port(NULL, 1), -EINVAL);
}

/* Binds a new Unix stream socket to what text parses to (*a) and checks that cr_socket_addr
 * (*b) reports the same address.  Returns the socket, still open. */
static int bind_unix_checked(const char *text, cr_addr *a, cr_addr *b)
{
	CHECK_EQ_INT(cr_addr_parse(text, 0, a), 0);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_OK(fd);
	CHECK_EQ_INT(bind(fd, &a->u.sa, a->len), 0);
	CHECK_EQ_INT(cr_socket_addr(fd, 0, b), 0);
	check_same_addr(a, b, text);
	return fd;
}

/* getsockname / getpeername of real sockets agree with what parse builds. */
static void case_socket_addr(void)
{
	char buf[CR_ADDR_STRLEN], text[64];
	cr_addr a, b;
	int fd, sv[2];

	/* A UDP socket bound to 127.0.0.1:0: a port was chosen. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_OK(fd);
	CHECK_EQ_INT(cr_addr_parse("127.0.0.1:0", 0, &a), 0);
	CHECK_EQ_INT(bind(fd, &a.u.sa, a.len), 0);
	CHECK_EQ_INT(cr_socket_addr(fd, 0, &b), 0);
	CHECK_EQ_INT(b.u.sa.sa_family, AF_INET);
	CHECK_EQ_U64(b.len, sizeof(struct sockaddr_in));
	CHECK_GT_INT(cr_addr_port(&b), 0);
	snprintf(text, sizeof(text), "127.0.0.1:%d", cr_addr_port(&b));
	CHECK_EQ_STR(fmt(&b, buf), text);
	errno = 4242;
	CHECK_EQ_INT(cr_socket_addr(fd, 1, &b), -ENOTCONN);
	CHECK_EQ_INT(errno, 4242);
	CHECK_EQ_INT(close(fd), 0);
	CHECK_EQ_INT(cr_socket_addr(fd, 0, &b), -EBADF);
	CHECK_EQ_INT(errno, 4242);
	CHECK_EQ_INT(cr_socket_addr(0, 0, NULL), -EINVAL);

	/* An abstract Unix socket: the kernel reports the same length and name. */
	snprintf(text, sizeof(text), "@coring-test-net-addr-%d", (int)getpid());
	fd = bind_unix_checked(text, &a, &b);
	CHECK_EQ_STR(fmt(&b, buf), text);
	CHECK_EQ_INT(close(fd), 0);

	/* A pathname Unix socket in a fresh directory. */
	char dir[] = "/tmp/coring-net-addr-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	snprintf(text, sizeof(text), "%s/s", dir);
	fd = bind_unix_checked(text, &a, &b);
	CHECK_EQ_INT(close(fd), 0);
	CHECK_EQ_INT(unlink(text), 0);
	CHECK_EQ_INT(rmdir(dir), 0);

	/* A socketpair: unnamed on both ends. */
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ_INT(cr_socket_addr(sv[0], 0, &b), 0);
	CHECK_EQ_STR(fmt(&b, buf), "unix:");
	CHECK_EQ_INT(cr_socket_addr(sv[0], 1, &b), 0);
	CHECK_EQ_STR(fmt(&b, buf), "unix:");
	CHECK_EQ_INT(close(sv[0]), 0);
	CHECK_EQ_INT(close(sv[1]), 0);
}

/* ---- random input ------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: deterministic pseudo-random numbers. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Fills text (room for 200 + NUL) with one random case: raw bytes, characters
 * addresses are made of, or a mutation of a valid address.  Returns 1 if it
 * holds a byte >= 0x80 (then no host name can be read from it). */
static int random_text(char *text)
{
	static const char alpha[] = "0123456789abcdefABCDEF:.[]%/@unix-lo ";
	size_t n = (size_t)(rnd() % 141), i;
	int high = 0;

	switch (rnd() % 3) {
	case 0:
		for (i = 0; i < n; i++)
			text[i] = (char)(1 + rnd() % 255);
		text[n] = '\0';
		break;
	case 1:
		for (i = 0; i < n; i++)
			text[i] = alpha[rnd() % (sizeof(alpha) - 1)];
		text[n] = '\0';
		break;
	default:
		snprintf(text, 201, "%s", valid[rnd() % (sizeof(valid) / sizeof(valid[0]))].text);
		for (int k = (int)(1 + rnd() % 3); k > 0; k--) {
			size_t len = strlen(text), at = len ? (size_t)(rnd() % len) : 0;
			char c = (char)(rnd() % 2 ? alpha[rnd() % (sizeof(alpha) - 1)]
						  : (char)(1 + rnd() % 255));
			switch (rnd() % 3) {
			case 0: /* replace */
				if (len)
					text[at] = c;
				break;
			case 1: /* insert */
				if (len < 200) {
					memmove(text + at + 1, text + at, len - at + 1);
					text[at] = c;
				}
				break;
			default: /* delete */
				if (len)
					memmove(text + at, text + at + 1, len - at);
				break;
			}
		}
		break;
	}
	for (i = 0; text[i]; i++)
		high |= (unsigned char)text[i] >= 0x80;
	return high;
}

/* Random text through parse, format and (without a lookup) resolve.  Returns 0. */
static int case_random(void *arg)
{
	char text[201], buf[CR_ADDR_STRLEN], small[8];
	cr_addr a, b, out[4];
	int ok = 0;

	(void)arg;
	for (int i = 0; i < 5000; i++) {
		int high = random_text(text);
		int r = cr_addr_parse(text, (uint16_t)i, &a);
		CHECK_MSG(r == 0 || r == -EINVAL, "random case %d: returned %d", i, r);
		if (high) {
			/* Not a host name: resolve gives what parse gave, no lookup. */
			int n = cr_addr_resolve(text, (uint16_t)i, out, 4);
			CHECK_MSG(n == (r == 0 ? 1 : -EINVAL), "random case %d: resolve %d", i, n);
			if (n == 1)
				check_same_addr(&out[0], &a, "resolve of random text");
		}
		if (r != 0)
			continue;
		ok++;
		fmt(&a, buf);
		CHECK_MSG(cr_addr_parse(buf, (uint16_t)(i + 1), &b) == 0,
			  "random case %d: \"%s\" does not parse back", i, buf);
		check_same_addr(&a, &b, buf);
		int s = cr_addr_format(&a, small, sizeof(small));
		CHECK(s == -ENOSPC || (s >= 0 && (size_t)s < sizeof(small)));
		CHECK(strlen(small) < sizeof(small));
	}
	printf("  5000 random texts, %d of them valid addresses\n", ok);
	CHECK_GT_INT(ok, 100);
	return 0;
}

/* ---- resolve ------------------------------------------------------------------------- */

static int is_loopback(const cr_addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return (ntohl(a->u.in.sin_addr.s_addr) >> 24) == 127;
	if (a->u.sa.sa_family == AF_INET6)
		return memcmp(&a->u.in6.sin6_addr, &in6addr_loopback, sizeof(struct in6_addr)) == 0;
	return 0;
}

/* Resolves text expecting loopback addresses on port; returns how many, or
 * 0 if the resolver knows no such name (the caller skips that part). */
static int check_localhost(const char *text, uint16_t dflt, int port)
{
	char buf[CR_ADDR_STRLEN];
	cr_addr out[8];
	int n = cr_addr_resolve(text, dflt, out, 8);

	if (n == -ENOENT || n == -EAGAIN) {
		printf("  SKIP part: the resolver does not know \"%s\" (%d)\n", text, n);
		return 0;
	}
	CHECK_MSG(n >= 1 && n <= 8, "resolve \"%s\": %d", text, n);
	for (int i = 0; i < n; i++) {
		CHECK_MSG(is_loopback(&out[i]), "\"%s\" -> %s is not loopback", text,
			  fmt(&out[i], buf));
		CHECK_EQ_INT(cr_addr_port(&out[i]), port);
		for (int j = 0; j < i; j++)
			CHECK_MSG(out[j].len != out[i].len ||
					  memcmp(&out[j].u, &out[i].u, out[i].len) != 0,
				  "\"%s\": %s twice", text, fmt(&out[i], buf));
	}
	printf("  %s ->", text);
	for (int i = 0; i < n; i++)
		printf(" %s", fmt(&out[i], buf));
	printf("\n");
	return n;
}

static int case_resolve(void *arg)
{
	static const char *const bad[] = {
		"localhost:",
		"localhost:99999",
		"localhost:-1",
		"localhost:http",
		"local host",
		"-",
		"-a.example",
		"a-.example",
		"a.-b",
		"a..b",
		".a",
		"a.b..",
		"1.2.3",
		"1.2.3.",
		"0x7f.1",
		"host.0x7F",
		"127.1",
		"[localhost",
		"[localhost]x",
		"[localhost]:",
		"[]:80",
		"[]",
		"x:1:2",
		"unix:",
		"@",
		"no/slash.example",
		"",
		":80",
		"host%eth0",
		"ünicode.example",
	};
	char label[80], text[600];
	cr_addr out[4], a;
	int n;

	(void)arg;
	/* Numeric text: parsed, no lookup. */
	CHECK_EQ_INT(cr_addr_resolve("127.0.0.1:80", 0, out, 4), 1);
	CHECK_EQ_INT(cr_addr_parse("127.0.0.1:80", 0, &a), 0);
	check_same_addr(&out[0], &a, "127.0.0.1:80");
	CHECK_EQ_INT(cr_addr_resolve("[::1]", 9, out, 1), 1);
	CHECK_EQ_INT(cr_addr_port(&out[0]), 9);
	CHECK_EQ_INT(cr_addr_resolve("@abstract", 9, out, 1), 1);
	CHECK_EQ_INT(out[0].u.sa.sa_family, AF_UNIX);

	/* Malformed text. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = cr_addr_resolve(bad[i], 7, out, 4);
		CHECK_MSG(n == -EINVAL, "resolve \"%s\": %d", bad[i], n);
	}
	memset(label, 'a', 64);
	label[64] = '\0';
	CHECK_EQ_INT(cr_addr_resolve(label, 7, out, 4), -EINVAL); /* a 64-character label */
	memset(text, 0, sizeof(text));
	for (int i = 0; i < 5; i++)
		memcpy(text + i * 60,
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.", 60);
	CHECK_EQ_INT(cr_addr_resolve(text, 7, out, 4), -EINVAL); /* 300 characters */
	memset(text, 'z', sizeof(text) - 1);
	CHECK_EQ_INT(cr_addr_resolve(text, 7, out, 4), -EINVAL);
	CHECK_EQ_INT(cr_addr_resolve(NULL, 7, out, 4), -EINVAL);
	CHECK_EQ_INT(cr_addr_resolve("localhost", 7, NULL, 4), -EINVAL);
	CHECK_EQ_INT(cr_addr_resolve("localhost", 7, out, 0), -EINVAL);

	/* localhost, with and without a port, bracketed, and with room for one. */
	if (check_localhost("localhost", 7, 7)) {
		check_localhost("localhost:80", 7, 80);
		check_localhost("[localhost]:81", 7, 81);
		check_localhost("[localhost]", 82, 82);
		check_localhost("LocalHost", 83, 83);
		CHECK_EQ_INT(cr_addr_resolve("localhost", 7, out, 1), 1);
		CHECK(is_loopback(&out[0]));
	}

	/* A name that cannot exist (RFC 2606): -ENOENT, or -EAGAIN without DNS. */
	n = cr_addr_resolve("no-such-host.invalid", 7, out, 4);
	CHECK_MSG(n == -ENOENT || n == -EAGAIN, "no-such-host.invalid: %d", n);
	n = cr_addr_resolve("no-such-host.invalid:80", 7, out, 4);
	CHECK_MSG(n == -ENOENT || n == -EAGAIN, "no-such-host.invalid:80: %d", n);

	/* An expired deadline: the lookup never starts. */
	cr_deadline d;
	CHECK_EQ_INT(cr_timeout_enter(&d, 0), 0);
	CHECK_EQ_INT(cr_addr_resolve("localhost", 7, out, 4), -ETIMEDOUT);
	CHECK_EQ_INT(cr_addr_resolve("127.0.0.1", 7, out, 4), 1); /* numeric: no wait */
	cr_deadline_exit(&d);
	return 0;
}

/* ---- driver ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} plain[] = {
		{"valid", case_valid},
		{"malformed", case_malformed},
		{"lengths", case_lengths},
		{"scope", case_scope},
		{"format edges", case_format_edges},
		{"ports", case_ports},
		{"socket addr", case_socket_addr},
	};
	static const struct {
		const char *name;
		cr_task_fn fn;
	} tasks[] = {
		{"random", case_random},
		{"resolve", case_resolve},
	};
	cr_addr out[2];
	cr_config cfg;

	check_watchdog(60);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (argc > 1 && !strstr(plain[i].name, argv[1]))
			continue;
		printf("%s\n", plain[i].name);
		fflush(stdout);
		plain[i].fn();
	}
	/* Outside a task: numeric text resolves, a name cannot wait. */
	if (argc <= 1 || strstr("resolve outside a task", argv[1])) {
		printf("resolve outside a task\n");
		CHECK_EQ_INT(cr_addr_resolve("127.0.0.1:5", 0, out, 2), 1);
		CHECK_EQ_INT(cr_addr_resolve("localhost", 5, out, 2), -EPERM);
	}
	cr_config_init(&cfg);
	cfg.workers = 1;
	for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++) {
		if (argc > 1 && !strstr(tasks[i].name, argv[1]))
			continue;
		printf("%s\n", tasks[i].name);
		fflush(stdout);
		CHECK_EQ_INT(check_run(&cfg, tasks[i].fn, NULL), 0);
	}
	return 0;
}
