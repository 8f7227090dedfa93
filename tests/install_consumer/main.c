/* SPDX-License-Identifier: MIT */
/* A tiny program that test_install.sh builds against an installed coring (pkg-config and CMake). */
#include <errno.h>
#include <stdio.h>

#include <coring.h>

static int child(void *arg)
{
	int rc = cr_sleep(1000000); /* 1 ms on the loop's timer */

	return rc < 0 ? rc : *(const int *)arg + 1;
}

static int main_task(void *arg)
{
	cr_task *t;
	int result = -1;
	int rc = cr_spawn(&t, child, arg, NULL);

	if (rc < 0)
		return rc;
	rc = cr_join(t, &result);
	return rc < 0 ? rc : result;
}

int main(void)
{
	int base = 41;
	int result = -1;
	int rc = cr_run(NULL, main_task, &base, &result);

	if (rc < 0) {
		fprintf(stderr, "coring-consumer: cr_run failed (%d): %s\n", rc, cr_setup_error());
		return (rc == -ENOSYS || rc == -EPERM || rc == -EACCES) ? 77 : 1;
	}
	printf("coring-consumer %s: result=%d\n", CR_VERSION_STRING, result);
	return result == 42 ? 0 : 1;
}
