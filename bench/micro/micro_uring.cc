// SPDX-License-Identifier: MIT
// Baseline rows of coring-bench on liburing directly: a NOP per submit, and 64 NOPs per submit.
//
// These rows are what coring/nop and coring/nop64 cost without the runtime: the same NOP on a
// ring set up the way the runtime prefers, driven by hand from Google Benchmark's thread.
#include "micro.h"

#include <liburing.h>

#include <cerrno>
#include <cstring>

namespace
{

constexpr unsigned RING_ENTRIES = 256;
constexpr unsigned NOP_BATCH = 64; // NOPs per submit in baseline/liburing_nop64

// Sets up *ring the way the runtime prefers (SUBMIT_ALL | SINGLE_ISSUER | DEFER_TASKRUN,
// registered ring fd), falling back to no flags on a kernel that refuses them.  *flags gets
// the setup flags in use.  Returns 0 or a negative errno value of io_uring_queue_init_params.
int ring_open(struct io_uring *ring, unsigned *flags)
{
	struct io_uring_params p;
	std::memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	int r = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
	if (r == -EINVAL) {
		std::memset(&p, 0, sizeof(p));
		r = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
	}
	if (r < 0)
		return r;
	*flags = p.flags;
	(void)io_uring_register_ring_fd(ring);
	return 0;
}

// Queues `batch` NOPs, submits them with one io_uring_submit_and_wait and consumes their
// completions.  Returns 0, -EBUSY if the SQ is full, or a negative errno value of liburing.
int nop_batch(struct io_uring *ring, unsigned batch)
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

// One iteration is one NOP; each pass of the loop submits `batch` of them.  The row's
// counter defer_taskrun is 1 when the ring runs with the runtime's flags, 0 after the
// fallback.
void liburing_nops(benchmark::State &state, unsigned batch)
{
	struct io_uring ring;
	unsigned flags = 0;
	int r = ring_open(&ring, &flags);
	if (r < 0) {
		micro::fail(state, "io_uring_queue_init_params", r);
		return;
	}
	while (state.KeepRunningBatch(batch)) {
		r = nop_batch(&ring, batch);
		if (r < 0)
			break;
	}
	io_uring_queue_exit(&ring);
	if (r < 0) {
		micro::fail(state, "liburing NOP", r);
		return;
	}
	state.counters["defer_taskrun"] = (flags & IORING_SETUP_DEFER_TASKRUN) ? 1 : 0;
}

void liburing_nop(benchmark::State &state)
{
	liburing_nops(state, 1);
}

void liburing_nop64(benchmark::State &state)
{
	liburing_nops(state, NOP_BATCH);
}

} // namespace

void micro_register_uring()
{
	benchmark::RegisterBenchmark("baseline/liburing_nop", liburing_nop);
	benchmark::RegisterBenchmark("baseline/liburing_nop64", liburing_nop64);
}
