/* SPDX-License-Identifier: MIT */
/* The sender task of a connection: closed loop or on a --rate schedule, batching what fits. */
#include "conn.h"
#include "payload.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Returns when message seq of c is due (--rate): each connection's schedule
 * starts when it connected, offset so that the connections' schedules are
 * spread evenly over one interval. */
static uint64_t due_ns(const ec_conn *c, uint64_t seq)
{
	const ec_run *r = c->run;
	double phase = r->interval_ns * (double)c->id / (double)r->opt->connections;
	return c->t0_ns + (uint64_t)(phase + r->interval_ns * (double)seq);
}

/* Returns the number of messages of c due before limit_ns (--rate). */
static uint64_t due_before(const ec_conn *c, uint64_t limit_ns)
{
	const ec_run *r = c->run;
	double phase = r->interval_ns * (double)c->id / (double)r->opt->connections;
	double span = (double)limit_ns - (double)c->t0_ns - phase;
	return span > 0 ? (uint64_t)ceil(span / r->interval_ns) : 0;
}

/* Picks the length of the next message.  Returns nothing. */
static void pick_len(ec_conn *c)
{
	const ec_options *o = c->run->opt;
	if (o->size_min == o->size_max) {
		c->next_len = o->size_min;
		return;
	}
	/* xorshift64* */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	uint64_t x = c->rng * 0x2545f4914f6cdd1dull;
	uint64_t span = (uint64_t)o->size_max - o->size_min + 1;
	c->next_len = o->size_min + (uint32_t)((x >> 11) % span);
}

/* Records the next message in the ring.  Returns its identity. */
static ec_msg_id take_next(ec_conn *c, uint64_t now)
{
	int rate = c->run->opt->rate > 0;
	ec_msg_id m = {.conn = c->id, .seq = c->next_seq, .len = c->next_len};
	ec_conn_push(c, m.seq, rate ? due_ns(c, m.seq) : now, m.len);
	c->next_seq++;
	pick_len(c);
	return m;
}

/* Handles a failed send of which `sent` bytes of the last n messages went
 * out.  Returns err. */
static int cut_short(ec_conn *c, unsigned n, size_t sent, int err)
{
	for (unsigned i = c->count - n; i < c->count; i++) {
		ec_flight *f = ec_conn_at(c, i);
		if (sent >= f->len) {
			sent -= f->len;
		} else {
			f->expect = (uint32_t)sent;
			f->timed = 0;
			sent = 0;
		}
	}
	ec_conn_settle(c, cr_now_ns());
	if (err == -ECONNRESET || err == -EPIPE)
		c->reset = 1;
	if (err != -ECANCELED)
		ec_conn_error(c, &c->w->st.send_errors, "send: %s", strerror(-err));
	return err;
}

/* Sends one message longer than the send buffer, piece by piece.  Returns 0
 * or a negative errno value. */
static int send_large(ec_conn *c, const ec_msg_id *m)
{
	for (uint32_t off = 0; off < m->len;) {
		size_t n = m->len - off < c->sbuf_cap ? m->len - off : c->sbuf_cap;
		size_t sent = 0;
		ec_payload_fill(m, off, c->sbuf, n);
		ssize_t s = cr_send_all(c->fd, c->sbuf, n, &sent);
		ec_count(&c->w->st.bytes_tx, sent);
		if (s < 0)
			return cut_short(c, 1, off + sent, (int)s);
		off += (uint32_t)n;
	}
	return 0;
}

/* Sends the next message, and with it every following one that is due, has
 * a free place in the ring and fits in the send buffer, in one write.
 * Returns 0 or a negative errno value. */
static int send_batch(ec_conn *c, uint64_t now)
{
	ec_run *r = c->run;
	int rate = r->opt->rate > 0;
	ec_msg_id m = take_next(c, now);
	if (m.len > c->sbuf_cap)
		return send_large(c, &m);
	size_t fill = m.len;
	unsigned n = 1;
	ec_payload_fill(&m, 0, c->sbuf, m.len);
	while (fill + c->next_len <= c->sbuf_cap) {
		if (rate && (due_ns(c, c->next_seq) > now || due_ns(c, c->next_seq) >= r->end_ns))
			break;
		if (cr_sem_try_acquire(&c->slots) < 0)
			break;
		m = take_next(c, now);
		ec_payload_fill(&m, 0, c->sbuf + fill, m.len);
		fill += m.len;
		n++;
	}
	size_t sent = 0;
	ssize_t s = cr_send_all(c->fd, c->sbuf, fill, &sent);
	ec_count(&c->w->st.bytes_tx, sent);
	return s < 0 ? cut_short(c, n, sent, (int)s) : 0;
}

int ec_sender_main(void *arg)
{
	ec_conn *c = arg;
	ec_run *r = c->run;
	int rate = r->opt->rate > 0, err = 0;
	c->rng = 0x9e3779b97f4a7c15ull * ((uint64_t)c->id + 1) | 1;
	pick_len(c);
	for (;;) {
		uint64_t now = cr_now_ns();
		if (ec_run_stopping(r, now))
			break;
		if (rate) {
			uint64_t due = due_ns(c, c->next_seq);
			if (due >= r->end_ns)
				break;
			if (due > now && cr_sleep_until(due) < 0)
				break;
		}
		int waited = 0;
		if (cr_sem_try_acquire(&c->slots) < 0) {
			if (rate && cr_now_ns() >= r->end_ns)
				break; /* due before the end, but no room until after it */
			if (cr_sem_acquire(&c->slots) < 0)
				break;
			waited = 1;
		}
		/* With --rate, a message due before the end is still sent if the
		 * timer woke us a little after it and no wait for room was needed. */
		now = cr_now_ns();
		if (atomic_load_explicit(&r->stop, memory_order_relaxed) ||
		    (now >= r->end_ns && (!rate || waited))) {
			cr_sem_release(&c->slots);
			break;
		}
		err = send_batch(c, now);
		if (err < 0)
			break;
	}
	if (rate && err == 0 && !c->failed) {
		uint64_t limit = r->end_ns;
		if (atomic_load_explicit(&r->stop, memory_order_acquire)) {
			uint64_t s = atomic_load_explicit(&r->stop_ns, memory_order_relaxed);
			limit = s < limit ? s : limit;
		}
		uint64_t due = due_before(c, limit);
		if (due > c->next_seq)
			ec_count(&c->w->st.behind, due - c->next_seq);
	}
	c->sending_done = 1;
	ec_conn_maybe_shutdown(c);
	return 0;
}
