/* SPDX-License-Identifier: MIT */
/* coring-echo-server's command line: usage text, parsing and validation. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Defaults documented in the usage text. */
#define DEF_GRACE_S 5
#define DEF_BUFFERS 1024u
#define DEF_BUFFER_SIZE 16384u
#define DEF_MAX_HELD 4u
#define MIN_BUFFER_SIZE 64u
#define MAX_BUFFER_SIZE (16u << 20)
#define MAX_MAX_HELD 4096u
#define DEF_IDLE_S 300		       /* a forgotten connection goes after 5 minutes */
#define DEF_SEND_S 60		       /* as nginx's send_timeout */
#define DEF_MAX_HELD_BYTES (64u << 20) /* unsent echo held for clients that do not read */
#define MAX_MAX_HELD_BYTES (1ull << 40)

static const char usage_text[] =
	"Usage: coring-echo-server [OPTIONS]\n"
	"RFC 862 echo server over TCP, UDP and Unix stream sockets, on every worker.\n"
	"\n"
	"Addresses:\n"
	"  -l, --listen ADDR     listen on ADDR (repeatable): 127.0.0.1:7, [::1]:7, ::1,\n"
	"                        a host name (every address it resolves to), 0.0.0.0,\n"
	"                        unix:/path, /path, ./path, @abstract-name.\n"
	"                        Default: localhost, i.e. 127.0.0.1 and ::1 (IPv6-only;\n"
	"                        skipped with a warning if the host has no ::1)\n"
	"  -p, --port PORT       port of addresses given without one (default 7007;\n"
	"                        0 = an ephemeral port, printed at start)\n"
	"      --udp             UDP echo on the same IP addresses and ports (default)\n"
	"      --no-udp          TCP (and Unix) only\n"
	"      --lines           echo line by line, as a line protocol would (readline,\n"
	"                        write, drain; a line longer than --buffer-size x\n"
	"                        --max-held and the bytes after the last newline at the\n"
	"                        client's end are echoed as they are)\n"
	"      --backlog N       listen backlog (default SOMAXCONN)\n"
	"      --port-file PATH  write the first TCP port to PATH once serving\n"
	"\n"
	"Workers and memory:\n"
	"  -t, --threads N       worker threads (default: one per CPU this process may use);\n"
	"                        each has its own SO_REUSEPORT listener per IP address\n"
	"      --buffers N       receive buffers per worker, a power of two (default 1024):\n"
	"                        a pool shared by the worker's connections, which take a\n"
	"                        buffer only while data waits to be read (memory:\n"
	"                        --buffers x --buffer-size per worker)\n"
	"      --buffer-size B   bytes per receive buffer (default 16384; k and m suffixes)\n"
	"      --max-held N      received buffers a connection may queue, and buffers'\n"
	"                        worth of echo it may have unsent before it stops reading\n"
	"                        (back-pressure on slow readers; default 4); a connection\n"
	"                        that stops reading gives its pool buffers back\n"
	"\n"
	"Limits:\n"
	"      --max-conns N     at most N connections at once; beyond it a new connection\n"
	"                        is accepted and reset at once (default 0 = as many as\n"
	"                        the fd limit allows; accepting backs off at EMFILE)\n"
	"      --idle-timeout S  reset a connection that neither receives nor sends\n"
	"                        for S seconds (default 300; 0 = never; fractions allowed)\n"
	"      --send-timeout S  reset a connection whose client takes none of the echo\n"
	"                        for S seconds (default 60; 0 = never)\n"
	"      --max-held-bytes B  bytes of unsent echo all connections may hold for\n"
	"                        clients that do not read (default 64m; k and m\n"
	"                        suffixes; 0 = no limit), shared evenly by the workers.\n"
	"                        Such a client is no longer read from once its unsent\n"
	"                        echo passes --max-held buffers; when what they hold\n"
	"                        reaches the budget, the connections holding the most\n"
	"                        are reset, largest first\n"
	"  Every close other than the answer to a client's end of stream (timeouts,\n"
	"  limits, errors, the grace period's end) is a reset, so that a client never\n"
	"  takes a cut-short echo for a finished one.\n"
	"      --grace S         on SIGINT/SIGTERM, stop accepting and let connections\n"
	"                        finish for S seconds, then close them (default 5);\n"
	"                        a second signal ends the grace period at once\n"
	"\n"
	"Output:\n"
	"  -v, --verbose         log every event to stderr in the words of asyncio's\n"
	"                        echo server (connection accepted, received b'...', ...)\n"
	"  -q, --quiet           print neither the listening addresses nor the totals\n"
	"  -h, --help            print this help and exit\n"
	"  -V, --version         print the version and exit\n"
	"\n"
	"Signals:\n"
	"  SIGINT, SIGTERM, SIGHUP  stop accepting, let connections finish for --grace\n"
	"                        seconds, close the rest, print the totals (unless\n"
	"                        --quiet), exit 0; a second one closes every\n"
	"                        connection at once\n"
	"  SIGQUIT               stop at once: close every connection now, print the\n"
	"                        totals (unless --quiet), exit 0\n"
	"  SIGUSR1               print the totals so far (even with --quiet), keep serving\n"
	"  SIGPIPE               ignored\n"
	"  Unix socket files are removed however the server stops, except when it is\n"
	"  killed (SIGKILL, or a signal not listed here).  A signal that comes while the\n"
	"  server starts is acted on once it serves.\n"
	"\n"
	"The listening addresses go to stdout (\"listening on 127.0.0.1:7007 (tcp, udp)\"),\n"
	"events and the totals printed at exit to stderr.  The --port-file is written\n"
	"after the addresses are printed.\n"
	"\n"
	"Exit status:\n"
	"  0  stopped by a signal above (or --help / --version printed)\n"
	"  1  serving could not start (runtime, addresses, sockets, workers, signalfd,\n"
	"     the --port-file path), reported before any address is printed\n"
	"  2  the command line is wrong (unknown option, bad value, --port-file with\n"
	"     Unix sockets only)\n"
	"  3  serving began, then waiting for signals failed: the server stopped as\n"
	"     on SIGTERM\n";

enum {
	OPT_UDP = 256,
	OPT_NO_UDP,
	OPT_BACKLOG,
	OPT_PORT_FILE,
	OPT_BUFFERS,
	OPT_BUFFER_SIZE,
	OPT_MAX_HELD,
	OPT_MAX_CONNS,
	OPT_IDLE,
	OPT_GRACE,
	OPT_SEND_TIMEOUT,
	OPT_MAX_HELD_BYTES,
	OPT_LINES,
};

static const struct option long_opts[] = {
	{"listen", required_argument, NULL, 'l'},
	{"port", required_argument, NULL, 'p'},
	{"udp", no_argument, NULL, OPT_UDP},
	{"no-udp", no_argument, NULL, OPT_NO_UDP},
	{"lines", no_argument, NULL, OPT_LINES},
	{"backlog", required_argument, NULL, OPT_BACKLOG},
	{"port-file", required_argument, NULL, OPT_PORT_FILE},
	{"threads", required_argument, NULL, 't'},
	{"buffers", required_argument, NULL, OPT_BUFFERS},
	{"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
	{"max-held", required_argument, NULL, OPT_MAX_HELD},
	{"max-conns", required_argument, NULL, OPT_MAX_CONNS},
	{"idle-timeout", required_argument, NULL, OPT_IDLE},
	{"grace", required_argument, NULL, OPT_GRACE},
	{"send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT},
	{"max-held-bytes", required_argument, NULL, OPT_MAX_HELD_BYTES},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* Prints "coring-echo-server: <message>" and a hint to stderr.  Returns 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "coring-echo-server: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'coring-echo-server --help' for more information.\n");
	return 2;
}

/* Parses a decimal integer in [lo, hi], with an optional k/m suffix when
 * suffixes is set.  Returns 0 or -EINVAL. */
static int parse_uint(const char *s, uint64_t lo, uint64_t hi, int suffixes, uint64_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (suffixes && (*end == 'k' || *end == 'K') && end[1] == '\0') {
		if (v > UINT64_MAX / 1024)
			return -EINVAL;
		v *= 1024;
		end++;
	} else if (suffixes && (*end == 'm' || *end == 'M') && end[1] == '\0') {
		if (v > UINT64_MAX / (1024 * 1024))
			return -EINVAL;
		v *= 1024 * 1024;
		end++;
	}
	if (*end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses seconds ("5", "0.25", "1e-3", up to a day) into ns.  Returns 0 or -EINVAL. */
static int parse_seconds(const char *s, uint64_t *ns)
{
	char *end;
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -EINVAL;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v) || v < 0 || v > 86400.0)
		return -EINVAL;
	*ns = (uint64_t)(v * 1e9 + 0.5);
	return 0;
}

static void set_defaults(struct es_options *o)
{
	memset(o, 0, sizeof(*o));
	o->port = ES_DEFAULT_PORT;
	o->udp = 1;
	o->grace_ns = DEF_GRACE_S * 1000000000ull;
	o->buffers = DEF_BUFFERS;
	o->buffer_size = DEF_BUFFER_SIZE;
	o->max_held = DEF_MAX_HELD;
	o->idle_ns = DEF_IDLE_S * 1000000000ull;
	o->send_ns = DEF_SEND_S * 1000000000ull;
	o->max_held_bytes = DEF_MAX_HELD_BYTES;
}

/* Applies one option with an argument.  Returns 0 or 2 (usage error printed). */
static int apply(struct es_options *o, int c, const char *arg, const char *name)
{
	uint64_t v = 0;
	switch (c) {
	case 'l':
		if (o->n_listen == ES_MAX_LISTEN_ARGS)
			return usage_error("too many --listen options (at most %d)",
					   ES_MAX_LISTEN_ARGS);
		if (*arg == '\0')
			return usage_error("--listen needs an address");
		o->listen[o->n_listen++] = arg;
		return 0;
	case 'p':
		if (parse_uint(arg, 0, 65535, 0, &v))
			return usage_error("invalid port '%s' (expected 0..65535)", arg);
		o->port = (uint16_t)v;
		return 0;
	case 't':
		if (parse_uint(arg, 1, CR_MAX_WORKERS, 0, &v))
			return usage_error("invalid --threads '%s' (expected 1..256)", arg);
		o->threads = (unsigned)v;
		return 0;
	case OPT_BACKLOG:
		if (parse_uint(arg, 1, 1u << 20, 0, &v))
			return usage_error("invalid --backlog '%s' (expected 1..1048576)", arg);
		o->backlog = (int)v;
		return 0;
	case OPT_PORT_FILE:
		if (*arg == '\0')
			return usage_error("--port-file needs a path");
		o->port_file = arg;
		return 0;
	case OPT_BUFFERS:
		if (parse_uint(arg, 1, 32768, 0, &v) || (v & (v - 1)))
			return usage_error(
				"invalid --buffers '%s' (expected a power of two, 1..32768)", arg);
		o->buffers = (unsigned)v;
		return 0;
	case OPT_BUFFER_SIZE:
		if (parse_uint(arg, MIN_BUFFER_SIZE, MAX_BUFFER_SIZE, 1, &v))
			return usage_error("invalid --buffer-size '%s' (expected 64..16m bytes)",
					   arg);
		o->buffer_size = (size_t)v;
		return 0;
	case OPT_MAX_HELD:
		if (parse_uint(arg, 1, MAX_MAX_HELD, 0, &v))
			return usage_error("invalid --max-held '%s' (expected 1..4096)", arg);
		o->max_held = (unsigned)v;
		return 0;
	case OPT_MAX_CONNS:
		if (parse_uint(arg, 0, UINT32_MAX, 0, &v))
			return usage_error("invalid --max-conns '%s' (expected 0..4294967295)",
					   arg);
		o->max_conns = v;
		return 0;
	case OPT_SEND_TIMEOUT:
		if (parse_seconds(arg, &o->send_ns))
			return usage_error(
				"invalid --send-timeout '%s' (expected seconds, 0..86400)", arg);
		return 0;
	case OPT_MAX_HELD_BYTES:
		if (parse_uint(arg, 0, MAX_MAX_HELD_BYTES, 1, &v))
			return usage_error(
				"invalid --max-held-bytes '%s' (expected 0..1048576m bytes)", arg);
		o->max_held_bytes = v;
		return 0;
	case OPT_IDLE:
	case OPT_GRACE:
		if (parse_seconds(arg, c == OPT_IDLE ? &o->idle_ns : &o->grace_ns))
			return usage_error("invalid --%s '%s' (expected seconds, 0..86400)", name,
					   arg);
		return 0;
	default:
		return 2;
	}
}

/* Explains why getopt_long refused the long option arg ("--name" or
 * "--name=value", as the user wrote it): unknown, ambiguous, or given a value
 * it does not take.  Returns 2 (usage error printed). */
static int bad_long_option(const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) - 2 : strlen(arg) - 2;
	const struct option *match = NULL;
	int matches = 0;
	for (const struct option *lo = long_opts; lo->name; lo++) {
		if (strncmp(lo->name, arg + 2, len) != 0)
			continue;
		if (lo->name[len] == '\0') { /* exact */
			match = lo;
			matches = 1;
			break;
		}
		match = lo;
		matches++;
	}
	if (matches > 1 && len > 0)
		return usage_error("ambiguous option '%.*s'", (int)len + 2, arg);
	if (matches == 1 && len > 0 && eq && match->has_arg == no_argument)
		return usage_error("option '%.*s' takes no value (got '%s')", (int)len + 2, arg,
				   arg);
	return usage_error("unknown option '%.*s'", len > 0 ? (int)len + 2 : (int)strlen(arg), arg);
}

int es_options_parse(struct es_options *o, int argc, char **argv)
{
	set_defaults(o);
	opterr = 0;
	optind = 1;
	for (;;) {
		int idx = -1, before = optind;
		int c = getopt_long(argc, argv, ":l:p:t:vqhV", long_opts, &idx);
		if (c == -1)
			break;
		const char *name = idx >= 0 ? long_opts[idx].name : "";
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case 'V':
			printf("coring-echo-server %s\n", CR_VERSION_STRING);
			return 1;
		case 'v':
			o->verbose = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_UDP:
			o->udp = 1;
			break;
		case OPT_NO_UDP:
			o->udp = 0;
			break;
		case OPT_LINES:
			o->lines = 1;
			break;
		case ':':
			if (before < optind && strncmp(argv[optind - 1], "--", 2) == 0)
				return usage_error("option '%s' needs a value", argv[optind - 1]);
			return usage_error("option '-%c' needs a value", optopt);
		case '?':
			if (before < optind && strncmp(argv[optind - 1], "--", 2) == 0)
				return bad_long_option(argv[optind - 1]);
			return usage_error("unknown option '-%c'", optopt);
		default:
			if (apply(o, c, optarg, name) != 0)
				return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}
