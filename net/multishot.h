/* SPDX-License-Identifier: MIT */
/* One multishot operation owned by one worker: arm, re-arm, pause, cancel, a result FIFO, close. */
#ifndef CORING_NET_MULTISHOT_H
#define CORING_NET_MULTISHOT_H

#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime_internal.h"

/*
 * The core under cr_acceptor and cr_receiver (and any later owner, such as
 * one multishot accept per worker of a server).  The owner embeds a
 * cr__multishot (its hooks get back to the owner with cr__container_of) and
 * gives hooks for what differs: the SQE, what one completion means, its
 * limits, and what to do when the operation ends.  The core keeps the rest:
 * the operation's state in the kernel, a FIFO of results of a fixed size,
 * the one task waiting for a result, and a close that wakes that task with
 * -EBADF and awaits the completion still in flight.  Everything runs on the
 * owning worker; nothing here is shared between threads.
 */
typedef struct cr__multishot cr__multishot;

/* What an owner supplies.  Every hook runs on the owning worker. */
typedef struct cr__multishot_ops {
	/* Fills the whole of tmpl for a new arm, starting with cr__sqe_init
	 * (net/sqe.h); the core sets user_data and queues it. */
	void (*prep)(cr__multishot *m, struct io_uring_sqe *tmpl);
	/* Takes one completion: queues results (cr__multishot_push), ends the
	 * operation for good (cr__multishot_end), or ignores it. */
	void (*complete)(cr__multishot *m, int res, uint32_t flags);
	/* Returns 1 if the owner holds all it may: a running operation is
	 * cancelled (back-pressure) and re-armed once may_arm allows. */
	int (*full)(cr__multishot *m);
	/* Returns 1 if the owner's limits allow arming now. */
	int (*may_arm)(cr__multishot *m);
	/* The operation ended (last completion res) and the core is not
	 * closing: re-arm now (cr__multishot_rearm), later, or on some event. */
	void (*ended)(cr__multishot *m, int res);
	/* Disposes of a queued result nobody will take (at close). */
	void (*drop)(cr__multishot *m, void *item);
} cr__multishot_ops;

/* A multishot operation and its results. */
struct cr__multishot {
	cr__cqe_handler handler;      /* completions (cr__container_of leads back to m) */
	const cr__multishot_ops *ops; /* the owner's hooks */
	struct cr__worker *w;	      /* owning worker */
	unsigned char *items;	      /* FIFO of results (ring of cap items of size bytes) */
	unsigned size;		      /* bytes per result */
	unsigned cap, head, len;      /* the FIFO's capacity, first entry, entries */
	int error;		      /* reported once the FIFO is empty (lasting), 0 if none */
	uint8_t armed;		      /* the operation is in the kernel */
	uint8_t cancelling;	      /* an ASYNC_CANCEL for it was sent */
	uint8_t ended;		      /* ended for good (end of stream, error): never re-armed */
	uint8_t paused;		      /* cr__multishot_pause: not re-armed until resumed */
	uint8_t closing;	      /* cr__multishot_close runs */
	unsigned users;		      /* tasks inside cr__multishot_wait */
	cr__wait *waiter;	      /* the task waiting for a result, or NULL */
	cr__wait *end_waiter;	      /* a task awaiting the last completion (close, pause) */
};

/* Initialises m (zeroed by the owner) for the current worker with results of
 * item_size bytes, and arms the operation (ops->prep).  Must run in a task.
 * Returns nothing. */
void cr__multishot_start(cr__multishot *m, const cr__multishot_ops *ops, size_t item_size);

/* Arms the operation unless something stops it: armed already, ended,
 * paused, closing, or ops->may_arm says no.  Returns nothing. */
void cr__multishot_rearm(cr__multishot *m);

/* Asks the kernel to end the operation if it runs (once).  Returns nothing. */
void cr__multishot_cancel(cr__multishot *m);

/* Cancels the operation and keeps it unarmed until cr__multishot_resume.
 * Called from a task on the owning worker it waits (deaf to cancellation)
 * for the operation's last completion, so that every result the kernel
 * still delivers is queued when it returns and nothing more arrives until
 * the resume; elsewhere results on their way are queued later.  Returns
 * nothing. */
void cr__multishot_pause(cr__multishot *m);

/* Ends a pause and re-arms if nothing else stops it.  Returns nothing. */
void cr__multishot_resume(cr__multishot *m);

/* Ends the operation for good: it is never re-armed, and error (if not 0)
 * is returned by the waits once the FIFO is empty.  Returns nothing. */
void cr__multishot_end(cr__multishot *m, int error);

/* Appends a copy of the item (size bytes) to the FIFO, growing it.
 * Returns 0 or -ENOMEM (nothing queued). */
int cr__multishot_push(cr__multishot *m, const void *item);

/* Returns the oldest queued result (stays queued), or NULL if none. */
void *cr__multishot_head(cr__multishot *m);

/* Removes the oldest queued result (there must be one).  Returns nothing. */
void cr__multishot_pop(cr__multishot *m);

/* Waits until a result is queued.  Returns 0 (cr__multishot_head has it),
 * -EXDEV from another worker, -EBADF if the core is closing, the lasting
 * error once the FIFO is empty, -ECANCELED / -ETIMEDOUT (nothing taken). */
int cr__multishot_wait(cr__multishot *m);

/* As cr__multishot_wait without waiting.  Returns 0, -EXDEV, -EBADF, the
 * lasting error, or -EAGAIN if nothing is queued. */
int cr__multishot_poll(cr__multishot *m);

/* Closes: a waiting task is woken (its wait returns -EBADF) and let leave,
 * the operation is cancelled and its last completion awaited (deaf to
 * cancellation: the kernel is done with the owner's memory afterwards),
 * queued results go to ops->drop, and the FIFO is freed.  Must run on the
 * owning worker (owners check it first: they return -EXDEV).  Returns nothing. */
void cr__multishot_close(cr__multishot *m);

#endif
