/* SPDX-License-Identifier: MIT */
/* twin_event: asyncio_event.py in C; two tasks wait on one event, a timer callback sets it and both
 * wake. */
#include "twin.h"

static void set_event(void *arg)
{
	cr_event *event = arg;

	printf("setting event in callback\n");
	TRY(cr_event_set(event));
}

static int coro1(void *arg)
{
	cr_event *event = arg;

	printf("coro1 waiting for event\n");
	TRY(cr_event_wait(event));
	printf("coro1 triggered\n");
	return 0;
}

static int coro2(void *arg)
{
	cr_event *event = arg;

	printf("coro2 waiting for event\n");
	TRY(cr_event_wait(event));
	printf("coro2 triggered\n");
	return 0;
}

static int amain(void *arg)
{
	cr_event event;
	cr_task *coros[2];

	(void)arg;
	cr_event_init(&event);
	printf("event start state: %s\n", py_bool(cr_event_is_set(&event)));
	if (cr_call_later(100 * MS, set_event, &event) == 0)
		FAIL("cr_call_later failed");
	/* await asyncio.gather(coro1(event), coro2(event)) */
	TRY(cr_spawn(&coros[0], coro1, &event, NULL));
	TRY(cr_spawn(&coros[1], coro2, &event, NULL));
	TRY(cr_gather(coros, 2, NULL));
	printf("event end state: %s\n", py_bool(cr_event_is_set(&event)));
	TRY(cr_event_destroy(&event));
	return 0;
}

int main(void)
{
	return twin_run(amain, NULL);
}
