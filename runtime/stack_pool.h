/* SPDX-License-Identifier: MIT */
/* Per-worker pool of coroutine stacks carved from large mappings, each with a guard page. */
#ifndef CORING_STACK_POOL_H
#define CORING_STACK_POOL_H

#include <stddef.h>
#include <stdint.h>

/* How stack overflow is caught (cr_stats.guard_mode uses these values). */
enum cr__guard_mode {
	CR__GUARD_MADVISE = 0,	/* MADV_GUARD_INSTALL in one mapping (Linux 6.13+) */
	CR__GUARD_MPROTECT = 1, /* a PROT_NONE page per stack (one extra VMA each) */
	CR__GUARD_CANARY = 2,	/* no guard page left: canary word checked on switch */
};

#define CR__STACK_MIN_CLASS 14 /* 16 KiB */
#define CR__STACK_MAX_CLASS 26 /* 64 MiB */
#define CR__STACK_CLASSES (CR__STACK_MAX_CLASS - CR__STACK_MIN_CLASS + 1)
#define CR__STACK_CANARY 0x5a17c0de5a17c0deull

/* Free stacks of one size class. */
typedef struct cr__stack_class {
	void **free;  /* slot base addresses ready for reuse (LIFO: warm first) */
	size_t nfree; /* entries in free */
	size_t cold;  /* free[0 .. cold) have given their memory back to the kernel */
	size_t cap;   /* capacity of free */
} cr__stack_class;

/* One large mapping holding many slots. */
typedef struct cr__stack_chunk {
	void *base;	  /* start of the mapping */
	size_t len;	  /* length of the mapping */
	unsigned *vg_ids; /* valgrind stack ids per slot, or NULL */
	size_t nslots;	  /* slots in the mapping */
} cr__stack_chunk;

/* The pool of one worker. */
typedef struct cr__stack_pool {
	cr__stack_class classes[CR__STACK_CLASSES]; /* free lists per power-of-two size */
	cr__stack_chunk *chunks;		    /* every mapping made */
	size_t nchunks;				    /* entries in chunks */
	size_t chunks_cap;			    /* capacity of chunks */
	size_t page;				    /* page size */
	size_t mapped_slots;			    /* slots in all chunks */
	int guard_mode;				    /* enum cr__guard_mode in use */
	size_t mprotect_left;			    /* guards the mprotect fallback may still add */
} cr__stack_pool;

/* Initialises an empty pool.  Returns nothing. */
void cr__stack_pool_init(cr__stack_pool *p);

/* Returns the size class whose slot holds a stack of `size` bytes of address
 * space (guard page included), or -EINVAL if size exceeds the maximum. */
int cr__stack_class_of(size_t size);

/* Returns the slot size of class cls in bytes. */
static inline size_t cr__stack_slot_size(int cls)
{
	return (size_t)1 << cls;
}

/* Takes a slot of class cls (mapping a new chunk if needed).  Writes its base
 * (the guard page) to *slot.  Returns 0 or -ENOMEM. */
int cr__stack_get(cr__stack_pool *p, int cls, void **slot);

/* Returns a slot to the pool.  The most recently used slots stay warm; once
 * more than a warm set is free, the oldest free slot gives its memory back to
 * the kernel (the guard stays).  Returns nothing. */
void cr__stack_put(cr__stack_pool *p, int cls, void *slot);

/* Returns 1 if addr lies in the guard page of the slot at `slot`. */
int cr__stack_in_guard(const cr__stack_pool *p, const void *slot, const void *addr);

/* Unmaps everything.  Returns nothing. */
void cr__stack_pool_destroy(cr__stack_pool *p);

#endif
