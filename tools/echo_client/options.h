/* SPDX-License-Identifier: MIT */
/* Command-line options of coring-echo-client: what they hold, their defaults, and the parser. */
#ifndef EC_OPTIONS_H
#define EC_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Port used when neither --port nor the address names one (as the asyncio reference). */
#define EC_DEFAULT_PORT 7007
/* Host used when neither --host nor --connect is given. */
#define EC_DEFAULT_HOST "localhost"
/* Largest message --size accepts (bytes). */
#define EC_SIZE_LIMIT (64u * 1024u * 1024u)
/* Most connections --connections accepts. */
#define EC_CONNECTIONS_LIMIT 1000000u
/* Message mode's default --timeout (seconds). */
#define EC_DEFAULT_TIMEOUT_S 10
/* Most messages in flight per connection --pipeline accepts. */
#define EC_PIPELINE_LIMIT 65536u

/* Everything the command line sets. */
typedef struct ec_options {
	int load;		  /* 1 = load mode, 0 = message mode */
	const char *host;	  /* --host (or the default) unless connect is set */
	unsigned port;		  /* --port: default port of the address */
	const char *connect;	  /* --connect ADDR, or NULL */
	char **messages;	  /* message mode: the messages to send (argv strings) */
	size_t n_messages;	  /* how many */
	unsigned connections;	  /* load: --connections */
	double duration_s;	  /* load: --duration in seconds */
	uint32_t size_min;	  /* load: smallest message (bytes) */
	uint32_t size_max;	  /* load: largest message (bytes) */
	unsigned pipeline;	  /* load: messages in flight per connection */
	double rate;		  /* load: total messages per second, 0 = closed loop */
	unsigned threads;	  /* --threads: coring workers, 0 = one per CPU */
	double grace_s;		  /* load: how long to wait for echoes after the end */
	double connect_timeout_s; /* load: bound of one connect */
	double timeout_s;	  /* message mode: bound of the whole exchange, 0 = none */
	int timeout_given;	  /* 1 if --timeout was on the command line */
	int json;		  /* load: final report as JSON on stdout */
	int lines;		  /* load: every message is one line (--lines) */
	int quiet;		  /* load: no progress line */
	int verbose;		  /* message mode: asyncio-style log; load: every error */
} ec_options;

/* What ec_options_parse asks main to do. */
enum ec_parse_result {
	EC_PARSE_RUN = 0,   /* options are valid: run */
	EC_PARSE_EXIT = 1,  /* --help or --version was printed: exit 0 */
	EC_PARSE_USAGE = 2, /* a usage error was printed to stderr: exit 2 */
};

/* Exit statuses of coring-echo-client (both modes; --help explains them). */
enum ec_exit {
	EC_EXIT_OK = 0,		/* success */
	EC_EXIT_FAILED = 1,	/* an error, a corrupted or missing byte, nothing tested */
	EC_EXIT_USAGE = 2,	/* bad command line */
	EC_EXIT_NOT_CLOSED = 3, /* nothing else wrong, but the server did not end its
				   stream in time (load: --grace; message mode: --timeout) */
};

/* Parses argv into *o (defaults first), printing help, version or a usage
 * error as needed.  Options and messages may be mixed; after "--" every
 * argument is a message.  Returns an enum ec_parse_result. */
int ec_options_parse(int argc, char **argv, ec_options *o);

/* Frees what ec_options_parse allocated (call it whatever the parse
 * returned).  Returns nothing. */
void ec_options_free(ec_options *o);

/* Returns the address text to resolve: --connect, or else --host. */
const char *ec_options_target(const ec_options *o);

#endif
