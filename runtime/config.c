/* SPDX-License-Identifier: MIT */
/* Default configuration of cr_run. */
#include <string.h>

#include <coring/runtime.h>

void cr_config_init(cr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 0; /* one per online CPU */
	cfg->stack_size = CR_DEFAULT_STACK_SIZE;
	cfg->sq_entries = 256;
	cfg->cq_entries = 8192; /* generous: multishot traffic posts many CQEs per SQE */
	cfg->no_defer_taskrun = 0;
	cfg->ready_budget = 64;
	cfg->offload_threads = 8;
	cfg->cancel_on_signal = 0;
}
