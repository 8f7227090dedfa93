// SPDX-License-Identifier: MIT
// sync/ rows of coring-bench, one worker: lock, semaphore, event, condition and queues.
#include "micro.h"

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace
{

constexpr uint64_t STOP = UINT64_MAX; // item that tells a queue peer to return
constexpr long THROUGHPUT_CAPACITY = 1024;
constexpr uint64_t MS = 1000000ull; // one millisecond in ns

// ---- uncontended lock and semaphore ---------------------------------------------------------

int lock_uncontended_body(benchmark::State &state)
{
	cr_lock l;
	int r = 0;
	cr_lock_init(&l);
	for (auto _ : state) {
		r = cr_lock_acquire(&l);
		if (r == 0)
			r = cr_lock_release(&l);
		if (r)
			break;
	}
	return micro::first_error(r, cr_lock_destroy(&l));
}

int sem_body(benchmark::State &state)
{
	cr_sem s;
	int r = cr_sem_init(&s, 1);
	if (r < 0)
		return r;
	for (auto _ : state) {
		r = cr_sem_acquire(&s);
		if (r == 0)
			r = cr_sem_release(&s);
		if (r)
			break;
	}
	return micro::first_error(r, cr_sem_destroy(&s));
}

// ---- lock hand-off between two tasks -------------------------------------------------------

// The lock the two tasks take turns on, who held it last, and the flag that ends the peer.
struct Handoff {
	cr_lock lock;
	int last = 0;		     // guarded by lock: 0 if this task took it last, 1 if the peer
	uint64_t handoffs = 0;	     // guarded by lock: times the holder changed
	std::atomic<int> started{0}; // the peer is about to wait for the lock
	std::atomic<int> stop{0};
};

// Notes that task `me` (0 this task, 1 the peer) now holds h's lock.
void handoff_take(Handoff *h, int me)
{
	if (h->last != me)
		h->handoffs++;
	h->last = me;
}

// Peer task: waits for the lock, then releases and re-acquires it (handing it back each
// time) until stop is set while it holds it.  Returns 0 or the first error.
int handoff_peer(void *arg)
{
	auto *h = static_cast<Handoff *>(arg);
	h->started.store(1);
	int r = cr_lock_acquire(&h->lock);
	while (r == 0 && !h->stop.load(std::memory_order_relaxed)) {
		handoff_take(h, 1);
		r = cr_lock_release(&h->lock);
		if (r == 0)
			r = cr_lock_acquire(&h->lock);
	}
	return r == 0 ? cr_lock_release(&h->lock) : r;
}

} // namespace

int micro::lock_handoffs(benchmark::State &state, int worker)
{
	Handoff h;
	cr_task *t;
	cr_stats a, b;
	cr_lock_init(&h.lock);
	int r = cr_lock_acquire(&h.lock);
	if (r == 0)
		r = micro::spawn_peer(&t, handoff_peer, &h, worker);
	if (r < 0)
		return r;
	// On this worker the peer runs during the yield and blocks on the lock.  On another
	// worker, give it a moment after it says it is about to.
	r = cr_yield();
	while (r == 0 && !h.started.load())
		r = cr_yield();
	if (r == 0 && worker >= 0)
		r = cr_sleep(MS);
	if (r == 0)
		r = micro::sum_stats(&a);
	uint64_t before = h.handoffs;
	while (r == 0 && state.KeepRunningBatch(2)) {
		r = cr_lock_release(&h.lock);
		if (r == 0)
			r = cr_lock_acquire(&h.lock);
		if (r)
			break;
		handoff_take(&h, 0);
	}
	uint64_t after = h.handoffs; // the peer waits for the lock: no race
	h.stop.store(1);
	int e = r == 0 ? micro::sum_stats(&b) : r;
	if (r == 0)
		r = cr_lock_release(&h.lock); // the peer gets it, sees stop, releases it
	r = micro::finish_peer(t, r);
	if (r == 0 && e == 0) {
		if (worker < 0)
			micro::per_iteration(state, "switches_per_op", a.switches, b.switches);
		else
			micro::per_iteration(state, "doorbells_per_op", a.doorbells_sent,
					     b.doorbells_sent);
		micro::per_iteration(state, "enters_per_op", a.enter_calls, b.enter_calls);
		micro::per_iteration(state, "handoffs_per_op", before, after);
	}
	return micro::first_error(micro::first_error(r, e), cr_lock_destroy(&h.lock));
}

namespace
{

// This task holds the lock while the peer waits for it.  One iteration pair: release (the
// lock goes to the peer), acquire (waits; the peer runs, releases it back and waits in its
// own acquire).  A batch of 2 iterations is 2 hand-offs: ns per hand-off.
int lock_handoff_body(benchmark::State &state)
{
	return micro::lock_handoffs(state, -1);
}

// ---- event ping-pong ------------------------------------------------------------------------

// Two events: this task sets ping and waits for pong, the peer the other way round.
struct EventPair {
	cr_event ping, pong;
	std::atomic<int> stop{0};
};

// Peer task: answers every ping with a pong, until a ping comes with stop set.  Returns 0
// or the first error.
int event_peer(void *arg)
{
	auto *p = static_cast<EventPair *>(arg);
	for (;;) {
		int r = cr_event_wait(&p->ping);
		cr_event_clear(&p->ping);
		if (r < 0 || p->stop.load(std::memory_order_relaxed))
			return r;
		r = cr_event_set(&p->pong);
		if (r < 0)
			return r;
	}
}

} // namespace

int micro::event_round_trips(benchmark::State &state, int worker)
{
	EventPair p;
	cr_task *t;
	cr_stats a, b;
	cr_event_init(&p.ping);
	cr_event_init(&p.pong);
	int r = micro::spawn_peer(&t, event_peer, &p, worker);
	if (r < 0)
		return r;
	r = micro::sum_stats(&a);
	if (r == 0) {
		for (auto _ : state) {
			r = cr_event_set(&p.ping);
			if (r == 0)
				r = cr_event_wait(&p.pong);
			cr_event_clear(&p.pong);
			if (r)
				break;
		}
	}
	int e = r == 0 ? micro::sum_stats(&b) : r;
	p.stop.store(1);
	if (r == 0)
		r = cr_event_set(&p.ping);
	r = micro::finish_peer(t, r);
	if (r == 0 && e == 0) {
		micro::per_iteration(state, "enters_per_op", a.enter_calls, b.enter_calls);
		if (worker >= 0)
			micro::per_iteration(state, "doorbells_per_op", a.doorbells_sent,
					     b.doorbells_sent);
	}
	r = micro::first_error(r, e);
	r = micro::first_error(r, cr_event_destroy(&p.ping));
	return micro::first_error(r, cr_event_destroy(&p.pong));
}

namespace
{

int event_body(benchmark::State &state)
{
	return micro::event_round_trips(state, -1);
}

// ---- condition ping-pong ------------------------------------------------------------------

// A condition with its own lock and the flag it guards: this task sets 1, the peer sets 0
// back; 2 tells the peer to return.
struct CondPair {
	cr_cond cond;
	int flag = 0;
};

// Peer task: waits for the flag to become 1, sets it to 0 and notifies, until it is 2.
// Returns 0 or the first error.
int cond_peer(void *arg)
{
	auto *p = static_cast<CondPair *>(arg);
	int r = cr_cond_acquire(&p->cond);
	if (r < 0)
		return r;
	for (;;) {
		while (r == 0 && p->flag == 0)
			r = cr_cond_wait(&p->cond);
		if (r < 0 || p->flag == 2)
			break;
		p->flag = 0;
		r = cr_cond_notify(&p->cond, 1);
		r = r < 0 ? r : 0;
	}
	return micro::first_error(r, cr_cond_release(&p->cond));
}

// One iteration is one round trip: set the flag, notify, wait until the peer cleared it.
// The lock is held across the loop except inside cr_cond_wait.
int cond_body(benchmark::State &state)
{
	CondPair p;
	cr_task *t;
	cr_cond_init(&p.cond, nullptr);
	int r = micro::spawn_peer(&t, cond_peer, &p, -1);
	if (r < 0)
		return r;
	r = cr_cond_acquire(&p.cond);
	if (r < 0)
		return micro::finish_peer(t, r);
	for (auto _ : state) {
		p.flag = 1;
		r = cr_cond_notify(&p.cond, 1);
		r = r < 0 ? r : 0;
		while (r == 0 && p.flag != 0)
			r = cr_cond_wait(&p.cond); // holds the lock again on return
		if (r)
			break;
	}
	p.flag = 2;
	int n = cr_cond_notify(&p.cond, 1);
	r = micro::first_error(r, micro::first_error(n, cr_cond_release(&p.cond)));
	r = micro::finish_peer(t, r);
	return micro::first_error(r, cr_cond_destroy(&p.cond));
}

// ---- queues ------------------------------------------------------------------------------

// Queues of uint64_t: `fwd` from this task to the peer, `back` from the peer to this task.
struct QueuePair {
	cr_queue fwd, back;
};

// Peer of the ping-pong: returns each item through `back` until it gets STOP.  Returns 0
// or the first error.
int queue_echo(void *arg)
{
	auto *p = static_cast<QueuePair *>(arg);
	for (;;) {
		uint64_t v;
		int r = cr_queue_get(&p->fwd, &v);
		if (r < 0 || v == STOP)
			return r;
		r = cr_queue_put(&p->back, &v);
		if (r < 0)
			return r;
	}
}

// Two queues of capacity 1; one iteration is one round trip (put, get the echo).
int queue_pingpong_body(benchmark::State &state)
{
	QueuePair p;
	cr_task *t;
	int r = cr_queue_init(&p.fwd, sizeof(uint64_t), 1);
	if (r == 0)
		r = cr_queue_init(&p.back, sizeof(uint64_t), 1);
	if (r == 0)
		r = micro::spawn_peer(&t, queue_echo, &p, -1);
	if (r < 0)
		return r;
	uint64_t i = 0;
	for (auto _ : state) {
		uint64_t v = i;
		r = cr_queue_put(&p.fwd, &v);
		if (r == 0)
			r = cr_queue_get(&p.back, &v);
		if (r == 0 && v != i++)
			r = -EPROTO;
		if (r)
			break;
	}
	if (r == 0)
		r = cr_queue_put(&p.fwd, &STOP);
	r = micro::finish_peer(t, r);
	r = micro::first_error(r, cr_queue_destroy(&p.fwd));
	return micro::first_error(r, cr_queue_destroy(&p.back));
}

// Consumer: gets items from `fwd` until STOP, checking that they come in order.  Returns
// 0, -EPROTO if one is out of order, or the first error.
int queue_consumer(void *arg)
{
	auto *p = static_cast<QueuePair *>(arg);
	for (uint64_t want = 0;; want++) {
		uint64_t v;
		int r = cr_queue_get(&p->fwd, &v);
		if (r < 0 || v == STOP)
			return r;
		if (v != want)
			return -EPROTO;
	}
}

} // namespace

int micro::queue_stream(benchmark::State &state, int worker)
{
	QueuePair p;
	cr_task *t = nullptr;
	cr_stats a, b;
	int r = cr_queue_init(&p.fwd, sizeof(uint64_t), THROUGHPUT_CAPACITY);
	if (r < 0)
		return r;
	r = micro::spawn_peer(&t, queue_consumer, &p, worker);
	if (r == 0)
		r = micro::sum_stats(&a);
	if (r < 0) {
		r = t ? micro::finish_peer(t, r) : r;
		return micro::first_error(r, cr_queue_destroy(&p.fwd));
	}
	const uint64_t last = static_cast<uint64_t>(state.max_iterations) - 1;
	bool joined = false;
	uint64_t i = 0;
	for (auto _ : state) {
		r = cr_queue_put(&p.fwd, &i);
		if (r == 0 && i++ == last) {
			r = cr_queue_put(&p.fwd, &STOP);
			r = micro::finish_peer(t, r);
			joined = true;
		}
		if (r)
			break;
	}
	if (!joined)
		r = micro::finish_peer(t, r < 0 ? r : -ECANCELED);
	int e = r == 0 ? micro::sum_stats(&b) : r;
	if (r == 0 && e == 0) {
		micro::per_iteration(state, "enters_per_op", a.enter_calls, b.enter_calls);
		if (worker < 0) {
			micro::per_iteration(state, "switches_per_op", a.switches, b.switches);
		} else {
			micro::per_iteration(state, "wakeups_per_op", a.wakeups_sent,
					     b.wakeups_sent);
			micro::per_iteration(state, "doorbells_per_op", a.doorbells_sent,
					     b.doorbells_sent);
		}
	}
	return micro::first_error(micro::first_error(r, e), cr_queue_destroy(&p.fwd));
}

namespace
{

int queue_throughput_body(benchmark::State &state)
{
	return micro::queue_stream(state, -1);
}

} // namespace

void micro_register_sync()
{
	micro::add_coring("coring/lock_uncontended", 1, lock_uncontended_body);
	micro::add_coring("coring/lock_handoff", 1, lock_handoff_body);
	micro::add_coring("coring/sem_acquire_release", 1, sem_body);
	micro::add_coring("coring/event_rt", 1, event_body);
	micro::add_coring("coring/cond_rt", 1, cond_body);
	micro::add_coring("coring/queue_pingpong", 1, queue_pingpong_body);
	micro::add_coring("coring/queue_throughput", 1, queue_throughput_body);
}
