/* SPDX-License-Identifier: MIT */
/* Default configuration of cr_run. */
#include <string.h>

#include <coring/runtime.h>

void cr_config_init(cr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 0; /* one per online CPU */
	cfg->stack_size = CR_DEFAULT_STACK_SIZE;
	cfg->sq_entries = CR_DEFAULT_SQ_ENTRIES;
	cfg->cq_entries = CR_DEFAULT_CQ_ENTRIES;
	cfg->no_defer_taskrun = 0;
	cfg->ready_budget = CR_DEFAULT_READY_BUDGET;
	cfg->offload_threads = CR_DEFAULT_OFFLOAD_THREADS;
	cfg->cancel_on_signal = 0;
}
