/* SPDX-License-Identifier: MIT */
/* cr_run: sets up a worker on the calling thread, runs the main task, tears everything down. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiber.h"
#include "ring.h"
#include "worker.h"

static _Thread_local char setup_error[256];

const char *cr_setup_error(void)
{
	return setup_error;
}

/* Copies cfg (or the defaults) into out and checks it.  Returns 0 or -EINVAL. */
static int check_config(const cr_config *cfg, cr_config *out)
{
	if (cfg)
		*out = *cfg;
	else
		cr_config_init(out);
	if (out->workers > 1) {
		snprintf(setup_error, sizeof(setup_error),
			 "cr_config.workers=%u: only one worker is supported in this version",
			 out->workers);
		return -EINVAL;
	}
	if (out->stack_size == 0)
		out->stack_size = CR_DEFAULT_STACK_SIZE;
	if (out->stack_size > CR_MAX_STACK_SIZE) {
		snprintf(setup_error, sizeof(setup_error),
			 "cr_config.stack_size=%zu exceeds the maximum of %u bytes",
			 out->stack_size, CR_MAX_STACK_SIZE);
		return -EINVAL;
	}
	if (out->sq_entries == 0 || out->sq_entries > 32768 || out->cq_entries > 65536) {
		snprintf(setup_error, sizeof(setup_error),
			 "cr_config ring sizes out of range (sq 1..32768, cq <= 65536)");
		return -EINVAL;
	}
	if (out->cq_entries < 2 * out->sq_entries)
		out->cq_entries = 2 * out->sq_entries;
	if (out->ready_budget == 0)
		out->ready_budget = 64;
	return 0;
}

static void worker_destroy(cr__worker *w)
{
	cr__callbacks_destroy(&w->callbacks);
	cr__timer_heap_free(&w->timers);
	cr__stack_pool_destroy(&w->stacks);
	cr__ring_close(w->ring);
	cr__overflow_fini(w);
	free(w);
}

static int worker_create(cr__worker **out, const cr_config *cfg)
{
	cr__worker *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(setup_error, sizeof(setup_error), "out of memory");
		return -ENOMEM;
	}
	w->cfg = *cfg;
	cr__stack_pool_init(&w->stacks);
	int r = cr__ring_open(&w->ring, cfg, setup_error, sizeof(setup_error));
	if (r == 0 && (r = cr__overflow_init(w)) < 0)
		snprintf(setup_error, sizeof(setup_error), "could not set up the signal stack");
	if (r < 0) {
		worker_destroy(w);
		return r;
	}
	w->sched_fiber = cr__tsan_current();
	*out = w;
	return 0;
}

int cr_run(const cr_config *cfg, cr_task_fn fn, void *arg, int *result)
{
	setup_error[0] = '\0';
	if (cr__tls_worker) {
		snprintf(setup_error, sizeof(setup_error), "cr_run called inside cr_run");
		return -EBUSY;
	}
	if (!fn) {
		snprintf(setup_error, sizeof(setup_error), "cr_run needs a main function");
		return -EINVAL;
	}
	cr_config c;
	int r = check_config(cfg, &c);
	if (r)
		return r;
	cr__worker *w;
	r = worker_create(&w, &c);
	if (r)
		return r;
	cr__tls_worker = w;
	cr_task *main_task;
	cr_spawn_opts opts = {.name = "main", .stack_size = 0};
	r = cr__task_create(w, &main_task, fn, arg, &opts);
	if (r) {
		snprintf(setup_error, sizeof(setup_error), "could not create the main task: %s",
			 strerror(-r));
	} else {
		main_task->detached = 1;
		w->main_task = main_task;
		cr__sched_loop(w);
		if (result)
			*result = w->main_result;
	}
	cr__tls_worker = NULL;
	worker_destroy(w);
	return r;
}
