/* SPDX-License-Identifier: MIT */
/* coring-echo-client: interop client (message mode) and load generator (load mode) for echo
 * servers. */
#include <coring.h>

#include <stdio.h>

#include "load.h"
#include "message_mode.h"
#include "options.h"

/* The main task: runs the chosen mode.  Returns the exit status. */
static int main_task(void *arg)
{
	const ec_options *o = arg;
	return o->load ? ec_load_run(o) : ec_message_mode(o);
}

int main(int argc, char **argv)
{
	ec_options o;
	int r = ec_options_parse(argc, argv, &o);
	if (r != EC_PARSE_RUN) {
		ec_options_free(&o);
		return r == EC_PARSE_EXIT ? 0 : 2;
	}
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = o.threads ? o.threads : o.load ? 0 : 1;
	int status = 1;
	r = cr_run(&cfg, main_task, &o, &status);
	if (r < 0) {
		const char *why = cr_setup_error();
		fprintf(stderr, "coring-echo-client: cannot start the coring runtime: %s\n",
			why && *why ? why : "unknown error");
		status = 1;
	}
	ec_options_free(&o);
	return status;
}
