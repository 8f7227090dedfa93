/* SPDX-License-Identifier: MIT */
/* The fault injector: same seed, same faults; only the errors the kernel returns; data intact. */
#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"

#if defined(CORING_FAULTS) && CORING_FAULTS
#include "../runtime/faults.h"

#define OPS 4000	     /* synthetic operations per injector */
#define TRACE_MAX 400	     /* send/recv pairs of the replay run */
#define STREAM_BYTES 2000000 /* bytes through the receiver per seed */

/* What the injector did to one synthetic operation. */
typedef struct outcome {
	int res;      /* cr__faults_submit's result */
	uint32_t len; /* the SQE's length afterwards */
	int held;     /* cr__faults_delay's answer for its completion */
} outcome;

/* Fills the i-th operation of the synthetic mix.  Returns nothing. */
static void synthetic(unsigned i, struct io_uring_sqe *s)
{
	static const uint8_t ops[] = {IORING_OP_SEND,	  IORING_OP_RECV,    IORING_OP_RECV,
				      IORING_OP_RECVMSG,  IORING_OP_SENDMSG, IORING_OP_ACCEPT,
				      IORING_OP_NOP,	  IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL,
				      IORING_OP_MSG_RING, IORING_OP_CLOSE,   IORING_OP_READ,
				      IORING_OP_WRITE,	  IORING_OP_SEND};
	memset(s, 0, sizeof(*s));
	s->opcode = ops[i % sizeof(ops)];
	s->fd = 5;
	s->len = 1000 + i % 7;
	if (i % sizeof(ops) == 2) { /* a multishot provided-buffer receive */
		s->len = 0;
		s->flags = IOSQE_BUFFER_SELECT;
		s->ioprio = IORING_RECV_MULTISHOT;
		s->file_index = 65536;
	}
	if (i % sizeof(ops) == 13 || (s->opcode == IORING_OP_RECV && i % 3 == 0 && !s->flags))
		s->msg_flags = MSG_DONTWAIT;
}

static int eligible(uint8_t op)
{
	return op == IORING_OP_SEND || op == IORING_OP_RECV || op == IORING_OP_RECVMSG ||
	       op == IORING_OP_SENDMSG || op == IORING_OP_ACCEPT;
}

/* Checks that an injected error is one the kernel returns for s. */
static void check_error(const struct io_uring_sqe *s, int res)
{
	int bufsel = (s->flags & IOSQE_BUFFER_SELECT) != 0;
	int ok = 0;
	switch (s->opcode) {
	case IORING_OP_RECV:
		ok = res == -ECONNRESET || res == -ENOMEM || (bufsel && res == -ENOBUFS) ||
		     (!bufsel && res == -EINTR);
		break;
	case IORING_OP_SEND:
		ok = res == -ECONNRESET || res == -EPIPE || res == -ENOMEM || res == -EINTR;
		break;
	case IORING_OP_RECVMSG:
		ok = res == -ENOMEM || res == -EINTR;
		break;
	case IORING_OP_SENDMSG:
		ok = res == -ENOBUFS || res == -ENOMEM || res == -EINTR;
		break;
	case IORING_OP_ACCEPT:
		ok = res == -ECONNABORTED || res == -ENOMEM || res == -EMFILE;
		break;
	}
	if (res == -EAGAIN)
		ok = (s->msg_flags & MSG_DONTWAIT) && s->opcode != IORING_OP_ACCEPT;
	CHECK_MSG(ok, "opcode %u: injected %d (%s) is not an error the kernel returns for it",
		  s->opcode, res, strerror(-res));
}

/* Runs the synthetic mix through a new injector; checks every outcome. */
static void run_mix(const char *spec, unsigned id, outcome *out)
{
	char why[256] = "";
	cr__faults *f;
	CHECK_OK(cr__faults_create(&f, spec, id, why, sizeof(why)));
	CHECK(f != NULL);
	for (unsigned i = 0; i < OPS; i++) {
		struct io_uring_sqe s, orig;
		synthetic(i, &s);
		orig = s;
		out[i].res = cr__faults_submit(f, &s);
		out[i].len = s.len;
		if (!eligible(orig.opcode)) {
			CHECK_EQ_INT(out[i].res, 0);
			CHECK_EQ_MEM(&s, &orig, sizeof(s));
		} else if (out[i].res < 0) {
			check_error(&orig, out[i].res);
		} else if (s.len != orig.len) { /* shortened, never to 0 */
			CHECK(orig.opcode == IORING_OP_SEND || orig.opcode == IORING_OP_RECV);
			CHECK_GT_INT(s.len, 0);
			if (orig.flags & IOSQE_BUFFER_SELECT)
				CHECK_LE_INT(s.len, 1024);
			else
				CHECK_LT_INT(s.len, orig.len);
			s.len = orig.len;
			CHECK_EQ_MEM(&s, &orig, sizeof(s)); /* nothing else changed */
		}
		out[i].held = cr__faults_delay(f, 100 + i, (int)i, 0);
		uint64_t ud;
		int res;
		uint32_t fl;
		cr__faults_pass(f);
		while (cr__faults_take(f, &ud, &res, &fl))
			CHECK_EQ_U64(ud, 100 + (uint64_t)res);
	}
	cr__faults_destroy(f);
}

/* Same seed and worker: the same faults; another seed or worker: others. */
static void test_determinism(void)
{
	static outcome a[OPS], b[OPS], c[OPS], d[OPS];
	uint64_t before[CR__FAULT_NKINDS];
	for (int k = 0; k < CR__FAULT_NKINDS; k++)
		before[k] = cr__faults_count((cr__fault_kind)k);
	run_mix("42:0.3", 0, a);
	for (int k = 0; k < CR__FAULT_NKINDS; k++)
		CHECK_MSG(cr__faults_count((cr__fault_kind)k) > before[k],
			  "fault kind %d never injected", k);
	run_mix("42:0.3", 0, b);
	CHECK_EQ_MEM(a, b, sizeof(a));
	run_mix("43:0.3", 0, c);
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	run_mix("42:0.3", 1, d);
	CHECK(memcmp(a, d, sizeof(a)) != 0);
	run_mix("0x2a:0.3", 0, c); /* hexadecimal seeds are the same seeds */
	CHECK_EQ_MEM(a, c, sizeof(a));
	run_mix("42:0", 0, c);
	for (unsigned i = 0; i < OPS; i++)
		CHECK(c[i].res == 0 && !c[i].held);
	run_mix("42:1:d", 0, c); /* delays only: every completion, no other fault */
	for (unsigned i = 0; i < OPS; i++)
		CHECK(c[i].res == 0 && c[i].held);
}

/* Held completions come out in order, only once due. */
static void test_hold_order(void)
{
	char why[256];
	cr__faults *f;
	CHECK_OK(cr__faults_create(&f, "1:0", 0, why, sizeof(why)));
	CHECK_OK(cr__faults_hold(f, 7, 1, 0, 2));
	CHECK_EQ_INT(cr__faults_delay(f, 7, 2, 0),
		     1); /* behind the first: held whatever the rate */
	CHECK_EQ_INT(cr__faults_delay(f, 8, 3, 0), 0); /* rate 0: delivered now */
	uint64_t ud;
	int res, got = 0;
	uint32_t fl;
	for (int pass = 0; pass < 2; pass++) { /* passes 2: due at the third */
		cr__faults_pass(f);
		CHECK_EQ_INT(cr__faults_take(f, &ud, &res, &fl), 0);
	}
	cr__faults_pass(f);
	while (cr__faults_take(f, &ud, &res, &fl)) {
		CHECK_EQ_U64(ud, 7);
		CHECK_EQ_INT(res, ++got);
	}
	CHECK_EQ_INT(got, 2);
	CHECK_EQ_U64(cr__faults_held(f), 0);
	cr__faults_destroy(f);
}

static void test_syntax(void)
{
	static const char *bad[] = {"x",      "1",	"1:",	   "1:2",  "1:-0.1",
				    "1:0.5x", "1:0.5:", "1:0.5:z", ":0.5", "1;0.5"};
	char why[256];
	cr__faults *f = (cr__faults *)1;
	CHECK_OK(cr__faults_create(&f, "", 0, why, sizeof(why)));
	CHECK(f == NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		CHECK_EQ_INT(cr__faults_create(&f, bad[i], 0, why, sizeof(why)), -EINVAL);
		CHECK_NONEMPTY_STR(why);
	}
	CHECK_OK(cr__faults_create(&f, "18446744073709551615:1:esnd", 3, why, sizeof(why)));
	cr__faults_destroy(f);
}

/* ---- end to end, on a real ring ---------------------------------------------- */

static int trace[2 * TRACE_MAX]; /* results of the replay run */

/* One task, one worker, a socket pair: sends and receives whose results
 * (short counts, errors) form the trace.  Checks the bytes on the way. */
static int replay_main(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	static unsigned char out[1000], in[1000];
	uint64_t sent = 0, got = 0;
	for (int i = 0; i < TRACE_MAX; i++) {
		for (size_t k = 0; k < sizeof(out); k++)
			out[k] = (unsigned char)((sent + k) * 131 >> 3);
		ssize_t n = cr_send(sv[0], out, sizeof(out));
		trace[2 * i] = (int)n;
		if (n > 0)
			sent += (uint64_t)n;
		while (got < sent) { /* what was sent is there: a recv cannot block */
			n = cr_recv(sv[1], in, sizeof(in));
			trace[2 * i + 1] = (int)n;
			CHECK_MSG(n != 0, "a fake end of stream after %llu bytes",
				  (unsigned long long)got);
			for (ssize_t k = 0; k < n; k++)
				CHECK_EQ_INT(in[k],
					     (unsigned char)((got + (uint64_t)k) * 131 >> 3));
			if (n > 0)
				got += (uint64_t)n;
		}
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static void run_replay(const char *spec, int *into)
{
	cr_config cfg;
	cr_config_init(&cfg);
	cfg.workers = 1;
	CHECK_EQ_INT(setenv("CORING_FAULTS", spec, 1), 0);
	memset(trace, 0, sizeof(trace));
	CHECK_EQ_INT(check_run(&cfg, replay_main, NULL), 0);
	memcpy(into, trace, sizeof(trace));
}

/* A failing seed replays exactly: the same spec gives the same results. */
static void test_replay(void)
{
	static int a[2 * TRACE_MAX], b[2 * TRACE_MAX], c[2 * TRACE_MAX];
	run_replay("9:0.2", a);
	run_replay("9:0.2", b);
	CHECK_EQ_MEM(a, b, sizeof(a));
	run_replay("10:0.2", c);
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	int errors = 0, shorts = 0;
	for (int i = 0; i < TRACE_MAX; i++) {
		errors += a[2 * i] < 0;
		shorts += a[2 * i] > 0 && a[2 * i] < 1000;
	}
	CHECK_GT_INT(errors, 0);
	CHECK_GT_INT(shorts, 0);
}

/* Sends the stream; on an error resets the connection (SO_LINGER 0): the
 * peer must see an error then, never an end of stream. */
static int sender_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	static unsigned char buf[65536];
	uint64_t off = 0;
	while (off < STREAM_BYTES) {
		size_t len = 1 + (size_t)(off * 7919 % sizeof(buf));
		if (len > STREAM_BYTES - off)
			len = (size_t)(STREAM_BYTES - off);
		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)((off + k) * 251 >> 5);
		size_t sent = 0;
		ssize_t r = cr_send_all(fd, buf, len, &sent);
		if (r < 0) {
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			return 1;
		}
		off += len;
	}
	CHECK_OK(cr_shutdown(fd, SHUT_WR));
	return 0;
}

/* A TCP stream through a provided-buffer receiver under every fault:
 * the bytes that arrive are right, and it ends with all of them and an end
 * of stream, or with an error. */
static int stream_main(void *arg)
{
	(void)arg;
	cr_addr a, bound;
	CHECK_OK(cr_addr_parse("127.0.0.1", 0, &a));
	int lfd = cr_listen(&a, NULL);
	CHECK_OK(lfd);
	CHECK_OK(cr_socket_addr(lfd, 0, &bound));
	int cli = -1, srv = -1;
	while ((cli = cr_connect(&bound)) < 0)
		CHECK_MSG(cli == -EINTR || cli == -ENOMEM, "connect: %d", cli);
	while ((srv = cr_accept(lfd, NULL)) < 0)
		CHECK_MSG(srv == -ECONNABORTED || srv == -ENOMEM || srv == -EMFILE, "accept: %d",
			  srv);
	cr_task *snd;
	CHECK_OK(cr_spawn(&snd, sender_task, (void *)(intptr_t)cli, NULL));
	cr_bufpool *pool;
	cr_receiver *r;
	CHECK_OK(cr_bufpool_create(&pool, 8, 4096));
	CHECK_OK(cr_receiver_open(&r, srv, pool, 4));
	uint64_t got = 0;
	ssize_t n;
	cr_chunk c;
	while ((n = cr_receiver_next(r, &c)) > 0) {
		const unsigned char *p = c.data;
		for (ssize_t k = 0; k < n; k++)
			CHECK_EQ_INT(p[k], (unsigned char)((got + (uint64_t)k) * 251 >> 5));
		got += (uint64_t)n;
		cr_chunk_release(r, &c);
	}
	CHECK_MSG(n < 0 || got == STREAM_BYTES, "a clean end of stream after %llu of %d bytes",
		  (unsigned long long)got, STREAM_BYTES);
	int sr = 0;
	CHECK_OK(cr_join(snd, &sr));
	if (sr == 0 && n < 0)
		CHECK_GT_U64(cr__faults_count(CR__FAULT_ERROR), 0); /* only an injected error */
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_bufpool_destroy(pool));
	close(srv);
	if (sr == 0)
		close(cli);
	close(lfd);
	return n < 0;
}

static void test_stream(void)
{
	int failed = 0, ok = 0;
	for (unsigned seed = 1; seed <= 12; seed++) {
		char spec[64];
		snprintf(spec, sizeof(spec), "%u:%s", seed, seed <= 6 ? "0.05:snd" : "0.002");
		cr_config cfg;
		cr_config_init(&cfg);
		cfg.workers = 1;
		CHECK_EQ_INT(setenv("CORING_FAULTS", spec, 1), 0);
		int r = check_run(&cfg, stream_main, NULL);
		CHECK_MSG(seed > 6 || r == 0, "%s: no errors injected, yet the stream failed",
			  spec);
		failed += r;
		ok += !r;
	}
	CHECK_GT_INT(ok, 0);
	printf("stream under faults: %d ended with all bytes, %d with an error\n", ok, failed);
}

int main(void)
{
	check_watchdog(100);
	test_syntax();
	test_determinism();
	test_hold_order();
	test_replay();
	test_stream();
	unsetenv("CORING_FAULTS");
	printf("faults: %llu errors, %llu short, %llu no-buffers, %llu delays injected\n",
	       (unsigned long long)cr__faults_count(CR__FAULT_ERROR),
	       (unsigned long long)cr__faults_count(CR__FAULT_SHORT),
	       (unsigned long long)cr__faults_count(CR__FAULT_NOBUFS),
	       (unsigned long long)cr__faults_count(CR__FAULT_DELAY));
	return 0;
}

#else
int main(void)
{
	check_skip("built without the fault injector (configure with -DCORING_FAULTS=ON)");
}
#endif
