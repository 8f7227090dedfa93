/* SPDX-License-Identifier: MIT */
/* Stack slots in large anonymous mappings; guard pages by MADV_GUARD_INSTALL or mprotect. */
#include "stack_pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(CORING_HAVE_VALGRIND)
#include <valgrind/valgrind.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define CHUNK_BYTES ((size_t)8 << 20) /* aim for 8 MiB of address space per mapping */
#define CHUNK_MAX_SLOTS 256
#define WARM_STACKS 128 /* free stacks per class kept with their memory */

void cr__stack_pool_init(cr__stack_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->page = (size_t)sysconf(_SC_PAGESIZE);
	p->guard_mode = CR__GUARD_MADVISE;
}

int cr__stack_class_of(size_t size)
{
	if (size > ((size_t)1 << CR__STACK_MAX_CLASS))
		return -EINVAL;
	int cls = CR__STACK_MIN_CLASS;
	while (((size_t)1 << cls) < size)
		cls++;
	return cls;
}

static int push_free(cr__stack_class *c, void *slot)
{
	if (c->nfree == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		void **f = realloc(c->free, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		c->free = f;
		c->cap = cap;
	}
	c->free[c->nfree++] = slot;
	return 0;
}

/* Mappings the mprotect fallback may add: a quarter of vm.max_map_count,
 * so that malloc, threads and the program keep room for their own. */
static size_t mprotect_budget(void)
{
	long v = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 65530;
		fclose(f);
	}
	return v > 0 ? (size_t)v / 4 : 0;
}

/* Protects the lowest page of a slot.  Returns nothing; degrades the mode. */
static void install_guard(cr__stack_pool *p, char *slot)
{
	if (p->guard_mode == CR__GUARD_MADVISE) {
		if (madvise(slot, p->page, MADV_GUARD_INSTALL) == 0)
			return;
		p->guard_mode = CR__GUARD_MPROTECT;
		p->mprotect_left = mprotect_budget() / 2; /* each guard splits off two VMAs */
	}
	if (p->guard_mode == CR__GUARD_MPROTECT) {
		if (p->mprotect_left > 0 && mprotect(slot, p->page, PROT_NONE) == 0) {
			p->mprotect_left--;
			return;
		}
		p->guard_mode = CR__GUARD_CANARY; /* budget of mappings used up */
	}
}

static int add_chunk_record(cr__stack_pool *p, cr__stack_chunk c)
{
	if (p->nchunks == p->chunks_cap) {
		size_t cap = p->chunks_cap ? p->chunks_cap * 2 : 16;
		cr__stack_chunk *n = realloc(p->chunks, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->chunks = n;
		p->chunks_cap = cap;
	}
	p->chunks[p->nchunks++] = c;
	return 0;
}

static void register_with_valgrind(cr__stack_pool *p, cr__stack_chunk *c, size_t slot)
{
#if defined(CORING_HAVE_VALGRIND)
	if (!RUNNING_ON_VALGRIND)
		return;
	c->vg_ids = calloc(c->nslots, sizeof(unsigned));
	for (size_t i = 0; c->vg_ids && i < c->nslots; i++) {
		char *lo = (char *)c->base + i * slot + p->page;
		c->vg_ids[i] = VALGRIND_STACK_REGISTER(lo, lo + slot - p->page);
	}
#else
	(void)p;
	(void)c;
	(void)slot;
#endif
}

static int map_chunk(cr__stack_pool *p, int cls)
{
	size_t slot = cr__stack_slot_size(cls);
	size_t n = CHUNK_BYTES / slot;
	n = n < 1 ? 1 : (n > CHUNK_MAX_SLOTS ? CHUNK_MAX_SLOTS : n);
	cr__stack_class *c = &p->classes[cls - CR__STACK_MIN_CLASS];
	if (c->cap < c->nfree + n) {
		void **f = realloc(c->free, (c->nfree + n) * sizeof(*f));
		if (!f)
			return -ENOMEM;
		c->free = f;
		c->cap = c->nfree + n;
	}
	void *base = mmap(NULL, n * slot, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	cr__stack_chunk chunk = {.base = base, .len = n * slot, .vg_ids = NULL, .nslots = n};
	if (add_chunk_record(p, chunk) < 0) {
		munmap(base, n * slot);
		return -ENOMEM;
	}
	register_with_valgrind(p, &p->chunks[p->nchunks - 1], slot);
	/* Push in reverse so the lowest slot is handed out first. */
	for (size_t i = n; i-- > 0;) {
		char *s = (char *)base + i * slot;
		install_guard(p, s);
		c->free[c->nfree++] = s;
	}
	p->mapped_slots += n;
	return 0;
}

int cr__stack_get(cr__stack_pool *p, int cls, void **slot)
{
	cr__stack_class *c = &p->classes[cls - CR__STACK_MIN_CLASS];
	if (c->nfree == 0) {
		int r = map_chunk(p, cls);
		if (r < 0)
			return r;
	}
	char *s = c->free[--c->nfree];
	if (c->cold > c->nfree)
		c->cold = c->nfree;
	if (p->guard_mode != CR__GUARD_MADVISE)
		*(uint64_t *)(s + p->page) = CR__STACK_CANARY;
	*slot = s;
	return 0;
}

void cr__stack_put(cr__stack_pool *p, int cls, void *slot)
{
	cr__stack_class *c = &p->classes[cls - CR__STACK_MIN_CLASS];
	/* Capacity was reserved when the chunk was mapped, so this cannot fail. */
	(void)push_free(c, slot);
	if (c->nfree - c->cold > WARM_STACKS) {
		size_t len = cr__stack_slot_size(cls) - p->page;
		madvise((char *)c->free[c->cold] + p->page, len, MADV_DONTNEED);
		c->cold++;
	}
}

int cr__stack_in_guard(const cr__stack_pool *p, const void *slot, const void *addr)
{
	const char *s = slot, *a = addr;
	return a >= s && a < s + p->page;
}

void cr__stack_pool_destroy(cr__stack_pool *p)
{
	for (size_t i = 0; i < p->nchunks; i++) {
		cr__stack_chunk *c = &p->chunks[i];
#if defined(CORING_HAVE_VALGRIND)
		for (size_t j = 0; c->vg_ids && j < c->nslots; j++)
			VALGRIND_STACK_DEREGISTER(c->vg_ids[j]);
#endif
		free(c->vg_ids);
		munmap(c->base, c->len);
	}
	free(p->chunks);
	for (int i = 0; i < CR__STACK_CLASSES; i++)
		free(p->classes[i].free);
	memset(p->classes, 0, sizeof(p->classes));
	p->chunks = NULL;
	p->nchunks = p->chunks_cap = p->mapped_slots = 0;
}
