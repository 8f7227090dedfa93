/* SPDX-License-Identifier: MIT */
/* coring-echo-server: the types and calls its files share. */
#ifndef CORING_ECHO_SERVER_H
#define CORING_ECHO_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <coring.h>

/* The TCP (and UDP) port used for addresses given without one. */
#define ES_DEFAULT_PORT 7007

/* Most --listen options. */
#define ES_MAX_LISTEN_ARGS 32

/* Most addresses served (each --listen may resolve to several): cr_server's limit. */
#define ES_MAX_ADDRS CR_SERVER_MAX_ADDRS

/* ---- options.c ------------------------------------------------------------------ */

/* The command line, validated. */
struct es_options {
	const char *listen[ES_MAX_LISTEN_ARGS]; /* --listen texts, in order */
	unsigned n_listen;			/* how many; 0 = localhost */
	uint16_t port;				/* --port: port of addresses without one */
	unsigned threads;			/* --threads: workers (0 = one per CPU) */
	int udp;				/* 1 = UDP echo on the IP addresses too */
	uint64_t max_conns;			/* --max-conns: 0 = no limit */
	uint64_t idle_ns;			/* --idle-timeout in ns: 0 = none */
	uint64_t send_ns;			/* --send-timeout in ns: 0 = none */
	uint64_t max_held_bytes;		/* --max-held-bytes: 0 = no limit */
	uint64_t grace_ns;			/* --grace in ns */
	unsigned buffers;			/* --buffers: pool buffers per worker */
	size_t buffer_size;			/* --buffer-size: bytes per buffer */
	unsigned max_held;			/* --max-held: chunks per connection */
	int backlog;				/* --backlog: 0 = SOMAXCONN */
	const char *port_file;			/* --port-file: NULL = none */
	int verbose;				/* --verbose: asyncio-style event log */
	int lines;				/* --lines: echo line by line (readline) */
	int quiet;				/* --quiet: no banner, no totals */
};

/* Fills *o from argv.  Returns 0 to run, 1 when --help or --version was
 * printed (exit 0), or 2 after printing a usage error to stderr (exit 2). */
int es_options_parse(struct es_options *o, int argc, char **argv);

/* ---- log.c ------------------------------------------------------------------------- */

/* Turns the event log on or off (--verbose).  Returns nothing. */
void es_log_enable(int on);

/* Returns 1 if the event log is on. */
int es_log_enabled(void);

/* Writes "name: message\n" to stderr as one write (printf format).  Returns nothing. */
void es_log(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "name: <what> b'...'\n" with data shown as Python's repr(bytes).
 * Returns nothing. */
void es_log_bytes(const char *name, const char *what, const void *data, size_t len);

/* Writes Python's repr() of the len bytes at data (b'...' or b"...") to out,
 * which must hold es_repr_size(data, len) bytes.  Returns the length written
 * (without the NUL). */
size_t es_repr_bytes(const void *data, size_t len, char *out);

/* Returns the bytes es_repr_bytes needs for data, including the NUL. */
size_t es_repr_size(const void *data, size_t len);

/* Writes the host part of an address as Python's socket module shows it
 * ("127.0.0.1", "::1"; an IPv6 scope is not shown, as in Python's peername
 * tuple; a Unix address as cr_addr_format writes it) to buf.  Returns
 * the port, or -1 for a Unix address. */
int es_addr_host(const cr_addr *a, char *buf, size_t len);

/* Writes "BASE_HOST_PORT" for a peer, as the asyncio reference names its
 * loggers (BASE "EchoServer"); a Unix peer becomes "BASE_unix_<seq>", a
 * peer whose address is gone "BASE_unknown_<seq>".
 * Returns nothing. */
void es_log_name(char *buf, size_t len, const char *base, const cr_addr *peer, uint64_t seq);

/* Describes a negative errno as Python prints an OSError ("[Errno 104]
 * Connection reset by peer") into buf.  Returns buf. */
const char *es_oserror(int err, char *buf, size_t len);

/* ---- counters ------------------------------------------------------------------ */

/* The totals: cr_server's counters (connections, stream bytes, accept
 * errors) plus the echo's own (limits, UDP). */
struct es_stats {
	uint64_t accepted;	   /* TCP / Unix connections accepted and served */
	uint64_t refused;	   /* accepted and closed at once: --max-conns reached */
	uint64_t completed;	   /* connections that ended with the client's EOF */
	uint64_t errors;	   /* connections that ended with a socket error */
	uint64_t idle_closed;	   /* connections closed by --idle-timeout */
	uint64_t send_timeouts;	   /* connections reset by --send-timeout */
	uint64_t held_cut;	   /* connections reset over --max-held-bytes */
	uint64_t held_peak;	   /* most bytes the worker's copies held at once */
	uint64_t cancelled;	   /* connections cut at the end of the grace period */
	uint64_t bytes_in;	   /* stream bytes received */
	uint64_t bytes_out;	   /* stream bytes sent */
	uint64_t accept_fd_errors; /* accepts that failed with EMFILE/ENFILE */
	uint64_t udp_in;	   /* datagrams received */
	uint64_t udp_out;	   /* datagrams sent back */
	uint64_t udp_bytes_in;	   /* their bytes */
	uint64_t udp_bytes_out;	   /* bytes of datagrams sent back */
	uint64_t udp_errors;	   /* datagram receive or send failures */
};

/* Prints the totals to stderr.  Returns nothing. */
void es_stats_print(const struct es_stats *s, double seconds);

/* ---- listen.c ----------------------------------------------------------------------- */

/* One address served. */
struct es_listener {
	cr_addr addr;	       /* the address (real port once listening) */
	int is_unix;	       /* 1 = Unix stream socket */
	int *udp_fds;	       /* UDP sockets, one per worker; NULL = no UDP here */
	const char *host_text; /* how --verbose's "starting up on" names it */
};

/* Every address the server listens on. */
struct es_listen_set {
	struct es_listener l[ES_MAX_ADDRS]; /* the addresses, in cr_server's order */
	unsigned n;			    /* how many */
	unsigned workers;		    /* UDP sockets per IP address */
	int bad_text;			    /* 1 = a --listen text is no address (usage error) */
};

/* Resolves the --listen texts (or localhost), adds them to srv and makes it
 * listen (one SO_REUSEPORT listener per worker per IP address, one per Unix
 * path), then binds the UDP sockets (one per worker per IP address) on the
 * same ports.  Call from a task.  Prints errors to stderr.  Returns 0 or
 * -errno (the UDP sockets made are closed then). */
int es_listen_open(struct es_listen_set *set, cr_server *srv, const struct es_options *o,
		   unsigned workers);

/* Closes the UDP sockets of set still open.  Returns nothing. */
void es_listen_close(struct es_listen_set *set);

/* Prints "listening on ADDR (tcp, udp)" lines to stdout and, with --verbose,
 * asyncio's "main: starting up on HOST port P" to stderr.  Returns nothing. */
void es_listen_print(const struct es_listen_set *set, const struct es_options *o);

/* Writes the first TCP port to a temporary file next to path (its name
 * goes to tmp, len bytes), so that a path that cannot be written is known
 * before the server announces anything.  Returns 0, -EDESTADDRREQ when no
 * TCP port is served (Unix sockets only), or -errno (nothing left behind). */
int es_port_file_prepare(const struct es_listen_set *set, const char *path, char *tmp, size_t len);

/* Renames the temporary file tmp to path.  Returns 0 or -errno (tmp removed). */
int es_port_file_publish(const char *tmp, const char *path);

/* ---- echo.c, held.c, udp.c ---------------------------------------------------------- */

struct es_worker;

/* A connection whose client does not read: its drain waits, and the bytes
 * it has written and not sent count against its worker's share of
 * --max-held-bytes while it does.  Lives on the handler's stack. */
struct es_holder {
	struct es_holder *prev, *next; /* the worker's list of holders */
	struct es_worker *w;	       /* the worker running the handler */
	cr_task *task;		       /* the handler's task */
	size_t held;		       /* bytes accounted */
	int cut;		       /* 1 = cut over --max-held-bytes */
};

/* What one worker owns besides cr_server's part: touched only by tasks on
 * that worker, except the counters, which any thread may read. */
struct es_worker {
	struct es_holder holders;	/* list head of the holders */
	size_t held_budget;		/* its share of --max-held-bytes, 0 = no limit */
	size_t held_bytes;		/* bytes its holders hold */
	size_t held_doomed;		/* of those, bytes of holders cut and not yet ended */
	_Atomic uint64_t send_timeouts; /* connections reset by --send-timeout */
	_Atomic uint64_t held_cut;	/* connections reset over --max-held-bytes */
	_Atomic uint64_t held_peak;	/* most bytes its holders held at once */
	_Atomic uint64_t udp_in;	/* datagrams received */
	_Atomic uint64_t udp_out;	/* datagrams sent back */
	_Atomic uint64_t udp_bytes_in;	/* their bytes */
	_Atomic uint64_t udp_bytes_out; /* bytes of datagrams sent back */
	_Atomic uint64_t udp_errors;	/* datagram receive or send failures */
	_Atomic int stopping;		/* 1 once the UDP loops are to end */
};

/* State shared by every worker: read-only once serving starts. */
struct es_shared {
	const struct es_options *opts; /* the command line */
	struct es_listen_set *set;     /* the addresses */
	cr_server *srv;		       /* the TCP / Unix server */
	struct es_worker *ws;	       /* one per worker */
	unsigned n;		       /* how many */
};

/* The connection handler (cr_server_handler, arg: struct es_shared):
 * echoes every byte until the client's EOF, then half-closes; logs with
 * --verbose; applies --send-timeout and --max-held-bytes.  Returns 0 after
 * the client's EOF, else the error (the toolkit resets the connection). */
int es_echo(cr_stream *s, const cr_server_conn *c, void *arg);

/* Accounts for h's more bytes (h on its worker's list of holders from now
 * on).  When the worker's holders would go over its share of
 * --max-held-bytes, the holders holding the most (counting h's more bytes)
 * are cut, largest first, until the rest fits; if that is h itself, nothing
 * is accounted.  Returns 0, or -ENOBUFS when h must end (h->cut set). */
int es_held_reserve(struct es_holder *h, size_t more);

/* Accounts for h's bytes being sent or dropped, and takes h off the list.
 * Returns nothing. */
void es_held_release(struct es_holder *h);

/* One UDP echo loop on one socket of the calling worker. */
struct es_udp_loop {
	struct es_worker *w; /* the worker it runs on */
	int *fd;	     /* the UDP socket's slot (closed and set to -1 at the end) */
};

/* Task: echoes datagrams on *u->fd until the worker stops (it cancels the
 * loop), then closes the socket.  Returns 0 or -ENOMEM. */
int es_udp_main(void *arg);

/* Adds the totals of srv and of the workers ws[0 .. n) into *total.
 * Any thread.  Returns nothing. */
void es_stats_collect(const struct es_shared *sh, struct es_stats *total);

/* ---- main.c, shutdown.c ------------------------------------------------------------- */

/* Exit statuses, one meaning each (the usage text and the README list them). */
#define ES_EXIT_STOPPED 0 /* stopped by a signal (or --help / --version printed) */
#define ES_EXIT_START 1	  /* serving could not start; nothing was announced */
#define ES_EXIT_USAGE 2	  /* the command line is wrong */
#define ES_EXIT_FAILED 3  /* serving began but waiting for signals failed; stopped */

/* Blocks, in the calling thread, the signals the server handles (SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT, SIGUSR1: threads made later inherit that) and
 * ignores SIGPIPE.  Call first thing in main.  Returns nothing. */
void es_signals_block(void);

/* Opens a signalfd for the handled signals.  Returns the fd or -errno. */
int es_signals_open(void);

/* The task that reads the signals and acts on them (shutdown.c). */
struct es_watch;

/* Starts the task reading signal_fd (from the main task, before it
 * serves; t0 = start time for the totals).  SIGINT, SIGTERM and SIGHUP
 * stop the server gracefully (cr_server_stop: --grace for the connections),
 * a second one or SIGQUIT cuts every connection (a cancel of the main task,
 * which serves), SIGUSR1 prints the totals so far.  Returns the watcher,
 * or NULL (error printed). */
struct es_watch *es_watch_start(struct es_shared *sh, int signal_fd, uint64_t t0);

/* Stops the server at once, as SIGQUIT does (why is printed).  Call from
 * the main task.  Returns nothing. */
void es_watch_stop_now(struct es_watch *wt, const char *why);

/* Ends and frees the watcher (after serving).  Returns ES_EXIT_STOPPED, or
 * ES_EXIT_FAILED if waiting for signals failed (the server stopped then). */
int es_watch_end(struct es_watch *wt);

#endif
