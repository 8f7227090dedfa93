/* SPDX-License-Identifier: MIT */
/* test_fp_control: the floating-point control state (rounding mode, flush-to-zero; MXCSR and the
 * x87 control word on x86-64, FPCR on AArch64) belongs to each raw context (coring/context.h)
 * and to each task, across both switches; skipped where tests/fp_control.h has no helpers. */
#include "check.h"
#include "fp_control.h"
#include "raw_fiber.h"

#if defined(FP_CONTROL_REGISTERS)

#define MODE_ROUNDS 2000 /* yields per floating-point-mode task */

/* ---- 1. raw contexts: each keeps its own rounding mode ---------------------------------- */

static fiber r_main, r_peer;

static void round_body(void *arg)
{
	(void)arg;
	arrived(NULL);
	/* A fresh context starts at round-to-nearest, whatever its creator had. */
	CHECK_EQ_INT(fp_round_get(), FP_ROUND_NEAREST);
	fp_round_set(FP_ROUND_DOWNWARD);
	double down = fp_third();
	sw(&r_peer, &r_main);
	CHECK_EQ_INT(fp_round_get(), FP_ROUND_DOWNWARD); /* kept while main ran with its own mode */
	CHECK(!fp_rounding_is_real() || fp_third() == down);
	fp_round_set(FP_ROUND_NEAREST);
	sw(&r_peer, &r_main);
	CHECK_MSG(0, "round_body resumed after its last switch");
}

static void test_raw_contexts(void)
{
	CHECK_EQ_INT(fp_round_get(), FP_ROUND_NEAREST);
	double nearest = fp_third();
	fiber_self(&r_main);
	fiber_make(&r_peer, round_body, NULL);
	fp_round_set(FP_ROUND_UPWARD);
	double up = fp_third();
	CHECK(!fp_rounding_is_real() || up != nearest);
	sw(&r_main, &r_peer); /* the peer sets downward */
	CHECK_EQ_INT(fp_round_get(), FP_ROUND_UPWARD);
	CHECK(!fp_rounding_is_real() || fp_third() == up);
	fp_round_set(FP_ROUND_NEAREST);
	sw(&r_main, &r_peer); /* the peer checks its mode, goes back to nearest */
	CHECK_EQ_INT(fp_round_get(), FP_ROUND_NEAREST);
	CHECK(fp_third() == nearest);
	fiber_free(&r_peer);
	printf("raw contexts: rounding modes upward / downward kept per context\n");
}

/* ---- 2. tasks: each keeps its own control registers over many yields --------------------- */

/* What one mode task sets and then expects to keep. */
typedef struct mode_spec {
	const char *name;     /* for messages */
	int round;	      /* FP_ROUND_* */
	unsigned flush;	      /* flush-to-zero style bits set with the rounding mode */
	unsigned short x87cw; /* x86-64: x87 control word, set independently */
	uint64_t control;     /* control register value read back after the set-up */
	double third;	      /* 1.0 / 3.0 as computed in this mode */
	int rounds_ok;	      /* yields after which everything was still intact */
} mode_spec;

/* Sets the mode of *spec, then yields many times and checks it after each.  Returns 0. */
static int mode_task(void *arg)
{
	mode_spec *spec = arg;

	fp_control_set(spec->round, spec->flush);
#if defined(__x86_64__)
	/* An x87 rounding / precision setting different from the SSE one, so each
	 * unit's state is checked on its own. */
	fp_x87cw_set(spec->x87cw);
#endif
	spec->control = fp_control_get();
	spec->third = fp_third();
	for (int i = 0; i < MODE_ROUNDS; i++) {
		CHECK_OK(cr_yield());
		uint64_t c = fp_control_get();
		CHECK_MSG(c == spec->control,
			  "%s: FP control 0x%llx after yield %d, expected 0x%llx", spec->name,
			  (unsigned long long)c, i, (unsigned long long)spec->control);
#if defined(__x86_64__)
		unsigned short cw = fp_x87cw_get();
		CHECK_MSG(cw == spec->x87cw,
			  "%s: x87 control word 0x%04x after yield %d, expected 0x%04x", spec->name,
			  cw, i, spec->x87cw);
#endif
		double t = fp_third();
		CHECK_MSG(memcmp(&t, &spec->third, sizeof(t)) == 0,
			  "%s: 1/3 = %a after yield %d, expected %a", spec->name, t, i,
			  spec->third);
		spec->rounds_ok++;
	}
	return 0;
}

/* Main task: three tasks in three modes interleave; each, and main, keeps its own.  Returns 0. */
static int test_tasks(void *arg)
{
	(void)arg;
	/* x87 control words: 53-bit precision + round up / 24-bit + round down / default. */
	mode_spec specs[3] = {
		{.name = "toward-zero", .round = FP_ROUND_TOWARD_ZERO, .x87cw = 0x0A7F},
		{.name = "upward", .round = FP_ROUND_UPWARD, .x87cw = 0x047F},
		{.name = "nearest", .round = FP_ROUND_NEAREST, .x87cw = 0x037F},
	};
#if defined(__x86_64__)
	specs[0].flush = MXCSR_FTZ | MXCSR_DAZ;
	specs[2].flush = MXCSR_FTZ;
	unsigned short main_cw = fp_x87cw_get();
#elif defined(__aarch64__)
	specs[0].flush = FPCR_FZ;
#endif
	uint64_t main_control = fp_control_get();
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
	CHECK_EQ_U64(fp_control_get(), main_control);
#if defined(__x86_64__)
	CHECK_EQ_INT(fp_x87cw_get(), main_cw);
#endif
	printf("tasks: control 0x%llx / 0x%llx / 0x%llx, x87 CW 0x%04x / 0x%04x / 0x%04x kept "
	       "over %d yields each\n",
	       (unsigned long long)specs[0].control, (unsigned long long)specs[1].control,
	       (unsigned long long)specs[2].control, specs[0].x87cw, specs[1].x87cw, specs[2].x87cw,
	       MODE_ROUNDS);
	printf("tasks: 1/3 = %a (toward zero), %a (upward), %a (nearest)\n", specs[0].third,
	       specs[1].third, specs[2].third);
	return 0;
}

int main(void)
{
	check_watchdog(60);
	test_raw_contexts();
	CHECK_EQ_INT(check_run(NULL, test_tasks, NULL), 0);
	printf("PASS: the %s belong to each raw context and each task\n", FP_CONTROL_REGISTERS);
	return 0;
}

#else

int main(void)
{
	check_skip("tests/fp_control.h has no floating-point control register helpers for this "
		   "processor: nothing to check");
}

#endif
