/* SPDX-License-Identifier: MIT */
/* The ring of messages in flight of one connection: append, retire, settle after a short send. */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

ec_flight *ec_conn_push(ec_conn *c, uint64_t seq, uint64_t t_ns, uint32_t len)
{
	ec_flight *f = ec_conn_at(c, c->count);
	c->count++;
	f->seq = seq;
	f->t_ns = t_ns;
	f->len = len;
	f->expect = len;
	f->got = 0;
	f->timed = 1;
	return f;
}

void ec_conn_retire(ec_conn *c, uint64_t now)
{
	ec_flight *f = ec_conn_front(c);
	if (f->timed && f->got == f->len) {
		ec_hist_record(&c->w->hist, now > f->t_ns ? now - f->t_ns : 0);
		ec_count(&c->w->st.messages, 1);
	}
	c->head = c->head + 1 == c->cap ? 0 : c->head + 1;
	c->count--;
	cr_sem_release(&c->slots);
}

void ec_conn_settle(ec_conn *c, uint64_t now)
{
	while (c->count > 0 && ec_conn_at(c, c->count - 1)->expect == 0 &&
	       ec_conn_at(c, c->count - 1)->got == 0) {
		c->count--;
		cr_sem_release(&c->slots);
	}
	while (c->count > 0 && ec_conn_front(c)->got >= ec_conn_front(c)->expect)
		ec_conn_retire(c, now);
}

uint64_t ec_conn_outstanding(ec_conn *c)
{
	uint64_t b = 0;
	for (unsigned i = 0; i < c->count; i++)
		b += ec_conn_at(c, i)->expect - ec_conn_at(c, i)->got;
	return b;
}

void ec_conn_maybe_shutdown(ec_conn *c)
{
	if (c->sending_done && c->count == 0 && !c->shut && c->fd >= 0) {
		c->shut = 1;
		(void)cr_shutdown(c->fd, SHUT_WR);
	}
}

void ec_conn_error(ec_conn *c, _Atomic uint64_t *counter, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (counter)
		ec_count(counter, 1);
	ec_count(&c->w->st.errors, 1);
	c->failed = 1;
	ec_run_error(c->run, "connection %u: %s", (unsigned)c->id, what);
}
