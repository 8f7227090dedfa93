/* SPDX-License-Identifier: MIT */
/* fp_control.h: reads and sets the floating-point control registers (MXCSR and the x87 control
 * word on x86-64, FPCR on AArch64) for the tests that check they belong to each context. */
#ifndef CORING_TESTS_FP_CONTROL_H
#define CORING_TESTS_FP_CONTROL_H

#include <stdint.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FP_CONTROL_VALGRIND 1
#endif
#endif

/* The tests are not linked with libm (fesetround): the rounding mode is read and written in
 * the control registers directly, as fesetround does.  The values are x86's RC encoding. */
enum { FP_ROUND_NEAREST, FP_ROUND_DOWNWARD, FP_ROUND_UPWARD, FP_ROUND_TOWARD_ZERO };

#if defined(__x86_64__)
/* The registers this processor has helpers for (FP_CONTROL_REGISTERS is undefined where it has
 * none, and a test of them has nothing to check). */
#define FP_CONTROL_REGISTERS "MXCSR and x87 control word"
#define MXCSR_FLAGS 0x003fu /* sticky exception flags: may legitimately change */
#define MXCSR_DAZ 0x0040u   /* denormals are zero */
#define MXCSR_FTZ 0x8000u   /* flush to zero */
#define MXCSR_RC_SHIFT 13   /* rounding control, 2 bits */
#define X87CW_RC_SHIFT 10   /* rounding control, 2 bits */

/* Returns MXCSR. */
static inline unsigned fp_mxcsr_get(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

/* Loads v into MXCSR.  Returns nothing. */
static inline void fp_mxcsr_set(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

/* Returns the x87 control word. */
static inline unsigned short fp_x87cw_get(void)
{
	unsigned short v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

/* Loads v into the x87 control word.  Returns nothing. */
static inline void fp_x87cw_set(unsigned short v)
{
	__asm__ volatile("fldcw %0" : : "m"(v));
}

/* Returns the SSE control state: MXCSR without the sticky flags. */
static inline uint64_t fp_control_get(void)
{
	return fp_mxcsr_get() & ~MXCSR_FLAGS;
}

/* Sets the SSE rounding mode (FP_ROUND_*) and, of the flush bits (MXCSR_FTZ, MXCSR_DAZ), those
 * in `flush`; the x87 unit is left alone.  Returns nothing. */
static inline void fp_control_set(int round, unsigned flush)
{
	unsigned v = fp_mxcsr_get() & ~(3u << MXCSR_RC_SHIFT | MXCSR_FTZ | MXCSR_DAZ);
	fp_mxcsr_set(v | (unsigned)round << MXCSR_RC_SHIFT | flush);
}

/* Returns the rounding mode (FP_ROUND_*) of both SSE and x87; -1 if they disagree. */
static inline int fp_round_get(void)
{
	unsigned sse = (fp_mxcsr_get() >> MXCSR_RC_SHIFT) & 3;
	unsigned x87 = ((unsigned)fp_x87cw_get() >> X87CW_RC_SHIFT) & 3;
	return sse == x87 ? (int)sse : -1;
}

/* Sets the rounding mode (FP_ROUND_*) of SSE and x87, as fesetround does.  Returns nothing. */
static inline void fp_round_set(int round)
{
	fp_mxcsr_set((fp_mxcsr_get() & ~(3u << MXCSR_RC_SHIFT)) | (unsigned)round
									  << MXCSR_RC_SHIFT);
	fp_x87cw_set((unsigned short)((fp_x87cw_get() & ~(3u << X87CW_RC_SHIFT)) |
				      (unsigned)round << X87CW_RC_SHIFT));
}
#elif defined(__aarch64__)
#define FP_CONTROL_REGISTERS "FPCR"
#define FPCR_FZ (1u << 24)  /* flush to zero */
#define FPCR_RMODE_SHIFT 22 /* rounding mode, 2 bits */

/* FPCR.RMode encodes upward and downward the other way round from x86 (0 nearest, 1 upward,
 * 2 downward, 3 toward zero): the map is its own inverse.  Returns the other encoding. */
static inline unsigned fp_rmode_swap(unsigned mode)
{
	static const unsigned swap[] = {0u, 2u, 1u, 3u};
	return swap[mode & 3];
}

/* Returns FPCR. */
static inline uint64_t fp_control_get(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, fpcr" : "=r"(v));
	return v;
}

/* Sets the rounding mode (FP_ROUND_*) and FPCR.FZ if `flush` has it.  Returns nothing. */
static inline void fp_control_set(int round, unsigned flush)
{
	uint64_t v = fp_control_get() & ~((uint64_t)3 << FPCR_RMODE_SHIFT | FPCR_FZ);
	v |= (uint64_t)fp_rmode_swap((unsigned)round) << FPCR_RMODE_SHIFT | flush;
	__asm__ volatile("msr fpcr, %0" : : "r"(v));
}

/* Returns the rounding mode (FP_ROUND_*). */
static inline int fp_round_get(void)
{
	return (int)fp_rmode_swap((unsigned)(fp_control_get() >> FPCR_RMODE_SHIFT));
}

/* Sets the rounding mode (FP_ROUND_*), as fesetround does.  Returns nothing. */
static inline void fp_round_set(int round)
{
	fp_control_set(round, (unsigned)(fp_control_get() & FPCR_FZ));
}
#endif

/* Returns 1/3 rounded with the current mode (volatile: computed at run time). */
static inline double fp_third(void)
{
	volatile double one = 1.0, three = 3.0;
	return one / three;
}

/* Returns 1 where arithmetic follows the rounding mode (valgrind's CPU always rounds to
 * nearest, though it keeps the control registers). */
static inline int fp_rounding_is_real(void)
{
#if defined(FP_CONTROL_VALGRIND)
	return !RUNNING_ON_VALGRIND;
#else
	return 1;
#endif
}

#endif
