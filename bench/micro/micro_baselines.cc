// SPDX-License-Identifier: MIT
// Baseline rows of coring-bench: boost.context, ucontext, pthread mutex and condvar, spinning.
#include "micro.h"

#include <boost/context/fiber.hpp>

#include <pthread.h>
#include <sched.h>
#include <ucontext.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace
{

namespace ctx = boost::context;

constexpr size_t UC_STACK_SIZE = 64 * 1024;

// ---- boost.context fiber --------------------------------------------------------------------

// A fiber that resumes its caller straight back until stop is set.  Each batch of 2
// iterations is one resume into the fiber and one back: ns per switch.
void boost_fiber_switch(benchmark::State &state)
{
	std::atomic<bool> stop{false};
	ctx::fiber f{[&stop](ctx::fiber &&caller) {
		while (!stop.load(std::memory_order_relaxed))
			caller = std::move(caller).resume();
		return std::move(caller);
	}};
	while (state.KeepRunningBatch(2))
		f = std::move(f).resume();
	stop.store(true);
	f = std::move(f).resume(); // the fiber returns; f is empty again
}

// ---- ucontext swapcontext -----------------------------------------------------------------

ucontext_t uc_main, uc_peer;

// The peer context: switches straight back, forever (abandoned at the end, never returns).
void uc_peer_loop()
{
	for (;;)
		swapcontext(&uc_peer, &uc_main);
}

// Each batch of 2 iterations is one swapcontext there and one back: ns per switch.  glibc's
// swapcontext also sets the signal mask, a system call per switch.
void swapcontext_switch(benchmark::State &state)
{
	void *stack = std::malloc(UC_STACK_SIZE);
	if (!stack || getcontext(&uc_peer) != 0) {
		std::free(stack);
		micro::fail(state, "swapcontext setup", stack ? errno : ENOMEM);
		return;
	}
	uc_peer.uc_stack.ss_sp = stack;
	uc_peer.uc_stack.ss_size = UC_STACK_SIZE;
	uc_peer.uc_link = nullptr;
	makecontext(&uc_peer, uc_peer_loop, 0);
	while (state.KeepRunningBatch(2))
		swapcontext(&uc_main, &uc_peer);
	std::free(stack);
}

// ---- pthread mutex, uncontended, with a second thread alive ---------------------------------

// A thread that only blocks on *gate until the row is over.  Returns nullptr.
void *bystander(void *arg)
{
	auto *gate = static_cast<pthread_mutex_t *>(arg);
	pthread_mutex_lock(gate);
	pthread_mutex_unlock(gate);
	return nullptr;
}

// pthread_mutex_lock + unlock per iteration.  glibc's x86 mutexes leave out the lock prefix
// while the process has a single thread; a program that needs a mutex has threads, and
// coring's locks are always atomic, so a blocked second thread is alive meanwhile.
void pthread_mutex_row(benchmark::State &state)
{
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER, mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_t th;
	pthread_mutex_lock(&gate);
	int r = pthread_create(&th, nullptr, bystander, &gate);
	if (r != 0) {
		pthread_mutex_unlock(&gate);
		micro::fail(state, "pthread_create", r);
		return;
	}
	for (auto _ : state) {
		pthread_mutex_lock(&mu);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_unlock(&gate);
	pthread_join(th, nullptr);
}

// ---- pthread mutex + condvar ping-pong between two threads ---------------------------------

// The turn the two threads pass: 0 the pinger's, 1 the ponger's, -1 stop.
struct CvPingPong {
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; // guards turn
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;	// signalled on every change of turn
	int turn = 0;
};

// The second thread: answers every ping until turn is -1.  Returns nullptr.
void *cv_ponger(void *arg)
{
	auto *p = static_cast<CvPingPong *>(arg);
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
	return nullptr;
}

// One iteration is one round trip: hand the turn over, signal, wait for it to come back.
void pthread_condvar_pingpong(benchmark::State &state)
{
	CvPingPong p;
	pthread_t th;
	int r = pthread_create(&th, nullptr, cv_ponger, &p);
	if (r != 0) {
		micro::fail(state, "pthread_create", r);
		return;
	}
	for (auto _ : state) {
		pthread_mutex_lock(&p.mu);
		p.turn = 1;
		pthread_cond_signal(&p.cv);
		while (p.turn == 1)
			pthread_cond_wait(&p.cv, &p.mu);
		pthread_mutex_unlock(&p.mu);
	}
	pthread_mutex_lock(&p.mu);
	p.turn = -1;
	pthread_cond_signal(&p.cv);
	pthread_mutex_unlock(&p.mu);
	pthread_join(th, nullptr);
}

// ---- two threads passing an atomic back and forth, spinning ----------------------------------

constexpr unsigned SPIN_BEFORE_YIELD = 4096; // pause loops before giving a shared CPU away
constexpr uint64_t SPIN_STOP = UINT64_MAX;   // the ball that tells the ponger to return

// Spins until *ball differs from value, pausing, and yielding the CPU every 4096 pauses so
// that two threads on one CPU cannot stall each other.  Returns the new value.
uint64_t spin_until_changed(std::atomic<uint64_t> *ball, uint64_t value)
{
	uint64_t v;
	for (unsigned i = 1; (v = ball->load(std::memory_order_acquire)) == value; i++) {
#if defined(__x86_64__)
		__builtin_ia32_pause();
#endif
		if (i % SPIN_BEFORE_YIELD == 0)
			sched_yield();
	}
	return v;
}

// The second thread: returns every odd ball as the next even one, until SPIN_STOP.
// Returns nullptr.
void *spin_ponger(void *arg)
{
	auto *ball = static_cast<std::atomic<uint64_t> *>(arg);
	uint64_t v = 0;
	while ((v = spin_until_changed(ball, v)) != SPIN_STOP)
		ball->store(++v, std::memory_order_release);
	return nullptr;
}

// One iteration is one round trip: store an odd ball, spin until the ponger stored the next
// even one.  No system call when each thread has a CPU: the floor of a cross-core hand-off.
void spin_pingpong(benchmark::State &state)
{
	std::atomic<uint64_t> ball{0};
	pthread_t th;
	int r = pthread_create(&th, nullptr, spin_ponger, &ball);
	if (r != 0) {
		micro::fail(state, "pthread_create", r);
		return;
	}
	uint64_t odd = 1;
	for (auto _ : state) {
		ball.store(odd, std::memory_order_release);
		spin_until_changed(&ball, odd);
		odd += 2;
	}
	ball.store(SPIN_STOP, std::memory_order_release);
	pthread_join(th, nullptr);
}

} // namespace

void micro_register_baselines()
{
	benchmark::RegisterBenchmark("baseline/boost_fiber_switch", boost_fiber_switch);
	benchmark::RegisterBenchmark("baseline/swapcontext", swapcontext_switch);
	benchmark::RegisterBenchmark("baseline/pthread_mutex", pthread_mutex_row);
	benchmark::RegisterBenchmark("baseline/pthread_condvar_pingpong", pthread_condvar_pingpong);
	benchmark::RegisterBenchmark("baseline/spin_pingpong", spin_pingpong);
}
