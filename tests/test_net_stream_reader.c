/* SPDX-License-Identifier: MIT */
/* cr_stream's reader, one-shot and over a buffer pool: bad input, every read form at end of stream,
 * the limit, RST, cancellation, peek/fill/consume, random data byte-verified, the pool reader's
 * stall. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_cases.h"

/* A connected Unix stream pair.  Returns nothing. */
static void unix_pair(int *a, int *b)
{
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	*a = sv[0];
	*b = sv[1];
}

/* The pool the streams read through in the second round (NULL: one-shot recv). */
static cr_bufpool *g_pool;

/* Opens a stream on fd with this read limit (0 = default).  Returns it. */
static cr_stream *open_with(int fd, size_t limit)
{
	cr_stream *s = NULL;
	cr_stream_opts o = {.limit = limit, .pool = g_pool, .max_held = 4};
	CHECK_OK(cr_stream_open(&s, fd, &o));
	return s;
}

/* Sends the NUL-terminated text on fd.  Returns nothing. */
static void put(int fd, const char *text)
{
	size_t n = strlen(text);
	CHECK_EQ_INT(cr_send_all(fd, text, n, NULL), (ssize_t)n);
}

/* ---- bad input --------------------------------------------------------------------------- */

static void bad_input(void)
{
	cr_stream *s = NULL;
	const void *p;
	char buf[8];
	size_t got = 99;
	int a, b;
	CHECK_EQ_INT(cr_stream_open(NULL, 0, NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_open(&s, -1, NULL), -EBADF);
	int dead = dup(0);
	CHECK_OK(dead);
	close(dead);
	CHECK_EQ_INT(cr_stream_open(&s, dead, NULL), -EBADF);
	int pf[2];
	CHECK_OK(pipe(pf));
	CHECK_EQ_INT(cr_stream_open(&s, pf[0], NULL), -ENOTSOCK);
	close(pf[0]);
	close(pf[1]);
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(udp);
	CHECK_EQ_INT(cr_stream_open(&s, udp, NULL), -EPROTOTYPE);
	close(udp);
	unix_pair(&a, &b);
	cr_stream_opts o = {.limit = (size_t)CR_STREAM_LIMIT_MAX + 1};
	CHECK_EQ_INT(cr_stream_open(&s, a, &o), -EINVAL);
	cr_stream_opts w = {.high_water = 100, .low_water = 101};
	CHECK_EQ_INT(cr_stream_open(&s, a, &w), -EINVAL);
	CHECK(s == NULL);
	/* NULL streams */
	CHECK_EQ_INT(cr_stream_read(NULL, buf, 1), -EINVAL);
	CHECK_EQ_INT(cr_stream_readexactly(NULL, buf, 1, &got), -EINVAL);
	CHECK_EQ_U64(got, 0);
	CHECK_EQ_INT(cr_stream_readuntil(NULL, "\n", 1, &p), -EINVAL);
	CHECK_EQ_INT(cr_stream_readline(NULL, &p), -EINVAL);
	CHECK_EQ_INT(cr_stream_peek(NULL, &p), -EINVAL);
	CHECK_EQ_INT(cr_stream_fill(NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_consume(NULL, 0), -EINVAL);
	CHECK_EQ_INT(cr_stream_at_eof(NULL), 0);
	CHECK_EQ_INT(cr_stream_fd(NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_close(NULL), -EINVAL);
	/* bad arguments on a good stream */
	s = open_with(a, 16);
	CHECK_EQ_INT(cr_stream_fd(s), a);
	CHECK_EQ_INT(cr_stream_read(s, NULL, 1), -EINVAL);
	CHECK_EQ_INT(cr_stream_read(s, buf, 0), 0);
	CHECK_EQ_INT(cr_stream_readexactly(s, NULL, 1, &got), -EINVAL);
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 0, &got), 0);
	CHECK_EQ_INT(cr_stream_readuntil(s, NULL, 1, &p), -EINVAL);
	CHECK_EQ_INT(cr_stream_readuntil(s, "\n", 0, &p), -EINVAL);
	CHECK_EQ_INT(cr_stream_readuntil(s, "\n", 1, NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_readuntil(s, "01234567890123456", 17, &p), -EINVAL); /* > limit */
	CHECK_EQ_INT(cr_stream_peek(s, NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_peek(s, &p), 0);
	CHECK_EQ_INT(cr_stream_consume(s, 1), -EINVAL);
	CHECK_EQ_INT(cr_stream_consume(s, 0), 0);
	CHECK_EQ_INT(cr_stream_at_eof(s), 0);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- end of stream in every read form -------------------------------------------------------- */

static void eof_forms(void)
{
	int a, b;
	char buf[64];
	const void *p;
	size_t got = 99;
	unix_pair(&a, &b);
	cr_stream *s = open_with(a, 0);
	put(b, "ab\ncd");
	CHECK_OK(cr_shutdown(b, SHUT_WR));
	CHECK_EQ_INT(cr_stream_readline(s, &p), 3);
	CHECK_EQ_MEM(p, "ab\n", 3);
	/* readline at end of stream: -ENODATA, the partial line stays buffered */
	CHECK_EQ_INT(cr_stream_readline(s, &p), -ENODATA);
	CHECK_EQ_INT(cr_stream_peek(s, &p), 2);
	CHECK_EQ_MEM(p, "cd", 2);
	CHECK_EQ_INT(cr_stream_at_eof(s), 0);
	/* readexactly past the end: the partial data and -ENODATA */
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 5, &got), -ENODATA);
	CHECK_EQ_U64(got, 2);
	CHECK_EQ_MEM(buf, "cd", 2);
	CHECK_EQ_INT(cr_stream_at_eof(s), 1);
	/* and again, every form, lasting */
	CHECK_EQ_INT(cr_stream_read(s, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 1, &got), -ENODATA);
	CHECK_EQ_U64(got, 0);
	CHECK_EQ_INT(cr_stream_readuntil(s, "xy", 2, &p), -ENODATA);
	CHECK_EQ_INT(cr_stream_fill(s), 0);
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 0, &got), 0);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));

	/* read: buffered bytes first, then 0; fill at end keeps what is buffered */
	unix_pair(&a, &b);
	s = open_with(a, 0);
	put(b, "hello");
	CHECK_OK(cr_shutdown(b, SHUT_WR));
	CHECK_EQ_INT(cr_stream_fill(s), 5);
	CHECK_EQ_INT(cr_stream_fill(s), 0);
	CHECK_EQ_INT(cr_stream_peek(s, &p), 5);
	CHECK_EQ_INT(cr_stream_read(s, buf, 3), 3);
	CHECK_EQ_MEM(buf, "hel", 3);
	CHECK_EQ_INT(cr_stream_read(s, buf, 64), 2);
	CHECK_EQ_MEM(buf, "lo", 2);
	CHECK_EQ_INT(cr_stream_read(s, buf, 64), 0);
	CHECK_EQ_INT(cr_stream_at_eof(s), 1);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- the limit: LimitOverrunError without losing a byte ---------------------------------- */

static void limit_overrun(void)
{
	int a, b;
	const void *p;
	char buf[64];
	unix_pair(&a, &b);
	cr_stream *s = open_with(a, 8);
	put(b, "0123456789\nabc\n");
	/* no delimiter within the first 8 bytes */
	CHECK_EQ_INT(cr_stream_readline(s, &p), -EMSGSIZE);
	CHECK_EQ_INT(cr_stream_peek(s, &p), 8);
	CHECK_EQ_MEM(p, "01234567", 8);
	CHECK_EQ_INT(cr_stream_fill(s), -EMSGSIZE); /* full at the limit */
	CHECK_OK(cr_stream_consume(s, 4));
	/* "456789\n" is 7 bytes: fits now */
	CHECK_EQ_INT(cr_stream_readline(s, &p), 7);
	CHECK_EQ_MEM(p, "456789\n", 7);
	CHECK_EQ_INT(cr_stream_readline(s, &p), 4);
	CHECK_EQ_MEM(p, "abc\n", 4);
	/* a delimiter found beyond the limit: nothing consumed */
	put(b, "abcdefgh\nX");
	CHECK_EQ_INT(cr_stream_readline(s, &p), -EMSGSIZE);
	CHECK_EQ_INT(cr_stream_read(s, buf, sizeof(buf)), 8);
	CHECK_EQ_MEM(buf, "abcdefgh", 8);
	CHECK_EQ_INT(cr_stream_readline(s, &p), 1);
	CHECK_EQ_MEM(p, "\n", 1);
	/* exactly the limit, multi-byte delimiter split across sends */
	put(b, "123456\r");
	CHECK_OK(cr_sleep(1 * MS));
	put(b, "\n");
	CHECK_EQ_INT(cr_stream_readuntil(s, "\r\n", 2, &p), -EMSGSIZE); /* 'X' + 6 + 2 = 9 > 8 */
	CHECK_OK(cr_stream_consume(s, 1));
	CHECK_EQ_INT(cr_stream_readuntil(s, "\r\n", 2, &p), 8);
	CHECK_EQ_MEM(p, "123456\r\n", 8);
	/* readexactly is not bound by the limit */
	put(b, "abcdefghijklmnopqrstuvwxyz");
	size_t got = 0;
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 26, &got), 26);
	CHECK_EQ_U64(got, 26);
	CHECK_EQ_MEM(buf, "abcdefghijklmnopqrstuvwxyz", 26);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- RST during a read ------------------------------------------------------------------- */

static void reset_during_read(void)
{
	int cli, srv;
	const void *p;
	char buf[16];
	tcp_pair(&cli, &srv);
	cr_stream *s = open_with(srv, 0);
	put(cli, "partial");
	CHECK_EQ_INT(cr_stream_fill(s), 7);
	struct linger l = {1, 0};
	CHECK_OK(setsockopt(cli, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	CHECK_OK(cr_close(cli));
	CHECK_EQ_INT(cr_stream_readline(s, &p), -ECONNRESET);
	/* the buffered bytes are still delivered, then the error is lasting */
	CHECK_EQ_INT(cr_stream_read(s, buf, sizeof(buf)), 7);
	CHECK_EQ_MEM(buf, "partial", 7);
	CHECK_EQ_INT(cr_stream_read(s, buf, sizeof(buf)), -ECONNRESET);
	size_t got = 9;
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 4, &got), -ECONNRESET);
	CHECK_EQ_U64(got, 0);
	CHECK_EQ_INT(cr_stream_fill(s), -ECONNRESET);
	CHECK_OK(cr_stream_close(s));
}

/* ---- cancellation, deadlines and a second reader ----------------------------------------- */

struct reader {
	cr_stream *s;
	ssize_t res;
};

/* Waits for a line.  Returns 0 (the result is in res). */
static int line_reader(void *arg)
{
	struct reader *r = arg;
	const void *p;
	r->res = cr_stream_readline(r->s, &p);
	return 0;
}

static void interrupted_reads(void)
{
	int a, b;
	const void *p;
	unix_pair(&a, &b);
	cr_stream *s = open_with(a, 0);
	put(b, "no newline yet");
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	CHECK_EQ_INT(cr_stream_readline(s, &p), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	/* the readexactly timed out: what it copied is reported */
	char buf[64];
	size_t got = 0;
	CHECK_OK(cr_timeout_enter(&d, 20 * MS));
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 20, &got), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_EQ_U64(got, 14);
	CHECK_EQ_MEM(buf, "no newline yet", 14);
	/* a second reader gets -EBUSY; a cancelled reader loses nothing */
	struct reader r = {s, 1};
	cr_task *t = spawn_waiting(line_reader, &r);
	CHECK_EQ_INT(cr_stream_read(s, buf, 1), -EBUSY);
	CHECK_EQ_INT(cr_stream_fill(s), -EBUSY);
	CHECK_EQ_INT(cr_stream_readline(s, &p), -EBUSY);
	CHECK_EQ_INT(cr_stream_close(s), -EBUSY);
	CHECK_OK(cr_cancel(t));
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_INT(r.res, -ECANCELED);
	put(b, "abc\n");
	CHECK_EQ_INT(cr_stream_readline(s, &p), 4);
	CHECK_EQ_MEM(p, "abc\n", 4);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- zero-copy parsing: length-prefixed records with peek / fill / consume ---------------- */

static void peek_parse(void)
{
	int a, b;
	unix_pair(&a, &b);
	cr_stream *s = open_with(a, 300);
	/* records: one length byte, then that many bytes; sent in odd pieces */
	uint8_t out[4000];
	size_t len = 0, nrec = 0;
	while (len + 256 < sizeof(out)) {
		uint8_t n = (uint8_t)(mix((uint32_t)nrec) % 250);
		out[len++] = n;
		fill_pattern(out + len, 7, len, n);
		len += n;
		nrec++;
	}
	for (size_t off = 0; off < len;) {
		size_t piece = 1 + mix((uint32_t)off) % 97;
		piece = piece > len - off ? len - off : piece;
		CHECK_EQ_INT(cr_send_all(b, out + off, piece, NULL), (ssize_t)piece);
		off += piece;
	}
	CHECK_OK(cr_shutdown(b, SHUT_WR));
	size_t pos = 0, seen = 0;
	for (;;) {
		const void *p;
		ssize_t have = cr_stream_peek(s, &p);
		const uint8_t *q = p;
		if (have >= 1 && have >= 1 + q[0]) {
			CHECK_EQ_MEM(q, out + pos, 1 + (size_t)q[0]);
			pos += 1 + (size_t)q[0];
			seen++;
			CHECK_OK(cr_stream_consume(s, 1 + (size_t)q[0]));
			continue;
		}
		ssize_t f = cr_stream_fill(s);
		if (f == 0)
			break;
		CHECK_GT_INT(f, have);
	}
	CHECK_EQ_U64(seen, nrec);
	CHECK_EQ_U64(pos, len);
	CHECK_EQ_INT(cr_stream_at_eof(s), 1);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- random lines and sizes, byte-verified --------------------------------------------- */

struct feeder {
	int fd;
	const uint8_t *data;
	size_t len;
};

/* Sends the data in random pieces with short pauses, then half-closes.  Returns 0. */
static int feeder_task(void *arg)
{
	struct feeder *f = arg;
	for (size_t off = 0; off < f->len;) {
		size_t piece = 1 + mix((uint32_t)off * 3u) % 3000;
		piece = piece > f->len - off ? f->len - off : piece;
		CHECK_EQ_INT(cr_send_all(f->fd, f->data + off, piece, NULL), (ssize_t)piece);
		off += piece;
		if (mix((uint32_t)off) % 8 == 0)
			CHECK_OK(cr_yield());
	}
	CHECK_OK(cr_shutdown(f->fd, SHUT_WR));
	return 0;
}

static void random_mix(void)
{
	int cli, srv;
	tcp_pair(&cli, &srv);
	size_t len = 3u << 20;
	uint8_t *data = malloc(len), *got = malloc(len);
	CHECK(data && got);
	fill_pattern(data, 11, 0, len);
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n')
			data[i] = 'n'; /* newlines only where we put them */
	for (size_t i = 0; i < len; i += 1 + mix((uint32_t)i) % 5000)
		data[i] = '\n';
	struct feeder f = {cli, data, len};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, feeder_task, &f, NULL));
	cr_stream *s = open_with(srv, 8192);
	size_t pos = 0;
	for (unsigned k = 0; pos < len; k++) {
		const void *p;
		ssize_t n;
		size_t want = 1 + mix(k) % 20000, g = 0;
		switch (k % 3) {
		case 0:
			n = cr_stream_readline(s, &p);
			if (n == -EMSGSIZE || n == -ENODATA)
				continue; /* a long gap: read it otherwise */
			CHECK_GT_INT(n, 0);
			CHECK_EQ_MEM(p, data + pos, (size_t)n);
			CHECK_EQ_INT(((const char *)p)[n - 1], '\n');
			pos += (size_t)n;
			break;
		case 1:
			want = want > len - pos ? len - pos : want;
			CHECK_EQ_INT(cr_stream_readexactly(s, got, want, &g), (ssize_t)want);
			CHECK_EQ_MEM(got, data + pos, want);
			pos += want;
			break;
		default:
			n = cr_stream_read(s, got, want);
			CHECK_GT_INT(n, 0);
			CHECK_EQ_MEM(got, data + pos, (size_t)n);
			pos += (size_t)n;
		}
	}
	const void *p;
	CHECK_EQ_INT(cr_stream_readline(s, &p), -ENODATA);
	CHECK_EQ_INT(cr_stream_at_eof(s), 1);
	CHECK_OK(cr_join(t, NULL));
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(cli));
	free(data);
	free(got);
}

/* ---- the pool reader holds no pool buffer while it does not read ----------------------- */

/* Bytes the peer sends in pool_stall: more than the pool's buffers hold. */
#define STALL_IN 2000

/* Reads *(int *)arg until end of stream, expecting 1 MiB of zeros.  Returns 0, or 1 if not. */
static int sink_task(void *arg)
{
	int fd = *(int *)arg;
	static char buf[65536];
	size_t total = 0;
	ssize_t n;
	while ((n = cr_recv(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i])
				return 1;
		total += (size_t)n;
	}
	return n == 0 && total == (1u << 20) ? 0 : 1;
}

static void pool_stall(void)
{
	int a, b;
	unix_pair(&a, &b);
	unsigned nbuf = cr_bufpool_free_count(g_pool);
	cr_stream *s = open_with(a, 100);
	char in[STALL_IN], got[STALL_IN];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)('a' + (i * 7) % 26);
	CHECK_EQ_INT(cr_send_all(b, in, sizeof(in), NULL), (ssize_t)sizeof(in));
	CHECK_OK(cr_sleep(5 * MS));	      /* the receiver queues max_held chunks */
	CHECK_EQ_INT(cr_stream_fill(s), 100); /* chunks of 64 up to the limit */
	CHECK_OK(cr_sleep(5 * MS));
	CHECK(cr_bufpool_free_count(g_pool) < nbuf); /* the queue holds buffers */
	/* a peer that does not read: the flush waits, the reader stalls */
	static char big[1 << 20];
	CHECK_OK(cr_stream_write(s, big, sizeof(big)));
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 30 * MS));
	CHECK_EQ_INT(cr_stream_flush(s), -ETIMEDOUT);
	cr_deadline_exit(&d);
	CHECK_EQ_U64(cr_bufpool_free_count(g_pool), nbuf); /* none held while stalled */
	/* every byte still comes out, in order, through the 100-byte limit */
	const void *p;
	CHECK(cr_stream_peek(s, &p) <= 100);
	size_t done = 0;
	while (done < sizeof(got)) {
		ssize_t n = cr_stream_read(s, got + done, sizeof(got) - done);
		CHECK(n > 0 && n <= 100);
		done += (size_t)n;
	}
	CHECK_EQ_MEM(got, in, sizeof(in));
	/* the peer reads at last: the close sends everything */
	cr_task *t;
	CHECK_OK(cr_spawn(&t, sink_task, &b, NULL));
	CHECK_OK(cr_stream_close(s));
	int r = -1;
	CHECK_OK(cr_join(t, &r));
	CHECK_EQ_INT(r, 0);
	CHECK_OK(cr_close(b));
	CHECK_EQ_U64(cr_bufpool_free_count(g_pool), nbuf);
}

/* Runs every case with the current reader kind.  Returns nothing. */
static void all_cases(void)
{
	bad_input();
	eof_forms();
	limit_overrun();
	reset_during_read();
	interrupted_reads();
	peek_parse();
	random_mix();
}

static int main_task(void *arg)
{
	(void)arg;
	all_cases();
	int e = cr_bufpool_create(&g_pool, 8, 64);
	if (e == -ENOSYS || e == -EINVAL) {
		printf("no provided-buffer rings (%d): the pool reader is not tested\n", e);
		return 0;
	}
	CHECK_OK(e);
	all_cases();
	pool_stall();
	cr_stream *s = NULL;
	cr_stream_opts o = {.pool = g_pool};
	CHECK_EQ_INT(cr_stream_open(&s, -1, &o), -EBADF);
	CHECK_EQ_U64(cr_bufpool_free_count(g_pool), 8);
	CHECK_OK(cr_bufpool_destroy(g_pool)); /* every stream's receiver closed */
	CHECK_EQ_INT(cr_stream_open(NULL, 0, NULL), -EINVAL);
	return 0;
}

static int outside_task(void)
{
	cr_stream *s;
	return cr_stream_open(&s, 0, NULL);
}

int main(void)
{
	check_watchdog(60);
	CHECK_EQ_INT(outside_task(), -EPERM);
	run_main(1, main_task);
	printf("ok\n");
	return 0;
}
