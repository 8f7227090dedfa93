/* SPDX-License-Identifier: MIT */
/* Task groups: structured concurrency where the first failure cancels the siblings. */
#include <errno.h>
#include <string.h>

#include "task_group.h"
#include "task.h"
#include "worker.h"

void cr_task_group_init(cr_task_group *g)
{
	memset(g, 0, sizeof(*g));
	cr__list_init(&g->members);
}

static void cancel_members(cr_task_group *g)
{
	g->cancelling = 1;
	cr__list *l;
	cr__list_for_each(l, &g->members)
	{
		cr_task *t = cr__list_entry(l, cr_task, group_node);
		if (t->state != CR__TASK_DONE)
			cr_cancel(t);
	}
}

int cr_task_group_spawn(cr_task_group *g, cr_task_fn fn, void *arg, const cr_spawn_opts *opts)
{
	cr__worker *w = cr__self();
	if (!w)
		return -EPERM;
	if (g->cancelling)
		return -ECANCELED;
	cr_task *t;
	int r = cr__task_create(w, &t, fn, arg, opts);
	if (r)
		return r;
	t->detached = 1; /* the group does the waiting; the stack goes back on exit */
	t->group = g;
	cr__list_push_front(&g->members, &t->group_node);
	g->live++;
	g->worker = w;
	return 0;
}

void cr__group_member_done(cr_task *t)
{
	cr_task_group *g = t->group;
	cr__list_remove(&t->group_node);
	t->group = NULL;
	g->live--;
	if (t->result < 0 && !g->first_error && !g->cancelling) {
		g->first_error = t->result;
		cancel_members(g);
	}
	if (g->live == 0 && g->owner_wait)
		cr__wake(g->owner_wait, 0);
}

int cr_task_group_wait(cr_task_group *g)
{
	if (!cr_current())
		return -EPERM;
	int interrupted = 0;
	while (g->live > 0) {
		if (!interrupted) {
			interrupted = cr__wait_prepare();
			if (interrupted) {
				cancel_members(g);
				continue;
			}
		}
		cr__wait w;
		cr__wait_init(&w, interrupted ? NULL : cr__abort_wake);
		g->owner_wait = &w;
		int r = cr__wait_park(&w);
		g->owner_wait = NULL;
		if (r < 0 && !interrupted) {
			interrupted = r;
			cancel_members(g);
		}
	}
	int result = interrupted ? interrupted : g->first_error;
	g->first_error = 0;
	g->cancelling = 0;
	return result;
}
