/* SPDX-License-Identifier: MIT */
/* Task creation, exit, cancellation and reaping; the control block sits atop the stack slot. */
#include <errno.h>
#include <string.h>

#include "fiber.h"
#include "join.h"
#include "remote.h"
#include "scheduler.h"
#include "task_group.h"
#include "worker.h"

#define TCB_SPACE ((sizeof(cr_task) + 63u) & ~(size_t)63u)

void cr__worker_stop(cr__worker *w)
{
	w->stopping = 1;
	cr__list *l;
	cr__list_for_each(l, &w->all)
	{
		cr_task *t = cr__list_entry(l, cr_task, all_node);
		if (t->state != CR__TASK_DONE)
			cr_cancel(t);
	}
}

/* The main task ended: asyncio.run cancels everything still alive, on every
 * worker. */
static void begin_shutdown(cr__worker *w)
{
	cr__runtime *rt = w->rt;
	atomic_store_explicit(&rt->stopping, 1, memory_order_seq_cst);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		cr__worker *o = rt->workers[i];
		if (o == w) {
			cr__worker_stop(w);
		} else {
			o->stop_msg.kind = CR__MSG_STOP;
			cr__remote_post(o, &o->stop_msg);
		}
	}
}

/* Counts a new task in.  Only a worker's first live task touches the shared
 * counter, so spawning next to a live task costs no atomic operation.  A
 * task spawned for another worker is counted in there before the spawning
 * task hears back, so the count cannot pass through 0 meanwhile.  Returns
 * nothing. */
static void count_in(cr__worker *w)
{
	if (w->live++ == 0)
		atomic_fetch_add_explicit(&w->rt->running, 1, memory_order_seq_cst);
}

/* Counts an ended task out; the last one out during shutdown wakes every
 * worker so that they notice. */
static void count_out(cr__worker *w)
{
	if (--w->live > 0)
		return;
	cr__runtime *rt = w->rt;
	uint64_t left = atomic_fetch_sub_explicit(&rt->running, 1, memory_order_seq_cst) - 1;
	if (left == 0 && atomic_load_explicit(&rt->stopping, memory_order_seq_cst))
		for (unsigned i = 0; i < rt->nworkers; i++)
			if (rt->workers[i] != w)
				cr__remote_poke(rt->workers[i]);
}

static void task_entry(void *arg)
{
	cr_task *t = arg;
	cr__worker *w = t->worker;
	cr__asan_finish(NULL, NULL, NULL); /* first run: nothing to restore */
	cr__sched_after_switch(w);
	t->result = t->fn(t->arg);
	t->state = CR__TASK_DONE;
	t->deadline = NULL;
	atomic_store_explicit(&t->done, 1, memory_order_release);
	cr__task_notify_watchers(t);
	if (t->group)
		cr__group_member_done(t);
	if (t == w->main_task) {
		w->main_result = t->result;
		begin_shutdown(w);
	}
	count_out(w);
	cr__sched_exit(w, t); /* a tail call: the last call this stack makes */
}

int cr__task_create(cr__worker *w, cr_task **out, cr_task_fn fn, void *arg,
		    const cr_spawn_opts *opts)
{
	if (!fn)
		return -EINVAL;
	size_t size = opts && opts->stack_size ? opts->stack_size : w->cfg.stack_size;
	if (size > CR_MAX_STACK_SIZE)
		return -EINVAL;
	if (size < CR_MIN_STACK_SIZE)
		size = CR_MIN_STACK_SIZE;
	int cls = cr__stack_class_of(size);
	if (cls < 0)
		return cls;
	void *slot;
	int r = cr__stack_get(&w->stacks, cls, &slot);
	if (r < 0)
		return r;
	size_t slot_size = cr__stack_slot_size(cls);
	cr_task *t = (cr_task *)((char *)slot + slot_size - TCB_SPACE);
	/* Every field set one by one: a memset of the whole block was a quarter
	 * of spawn+join (rep stos is slow to start on small blocks). */
	t->run.next = NULL;
	t->run.kind = CR__RUN_TASK;
	t->worker = w;
	t->fn = fn;
	t->arg = arg;
	t->result = 0;
	t->state = 0;
	t->detached = out == NULL;
	t->cancel_pending = w->stopping; /* spawned during shutdown: cancelled at once */
	t->canary_checked = 0;
	t->wait = NULL;
	t->deadline = NULL;
	cr__list_init(&t->watchers);
	t->group = NULL;
	t->group_node = (cr__list){0};
	t->slot = slot;
	t->slot_size = slot_size;
	t->stack_class = cls;
	t->asan_fake_stack = NULL;
	atomic_init(&t->done, 0);
	atomic_init(&t->cancel_msg.next, NULL);
	atomic_init(&t->release_msg.next, NULL);
	const char *name = opts && opts->name ? opts->name : "task";
	size_t n = strnlen(name, sizeof(t->name) - 1);
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	cr__ctx_make(&t->ctx, t, task_entry, t);
	t->tsan_fiber = cr__tsan_create();
	atomic_flag_clear_explicit(&t->cancel_posted, memory_order_relaxed);
	t->cancel_msg.kind = CR__MSG_CANCEL;
	t->release_msg.kind = CR__MSG_RELEASE;
	cr__list_push_front(&w->all, &t->all_node);
	count_in(w);
	w->stats.tasks_alive++;
	w->stats.tasks_spawned++;
	cr__sched_ready(w, t);
	if (out)
		*out = t;
	return 0;
}

void cr__task_reap(cr_task *t)
{
	cr__worker *w = t->worker;
	cr__list_remove(&t->all_node);
	cr__tsan_destroy(t->tsan_fiber);
	w->stats.tasks_alive--;
	cr__stack_put(&w->stacks, t->stack_class, t->slot);
}

/* Picks the worker for a new task.  Returns it, or NULL for a bad index. */
static cr__worker *place(cr__worker *w, const cr_spawn_opts *opts)
{
	cr__runtime *rt = w->rt;
	if (!opts || opts->placement == CR_ON_CURRENT)
		return w;
	if (opts->placement == CR_ON_WORKER)
		return opts->worker < rt->nworkers ? rt->workers[opts->worker] : NULL;
	if (opts->placement == CR_ON_ANY) {
		unsigned i = atomic_fetch_add_explicit(&rt->next_any, 1, memory_order_relaxed);
		return rt->workers[i % rt->nworkers];
	}
	return NULL;
}

int cr_spawn(cr_task **out, cr_task_fn fn, void *arg, const cr_spawn_opts *opts)
{
	cr__worker *w = cr__self();
	if (!w)
		return -EPERM;
	if (!fn)
		return -EINVAL;
	cr__worker *to = place(w, opts);
	if (!to)
		return -EINVAL;
	if (to == w)
		return cr__task_create(w, out, fn, arg, opts);
	if (!w->current)
		return -EPERM;
	return cr__remote_spawn(to, out, fn, arg, opts);
}

void cr__task_release(cr_task *t)
{
	if (t->worker != cr__self()) {
		cr__remote_post(t->worker, &t->release_msg);
		return;
	}
	if (t->state == CR__TASK_DONE && t->worker->exiting != t)
		cr__task_reap(t);
	else
		t->detached = 1;
}

void cr_detach(cr_task *t)
{
	if (t)
		cr__task_release(t);
}

int cr_cancel(cr_task *t)
{
	if (!t || atomic_load_explicit(&t->done, memory_order_acquire))
		return -ESRCH;
	if (t->worker != cr__self()) {
		if (!atomic_flag_test_and_set_explicit(&t->cancel_posted, memory_order_acq_rel))
			cr__remote_post(t->worker, &t->cancel_msg);
		return 0;
	}
	if (t->state == CR__TASK_PARKED && t->wait)
		cr__wait_abort(t->wait, -ECANCELED);
	else
		t->cancel_pending = 1;
	return 0;
}

int cr_task_done(const cr_task *t)
{
	return t && atomic_load_explicit(&((cr_task *)t)->done, memory_order_acquire);
}

int cr_worker_id(void)
{
	cr__worker *w = cr__self();
	return w ? (int)w->id : -1;
}

unsigned cr_worker_count(void)
{
	cr__worker *w = cr__self();
	return w ? w->rt->nworkers : 0;
}

cr_task *cr_current(void)
{
	cr__worker *w = cr__self();
	return w ? w->current : NULL;
}

const char *cr_task_name(const cr_task *t)
{
	if (!t)
		t = cr_current();
	return t ? t->name : "";
}
