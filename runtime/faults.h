/* SPDX-License-Identifier: MIT */
/* The deterministic fault injector at the ring boundary (test builds: CORING_FAULTS=1). */
#ifndef CORING_FAULTS_H
#define CORING_FAULTS_H

/*
 * Enabled at run time by the environment variable
 *
 *     CORING_FAULTS=seed:rate[:kinds]
 *
 * seed   an unsigned integer (decimal or 0x...): the same seed gives the same faults;
 * rate   the probability, 0..1, that one eligible operation is faulted, and (for
 *        kind d) that one completion is held back;
 * kinds  letters choosing the faults (default "esnd"):
 *   e  errors, instead of running the operation, of the kinds the kernel returns
 *      for it: recv -ECONNRESET -ENOMEM (-EINTR plain recv only), send -ECONNRESET
 *      -EPIPE -ENOMEM -EINTR, -EAGAIN only with MSG_DONTWAIT; recvmsg -ENOMEM
 *      -EINTR; sendmsg -ENOBUFS -ENOMEM -EINTR; accept -ECONNABORTED -ENOMEM -EMFILE;
 *   s  short transfers: a send or recv asks for fewer bytes (never 0), so the
 *      kernel really moves fewer; a provided-buffer recv gets a per-receive length
 *      cap (each of its completions still owns a whole buffer);
 *   n  no buffers: a provided-buffer recv ends at once with -ENOBUFS, as when the
 *      buffer ring is empty;
 *   d  delays: a completion (of any operation: I/O, doorbells, wake-ups) is held
 *      for 1-4 passes of the loop; later completions of the same operation wait
 *      behind it, so a multishot operation's completions keep their order.
 * Only RECV, SEND, RECVMSG, SENDMSG and ACCEPT queued through cr__ring_queue are
 * eligible for e, s and n; timeouts, cancels, NOPs, MSG_RING doorbells, closes and
 * file I/O never fail here.  Every decision comes from one PRNG per worker (seeded
 * from seed and the worker's index): the n-th decision of worker i is a function
 * of (seed, i, n) and of the operation it is asked about.  With one worker and a
 * workload whose order of operations does not depend on timing, a seed replays
 * exactly; with several workers each worker's sequence still does, but which
 * operation meets which decision follows the interleaving of the threads.
 */

#include <stddef.h>
#include <stdint.h>

struct io_uring_sqe;

/* What the injector did, counted over every worker of the process. */
typedef enum cr__fault_kind {
	CR__FAULT_ERROR,  /* an operation completed with an error instead of running */
	CR__FAULT_SHORT,  /* a transfer was shortened */
	CR__FAULT_NOBUFS, /* a provided-buffer recv found the ring dry */
	CR__FAULT_DELAY,  /* a completion was held back */
	CR__FAULT_NKINDS  /* number of kinds */
} cr__fault_kind;

#if defined(CORING_FAULTS) && CORING_FAULTS

typedef struct cr__faults cr__faults;

/* Parses spec (the CORING_FAULTS syntax above) into an injector for worker
 * index id; spec NULL or "" gives *out = NULL (no injection).  On a malformed
 * spec writes a sentence into why.  Returns 0, -EINVAL or -ENOMEM. */
int cr__faults_create(cr__faults **out, const char *spec, unsigned id, char *why, size_t whylen);

/* Frees an injector and what it still holds.  Returns nothing. */
void cr__faults_destroy(cr__faults *f);

/* Decides the fate of one SQE about to be queued (user_data not yet set):
 * may shorten it in place.  Returns 0 to submit *sqe, or a negative errno
 * the operation must complete with instead of being submitted. */
int cr__faults_submit(cr__faults *f, struct io_uring_sqe *sqe);

/* Holds a completion (user_data ud, res, flags) for passes calls of
 * cr__faults_pass; 0 means the next pass.  Returns 0 or -ENOMEM (the caller
 * then delivers it now). */
int cr__faults_hold(cr__faults *f, uint64_t ud, int res, uint32_t flags, unsigned passes);

/* Decides whether a completion that just arrived from the kernel is held:
 * always when an earlier completion of the same user_data is held, else with
 * the injector's rate.  Returns 1 if it was held (not to be delivered now). */
int cr__faults_delay(cr__faults *f, uint64_t ud, int res, uint32_t flags);

/* Starts a pass of the loop: held completions may become due.  Returns nothing. */
void cr__faults_pass(cr__faults *f);

/* Takes the oldest held completion if it is due.  Returns 1 and fills *ud,
 * *res, *flags, or 0 if none is due. */
int cr__faults_take(cr__faults *f, uint64_t *ud, int *res, uint32_t *flags);

/* Returns the number of completions held. */
size_t cr__faults_held(const cr__faults *f);

/* Returns how many faults of kind k were injected in this process so far. */
uint64_t cr__faults_count(cr__fault_kind k);

#endif
#endif
