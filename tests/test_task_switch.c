/* SPDX-License-Identifier: MIT */
/* test_task_switch: the scheduler's switch between tasks (cr_yield): values held in registers
 * across yields and deep recursion that yields at every level survive it.  That each task keeps
 * its own floating-point control state is test_fp_control's. */
#include "check.h"

#include <stdio.h>
#include <string.h>

#define VALUE_ROUNDS 500 /* yields per value-carrying task */
#define VALUE_TASKS 8
#define DEEP_TASKS 40
#define DEEP_LEVELS 200
#define DEEP_STACK (256u * 1024u)
#define DEEP_WORDS 8 /* checked words kept on each recursion level */

/* ---- 1. values live across switches ---------------------------------------------- */

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

/* ---- 2. deep recursion yielding at every level ---------------------------------- */

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
	test_values();
	test_deep();
	return 0;
}

int main(void)
{
	CHECK_EQ_INT(check_run(NULL, main_task, NULL), 0);
	return 0;
}
