/* SPDX-License-Identifier: MIT */
/* The monotonic clock, sleeping on the worker's timer heap, and yielding. */
#include <errno.h>
#include <time.h>

#include "scheduler.h"
#include "list.h"
#include "worker.h"

/* A sleep: the wait plus the timer that ends it. */
typedef struct sleep_wait {
	cr__wait wait;	 /* parked record */
	cr__timer timer; /* wakes the task at the sleep's end */
} sleep_wait;

uint64_t cr_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_fire(cr__timer *tm)
{
	sleep_wait *s = cr__container_of(tm, sleep_wait, timer);
	cr__wake(&s->wait, 0);
}

static void sleep_abort(cr__wait *w, int reason)
{
	sleep_wait *s = (sleep_wait *)w;
	cr__timer_heap_remove(&w->task->worker->timers, &s->timer);
	cr__wake(w, reason);
}

int cr_yield(void)
{
	cr__worker *w = cr__self();
	cr_task *t = w ? w->current : NULL;
	if (!t)
		return -EPERM;
	if (t->cancel_pending || t->deadline) {
		int r = cr__wait_prepare();
		if (r)
			return r;
	}
	cr__sched_requeue(w, t);
	return 0;
}

int cr_sleep_until(uint64_t deadline_ns)
{
	cr__worker *w = cr__self();
	if (!w || !w->current)
		return -EPERM;
	if (deadline_ns <= cr_now_ns())
		return cr_yield();
	int r = cr__wait_prepare();
	if (r)
		return r;
	sleep_wait s;
	cr__wait_init(&s.wait, sleep_abort);
	cr__timer_init(&s.timer, sleep_fire);
	r = cr__timer_heap_add(&w->timers, &s.timer, deadline_ns);
	if (r < 0)
		return r;
	return cr__wait_park(&s.wait);
}

int cr_sleep(uint64_t ns)
{
	if (ns == 0)
		return cr_yield();
	uint64_t now = cr_now_ns();
	return cr_sleep_until(ns > UINT64_MAX - now ? UINT64_MAX : now + ns);
}
