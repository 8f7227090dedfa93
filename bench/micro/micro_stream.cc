// SPDX-License-Identifier: MIT
// cr_stream rows: 16 small writes per message buffered vs 16 cr_send calls; a file region sent
// with cr_stream_sendfile (splice on the ring) vs sendfile(2) on the offload pool.
#include "micro.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace
{

constexpr size_t PIECES = 16;		      // writes per message
constexpr size_t PIECE = 8;		      // bytes per write
constexpr size_t MSG = PIECES * PIECE;	      // bytes per message
constexpr size_t FILE_CHUNK = 1u << 20;	      // bytes per sendfile iteration
constexpr size_t FILE_LEN = 16u * FILE_CHUNK; // the file's size

// A TCP loopback pair with TCP_NODELAY on both ends.  Returns 0 or a negative errno value.
int tcp_pair(int *cli, int *srv)
{
	cr_addr a;
	int r = cr_addr_parse("127.0.0.1:0", 0, &a);
	int lfd = r < 0 ? r : cr_listen(&a, nullptr);
	if (lfd < 0)
		return lfd;
	r = cr_socket_addr(lfd, 0, &a);
	*cli = r < 0 ? r : cr_connect(&a);
	*srv = *cli < 0 ? *cli : cr_accept(lfd, nullptr);
	cr_close(lfd);
	if (*srv < 0) {
		if (*cli >= 0)
			cr_close(*cli);
		return *srv;
	}
	cr_set_nodelay(*cli, 1);
	cr_set_nodelay(*srv, 1);
	return 0;
}

// The peer, a plain thread with blocking calls (so that worker 0's counters are the client's
// alone): echoes each message of `msg` bytes back, or (msg 0) reads and drops everything,
// until end of stream.
void peer_thread(int fd, size_t msg)
{
	std::vector<char> buf(msg ? msg : 256 * 1024);
	for (;;) {
		size_t got = 0;
		do {
			ssize_t n = read(fd, buf.data() + got, buf.size() - got);
			if (n <= 0)
				return;
			got += static_cast<size_t>(n);
		} while (msg && got < msg);
		if (msg && write(fd, buf.data(), msg) != static_cast<ssize_t>(msg))
			return;
	}
}

// Receives exactly len bytes with cr_recv.  Returns 0 or a negative errno value.
int recv_exact(int fd, char *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = cr_recv(fd, buf + got, len - got);
		if (n <= 0)
			return n ? static_cast<int>(n) : -ENODATA;
		got += static_cast<size_t>(n);
	}
	return 0;
}

// One iteration is one message: 16 writes of 8 bytes, then the 128-byte echo read back;
// through cr_stream when buffered, else 16 cr_send and cr_recv.  Counter sqes_per_msg:
// worker 0's SQEs per message (the sends and the reply's receive).
int write16(benchmark::State &state, bool buffered)
{
	int cli, srv;
	int r = tcp_pair(&cli, &srv);
	if (r < 0)
		return r;
	std::thread peer(peer_thread, srv, MSG);
	cr_stream *s = nullptr;
	r = buffered ? cr_stream_open(&s, cli, nullptr) : 0;
	char piece[PIECE] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', '\n'}, reply[MSG];
	cr_stats before, after;
	cr_stats_get(&before);
	for (auto _ : state) {
		for (size_t i = 0; i < PIECES && r >= 0; i++)
			r = buffered ? cr_stream_write(s, piece, PIECE)
				     : static_cast<int>(cr_send(cli, piece, PIECE));
		if (r >= 0)
			r = buffered ? static_cast<int>(
					       cr_stream_readexactly(s, reply, MSG, nullptr))
				     : recv_exact(cli, reply, MSG);
		if (r < 0)
			break;
	}
	cr_stats_get(&after);
	micro::per_iteration(state, "sqes_per_msg", before.sqes_submitted, after.sqes_submitted);
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
	int c = buffered ? cr_stream_close(s) : cr_close(cli);
	peer.join();
	cr_close(srv);
	return r < 0 ? r : c;
}

int write16_buffered(benchmark::State &state)
{
	return write16(state, true);
}

int write16_send(benchmark::State &state)
{
	return write16(state, false);
}

// What the pool thread of the sendfile(2) row needs.
struct FileJob {
	int sock, file;
	off_t off;
	size_t len;
};

// Sends the whole region with sendfile(2), blocking.  Returns 0 or -errno.
intptr_t sendfile_blocking(void *arg)
{
	FileJob *j = static_cast<FileJob *>(arg);
	off_t off = j->off;
	for (size_t left = j->len; left;) {
		ssize_t n = sendfile(j->sock, j->file, &off, left);
		if (n <= 0)
			return n ? -errno : -EIO;
		left -= static_cast<size_t>(n);
	}
	return 0;
}

// One iteration sends 1 MiB of a 16 MiB temporary file to a reading thread: with
// cr_stream_sendfile (splice through a pipe on the ring) or sendfile(2) on the offload pool.
int file_rows(benchmark::State &state, bool splice)
{
	char path[] = "/tmp/coring-bench-XXXXXX";
	int f = mkstemp(path);
	if (f < 0)
		return -errno;
	unlink(path);
	std::vector<char> data(FILE_LEN, 'x');
	int r = static_cast<int>(cr_file_write_all(f, data.data(), FILE_LEN, 0));
	int cli = -1, srv = -1;
	if (r >= 0)
		r = tcp_pair(&cli, &srv);
	if (r < 0) {
		close(f);
		return r;
	}
	std::thread peer(peer_thread, srv, 0);
	cr_stream *s = nullptr;
	r = cr_stream_open(&s, cli, nullptr);
	size_t i = 0;
	for (auto _ : state) {
		off_t off = static_cast<off_t>((i++ % 16) * FILE_CHUNK);
		if (splice) {
			r = static_cast<int>(cr_stream_sendfile(s, f, off, FILE_CHUNK, nullptr));
		} else {
			FileJob j = {cli, f, off, FILE_CHUNK};
			intptr_t res = 0;
			r = cr_to_thread(sendfile_blocking, &j, &res);
			if (r == 0)
				r = static_cast<int>(res);
		}
		if (r < 0)
			break;
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * FILE_CHUNK));
	int c = s ? cr_stream_close(s) : cr_close(cli);
	peer.join();
	cr_close(srv);
	close(f);
	return r < 0 ? r : c;
}

int sendfile_splice(benchmark::State &state)
{
	return file_rows(state, true);
}

int sendfile_pool(benchmark::State &state)
{
	return file_rows(state, false);
}

} // namespace

void micro_register_stream()
{
	micro::add_coring("stream/write16_buffered", 1, write16_buffered);
	micro::add_coring("stream/write16_send", 1, write16_send);
	micro::add_coring("stream/sendfile_splice_1m", 1, sendfile_splice);
	micro::add_coring("stream/sendfile_pool_1m", 1, sendfile_pool);
}
