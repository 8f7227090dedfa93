/* SPDX-License-Identifier: MIT */
/* cr_stream's writer: bad input, coalescing (send SQEs counted), drain and back-pressure,
 * write_eof, lasting send errors, close (flush, or reset when bytes are dropped), sendfile, random
 * sizes. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

/* Opens a stream on fd with these water marks (0 = defaults).  Returns it. */
static cr_stream *open_marks(int fd, size_t high, size_t low)
{
	cr_stream *s = NULL;
	cr_stream_opts o = {.high_water = high, .low_water = low};
	CHECK_OK(cr_stream_open(&s, fd, &o));
	return s;
}

/* Returns the SQEs this worker submitted so far. */
static uint64_t sqes(void)
{
	cr_stats st;
	CHECK_OK(cr_stats_get(&st));
	return st.sqes_submitted;
}

/* A task reading a test stream until end of stream, with a pause every read. */
struct sink {
	int fd;
	uint32_t seed;
	size_t expect;	   /* bytes it must get before the end */
	uint64_t pause_ns; /* sleep between reads (a slow reader) */
	size_t got;	   /* bytes received */
	int end;	   /* what ended it: 0 = end of stream, else -errno */
};

/* Reads and checks the pattern.  Returns 0. */
static int sink_task(void *arg)
{
	struct sink *k = arg;
	uint8_t buf[8192];
	for (;;) {
		if (k->pause_ns)
			CHECK_OK(cr_sleep(k->pause_ns));
		ssize_t n = cr_recv(k->fd, buf, sizeof(buf));
		if (n <= 0) {
			k->end = (int)n;
			break;
		}
		check_pattern(buf, (size_t)n, k->seed, k->got, "sink");
		k->got += (size_t)n;
	}
	return 0;
}

/* Writes len bytes of stream seed from `from` through s in pieces of up to `piece`
 * bytes, draining after each when drain is set.  Returns nothing. */
static void write_pattern(cr_stream *s, uint32_t seed, size_t from, size_t len, size_t piece,
			  int drain)
{
	uint8_t buf[4096];
	for (size_t done = 0; done < len;) {
		size_t n = len - done < piece ? len - done : piece;
		n = n > sizeof(buf) ? sizeof(buf) : n;
		fill_pattern(buf, seed, from + done, n);
		CHECK_OK(cr_stream_write(s, buf, n));
		done += n;
		if (drain)
			CHECK_OK(cr_stream_drain(s));
	}
}

/* ---- bad input --------------------------------------------------------------------------- */

static void bad_input(void)
{
	struct iovec iov[2] = {{"ab", 2}, {NULL, 1}};
	size_t sent = 9;
	CHECK_EQ_INT(cr_stream_write(NULL, "x", 1), -EINVAL);
	CHECK_EQ_INT(cr_stream_writev(NULL, iov, 1), -EINVAL);
	CHECK_EQ_INT(cr_stream_drain(NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_flush(NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_write_eof(NULL), -EINVAL);
	CHECK_EQ_INT(cr_stream_sendfile(NULL, 0, 0, 1, &sent), -EINVAL);
	CHECK_EQ_U64(sent, 0);
	CHECK_EQ_U64(cr_stream_write_buffered(NULL), 0);
	int a, b;
	unix_pair(&a, &b);
	cr_stream *s = open_marks(a, 0, 0);
	CHECK_EQ_INT(cr_stream_write(s, NULL, 1), -EINVAL);
	CHECK_EQ_INT(cr_stream_write(s, NULL, 0), 0);
	CHECK_EQ_INT(cr_stream_writev(s, NULL, 1), -EINVAL);
	CHECK_EQ_INT(cr_stream_writev(s, iov, -1), -EINVAL);
	CHECK_EQ_INT(cr_stream_writev(s, iov, 2), -EINVAL); /* a NULL piece: nothing added */
	CHECK_EQ_U64(cr_stream_write_buffered(s), 0);
	CHECK_EQ_INT(cr_stream_writev(s, NULL, 0), 0);
	struct iovec empty = {NULL, 0};
	CHECK_EQ_INT(cr_stream_writev(s, &empty, 1), 0); /* an empty piece may be NULL */
	CHECK_EQ_INT(cr_stream_sendfile(s, 0, -1, 1, &sent), -EINVAL);
	int dead = 1000; /* not open (a closed low number could come back as the splice pipe) */
	CHECK_EQ_INT(fcntl(dead, F_GETFD), -1);
	CHECK_EQ_INT(cr_stream_sendfile(s, dead, 0, 10, &sent), -EBADF);
	CHECK_EQ_U64(sent, 0);
	CHECK_EQ_INT(cr_stream_sendfile(s, dead, 0, 0, &sent), 0); /* count 0: nothing to do */
	/* a file error is not the connection's: the stream still writes */
	CHECK_OK(cr_stream_write(s, "ok", 2));
	CHECK_OK(cr_stream_flush(s));
	char buf[4];
	recv_exact(b, buf, 2);
	CHECK_EQ_MEM(buf, "ok", 2);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- coalescing: 16 writes, one send ------------------------------------------------------- */

static void coalescing(void)
{
	enum { ROUNDS = 200, PIECES = 16, PIECE = 24 };
	int a, b;
	unix_pair(&a, &b);
	cr_stream *s = open_marks(a, 0, 0);
	uint8_t piece[PIECE], got[PIECES * PIECE];
	size_t off = 0;
	uint64_t sent_sqes = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t before = sqes();
		for (int i = 0; i < PIECES; i++) {
			fill_pattern(piece, 3, off, PIECE);
			CHECK_OK(cr_stream_write(s, piece, PIECE));
			off += PIECE;
		}
		CHECK_EQ_U64(cr_stream_write_buffered(s), PIECES * PIECE);
		CHECK_OK(cr_yield()); /* the end of the iteration sends them */
		CHECK_OK(cr_stream_flush(s));
		CHECK_EQ_U64(cr_stream_write_buffered(s), 0);
		sent_sqes += sqes() - before;
		recv_exact(b, got, PIECES * PIECE); /* (a socket buffer would fill up) */
		check_pattern(got, PIECES * PIECE, 3, off - PIECES * PIECE, "coalesced");
	}
	CHECK_EQ_U64(sent_sqes, ROUNDS); /* one send per round, nothing else */
	/* the same bytes unbuffered: a send each */
	uint64_t raw = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t before = sqes();
		for (int i = 0; i < PIECES; i++)
			CHECK_EQ_INT(cr_send(a, piece, PIECE), PIECE);
		raw += sqes() - before;
		recv_exact(b, got, PIECES * PIECE);
	}
	CHECK_EQ_U64(raw, ROUNDS * PIECES);
	CHECK_GE_U64(raw, 8 * sent_sqes);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- drain: water marks and a slow reader -------------------------------------------------- */

static void back_pressure(void)
{
	enum { HIGH = 32 * 1024, LOW = 8 * 1024 };
	int a, b;
	unix_pair(&a, &b);
	int small = 4096;
	CHECK_OK(setsockopt(a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)));
	CHECK_OK(setsockopt(b, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	cr_stream *s = open_marks(a, HIGH, LOW);
	/* a peer that does not read: drain times out, the stream stays usable */
	write_pattern(s, 5, 0, 3 * HIGH, 1000, 0);
	CHECK_EQ_U64(cr_stream_write_buffered(s), 3 * HIGH);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 30 * MS));
	CHECK_EQ_INT(cr_stream_drain(s), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	CHECK_GT_U64(cr_stream_write_buffered(s), HIGH);
	/* a slow reader: every drain leaves no more than HIGH buffered, and some wait */
	struct sink k = {b, 5, 0, 200 * 1000, 0, 1};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, sink_task, &k, NULL));
	size_t total = 3 * HIGH + ((size_t)2 << 20), off = 3 * HIGH;
	unsigned waited = 0;
	uint8_t buf[1500];
	while (off < total) {
		size_t n = total - off < sizeof(buf) ? total - off : sizeof(buf);
		fill_pattern(buf, 5, off, n);
		CHECK_OK(cr_stream_write(s, buf, n));
		off += n;
		size_t pending = cr_stream_write_buffered(s);
		CHECK_OK(cr_stream_drain(s));
		size_t after = cr_stream_write_buffered(s);
		if (pending > HIGH) {
			CHECK_LE_U64(after, LOW);
			waited++;
		} else {
			CHECK_EQ_U64(after, pending); /* below high: returns at once */
		}
	}
	CHECK_GT_INT(waited, 2);
	CHECK_OK(cr_stream_write_eof(s));
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_U64(k.got, total);
	CHECK_EQ_INT(k.end, 0);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));
}

/* ---- write_eof, lasting errors ----------------------------------------------------------- */

static void half_close_and_errors(void)
{
	int a, b;
	char buf[16];
	unix_pair(&a, &b);
	cr_stream *s = open_marks(a, 0, 0);
	CHECK_OK(cr_stream_write(s, "last", 4));
	CHECK_OK(cr_stream_write_eof(s));
	CHECK_OK(cr_stream_write_eof(s)); /* once is enough */
	CHECK_EQ_INT(cr_stream_write(s, "x", 1), -EPIPE);
	CHECK_EQ_INT(cr_stream_sendfile(s, 0, 0, 1, NULL), -EPIPE);
	recv_exact(b, buf, 4);
	CHECK_EQ_MEM(buf, "last", 4);
	CHECK_EQ_INT(cr_recv(b, buf, sizeof(buf)), 0);
	/* reading goes on after the half-close */
	CHECK_EQ_INT(cr_send(b, "back", 4), 4);
	CHECK_EQ_INT(cr_stream_readexactly(s, buf, 4, NULL), 4);
	CHECK_EQ_MEM(buf, "back", 4);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(b));

	/* the peer reset the connection: the send fails, and the error lasts */
	int cli, srv;
	tcp_pair(&cli, &srv);
	s = open_marks(srv, 0, 0);
	struct linger l = {1, 0};
	CHECK_OK(setsockopt(cli, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	CHECK_OK(cr_close(cli));
	int e = 0;
	for (int i = 0; i < 100 && e == 0; i++) {
		e = cr_stream_write(s, "data", 4);
		if (e == 0)
			e = cr_stream_flush(s);
	}
	CHECK_MSG(e == -ECONNRESET || e == -EPIPE, "send after RST: %d", e);
	CHECK_EQ_INT(cr_stream_write(s, "x", 1), e);
	CHECK_EQ_INT(cr_stream_drain(s), e);
	CHECK_EQ_INT(cr_stream_flush(s), e);
	CHECK_EQ_INT(cr_stream_close(s), e); /* why the unsent bytes were dropped */
}

/* ---- close: flushes; within a deadline, else a reset ------------------------------------ */

static void closing(void)
{
	int a, b;
	unix_pair(&a, &b);
	cr_stream *s = open_marks(a, 0, 0);
	struct sink k = {b, 9, 0, 0, 0, 1};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, sink_task, &k, NULL));
	write_pattern(s, 9, 0, 1 << 20, 4096, 0);
	CHECK_OK(cr_stream_close(s)); /* sends the whole MiB first */
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_U64(k.got, 1 << 20);
	CHECK_EQ_INT(k.end, 0);
	CHECK_OK(cr_close(b));

	/* a peer that does not read: close gives up at the deadline and resets */
	int cli, srv;
	tcp_pair(&cli, &srv);
	s = open_marks(srv, 0, 0);
	write_pattern(s, 9, 0, 8 << 20, 4096, 0);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 30 * MS));
	CHECK_EQ_INT(cr_stream_close(s), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	struct sink r = {cli, 9, 0, 0, 0, 1};
	CHECK_OK(sink_task(&r));
	CHECK_LT_U64(r.got, 8 << 20);
	CHECK_EQ_INT(r.end, -ECONNRESET);
	CHECK_OK(cr_close(cli));
}

/* ---- sendfile -------------------------------------------------------------------------------- */

static void send_file(void)
{
	char path[] = "/tmp/coring-stream-XXXXXX";
	int f = mkstemp(path);
	CHECK_OK(f);
	unlink(path);
	size_t flen = 3u << 20;
	uint8_t *data = malloc(flen);
	CHECK(data != NULL);
	fill_pattern(data, 21, 0, flen);
	CHECK_EQ_INT(cr_file_write_all(f, data, flen, 0), (ssize_t)flen);
	int cli, srv;
	tcp_pair(&cli, &srv);
	cr_stream *s = open_marks(srv, 0, 0);
	/* header, the middle of the file, the end of the file (short), trailer */
	CHECK_OK(cr_stream_write(s, "HDR", 3));
	size_t sent = 0, mid = 2u << 20;
	CHECK_EQ_INT(cr_stream_sendfile(s, f, 1000, mid, &sent), (ssize_t)mid);
	CHECK_EQ_U64(sent, mid);
	CHECK_EQ_INT(cr_stream_sendfile(s, f, (off_t)flen - 10, 100, &sent), 10);
	CHECK_OK(cr_stream_write(s, "END", 3));
	CHECK_OK(cr_stream_write_eof(s));
	uint8_t *got = malloc(mid + 16);
	CHECK(got != NULL);
	recv_exact(cli, got, mid + 16);
	CHECK_EQ_MEM(got, "HDR", 3);
	CHECK_EQ_MEM(got + 3, data + 1000, mid);
	CHECK_EQ_MEM(got + 3 + mid, data + flen - 10, 10);
	CHECK_EQ_MEM(got + 13 + mid, "END", 3);
	CHECK_EQ_INT(cr_recv(cli, got, 1), 0);
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_close(cli));
	close(f);
	free(data);
	free(got);
}

/* ---- random sizes, write and writev, byte-verified ----------------------------------------- */

static void random_writes(void)
{
	int cli, srv;
	tcp_pair(&cli, &srv);
	cr_stream *s = open_marks(srv, 16384, 0);
	size_t total = 4u << 20, off = 0;
	struct sink k = {cli, 13, 0, 0, 0, 1};
	cr_task *t;
	CHECK_OK(cr_spawn(&t, sink_task, &k, NULL));
	uint8_t buf[3][7000];
	for (unsigned i = 0; off < total; i++) {
		size_t n[3];
		struct iovec iov[3];
		for (int j = 0; j < 3; j++) {
			n[j] = mix(i * 3 + (unsigned)j) % sizeof(buf[j]);
			n[j] = n[j] > total - off ? total - off : n[j];
			fill_pattern(buf[j], 13, off, n[j]);
			iov[j].iov_base = buf[j];
			iov[j].iov_len = n[j];
			off += n[j];
		}
		if (i % 2)
			CHECK_OK(cr_stream_writev(s, iov, 3));
		else
			for (int j = 0; j < 3; j++)
				CHECK_OK(cr_stream_write(s, buf[j], n[j]));
		if (mix(i) % 4 == 0)
			CHECK_OK(cr_stream_drain(s));
		else if (mix(i) % 4 == 1)
			CHECK_OK(cr_yield());
	}
	CHECK_OK(cr_stream_close(s));
	CHECK_OK(cr_join(t, NULL));
	CHECK_EQ_U64(k.got, total);
	CHECK_EQ_INT(k.end, 0);
	CHECK_OK(cr_close(cli));
}

static int main_task(void *arg)
{
	(void)arg;
	bad_input();
	coalescing();
	back_pressure();
	half_close_and_errors();
	closing();
	send_file();
	random_writes();
	return 0;
}

int main(void)
{
	check_watchdog(60);
	run_main(1, main_task);
	printf("ok\n");
	return 0;
}
