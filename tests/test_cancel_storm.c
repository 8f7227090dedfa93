/* SPDX-License-Identifier: MIT */
/* Cancellation storm: reads, sleeps, nops, joins cancelled at random; nothing lost or doubled. */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

#define ROUNDS 20000
#define ROUNDS_2W 5000 /* rounds of the two-worker phase */
#define WINDOW 64      /* victim/canceller pairs alive at once */
#define NPIPES 24
#define NUNIX 12 /* AF_UNIX stream socketpairs */
#define NTCP 8	 /* loopback TCP connections */
#define NCHANS (NPIPES + NUNIX + NTCP)
#define MS (1000000ull)
#define HANG_NS (20000 * MS) /* a cancel not delivered by then is lost */

enum op { OP_PIPE, OP_UNIX, OP_TCP, OP_NEVER, OP_SLEEP, OP_NOP, OP_JOIN, OP_COUNT };

static const char *const op_names[OP_COUNT] = {"pipe-read", "unix-read", "tcp-read", "never-read",
					       "sleep",	    "nop",	 "join"};

/* A byte stream with a sequence number on each side: byte i is seq_byte(i).
 * Victims read it on worker 0; cancellers may write it from worker 1. */
typedef struct chan {
	int rfd;	   /* read end (the victims') */
	int wfd;	   /* write end (non-blocking, the cancellers') */
	uint64_t written;  /* bytes written so far (atomic) */
	uint64_t consumed; /* bytes read so far (worker 0 only) */
	int busy;	   /* 1 while a victim reads it (worker 0 only) */
} chan;

/* One victim and the task that cancels it. */
typedef struct pair {
	int op;		    /* enum op */
	chan *ch;	    /* the channel read, for the stream reads */
	size_t read_len;    /* bytes asked per read */
	int delay_kind;	    /* 0: cancel at once, 1: after a yield, 2: after a sleep */
	uint64_t delay_ns;  /* the sleep, for delay_kind 2 */
	int pre_write;	    /* bytes written before the delay (reads may complete) */
	int with_cancel;    /* bytes written right before the cancel (same iteration) */
	int loops;	    /* sleeps / nops the victim does at most */
	uint64_t sleep_ns;  /* length of each of the victim's sleeps, or the child's */
	unsigned child_on;  /* worker of the join victim's child */
	int remote;	    /* 1 if the canceller runs on another worker */
	int cancel_issued;  /* 1 once cr_cancel(victim) returned 0 (atomic) */
	int cancelled_seen; /* -ECANCELED results the victim saw */
	cr_task *victim;    /* handle, joined by main */
	cr_task *canceller; /* handle, joined by main */
} pair;

/* The whole run's state. */
typedef struct storm {
	unsigned workers;	  /* workers of this phase */
	int rounds;		  /* rounds of this phase */
	chan chans[NCHANS];	  /* pipes, then unix socketpairs, then TCP */
	int never[2];		  /* a pipe nobody writes: reads end only by cancel */
	pair pairs[WINDOW];	  /* ring of pairs, reused round by round */
	uint64_t rng;		  /* xorshift64 state (main only) */
	uint64_t ops[OP_COUNT];	  /* victims per kind */
	uint64_t reads_ok;	  /* reads that returned data */
	uint64_t reads_cancelled; /* reads that returned -ECANCELED */
	uint64_t cancel_at_op;	  /* victims whose operation itself was cancelled */
	uint64_t bytes_read;	  /* bytes consumed by victims */
	uint64_t remote_cancels;  /* cancels sent from the other worker */
} storm;

static storm S;

static uint64_t rnd(void)
{
	uint64_t x = S.rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	S.rng = x;
	return x;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static uint8_t seq_byte(uint64_t i)
{
	return (uint8_t)(i * 131u + (i >> 8) * 7u + 1u);
}

/* Writes the channel's next n bytes.  One canceller at a time writes a given
 * channel; the counter moves first so a reader never sees bytes beyond it. */
static void chan_write(chan *c, int n)
{
	uint8_t buf[64];
	CHECK(n > 0 && n <= (int)sizeof(buf));
	uint64_t base = __atomic_fetch_add(&c->written, (uint64_t)n, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++)
		buf[i] = seq_byte(base + (uint64_t)i);
	CHECK_EQ_INT(write(c->wfd, buf, (size_t)n), n);
}

/* Checks that buf continues c's sequence exactly (nothing lost, nothing repeated). */
static void chan_consume(chan *c, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t at = c->consumed + i;
		CHECK_MSG(buf[i] == seq_byte(at),
			  "channel %d: byte %llu is 0x%02x, expected 0x%02x (lost or duplicated "
			  "data)",
			  (int)(c - S.chans), (unsigned long long)at, buf[i], seq_byte(at));
	}
	c->consumed += n;
	CHECK_LE_U64(c->consumed, __atomic_load_n(&c->written, __ATOMIC_SEQ_CST));
}

static void delay(int kind, uint64_t ns)
{
	if (kind == 1)
		CHECK_EQ_INT(cr_yield(), 0);
	else if (kind == 2)
		CHECK_EQ_INT(cr_sleep(ns), 0);
}

static int canceller(void *arg)
{
	pair *p = arg;
	if (p->pre_write)
		chan_write(p->ch, p->pre_write);
	delay(p->delay_kind, p->delay_ns);
	if (p->with_cancel)
		chan_write(p->ch, p->with_cancel); /* the data and the cancel arrive together */
	CHECK_EQ_INT(cr_cancel(p->victim), 0);
	__atomic_store_n(&p->cancel_issued, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* Records a wait's result: 0 (or, for reads, a count) or -ECANCELED only. */
static int note(pair *p, int r)
{
	if (r == -ECANCELED) {
		p->cancelled_seen++;
		return 1;
	}
	CHECK_MSG(r >= 0, "%s: a wait returned %d (%s)", op_names[p->op], r, strerror(-r));
	return 0;
}

/* The join victim's child: sleeps (arg: pair index << 24 | microseconds) and
 * returns a value derived from the pair.  It does not touch the pair, which
 * may be reused if the child was left detached by a cancelled spawn. */
static int child(void *arg)
{
	uintptr_t a = (uintptr_t)arg;
	CHECK_EQ_INT(cr_sleep((uint64_t)(a & 0xffffff) * 1000u), 0); /* nobody cancels it */
	return (int)(a >> 24) + 1000;
}

static void victim_read(pair *p, int fd, chan *c)
{
	uint8_t buf[32];
	for (;;) {
		ssize_t n = cr_file_read(fd, buf, p->read_len, -1);
		if (note(p, (int)n)) {
			S.reads_cancelled++;
			return;
		}
		CHECK_MSG(n > 0 && c, "read of a never-written pipe returned %zd", n);
		CHECK_LE_U64((uint64_t)n, p->read_len);
		S.reads_ok++;
		S.bytes_read += (uint64_t)n;
		chan_consume(c, buf, (size_t)n);
	}
}

static void *child_arg(const pair *p)
{
	return (void *)(((uintptr_t)(p - S.pairs) << 24) | (uintptr_t)(p->sleep_ns / 1000u));
}

/* Does the operation until it ends or is cancelled. */
static void victim_op(pair *p)
{
	cr_spawn_opts o = {.placement = CR_ON_WORKER, .worker = p->child_on};
	cr_task *t;
	int res = -1;
	switch (p->op) {
	case OP_PIPE:
	case OP_UNIX:
	case OP_TCP:
		victim_read(p, p->ch->rfd, p->ch);
		break;
	case OP_NEVER:
		victim_read(p, S.never[0], NULL);
		break;
	case OP_SLEEP:
		for (int i = 0; i < p->loops; i++)
			if (note(p, cr_sleep(p->sleep_ns)))
				break;
		break;
	case OP_NOP:
		for (int i = 0; i < p->loops; i++)
			if (note(p, cr_nop()))
				break;
		break;
	case OP_JOIN:
		/* A cancel may hit the spawn itself when it waits for another worker. */
		if (note(p, cr_spawn(&t, child, child_arg(p), &o)))
			break;
		if (note(p, cr_join(t, &res)))
			CHECK_EQ_INT(cr_join(t, &res), 0); /* the handle is still valid */
		CHECK_EQ_INT(res, (int)(p - S.pairs) + 1000);
		break;
	}
}

static int victim(void *arg)
{
	pair *p = arg;
	victim_op(p);
	if (p->cancelled_seen)
		S.cancel_at_op++;
	while (!__atomic_load_n(&p->cancel_issued, __ATOMIC_SEQ_CST))
		note(p, cr_yield());
	if (!p->remote) {
		/* Issued on this worker: it shows at the very next wait. */
		note(p, cr_yield());
	} else {
		/* From another worker it travels through the inbox first. */
		uint64_t t0 = cr_now_ns();
		while (!p->cancelled_seen) {
			CHECK_MSG(cr_now_ns() - t0 < HANG_NS, "%s: remote cancel never delivered",
				  op_names[p->op]);
			note(p, cr_yield());
		}
	}
	CHECK_EQ_INT(cr_yield(), 0); /* delivered once: later waits succeed */
	CHECK_EQ_INT(cr_nop(), 0);
	CHECK_EQ_INT(cr_sleep(1), 0);
	CHECK_MSG(p->cancelled_seen == 1, "%s victim saw %d cancellations, expected 1",
		  op_names[p->op], p->cancelled_seen);
	if (p->ch)
		p->ch->busy = 0;
	return 0;
}

static chan *free_chan(int first, int n)
{
	int start = (int)rnd_below((uint64_t)n);
	for (int i = 0; i < n; i++) {
		chan *c = &S.chans[first + (start + i) % n];
		if (!c->busy)
			return c;
	}
	return NULL;
}

/* Draws the next pair's operation and timing. */
static void setup_pair(pair *p)
{
	memset(p, 0, sizeof(*p));
	p->op = (int)rnd_below(OP_COUNT);
	if (p->op == OP_PIPE)
		p->ch = free_chan(0, NPIPES);
	else if (p->op == OP_UNIX)
		p->ch = free_chan(NPIPES, NUNIX);
	else if (p->op == OP_TCP)
		p->ch = free_chan(NPIPES + NUNIX, NTCP);
	if ((p->op == OP_PIPE || p->op == OP_UNIX || p->op == OP_TCP) && !p->ch)
		p->op = OP_SLEEP;
	p->delay_kind = (int)rnd_below(3);
	p->delay_ns = rnd_below(2 * MS + 1);
	p->read_len = 1 + rnd_below(16);
	p->loops = 1 + (int)rnd_below(20);
	p->sleep_ns = rnd_below(2 * MS + 1);
	p->child_on = (unsigned)rnd_below(S.workers);
	p->remote = S.workers > 1 && rnd_below(2);
	if (p->ch) {
		p->ch->busy = 1;
		if (rnd_below(3) == 0)
			p->pre_write = 1 + (int)rnd_below(32);
		if (rnd_below(2) == 0)
			p->with_cancel = 1 + (int)rnd_below(16);
	}
	S.ops[p->op]++;
	S.remote_cancels += (uint64_t)p->remote;
}

static void finish_pair(pair *p)
{
	int res = -1;
	CHECK_EQ_INT(cr_join(p->victim, &res), 0);
	CHECK_EQ_INT(res, 0);
	CHECK_EQ_INT(cr_join(p->canceller, &res), 0);
	CHECK_EQ_INT(res, 0);
	p->victim = NULL;
}

/* A connected loopback TCP pair, made with plain blocking syscalls. */
static void tcp_pair(int fds[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_GE_INT(l, 0);
	CHECK_EQ_INT(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ_INT(listen(l, 1), 0);
	CHECK_EQ_INT(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_GE_INT(fds[1], 0);
	CHECK_EQ_INT(connect(fds[1], (struct sockaddr *)&a, sizeof(a)), 0);
	fds[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK_GE_INT(fds[0], 0);
	CHECK_EQ_INT(setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	close(l);
}

static void open_chans(void)
{
	for (int i = 0; i < NCHANS; i++) {
		int fds[2];
		if (i < NPIPES)
			CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
		else if (i < NPIPES + NUNIX)
			CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
		else
			tcp_pair(fds);
		S.chans[i].rfd = fds[0];
		S.chans[i].wfd = fds[1];
		CHECK_EQ_INT(fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK), 0);
	}
	CHECK_EQ_INT(pipe2(S.never, O_CLOEXEC), 0);
}

/* Closes each channel's write end, reads what the victims left up to EOF and
 * checks that every byte written was read exactly once, in order. */
static void drain_and_close(void)
{
	uint64_t left = 0;
	for (int i = 0; i < NCHANS; i++) {
		chan *c = &S.chans[i];
		uint8_t buf[256];
		ssize_t n;
		close(c->wfd);
		while ((n = read(c->rfd, buf, sizeof(buf))) > 0) {
			chan_consume(c, buf, (size_t)n);
			left += (uint64_t)n;
		}
		CHECK_EQ_INT(n, 0);
		CHECK_EQ_U64(c->consumed, __atomic_load_n(&c->written, __ATOMIC_SEQ_CST));
		close(c->rfd);
	}
	uint8_t b;
	close(S.never[1]);
	CHECK_EQ_INT(read(S.never[0], &b, 1), 0); /* cancelled reads consumed nothing */
	close(S.never[0]);
	printf("bytes read by victims %llu, left in channels %llu\n",
	       (unsigned long long)S.bytes_read, (unsigned long long)left);
}

/* Every other worker ends with no task alive (handles released by joins are
 * reaped by their owner, so give it a moment). */
static void check_other_workers_idle(void)
{
	for (unsigned w = 1; w < S.workers; w++) {
		cr_stats st;
		uint64_t t0 = cr_now_ns();
		for (;;) {
			CHECK_EQ_INT(cr_stats_get_worker(w, &st), 0);
			if (st.tasks_alive == 0 || cr_now_ns() - t0 > HANG_NS)
				break;
			CHECK_EQ_INT(cr_sleep(MS), 0);
		}
		CHECK_MSG(st.tasks_alive == 0, "worker %u: %llu tasks still alive", w,
			  (unsigned long long)st.tasks_alive);
		CHECK_EQ_U64(st.timers_pending, 0);
	}
}

static void spawn_pair(pair *p)
{
	cr_spawn_opts here = {.placement = CR_ON_CURRENT};
	cr_spawn_opts there = {.placement = CR_ON_WORKER, .worker = 1};
	const cr_spawn_opts *co = p->remote ? &there : &here;
	/* A spawn on another worker waits for it, so the canceller could run
	 * before a victim spawned after it exists: the victim goes first then. */
	if (p->remote || rnd_below(2)) {
		CHECK_OK(cr_spawn(&p->victim, victim, p, &here));
		CHECK_OK(cr_spawn(&p->canceller, canceller, p, co));
	} else {
		/* The canceller is queued first: without a delay it cancels the
		 * victim before the victim's first wait. */
		CHECK_OK(cr_spawn(&p->canceller, canceller, p, co));
		CHECK_OK(cr_spawn(&p->victim, victim, p, &here));
	}
}

static int storm_main(void *arg)
{
	(void)arg;
	uint64_t t0 = cr_now_ns();
	CHECK_EQ_U64(cr_worker_count(), S.workers);
	open_chans();
	for (int round = 0; round < S.rounds; round++) {
		pair *p = &S.pairs[round % WINDOW];
		if (p->victim)
			finish_pair(p);
		setup_pair(p);
		spawn_pair(p);
		if (round % 8 == 7)
			CHECK_EQ_INT(cr_yield(), 0);
	}
	for (int i = 0; i < WINDOW; i++)
		if (S.pairs[i].victim)
			finish_pair(&S.pairs[i]);
	drain_and_close();

	cr_stats st;
	CHECK_OK(cr_stats_get(&st));
	CHECK_EQ_U64(st.tasks_alive, 1);
	CHECK_EQ_U64(st.timers_pending, 0);
	check_other_workers_idle();
	for (int i = 0; i < OP_COUNT; i++)
		printf("%-12s %llu\n", op_names[i], (unsigned long long)S.ops[i]);
	printf("reads ok %llu, reads cancelled %llu, cancelled in the op %llu, later %llu, "
	       "from another worker %llu\n",
	       (unsigned long long)S.reads_ok, (unsigned long long)S.reads_cancelled,
	       (unsigned long long)S.cancel_at_op,
	       (unsigned long long)((uint64_t)S.rounds - S.cancel_at_op),
	       (unsigned long long)S.remote_cancels);
	printf("%d rounds in %.1f ms, %llu tasks spawned here, %llu cqes\n", S.rounds,
	       (double)(cr_now_ns() - t0) / 1e6, (unsigned long long)st.tasks_spawned,
	       (unsigned long long)st.cqes);
	CHECK_GT_U64(S.reads_ok, 0);
	CHECK_GT_U64(S.reads_cancelled, 0);
	CHECK_GT_U64(S.cancel_at_op, 0);
	for (int i = 0; i < OP_COUNT; i++)
		CHECK_GT_U64(S.ops[i], 0);
	return 0;
}

static void run_phase(unsigned workers, int rounds, uint64_t seed)
{
	cr_config cfg;
	memset(&S, 0, sizeof(S));
	S.workers = workers;
	S.rounds = rounds;
	S.rng = seed ? seed : 1;
	cr_config_init(&cfg);
	cfg.workers = workers;
	printf("== %u worker(s), %d rounds\n", workers, rounds);
	fflush(stdout);
	CHECK_EQ_INT(check_run(&cfg, storm_main, NULL), 0);
}

int main(void)
{
	const char *env = getenv("CORING_STORM_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed5eedULL;
	printf("seed 0x%llx (set CORING_STORM_SEED to change)\n", (unsigned long long)seed);
	run_phase(1, ROUNDS, seed);
	/* Cancels and join targets on a second worker: through its inbox. */
	run_phase(2, ROUNDS_2W, seed ^ 0x2222);
	return 0;
}
