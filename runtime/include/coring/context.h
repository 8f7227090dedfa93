/* SPDX-License-Identifier: MIT */
/* coring context: the bare machine context switch the scheduler is built on. */
#ifndef CORING_PUBLIC_CONTEXT_H
#define CORING_PUBLIC_CONTEXT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A raw context is a stack pointer and nothing else: cr_context_switch saves the
 * registers the platform's calling convention makes callee-saved (on x86-64 rbx, rbp,
 * r12-r15, the MXCSR and the x87 control word; on AArch64 x19-x29, lr, sp, d8-d15 and
 * FPCR) on the current stack, stores the stack pointer in *from, and resumes *to.  It is
 * the switch the scheduler moves between tasks with (on AArch64 the very same code; on
 * x86-64 a twin with the same frame that returns through an indirect jump, which suits a
 * ping-pong), offered for benchmarks and for users who build their own coroutines.  The
 * floating-point control state (rounding mode, exception masks, flush-to-zero) belongs to
 * each context; the sticky exception flags (fetestexcept) are not kept per context.  Tasks
 * (cr_spawn) are the supported way to run concurrent code; this is what is left when
 * everything else is taken away:
 *
 * - No scheduler: nothing runs a context but an explicit switch to it, and nothing
 *   remembers who switched to whom.
 * - No cancellation, deadlines or joins.  A context's function must never return
 *   (returning executes a trap instruction); a context that is no longer needed is simply
 *   never switched to again, and its stack is then the caller's to free.
 * - No stack guard and no overflow report: the stack is the caller's memory, used as is.
 *   Put a PROT_NONE page below it (mmap + mprotect) if an overflow must fault.
 * - No sanitizer or valgrind annotations.  AddressSanitizer keeps one idea of "the current
 *   stack"; a switch it was not told about leads to false reports (typically after a
 *   noreturn call, longjmp or C++ throw on the other stack, or when memory that held a
 *   suspended stack is reused).  In ASan builds, call __sanitizer_start_switch_fiber
 *   right before each cr_context_switch and __sanitizer_finish_switch_fiber right after it
 *   returns and first thing in a context's function (<sanitizer/common_interface_defs.h>),
 *   and __asan_unpoison_memory_region on a stack before freeing or reusing it.  In TSan
 *   builds, give each context a fiber (__tsan_create_fiber) and call
 *   __tsan_switch_to_fiber right before each switch.  Under valgrind, announce each stack
 *   with VALGRIND_STACK_REGISTER.  tests/raw_fiber.h does all of this.  Use raw
 *   contexts only with stacks you manage.
 *
 * Raw contexts may be used outside cr_run and inside it.  A raw context that a task
 * switches to runs "inside" that task: as far as the runtime knows, the task is still
 * running.  So, while the task's own stack is switched away, do not call anything from
 * a raw context that can wait or give up the CPU (cr_yield, cr_sleep, joins, I/O, lock
 * waits, ...), and switch back to the task's stack before the task waits, yields or
 * returns: the scheduler must only ever see the task on its own stack.  A raw context
 * belongs to the thread that runs it; do not resume it on another thread.
 */

/* A suspended execution context.  Zero-initialise one that will only be switched from
 * (the current thread's context, such as main's); prepare others with cr_context_make. */
typedef struct cr_context {
	void *sp; /* saved stack pointer (the saved registers are just above it) */
} cr_context;

/* The function a fresh context runs; it receives cr_context_make's arg and must never
 * return. */
typedef void (*cr_context_fn)(void *arg);

/* Smallest stack size cr_context_make accepts.  What a context really needs is what its
 * function uses (sanitizer builds use much more); 64 KiB is a comfortable default. */
#define CR_CONTEXT_MIN_STACK_SIZE 4096u

/* Prepares *ctx so that the first cr_context_switch to it calls fn(arg) on the stack
 * [stack, stack + size), which must stay valid as long as the context may be resumed.  It
 * starts with the default floating-point control state (round to nearest, exceptions
 * masked), not the caller's.  Switching to a context that was never prepared, or preparing
 * one that is running, is undefined.  Returns 0, or -EINVAL if ctx, stack or fn is NULL,
 * size is below CR_CONTEXT_MIN_STACK_SIZE, or the range wraps around the address space
 * (*ctx is then left untouched). */
int cr_context_make(cr_context *ctx, void *stack, size_t size, cr_context_fn fn, void *arg);

/* Saves the calling context's callee-saved state into *from and resumes *to (a context
 * prepared by cr_context_make, or one that earlier switched away through this call).
 * from may be any cr_context the caller owns; to must not be the running context.
 * Returns when another context switches back to *from. */
void cr_context_switch(cr_context *from, cr_context *to);

#ifdef __cplusplus
}
#endif

#endif
