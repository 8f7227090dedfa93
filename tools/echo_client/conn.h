/* SPDX-License-Identifier: MIT */
/* One load-mode connection: a task that receives and checks echoes, and a sender task beside it. */
#ifndef EC_CONN_H
#define EC_CONN_H

#include <coring.h>

#include <stdint.h>

#include "run.h"

/*
 * A connection is two tasks on one worker: the connection task connects,
 * starts the sender, receives and checks the echoes, and closes; the sender
 * sends messages while the ring of messages in flight has room (--pipeline)
 * and, with --rate, at their scheduled times.  Both run on the same worker,
 * so they share the ring without locks; the semaphore `slots` counts its
 * free places.  The sender records each message in the ring before sending
 * it (the echo may start to come back before the send returns); the receiver
 * checks bytes against the oldest message in the ring and retires it when
 * all its bytes are back.
 */

/* A message in flight. */
typedef struct ec_flight {
	uint64_t seq;	 /* message number */
	uint64_t t_ns;	 /* when it was sent (closed loop) or due (--rate) */
	uint32_t len;	 /* message length (its content depends on it) */
	uint32_t expect; /* bytes expected back: len, or what was sent of it */
	uint32_t got;	 /* bytes received and checked so far */
	int timed;	 /* 1 if the whole message was sent: its latency counts */
} ec_flight;

/* A connection of the load run. */
typedef struct ec_conn {
	ec_run *run;	      /* the run */
	uint32_t id;	      /* connection number, from 0 */
	int fd;		      /* the socket; -1 when not connected */
	ec_worker *w;	      /* the worker it runs on */
	cr_task *self;	      /* the connection task */
	cr_task *sender;      /* the sender task, NULL when none runs */
	struct ec_conn *next; /* next live connection of the worker */
	struct ec_conn *prev; /* previous live connection of the worker */
	ec_flight *ring;      /* messages in flight, oldest at head */
	unsigned cap;	      /* places in ring (--pipeline) */
	unsigned head;	      /* index of the oldest message */
	unsigned count;	      /* messages in the ring */
	cr_sem slots;	      /* free places in the ring */
	int slots_ready;      /* 1 once slots was initialised */
	uint64_t t0_ns;	      /* when it connected: start of its --rate schedule */
	uint64_t next_seq;    /* number of the next message to send */
	uint32_t next_len;    /* length of the next message (chosen ahead) */
	uint64_t rng;	      /* state of the size generator */
	uint8_t *sbuf;	      /* send buffer */
	size_t sbuf_cap;      /* its size */
	uint8_t *rbuf;	      /* receive buffer */
	size_t rbuf_cap;      /* its size */
	int sending_done;     /* 1 once the sender has finished */
	int shut;	      /* 1 once the write side is shut down */
	int connected;	      /* 1 once it connected (the connection started) */
	int eof;	      /* 1 once the server ended its stream */
	int reset;	      /* 1 once a send or receive saw the server reset the connection */
	int failed;	      /* 1 once an error happened on this connection */
	int corruption_shown; /* 1 once a corruption of it was printed */
} ec_conn;

/* The connection task: connect, send and check until the end of the run,
 * close.  arg is the ec_conn.  Returns 0 (outcomes go to the counters). */
int ec_conn_main(void *arg);

/* The sender task (arg: the ec_conn).  Returns 0. */
int ec_sender_main(void *arg);

/* Receives and checks echoes until the server's end of stream, an error,
 * or the end of the grace period.  Returns nothing (outcomes are counted). */
void ec_receiver_run(ec_conn *c);

/* Returns the oldest message in flight (count must be > 0). */
static inline ec_flight *ec_conn_front(ec_conn *c)
{
	return &c->ring[c->head];
}

/* Returns the i-th message in flight, 0 = oldest (i < count). */
static inline ec_flight *ec_conn_at(ec_conn *c, unsigned i)
{
	unsigned k = c->head + i;
	return &c->ring[k >= c->cap ? k - c->cap : k];
}

/* Appends a message to the ring (count < cap).  Returns it. */
ec_flight *ec_conn_push(ec_conn *c, uint64_t seq, uint64_t t_ns, uint32_t len);

/* Retires the oldest message: records its latency (ending at now) if it is
 * a timed one whose echo is complete, and frees its place.  Returns nothing. */
void ec_conn_retire(ec_conn *c, uint64_t now);

/* After a send was cut short: drops the newest messages of which nothing was
 * sent and retires the oldest ones whose (shortened) echo is complete.
 * Returns nothing. */
void ec_conn_settle(ec_conn *c, uint64_t now);

/* Returns the bytes still expected back from the messages in flight. */
uint64_t ec_conn_outstanding(ec_conn *c);

/* Half-closes the socket once the sender has finished and no echo is
 * outstanding (the server then ends its stream).  Returns nothing. */
void ec_conn_maybe_shutdown(ec_conn *c);

/* Counts one error on this connection and prints it (rate-limited).
 * counter is the ec_wstats field of its kind (NULL: none but errors).
 * Returns nothing. */
void ec_conn_error(ec_conn *c, _Atomic uint64_t *counter, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
