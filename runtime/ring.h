/* SPDX-License-Identifier: MIT */
/* The workers' io_uring rings: setup, every SQE slot, cancel requests, submission, completions. */
#ifndef CORING_RING_H
#define CORING_RING_H

#include <coring/runtime.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every SQE of a worker's ring is taken here (cr__ring_sqe, cr__ring_queue,
 * cr__ring_cancel) and ring.c is the only user of liburing for those rings
 * (probe.c opens throwaway rings of its own to test the kernel).  The SQE
 * contents are filled by their callers: io.c (one-shot waits, from
 * templates), signals.c and remote.c (their reads and doorbells), and net's
 * multishot core (from templates built with net/sqe.h).
 */

struct io_uring_sqe;
struct cr__worker;
struct cr__ring;

/* Marks a user_data value as a cr__cqe_handler (bit 0) rather than a cr__wait. */
#define CR__UD_HANDLER 1u
/* user_data of operations whose completion is ignored (e.g. cancel requests). */
#define CR__UD_IGNORE 0u

/* Receives completions for operations that are not one task's wait (multishot, doorbells). */
typedef struct cr__cqe_handler {
	void (*fn)(struct cr__cqe_handler *h, int res, uint32_t flags); /* called per CQE */
} cr__cqe_handler;

/* Creates a ring for the calling thread with the best flags this kernel
 * accepts.  On failure writes a sentence naming the cause into why.
 * Returns 0 or -errno. */
int cr__ring_open(struct cr__ring **out, const cr_config *cfg, char *why, size_t whylen);

/* Destroys the ring (the kernel cancels what is in flight).  Returns nothing. */
void cr__ring_close(struct cr__ring *r);

/* Returns a zeroed SQE of the worker's ring; if the SQ is full, submits
 * first (reaping completions if the kernel pushes back).  Never NULL. */
struct io_uring_sqe *cr__ring_sqe(struct cr__worker *w);

/* Queues a copy of tmpl with the given user_data on w's ring (sent by the
 * next poll or cr__ring_submit_now).  Returns nothing. */
void cr__ring_queue(struct cr__worker *w, const struct io_uring_sqe *tmpl, uint64_t user_data);

/* Queues an IORING_OP_ASYNC_CANCEL for the operation whose user_data is
 * target; the cancel's own completion is ignored, the target's completion
 * (-ECANCELED, or its result if it won the race) arrives as usual.
 * Returns nothing. */
void cr__ring_cancel(struct cr__worker *w, uint64_t target);

/* Counts one more (submitted or armed) or one fewer (its last completion
 * came) operation of w whose completions go to a handler (a multishot, a
 * stream's background send), so that a worker kept busy by ready tasks still
 * reaps them every ready_budget items, as it does for operations a task
 * waits for.  Returns nothing. */
void cr__ring_handler_op_begin(struct cr__worker *w);
void cr__ring_handler_op_end(struct cr__worker *w);

/* Submits pending SQEs and reaps completions.  If wait is set, blocks until a
 * completion arrives or until the absolute monotonic time deadline_ns
 * (UINT64_MAX = no timeout).  Returns the number of CQEs dispatched. */
unsigned cr__ring_poll(struct cr__worker *w, int wait, uint64_t deadline_ns);

/* Returns the ring's file descriptor (for MSG_RING from other rings). */
int cr__ring_fd(const struct cr__ring *r);

/* Submits queued SQEs now without reaping (safe inside completion dispatch).
 * Returns nothing; on kernel pushback the SQEs wait for the next poll. */
void cr__ring_submit_now(struct cr__worker *w);

/* Returns 1 if this kernel has IORING_OP_MSG_RING (probed at ring setup). */
int cr__ring_has_msg_ring(const struct cr__ring *r);

/* Returns 1 if this kernel has IOSQE_CQE_SKIP_SUCCESS (IORING_FEAT_CQE_SKIP). */
int cr__ring_has_cqe_skip(const struct cr__ring *r);

/* Returns the io_uring setup flags in use. */
unsigned cr__ring_setup_flags(const struct cr__ring *r);

/* Maps a provided-buffer ring of entries (a power of two) slots and
 * registers it with w's ring as buffer group bgid.  *out gets the ring.
 * Returns 0, -ENOMEM, or -errno of the registration (-EINVAL / -ENOSYS on
 * kernels without provided-buffer rings, -EEXIST if bgid is taken). */
int cr__ring_buf_ring_create(struct cr__worker *w, unsigned entries, unsigned bgid, void **out);

/* Unregisters and unmaps a provided-buffer ring.  Returns nothing. */
void cr__ring_buf_ring_destroy(struct cr__worker *w, void *br, unsigned entries, unsigned bgid);

/* Stages buffer bid (addr, len) at slot tail+offset of the ring; it becomes
 * visible to the kernel with cr__ring_buf_ring_advance.  Returns nothing. */
void cr__ring_buf_ring_add(void *br, unsigned entries, void *addr, unsigned len, unsigned bid,
			   unsigned offset);

/* Publishes count staged buffers to the kernel.  Returns nothing. */
void cr__ring_buf_ring_advance(void *br, unsigned count);

#endif
