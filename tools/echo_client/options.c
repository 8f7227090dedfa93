/* SPDX-License-Identifier: MIT */
/* Parsing and validation of coring-echo-client's command line. */
#include "options.h"

#include <coring.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROG "coring-echo-client"

static const char usage_text[] =
	"usage: " PROG " [--host H] [--port P | --connect ADDR] [--verbose]\n"
	"                          [--timeout S] [MSG...]\n"
	"       " PROG " --connections N --duration S [--size N|A-B] [--pipeline N]\n"
	"                          [--rate R] [--threads N] [--json] [--quiet] [ADDR options]\n"
	"\n"
	"An echo client for any RFC 862 echo server (TCP or Unix stream).\n"
	"\n"
	"Message mode (the default): connects, sends each MSG with one write (default:\n"
	"the three messages of asyncio_echo_client.py), half-closes, and prints what\n"
	"comes back until the server's end of stream (or --timeout).\n"
	"  -v, --verbose        log to stderr the lines asyncio_echo_client.py logs\n"
	"                       (EchoClient: sending b'...', received b'...', ...)\n"
	"                       instead of writing the echoed bytes to stdout; in load\n"
	"                       mode: print every error, not only the first ten\n"
	"  --timeout S          give up if the server has not ended its stream S\n"
	"                       seconds after the start (bounds the name lookup, the\n"
	"                       connect, the sends and the wait for the echo); 0 waits\n"
	"                       forever (default 10; s, ms, m)\n"
	"\n"
	"Load mode (chosen by --load or any option below): every connection is a task\n"
	"that sends messages whose content is unique per connection and message, and\n"
	"checks every byte that comes back, in order.\n"
	"  --load               load mode with the defaults below\n"
	"  --connections N      concurrent connections (default 10)\n"
	"  --duration S         how long to send, in seconds; 0.5, 500ms, 2m (default 5)\n"
	"  --size N|A-B         message size in bytes, fixed or uniformly random in\n"
	"                       A..B; suffixes k, M (default 64; e.g. 1-256k)\n"
	"  --pipeline N         messages in flight per connection (default 1)\n"
	"  --lines              every message is one line: it ends with its only\n"
	"                       newline (for servers of a line protocol)\n"
	"  --rate R             total messages per second, open loop: each connection\n"
	"                       sends on a fixed schedule and latency is measured from\n"
	"                       the intended send time (default: closed loop, as fast\n"
	"                       as echoes come back); suffixes k, M\n"
	"  --grace S            after the duration, wait this long for the echoes still\n"
	"                       in flight and for the server's end of stream (default 2);\n"
	"                       a connection whose every echo came back but whose server\n"
	"                       has not ended the stream by then is \"not closed\"\n"
	"  --connect-timeout S  bound of each connect (default 5)\n"
	"  --json               print the final report as JSON on stdout (no progress)\n"
	"  -q, --quiet          no progress line on stderr\n"
	"\n"
	"Both modes:\n"
	"  --host H             server host name or IP address (default " EC_DEFAULT_HOST ")\n"
	"  --port P             server port (default 7007, as coring-echo-server)\n"
	"  --connect ADDR       server address instead of --host: 127.0.0.1:7, [::1]:7,\n"
	"                       host:port, unix:/path, @abstract (port default: --port)\n"
	"  --threads N          coring worker threads (default: one per CPU in load\n"
	"                       mode, 1 in message mode)\n"
	"  -h, --help           print this help and exit\n"
	"  -V, --version        print the version and exit\n"
	"  --                   the arguments after it are messages\n"
	"\n"
	"Load mode prints a progress line each second on stderr, then a report on\n"
	"stdout: messages (completed round trips) and messages/s, MB/s sent and\n"
	"received (payload bytes, 1 MB = 10^6 bytes), latency percentiles (p50 p90\n"
	"p99 p99.9 max, within 1.6%), connections (ok, failed, not closed by the\n"
	"server, not started), errors and corrupted bytes.  A connection the client\n"
	"did not get to connect before the run ended (or a signal stopped it) is\n"
	"\"not started\": neither ok nor failed; when over 10% of them did not start,\n"
	"a warning says the load was lighter than asked.\n"
	"\n"
	"Exit status:\n"
	"  0  success: message mode got the server's end of stream; load mode checked\n"
	"     every echo, and every connection that started was closed by the server\n"
	"  1  failure: cannot connect, an error, a corrupted, missing or unexpected\n"
	"     byte, a message not echoed within --grace, or (load mode) no connection\n"
	"     started at all\n"
	"  2  bad usage\n"
	"  3  nothing else failed, but the server did not end its stream in time:\n"
	"     within --timeout (message mode) or --grace (load mode, some connection)\n";

const char *ec_options_target(const ec_options *o)
{
	return o->connect ? o->connect : o->host;
}

/* Prints "coring-echo-client: <opt>: <what>" and a hint.  Returns EC_PARSE_USAGE. */
static int bad(const char *opt, const char *value, const char *what)
{
	fprintf(stderr, PROG ": %s: '%s' %s (try --help)\n", opt, value, what);
	return EC_PARSE_USAGE;
}

/* Parses leading decimal digits of s into *v, advancing *end.  Returns 0, or
 * -1 if there are none or the value overflows. */
static int digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
		p++;
	}
	if (p == s)
		return -1;
	*v = x;
	*end = p;
	return 0;
}

/* Parses a whole decimal integer in [min, max].  Returns 0 or -1. */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	const char *end;
	if (digits(s, &v, &end) < 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parses one byte count with an optional k/K/KiB/m/M/MiB suffix (powers of
 * 1024), stopping at stop (or the end).  Returns 0 or -1. */
static int parse_bytes(const char *s, char stop, uint64_t *out, const char **end)
{
	uint64_t v, mult = 1;
	const char *p;
	if (digits(s, &v, &p) < 0)
		return -1;
	if (*p == 'k' || *p == 'K') {
		mult = 1024;
		p++;
	} else if (*p == 'm' || *p == 'M') {
		mult = 1024 * 1024;
		p++;
	}
	if (mult > 1 && p[0] == 'i' && p[1] == 'B')
		p += 2;
	else if (mult == 1 && (*p == 'b' || *p == 'B'))
		p++;
	if (*p != '\0' && *p != stop)
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	*end = p;
	return 0;
}

/* Parses --size: "N" or "A-B".  Returns 0 or -1 (out of range included). */
static int parse_size(const char *s, uint32_t *lo, uint32_t *hi)
{
	uint64_t a, b;
	const char *p;
	if (parse_bytes(s, '-', &a, &p) < 0)
		return -1;
	b = a;
	if (*p == '-' && (parse_bytes(p + 1, '\0', &b, &p) < 0 || *p != '\0'))
		return -1;
	if (a < 1 || b > EC_SIZE_LIMIT || a > b)
		return -1;
	*lo = (uint32_t)a;
	*hi = (uint32_t)b;
	return 0;
}

/* Parses a finite decimal number followed by one of the suffixes in names
 * (each with its multiplier in mults; the first is the bare number).  Returns
 * 0 or -1. */
static int parse_number(const char *s, const char *const *names, const double *mults, size_t n,
			double *out)
{
	char *end;
	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v))
		return -1;
	/* Hexadecimal floats and "inf"/"nan" spellings are not numbers here. */
	for (const char *q = s; q < end; q++)
		if (!((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' ||
		      *q == '-' || *q == '+'))
			return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(end, names[i]) == 0) {
			*out = v * mults[i];
			return isfinite(*out) ? 0 : -1;
		}
	}
	return -1;
}

/* Parses seconds with an optional s, ms or m suffix.  Returns 0 or -1. */
static int parse_seconds(const char *s, double *out)
{
	static const char *const names[] = {"", "s", "ms", "m"};
	static const double mults[] = {1, 1, 1e-3, 60};
	return parse_number(s, names, mults, 4, out);
}

/* Parses a rate with an optional k or M suffix.  Returns 0 or -1. */
static int parse_rate(const char *s, double *out)
{
	static const char *const names[] = {"", "k", "K", "M"};
	static const double mults[] = {1, 1e3, 1e3, 1e6};
	return parse_number(s, names, mults, 4, out);
}

/* The options that take a value; from OPT_CONNECTIONS on (but for
 * OPT_THREADS and OPT_TIMEOUT) they select load mode. */
enum opt_id {
	OPT_HOST,
	OPT_PORT,
	OPT_CONNECT,
	OPT_CONNECTIONS,
	OPT_DURATION,
	OPT_SIZE,
	OPT_PIPELINE,
	OPT_RATE,
	OPT_THREADS,
	OPT_GRACE,
	OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT,
	OPT_N_VALUED
};

static const char *const valued_names[OPT_N_VALUED] = {
	[OPT_HOST] = "--host",
	[OPT_PORT] = "--port",
	[OPT_CONNECT] = "--connect",
	[OPT_CONNECTIONS] = "--connections",
	[OPT_DURATION] = "--duration",
	[OPT_SIZE] = "--size",
	[OPT_PIPELINE] = "--pipeline",
	[OPT_RATE] = "--rate",
	[OPT_THREADS] = "--threads",
	[OPT_GRACE] = "--grace",
	[OPT_CONNECT_TIMEOUT] = "--connect-timeout",
	[OPT_TIMEOUT] = "--timeout",
};

/* Stores one option's value into *o after validating it.  Returns
 * EC_PARSE_RUN or EC_PARSE_USAGE. */
static int set_valued(ec_options *o, int id, const char *name, const char *v)
{
	uint64_t u;
	double d;
	switch (id) {
	case OPT_HOST:
		if (*v == '\0')
			return bad(name, v, "is not a host name or address");
		o->host = v;
		return EC_PARSE_RUN;
	case OPT_PORT:
		if (parse_uint(v, 1, 65535, &u) < 0)
			return bad(name, v, "is not a port number (1-65535)");
		o->port = (unsigned)u;
		return EC_PARSE_RUN;
	case OPT_CONNECT:
		if (*v == '\0')
			return bad(name, v, "is not an address");
		o->connect = v;
		return EC_PARSE_RUN;
	case OPT_CONNECTIONS:
		if (parse_uint(v, 1, EC_CONNECTIONS_LIMIT, &u) < 0)
			return bad(name, v, "is not a number of connections (1-1000000)");
		o->connections = (unsigned)u;
		return EC_PARSE_RUN;
	case OPT_DURATION:
		if (parse_seconds(v, &d) < 0 || d < 0.001 || d > 1e7)
			return bad(name, v, "is not a duration (0.001 to 1e7 seconds; s, ms, m)");
		o->duration_s = d;
		return EC_PARSE_RUN;
	case OPT_SIZE:
		if (parse_size(v, &o->size_min, &o->size_max) < 0)
			return bad(name, v,
				   "is not a size or range of sizes in 1..64M bytes "
				   "(e.g. 64, 4k, 1-256k)");
		return EC_PARSE_RUN;
	case OPT_PIPELINE:
		if (parse_uint(v, 1, EC_PIPELINE_LIMIT, &u) < 0)
			return bad(name, v, "is not a pipeline depth (1-65536)");
		o->pipeline = (unsigned)u;
		return EC_PARSE_RUN;
	case OPT_RATE:
		if (parse_rate(v, &d) < 0 || d < 0.001 || d > 1e9)
			return bad(name, v, "is not a rate (0.001 to 1e9 messages/s; k, M)");
		o->rate = d;
		return EC_PARSE_RUN;
	case OPT_THREADS:
		if (parse_uint(v, 1, CR_MAX_WORKERS, &u) < 0)
			return bad(name, v, "is not a number of threads (1-256)");
		o->threads = (unsigned)u;
		return EC_PARSE_RUN;
	case OPT_GRACE:
		if (parse_seconds(v, &d) < 0 || d > 3600)
			return bad(name, v, "is not a grace period (0 to 3600 seconds)");
		o->grace_s = d;
		return EC_PARSE_RUN;
	case OPT_CONNECT_TIMEOUT:
		if (parse_seconds(v, &d) < 0 || d < 0.001 || d > 3600)
			return bad(name, v, "is not a timeout (0.001 to 3600 seconds)");
		o->connect_timeout_s = d;
		return EC_PARSE_RUN;
	case OPT_TIMEOUT:
		if (parse_seconds(v, &d) < 0 || d > 1e6)
			return bad(name, v, "is not a timeout (0 to 1e6 seconds; 0 = none)");
		o->timeout_s = d;
		o->timeout_given = 1;
		return EC_PARSE_RUN;
	}
	return EC_PARSE_USAGE;
}

/* Fills *o with every default.  Returns nothing. */
static void defaults(ec_options *o)
{
	memset(o, 0, sizeof(*o));
	o->host = EC_DEFAULT_HOST;
	o->port = EC_DEFAULT_PORT;
	o->connections = 10;
	o->duration_s = 5;
	o->size_min = o->size_max = 64;
	o->pipeline = 1;
	o->grace_s = 2;
	o->connect_timeout_s = 5;
	o->timeout_s = EC_DEFAULT_TIMEOUT_S;
}

/* Handles a flag (an option without a value).  Returns 1 if arg was one
 * (*result set), 0 if not. */
static int flag(ec_options *o, const char *arg, int *load_opt, int *result)
{
	*result = EC_PARSE_RUN;
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		fputs(usage_text, stdout);
		*result = EC_PARSE_EXIT;
	} else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
		printf(PROG " %s\n", CR_VERSION_STRING);
		*result = EC_PARSE_EXIT;
	} else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
		o->verbose = 1;
	} else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
		o->quiet = 1;
		*load_opt = 1;
	} else if (strcmp(arg, "--json") == 0) {
		o->json = 1;
		*load_opt = 1;
	} else if (strcmp(arg, "--load") == 0) {
		*load_opt = 1;
	} else if (strcmp(arg, "--lines") == 0) {
		o->lines = 1;
		*load_opt = 1;
	} else {
		return 0;
	}
	return 1;
}

/* Finds a valued option by name (name may be "--opt=value"; *inline_value
 * then points at the value).  Returns its id or -1. */
static int find_valued(const char *arg, const char **inline_value)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	for (int id = 0; id < OPT_N_VALUED; id++) {
		if (strlen(valued_names[id]) == n && strncmp(arg, valued_names[id], n) == 0) {
			*inline_value = eq ? eq + 1 : NULL;
			return id;
		}
	}
	return -1;
}

int ec_options_parse(int argc, char **argv, ec_options *o)
{
	int load_opt = 0, host_given = 0, only_messages = 0, r;
	defaults(o);
	o->messages = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->messages) {
		fprintf(stderr, PROG ": out of memory\n");
		return EC_PARSE_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value;
		if (only_messages || arg[0] != '-' || arg[1] == '\0') {
			o->messages[o->n_messages++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_messages = 1;
			continue;
		}
		if (flag(o, arg, &load_opt, &r)) {
			if (r != EC_PARSE_RUN)
				return r;
			continue;
		}
		int id = find_valued(arg, &value);
		if (id < 0) {
			fprintf(stderr, PROG ": unknown option '%s' (try --help)\n", arg);
			return EC_PARSE_USAGE;
		}
		if (!value) {
			if (i + 1 >= argc) {
				fprintf(stderr, PROG ": %s needs a value (try --help)\n", arg);
				return EC_PARSE_USAGE;
			}
			value = argv[++i];
		}
		if (set_valued(o, id, valued_names[id], value) != EC_PARSE_RUN)
			return EC_PARSE_USAGE;
		if (id == OPT_HOST)
			host_given = 1;
		if (id >= OPT_CONNECTIONS && id != OPT_THREADS && id != OPT_TIMEOUT)
			load_opt = 1;
	}
	o->load = load_opt;
	if (o->connect && host_given) {
		fprintf(stderr, PROG ": --host and --connect both name the server; give one "
				     "(try --help)\n");
		return EC_PARSE_USAGE;
	}
	if (o->load && o->timeout_given) {
		fprintf(stderr,
			PROG ": --timeout is for message mode; load mode waits --grace "
			     "for the echoes and the server's end of stream (try --help)\n");
		return EC_PARSE_USAGE;
	}
	if (o->load && o->n_messages > 0) {
		fprintf(stderr,
			PROG ": messages ('%s'...) are for message mode and cannot be "
			     "combined with load-mode options (try --help)\n",
			o->messages[0]);
		return EC_PARSE_USAGE;
	}
	return EC_PARSE_RUN;
}

void ec_options_free(ec_options *o)
{
	free(o->messages);
	o->messages = NULL;
	o->n_messages = 0;
}
