/* SPDX-License-Identifier: MIT */
/* The buffered stream's state, shared by its reader, writer, file sender and open/close. */
#ifndef CORING_NET_STREAM_IMPL_H
#define CORING_NET_STREAM_IMPL_H

#include <coring/net.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime_internal.h"

/* A growable byte buffer of the writer. */
typedef struct cr__wbuf {
	char *data; /* the bytes */
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated */
} cr__wbuf;

struct cr_stream {
	struct cr__worker *w; /* the owning worker */
	int fd;		      /* the socket (owned) */
	/* reader */
	char *rbuf;	     /* read buffer (allocated at the first receive) */
	size_t rcap;	     /* its size: read_size at first, doubled up to limit */
	size_t rstart, rend; /* buffered bytes are rbuf[rstart .. rend) */
	size_t limit;	     /* most bytes buffered, longest readuntil result */
	size_t read_size;    /* first rcap, and the smallest read sent straight to a caller */
	int rerr;	     /* lasting receive error, 0 if none */
	uint8_t reof;	     /* end of stream received */
	uint8_t reading;     /* a task is inside a receive */
	uint8_t rx_paused;   /* the receiver is paused (the stream stopped reading) */
	cr_receiver *rx;     /* the pool reader (cr_stream_opts.pool), NULL: one-shot recv */
	size_t rx_size;	     /* bytes per buffer of its pool */
	size_t rnew;	     /* pool reader: bytes an interrupted fill buffered, which the next
			      * fill reports without waiting */
	size_t rhid;	     /* pool reader: bytes received past the limit, kept at rbuf[rend ..
			      * rend + rhid) and made buffered by later fills */
	/* writer */
	cr__wbuf acc;		 /* written, not yet handed to the kernel */
	cr__wbuf fly;		 /* handed to the kernel: fly.data[fly_off .. fly.len) unsent */
	size_t fly_off;		 /* bytes of fly already sent */
	size_t high, low;	 /* drain's water marks */
	cr__cqe_handler send_h;	 /* completions of the send in flight */
	cr_callback_id flush_id; /* the scheduled end-of-iteration flush, 0 if none */
	int werr;		 /* lasting send error, 0 if none */
	uint8_t sending;	 /* a send is in the kernel */
	uint8_t wclosed;	 /* write_eof done */
	uint8_t splicing;	 /* cr_stream_sendfile runs: no send may start meanwhile */
	uint8_t closing;	 /* cr_stream_close cancels the send: do not start another */
	cr__wait *drain_waiter;	 /* the task waiting for the buffer to empty, or NULL */
	size_t drain_target;	 /* it is woken when no more than this is unsent */
	cr__wait *close_waiter;	 /* close waiting for the last send completion, or NULL */
	int pipe_r, pipe_w;	 /* the splice pipe of cr_stream_sendfile, -1 until needed */
	/* counters (cr_server's statistics and idle timeout read them) */
	uint64_t nin;  /* bytes received */
	uint64_t nout; /* bytes sent */
};

/* Returns the bytes written and not yet sent. */
static inline size_t cr__stream_unsent(const cr_stream *s)
{
	return s->acc.len + (s->fly.len - s->fly_off);
}

/* Hands what is buffered to the kernel if no send is in flight (one send).
 * Returns nothing. */
void cr__stream_start_send(cr_stream *s);

/* Waits until no more than target written bytes are unsent (starting the
 * send).  Returns 0, the lasting send error, -EBUSY (another task waits),
 * -ECANCELED, -ETIMEDOUT. */
int cr__stream_wait_unsent(cr_stream *s, size_t target);

/* Checks the common arguments of a call on s: not NULL, on its worker.
 * Returns 0, -EINVAL or -EXDEV. */
int cr__stream_check(const cr_stream *s);

/* Makes err (negative) the lasting error of s's reader and writer where they
 * have none yet, so that every later call fails with it and cr_stream_close
 * resets the connection (cr_server cuts connections so).  The caller cancels
 * the task inside a call on s, if any.  Returns nothing. */
void cr__stream_abort(cr_stream *s, int err);

/* cr_stream_close, also reporting the stream's byte counts (when not NULL)
 * once closed.  Returns as cr_stream_close (the counts are written only when
 * s was closed). */
int cr__stream_close(cr_stream *s, uint64_t *nin, uint64_t *nout);

/* Makes bytes received past the limit (rhid) buffered, up to the limit.
 * Returns how many. */
static inline size_t cr__stream_expose(cr_stream *s)
{
	size_t have = s->rend - s->rstart;
	size_t k = have >= s->limit ? 0 : s->limit - have;
	if (k > s->rhid)
		k = s->rhid;
	s->rend += k;
	s->rhid -= k;
	return k;
}

/* Opens the pool reader of s: a receiver on pool (of the calling worker)
 * holding at most max_held chunks.  Returns 0, -ENOMEM, -EXDEV. */
int cr__stream_pool_open(cr_stream *s, cr_bufpool *pool, unsigned max_held);

/* Pool reader: waits for the next chunk(s) and copies them into the read
 * buffer, releasing them at once; resumes a paused receiver first.  Returns
 * the bytes added, 0 at end of stream, -EMSGSIZE (limit bytes buffered: the
 * receiver is paused), -ENOMEM, or as cr_receiver_next. */
ssize_t cr__stream_pool_fill(cr_stream *s);

/* The stream stops reading for a while (buffer at the limit, a wait for the
 * peer to read): pauses the pool reader and moves every queued chunk into the
 * read buffer (past the limit by at most max_held chunks), so that s holds
 * no pool buffer until its next fill.  Nothing without a pool reader or while
 * a task waits in a receive on s.  Returns nothing. */
void cr__stream_stall_reader(cr_stream *s);

/* Ends the pool reader (its queued chunks moved into the read buffer first);
 * later reads are one-shot receives.  Returns nothing. */
void cr__stream_detach_pool(cr_stream *s);

/* Returns 1 if a task waits inside a call on s (a receive, a drain or flush,
 * a file send), else 0. */
static inline int cr__stream_waiting(const cr_stream *s)
{
	return s->reading || s->drain_waiter || s->splicing;
}

#endif
