/* SPDX-License-Identifier: MIT */
/* cr_addr_resolve cancelled or timed out while getaddrinfo runs ends cancelled, as asyncio does. */
#include <coring.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/*
 * This program's own getaddrinfo stands in for the C library's (the linker
 * takes the program's definition): it tells the test when the pool thread is
 * inside it, then holds that thread until the test lets it go, so the test
 * can cancel the resolving task at exactly that point.  It answers every
 * name with 127.0.0.9.
 */
static atomic_int lookups_started;
static atomic_int release_lookup;

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	atomic_fetch_add(&lookups_started, 1);
	while (!atomic_load(&release_lookup))
		; /* the test releases it within milliseconds */
	struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in));
	if (!ai)
		return EAI_MEMORY;
	struct sockaddr_in *sin = (struct sockaddr_in *)(ai + 1);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f000009);
	ai->ai_family = AF_INET;
	ai->ai_socktype = SOCK_STREAM;
	ai->ai_addr = (struct sockaddr *)sin;
	ai->ai_addrlen = sizeof(*sin);
	*res = ai;
	return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
	free(res);
}

typedef struct resolve_job {
	cr_addr out[4];	   /* what the lookup wrote */
	int with_deadline; /* 1: a 20 ms deadline scope around the call */
	int charged;	   /* cr_deadline_exit's answer */
} resolve_job;

static int resolver(void *arg)
{
	resolve_job *j = arg;
	cr_deadline d;
	if (j->with_deadline)
		CHECK_OK(cr_timeout_enter(&d, 20000000));
	int r = cr_addr_resolve("some.name.invalid:80", 0, j->out, 4);
	if (j->with_deadline)
		j->charged = cr_deadline_exit(&d);
	/* the ending is reported once: the next wait runs normally */
	CHECK_EQ_INT(cr_sleep(0), 0);
	return r;
}

/* Waits (from a task) until the pool thread is inside getaddrinfo. */
static void wait_lookup_running(int n)
{
	CHECK_WAIT_UNTIL(atomic_load(&lookups_started) >= n, "the lookup to start");
}

static int main_cancel_while_running(void *arg)
{
	(void)arg;
	resolve_job j = {0};
	cr_task *t;
	atomic_store(&release_lookup, 0);
	CHECK_OK(cr_spawn(&t, resolver, &j, NULL));
	wait_lookup_running(1);
	CHECK_OK(cr_cancel(t));
	CHECK_OK(cr_sleep(1000000)); /* the cancellation lands while getaddrinfo runs */
	atomic_store(&release_lookup, 1);
	int res = 0;
	CHECK_OK(cr_join(t, &res));
	CHECK_EQ_INT(res, -ECANCELED);
	return 0;
}

static int main_deadline_while_running(void *arg)
{
	(void)arg;
	resolve_job j = {.with_deadline = 1};
	cr_task *t;
	atomic_store(&release_lookup, 0);
	CHECK_OK(cr_spawn(&t, resolver, &j, NULL));
	wait_lookup_running(2);
	CHECK_OK(cr_sleep(40000000)); /* the 20 ms deadline passes while getaddrinfo runs */
	atomic_store(&release_lookup, 1);
	int res = 0;
	CHECK_OK(cr_join(t, &res));
	CHECK_EQ_INT(res, -ETIMEDOUT);
	CHECK_EQ_INT(j.charged, 1);
	return 0;
}

static int main_undisturbed(void *arg)
{
	(void)arg;
	resolve_job j = {0};
	atomic_store(&release_lookup, 1);
	int n = cr_addr_resolve("another.name.invalid", 8080, j.out, 4);
	CHECK_EQ_INT(n, 1);
	char text[64];
	CHECK_GT_INT(cr_addr_format(&j.out[0], text, sizeof(text)), 0);
	CHECK_EQ_STR(text, "127.0.0.9:8080");
	return 0;
}

int main(void)
{
	check_watchdog(60);
	CHECK_EQ_INT(check_run(NULL, main_cancel_while_running, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_deadline_while_running, NULL), 0);
	CHECK_EQ_INT(check_run(NULL, main_undisturbed, NULL), 0);
	printf("test_net_resolve_cancel: OK\n");
	return 0;
}
