/* SPDX-License-Identifier: MIT */
/* The receiving side of a connection: each echoed byte checked against its message. */
#include "conn.h"
#include "payload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Prints the first corruption seen on c: where, what was expected, and what
 * the data looks like if it holds another message's header.  Returns nothing. */
static void show_corruption(ec_conn *c, const ec_flight *f, const uint8_t *data, size_t n,
			    size_t first, size_t bad)
{
	ec_msg_id m = {.conn = c->id, .seq = f->seq, .len = f->len};
	char where[160] = "";
	ec_msg_id other;
	if (f->got == 0 && ec_payload_header(data, n, &other) &&
	    (other.conn != m.conn || other.seq != (uint32_t)m.seq || other.len != m.len))
		snprintf(where, sizeof(where),
			 "; the data there starts with the header of "
			 "connection %u message %u (%u bytes)",
			 (unsigned)other.conn, (unsigned)other.seq, (unsigned)other.len);
	c->corruption_shown = 1;
	ec_run_error(c->run,
		     "connection %u: message %llu (%u bytes): %zu corrupted bytes in %zu received "
		     "at offset %u, the first at offset %zu (expected 0x%02x, got 0x%02x)%s",
		     (unsigned)c->id, (unsigned long long)f->seq, (unsigned)f->len, bad, n,
		     (unsigned)f->got, (size_t)f->got + first,
		     ec_payload_byte(&m, (uint32_t)(f->got + first)), data[first], where);
}

/* Counts bytes received when nothing is expected.  Returns nothing. */
static void unexpected(ec_conn *c, const uint8_t *data, size_t n)
{
	ec_count(&c->w->st.unexpected, n);
	ec_count(&c->w->st.corrupted, n);
	if (!c->corruption_shown) {
		c->corruption_shown = 1;
		ec_run_error(c->run,
			     "connection %u: %zu bytes received that were never sent "
			     "(the first is 0x%02x)",
			     (unsigned)c->id, n, data[0]);
	}
	c->failed = 1;
}

/* Checks n received bytes against the messages in flight, retiring those
 * now complete.  Returns nothing. */
static void consume(ec_conn *c, const uint8_t *data, size_t n, uint64_t now)
{
	ec_count(&c->w->st.bytes_rx, n);
	while (n > 0) {
		if (c->count == 0) {
			unexpected(c, data, n);
			return;
		}
		ec_flight *f = ec_conn_front(c);
		size_t take = f->expect - f->got;
		if (take > n)
			take = n;
		ec_msg_id m = {.conn = c->id, .seq = f->seq, .len = f->len};
		size_t first = 0;
		size_t bad = ec_payload_verify(&m, f->got, data, take, &first);
		if (bad) {
			ec_count(&c->w->st.corrupted, bad);
			c->failed = 1;
			if (!c->corruption_shown)
				show_corruption(c, f, data, take, first, bad);
		}
		f->got += (uint32_t)take;
		data += take;
		n -= take;
		if (f->got == f->expect)
			ec_conn_retire(c, now);
	}
}

/* Handles the server's end of stream.  Returns nothing. */
static void end_of_stream(ec_conn *c)
{
	c->eof = 1;
	if (c->reset)
		return; /* the end a reset leaves behind: already counted as an error */
	if (c->count > 0)
		ec_conn_error(c, &c->w->st.closed_early,
			      "the server closed the connection with %llu bytes of %u message%s "
			      "not echoed",
			      (unsigned long long)ec_conn_outstanding(c), c->count,
			      c->count == 1 ? "" : "s");
	else if (!c->sending_done)
		ec_conn_error(c, &c->w->st.closed_early,
			      "the server closed the connection before the client's end of stream");
}

/* Returns when the receiver gives up waiting: --grace after the end of
 * sending (the duration, or the stop signal if one came first). */
static uint64_t drain_deadline(ec_run *r)
{
	uint64_t end = r->end_ns;
	if (atomic_load_explicit(&r->stop, memory_order_acquire)) {
		uint64_t s = atomic_load_explicit(&r->stop_ns, memory_order_relaxed);
		end = s < end ? s : end;
	}
	return end + r->grace_ns;
}

void ec_receiver_run(ec_conn *c)
{
	ec_run *r = c->run;
	for (;;) {
		cr_deadline d;
		cr_deadline_enter(&d, drain_deadline(r));
		ssize_t n = cr_recv(c->fd, c->rbuf, c->rbuf_cap);
		cr_deadline_exit(&d);
		if (n > 0) {
			consume(c, c->rbuf, (size_t)n, cr_now_ns());
			ec_conn_maybe_shutdown(c);
			continue;
		}
		/* Cancelled by the first stop signal: the deadline moved closer. */
		if (n == -ECANCELED && !atomic_load_explicit(&r->abandon, memory_order_acquire))
			continue;
		if (n == 0)
			end_of_stream(c);
		else if (n != -ETIMEDOUT && n != -ECANCELED) {
			if (n == -ECONNRESET)
				c->reset = 1;
			ec_conn_error(c, &c->w->st.recv_errors, "receive: %s", strerror((int)-n));
		}
		/* -ETIMEDOUT: the grace period is over (what is still in flight is
		 * counted as unanswered by the caller, a stream the server did not
		 * end as not closed); -ECANCELED: abandoned. */
		break;
	}
}
