/* SPDX-License-Identifier: MIT */
/* test_context_switch: per-task floating-point modes (MXCSR, x87 control word), values held across
 * yields and deep recursion that yields at every level survive context switches. */
#include "check.h"

#include <stdio.h>
#include <string.h>

#define MODE_ROUNDS 2000 /* yields per floating-point-mode task */
#define VALUE_ROUNDS 500 /* yields per value-carrying task */
#define VALUE_TASKS 8
#define DEEP_TASKS 40
#define DEEP_LEVELS 200
#define DEEP_STACK (256u * 1024u)
#define DEEP_WORDS 8 /* checked words kept on each recursion level */

/* ---- 1. floating-point control state per task ---------------------------------- */

/* The tests are not linked with libm, so fesetround() is not available: the
 * control registers are written directly (as fesetround does). */
enum { ROUND_NEAREST, ROUND_UP, ROUND_TOWARD_ZERO };

#if defined(__x86_64__)
#define HAVE_FP_CONTROL 1
#define MXCSR_FLAGS 0x003fu /* sticky exception flags: may legitimately change */
#define MXCSR_DAZ 0x0040u   /* denormals are zero */
#define MXCSR_FTZ 0x8000u   /* flush to zero */

static unsigned get_mxcsr(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static unsigned short get_x87cw(void)
{
	unsigned short v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

static void set_x87cw(unsigned short v)
{
	__asm__ volatile("fldcw %0" : : "m"(v));
}

/* The SSE control state that matters here: MXCSR without the sticky flags. */
static uint64_t get_fp_control(void)
{
	return get_mxcsr() & ~MXCSR_FLAGS;
}

/* Sets the SSE rounding mode (MXCSR.RC, bits 13-14) plus extra MXCSR bits. */
static void set_fp_control(int round, unsigned extra)
{
	static const unsigned rc[] = {0x0000u, 0x4000u, 0x6000u};
	set_mxcsr((get_mxcsr() & ~(0x6000u | MXCSR_FTZ | MXCSR_DAZ)) | rc[round] | extra);
}
#elif defined(__aarch64__)
#define HAVE_FP_CONTROL 1
#define FPCR_FZ (1u << 24) /* flush to zero */

static uint64_t get_fp_control(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, fpcr" : "=r"(v));
	return v;
}

/* Sets FPCR.RMode (bits 22-23) plus extra FPCR bits. */
static void set_fp_control(int round, unsigned extra)
{
	static const uint64_t rm[] = {0u, 1u << 22, 3u << 22};
	uint64_t v = (get_fp_control() & ~((uint64_t)3 << 22 | FPCR_FZ)) | rm[round] | extra;
	__asm__ volatile("msr fpcr, %0" : : "r"(v));
}
#else
#define HAVE_FP_CONTROL 0
#endif

/* What one mode task sets and then expects to keep. */
typedef struct mode_spec {
	const char *name;     /* for messages */
	int round;	      /* ROUND_* */
	unsigned extra;	      /* flush-to-zero style bits set with the rounding mode */
	unsigned short x87cw; /* x86-64: x87 control word, set independently */
	uint64_t control;     /* control register value read back after the set-up */
	double third;	      /* 1.0 / 3.0 as computed in this mode */
	int rounds_ok;	      /* yields after which everything was still intact */
} mode_spec;

static volatile double one = 1.0, three = 3.0;

#if HAVE_FP_CONTROL
/* Sets the mode of *spec, then yields many times and checks it after each. */
static int mode_task(void *arg)
{
	mode_spec *spec = arg;

	set_fp_control(spec->round, spec->extra);
#if defined(__x86_64__)
	/* An x87 rounding / precision setting different from the SSE one, so each
	 * unit's state is checked on its own. */
	set_x87cw(spec->x87cw);
#endif
	spec->control = get_fp_control();
	spec->third = one / three;
	for (int i = 0; i < MODE_ROUNDS; i++) {
		CHECK_OK(cr_yield());
		uint64_t c = get_fp_control();
		CHECK_MSG(c == spec->control,
			  "%s: FP control 0x%llx after yield %d, expected 0x%llx", spec->name,
			  (unsigned long long)c, i, (unsigned long long)spec->control);
#if defined(__x86_64__)
		unsigned short cw = get_x87cw();
		CHECK_MSG(cw == spec->x87cw,
			  "%s: x87 control word 0x%04x after yield %d, expected 0x%04x", spec->name,
			  cw, i, spec->x87cw);
#endif
		double t = one / three;
		CHECK_MSG(memcmp(&t, &spec->third, sizeof(t)) == 0,
			  "%s: 1/3 = %a after yield %d, expected %a", spec->name, t, i,
			  spec->third);
		spec->rounds_ok++;
	}
	return 0;
}

static void test_fp_modes(void)
{
	/* x87 control words: 53-bit precision + round up / 24-bit + round down / default. */
	mode_spec specs[3] = {
		{.name = "toward-zero", .round = ROUND_TOWARD_ZERO, .x87cw = 0x0A7F},
		{.name = "upward", .round = ROUND_UP, .x87cw = 0x047F},
		{.name = "nearest", .round = ROUND_NEAREST, .x87cw = 0x037F},
	};
#if defined(__x86_64__)
	specs[0].extra = MXCSR_FTZ | MXCSR_DAZ;
	specs[2].extra = MXCSR_FTZ;
	unsigned short main_cw = get_x87cw();
#elif defined(__aarch64__)
	specs[0].extra = FPCR_FZ;
#endif
	uint64_t main_control = get_fp_control();
	cr_task *t[3];

	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_spawn(&t[i], mode_task, &specs[i], NULL));
	for (int i = 0; i < 3; i++) {
		int r = -1;
		CHECK_OK(cr_join(t[i], &r));
		CHECK_EQ_INT(r, 0);
		CHECK_EQ_INT(specs[i].rounds_ok, MODE_ROUNDS);
	}
	/* The modes really differ (so the checks above could have failed). */
	CHECK(specs[0].control != specs[1].control && specs[1].control != specs[2].control &&
	      specs[0].control != specs[2].control);
	CHECK(specs[0].third != specs[1].third);
	CHECK(specs[1].third != specs[2].third);
	/* The waiting main task kept its own state too. */
	CHECK_EQ_U64(get_fp_control(), main_control);
#if defined(__x86_64__)
	CHECK_EQ_INT(get_x87cw(), main_cw);
#endif
	printf("fp modes: control 0x%llx / 0x%llx / 0x%llx, x87 CW 0x%04x / 0x%04x / 0x%04x kept "
	       "over %d yields each\n",
	       (unsigned long long)specs[0].control, (unsigned long long)specs[1].control,
	       (unsigned long long)specs[2].control, specs[0].x87cw, specs[1].x87cw, specs[2].x87cw,
	       MODE_ROUNDS);
	printf("fp modes: 1/3 = %a (toward zero), %a (upward), %a (nearest)\n", specs[0].third,
	       specs[1].third, specs[2].third);
}
#else
static void test_fp_modes(void)
{
	printf("fp modes: no control-register access for this architecture, not checked\n");
}
#endif

/* ---- 2. values live across switches ---------------------------------------------- */

/* Many doubles and integers stay live across each hook() call, so the compiler
 * keeps some in callee-saved registers (d8-d15 on aarch64; rbx, r12-r15 on
 * x86-64) or spills them to the task's stack. */
__attribute__((noinline)) static double carry_values(int seed, int rounds, int (*hook)(void),
						     uint64_t *ints_out)
{
	double a = seed * 0.5 + 1.0, b = seed * 0.25 + 2.0, c = seed + 3.0, d = 1.0 / (seed + 1);
	double e = seed * 1e-3, f = seed * 7.0, g = 1.0 / (seed + 2.0), h = 0.125 * seed;
	uint64_t x = (uint64_t)seed * 0x9E3779B97F4A7C15ull, y = (uint64_t)seed + 11;
	uint64_t z = ~(uint64_t)seed, v = (uint64_t)seed << 17;

	for (int i = 0; i < rounds; i++) {
		a = a * 1.0000001 + b * 1e-9;
		b = b * 0.9999999 + c * 1e-9;
		c = c + d * 1e-6;
		d = d * 0.99999 + e;
		e = e * 0.5 + f * 1e-12;
		f = f - g * 1e-7;
		g = g * 1.0000003 + h * 1e-10;
		h = h + a * 1e-11;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		y ^= x >> 13;
		z += y * 31;
		v = (v << 1 | v >> 63) ^ z;
		if (hook() != 0)
			return -1.0;
	}
	*ints_out = x ^ y ^ z ^ v;
	return a + b + c + d + e + f + g + h;
}

static int no_yield(void)
{
	return 0;
}

/* Read through volatile pointers, so the compiler cannot specialise
 * carry_values for either hook: both runs execute the same code. */
static int (*volatile hook_plain)(void) = no_yield;
static int (*volatile hook_yield)(void) = cr_yield;

/* Task: the same computation with a yield in every round must give the same bits. */
static int value_task(void *arg)
{
	int seed = (int)(intptr_t)arg;
	uint64_t ints_plain = 0, ints_yield = 1;
	double plain = carry_values(seed, VALUE_ROUNDS, hook_plain, &ints_plain);
	double yielded = carry_values(seed, VALUE_ROUNDS, hook_yield, &ints_yield);

	CHECK_MSG(memcmp(&plain, &yielded, sizeof(plain)) == 0,
		  "seed %d: %a with yields vs %a without", seed, yielded, plain);
	CHECK_EQ_U64(ints_yield, ints_plain);
	return seed;
}

static void test_values(void)
{
	cr_task *t[VALUE_TASKS];

	for (int i = 0; i < VALUE_TASKS; i++)
		CHECK_OK(cr_spawn(&t[i], value_task, (void *)(intptr_t)(i + 1), NULL));
	for (int i = 0; i < VALUE_TASKS; i++) {
		int r = -1;
		CHECK_OK(cr_join(t[i], &r));
		CHECK_EQ_INT(r, i + 1);
	}
	printf("values: %d tasks x %d yields, doubles and integers bit-identical\n", VALUE_TASKS,
	       VALUE_ROUNDS);
}

/* ---- 3. deep recursion yielding at every level ---------------------------------- */

static uint64_t deep_word(int task, int level, int k)
{
	uint64_t v = ((uint64_t)task << 40) ^ ((uint64_t)level << 16) ^ (uint64_t)k;
	return v * 0xD6E8FEB86659FD93ull;
}

/* Recurses to DEEP_LEVELS, yielding before and after the call at every level;
 * returns the number of levels whose locals survived intact. */
__attribute__((noinline)) static long deep(int task, int level)
{
	volatile uint64_t words[DEEP_WORDS];

	for (int k = 0; k < DEEP_WORDS; k++)
		words[k] = deep_word(task, level, k);
	if (cr_yield() != 0)
		return -1;
	long below = level + 1 < DEEP_LEVELS ? deep(task, level + 1) : 0;
	if (cr_yield() != 0)
		return -1;
	for (int k = 0; k < DEEP_WORDS; k++)
		if (words[k] != deep_word(task, level, k))
			return -1;
	return below < 0 ? below : below + 1;
}

static int deep_task(void *arg)
{
	int task = (int)(intptr_t)arg;
	return (int)deep(task, 0);
}

static void test_deep(void)
{
	cr_task *t[DEEP_TASKS];
	cr_spawn_opts opts = {.name = "deep", .stack_size = DEEP_STACK};
	cr_stats before, after;

	CHECK_OK(cr_stats_get(&before));
	for (int i = 0; i < DEEP_TASKS; i++)
		CHECK_OK(cr_spawn(&t[i], deep_task, (void *)(intptr_t)i, &opts));
	for (int i = 0; i < DEEP_TASKS; i++) {
		int r = -1;
		CHECK_OK(cr_join(t[i], &r));
		CHECK_MSG(r == DEEP_LEVELS, "deep task %d: %d levels intact, expected %d", i, r,
			  DEEP_LEVELS);
	}
	CHECK_OK(cr_stats_get(&after));
	/* Every level yields twice in every task: they really interleaved. */
	CHECK_GE_U64(after.switches - before.switches, (uint64_t)DEEP_TASKS * DEEP_LEVELS * 2);
	printf("deep: %d tasks x %d levels (256 KiB stacks), %llu switches\n", DEEP_TASKS,
	       DEEP_LEVELS, (unsigned long long)(after.switches - before.switches));
}

static int main_task(void *arg)
{
	(void)arg;
	test_fp_modes();
	test_values();
	test_deep();
	return 0;
}

int main(void)
{
	CHECK_EQ_INT(check_run(NULL, main_task, NULL), 0);
	return 0;
}
