/* SPDX-License-Identifier: MIT */
/* The server's life outside serving: options, addresses, bound ports, stop, take, counters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime_internal.h"
#include "server_impl.h"

void cr_server_opts_init(cr_server_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->idle_timeout_ns = CR_SERVER_IDLE_TIMEOUT_DEFAULT;
	o->grace_ns = CR_SERVER_GRACE_DEFAULT;
	o->nodelay = 1;
	o->pool_buffers = CR_SERVER_POOL_BUFFERS_DEFAULT;
	o->pool_buffer_size = CR_SERVER_POOL_BUFFER_SIZE_DEFAULT;
}

/* Checks o.  Returns 0 or -EINVAL. */
static int check_opts(const cr_server_opts *o)
{
	const cr_stream_opts *so = &o->stream;
	size_t high = so->high_water ? so->high_water : CR_STREAM_HIGH_WATER_DEFAULT;
	if (o->backlog < 0 || (o->nodelay != 0 && o->nodelay != 1))
		return -EINVAL;
	if (o->stack_size > CR_MAX_STACK_SIZE)
		return -EINVAL;
	if (so->limit > CR_STREAM_LIMIT_MAX || (so->low_water && so->low_water > high))
		return -EINVAL;
	if (so->pool || o->pool_buffers > 32768 || (o->pool_buffers & (o->pool_buffers - 1)))
		return -EINVAL;
	return 0;
}

int cr_server_create(cr_server **out, cr_server_handler handler, void *arg,
		     const cr_server_opts *opts)
{
	cr_server_opts o;
	if (!out || !handler)
		return -EINVAL;
	if (opts)
		o = *opts;
	else
		cr_server_opts_init(&o);
	int e = check_opts(&o);
	if (e)
		return e;
	cr_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->handler = handler;
	srv->arg = arg;
	srv->opts = o;
	*out = srv;
	return 0;
}

int cr_server_add_addr(cr_server *srv, const cr_addr *a)
{
	if (!srv || !a)
		return -EINVAL;
	int fam = a->u.sa.sa_family;
	if ((fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX) || a->len == 0 ||
	    a->len > sizeof(a->u))
		return -EINVAL;
	if (srv->listening || srv->serving)
		return -EBUSY;
	if (srv->n == CR_SERVER_MAX_ADDRS)
		return -ENOSPC;
	cr__srv_listener *l = &srv->l[srv->n];
	memset(l, 0, sizeof(*l));
	l->addr = *a;
	l->is_unix = fam == AF_UNIX;
	return (int)srv->n++;
}

int cr_server_add(cr_server *srv, const char *address)
{
	cr_addr a;
	if (!srv || !address)
		return -EINVAL;
	int e = cr_addr_parse(address, 0, &a);
	return e ? e : cr_server_add_addr(srv, &a);
}

int cr_server_addr(const cr_server *srv, unsigned i, cr_addr *out)
{
	if (!srv || !out || i >= srv->n)
		return -EINVAL;
	if (!srv->listening)
		return -ENOTCONN;
	*out = srv->l[i].addr;
	return 0;
}

int cr_server_port(const cr_server *srv)
{
	if (!srv)
		return -EINVAL;
	if (!srv->listening)
		return -ENOTCONN;
	for (unsigned i = 0; i < srv->n; i++)
		if (!srv->l[i].is_unix)
			return cr_addr_port(&srv->l[i].addr);
	return -ENOENT;
}

int cr_server_stop(cr_server *srv)
{
	if (!srv)
		return -EINVAL;
	int was = 0;
	if (!atomic_compare_exchange_strong(&srv->stop, &was, 1))
		return 0; /* asked already */
	/* The serving task's wait, if it waits: whoever takes it off the slot
	 * (this call, or its own abort) is its one waker. */
	cr__wait *w = atomic_exchange(&srv->stop_waiter, NULL);
	if (w)
		cr__wake(w, 0);
	return 0;
}

int cr_server_stop_now(cr_server *srv)
{
	if (!srv)
		return -EINVAL;
	atomic_store(&srv->stop_now, 1); /* before the stop: serve reads it once woken */
	return cr_server_stop(srv);
}

int cr_server_stopping(const cr_server *srv)
{
	return srv && atomic_load(&((cr_server *)srv)->stop);
}

/* Copies the counters of worker w into *out.  Returns nothing. */
static void read_counters(const cr__srv_counters *c, cr_server_stats *out)
{
#define RD(f) out->f += atomic_load_explicit(&((cr__srv_counters *)c)->f, memory_order_relaxed)
	RD(accepted);
	RD(active);
	RD(refused);
	RD(completed);
	RD(handler_errors);
	RD(idle_closed);
	RD(cut);
	RD(taken);
	RD(setup_errors);
	RD(accept_fd_errors);
	RD(accept_errors);
	RD(bytes_in);
	RD(bytes_out);
#undef RD
}

int cr_server_stats_get(const cr_server *srv, int worker, cr_server_stats *out)
{
	if (!srv || !out || worker < -1)
		return -EINVAL;
	if (worker >= 0 && (!srv->w || (unsigned)worker >= srv->workers))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; srv->w && i < srv->workers; i++)
		if (worker < 0 || (unsigned)worker == i)
			read_counters(&srv->w[i].st, out);
	return 0;
}

int cr_server_destroy(cr_server *srv)
{
	if (!srv)
		return -EINVAL;
	if (srv->serving)
		return -EBUSY;
	cr__srv_listen_close(srv);
	free(srv->w);
	free(srv);
	return 0;
}
