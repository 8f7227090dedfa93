/* SPDX-License-Identifier: MIT */
/* The fault injector: CORING_FAULTS parsing, per-worker PRNG, SQE faults and held completions. */
#include "faults.h"

#if defined(CORING_FAULTS) && CORING_FAULTS

#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DELAY_PASSES_MAX 4u   /* a delayed completion waits 1..this many passes */
#define SHORT_RECV_MAX 1024u  /* a shortened provided-buffer recv asks for 1..this */
#define HELD_FIRST_CAP 16u    /* held completions the queue has room for at first */
#define RATE_ONE 0x100000000u /* rate 1.0 in the 32-bit fixed point of f->rate */

/* One completion waiting to be delivered. */
typedef struct held {
	uint64_t ud;	/* its user_data */
	uint64_t due;	/* the pass from which it may be delivered */
	int res;	/* its result */
	uint32_t flags; /* its CQE flags */
} held;

struct cr__faults {
	uint64_t state; /* splitmix64 state */
	uint64_t rate;	/* probability * 2^32 */
	unsigned kinds; /* bit (1 << cr__fault_kind) per kind enabled */
	uint64_t pass;	/* passes so far */
	held *q;	/* FIFO of held completions (ring of cap entries) */
	size_t cap;	/* its capacity (a power of two, or 0) */
	size_t head;	/* index of the oldest entry */
	size_t len;	/* entries */
};

static uint64_t counts[CR__FAULT_NKINDS]; /* per kind; __atomic builtins only */

/* Returns the next number of the worker's sequence (splitmix64). */
static uint64_t next(cr__faults *f)
{
	uint64_t z = (f->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Returns 1 with the injector's rate (one draw). */
static int hit(cr__faults *f)
{
	return (next(f) >> 32) < f->rate;
}

/* Returns a number in 0..n-1 (one draw; n > 0). */
static uint32_t pick(cr__faults *f, uint32_t n)
{
	return (uint32_t)((next(f) >> 32) % n);
}

static void counted(cr__fault_kind k)
{
	__atomic_fetch_add(&counts[k], 1, __ATOMIC_RELAXED);
}

uint64_t cr__faults_count(cr__fault_kind k)
{
	return __atomic_load_n(&counts[k], __ATOMIC_RELAXED);
}

/* Parses "rate" (0..1) into 32-bit fixed point.  Returns 0 or -EINVAL. */
static int parse_rate(const char *s, char **end, uint64_t *out)
{
	double d = strtod(s, end);
	if (*end == s || !(d >= 0.0 && d <= 1.0))
		return -EINVAL;
	*out = (uint64_t)(d * (double)RATE_ONE);
	return 0;
}

/* Parses the kind letters up to the end of s.  Returns 0 or -EINVAL. */
static int parse_kinds(const char *s, unsigned *out)
{
	static const char letters[CR__FAULT_NKINDS] = {'e', 's', 'n', 'd'};
	unsigned k = 0;
	for (; *s; s++) {
		const char *p = memchr(letters, *s, sizeof(letters));
		if (!p)
			return -EINVAL;
		k |= 1u << (p - letters);
	}
	*out = k;
	return k ? 0 : -EINVAL;
}

int cr__faults_create(cr__faults **out, const char *spec, unsigned id, char *why, size_t whylen)
{
	*out = NULL;
	if (!spec || !*spec)
		return 0;
	char *end;
	uint64_t rate = 0;
	unsigned kinds = (1u << CR__FAULT_NKINDS) - 1;
	errno = 0;
	uint64_t seed = strtoull(spec, &end, 0);
	int r = (end == spec || *end != ':' || errno) ? -EINVAL : 0;
	if (r == 0)
		r = parse_rate(end + 1, &end, &rate);
	if (r == 0 && *end == ':')
		r = parse_kinds(end + 1, &kinds);
	else if (r == 0 && *end)
		r = -EINVAL;
	if (r < 0) {
		snprintf(why, whylen,
			 "CORING_FAULTS='%s' is not seed:rate[:kinds] (rate 0..1, kinds of "
			 "\"esnd\")",
			 spec);
		return r;
	}
	cr__faults *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(why, whylen, "out of memory for the fault injector");
		return -ENOMEM;
	}
	f->state = seed;
	f->state = next(f) ^ ((uint64_t)id * 0xd1b54a32d192ed03ull);
	f->rate = rate;
	f->kinds = kinds;
	*out = f;
	return 0;
}

void cr__faults_destroy(cr__faults *f)
{
	if (!f)
		return;
	free(f->q);
	free(f);
}

/* Errors the kernel returns for one operation, chosen from by the injector. */
typedef struct error_set {
	const int *v; /* the errors */
	uint32_t n;   /* how many; with MSG_DONTWAIT one more: -EAGAIN */
} error_set;

static const int recv_errs[] = {-ECONNRESET, -ENOMEM, -EINTR};
static const int send_errs[] = {-ECONNRESET, -EPIPE, -ENOMEM, -EINTR};
static const int recvmsg_errs[] = {-ENOMEM, -EINTR};
static const int sendmsg_errs[] = {-ENOBUFS, -ENOMEM, -EINTR};
static const int accept_errs[] = {-ECONNABORTED, -ENOMEM, -EMFILE};

/* Returns the errors of sqe's operation, or n = 0 if it is not eligible. */
static error_set errors_of(const struct io_uring_sqe *sqe, int bufsel)
{
	switch (sqe->opcode) {
	case IORING_OP_RECV: /* provided-buffer receives: no -EINTR */
		return (error_set){recv_errs, bufsel ? 2u : 3u};
	case IORING_OP_SEND:
		return (error_set){send_errs, 4u};
	case IORING_OP_RECVMSG:
		return (error_set){recvmsg_errs, 2u};
	case IORING_OP_SENDMSG:
		return (error_set){sendmsg_errs, 3u};
	case IORING_OP_ACCEPT:
		return (error_set){accept_errs, 3u};
	default:
		return (error_set){NULL, 0u};
	}
}

/* Shortens a send or recv in place.  Returns 1 if it could be shortened. */
static int shorten(cr__faults *f, struct io_uring_sqe *sqe, int bufsel)
{
	if (sqe->opcode != IORING_OP_RECV && sqe->opcode != IORING_OP_SEND)
		return 0;
	if (bufsel) {
		/* The kernel caps each receive at len (0: the buffer's size). */
		uint32_t cap = 1 + pick(f, SHORT_RECV_MAX);
		if (sqe->len && sqe->len <= cap)
			return 0;
		sqe->len = cap;
		return 1;
	}
	if (sqe->len < 2)
		return 0;
	sqe->len = 1 + pick(f, sqe->len - 1);
	return 1;
}

int cr__faults_submit(cr__faults *f, struct io_uring_sqe *sqe)
{
	int bufsel = (sqe->flags & IOSQE_BUFFER_SELECT) != 0;
	error_set errs = errors_of(sqe, bufsel);
	if (!errs.n || !(f->kinds & 7u) || !hit(f))
		return 0;
	unsigned kind = pick(f, 3);
	if (kind == CR__FAULT_NOBUFS && !bufsel)
		kind = CR__FAULT_SHORT;
	if (!(f->kinds & (1u << kind)))
		return 0; /* the draw picked a kind that is off: no fault this time */
	if (kind == CR__FAULT_SHORT) {
		if (shorten(f, sqe, bufsel))
			counted(CR__FAULT_SHORT);
		return 0;
	}
	counted((cr__fault_kind)kind);
	if (kind == CR__FAULT_NOBUFS)
		return -ENOBUFS;
	int dontwait = (sqe->opcode == IORING_OP_SEND || sqe->opcode == IORING_OP_RECV ||
			sqe->opcode == IORING_OP_SENDMSG || sqe->opcode == IORING_OP_RECVMSG) &&
		       (sqe->msg_flags & MSG_DONTWAIT);
	uint32_t i = pick(f, errs.n + (dontwait ? 1u : 0u));
	return i < errs.n ? errs.v[i] : -EAGAIN;
}

/* Makes room for one more held completion.  Returns 0 or -ENOMEM. */
static int grow(cr__faults *f)
{
	if (f->len < f->cap)
		return 0;
	size_t cap = f->cap ? f->cap * 2 : HELD_FIRST_CAP;
	held *q = malloc(cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t i = 0; i < f->len; i++)
		q[i] = f->q[(f->head + i) & (f->cap - 1)];
	free(f->q);
	f->q = q;
	f->cap = cap;
	f->head = 0;
	return 0;
}

int cr__faults_hold(cr__faults *f, uint64_t ud, int res, uint32_t flags, unsigned passes)
{
	if (grow(f) < 0)
		return -ENOMEM;
	held *h = &f->q[(f->head + f->len) & (f->cap - 1)];
	h->ud = ud;
	h->res = res;
	h->flags = flags;
	h->due = f->pass + 1 + passes;
	f->len++;
	return 0;
}

/* Returns 1 if a completion of ud is held. */
static int holding(const cr__faults *f, uint64_t ud)
{
	for (size_t i = 0; i < f->len; i++)
		if (f->q[(f->head + i) & (f->cap - 1)].ud == ud)
			return 1;
	return 0;
}

int cr__faults_delay(cr__faults *f, uint64_t ud, int res, uint32_t flags)
{
	unsigned passes;
	if (f->len && holding(f, ud)) {
		passes = 0; /* behind the earlier one: the FIFO keeps the order */
	} else {
		if (!(f->kinds & (1u << CR__FAULT_DELAY)) || !hit(f))
			return 0;
		passes = pick(f, DELAY_PASSES_MAX);
		counted(CR__FAULT_DELAY);
	}
	return cr__faults_hold(f, ud, res, flags, passes) == 0;
}

void cr__faults_pass(cr__faults *f)
{
	f->pass++;
}

int cr__faults_take(cr__faults *f, uint64_t *ud, int *res, uint32_t *flags)
{
	if (!f->len || f->q[f->head].due > f->pass)
		return 0;
	held *h = &f->q[f->head];
	*ud = h->ud;
	*res = h->res;
	*flags = h->flags;
	f->head = (f->head + 1) & (f->cap - 1);
	f->len--;
	return 1;
}

size_t cr__faults_held(const cr__faults *f)
{
	return f->len;
}

#else
/* Built without CORING_FAULTS: nothing here (ISO C wants a declaration). */
typedef int cr__faults_unused;
#endif
