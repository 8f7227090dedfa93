/* SPDX-License-Identifier: MIT */
/* Baselines measured in the same run: swapcontext, a pthread condvar ping-pong, raw liburing NOPs.
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "bench.h"

/* ---- ucontext ------------------------------------------------------------------------ */

#define UC_STACK_SIZE (64u * 1024u)

static ucontext_t uc_main, uc_peer;

/* The peer context: switches straight back, forever (it is abandoned, never returns). */
static void uc_peer_loop(void)
{
	for (;;)
		swapcontext(&uc_peer, &uc_main);
}

int bench_swapcontext(uint64_t iters, bench_sample *out)
{
	void *stack = malloc(UC_STACK_SIZE);
	if (!stack)
		return -ENOMEM;
	if (getcontext(&uc_peer) != 0) {
		free(stack);
		return -errno;
	}
	uc_peer.uc_stack.ss_sp = stack;
	uc_peer.uc_stack.ss_size = UC_STACK_SIZE;
	uc_peer.uc_link = NULL;
	makecontext(&uc_peer, uc_peer_loop, 0);
	uint64_t rounds = iters / 2;
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < rounds; i++)
		swapcontext(&uc_main, &uc_peer); /* there and back: two switches */
	uint64_t elapsed = bench_now_ns() - t0;
	free(stack);
	memset(out, 0, sizeof(*out));
	out->value = (double)elapsed / (double)(2 * rounds);
	return 0;
}

/* ---- pthread mutex + condvar ping-pong ------------------------------------------------- */

typedef struct cv_pingpong {
	pthread_mutex_t mu; /* guards turn */
	pthread_cond_t cv;  /* signalled on every change of turn */
	int turn;	    /* 0: the pinger's turn, 1: the ponger's, -1: stop */
} cv_pingpong;

/* The second thread: answers every ping until turn is -1.  Returns NULL. */
static void *cv_ponger(void *arg)
{
	cv_pingpong *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->turn == 0)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->turn < 0)
			break;
		p->turn = 0;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* One round trip from the pinger's side. */
static void cv_round_trip(cv_pingpong *p)
{
	pthread_mutex_lock(&p->mu);
	p->turn = 1;
	pthread_cond_signal(&p->cv);
	while (p->turn != 0)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

int bench_condvar(uint64_t iters, bench_sample *out)
{
	cv_pingpong p = {.turn = 0};
	pthread_t th;
	uint64_t *lat = malloc(iters * sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	int r = pthread_create(&th, NULL, cv_ponger, &p);
	if (r != 0) {
		free(lat);
		return -r;
	}
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t t0 = bench_now_ns();
		cv_round_trip(&p);
		lat[i] = bench_now_ns() - t0;
	}
	pthread_mutex_lock(&p.mu);
	p.turn = -1;
	pthread_cond_signal(&p.cv);
	pthread_mutex_unlock(&p.mu);
	pthread_join(th, NULL);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	memset(out, 0, sizeof(*out));
	bench_latency_summary(lat, iters, &out->value, &out->extra[0], &out->extra[1]);
	free(lat);
	return 0;
}

/* ---- atomic spin ping-pong --------------------------------------------------------------- */

#define SPIN_BEFORE_YIELD 4096u /* pause loops before giving the CPU away (shared CPU) */

/* Shared by the two spinning threads. */
typedef struct spin_pingpong {
	_Atomic uint64_t ball; /* odd: the ponger's turn, even: the pinger's; UINT64_MAX: stop */
} spin_pingpong;

/* Spins until p->ball != value, yielding the CPU now and then.  Returns the new value. */
static uint64_t spin_until_changed(spin_pingpong *p, uint64_t value)
{
	uint64_t v;
	for (unsigned i = 1; (v = atomic_load_explicit(&p->ball, memory_order_acquire)) == value;
	     i++) {
#if defined(__x86_64__)
		__builtin_ia32_pause();
#endif
		if (i % SPIN_BEFORE_YIELD == 0)
			sched_yield();
	}
	return v;
}

/* The second thread: returns every odd ball as the next even one.  Returns NULL. */
static void *spin_ponger(void *arg)
{
	spin_pingpong *p = arg;
	uint64_t v = 0;
	while ((v = spin_until_changed(p, v)) != UINT64_MAX)
		atomic_store_explicit(&p->ball, ++v, memory_order_release);
	return NULL;
}

int bench_spin(uint64_t iters, bench_sample *out)
{
	spin_pingpong p = {0};
	pthread_t th;
	uint64_t *lat = malloc(iters * sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	int r = pthread_create(&th, NULL, spin_ponger, &p);
	if (r != 0) {
		free(lat);
		return -r;
	}
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t t0 = bench_now_ns();
		atomic_store_explicit(&p.ball, 2 * i + 1, memory_order_release);
		spin_until_changed(&p, 2 * i + 1);
		lat[i] = bench_now_ns() - t0;
	}
	atomic_store_explicit(&p.ball, UINT64_MAX, memory_order_release);
	pthread_join(th, NULL);
	memset(out, 0, sizeof(*out));
	bench_latency_summary(lat, iters, &out->value, &out->extra[0], &out->extra[1]);
	free(lat);
	return 0;
}

/* ---- raw liburing NOPs ------------------------------------------------------------------ */

static int raw_flags = -1; /* setup flags of the last raw ring, -1 before one was made */

/* Sets up a ring the way the runtime prefers (SINGLE_ISSUER | DEFER_TASKRUN, registered
 * ring fd), falling back to no flags.  Returns 0 or -errno. */
static int raw_ring_open(struct io_uring *ring)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
	int r = io_uring_queue_init_params(256, ring, &p);
	if (r == -EINVAL) {
		memset(&p, 0, sizeof(p));
		r = io_uring_queue_init_params(256, ring, &p);
	}
	if (r < 0)
		return r;
	raw_flags = (int)p.flags;
	(void)io_uring_register_ring_fd(ring);
	return 0;
}

int bench_raw_ring_flags(void)
{
	return raw_flags;
}

/* Submits `batch` NOPs, waits for them and consumes their CQEs.  Returns 0 or -errno. */
static int raw_nop_batch(struct io_uring *ring, unsigned batch)
{
	for (unsigned i = 0; i < batch; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_nop(sqe);
	}
	int r = io_uring_submit_and_wait(ring, batch);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < batch; i++) {
		struct io_uring_cqe *cqe;
		r = io_uring_wait_cqe(ring, &cqe);
		if (r < 0)
			return r;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

/* Times iters/batch batches of NOPs on a fresh ring.  Returns 0 or -errno. */
static int raw_nops(uint64_t iters, unsigned batch, bench_sample *out)
{
	struct io_uring ring;
	int r = raw_ring_open(&ring);
	if (r < 0)
		return r;
	uint64_t rounds = iters / batch;
	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < rounds && r == 0; i++)
		r = raw_nop_batch(&ring, batch);
	uint64_t elapsed = bench_now_ns() - t0;
	io_uring_queue_exit(&ring);
	memset(out, 0, sizeof(*out));
	out->value = (double)elapsed / (double)(rounds * batch);
	return r;
}

int bench_raw_nop(uint64_t iters, bench_sample *out)
{
	return raw_nops(iters, 1, out);
}

int bench_raw_nop64(uint64_t iters, bench_sample *out)
{
	return raw_nops(iters, 64, out);
}
