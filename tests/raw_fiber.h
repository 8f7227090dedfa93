/* SPDX-License-Identifier: MIT */
/* raw_fiber.h: raw contexts (coring/context.h) with the ASan, TSan and valgrind annotations a
 * user of raw contexts needs, shared by the tests that switch between raw contexts. */
#ifndef CORING_TESTS_RAW_FIBER_H
#define CORING_TESTS_RAW_FIBER_H

#include <sys/mman.h>

#include "check.h"

/* Stack size of every fiber: generous, sanitizer builds use big frames. */
#define RAW_FIBER_STACK_SIZE (256u * 1024u)

/* ---- which annotations this build needs --------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(TEST_ASAN)
#define TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(TEST_TSAN)
#define TEST_TSAN 1
#endif
#endif
#if defined(TEST_ASAN) || defined(TEST_TSAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(TEST_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(TEST_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TEST_VALGRIND 1
#endif
#endif

/* ---- fibers ------------------------------------------------------------------------------- */

/* A raw context plus what the sanitizers need to know about its stack. */
typedef struct fiber {
	cr_context ctx;	      /* the raw context */
	unsigned char *stack; /* mmap'd stack, NULL for the thread's own context */
	const void *lo;	      /* stack bounds for ASan (learnt on the first switch away) */
	size_t size;	      /* stack size for ASan */
	void *fake_stack;     /* ASan's fake stack of this context while it is suspended */
	void *tsan_fiber;     /* TSan's fiber of this context */
	unsigned vg_id;	      /* valgrind's id of the registered stack */
} fiber;

/* The context that made the switch in progress. */
static fiber *switching_from;

/* Records which stack the context that switched here came from (ASan tells).  Called right
 * after every switch returns and first thing in a fiber's function (with NULL).  Returns
 * nothing. */
static inline void arrived(void *fake_stack)
{
#if defined(TEST_ASAN)
	const void *lo;
	size_t size;
	__sanitizer_finish_switch_fiber(fake_stack, &lo, &size);
	switching_from->lo = lo;
	switching_from->size = size;
#else
	(void)fake_stack;
#endif
}

/* cr_context_switch from `from` to `to` with the annotations around it.  Returns when another
 * fiber switches back to `from`. */
static inline void sw(fiber *from, fiber *to)
{
#if defined(TEST_ASAN)
	__sanitizer_start_switch_fiber(&from->fake_stack, to->lo, to->size);
#endif
#if defined(TEST_TSAN)
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
	switching_from = from;
	cr_context_switch(&from->ctx, &to->ctx);
	arrived(from->fake_stack);
}

/* Describes the calling thread's own (or the current task's) context.  Returns nothing. */
static inline void fiber_self(fiber *f)
{
	memset(f, 0, sizeof(*f));
#if defined(TEST_TSAN)
	f->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* Maps a stack and prepares f to run fn(arg) on it.  Returns nothing (fails the test). */
static inline void fiber_make(fiber *f, cr_context_fn fn, void *arg)
{
	memset(f, 0, sizeof(*f));
	void *p = mmap(NULL, RAW_FIBER_STACK_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	f->stack = p;
	f->lo = p;
	f->size = RAW_FIBER_STACK_SIZE;
#if defined(TEST_TSAN)
	f->tsan_fiber = __tsan_create_fiber(0);
#endif
#if defined(TEST_VALGRIND)
	f->vg_id = VALGRIND_STACK_REGISTER(f->stack, f->stack + RAW_FIBER_STACK_SIZE);
#endif
	CHECK_EQ_INT(cr_context_make(&f->ctx, f->stack, RAW_FIBER_STACK_SIZE, fn, arg), 0);
}

/* Frees a fiber that will never run again (it is suspended in a switch).  Returns nothing
 * (fails the test). */
static inline void fiber_free(fiber *f)
{
#if defined(TEST_ASAN)
	/* Its frames' redzones are still poisoned: clear them before the memory is reused. */
	__asan_unpoison_memory_region(f->stack, RAW_FIBER_STACK_SIZE);
#endif
#if defined(TEST_TSAN)
	__tsan_destroy_fiber(f->tsan_fiber);
#endif
#if defined(TEST_VALGRIND)
	VALGRIND_STACK_DEREGISTER(f->vg_id);
#endif
	CHECK_EQ_INT(munmap(f->stack, RAW_FIBER_STACK_SIZE), 0);
}

#endif
