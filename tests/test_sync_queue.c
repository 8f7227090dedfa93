/* SPDX-License-Identifier: MIT */
/* test_sync_queue: cr_queue on one worker (asyncio.Queue, LifoQueue, PriorityQueue): order,
 * bounds, growth, nowait calls, task_done/join, shutdown, cancellation, deadlines, callbacks. */
#include <coring.h>

#include <stdint.h>

#include "sync_cases.h"

/* ---- helpers shared by the cases ---------------------------------------------------- */

/* An item bigger than a word, so that copies in and out are checked. */
typedef struct item {
	int key;      /* priority (smaller first) or value */
	int seq;      /* put order */
	char tag[16]; /* derived from key and seq */
} item;

static item mk(int key, int seq)
{
	item it;
	memset(&it, 0, sizeof(it));
	it.key = key;
	it.seq = seq;
	for (size_t i = 0; i < sizeof(it.tag); i++)
		it.tag[i] = (char)((unsigned)key * 31u + (unsigned)seq * 7u + (unsigned)i);
	return it;
}

static void check_item(const item *it)
{
	item want = mk(it->key, it->seq);
	CHECK_EQ_MEM(it, &want, sizeof(want));
}

static int cmp_calls;

static int cmp_key(const void *a, const void *b, void *ctx)
{
	CHECK_EQ_PTR(ctx, &cmp_calls);
	cmp_calls++;
	const item *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

static int init_kind(cr_queue *q, int kind, long maxsize)
{
	switch (kind) {
	case CR_QUEUE_FIFO:
		return cr_queue_init(q, sizeof(item), maxsize);
	case CR_QUEUE_LIFO:
		return cr_lifo_queue_init(q, sizeof(item), maxsize);
	default:
		return cr_priority_queue_init(q, sizeof(item), maxsize, cmp_key, &cmp_calls);
	}
}

/* One task doing one get or put. */
typedef struct op {
	cr_queue *q;	/* the queue */
	int id;		/* logged with the result */
	int value;	/* put: the key to put */
	int timeout_ms; /* > 0: inside a deadline scope of that length */
	int rc;		/* result of the call */
	item got;	/* get: the item */
	int done;	/* 1 once the call returned */
} op;

static int getter(void *arg)
{
	op *o = arg;
	cr_deadline d;
	if (o->timeout_ms > 0)
		CHECK_OK(cr_timeout_enter(&d, (uint64_t)o->timeout_ms * MS));
	o->rc = cr_queue_get(o->q, &o->got);
	if (o->timeout_ms > 0)
		CHECK_EQ_INT(cr_deadline_exit(&d), o->rc == -ETIMEDOUT);
	o->done = 1;
	if (o->rc == 0) {
		check_item(&o->got);
		rec(o->got.key);
	}
	return o->rc;
}

static int putter(void *arg)
{
	op *o = arg;
	cr_deadline d;
	item it = mk(o->value, o->id);
	if (o->timeout_ms > 0)
		CHECK_OK(cr_timeout_enter(&d, (uint64_t)o->timeout_ms * MS));
	o->rc = cr_queue_put(o->q, &it);
	if (o->timeout_ms > 0)
		CHECK_EQ_INT(cr_deadline_exit(&d), o->rc == -ETIMEDOUT);
	o->done = 1;
	if (o->rc == 0)
		rec(o->value);
	return o->rc;
}

static int joiner(void *arg)
{
	op *o = arg;
	cr_deadline d;
	if (o->timeout_ms > 0)
		CHECK_OK(cr_timeout_enter(&d, (uint64_t)o->timeout_ms * MS));
	o->rc = cr_queue_join(o->q);
	if (o->timeout_ms > 0)
		CHECK_EQ_INT(cr_deadline_exit(&d), o->rc == -ETIMEDOUT);
	o->done = 1;
	return o->rc;
}

static void put_now(cr_queue *q, int key)
{
	item it = mk(key, 0);
	CHECK_EQ_INT(cr_queue_put_nowait(q, &it), 0);
}

static int get_now(cr_queue *q)
{
	item it;
	CHECK_EQ_INT(cr_queue_get_nowait(q, &it), 0);
	check_item(&it);
	return it.key;
}

/* ---- cases ---------------------------------------------------------------------------- */

/* init errors, sizes, nowait calls; get of a non-empty and put to a non-full queue do not
 * switch tasks. */
static int case_basics(void *arg)
{
	(void)arg;
	cr_queue q;
	item it = mk(1, 1), out;
	volatile int flag = 0;
	CHECK_EQ_INT(cr_queue_init(&q, 0, 3), -EINVAL);
	CHECK_EQ_INT(cr_lifo_queue_init(&q, 0, 3), -EINVAL);
	CHECK_EQ_INT(cr_priority_queue_init(&q, 0, 3, cmp_key, NULL), -EINVAL);
	CHECK_EQ_INT(cr_priority_queue_init(&q, sizeof(item), 3, NULL, NULL), -EINVAL);

	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 2), 0);
	CHECK_EQ_INT(cr_queue_maxsize(&q), 2);
	CHECK_EQ_U64(cr_queue_qsize(&q), 0);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);
	CHECK_EQ_INT(cr_queue_full(&q), 0);
	CHECK_EQ_INT(cr_queue_get_nowait(&q, &out), -EAGAIN);
	cr_task *t = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_queue_put(&q, &it), 0);
	CHECK_EQ_U64(cr_queue_qsize(&q), 1);
	CHECK_EQ_INT(cr_queue_empty(&q), 0);
	CHECK_EQ_INT(cr_queue_full(&q), 0);
	it = mk(2, 2);
	CHECK_EQ_INT(cr_queue_put_nowait(&q, &it), 0);
	CHECK_EQ_INT(cr_queue_full(&q), 1);
	it = mk(3, 3);
	CHECK_EQ_INT(cr_queue_put_nowait(&q, &it), -EAGAIN);
	CHECK_EQ_U64(cr_queue_qsize(&q), 2);
	CHECK_EQ_INT(cr_queue_get(&q, &out), 0);
	CHECK_EQ_INT(out.key, 1);
	check_item(&out);
	CHECK_EQ_INT(cr_queue_full(&q), 0);
	CHECK_EQ_INT(cr_queue_get_nowait(&q, &out), 0);
	CHECK_EQ_INT(out.key, 2);
	CHECK_EQ_INT(cr_queue_get_nowait(&q, &out), -EAGAIN);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);
	CHECK_EQ_INT(flag, 0); /* nothing switched tasks */
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);

	/* maxsize 0 and negative: unbounded, never full */
	for (long m = 0; m >= -1; m--) {
		CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), m), 0);
		CHECK_EQ_INT(cr_queue_maxsize(&q), m);
		for (int i = 0; i < 100; i++) {
			put_now(&q, i);
			CHECK_EQ_INT(cr_queue_full(&q), 0);
		}
		CHECK_EQ_U64(cr_queue_qsize(&q), 100);
		CHECK_EQ_INT(cr_queue_destroy(&q), 0); /* frees the items still in it */
	}

	/* a pending cancellation does not stop a get or put that needs no wait */
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(int), 1), 0);
	int v = 7, w = 0;
	CHECK_OK(cr_cancel(cr_current()));
	CHECK_EQ_INT(cr_queue_put(&q, &v), 0);
	CHECK_EQ_INT(cr_queue_get(&q, &w), 0);
	CHECK_EQ_INT(w, 7);
	CHECK_EQ_INT(cr_queue_join(&q), -ECANCELED); /* one unfinished: join must wait */
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(cr_queue_join(&q), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* Items come out in FIFO, LIFO and priority order (comparator with its context). */
static int case_order(void *arg)
{
	(void)arg;
	static const int keys[] = {5, 1, 4, 2, 3, 9, 0, 8, 7, 6};
	enum { N = sizeof(keys) / sizeof(keys[0]) };
	static const int want[3][N] = {
		{5, 1, 4, 2, 3, 9, 0, 8, 7, 6},
		{6, 7, 8, 0, 9, 3, 2, 4, 1, 5},
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	};
	for (int kind = 0; kind < 3; kind++) {
		cr_queue q;
		CHECK_EQ_INT(init_kind(&q, kind, 0), 0);
		cmp_calls = 0;
		for (int i = 0; i < N; i++) {
			item it = mk(keys[i], i);
			CHECK_EQ_INT(cr_queue_put(&q, &it), 0);
		}
		CHECK_EQ_U64(cr_queue_qsize(&q), N);
		for (int i = 0; i < N; i++) {
			item it;
			CHECK_EQ_INT(cr_queue_get(&q, &it), 0);
			check_item(&it);
			CHECK_MSG(it.key == want[kind][i], "kind %d: item %d is %d, expected %d",
				  kind, i, it.key, want[kind][i]);
		}
		if (kind == CR_QUEUE_PRIORITY)
			CHECK_GT_INT(cmp_calls, 0);
		CHECK_EQ_INT(cr_queue_empty(&q), 1);
		CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	}
	return 0;
}

/* Getters that wait are woken in FIFO order and take from the queue when they run, as in
 * asyncio: puts of 5, 1, 3 to three waiting getters give FIFO 5 1 3, LIFO 3 1 5, priority
 * 1 3 5; the items stay counted in qsize until the getters ran. */
static int case_waiting_getters_order(void *arg)
{
	(void)arg;
	static const int want[3][3] = {{5, 1, 3}, {3, 1, 5}, {1, 3, 5}};
	for (int kind = 0; kind < 3; kind++) {
		cr_queue q;
		op g[3];
		cr_task *t[3];
		n_order = 0;
		CHECK_EQ_INT(init_kind(&q, kind, 0), 0);
		for (int i = 0; i < 3; i++) {
			g[i] = (op){.q = &q, .id = i};
			t[i] = spawn(getter, &g[i]);
		}
		settle();
		put_now(&q, 5);
		put_now(&q, 1);
		put_now(&q, 3);
		CHECK_EQ_U64(cr_queue_qsize(&q), 3);
		for (int i = 0; i < 3; i++)
			CHECK_EQ_INT(join(t[i]), 0);
		for (int i = 0; i < 3; i++)
			CHECK_MSG(g[i].got.key == want[kind][i],
				  "kind %d: getter %d got %d, not %d", kind, i, g[i].got.key,
				  want[kind][i]);
		CHECK_EQ_INT(cr_queue_empty(&q), 1);
		CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	}
	return 0;
}

/* A deterministic random mix of put_nowait/get_nowait against a reference model, for each
 * kind, unbounded and bounded: covers ring wrap-around while growing and heap order. */
static uint32_t lcg_state;

static uint32_t lcg(void)
{
	lcg_state = lcg_state * 1664525u + 1013904223u;
	return lcg_state >> 8;
}

static int case_model(void *arg)
{
	(void)arg;
	enum { OPS = 20000, MAXM = OPS };
	static int model[MAXM];
	for (int kind = 0; kind < 3; kind++) {
		for (int bounded = 0; bounded <= 1; bounded++) {
			cr_queue q;
			long maxsize = bounded ? 7 : 0;
			int len = 0, seq = 0;
			lcg_state = 12345u + (uint32_t)kind * 7u + (uint32_t)bounded;
			CHECK_EQ_INT(init_kind(&q, kind, maxsize), 0);
			for (int i = 0; i < OPS; i++) {
				int put_bias = (i / 500) % 2 ? 35 : 70;
				if ((int)(lcg() % 100) < put_bias) {
					int key = (int)(lcg() % 10000) * 10000 + seq % 10000;
					item it = mk(key, seq++);
					int rc = cr_queue_put_nowait(&q, &it);
					if (bounded && len == maxsize) {
						CHECK_EQ_INT(rc, -EAGAIN);
						CHECK_EQ_INT(cr_queue_full(&q), 1);
					} else {
						CHECK_EQ_INT(rc, 0);
						model[len++] = key;
					}
				} else {
					item it;
					int rc = cr_queue_get_nowait(&q, &it);
					if (len == 0) {
						CHECK_EQ_INT(rc, -EAGAIN);
						continue;
					}
					CHECK_EQ_INT(rc, 0);
					check_item(&it);
					int at = 0;
					if (kind == CR_QUEUE_LIFO)
						at = len - 1;
					if (kind == CR_QUEUE_PRIORITY)
						for (int j = 1; j < len; j++)
							if (model[j] < model[at])
								at = j;
					CHECK_MSG(it.key == model[at],
						  "kind %d bounded %d op %d: got %d, expected %d",
						  kind, bounded, i, it.key, model[at]);
					memmove(&model[at], &model[at + 1],
						(size_t)(len - at - 1) * sizeof(int));
					len--;
				}
				CHECK_EQ_U64(cr_queue_qsize(&q), (uint64_t)len);
			}
			CHECK_EQ_INT(cr_queue_destroy(&q), 0);
		}
	}
	return 0;
}

/* An unbounded queue grows to hold many items; they come out intact and in order. */
static int case_growth(void *arg)
{
	(void)arg;
	enum { N = 100000 };
	cr_queue q;
	volatile int flag = 0;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(int), 0), 0);
	cr_task *t = spawn(set_flag, (void *)&flag);
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(cr_queue_put(&q, &i), 0);
	CHECK_EQ_INT(flag, 0); /* no put waited */
	CHECK_EQ_U64(cr_queue_qsize(&q), N);
	CHECK_EQ_INT(cr_queue_full(&q), 0);
	for (int i = 0; i < N; i++) {
		int v = -1;
		CHECK_EQ_INT(cr_queue_get(&q, &v), 0);
		CHECK_EQ_INT(v, i);
	}
	CHECK_EQ_INT(cr_queue_empty(&q), 1);
	CHECK_EQ_INT(join(t), 0);
	/* the same with odd-sized items in a LIFO queue */
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	CHECK_EQ_INT(cr_lifo_queue_init(&q, 3, -5), 0);
	for (int i = 0; i < N; i++) {
		unsigned char b[3] = {(unsigned char)i, (unsigned char)(i >> 8),
				      (unsigned char)(i >> 16)};
		CHECK_EQ_INT(cr_queue_put_nowait(&q, b), 0);
	}
	for (int i = N - 1; i >= 0; i--) {
		unsigned char b[3];
		CHECK_EQ_INT(cr_queue_get_nowait(&q, b), 0);
		CHECK_EQ_INT(b[0] | b[1] << 8 | b[2] << 16, i);
	}
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* A bounded queue: puts wait while full and are let in, in FIFO order, as items leave. */
static int case_bounded_put_waits(void *arg)
{
	(void)arg;
	enum { N = 4 };
	cr_queue q;
	op p[N];
	cr_task *t[N];
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 2), 0);
	put_now(&q, 100);
	put_now(&q, 101);
	for (int i = 0; i < N; i++) {
		p[i] = (op){.q = &q, .id = i, .value = i};
		t[i] = spawn(putter, &p[i]);
	}
	settle();
	CHECK_EQ_INT(n_order, 0);
	CHECK_EQ_INT(cr_queue_full(&q), 1);
	CHECK_EQ_U64(cr_queue_qsize(&q), 2);
	CHECK_EQ_INT(get_now(&q), 100);
	settle();
	CHECK_EQ_INT(n_order, 1);
	CHECK_EQ_INT(cr_queue_full(&q), 1);
	CHECK_EQ_INT(get_now(&q), 101);
	CHECK_EQ_INT(get_now(&q), 0); /* two slots at once: two putters */
	settle();
	CHECK_EQ_INT(n_order, 3);
	CHECK_EQ_INT(get_now(&q), 1);
	CHECK_EQ_INT(get_now(&q), 2); /* the last putter is woken, has not run yet */
	CHECK_EQ_INT(cr_queue_empty(&q), 1);
	settle();
	CHECK_EQ_INT(get_now(&q), 3);
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(join(t[i]), 0);
	const int want[N] = {0, 1, 2, 3};
	check_order(want, N);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* task_done and join: join returns at once with nothing unfinished, waits for the last
 * task_done otherwise; task_done too often is refused and changes nothing. */
static int case_task_done_join(void *arg)
{
	(void)arg;
	cr_queue q;
	volatile int flag = 0;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 0), 0);
	cr_task *tf = spawn(set_flag, (void *)&flag);
	CHECK_EQ_INT(cr_queue_join(&q), 0);
	CHECK_EQ_INT(flag, 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), -EPERM);
	CHECK_EQ_INT(join(tf), 0);

	for (int i = 0; i < 3; i++)
		put_now(&q, i);
	op j1 = {.q = &q}, j2 = {.q = &q};
	cr_task *t1 = spawn(joiner, &j1);
	cr_task *t2 = spawn(joiner, &j2);
	settle();
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(j1.done + j2.done, 0);
		CHECK_EQ_INT(get_now(&q), i);
		settle();
		CHECK_EQ_INT(j1.done + j2.done, 0); /* got, not yet done */
		CHECK_EQ_INT(cr_queue_task_done(&q), 0);
		settle();
	}
	CHECK_EQ_INT(j1.done, 1);
	CHECK_EQ_INT(j2.done, 1);
	CHECK_EQ_INT(join(t1), 0);
	CHECK_EQ_INT(join(t2), 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), -EPERM);
	CHECK_EQ_INT(cr_queue_join(&q), 0);

	/* task_done may come before the get (asyncio counts puts, not gets) */
	put_now(&q, 7);
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), -EPERM);
	CHECK_EQ_INT(cr_queue_join(&q), 0);
	CHECK_EQ_INT(get_now(&q), 7);

	/* a joiner cancelled, or timed out, leaves the others waiting */
	put_now(&q, 8);
	j1 = (op){.q = &q};
	j2 = (op){.q = &q, .timeout_ms = 3};
	op j3 = {.q = &q};
	t1 = spawn(joiner, &j1);
	t2 = spawn(joiner, &j2);
	cr_task *t3 = spawn(joiner, &j3);
	settle();
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	CHECK_EQ_INT(join(t2), -ETIMEDOUT);
	CHECK_EQ_INT(j3.done, 0);
	CHECK_EQ_INT(get_now(&q), 8);
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(join(t3), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* shutdown(0): putters (waiting or new) get -ESHUTDOWN; getters drain the items still there
 * and then get -ESHUTDOWN; join still waits for task_done. */
static int case_shutdown(void *arg)
{
	(void)arg;
	cr_queue q;
	item it = mk(50, 0), out;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 2), 0);
	put_now(&q, 1);
	put_now(&q, 2);
	op p = {.q = &q, .value = 3};
	op j = {.q = &q};
	cr_task *tp = spawn(putter, &p);
	cr_task *tj = spawn(joiner, &j);
	settle();
	CHECK_EQ_INT(p.done, 0);
	CHECK_EQ_INT(cr_queue_shutdown(&q, 0), 0);
	CHECK_EQ_INT(join(tp), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_put_nowait(&q, &it), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_put(&q, &it), -ESHUTDOWN);
	CHECK_EQ_U64(cr_queue_qsize(&q), 2);
	CHECK_EQ_INT(cr_queue_get(&q, &out), 0);
	CHECK_EQ_INT(out.key, 1);
	CHECK_EQ_INT(cr_queue_put(&q, &it), -ESHUTDOWN); /* not full now, still refused */
	CHECK_EQ_INT(get_now(&q), 2);
	CHECK_EQ_INT(cr_queue_get(&q, &out), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_get_nowait(&q, &out), -ESHUTDOWN);
	settle();
	CHECK_EQ_INT(j.done, 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(join(tj), 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), -EPERM);
	CHECK_EQ_INT(cr_queue_shutdown(&q, 0), 0); /* again: no change */
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);

	/* getters waiting on an empty queue wake up with -ESHUTDOWN */
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 0), 0);
	op g1 = {.q = &q, .id = 1}, g2 = {.q = &q, .id = 2};
	cr_task *t1 = spawn(getter, &g1);
	cr_task *t2 = spawn(getter, &g2);
	settle();
	CHECK_EQ_INT(g1.done + g2.done, 0);
	CHECK_EQ_INT(cr_queue_shutdown(&q, 0), 0);
	CHECK_EQ_INT(join(t1), -ESHUTDOWN);
	CHECK_EQ_INT(join(t2), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_join(&q), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* shutdown(1): items are dropped and counted done (join released if nothing else is
 * unfinished), waiting putters and getters get -ESHUTDOWN; an item taken before and not yet
 * done keeps join waiting. */
static int case_shutdown_immediate(void *arg)
{
	(void)arg;
	cr_queue q;
	item out;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 3), 0);
	put_now(&q, 1);
	put_now(&q, 2);
	put_now(&q, 3);
	CHECK_EQ_INT(get_now(&q), 1); /* taken, not done */
	put_now(&q, 4);
	op p1 = {.q = &q, .value = 5}, p2 = {.q = &q, .value = 6};
	op j = {.q = &q};
	cr_task *tp1 = spawn(putter, &p1);
	cr_task *tp2 = spawn(putter, &p2);
	cr_task *tj = spawn(joiner, &j);
	settle();
	CHECK_EQ_INT(cr_queue_full(&q), 1);
	CHECK_EQ_INT(cr_queue_shutdown(&q, 1), 0);
	CHECK_EQ_U64(cr_queue_qsize(&q), 0);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);
	CHECK_EQ_INT(join(tp1), -ESHUTDOWN);
	CHECK_EQ_INT(join(tp2), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_get_nowait(&q, &out), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_get(&q, &out), -ESHUTDOWN);
	settle();
	CHECK_EQ_INT(j.done, 0); /* item 1 is still unfinished */
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(join(tj), 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), -EPERM);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);

	/* all unfinished items dropped: join released; waiting getters fail */
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 0), 0);
	put_now(&q, 1);
	put_now(&q, 2);
	j = (op){.q = &q};
	tj = spawn(joiner, &j);
	settle();
	CHECK_EQ_INT(j.done, 0);
	CHECK_EQ_INT(cr_queue_shutdown(&q, 1), 0);
	CHECK_EQ_INT(join(tj), 0);
	CHECK_EQ_INT(cr_queue_join(&q), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);

	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 0), 0);
	op g = {.q = &q};
	cr_task *tg = spawn(getter, &g);
	settle();
	CHECK_EQ_INT(cr_queue_shutdown(&q, 1), 0);
	CHECK_EQ_INT(join(tg), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* A waiting get or put that is cancelled returns -ECANCELED and leaves no trace: the item a
 * later put brings goes to the next getter or stays queued; a cancelled put added nothing. */
static int case_cancel_waiting(void *arg)
{
	(void)arg;
	cr_queue q;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 1), 0);
	op g1 = {.q = &q, .id = 1}, g2 = {.q = &q, .id = 2};
	cr_task *t1 = spawn(getter, &g1);
	cr_task *t2 = spawn(getter, &g2);
	settle();
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	put_now(&q, 10);
	CHECK_EQ_INT(join(t2), 0);
	CHECK_EQ_INT(g2.got.key, 10);
	g1 = (op){.q = &q, .id = 3};
	t1 = spawn(getter, &g1);
	settle();
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	put_now(&q, 11);
	settle();
	CHECK_EQ_U64(cr_queue_qsize(&q), 1);

	/* the queue is full: a cancelled putter adds nothing, the one behind it gets in */
	op p1 = {.q = &q, .value = 12}, p2 = {.q = &q, .value = 13};
	t1 = spawn(putter, &p1);
	t2 = spawn(putter, &p2);
	settle();
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	CHECK_EQ_U64(cr_queue_qsize(&q), 1);
	CHECK_EQ_INT(get_now(&q), 11);
	CHECK_EQ_INT(join(t2), 0);
	CHECK_EQ_INT(get_now(&q), 13);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);

	/* many cancelled getters over a few rounds, then the survivors get items in order */
	enum { N = 120 };
	static op g[N];
	static cr_task *t[N];
	static int want[N];
	for (int round = 0; round < 3; round++) {
		n_order = 0;
		for (int i = 0; i < N; i++) {
			g[i] = (op){.q = &q, .id = i};
			t[i] = spawn(getter, &g[i]);
		}
		settle();
		int nw = 0;
		for (int i = 0; i < N; i++) {
			if ((i + round) % 3 != 2)
				CHECK_OK(cr_cancel(t[i]));
			else
				want[nw++] = i;
		}
		settle();
		for (int i = 0; i < nw; i++) {
			item it = mk(want[i], i);
			CHECK_EQ_INT(cr_queue_put(&q, &it), 0); /* maxsize 1: waits for room */
		}
		for (int i = 0; i < N; i++)
			CHECK_EQ_INT(join(t[i]), (i + round) % 3 != 2 ? -ECANCELED : 0);
		check_order(want, nw);
		CHECK_EQ_INT(cr_queue_empty(&q), 1);
	}
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* A getter woken by a put and cancelled before it ran passes the wake-up on: the next getter
 * gets the item, or it stays queued; the same for a putter woken by a get. */
static int case_cancel_after_wakeup(void *arg)
{
	(void)arg;
	cr_queue q;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 1), 0);
	op g1 = {.q = &q, .id = 1}, g2 = {.q = &q, .id = 2};
	cr_task *t1 = spawn(getter, &g1);
	cr_task *t2 = spawn(getter, &g2);
	settle();
	put_now(&q, 20);
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	CHECK_EQ_INT(join(t2), 0);
	CHECK_EQ_INT(g2.got.key, 20);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);

	/* alone: the item stays */
	g1 = (op){.q = &q, .id = 3};
	t1 = spawn(getter, &g1);
	settle();
	put_now(&q, 21);
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	CHECK_EQ_U64(cr_queue_qsize(&q), 1);
	/* and a later getter is not blocked by a stale wake-up */
	g1 = (op){.q = &q, .id = 4};
	t1 = spawn(getter, &g1);
	CHECK_EQ_INT(join(t1), 0);
	CHECK_EQ_INT(g1.got.key, 21);

	/* putters: full queue, the first woken one cancelled, the second gets in */
	put_now(&q, 30);
	op p1 = {.q = &q, .value = 31}, p2 = {.q = &q, .value = 32};
	t1 = spawn(putter, &p1);
	t2 = spawn(putter, &p2);
	settle();
	CHECK_EQ_INT(get_now(&q), 30);
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	CHECK_EQ_INT(join(t2), 0);
	CHECK_EQ_INT(get_now(&q), 32);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);

	/* getters woken by shutdown and cancelled: -ECANCELED, the rest -ESHUTDOWN */
	g1 = (op){.q = &q, .id = 5};
	g2 = (op){.q = &q, .id = 6};
	t1 = spawn(getter, &g1);
	t2 = spawn(getter, &g2);
	settle();
	CHECK_EQ_INT(cr_queue_shutdown(&q, 0), 0);
	CHECK_OK(cr_cancel(t1));
	CHECK_EQ_INT(join(t1), -ECANCELED);
	CHECK_EQ_INT(join(t2), -ESHUTDOWN);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* Deadline scopes around get, put and join: -ETIMEDOUT, nothing taken or added, and the
 * queue keeps working. */
static int case_deadline(void *arg)
{
	(void)arg;
	cr_queue q;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 1), 0);
	op g1 = {.q = &q, .id = 1, .timeout_ms = 5}, g2 = {.q = &q, .id = 2};
	cr_task *t1 = spawn(getter, &g1);
	cr_task *t2 = spawn(getter, &g2);
	CHECK_EQ_INT(join(t1), -ETIMEDOUT);
	CHECK_EQ_INT(g2.done, 0);
	put_now(&q, 40);
	CHECK_EQ_INT(join(t2), 0);
	CHECK_EQ_INT(g2.got.key, 40);

	put_now(&q, 41);
	op p1 = {.q = &q, .value = 42, .timeout_ms = 5};
	t1 = spawn(putter, &p1);
	CHECK_EQ_INT(join(t1), -ETIMEDOUT);
	CHECK_EQ_U64(cr_queue_qsize(&q), 1);
	CHECK_EQ_INT(get_now(&q), 41);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);

	op j = {.q = &q, .timeout_ms = 5};
	t1 = spawn(joiner, &j);
	CHECK_EQ_INT(join(t1), -ETIMEDOUT); /* 41 not done yet */
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(cr_queue_join(&q), 0);

	/* an expired scope: calls that need no wait still work */
	cr_deadline d;
	item out;
	CHECK_OK(cr_timeout_enter(&d, 0));
	CHECK_EQ_INT(cr_queue_get(&q, &out), -ETIMEDOUT);
	item it = mk(43, 0);
	CHECK_EQ_INT(cr_queue_put(&q, &it), 0);
	CHECK_EQ_INT(cr_queue_put(&q, &it), -ETIMEDOUT);
	CHECK_EQ_INT(cr_queue_get(&q, &out), 0);
	CHECK_EQ_INT(out.key, 43);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_INT(cr_queue_empty(&q), 1);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* Puts and gets from loop callbacks that run right after a task queued are never lost; a
 * cancellation in the same callback leaves the item in the queue. */
static void put_cb(void *arg)
{
	int v = 1000 + cb_runs;
	CHECK_EQ_INT(cr_queue_put_nowait(arg, &v), 0);
	cb_runs++;
}

static void get_cb(void *arg)
{
	int v;
	CHECK_EQ_INT(cr_queue_get_nowait(arg, &v), 0);
	cb_runs++;
}

/* The wake-up of a cb_race: puts the value 5.  Returns cr_queue_put_nowait's result. */
static int put5_op(void *q)
{
	int v = 5;
	return cr_queue_put_nowait(q, &v);
}

static int cb_rc[3];

static void misuse_cb(void *arg)
{
	cr_queue *q = arg;
	int v = 1;
	cb_rc[0] = cr_queue_get(q, &v); /* empty: would wait */
	cb_rc[1] = cr_queue_join(q);	/* nothing unfinished: at once */
	cb_rc[2] = cr_queue_put(q, &v); /* room: at once */
}

static void misuse_full_cb(void *arg)
{
	cr_queue *q = arg;
	int v = 2;
	cb_rc[0] = cr_queue_put(q, &v); /* full: would wait */
	cb_rc[1] = cr_queue_join(q);	/* unfinished: would wait */
}

static int case_callbacks(void *arg)
{
	(void)arg;
	enum { N = 5000 };
	cr_queue q;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(int), 1), 0);
	cb_runs = 0;
	for (int i = 0; i < N; i++) {
		int v = -1;
		CHECK(cr_call_soon(put_cb, &q) != 0);
		CHECK_EQ_INT(cr_queue_get(&q, &v), 0);
		CHECK_EQ_INT(v, 1000 + i);
		CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	}
	cb_runs = 0;
	int z = 0;
	CHECK_EQ_INT(cr_queue_put_nowait(&q, &z), 0);
	for (int i = 0; i < N; i++) {
		CHECK(cr_call_soon(get_cb, &q) != 0);
		CHECK_EQ_INT(cr_queue_put(&q, &i), 0); /* full: waits for the callback's get */
		CHECK_EQ_INT(cr_queue_full(&q), 1);
	}
	CHECK_EQ_INT(cb_runs, N);
	int v;
	CHECK_EQ_INT(cr_queue_get_nowait(&q, &v), 0);
	CHECK_EQ_INT(v, N - 1);

	cb_race r = {put5_op, &q, cr_current()};
	for (int i = 0; i < N; i++) {
		CHECK(cr_call_soon(i % 2 ? op_then_cancel_cb : cancel_then_op_cb, &r) != 0);
		CHECK_EQ_INT(cr_queue_get(&q, &v), -ECANCELED);
		CHECK_EQ_U64(cr_queue_qsize(&q), 1);
		CHECK_EQ_INT(cr_queue_get_nowait(&q, &v), 0);
		CHECK_EQ_INT(v, 5);
		CHECK_EQ_INT(cr_yield(), 0);
	}
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);

	/* from a callback, calls that would wait are refused and register nothing */
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(int), 1), 0);
	CHECK(cr_call_soon(misuse_cb, &q) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_rc[0], -EPERM);
	CHECK_EQ_INT(cb_rc[1], 0);
	CHECK_EQ_INT(cb_rc[2], 0);
	CHECK_EQ_U64(cr_queue_qsize(&q), 1); /* the put stayed: no getter was registered */
	CHECK(cr_call_soon(misuse_full_cb, &q) != 0);
	CHECK_EQ_INT(cr_yield(), 0);
	CHECK_EQ_INT(cb_rc[0], -EPERM);
	CHECK_EQ_INT(cb_rc[1], -EPERM);
	CHECK_EQ_INT(cr_queue_get_nowait(&q, &v), 0);
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(cr_queue_empty(&q), 1); /* the refused put left nothing behind */
	CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(cr_queue_join(&q), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* destroy refuses while a getter, putter or joiner waits. */
static int case_destroy_busy(void *arg)
{
	(void)arg;
	cr_queue q;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 1), 0);
	op g = {.q = &q};
	cr_task *t = spawn(getter, &g);
	settle();
	CHECK_EQ_INT(cr_queue_destroy(&q), -EBUSY);
	put_now(&q, 1);
	CHECK_EQ_INT(join(t), 0);
	put_now(&q, 2);
	op p = {.q = &q, .value = 3};
	t = spawn(putter, &p);
	settle();
	CHECK_EQ_INT(cr_queue_destroy(&q), -EBUSY);
	CHECK_EQ_INT(get_now(&q), 2);
	CHECK_EQ_INT(join(t), 0);
	op j = {.q = &q};
	t = spawn(joiner, &j);
	settle();
	CHECK_EQ_INT(cr_queue_destroy(&q), -EBUSY);
	CHECK_EQ_INT(get_now(&q), 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(cr_queue_task_done(&q), 0);
	CHECK_EQ_INT(join(t), 0);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);

	/* getters, putters and joiners that were all cancelled do not count as waiting */
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 1), 0);
	put_now(&q, 1);
	op o[3] = {{.q = &q}, {.q = &q, .value = 2}, {.q = &q}};
	cr_task *ts[3] = {spawn(joiner, &o[0]), spawn(putter, &o[1]), spawn(joiner, &o[2])};
	settle();
	for (int i = 0; i < 3; i++)
		CHECK_OK(cr_cancel(ts[i]));
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(join(ts[i]), -ECANCELED);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 1), 0);
	op gg = {.q = &q};
	t = spawn(getter, &gg);
	settle();
	CHECK_OK(cr_cancel(t));
	CHECK_EQ_INT(join(t), -ECANCELED);
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* ---- random cancellations ------------------------------------------------------------- */

/* Rounds of getters of which a random subset is cancelled in random order; as many items as
 * getters are left are put at once, and sometimes the first of them is cancelled before it
 * ran: the others get the items in FIFO order and one item stays queued. */
static int case_random_cancel(void *arg)
{
	(void)arg;
	enum { ROUNDS = 150, MAXW = 40 };
	static op g[MAXW];
	static cr_task *t[MAXW];
	static int cancelled[MAXW];
	cr_queue q;
	CHECK_EQ_INT(cr_queue_init(&q, sizeof(item), 0), 0);
	rnd_state = 8080;
	for (int round = 0; round < ROUNDS; round++) {
		int k = 1 + (int)rnd(MAXW);
		n_order = 0;
		for (int i = 0; i < k; i++) {
			g[i] = (op){.q = &q, .id = i};
			cancelled[i] = 0;
			t[i] = spawn(getter, &g[i]);
		}
		settle();
		int live = k - cancel_some(t, cancelled, k);
		for (int i = 0; i < live; i++)
			put_now(&q, i);
		int left = 0;
		if (live > 0 && rnd(3) == 0) {
			for (int i = 0; i < k; i++) {
				if (!cancelled[i]) {
					CHECK_OK(cr_cancel(t[i])); /* woken, not run yet */
					cancelled[i] = 1;
					left = 1;
					break;
				}
			}
		}
		int j = 0;
		for (int i = 0; i < k; i++) {
			CHECK_EQ_INT(join(t[i]), cancelled[i] ? -ECANCELED : 0);
			if (!cancelled[i]) {
				CHECK_MSG(g[i].got.key == j,
					  "round %d: getter %d got %d, expected %d", round, i,
					  g[i].got.key, j);
				j++;
			}
		}
		CHECK_EQ_U64(cr_queue_qsize(&q), left);
		if (left)
			CHECK_EQ_INT(get_now(&q), live - 1);
	}
	CHECK_EQ_INT(cr_queue_destroy(&q), 0);
	return 0;
}

/* ---- driver ------------------------------------------------------------------------ */

/* With an argument, runs only the cases whose name contains it. */
int main(int argc, char **argv)
{
	static const sync_case cases[] = {
		{"basics and fast path", case_basics},
		{"FIFO, LIFO and priority order", case_order},
		{"waiting getters", case_waiting_getters_order},
		{"model check", case_model},
		{"unbounded growth", case_growth},
		{"bounded put waits", case_bounded_put_waits},
		{"task_done and join", case_task_done_join},
		{"shutdown", case_shutdown},
		{"shutdown immediate", case_shutdown_immediate},
		{"cancel waiting get/put", case_cancel_waiting},
		{"cancel after wake-up", case_cancel_after_wakeup},
		{"deadline", case_deadline},
		{"callbacks", case_callbacks},
		{"destroy busy", case_destroy_busy},
		{"random cancellations", case_random_cancel},
	};
	cr_queue outside;
	int v = 1;
	CHECK_EQ_INT(cr_queue_init(&outside, sizeof(int), 0), 0);
	CHECK_EQ_INT(cr_queue_shutdown(&outside, 0), -EPERM);
	CHECK_EQ_INT(cr_queue_put_nowait(&outside, &v), -EPERM);
	CHECK_EQ_U64(cr_queue_qsize(&outside), 0);
	CHECK_EQ_INT(cr_queue_destroy(&outside), 0);

	return sync_run_cases(cases, N_CASES(cases), argc, argv, NULL);
}
