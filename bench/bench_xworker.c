/* SPDX-License-Identifier: MIT */
/* Cross-worker wake-up latency measured on the runtime's internal wait records (as tests do). */
#include <coring.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/*
 * The one place in bench/ that reaches below the public API: there is no public call
 * that just wakes a task on another worker (every public cross-worker call carries a
 * request as well), so this measurement parks and wakes the runtime's wait records
 * directly, exactly as tests/test_xthread_wake.c does.  Everything else in bench/ uses
 * <coring.h> only.
 */
#include "../runtime/wait.h"
#include "../runtime/worker.h"

typedef _Atomic(cr__wait *) wait_slot;

/* One ping-pong pair: the pinger on worker 0, the ponger on worker 1. */
typedef struct xw_pingpong {
	wait_slot slot[2]; /* the wait side i published, to be woken by the other side */
	uint64_t n;	   /* round trips */
	uint64_t *lat;	   /* per round trip: ns from the ping's wake to the pong's arrival */
	int err;	   /* first error of either side */
} xw_pingpong;

/* Takes the wait the peer published in *slot, yielding until there is one.  Returns it,
 * or NULL if the yield failed. */
static cr__wait *take(wait_slot *slot)
{
	cr__wait *w;
	while (!(w = atomic_exchange_explicit(slot, NULL, memory_order_acq_rel)))
		if (cr_yield() != 0)
			return NULL;
	return w;
}

/* Prepares w for the current task and publishes it in *slot.  Returns 0 or -errno. */
static int publish(wait_slot *slot, cr__wait *w)
{
	int r = cr__wait_prepare();
	if (r)
		return r;
	cr__wait_init(w, NULL);
	atomic_store_explicit(slot, w, memory_order_release);
	return 0;
}

/* Worker 0's side: starts each round trip and times it.  Returns 0 or -errno. */
static int ping(void *arg)
{
	xw_pingpong *pp = arg;
	for (uint64_t k = 1; k <= pp->n; k++) {
		cr__wait w;
		cr__wait *peer = take(&pp->slot[1]);
		int r = peer ? publish(&pp->slot[0], &w) : -ECANCELED;
		if (r)
			return pp->err = r;
		uint64_t t0 = cr_now_ns();
		cr__wake(peer, (int)k);
		int v = cr__wait_park(&w);
		pp->lat[k - 1] = cr_now_ns() - t0;
		if (v != (int)k)
			return pp->err = -EPROTO;
	}
	return 0;
}

/* Worker 1's side: answers every wake-up.  Returns 0 or -errno. */
static int pong(void *arg)
{
	xw_pingpong *pp = arg;
	cr__wait w;
	int r = publish(&pp->slot[1], &w);
	for (uint64_t k = 1; k <= pp->n && r == 0; k++) {
		int v = cr__wait_park(&w);
		cr__wait *peer = take(&pp->slot[0]);
		if (v != (int)k || !peer)
			return pp->err = -EPROTO;
		if (k < pp->n)
			r = publish(&pp->slot[1], &w);
		cr__wake(peer, v);
	}
	return r;
}

/* Runs the pair to the end.  Returns 0 or the first error. */
static int run_pair(xw_pingpong *pp)
{
	cr_spawn_opts o1 = {.name = "bench-pong", .placement = CR_ON_WORKER, .worker = 1};
	cr_task *tping, *tpong;
	int r = cr_spawn(&tpong, pong, pp, &o1);
	if (r)
		return r;
	r = cr_spawn(&tping, ping, pp, NULL);
	if (r) {
		cr_cancel(tpong);
		cr_join(tpong, NULL);
		return r;
	}
	int r1 = cr_join(tping, NULL), r2 = cr_join(tpong, NULL);
	return r1 ? r1 : r2 ? r2 : pp->err;
}

int bench_xw_wake(uint64_t iters, bench_sample *out)
{
	xw_pingpong pp;
	cr_stats a, b;
	if (cr_worker_count() < 2 || cr_worker_id() != 0)
		return -ENODEV;
	memset(&pp, 0, sizeof(pp));
	pp.n = iters;
	pp.lat = malloc(iters * sizeof(*pp.lat));
	if (!pp.lat)
		return -ENOMEM;
	int r = bench_xw_counters(&a);
	if (r == 0)
		r = run_pair(&pp);
	if (r == 0)
		r = bench_xw_counters(&b);
	memset(out, 0, sizeof(*out));
	if (r == 0) {
		double wakes = (double)(b.wakeups_sent - a.wakeups_sent);
		bench_latency_summary(pp.lat, iters, &out->value, &out->extra[0], NULL);
		out->extra[1] = wakes ? (double)(b.enter_calls - a.enter_calls) / wakes : 0.0;
		out->extra[2] = wakes ? (double)(b.doorbells_sent - a.doorbells_sent) / wakes : 0.0;
	}
	free(pp.lat);
	return r;
}
