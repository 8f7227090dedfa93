/* SPDX-License-Identifier: MIT */
/* Provided-buffer receivers: a tiny pool for many connections, back-pressure, EOF, reset, close. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_cases.h"

#define NCONN 100	/* connections sharing one small pool */
#define SMALL_COUNT 8	/* buffers in that pool */
#define SMALL_SIZE 1024 /* bytes per buffer */
#define MAX_STREAM (200 * 1024)

/* ---- helpers ------------------------------------------------------------------------ */

/* Checks a chunk against pattern(seed) at offset off.  Returns nothing. */
static void check_chunk(const cr_chunk *c, uint32_t seed, size_t off)
{
	check_pattern(c->data, c->len, seed, off, "stream");
}

/* ---- many connections through a pool of 8 buffers ------------------------------------ */

struct many {
	cr_bufpool *pool;
	cr_addr addr;
	int lfd;
	cr_task *conns[NCONN];
	uint64_t chunks; /* chunks delivered in all */
};

static size_t stream_len(uint32_t id)
{
	uint32_t h = mix(id + 1);
	if (id % 10 == 0)
		return h % 16; /* some tiny ones, even empty */
	return 1 + h % MAX_STREAM;
}

struct conn_arg {
	struct many *m;
	int fd;
	unsigned n; /* accept order */
};

/* Server side of one connection: a 4-byte id, then stream_len(id) pattern
 * bytes; every byte checked in order; answers with the 8-byte count. */
static int conn_task(void *arg)
{
	struct conn_arg *ca = arg;
	struct many *m = ca->m;
	int fd = ca->fd;
	cr_receiver *r;
	CHECK_OK(cr_receiver_open(&r, fd, m->pool, ca->n % 2 ? 4 : 0));
	uint8_t idb[4];
	size_t total = 0; /* bytes including the id */
	uint32_t id = 0;
	cr_chunk c;
	ssize_t n;
	unsigned k = 0;
	while ((n = cr_receiver_next(r, &c)) > 0) {
		CHECK_EQ_U64((size_t)n, c.len);
		CHECK_LE_U64(c.len, SMALL_SIZE);
		size_t off = 0;
		while (total < 4 && off < c.len)
			idb[total++] = ((uint8_t *)c.data)[off++];
		if (total == 4 && off > 0)
			memcpy(&id, idb, 4);
		if (off < c.len) {
			cr_chunk rest = c;
			rest.data = (uint8_t *)c.data + off;
			rest.len = c.len - off;
			check_chunk(&rest, id, total - 4);
			total += rest.len;
		}
		/* now and then hold the buffer across a yield, so pools run dry */
		if (++k % 3 == 0)
			CHECK_OK(cr_yield());
		cr_chunk_release(r, &c);
		m->chunks++;
	}
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(cr_receiver_next(r, &c), 0); /* end of stream stays */
	CHECK_GE_U64(total, 4);
	CHECK_EQ_U64(total - 4, stream_len(id));
	uint64_t got = total - 4;
	CHECK_EQ_INT(cr_send_all(fd, &got, sizeof(got), NULL), (ssize_t)sizeof(got));
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_close(fd));
	free(ca);
	return 0;
}

static int accept_loop(void *arg)
{
	struct many *m = arg;
	for (unsigned i = 0; i < NCONN; i++) {
		struct conn_arg *ca = malloc(sizeof(*ca));
		CHECK(ca != NULL);
		ca->m = m;
		ca->n = i;
		ca->fd = cr_accept(m->lfd, NULL);
		CHECK_OK(ca->fd);
		CHECK_OK(cr_spawn(&m->conns[i], conn_task, ca, NULL));
	}
	return 0;
}

struct client_arg {
	struct many *m;
	uint32_t id;
};

static int client_task(void *arg)
{
	struct client_arg *ca = arg;
	uint32_t id = ca->id;
	int fd = cr_connect(&ca->m->addr);
	CHECK_OK(fd);
	CHECK_EQ_INT(cr_send_all(fd, &id, 4, NULL), 4);
	size_t len = stream_len(id), done = 0;
	uint32_t rng = mix(id ^ 0xabcdef);
	while (done < len) {
		rng = mix(rng);
		size_t piece = 1 + rng % 9000;
		if (piece > len - done)
			piece = len - done;
		send_pattern(fd, id, done, piece);
		done += piece;
		if (rng & 1)
			CHECK_OK(cr_yield());
	}
	CHECK_OK(cr_shutdown(fd, SHUT_WR));
	uint64_t ack = 0;
	size_t got = 0;
	while (got < sizeof(ack)) {
		ssize_t n = cr_recv(fd, (char *)&ack + got, sizeof(ack) - got);
		CHECK_GT_INT(n, 0);
		got += (size_t)n;
	}
	CHECK_EQ_U64(ack, len);
	char b;
	CHECK_EQ_INT(cr_recv(fd, &b, 1), 0);
	CHECK_OK(cr_close(fd));
	return 0;
}

static void test_many(void)
{
	int base = count_fds();
	static struct many m;
	memset(&m, 0, sizeof(m));
	CHECK_OK(cr_bufpool_create(&m.pool, SMALL_COUNT, SMALL_SIZE));
	CHECK_EQ_INT(cr_bufpool_free_count(m.pool), SMALL_COUNT);
	m.lfd = listen_loop(&m.addr, 0);
	cr_task *acc;
	CHECK_OK(cr_spawn(&acc, accept_loop, &m, NULL));
	static cr_task *clients[NCONN];
	static struct client_arg cargs[NCONN];
	size_t bytes = 0;
	for (unsigned i = 0; i < NCONN; i++) {
		cargs[i].m = &m;
		cargs[i].id = i;
		bytes += stream_len(i);
		CHECK_OK(cr_spawn(&clients[i], client_task, &cargs[i], NULL));
	}
	CHECK_OK(cr_gather(clients, NCONN, NULL));
	CHECK_OK(cr_join(acc, NULL));
	CHECK_OK(cr_gather(m.conns, NCONN, NULL));
	CHECK_EQ_INT(cr_bufpool_free_count(m.pool), SMALL_COUNT);
	CHECK_OK(cr_bufpool_destroy(m.pool));
	CHECK_OK(cr_close(m.lfd));
	CHECK_EQ_INT(count_fds(), base);
	printf("many: %d connections, %zu bytes in %llu chunks through %d x %d B buffers\n", NCONN,
	       bytes, (unsigned long long)m.chunks, SMALL_COUNT, SMALL_SIZE);
}

/* ---- back-pressure ------------------------------------------------------------------------ */

#define BP_COUNT 16
#define BP_MAX_HELD 2
#define BP_HOG_LEN ((size_t)512 * 1024)
#define BP_OTHERS 4
#define BP_OTHER_LEN ((size_t)64 * 1024)
#define BP_SLACK 4 /* chunks the kernel may deliver before the pause takes effect */

struct hog {
	cr_bufpool *pool;
	cr_receiver *r;
	int fd;
	cr_chunk held[BP_COUNT + 1];
	unsigned nheld; /* chunks taken and not released */
	int release;	/* 1: stop hoarding, read to the end */
	size_t total;	/* bytes seen */
};

static int hog_sender(void *arg)
{
	int fd = (int)(intptr_t)arg;
	send_pattern(fd, 99, 0, BP_HOG_LEN);
	CHECK_OK(cr_shutdown(fd, SHUT_WR));
	return 0;
}

/* Takes chunks and keeps them until told to let go; then reads everything. */
static int hog_reader(void *arg)
{
	struct hog *h = arg;
	CHECK_OK(cr_receiver_open(&h->r, h->fd, h->pool, BP_MAX_HELD));
	cr_receiver *r = h->r;
	cr_chunk c;
	ssize_t n;
	while ((n = cr_receiver_next(r, &c)) > 0) {
		check_chunk(&c, 99, h->total);
		h->total += c.len;
		if (h->release) {
			while (h->nheld)
				cr_chunk_release(r, &h->held[--h->nheld]);
			cr_chunk_release(r, &c);
		} else {
			CHECK_LT_INT(h->nheld, BP_COUNT);
			h->held[h->nheld++] = c;
		}
	}
	CHECK_EQ_INT(n, 0);
	while (h->nheld)
		cr_chunk_release(r, &h->held[--h->nheld]);
	CHECK_OK(cr_receiver_close(r));
	return h->total == BP_HOG_LEN ? 0 : -EIO;
}

struct other {
	cr_bufpool *pool;
	int fd;
	uint32_t seed;
};

static int other_reader(void *arg)
{
	struct other *o = arg;
	cr_receiver *r;
	CHECK_OK(cr_receiver_open(&r, o->fd, o->pool, 4));
	cr_chunk c;
	ssize_t n;
	size_t total = 0;
	while ((n = cr_receiver_next(r, &c)) > 0) {
		check_chunk(&c, o->seed, total);
		total += c.len;
		cr_chunk_release(r, &c);
	}
	CHECK_OK(cr_receiver_close(r));
	if (n < 0)
		return (int)n; /* cancelled by the caller's deadline: it reports */
	return total == BP_OTHER_LEN ? 0 : -EIO;
}

/* A hog that never releases and BP_OTHERS normal connections share one pool.
 * prefill = 0: the hog's data trickles in after its receiver is armed;
 * prefill = 1: a burst already waits in the socket when the receiver opens
 * (the kernel's multishot loop may then take many buffers at once). */
static void back_pressure(int prefill)
{
	int base = count_fds();
	static struct hog h;
	memset(&h, 0, sizeof(h));
	CHECK_OK(cr_bufpool_create(&h.pool, BP_COUNT, SMALL_SIZE));
	int hog_cli;
	tcp_pair(&hog_cli, &h.fd);
	cr_task *hs, *hr;
	if (prefill) {
		CHECK_OK(cr_spawn(&hs, hog_sender, (void *)(intptr_t)hog_cli, NULL));
		CHECK_OK(cr_sleep(10 * MS)); /* the sender fills the socket buffers */
		CHECK_OK(cr_spawn(&hr, hog_reader, &h, NULL));
	} else {
		CHECK_OK(cr_spawn(&hr, hog_reader, &h, NULL));
		CHECK_OK(cr_spawn(&hs, hog_sender, (void *)(intptr_t)hog_cli, NULL));
	}
	/* the hog hoards until its receiver pauses */
	CHECK_WAIT_UNTIL(h.nheld >= BP_MAX_HELD, "the hog's first chunks");
	CHECK_OK(cr_sleep(20 * MS));
	unsigned hog_in_use = BP_COUNT - cr_bufpool_free_count(h.pool);
	printf("back-pressure (%s): the hog took %u chunks, holds %u of %d buffers (max_held %d)\n",
	       prefill ? "burst waiting" : "trickle", h.nheld, hog_in_use, BP_COUNT, BP_MAX_HELD);

	/* other connections still get buffers from the same pool and finish */
	int ocli[BP_OTHERS];
	cr_task *ot[BP_OTHERS];
	struct other o[BP_OTHERS];
	for (int i = 0; i < BP_OTHERS; i++) {
		o[i].pool = h.pool;
		o[i].seed = 1000 + (uint32_t)i;
		tcp_pair(&ocli[i], &o[i].fd);
		CHECK_OK(cr_spawn(&ot[i], other_reader, &o[i], NULL));
	}
	for (int i = 0; i < BP_OTHERS; i++) {
		send_pattern(ocli[i], o[i].seed, 0, BP_OTHER_LEN);
		CHECK_OK(cr_shutdown(ocli[i], SHUT_WR));
	}
	int res[BP_OTHERS];
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 10000 * MS));
	int g = cr_gather(ot, BP_OTHERS, res);
	cr_deadline_exit(&d);
	CHECK_MSG(g == 0,
		  "other connections stalled (%d): a receiver with max_held %d that is never "
		  "released holds %u of the pool's %d buffers",
		  g, BP_MAX_HELD, BP_COUNT - cr_bufpool_free_count(h.pool), BP_COUNT);
	for (int i = 0; i < BP_OTHERS; i++) {
		CHECK_EQ_INT(res[i], 0);
		CHECK_OK(cr_close(ocli[i]));
		CHECK_OK(cr_close(o[i].fd));
	}
	/* meanwhile the hog never got more than max_held (+ the kernel's slack) */
	CHECK_OK(cr_sleep(5 * MS));
	hog_in_use = BP_COUNT - cr_bufpool_free_count(h.pool);
	CHECK_LE_INT(hog_in_use, BP_MAX_HELD + BP_SLACK);
	CHECK_LE_INT(h.nheld, BP_MAX_HELD + BP_SLACK);
	CHECK_LT_U64(h.total, BP_HOG_LEN);

	/* letting go resumes the hog's stream, in order, to the end: the reader
	 * is parked in cr_receiver_next, its buffers go back from here */
	h.release = 1;
	while (h.nheld)
		cr_chunk_release(h.r, &h.held[--h.nheld]);
	int r = 0;
	CHECK_OK(cr_join(hs, NULL));
	CHECK_OK(cr_join(hr, &r));
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(cr_bufpool_free_count(h.pool), BP_COUNT);
	CHECK_OK(cr_bufpool_destroy(h.pool));
	CHECK_OK(cr_close(hog_cli));
	CHECK_OK(cr_close(h.fd));
	CHECK_EQ_INT(count_fds(), base);
}

static void test_back_pressure(void)
{
	back_pressure(0);
	back_pressure(1);
}

/* ---- EOF, reset ----------------------------------------------------------------------------- */

static void test_eof_and_reset(void)
{
	int base = count_fds();
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 8, 4096));
	int cli, srv;
	cr_receiver *r;
	cr_chunk c;
	ssize_t n;

	/* EOF after data: every chunk, then 0 (and 0 again) */
	tcp_pair(&cli, &srv);
	send_pattern(cli, 5, 0, 10000);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_receiver_open(&r, srv, p, 0));
	size_t total = 0;
	while ((n = cr_receiver_next(r, &c)) > 0) {
		check_chunk(&c, 5, total);
		total += c.len;
		cr_chunk_release(r, &c);
	}
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_U64(total, 10000);
	CHECK_EQ_INT(cr_receiver_next(r, &c), 0);
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 8);

	/* EOF with nothing before it */
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 0));
	CHECK_OK(cr_shutdown(cli, SHUT_WR));
	CHECK_EQ_INT(cr_receiver_next(r, &c), 0);
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_close(srv));
	CHECK_OK(cr_close(cli));

	/* the peer resets: a prefix of the data, then a negative error (kept) */
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 0));
	send_pattern(cli, 6, 0, 3000);
	n = cr_receiver_next(r, &c); /* wait for data to be in flight */
	CHECK_GT_INT(n, 0);
	check_chunk(&c, 6, 0);
	total = c.len;
	cr_chunk_release(r, &c);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	CHECK_EQ_INT(setsockopt(cli, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	send_pattern(cli, 6, 3000, 1000);
	CHECK_OK(cr_close(cli)); /* RST */
	while ((n = cr_receiver_next(r, &c)) > 0) {
		check_chunk(&c, 6, total);
		total += c.len;
		cr_chunk_release(r, &c);
	}
	CHECK_MSG(n < 0, "after a reset: %zd", n);
	CHECK_EQ_INT(n, -ECONNRESET);
	CHECK_EQ_INT(cr_receiver_next(r, &c), n); /* the error stays */
	CHECK_LE_U64(total, 4000);
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 8);

	/* a receiver on something that is not a connected stream: the error
	 * comes out of cr_receiver_next, once and then again */
	cr_addr la;
	int lfd = listen_loop(&la, 0);
	CHECK_OK(cr_receiver_open(&r, lfd, p, 0));
	n = cr_receiver_next(r, &c);
	CHECK_MSG(n < 0, "receiver on a listening socket: %zd", n);
	CHECK_EQ_INT(cr_receiver_next(r, &c), n);
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_close(lfd));
	int bad = dup(0);
	CHECK_GE_INT(bad, 0);
	close(bad); /* a number that is no fd now */
	CHECK_OK(cr_receiver_open(&r, bad, p, 0));
	CHECK_EQ_INT(cr_receiver_next(r, &c), -EBADF);
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 8);
	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- close with the receive armed and chunks queued ------------------------------------------ */

static void test_close(void)
{
	int base = count_fds();
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 16, SMALL_SIZE));
	int cli, srv;
	cr_receiver *r;
	cr_chunk c;

	/* chunks queued, nobody took them, the multishot still armed */
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 16));
	CHECK_EQ_INT(cr_bufpool_destroy(p), -EBUSY);
	for (int i = 0; i < 5; i++) {
		send_pattern(cli, 7, (size_t)i * SMALL_SIZE, SMALL_SIZE);
		CHECK_WAIT_UNTIL(cr_bufpool_free_count(p) <= 16u - (unsigned)(i + 1) ||
					 cr_bufpool_free_count(p) == 0,
				 "queued chunks");
	}
	CHECK_LT_INT(cr_bufpool_free_count(p), 16);
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 16);
	/* the fd stays open and usable */
	char b[8];
	CHECK_EQ_INT(cr_send(srv, "open", 4), 4);
	CHECK_EQ_INT(cr_recv(cli, b, 4), 4);
	/* a new receiver on the same fd sees what came after */
	send_pattern(cli, 8, 0, 100);
	CHECK_OK(cr_receiver_open(&r, srv, p, 0));
	CHECK_EQ_INT(cr_receiver_next(r, &c), 100);
	check_chunk(&c, 8, 0);
	cr_chunk_release(r, &c);
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 16);

	/* close while paused by back-pressure (max_held 2, nothing taken) */
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 2));
	send_pattern(cli, 9, 0, 8 * SMALL_SIZE);
	CHECK_WAIT_UNTIL(cr_bufpool_free_count(p) <= 14, "paused receiver");
	CHECK_OK(cr_sleep(2 * MS));
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 16);
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));

	/* close while starved: another receiver holds the whole pool */
	cr_bufpool *tiny;
	CHECK_OK(cr_bufpool_create(&tiny, 2, SMALL_SIZE));
	int cli2, srv2;
	cr_receiver *r2;
	cr_chunk held[2];
	tcp_pair(&cli, &srv);
	tcp_pair(&cli2, &srv2);
	CHECK_OK(cr_receiver_open(&r, srv, tiny, 8));
	send_pattern(cli, 10, 0, 2 * SMALL_SIZE);
	CHECK_EQ_INT(cr_receiver_next(r, &held[0]), SMALL_SIZE);
	CHECK_EQ_INT(cr_receiver_next(r, &held[1]), SMALL_SIZE);
	CHECK_EQ_INT(cr_bufpool_free_count(tiny), 0);
	CHECK_OK(cr_receiver_open(&r2, srv2, tiny, 8));
	send_pattern(cli2, 11, 0, 100);
	CHECK_OK(cr_sleep(5 * MS)); /* r2 runs dry (ENOBUFS) and waits for a buffer */
	CHECK_OK(cr_receiver_close(r2));
	/* giving the buffers back must not touch the closed receiver */
	cr_chunk_release(r, &held[0]);
	cr_chunk_release(r, &held[1]);
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(tiny), 2);
	/* a new receiver on srv2 gets the bytes that waited */
	CHECK_OK(cr_receiver_open(&r2, srv2, tiny, 8));
	CHECK_EQ_INT(cr_receiver_next(r2, &c), 100);
	check_chunk(&c, 11, 0);
	cr_chunk_release(r2, &c);
	CHECK_OK(cr_receiver_close(r2));
	CHECK_OK(cr_bufpool_destroy(tiny));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_OK(cr_close(cli2));
	CHECK_OK(cr_close(srv2));

	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- the queue grows while it wraps around ----------------------------------------------- */

/* Chunks queued past the queue's first capacity while its head has moved
 * (taken chunks): every byte still comes out once and in order. */
static void test_queue_growth(void)
{
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 64, 16)); /* 16-byte buffers: many chunks from little data */
	int cli, srv;
	cr_receiver *r;
	cr_chunk c;
	uint8_t buf[400];
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 48));
	fill_pattern(buf, 31, 0, 160);
	CHECK_EQ_INT(send(cli, buf, 160, 0), 160);
	CHECK_WAIT_UNTIL(cr_bufpool_free_count(p) <= 64 - 10, "10 chunks queued");
	size_t got = 0;
	for (int i = 0; i < 6; i++) { /* the queue's head moves on */
		CHECK_GT_INT(cr_receiver_next(r, &c), 0);
		check_chunk(&c, 31, got);
		got += c.len;
		cr_chunk_release(r, &c);
	}
	fill_pattern(buf, 31, 160, 400);
	CHECK_EQ_INT(send(cli, buf, 400, 0), 400);
	/* 4 left + 25 new: the queue grew from 16 entries while wrapped */
	CHECK_WAIT_UNTIL(cr_bufpool_free_count(p) <= 64 - 29, "29 chunks queued");
	while (got < 560) {
		CHECK_GT_INT(cr_receiver_try_next(r, &c), 0);
		check_chunk(&c, 31, got);
		got += c.len;
		cr_chunk_release(r, &c);
	}
	CHECK_EQ_U64(got, 560);
	CHECK_EQ_INT(cr_receiver_try_next(r, &c), -EAGAIN);
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 64);
	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
}

/* ---- pause and resume --------------------------------------------------------------------- */

/* A paused receiver takes no more buffers (the data waits in the socket),
 * try_next hands out what was queued, and after resume every byte arrives
 * in order. */
static void test_pause_resume(void)
{
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 16, SMALL_SIZE));
	int cli, srv;
	cr_receiver *r;
	cr_chunk c;
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 4));
	CHECK_EQ_INT(cr_receiver_try_next(r, &c), -EAGAIN);
	send_pattern(cli, 21, 0, SMALL_SIZE);
	CHECK_EQ_INT(cr_receiver_next(r, &c), SMALL_SIZE);
	check_chunk(&c, 21, 0);
	cr_chunk_release(r, &c);
	cr_receiver_pause(r);
	CHECK_OK(cr_sleep(2 * MS)); /* the cancelled receive has ended */
	unsigned free_paused = cr_bufpool_free_count(p);
	send_pattern(cli, 21, SMALL_SIZE, 8 * SMALL_SIZE);
	CHECK_OK(cr_sleep(5 * MS));
	CHECK_EQ_INT(cr_bufpool_free_count(p), free_paused); /* nothing taken while paused */
	size_t got = SMALL_SIZE;
	ssize_t n;
	while ((n = cr_receiver_try_next(r, &c)) > 0) { /* whatever was in flight */
		check_chunk(&c, 21, got);
		got += (size_t)n;
		cr_chunk_release(r, &c);
	}
	CHECK_EQ_INT(n, -EAGAIN);
	cr_receiver_resume(r);
	while (got < 9 * SMALL_SIZE) {
		n = cr_receiver_next(r, &c);
		CHECK_GE_INT(n, 1);
		check_chunk(&c, 21, got);
		got += (size_t)n;
		cr_chunk_release(r, &c);
	}
	CHECK_EQ_U64(got, 9 * SMALL_SIZE);
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 16);
	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
}

/* ---- a paused receiver takes no buffer ------------------------------------------------------ */

#define PH_LEN ((size_t)32 * 1024) /* what the stalled peer has sent */

/*
 * The echo server's spill: a task holds the only buffer of a pool, gives it
 * back, pauses its receiver and takes what is queued (copying it out), then
 * blocks elsewhere (sending to a peer that does not read).  The give-back
 * must not re-arm the receive behind the pause's back: once the pause and
 * the drain are done the receiver holds no buffer, so another connection of
 * the pool is served.  Then resuming delivers the rest, in order.
 */
static void test_pause_holds_nothing(void)
{
	int base = count_fds();
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 1, SMALL_SIZE));
	int cli, srv, cli2, srv2;
	cr_receiver *r, *r2;
	cr_chunk c;
	ssize_t n;
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 4));
	send_pattern(cli, 41, 0, PH_LEN); /* waits in srv's receive buffer */
	CHECK_EQ_INT(cr_receiver_next(r, &c), SMALL_SIZE);
	check_chunk(&c, 41, 0);
	size_t got = c.len;
	cr_chunk_release(r, &c);
	cr_receiver_pause(r);
	while ((n = cr_receiver_try_next(r, &c)) > 0) {
		check_chunk(&c, 41, got);
		got += (size_t)n;
		cr_chunk_release(r, &c);
	}
	CHECK_EQ_INT(n, -EAGAIN);
	CHECK_OK(cr_sleep(5 * MS)); /* anything still on its way has landed */
	CHECK_MSG(cr_bufpool_free_count(p) == 1,
		  "a paused and drained receiver still holds %u of the pool's 1 buffer",
		  1 - cr_bufpool_free_count(p));
	CHECK_EQ_INT(cr_receiver_try_next(r, &c), -EAGAIN);
	/* another connection of the pool gets its 2 bytes */
	tcp_pair(&cli2, &srv2);
	CHECK_OK(cr_receiver_open(&r2, srv2, p, 4));
	CHECK_EQ_INT(send(cli2, "hi", 2, 0), 2);
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 2000 * MS));
	n = cr_receiver_next(r2, &c);
	cr_deadline_exit(&d);
	CHECK_MSG(n == 2, "a connection next to a paused receiver got %zd instead of its 2 bytes",
		  n);
	CHECK(memcmp(c.data, "hi", 2) == 0);
	cr_chunk_release(r2, &c);
	CHECK_OK(cr_receiver_close(r2));
	/* resumed, the first receiver gets the rest of its stream in order */
	cr_receiver_resume(r);
	while (got < PH_LEN) {
		n = cr_receiver_next(r, &c);
		CHECK_GT_INT(n, 0);
		check_chunk(&c, 41, got);
		got += (size_t)n;
		cr_chunk_release(r, &c);
	}
	CHECK_EQ_U64(got, PH_LEN);
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 1);
	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_OK(cr_close(cli2));
	CHECK_OK(cr_close(srv2));
	CHECK_EQ_INT(count_fds(), base);
}

/* ---- starvation: a receiver that ran dry is fed when buffers come back ------------------------
 */

static void test_starved_resumes(void)
{
	cr_bufpool *tiny;
	CHECK_OK(cr_bufpool_create(&tiny, 2, SMALL_SIZE));
	int cli, srv, cli2, srv2;
	cr_receiver *r, *r2;
	cr_chunk held[2], c;
	tcp_pair(&cli, &srv);
	tcp_pair(&cli2, &srv2);
	CHECK_OK(cr_receiver_open(&r, srv, tiny, 8));
	CHECK_OK(cr_receiver_open(&r2, srv2, tiny, 8));
	send_pattern(cli, 12, 0, 2 * SMALL_SIZE);
	CHECK_EQ_INT(cr_receiver_next(r, &held[0]), SMALL_SIZE);
	CHECK_EQ_INT(cr_receiver_next(r, &held[1]), SMALL_SIZE);
	send_pattern(cli2, 13, 0, 3 * SMALL_SIZE);
	CHECK_OK(cr_sleep(5 * MS)); /* r2 runs dry */
	cr_chunk_release(r, &held[0]);
	size_t total = 0;
	while (total < 3 * SMALL_SIZE) {
		ssize_t n = cr_receiver_next(r2, &c);
		CHECK_GT_INT(n, 0);
		check_chunk(&c, 13, total);
		total += c.len;
		cr_chunk_release(r2, &c);
	}
	cr_chunk_release(r, &held[1]);
	CHECK_OK(cr_receiver_close(r));
	CHECK_OK(cr_receiver_close(r2));
	CHECK_EQ_INT(cr_bufpool_free_count(tiny), 2);
	CHECK_OK(cr_bufpool_destroy(tiny));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_OK(cr_close(cli2));
	CHECK_OK(cr_close(srv2));
}

/* ---- cancellation and deadlines in cr_receiver_next ------------------------------------------ */

static int next_task(void *arg)
{
	cr_chunk c;
	return (int)cr_receiver_next(arg, &c);
}

static void test_cancel(void)
{
	int base = count_fds();
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 4, SMALL_SIZE));
	int cli, srv;
	cr_receiver *r;
	cr_chunk c;
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 0));
	cr_task *t = spawn_waiting(next_task, r);
	CHECK_EQ_INT(cr_task_done(t), 0);
	CHECK_OK(cr_cancel(t));
	int res;
	CHECK_OK(cr_join(t, &res));
	CHECK_EQ_INT(res, -ECANCELED);
	/* a deadline: -ETIMEDOUT, and the receiver stays usable */
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, 10 * MS));
	CHECK_EQ_INT(cr_receiver_next(r, &c), -ETIMEDOUT);
	CHECK_EQ_INT(cr_deadline_exit(&d), 1);
	send_pattern(cli, 14, 0, 500);
	CHECK_EQ_INT(cr_receiver_next(r, &c), 500);
	check_chunk(&c, 14, 0);
	cr_chunk_release(r, &c);
	CHECK_OK(cr_receiver_close(r));
	CHECK_EQ_INT(cr_bufpool_free_count(p), 4);
	/* bad arguments */
	CHECK_EQ_INT(cr_receiver_next(NULL, &c), -EINVAL);
	cr_bufpool *q;
	CHECK_EQ_INT(cr_bufpool_create(&q, 3, 100), -EINVAL);
	CHECK_EQ_INT(cr_bufpool_create(&q, 0, 100), -EINVAL);
	CHECK_EQ_INT(cr_bufpool_create(&q, 4, 0), -EINVAL);
	CHECK_EQ_INT(cr_bufpool_create(NULL, 4, 100), -EINVAL);
	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(count_fds(), base);
}

/* cr_receiver_close while another task waits in cr_receiver_next (one task
 * reads, another shuts the connection down): the reader must get an error,
 * not touch the freed receiver. */
static void test_close_with_waiter(void)
{
	int base = count_fds();
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 4, SMALL_SIZE));
	int cli, srv;
	cr_receiver *r;
	tcp_pair(&cli, &srv);
	CHECK_OK(cr_receiver_open(&r, srv, p, 0));
	cr_task *t = spawn_waiting(next_task, r);
	CHECK_OK(cr_receiver_close(r));
	int res = 0;
	int j = join_within(t, 5000 * MS, &res);
	CHECK_MSG(j == 0, "a task in cr_receiver_next was not woken by cr_receiver_close");
	CHECK_MSG(res == -EBADF, "cr_receiver_next on a closed receiver returned %d", res);
	CHECK_EQ_INT(cr_bufpool_free_count(p), 4);
	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(count_fds(), base);
}

/* Takes one chunk and gives it back at once.  Returns what cr_receiver_next returned. */
static int next_release_task(void *arg)
{
	cr_chunk c;
	ssize_t n = cr_receiver_next(arg, &c);
	if (n > 0)
		cr_chunk_release(arg, &c);
	return (int)n;
}

/* cr_receiver_close just after a chunk woke the task waiting in
 * cr_receiver_next, before that task ran: it gets -EBADF (or the chunk, if
 * it ran first), and the queued chunk's buffer goes back to the pool. */
static void test_close_woken_waiter(void)
{
	int base = count_fds();
	cr_bufpool *p;
	CHECK_OK(cr_bufpool_create(&p, 4, SMALL_SIZE));
	int cli, srv, ebadf = 0, data = 0;
	uint8_t buf[100];
	fill_pattern(buf, 32, 0, sizeof(buf));
	tcp_pair(&cli, &srv);
	for (int i = 0; i < 20; i++) {
		cr_receiver *r;
		CHECK_OK(cr_receiver_open(&r, srv, p, 0));
		cr_task *t = spawn_waiting(next_release_task, r);
		CHECK_EQ_INT(send(cli, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
		/* The nop completes before the receive's completion is posted,
		 * so this task runs again before the woken reader does. */
		CHECK_OK(cr_nop());
		CHECK_OK(cr_receiver_close(r));
		int res = 0;
		CHECK_OK(cr_join(t, &res));
		CHECK_MSG(res == -EBADF || res > 0, "reader got %d", res);
		ebadf += res == -EBADF;
		data += res > 0;
		CHECK_EQ_INT(cr_bufpool_free_count(p), 4);
	}
	printf("close with a woken reader: %d readers got -EBADF, %d the chunk\n", ebadf, data);
	CHECK_OK(cr_bufpool_destroy(p));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(srv));
	CHECK_EQ_INT(count_fds(), base);
}

static int main_task(void *arg)
{
	(void)arg;
	int base = count_fds();
	test_eof_and_reset();
	test_close();
	test_starved_resumes();
	test_pause_resume();
	test_pause_holds_nothing();
	test_cancel();
	test_many();
	test_back_pressure();
	test_close_with_waiter();
	test_queue_growth();
	test_close_woken_waiter();
	CHECK_EQ_INT(count_fds(), base);
	return 0;
}

/* ---- pools and receivers belong to one worker
 * ---------------------------------------------------- */

struct xw {
	cr_bufpool *pool;
	cr_bufpool *spare; /* a pool without receivers */
	cr_receiver *r;
	int fd;
};

static int other_worker_task(void *arg)
{
	struct xw *x = arg;
	cr_chunk c;
	cr_receiver *r2;
	CHECK_EQ_INT(cr_receiver_next(x->r, &c), -EXDEV);
	CHECK_EQ_INT(cr_receiver_close(x->r), -EXDEV);
	CHECK_EQ_INT(cr_receiver_open(&r2, x->fd, x->pool, 0), -EXDEV);
	/* destroying would unregister the buffer ring on a ring this thread
	 * does not own (and unmap buffers that ring still points at) */
	CHECK_EQ_INT(cr_bufpool_destroy(x->spare), -EXDEV);
	return 0;
}

static int main_xdev(void *arg)
{
	(void)arg;
	struct xw x;
	int cli;
	CHECK_OK(cr_bufpool_create(&x.pool, 4, SMALL_SIZE));
	CHECK_OK(cr_bufpool_create(&x.spare, 4, SMALL_SIZE));
	tcp_pair(&cli, &x.fd);
	CHECK_OK(cr_receiver_open(&x.r, x.fd, x.pool, 0));
	cr_task *t;
	cr_spawn_opts o = {.placement = CR_ON_WORKER, .worker = 1};
	CHECK_OK(cr_spawn(&t, other_worker_task, &x, &o));
	int r;
	CHECK_OK(cr_join(t, &r));
	CHECK_EQ_INT(r, 0);
	CHECK_OK(cr_receiver_close(x.r));
	CHECK_OK(cr_bufpool_destroy(x.pool));
	CHECK_OK(cr_bufpool_destroy(x.spare));
	CHECK_OK(cr_close(cli));
	CHECK_OK(cr_close(x.fd));
	return 0;
}

int main(void)
{
	check_watchdog(90);
	/* outside a worker */
	cr_bufpool *p;
	CHECK_EQ_INT(cr_bufpool_create(&p, 4, 100), -EPERM);

	run_main(2, main_xdev);
	run_main(1, main_task);
	printf("ok\n");
	return 0;
}
