/* SPDX-License-Identifier: MIT */
/* test_raw_context: the public raw context switch (coring/context.h): exact interleaving of main
 * and two contexts, callee-saved registers, the -EINVAL cases, and raw contexts used from inside
 * coring tasks; with the sanitizer and valgrind annotations a user of raw contexts needs
 * (raw_fiber.h).  That each context keeps its own floating-point control state is
 * test_fp_control's. */
#include "check.h"
#include "raw_fiber.h"

#define ROUNDS 1000	    /* rotations in the interleaving test */
#define VALUE_SWITCHES 2000 /* switches made while values are held in registers */
#define TASK_ROUNDS 200	    /* raw round trips per task in the cr_run test */

/* ---- 1. exact interleaving of main and two contexts --------------------------------- */

static fiber main_f, a_f, b_f;
static unsigned step; /* incremented at every checkpoint, by whoever runs */

/* Checks that the calling context reached its checkpoint at step `want`. */
#define AT(want)                                                                                   \
	do {                                                                                       \
		CHECK_EQ_U64(step, (want));                                                        \
		step++;                                                                            \
	} while (0)

/* Round r (steps 6r .. 6r+5): main -> A -> B -> main, then main -> B -> A -> main.  Every
 * switch resumes the target right after the switch it last made. */
static void a_body(void *arg)
{
	arrived(NULL);
	CHECK_EQ_PTR(arg, &a_f);
	for (unsigned r = 0;; r++) {
		AT(6 * r + 1);
		sw(&a_f, &b_f);
		AT(6 * r + 5);
		sw(&a_f, &main_f);
	}
}

static void b_body(void *arg)
{
	arrived(NULL);
	CHECK_EQ_PTR(arg, &b_f);
	for (unsigned r = 0;; r++) {
		AT(6 * r + 2);
		sw(&b_f, &main_f);
		AT(6 * r + 4);
		sw(&b_f, &a_f);
	}
}

static void test_interleaving(void)
{
	fiber_self(&main_f);
	fiber_make(&a_f, a_body, &a_f);
	fiber_make(&b_f, b_body, &b_f);
	for (unsigned r = 0; r < ROUNDS; r++) {
		AT(6 * r);
		sw(&main_f, &a_f); /* A, then B, come back here */
		AT(6 * r + 3);
		sw(&main_f, &b_f); /* B (resumed after its switch to main) -> A -> main */
	}
	CHECK_EQ_U64(step, 6u * ROUNDS);
	fiber_free(&a_f);
	fiber_free(&b_f);
}

/* ---- 2. callee-saved registers survive, and the switch restores them ---------------- */

/* Overwrites every callee-saved register (the compiler saves and restores them around the
 * statement for the caller, so only the switch's restoring is being tested). */
#if defined(__x86_64__)
#define CLOBBER_CALLEE_SAVED()                                                                     \
	__asm__ volatile("mov $0x5a5a5a5a, %%ebx\n\tmov %%rbx, %%r12\n\tmov %%rbx, %%r13\n\t"      \
			 "mov %%rbx, %%r14\n\tmov %%rbx, %%r15"                                    \
			 :                                                                         \
			 :                                                                         \
			 : "rbx", "r12", "r13", "r14", "r15")
#elif defined(__aarch64__)
#define CLOBBER_CALLEE_SAVED()                                                                     \
	__asm__ volatile("mov x19, #0x5a5a\n\tmov x20, x19\n\tmov x21, x19\n\tmov x22, x19\n\t"    \
			 "mov x23, x19\n\tmov x24, x19\n\tmov x25, x19\n\tmov x26, x19\n\t"        \
			 "mov x27, x19\n\tmov x28, x19\n\tfmov d8, x19\n\tfmov d9, x19\n\t"        \
			 "fmov d10, x19\n\tfmov d11, x19\n\tfmov d12, x19\n\tfmov d13, x19\n\t"    \
			 "fmov d14, x19\n\tfmov d15, x19"                                          \
			 :                                                                         \
			 :                                                                         \
			 : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",   \
			   "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15")
#else
#define CLOBBER_CALLEE_SAVED() ((void)0)
#endif

static fiber v_main, v_peer;

static uint64_t mix(uint64_t x, uint64_t i)
{
	return x * 6364136223846793005ull + (i | 1);
}

/* The peer: clobbers the callee-saved registers, then switches back, forever. */
static void clobber_body(void *arg)
{
	(void)arg;
	arrived(NULL);
	for (;;) {
		CLOBBER_CALLEE_SAVED();
		sw(&v_peer, &v_main);
	}
}

/* Six integers and four doubles live across every switch (in callee-saved registers where
 * the compiler can, on the stack otherwise); the result is compared with the same
 * computation made without switching. */
static void run_values(int do_switch, uint64_t out[7])
{
	uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6;
	double x = 1.5, y = 2.25, z = 3.125, w = 0.5;
	for (uint64_t i = 0; i < VALUE_SWITCHES; i++) {
		a = mix(a, i);
		b = mix(b, a);
		c = mix(c, b);
		d = mix(d, c);
		e = mix(e, d);
		f = mix(f, e);
		x = x * 1.0000001 + 0.25;
		y = y * 0.9999999 + x;
		z = z + y * 1e-9;
		w = w * 0.5 + z * 1e-12;
		if (do_switch)
			sw(&v_main, &v_peer);
	}
	out[0] = a;
	out[1] = b;
	out[2] = c;
	out[3] = d;
	out[4] = e;
	out[5] = f;
	double s = x + y + z + w;
	memcpy(&out[6], &s, sizeof(s));
}

static void test_callee_saved(void)
{
	uint64_t with[7], without[7];
	fiber_self(&v_main);
	fiber_make(&v_peer, clobber_body, NULL);
	run_values(1, with);
	run_values(0, without);
	CHECK_EQ_MEM(with, without, sizeof(with));
	fiber_free(&v_peer);
}

/* ---- 3. argument checks ----------------------------------------------------------------- */

static void never_run(void *arg)
{
	(void)arg;
	abort();
}

static void test_einval(void)
{
	static unsigned char stack[2 * CR_CONTEXT_MIN_STACK_SIZE];
	cr_context c = {(void *)&c};

	CHECK_EQ_INT(cr_context_make(NULL, stack, sizeof(stack), never_run, NULL), -EINVAL);
	CHECK_EQ_INT(cr_context_make(&c, NULL, sizeof(stack), never_run, NULL), -EINVAL);
	CHECK_EQ_INT(cr_context_make(&c, stack, sizeof(stack), NULL, NULL), -EINVAL);
	CHECK_EQ_INT(cr_context_make(&c, stack, 0, never_run, NULL), -EINVAL);
	CHECK_EQ_INT(cr_context_make(&c, stack, CR_CONTEXT_MIN_STACK_SIZE - 1, never_run, NULL),
		     -EINVAL);
	CHECK_EQ_INT(cr_context_make(&c, (void *)(UINTPTR_MAX - 100), CR_CONTEXT_MIN_STACK_SIZE,
				     never_run, NULL),
		     -EINVAL);
	CHECK_EQ_PTR(c.sp, &c); /* untouched by the failed calls */
	CHECK_EQ_INT(cr_context_make(&c, stack, CR_CONTEXT_MIN_STACK_SIZE, never_run, NULL), 0);
	CHECK(c.sp != (void *)&c);
	CHECK((unsigned char *)c.sp >= stack &&
	      (unsigned char *)c.sp < stack + CR_CONTEXT_MIN_STACK_SIZE);
	CHECK_EQ_U64((uintptr_t)c.sp % 16, 0);
}

/* ---- 4. raw contexts inside coring tasks -------------------------------------------------- */

/* One task with its own raw context; `log` records the order the tasks' contexts ran in. */
typedef struct task_side {
	fiber self, raw;
	unsigned id;
	unsigned raw_runs;
	uint64_t seen_in_raw; /* cr_now_ns() from the raw context: a non-waiting call works */
} task_side;

static unsigned order_log[4 * TASK_ROUNDS + 8];
static unsigned order_len;

/* The raw context of a task: counts, records, switches back to the task's stack. */
static void task_raw_body(void *arg)
{
	task_side *s = arg;
	arrived(NULL);
	for (;;) {
		s->raw_runs++;
		s->seen_in_raw = cr_now_ns();
		order_log[order_len++] = s->id;
		sw(&s->raw, &s->self);
	}
}

/* Each round: one raw round trip, then a yield (the other task runs its round). */
static int side_loop(task_side *s)
{
	fiber_self(&s->self);
	fiber_make(&s->raw, task_raw_body, s);
	for (unsigned i = 0; i < TASK_ROUNDS; i++) {
		unsigned before = s->raw_runs;
		sw(&s->self, &s->raw);
		CHECK_EQ_U64(s->raw_runs, before + 1);
		CHECK(s->seen_in_raw != 0);
		CHECK_EQ_INT(cr_yield(), 0);
	}
	fiber_free(&s->raw);
	return 0;
}

static int peer_task(void *arg)
{
	return side_loop(arg);
}

static int main_task(void *arg)
{
	(void)arg;
	static task_side mine = {.id = 1}, theirs = {.id = 2};
	cr_task *t;
	int result = -1;
	CHECK_OK(cr_spawn(&t, peer_task, &theirs, NULL));
	CHECK_EQ_INT(side_loop(&mine), 0);
	CHECK_OK(cr_join(t, &result));
	CHECK_EQ_INT(result, 0);
	CHECK_EQ_U64(mine.raw_runs, TASK_ROUNDS);
	CHECK_EQ_U64(theirs.raw_runs, TASK_ROUNDS);
	/* The two tasks alternate, each running its raw context once per turn. */
	CHECK_EQ_U64(order_len, 2 * TASK_ROUNDS);
	for (unsigned i = 0; i < order_len; i++)
		CHECK_EQ_U64(order_log[i], i % 2 + 1);
	return 0;
}

static void test_inside_tasks(void)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 1;
	CHECK_EQ_INT(check_run(&cfg, main_task, NULL), 0);
}

int main(void)
{
	check_watchdog(20);
	test_einval();
	test_interleaving();
	test_callee_saved();
	test_inside_tasks();
	/* And once more outside cr_run, after the runtime has come and gone. */
	step = 0;
	test_interleaving();
	puts("PASS: raw contexts interleave exactly, keep callee-saved registers, reject bad "
	     "arguments and work inside tasks");
	return 0;
}
