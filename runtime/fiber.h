/* SPDX-License-Identifier: MIT */
/* Tells ASan and TSan about stack switches (no-ops in other builds). */
#ifndef CORING_FIBER_H
#define CORING_FIBER_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(CORING_ASAN)
#define CORING_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(CORING_TSAN)
#define CORING_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(CORING_ASAN)
#define CORING_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(CORING_TSAN)
#define CORING_TSAN 1
#endif

#if defined(CORING_ASAN) && CORING_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
				     size_t *size_old);
void __asan_unpoison_memory_region(const volatile void *addr, size_t size);
#define cr__asan_start(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define cr__asan_finish(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#define cr__asan_unpoison(addr, size) __asan_unpoison_memory_region(addr, size)
#else
#define cr__asan_unpoison(addr, size) ((void)(addr), (void)(size))
#define cr__asan_start(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define cr__asan_finish(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

#if defined(CORING_TSAN) && CORING_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#define cr__tsan_current() __tsan_get_current_fiber()
#define cr__tsan_create() __tsan_create_fiber(0)
#define cr__tsan_destroy(f) __tsan_destroy_fiber(f)
#define cr__tsan_switch(f) __tsan_switch_to_fiber(f, 0)
#else
#define cr__tsan_current() ((void *)0)
#define cr__tsan_create() ((void *)0)
#define cr__tsan_destroy(f) ((void)(f))
#define cr__tsan_switch(f) ((void)(f))
#endif

/* Tells memcheck that the kernel filled [addr, addr+len) (io_uring writes are
 * invisible to it).  A no-op without valgrind. */
#if defined(CORING_HAVE_VALGRIND)
#include <valgrind/memcheck.h>
#define cr__mark_defined(addr, len) ((void)VALGRIND_MAKE_MEM_DEFINED(addr, len))
#define cr__running_on_valgrind() ((int)RUNNING_ON_VALGRIND)
#else
#define cr__mark_defined(addr, len) ((void)(addr), (void)(len))
#define cr__running_on_valgrind() 0
#endif

#endif
