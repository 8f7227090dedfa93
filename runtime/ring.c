/* SPDX-License-Identifier: MIT */
/* The workers' rings on liburing (probe.c tests the kernel on rings of its own): setup to reap. */
#include "ring.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "faults.h"
#include "setup_error.h"
#include "task.h"
#include "wait.h"
#include "worker.h"

struct cr__ring {
	struct io_uring uring; /* liburing's ring */
	unsigned flags;	       /* setup flags that were accepted */
	int has_msg_ring;      /* IORING_OP_MSG_RING is supported */
	int has_cqe_skip;      /* IOSQE_CQE_SKIP_SUCCESS is supported */
};

/* Setup flag sets, best first; each later one drops what an older kernel refuses. */
static const unsigned flag_sets[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
		IORING_SETUP_CQSIZE,
	IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
	IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
	0, /* kernels before 5.5: no CQSIZE either (the CQ is twice the SQ) */
};

int cr__ring_open(struct cr__ring **out, const cr_config *cfg, char *why, size_t whylen)
{
	struct cr__ring *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(why, whylen, "out of memory allocating the ring");
		return -ENOMEM;
	}
	int err = -EINVAL;
	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = flag_sets[i];
		if (cfg->no_defer_taskrun && (p.flags & IORING_SETUP_DEFER_TASKRUN))
			continue;
		p.cq_entries = cfg->cq_entries;
		err = io_uring_queue_init_params(cfg->sq_entries, &r->uring, &p);
		if (err == 0) {
			r->flags = p.flags;
			r->has_cqe_skip = (p.features & IORING_FEAT_CQE_SKIP) != 0;
			break;
		}
		if (err != -EINVAL)
			break;
	}
	if (err) {
		cr__explain_setup_error(err, why, whylen);
		free(r);
		return err;
	}
	/* A registered ring fd saves an fget/fput per io_uring_enter; optional. */
	(void)io_uring_register_ring_fd(&r->uring);
	struct io_uring_probe *probe = io_uring_get_probe_ring(&r->uring);
	if (probe) {
		r->has_msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
		io_uring_free_probe(probe);
	}
	*out = r;
	return 0;
}

void cr__ring_close(struct cr__ring *r)
{
	if (!r)
		return;
	io_uring_queue_exit(&r->uring);
	free(r);
}

int cr__ring_fd(const struct cr__ring *r)
{
	return r->uring.ring_fd;
}

int cr__ring_has_msg_ring(const struct cr__ring *r)
{
	return r->has_msg_ring;
}

int cr__ring_has_cqe_skip(const struct cr__ring *r)
{
	return r->has_cqe_skip;
}

void cr__ring_submit_now(cr__worker *w)
{
	struct io_uring *u = &w->ring->uring;
	unsigned pending = io_uring_sq_ready(u);
	if (!pending)
		return;
	w->stats.enter_calls++;
	int r = io_uring_submit(u);
	if (r > 0)
		w->stats.sqes_submitted += (unsigned)r;
}

void cr__ring_handler_op_begin(cr__worker *w)
{
	w->handler_ops++;
}

void cr__ring_handler_op_end(cr__worker *w)
{
	w->handler_ops--;
}

unsigned cr__ring_setup_flags(const struct cr__ring *r)
{
	return r->flags;
}

/* Hands one completion to its waiter or handler.  Returns nothing. */
static void deliver(cr__worker *w, uint64_t ud, int res, uint32_t flags)
{
	if (ud == CR__UD_IGNORE)
		return;
	if (ud & CR__UD_HANDLER) {
		cr__cqe_handler *h = (cr__cqe_handler *)(uintptr_t)(ud & ~(uint64_t)CR__UD_HANDLER);
		h->fn(h, res, flags);
		return;
	}
	w->inflight--;
	cr__wake((cr__wait *)(uintptr_t)ud, res);
}

static void dispatch(cr__worker *w, struct io_uring_cqe *cqe)
{
#if defined(CORING_FAULTS) && CORING_FAULTS
	if (w->faults && cqe->user_data != CR__UD_IGNORE &&
	    cr__faults_delay(w->faults, cqe->user_data, cqe->res, cqe->flags))
		return;
#endif
	deliver(w, cqe->user_data, cqe->res, cqe->flags);
}

/* Delivers the completions the fault injector held that are now due (none
 * when it is off).  Returns how many. */
static unsigned release_held(cr__worker *w)
{
	unsigned n = 0;
#if defined(CORING_FAULTS) && CORING_FAULTS
	uint64_t ud;
	int res;
	uint32_t flags;
	if (!w->faults)
		return 0;
	cr__faults_pass(w->faults);
	while (cr__faults_take(w->faults, &ud, &res, &flags)) {
		deliver(w, ud, res, flags);
		n++;
	}
#else
	(void)w;
#endif
	return n;
}

/* Dispatches every CQE in the ring, flushing kernel-side overflow too.
 * Returns the number dispatched. */
static unsigned reap(cr__worker *w)
{
	struct io_uring *u = &w->ring->uring;
	unsigned released = release_held(w), total = 0;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(u, head, cqe)
		{
			dispatch(w, cqe);
			n++;
		}
		io_uring_cq_advance(u, n);
		total += n;
		if (!io_uring_cq_has_overflow(u))
			break;
		w->stats.enter_calls++;
		io_uring_get_events(u); /* moves overflowed CQEs into the ring */
	}
	w->stats.cqes += total;
	return total + released;
}

/* Submits what is queued; on pushback (-EBUSY/-EAGAIN) reaps and retries. */
static void submit_pending(cr__worker *w)
{
	struct io_uring *u = &w->ring->uring;
	while (io_uring_sq_ready(u)) {
		w->stats.enter_calls++;
		int r = io_uring_submit(u);
		if (r > 0) {
			w->stats.sqes_submitted += (unsigned)r;
			continue;
		}
		if (r == -EINTR)
			continue;
		reap(w);
		if (r != -EBUSY && r != -EAGAIN && r != 0)
			break; /* e.g. -EBADR: the ring is unusable; completions tell the rest */
	}
}

struct io_uring_sqe *cr__ring_sqe(cr__worker *w)
{
	struct io_uring *u = &w->ring->uring;
	struct io_uring_sqe *sqe;
	while (!(sqe = io_uring_get_sqe(u)))
		submit_pending(w);
	memset(sqe, 0, sizeof(*sqe));
	w->sq_dirty = 1;
	return sqe;
}

#if defined(CORING_FAULTS) && CORING_FAULTS
/* cr__ring_queue under the fault injector: the SQE may be shortened, or not
 * submitted at all and completed with an error at the next pass. */
static void queue_faulted(cr__worker *w, const struct io_uring_sqe *tmpl, uint64_t user_data)
{
	struct io_uring_sqe s;
	memcpy(&s, tmpl, sizeof(s));
	int res = cr__faults_submit(w->faults, &s);
	if (res < 0 && cr__faults_hold(w->faults, user_data, res, 0, 0) == 0) {
		w->sq_dirty = 1; /* the loop must come round to deliver it */
		return;
	}
	struct io_uring_sqe *sqe = cr__ring_sqe(w);
	memcpy(sqe, &s, sizeof(*sqe));
	io_uring_sqe_set_data64(sqe, user_data);
}
#endif

void cr__ring_queue(cr__worker *w, const struct io_uring_sqe *tmpl, uint64_t user_data)
{
#if defined(CORING_FAULTS) && CORING_FAULTS
	if (w->faults) {
		queue_faulted(w, tmpl, user_data);
		return;
	}
#endif
	struct io_uring_sqe *sqe = cr__ring_sqe(w);
	memcpy(sqe, tmpl, sizeof(*sqe));
	io_uring_sqe_set_data64(sqe, user_data);
}

void cr__ring_cancel(cr__worker *w, uint64_t target)
{
	struct io_uring_sqe *sqe = cr__ring_sqe(w);
	io_uring_prep_cancel64(sqe, target, 0);
	io_uring_sqe_set_data64(sqe, CR__UD_IGNORE);
}

unsigned cr__ring_poll(cr__worker *w, int wait, uint64_t deadline_ns)
{
	struct io_uring *u = &w->ring->uring;
	unsigned pending = io_uring_sq_ready(u);
	int r;
#if defined(CORING_FAULTS) && CORING_FAULTS
	if (w->faults && cr__faults_held(w->faults))
		wait = 0; /* held completions are delivered by the coming passes */
#endif
	w->stats.enter_calls++;
	if (!wait) {
		r = io_uring_submit_and_get_events(u);
	} else if (deadline_ns == UINT64_MAX) {
		r = io_uring_submit_and_wait(u, 1);
	} else {
		uint64_t now = cr_now_ns();
		uint64_t rel = deadline_ns > now ? deadline_ns - now : 0;
		struct __kernel_timespec ts = {.tv_sec = (long long)(rel / 1000000000u),
					       .tv_nsec = (long long)(rel % 1000000000u)};
		struct io_uring_cqe *cqe;
		r = io_uring_submit_and_wait_timeout(u, &cqe, 1, &ts, NULL);
	}
	if (r >= 0 || r == -ETIME || r == -EINTR)
		w->stats.sqes_submitted += pending - io_uring_sq_ready(u);
	else if (r == -EBUSY || r == -EAGAIN)
		reap(w); /* completions must be consumed before the kernel takes more */
	unsigned n = reap(w);
	if (io_uring_sq_ready(u) && (r == -EBUSY || r == -EAGAIN))
		submit_pending(w);
	w->sq_dirty = io_uring_sq_ready(u) != 0;
#if defined(CORING_FAULTS) && CORING_FAULTS
	if (w->faults && cr__faults_held(w->faults))
		w->sq_dirty = 1; /* come back soon: completions are held */
#endif
	return n;
}

int cr__ring_buf_ring_create(cr__worker *w, unsigned entries, unsigned bgid, void **out)
{
	size_t bytes = (size_t)entries * sizeof(struct io_uring_buf);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;
	struct io_uring_buf_reg reg;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)mem;
	reg.ring_entries = entries;
	reg.bgid = (uint16_t)bgid;
	int r = io_uring_register_buf_ring(&w->ring->uring, &reg, 0);
	if (r < 0) {
		munmap(mem, bytes);
		return r;
	}
	io_uring_buf_ring_init(mem);
	*out = mem;
	return 0;
}

void cr__ring_buf_ring_destroy(cr__worker *w, void *br, unsigned entries, unsigned bgid)
{
	io_uring_unregister_buf_ring(&w->ring->uring, (int)bgid);
	munmap(br, (size_t)entries * sizeof(struct io_uring_buf));
}

void cr__ring_buf_ring_add(void *br, unsigned entries, void *addr, unsigned len, unsigned bid,
			   unsigned offset)
{
	io_uring_buf_ring_add(br, addr, len, (unsigned short)bid, io_uring_buf_ring_mask(entries),
			      (int)offset);
}

void cr__ring_buf_ring_advance(void *br, unsigned count)
{
	io_uring_buf_ring_advance(br, (int)count);
}
