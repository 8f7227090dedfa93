/* SPDX-License-Identifier: MIT */
/* Cross-worker wake-ups and requests: inbox messages plus MSG_RING / eventfd doorbells. */
#include "remote.h"

#include <errno.h>
#include <pthread.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "join.h"
#include "scheduler.h"
#include "stats.h"
#include "task.h"
#include "list.h"
#include "worker.h"

/* Wakes a sleeping worker: MSG_RING from a worker's ring, else its eventfd. */
static void ring_doorbell(cr__worker *to)
{
	cr__worker *self = cr__self();
	if (self && self->rt == to->rt && cr__ring_has_msg_ring(self->ring)) {
		struct io_uring_sqe *sqe = cr__ring_sqe(self);
		sqe->opcode = IORING_OP_MSG_RING;
		sqe->fd = to->ring_fd;
		sqe->len = 0;			/* res of the target CQE */
		sqe->off = CR__UD_IGNORE;	/* user_data of the target CQE */
		sqe->user_data = CR__UD_IGNORE; /* our own completion is ignored too, */
		if (cr__ring_has_cqe_skip(self->ring))
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS; /* and skipped: it would end our next
								 sleep */
		cr__ring_submit_now(self);
	} else {
		uint64_t one = 1;
		ssize_t n = write(to->event_fd, &one, sizeof(one));
		(void)n; /* EAGAIN means the counter is already non-zero: it is awake */
	}
	if (self)
		self->stats.doorbells_sent++;
}

void cr__remote_poke(cr__worker *to)
{
	if (atomic_load_explicit(&to->sleeping, memory_order_seq_cst) &&
	    !atomic_exchange_explicit(&to->bell_rung, 1, memory_order_acq_rel))
		ring_doorbell(to);
}

void cr__remote_post(cr__worker *to, cr__msg *m)
{
	cr__inbox_push(&to->inbox, m);
	cr__remote_poke(to);
}

static void on_eventfd(cr__cqe_handler *h, int res, uint32_t flags);

/* Queues a read of the eventfd whose completion only wakes the loop. */
static void arm_eventfd(cr__worker *w)
{
	struct io_uring_sqe *sqe = cr__ring_sqe(w);
	sqe->opcode = IORING_OP_READ;
	sqe->fd = w->event_fd;
	sqe->addr = (uint64_t)(uintptr_t)&w->event_buf;
	sqe->len = sizeof(w->event_buf);
	sqe->off = (uint64_t)-1;
	sqe->user_data = (uint64_t)(uintptr_t)&w->event_handler | CR__UD_HANDLER;
}

static void on_eventfd(cr__cqe_handler *h, int res, uint32_t flags)
{
	(void)flags;
	cr__worker *w = cr__container_of(h, cr__worker, event_handler);
	if (res != -ECANCELED && res != -EBADF)
		arm_eventfd(w);
}

int cr__remote_init(cr__worker *w)
{
	cr__inbox_init(&w->inbox);
	w->ring_fd = cr__ring_fd(w->ring);
	w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->event_fd < 0)
		return -errno;
	w->event_handler.fn = on_eventfd;
	arm_eventfd(w);
	return 0;
}

static void handle_spawn(cr__worker *w, cr__spawn_req *req)
{
	req->err = cr__task_create(w, &req->task, req->fn, req->arg, &req->opts);
	if (req->err == 0)
		req->task->detached = (uint8_t)req->detached;
	cr__wake(&req->reply, req->err);
}

static void handle_watch(cr__watch_req *req)
{
	cr_task *t = req->task;
	if (t->state == CR__TASK_DONE)
		cr__wake(&req->wait, 0);
	else
		cr__watch_add(t, &req->node, &req->wait, 0);
}

static void handle_unwatch(cr__watch_req *req)
{
	/* Linked means the task has not ended: this is the one wake-up. */
	if (cr__list_linked(&req->node.node)) {
		cr__watch_remove(&req->node);
		cr__wake(&req->wait, req->wait.abort_reason);
	}
	/* Last touch: the requester may release req as soon as it sees this. */
	atomic_store_explicit(&req->unwatch_done, 1, memory_order_release);
}

static void handle(cr__worker *w, cr__msg *m)
{
	switch (m->kind) {
	case CR__MSG_WAKE: {
		cr__wait *wt = cr__container_of(m, cr__wait, msg);
		w->stats.wakeups_received++;
		if (!wt->woken) {
			wt->woken = 1;
			cr__sched_ready(w, wt->task);
		}
		break;
	}
	case CR__MSG_SPAWN:
		handle_spawn(w, (cr__spawn_req *)m);
		break;
	case CR__MSG_WATCH:
		handle_watch((cr__watch_req *)m);
		break;
	case CR__MSG_UNWATCH:
		handle_unwatch(cr__container_of(m, cr__watch_req, unwatch_msg));
		break;
	case CR__MSG_CANCEL: {
		cr_task *t = cr__container_of(m, cr_task, cancel_msg);
		atomic_flag_clear_explicit(&t->cancel_posted, memory_order_release);
		cr_cancel(t);
		break;
	}
	case CR__MSG_RELEASE:
		cr__task_release(cr__container_of(m, cr_task, release_msg));
		break;
	case CR__MSG_STOP:
		cr__worker_stop(w);
		break;
	case CR__MSG_SIGBLOCK: {
		cr__sigblock_req *req = (cr__sigblock_req *)m;
		pthread_sigmask(SIG_BLOCK, &req->set, NULL);
		cr__wake(&req->reply, 0);
		break;
	}
	case CR__MSG_STATS: {
		cr__stats_req *req = (cr__stats_req *)m;
		cr__stats_fill(w, req->out);
		cr__wake(&req->reply, 0);
		break;
	}
	}
}

unsigned cr__remote_drain(cr__worker *w)
{
	unsigned n = 0;
	cr__msg *m;
	while ((m = cr__inbox_pop(&w->inbox))) {
		handle(w, m);
		n++;
	}
	w->stats.messages += n;
	return n;
}

/* Abort of a cross-worker watch: ask the task's worker to unlink the node;
 * its reply (or the task's end) is the one wake-up. */
static void watch_abort(cr__wait *w, int reason)
{
	(void)reason;
	cr__watch_req *req = cr__container_of(w, cr__watch_req, wait);
	req->unwatch_msg.kind = CR__MSG_UNWATCH;
	cr__remote_post(req->task->worker, &req->unwatch_msg);
}

int cr__remote_wait_done(cr_task *t, int shielded)
{
	if (atomic_load_explicit(&t->done, memory_order_acquire))
		return 0;
	if (!shielded) {
		int r = cr__wait_prepare();
		if (r)
			return r;
	}
	cr__watch_req req;
	memset(&req, 0, sizeof(req));
	req.task = t;
	req.msg.kind = CR__MSG_WATCH;
	cr__wait_init(&req.wait, shielded ? NULL : watch_abort);
	cr__remote_post(t->worker, &req.msg);
	int r = cr__wait_park(&req.wait);
	/* An UNWATCH is on its way: req must outlive its handling. */
	if (req.wait.abort_reason)
		while (!atomic_load_explicit(&req.unwatch_done, memory_order_acquire))
			cr__yield_shielded();
	return r < 0 ? r : 0;
}

int cr__remote_spawn(cr__worker *to, cr_task **out, cr_task_fn fn, void *arg,
		     const cr_spawn_opts *opts)
{
	cr__spawn_req req;
	memset(&req, 0, sizeof(req));
	req.msg.kind = CR__MSG_SPAWN;
	req.fn = fn;
	req.arg = arg;
	if (opts)
		req.opts = *opts;
	req.detached = out == NULL;
	cr__wait_init(&req.reply, NULL);
	cr__remote_post(to, &req.msg);
	cr__wait_park(&req.reply);
	if (req.err == 0 && out)
		*out = req.task;
	return req.err;
}
