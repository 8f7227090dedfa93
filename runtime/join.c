/* SPDX-License-Identifier: MIT */
/* Waiting for tasks to end: join, gather (all) and wait_any (first). */
#include <errno.h>
#include <stdlib.h>

#include "join.h"
#include "remote.h"
#include "task.h"
#include "worker.h"

void cr__watch_add(cr_task *t, cr__watch *n, cr__wait *w, int index)
{
	n->wait = w;
	n->index = index;
	cr__list_push_front(&t->watchers, &n->node);
}

void cr__watch_remove(cr__watch *n)
{
	if (cr__list_linked(&n->node))
		cr__list_remove(&n->node);
}

void cr__task_notify_watchers(cr_task *t)
{
	cr__list *l;
	while ((l = cr__list_pop_front(&t->watchers))) {
		cr__watch *n = cr__list_entry(l, cr__watch, node);
		cr__wake(n->wait, n->index);
	}
}

/* Waits until t has ended.  shielded: cancellation and deadlines are ignored
 * (a cancellation stays pending).  Returns 0, -ECANCELED or -ETIMEDOUT. */
static int wait_done(cr_task *t, int shielded)
{
	if (t->worker != cr__self())
		return cr__remote_wait_done(t, shielded);
	if (t->state == CR__TASK_DONE)
		return 0;
	if (!shielded) {
		int r = cr__wait_prepare();
		if (r)
			return r;
	}
	cr__wait w;
	cr__wait_init(&w, shielded ? NULL : cr__abort_wake);
	cr__watch n;
	cr__watch_add(t, &n, &w, 0);
	int r = cr__wait_park(&w);
	cr__watch_remove(&n);
	return r < 0 ? r : 0;
}

/* Checks that t may be waited for by the current task.  Returns 0 or -errno. */
static int check_waitable(const cr_task *t)
{
	cr_task *me = cr_current();
	if (!me)
		return -EPERM;
	if (!t)
		return -EINVAL;
	if (t == me)
		return -EDEADLK;
	return 0;
}

int cr_join(cr_task *t, int *result)
{
	int r = check_waitable(t);
	if (r)
		return r;
	r = wait_done(t, 0);
	if (r)
		return r;
	if (result)
		*result = t->result;
	cr__task_release(t);
	return 0;
}

int cr_gather(cr_task *const *tasks, size_t n, int *results)
{
	for (size_t i = 0; i < n; i++) {
		int r = check_waitable(tasks[i]);
		if (r)
			return r;
	}
	int interrupted = 0;
	for (size_t i = 0; i < n; i++) {
		if (!interrupted) {
			interrupted = wait_done(tasks[i], 0);
			if (interrupted)
				for (size_t j = i; j < n; j++)
					cr_cancel(tasks[j]);
		}
		if (interrupted)
			wait_done(tasks[i], 1);
		if (results)
			results[i] = tasks[i]->result;
		cr__task_release(tasks[i]);
	}
	return interrupted;
}

/* Returns the lowest index of an ended task, or -1. */
static long first_done(cr_task *const *tasks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tasks[i]->state == CR__TASK_DONE)
			return (long)i;
	return -1;
}

int cr_wait_any(cr_task *const *tasks, size_t n, size_t *index)
{
	if (n == 0 || n > INT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int r = check_waitable(tasks[i]);
		if (r)
			return r;
		if (tasks[i]->worker != cr__self())
			return -EXDEV;
	}
	long done = first_done(tasks, n);
	if (done < 0) {
		int r = cr__wait_prepare();
		if (r)
			return r;
		cr__watch local[8];
		cr__watch *nodes = n <= 8 ? local : malloc(n * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
		cr__wait w;
		cr__wait_init(&w, cr__abort_wake);
		for (size_t i = 0; i < n; i++)
			cr__watch_add(tasks[i], &nodes[i], &w, (int)i);
		r = cr__wait_park(&w);
		for (size_t i = 0; i < n; i++)
			cr__watch_remove(&nodes[i]);
		if (nodes != local)
			free(nodes);
		if (r < 0)
			return r;
		done = first_done(tasks, n);
	}
	if (index)
		*index = (size_t)done;
	return 0;
}
