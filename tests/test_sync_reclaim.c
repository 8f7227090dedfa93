/* SPDX-License-Identifier: MIT */
/* Wait-queue memory: segments are given back as waits end, timeouts leave no cells behind, destroy
 * frees all. */
#include "check.h"

#include "../sync/cqs.h"

#define ROUNDS 5000	 /* waits per scenario: 156 segments of cells if none were given back */
#define TIMEOUT_NS 20000 /* long enough to get into the queue, short enough to end soon */
#define BOUND 8		 /* live segments allowed at any time (the reclamation lag is a few) */

static cr_lock lock;
static cr_event event;
static cr_cond cond;
static cr_queue queue;
static cr_sem sem;
static int64_t peak;

static void note_peak(void)
{
	int64_t n = cr__cqs_live_segments();
	if (n > peak)
		peak = n;
}

/* Every wait times out on a primitive nobody wakes. */
static int timeouts(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		cr_deadline d;
		long item;
		cr_timeout_enter(&d, TIMEOUT_NS);
		CHECK_EQ_INT(cr_event_wait(&event), -ETIMEDOUT);
		cr_deadline_exit(&d);
		cr_timeout_enter(&d, TIMEOUT_NS);
		CHECK_EQ_INT(cr_queue_get(&queue, &item), -ETIMEDOUT);
		cr_deadline_exit(&d);
		CHECK_OK(cr_cond_acquire(&cond));
		cr_timeout_enter(&d, TIMEOUT_NS);
		CHECK_EQ_INT(cr_cond_wait(&cond), -ETIMEDOUT);
		cr_deadline_exit(&d);
		CHECK(cr_lock_locked(cr_cond_lock(&cond)));
		CHECK_OK(cr_cond_release(&cond));
		if (i % 256 == 0) {
			cr_yield(); /* a loop pass: retired segments can be freed */
			note_peak();
		}
	}
	return 0;
}

static int holder_done;

/* Takes the lock, lets the other task queue on it, hands it over: every
 * release is a hand-off to a parked waiter. */
static int ping(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		CHECK_OK(cr_lock_acquire(&lock));
		cr_yield();
		CHECK_OK(cr_lock_release(&lock));
		if (i % 256 == 0)
			note_peak();
	}
	holder_done = 1;
	return 0;
}

static int main_task(void *arg)
{
	(void)arg;
	int64_t base = cr__cqs_live_segments();
	cr_lock_init(&lock);
	cr_event_init(&event);
	cr_cond_init(&cond, NULL);
	CHECK_OK(cr_queue_init(&queue, sizeof(long), 0));
	CHECK_OK(cr_sem_init(&sem, 0));

	/* 1. Timeouts on queues nobody wakes leave nothing behind. */
	CHECK_OK(timeouts(NULL));
	CHECK_MSG(peak - base <= BOUND, "timeouts: %lld live segments at peak",
		  (long long)(peak - base));

	/* 2. Lock hand-offs between two tasks: segments are retired and freed. */
	peak = 0;
	cr_task *t[2];
	CHECK_OK(cr_spawn(&t[0], ping, NULL, NULL));
	CHECK_OK(cr_spawn(&t[1], ping, NULL, NULL));
	CHECK_OK(cr_gather(t, 2, NULL));
	CHECK_MSG(peak - base <= BOUND, "hand-offs: %lld live segments at peak",
		  (long long)(peak - base));

	/* 3. A semaphore whose waiters time out keeps their cells until the next
	 * release walks past them (documented); that release gives them back. */
	base = cr__cqs_live_segments();
	for (int i = 0; i < 2000; i++) {
		cr_deadline d;
		cr_timeout_enter(&d, TIMEOUT_NS);
		CHECK_EQ_INT(cr_sem_acquire(&sem), -ETIMEDOUT);
		cr_deadline_exit(&d);
	}
	CHECK(cr__cqs_live_segments() - base >= 2000 / CR__CQS_CELLS);
	CHECK_OK(cr_sem_release(&sem));
	CHECK_EQ_INT(cr_sem_value(&sem), 1);
	CHECK_OK(cr_sem_try_acquire(&sem));
	for (int i = 0; i < 4; i++)
		cr_yield();
	CHECK_MSG(cr__cqs_live_segments() - base <= 1, "after release: %lld live",
		  (long long)(cr__cqs_live_segments() - base));

	/* 4. destroy gives back the rest (all that is left). */
	CHECK_OK(cr_lock_destroy(&lock));
	CHECK_OK(cr_event_destroy(&event));
	CHECK_OK(cr_cond_destroy(&cond));
	CHECK_OK(cr_queue_destroy(&queue));
	CHECK_OK(cr_sem_destroy(&sem));
	for (int i = 0; i < 4; i++)
		cr_yield();
	CHECK_EQ_INT(cr__cqs_live_segments(), 0);
	return 0;
}

int main(void)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 1;
	check_watchdog(60);
	CHECK_OK(check_run(&cfg, main_task, NULL));
	CHECK_EQ_INT(cr__cqs_live_segments(), 0);
	return 0;
}
