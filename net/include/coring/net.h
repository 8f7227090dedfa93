/* SPDX-License-Identifier: MIT */
/* coring net: addresses, TCP / UDP / Unix sockets on the ring, provided-buffer receive, multishot
 * accept. */
#ifndef CORING_NET_H
#define CORING_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions as in the rest of coring: 0, a count or an fd on success, a
 * negative errno value on failure, errno untouched.  Every call that waits
 * (accept, connect, recv, send, ...) runs on the calling worker's io_uring,
 * may only be made from a task, and returns -ECANCELED if the task is
 * cancelled and -ETIMEDOUT if a deadline scope around it expires; the
 * operation is then cancelled in the kernel and its completion awaited, so
 * no buffer is used after the call returns.  Sockets are created
 * non-blocking-agnostic (the ring does not need O_NONBLOCK), close-on-exec.
 * The closing calls (cr_close, cr_receiver_close, cr_acceptor_close) are
 * the exception: they wait shielded, deaf to cancellation and deadlines,
 * because they must finish (the kernel done with the fd and the buffers,
 * the memory freed) and a failure would leave the caller nothing to retry;
 * as asyncio's close() they are not cancellation points.  A cancellation
 * that lands while they wait stays pending for the task's next wait, and a
 * deadline that passed is seen there too.
 */

/* ---- addresses --------------------------------------------------------------------- */

/* An IPv4, IPv6 or Unix socket address. */
typedef struct cr_addr {
	union {
		struct sockaddr sa;	    /* generic view (sa_family) */
		struct sockaddr_in in;	    /* AF_INET */
		struct sockaddr_in6 in6;    /* AF_INET6 */
		struct sockaddr_un un;	    /* AF_UNIX */
		struct sockaddr_storage ss; /* room for any of them */
	} u;				    /* the address */
	socklen_t len;			    /* bytes of u in use */
} cr_addr;

/* Longest text cr_addr_format writes, including the terminating NUL. */
#define CR_ADDR_STRLEN 128

/*
 * Parses a numeric address: "127.0.0.1:7", "[::1]:7", "::1" or "127.0.0.1"
 * (then the port is default_port), "unix:/path", "/path" or "./path" (a Unix
 * socket path), "@name" (a Linux abstract Unix socket).  Host names are not
 * looked up here (see cr_addr_resolve).  Returns 0, or -EINVAL for malformed
 * text (bad port, bad IP, path too long, empty), never crashing on any input.
 */
int cr_addr_parse(const char *text, uint16_t default_port, cr_addr *out);

/*
 * Like cr_addr_parse, but also accepts "host:port" and "host" with a host
 * name, looked up with getaddrinfo on the offload pool (so it waits: call
 * it from a task).  Writes up to max addresses to out (IPv6 and IPv4 in the
 * resolver's order).  Once getaddrinfo runs it cannot be stopped: a
 * cancellation or deadline that lands meanwhile waits for it (the pool
 * thread writes into out), then ends the call with -ECANCELED / -ETIMEDOUT,
 * as asyncio's getaddrinfo raises (out's contents are then unspecified).
 * Returns the number written (>= 1), -EINVAL (malformed), -ENOENT (no such
 * host), -EAGAIN (temporary resolver failure), -ECANCELED, -ETIMEDOUT.
 */
int cr_addr_resolve(const char *text, uint16_t default_port, cr_addr *out, size_t max);

/* Writes a as text ("127.0.0.1:7", "[::1]:7", "unix:/path", "@name") into
 * buf.  Returns the length written (without the NUL), -ENOSPC if buf is too
 * small (buf then holds a truncated NUL-terminated string), -EAFNOSUPPORT. */
int cr_addr_format(const cr_addr *a, char *buf, size_t len);

/* Returns the port of an IP address, or -1 for a Unix address. */
int cr_addr_port(const cr_addr *a);

/* Sets the port of an IP address.  Returns 0 or -EAFNOSUPPORT. */
int cr_addr_set_port(cr_addr *a, uint16_t port);

/* Fills *out with the local (peer = 0) or remote (peer = 1) address of a
 * socket.  Returns 0 or -errno. */
int cr_socket_addr(int fd, int peer, cr_addr *out);

/* ---- stream sockets: TCP and Unix ------------------------------------------------- */

/* Options of cr_listen / cr_udp_bind; NULL means defaults. */
typedef struct cr_listen_opts {
	int backlog;   /* listen backlog; 0 = SOMAXCONN */
	int reuseport; /* 1 = SO_REUSEPORT (one listener per worker on one port) */
	int v6only;    /* 1 = IPV6_V6ONLY on an IPv6 socket */
} cr_listen_opts;

/* Creates a listening stream socket (TCP with SO_REUSEADDR, or Unix) on a.
 * A Unix path that exists as a stale socket is not removed: unlink it
 * first.  Returns the fd or -errno (-EADDRINUSE, -EACCES, ...). */
int cr_listen(const cr_addr *a, const cr_listen_opts *opts);

/* Accepts one connection.  peer (may be NULL) gets its address.  An fd the
 * kernel produced for an accept that was cancelled is closed, not leaked.
 * Returns the new fd (close-on-exec), or -errno (-EMFILE, -ENFILE, ...). */
int cr_accept(int listen_fd, cr_addr *peer);

/* Connects a new stream socket to a (TCP or Unix); bound by the caller's
 * deadline scope.  Returns the connected fd, or -errno (-ECONNREFUSED,
 * -ETIMEDOUT, -ENETUNREACH, ...; the socket is closed then). */
int cr_connect(const cr_addr *a);

/* Receives up to len bytes.  Returns the count, 0 at end of stream, or -errno. */
ssize_t cr_recv(int fd, void *buf, size_t len);

/* Sends up to len bytes (one send; may be short).  No SIGPIPE: a closed
 * peer gives -EPIPE.  Returns the count sent or -errno. */
ssize_t cr_send(int fd, const void *buf, size_t len);

/* Sends what the socket takes at once, without waiting for room (one send
 * with MSG_DONTWAIT through the ring).  Returns the count sent, -EAGAIN if
 * the socket's buffer is full, or -errno. */
ssize_t cr_send_nowait(int fd, const void *buf, size_t len);

/* Sends all len bytes, continuing after short sends.  Returns len, or
 * -errno (what was already sent stays sent; *sent, if not NULL, tells how
 * much in every case). */
ssize_t cr_send_all(int fd, const void *buf, size_t len, size_t *sent);

/* Shuts down one direction (SHUT_WR: half-close, the peer reads EOF) or
 * both.  Returns 0 or -errno. */
int cr_shutdown(int fd, int how);

/* Cancels every operation of this worker's ring still in flight on fd,
 * waits for them (shielded: see the top of this header; outside a task it
 * only closes), then closes fd.  Returns 0 or -errno of close, never
 * -ECANCELED / -ETIMEDOUT: the fd is closed in every case. */
int cr_close(int fd);

/* Abortive close, for every close that is not a clean end (an internal
 * error, a limit or timeout cutting the connection): sets SO_LINGER with a
 * zero time, then closes as cr_close does (operations of this worker's ring
 * in flight on fd are cancelled and awaited, shielded).  Unsent data is
 * dropped and a TCP peer gets a reset: its reads fail with ECONNRESET, so it
 * cannot mistake a cut-short exchange for a finished one.  On a Unix stream
 * socket Linux resets the peer only if data it sent was left unread;
 * otherwise the peer reads end of stream.  Returns 0, or -errno of
 * setsockopt (-ENOTSOCK, ...) or of close; the fd is closed in every case
 * except -EBADF for a negative fd. */
int cr_close_reset(int fd);

/* Sets TCP_NODELAY.  Returns 0 or -errno. */
int cr_set_nodelay(int fd, int on);

/* Sets SO_KEEPALIVE, and if idle_s > 0 the probe timing (TCP_KEEPIDLE,
 * TCP_KEEPINTVL = interval_s, TCP_KEEPCNT = count).  Returns 0 or -errno. */
int cr_set_keepalive(int fd, int on, int idle_s, int interval_s, int count);

/* ---- datagram sockets: UDP ----------------------------------------------------------- */

/* Creates a UDP socket bound to a (SO_REUSEADDR; reuseport per opts).
 * Returns the fd or -errno. */
int cr_udp_bind(const cr_addr *a, const cr_listen_opts *opts);

/* Creates an unbound UDP socket for a's family.  Returns the fd or -errno. */
int cr_udp_socket(const cr_addr *a);

/* Receives one datagram, truncated to len.  from (may be NULL) gets the
 * sender.  Returns the bytes stored in buf or -errno. */
ssize_t cr_recvfrom(int fd, void *buf, size_t len, cr_addr *from);

/* Sends one datagram to `to`.  Returns the count or -errno. */
ssize_t cr_sendto(int fd, const void *buf, size_t len, const cr_addr *to);

/* ---- high-throughput receive: provided buffers and multishot recv ----------------- */

/*
 * A buffer pool is a provided-buffer ring of `count` buffers of `size`
 * bytes, registered with the calling worker's io_uring.  A receiver arms a
 * multishot receive on one stream socket: the kernel picks a free buffer of
 * the pool for every piece of data that arrives, so idle connections hold no
 * buffer at all.  The application takes pieces (chunks) in order with
 * cr_receiver_next and gives each buffer back with cr_chunk_release.
 *
 * What can go wrong and what the receiver does about it:
 *   - the pool runs dry (-ENOBUFS ends the multishot): every receiver that
 *     ran dry re-arms as soon as a buffer comes back to the pool, so no
 *     connection stalls while buffers are free;
 *   - the kernel ends the multishot for another reason: it is re-armed;
 *   - the application holds `max_held` chunks (it cannot send them on: a
 *     slow peer): the receiver stops receiving (back-pressure, nothing is
 *     buffered without bound) and resumes once it holds half as many;
 *   - the application must wait for a long time (a peer that does not
 *     read) with a pool others share: it pauses the receiver, takes and
 *     releases every queued chunk (copying the data elsewhere), and then
 *     holds no buffer at all until it resumes (cr_receiver_pause);
 *   - close with the receive in flight: it is cancelled and its completion
 *     awaited, and every buffer still queued goes back to the pool.
 * Pools and receivers belong to the worker that created them; use them
 * from tasks on that worker only (-EXDEV otherwise).
 */
typedef struct cr_bufpool cr_bufpool;

/* A multishot receive on one stream socket. */
typedef struct cr_receiver cr_receiver;

/* A piece of received data in a pool buffer. */
typedef struct cr_chunk {
	void *data;   /* the bytes (inside a pool buffer) */
	size_t len;   /* how many */
	unsigned bid; /* private: buffer id, for cr_chunk_release */
} cr_chunk;

/* Creates a pool of count buffers (a power of two, 1..32768) of size bytes
 * on the calling worker.  Returns 0, -EINVAL, -ENOMEM, -EPERM outside a
 * worker, -ENOSYS / -EINVAL from a kernel without provided-buffer rings. */
int cr_bufpool_create(cr_bufpool **out, unsigned count, size_t size);

/* Unregisters and frees a pool; every receiver using it must be closed.
 * Returns 0, -EBUSY (receivers still open; nothing done), -EXDEV (called
 * on another worker than the pool's; nothing done). */
int cr_bufpool_destroy(cr_bufpool *p);

/* Returns the number of the pool's buffers currently free for the kernel. */
unsigned cr_bufpool_free_count(const cr_bufpool *p);

/* Starts receiving on fd into pool buffers; at most max_held chunks are
 * held by the application or queued (0 = 8): the receive is capped at that
 * many buffers' worth of bytes (kernels from 6.16; older kernels get one
 * buffer per receive instead of multishot).  Returns 0, -ENOMEM, -EXDEV,
 * -EPERM outside a task. */
int cr_receiver_open(cr_receiver **out, int fd, cr_bufpool *pool, unsigned max_held);

/* Waits for the next chunk.  Returns its length (> 0), 0 at end of stream
 * (after every chunk before it), -errno of the socket (ECONNRESET, ...),
 * -ECANCELED, -ETIMEDOUT (the receiver stays usable), -EXDEV, -EBADF if
 * another task closes the receiver meanwhile. */
ssize_t cr_receiver_next(cr_receiver *r, cr_chunk *c);

/* As cr_receiver_next without waiting.  Returns as it, or -EAGAIN if no
 * chunk (nor end of stream or error) is queued. */
ssize_t cr_receiver_try_next(cr_receiver *r, cr_chunk *c);

/* Stops receiving until cr_receiver_resume: an application that cannot
 * pass data on, e.g. to a peer that does not read, can copy what it holds
 * elsewhere and give the pool its buffers back.  The receive in flight is
 * cancelled and, from a task on the receiver's worker, its last completion
 * awaited (shielded, like the closing calls: a cancellation stays pending),
 * so when this returns every chunk the kernel delivered is queued
 * (cr_receiver_try_next hands them out) and no buffer is taken from the
 * pool until the resume, not even by a receive that cr_chunk_release
 * re-armed just before.  Returns nothing. */
void cr_receiver_pause(cr_receiver *r);

/* Receives again after cr_receiver_pause.  Returns nothing. */
void cr_receiver_resume(cr_receiver *r);

/* Gives a chunk's buffer back to the pool (re-arming receivers that ran
 * dry).  Returns nothing. */
void cr_chunk_release(cr_receiver *r, cr_chunk *c);

/* Cancels the receive in flight, waits for it, returns every queued buffer
 * and frees r (chunks the application holds must be released first).  A
 * task waiting in cr_receiver_next gets -EBADF and leaves first.  Both waits
 * are shielded (see the top of this header): r is always freed.  The fd
 * stays open.  Returns 0 or -EXDEV. */
int cr_receiver_close(cr_receiver *r);

/* ---- multishot accept ------------------------------------------------------------------ */

/* A multishot accept on one listening socket, for one worker. */
typedef struct cr_acceptor cr_acceptor;

/* Starts accepting on listen_fd; accepted fds queue until taken with
 * cr_acceptor_next.  Once queue_max (0 = 64) are queued the accept pauses;
 * it resumes at half, and may then take what the listen backlog holds in
 * one go (the backlog bounds that).  After
 * EMFILE/ENFILE it re-arms with a backoff (1 ms doubling to 1 s, reset by
 * a success): no busy loop, and existing connections are untouched.
 * Returns 0, -ENOMEM, -EPERM outside a task. */
int cr_acceptor_open(cr_acceptor **out, int listen_fd, unsigned queue_max);

/* Waits for the next accepted connection.  Returns its fd (close-on-exec),
 * -ECANCELED, -ETIMEDOUT, -EXDEV, -EBADF if another task closes the
 * acceptor meanwhile, or a lasting error of the listening
 * socket (-EBADF, -EINVAL, ...: accepting has stopped).  Transient accept
 * errors (EMFILE, ENFILE, ENOMEM, ENOBUFS: retried with backoff;
 * ECONNABORTED, EPROTO, EPERM: retried at once) are not returned; EMFILE and
 * ENFILE are counted (cr_acceptor_errors). */
int cr_acceptor_next(cr_acceptor *a);

/* Returns how many accepts failed with EMFILE or ENFILE so far. */
uint64_t cr_acceptor_errors(const cr_acceptor *a);

/* Cancels the accept in flight and waits for it, closes every accepted fd
 * not yet taken, frees a.  A task waiting in cr_acceptor_next gets -EBADF
 * and leaves first.  Both waits are shielded (see the top of this header):
 * a is always freed.  The listening fd stays open.  Returns 0 or -EXDEV. */
int cr_acceptor_close(cr_acceptor *a);

/* ---- buffered streams: cr_stream --------------------------------------------------------- */

/*
 * A cr_stream is one connected stream socket (TCP or Unix) with a buffered
 * reader and a buffered writer, as asyncio's StreamReader / StreamWriter.
 * It belongs to the worker that opened it and to one task at a time: two
 * tasks may not read at once, nor drain at once (-EBUSY).  Every call that
 * waits returns -ECANCELED if the task is cancelled and -ETIMEDOUT if a
 * deadline scope around it expires; no byte is lost then (a read keeps what
 * arrived in the buffer; readexactly reports what it already copied).
 *
 * Reader.  Bytes are received into the stream's buffer, which grows up to
 * `limit` bytes and never beyond (bounded by default: a peer cannot make a
 * stream hold more).  End of stream and a connection error are lasting:
 * buffered bytes are delivered first, then every read reports 0 / -ENODATA
 * (end of stream, see each call) or the error (-ECONNRESET, ...).
 *   -ENODATA   end of stream came first (asyncio's IncompleteReadError)
 *   -EMSGSIZE  a line or readuntil result longer than the limit (asyncio's
 *              LimitOverrunError): nothing consumed, no buffered byte lost
 * Zero-copy parsing: cr_stream_peek shows the buffered bytes, cr_stream_fill
 * waits for more, cr_stream_consume drops what the parser used.
 *
 * Writer.  cr_stream_write copies into the stream's buffer and returns at
 * once; what the task writes before it next waits (or yields) goes to the
 * kernel in one send, queued at the end of that loop iteration, and writes
 * made while a send is in flight go out together in the next one.  The
 * buffer grows as written: cr_stream_drain is the back-pressure (asyncio's
 * high and low water marks).  A failed send is lasting: every later write,
 * drain, flush reports its error (-EPIPE, -ECONNRESET, ...).
 */

/* Defaults of cr_stream_opts (asyncio's StreamReader limit and write buffer limits). */
#define CR_STREAM_LIMIT_DEFAULT (64u * 1024u)	   /* read limit */
#define CR_STREAM_HIGH_WATER_DEFAULT (64u * 1024u) /* drain waits above this */
#define CR_STREAM_READ_SIZE_DEFAULT (16u * 1024u)  /* first read buffer and receive size */
/* Largest read limit accepted. */
#define CR_STREAM_LIMIT_MAX (1u << 30)

/* Options of cr_stream_open; NULL or zeroed fields mean defaults. */
typedef struct cr_stream_opts {
	size_t limit;	   /* most bytes buffered for reading, longest line; 0 = 64 KiB */
	size_t high_water; /* drain waits when more is buffered for writing; 0 = 64 KiB */
	size_t low_water;  /* ... until no more than this is; 0 = high_water / 4 */
	size_t read_size;  /* first read buffer (grows to limit); 0 = min(16 KiB, limit) */
	cr_bufpool *pool;  /* NULL: one recv per read; else a pool of the calling worker that
			    * the reader receives into (a cr_receiver, see below) */
	unsigned max_held; /* with a pool: the receiver's max_held (0 = 8) */
} cr_stream_opts;

/* A connection's buffered reader and writer.
 *
 * The reader receives in one of two ways, with the same semantics for every
 * call below.  Without cr_stream_opts.pool, each receive is one recv (a read
 * of at least read_size bytes goes straight into the caller's buffer).  With
 * a pool, a multishot receiver fills the pool's buffers as data arrives (no
 * SQE per message) and every read copies the chunks into the stream's own
 * buffer and gives them back to the pool at once, so no pool buffer stays
 * with the stream.  When the stream stops reading -- limit bytes buffered,
 * or a drain, flush, write_eof or close that waits for the peer -- the
 * receiver is paused (the receive in flight awaited) and the chunks it
 * queued are copied into the stream's buffer, which may then exceed the
 * limit by at most max_held chunks; the stream then holds no pool buffer
 * until its next read, so a client that never reads cannot starve the
 * pool's other connections.  The pool must outlive the stream. */
typedef struct cr_stream cr_stream;

struct iovec; /* <sys/uio.h> */

/* Wraps the connected stream socket fd, which the stream owns from now on
 * (cr_stream_close closes it).  Allocates the stream, not its buffers.
 * Returns 0, -EINVAL (out NULL, limit > CR_STREAM_LIMIT_MAX, low_water >
 * high_water), -EBADF (fd not open), -ENOTSOCK, -EPROTOTYPE (not a stream
 * socket), -ENOMEM, -EXDEV (the pool is another worker's), -EPERM outside a
 * task.  On failure fd stays open. */
int cr_stream_open(cr_stream **out, int fd, const cr_stream_opts *opts);

/* Returns the stream's socket, or -EINVAL for NULL. */
int cr_stream_fd(const cr_stream *s);

/* Reads up to len bytes: what is buffered, else waits for one receive.
 * Returns the count (> 0), 0 at end of stream or for len 0, -errno of the
 * connection (-ECONNRESET, ...), -EINVAL (NULL), -EBUSY (another task
 * reads), -EXDEV (another worker), -ECANCELED, -ETIMEDOUT. */
ssize_t cr_stream_read(cr_stream *s, void *buf, size_t len);

/* Reads exactly n bytes into buf (any n: large reads go straight into buf).
 * *got (may be NULL) gets the bytes stored in buf and consumed, in every
 * case: on an error they are the partial data (asyncio's
 * IncompleteReadError.partial), and a cancelled or timed out call loses
 * nothing if the caller keeps them.  Returns n (0 for n = 0), -ENODATA (end
 * of stream first), -errno of the connection, -EINVAL, -EBUSY, -EXDEV,
 * -ECANCELED, -ETIMEDOUT. */
ssize_t cr_stream_readexactly(cr_stream *s, void *buf, size_t n, size_t *got);

/* Waits until the buffered bytes contain the delimiter (dlen bytes), then
 * consumes everything up to and including it.  *line gets a pointer into the
 * stream's buffer, valid until the stream's next reading call (read,
 * readexactly, readuntil, readline, fill) or its close.  Returns the
 * length including the delimiter, -EMSGSIZE (the delimiter ends beyond the
 * limit, or limit bytes are buffered without it: nothing consumed),
 * -ENODATA (end of stream before a delimiter: the bytes stay buffered for
 * cr_stream_peek / cr_stream_read), -errno of the connection, -EINVAL
 * (NULL, dlen 0 or dlen > limit), -EBUSY, -EXDEV, -ECANCELED, -ETIMEDOUT. */
ssize_t cr_stream_readuntil(cr_stream *s, const void *delim, size_t dlen, const void **line);

/* cr_stream_readuntil with the delimiter "\n".  Returns as it. */
ssize_t cr_stream_readline(cr_stream *s, const void **line);

/* Zero-copy look at the buffered bytes, without waiting or consuming.
 * *data gets a pointer valid until the next reading call or close.
 * Returns the number buffered (0: none), -EINVAL (NULL). */
ssize_t cr_stream_peek(cr_stream *s, const void **data);

/* Waits for one receive that adds to the buffered bytes.  Returns the number
 * buffered now (more than before), 0 at end of stream (what was buffered
 * stays), -EMSGSIZE (limit bytes already buffered: consume some first),
 * -errno of the connection, -EINVAL, -EBUSY, -EXDEV, -ECANCELED, -ETIMEDOUT. */
ssize_t cr_stream_fill(cr_stream *s);

/* Drops the first n buffered bytes (after a peek).  Returns 0, -EINVAL (NULL,
 * or n larger than what is buffered: nothing dropped). */
int cr_stream_consume(cr_stream *s, size_t n);

/* Returns 1 if the end of stream was received and nothing is buffered
 * (asyncio's at_eof), 0 otherwise (also for NULL). */
int cr_stream_at_eof(const cr_stream *s);

/* Copies len bytes into the write buffer and returns without waiting; they
 * are sent at the end of the loop iteration (see the top of this section).
 * Returns 0, the lasting error of an earlier send (-EPIPE, -ECONNRESET,
 * ...), -EPIPE after write_eof, -EINVAL (NULL), -EXDEV, -ENOMEM. */
int cr_stream_write(cr_stream *s, const void *data, size_t len);

/* As cr_stream_write for the n pieces of iov, in order.  Returns as it
 * (-EINVAL also for iov NULL with n > 0); on -ENOMEM nothing was added. */
int cr_stream_writev(cr_stream *s, const struct iovec *iov, int n);

/* Returns the bytes written and not yet sent (asyncio's
 * get_write_buffer_size), 0 for NULL. */
size_t cr_stream_write_buffered(const cr_stream *s);

/* Back-pressure (asyncio's drain): returns at once if no more than
 * high_water bytes are waiting to be sent, else waits until no more than
 * low_water are.  Returns 0, the lasting error of a send, -EINVAL, -EBUSY
 * (another task drains), -EXDEV, -ECANCELED, -ETIMEDOUT. */
int cr_stream_drain(cr_stream *s);

/* Waits until every written byte has been sent.  Returns as cr_stream_drain. */
int cr_stream_flush(cr_stream *s);

/* Sends what is buffered, then half-closes (shutdown SHUT_WR: the peer reads
 * end of stream); later writes return -EPIPE, reading goes on.  Returns 0
 * (also when already done), as cr_stream_flush, or -errno of shutdown. */
int cr_stream_write_eof(cr_stream *s);

/* Sends count bytes of the file file_fd from offset (after what is
 * buffered), spliced through a pipe on the ring: the bytes never enter user
 * space.  *sent (may be NULL) gets the bytes sent in every case.  Returns
 * count, fewer if the file ends first, -EINVAL (NULL, negative offset),
 * -EPIPE after write_eof, -errno of the file or the connection (lasting
 * for the connection's), -EBUSY, -EXDEV, -ECANCELED, -ETIMEDOUT. */
ssize_t cr_stream_sendfile(cr_stream *s, int file_fd, off_t offset, size_t count, size_t *sent);

/*
 * Sends what is buffered, waiting within the caller's cancellation and
 * deadline scope, then closes the socket and frees s.  If the bytes could
 * not all be sent (interrupted, or the connection failed) the rest is
 * dropped and the connection is reset (SO_LINGER 0), never ended cleanly.
 * The final waits (the send in flight, cr_close) are shielded.  Returns 0,
 * -EINVAL (NULL), -EBUSY (another task is inside a call on s: nothing done),
 * -EXDEV (another worker: nothing done), or why bytes were dropped (the
 * send's error, -ECANCELED, -ETIMEDOUT); s is freed in those cases.
 */
int cr_stream_close(cr_stream *s);

/* ---- readiness of any fd: cr_poll_fd and cr_poller ---------------------------------- */

/*
 * For libraries that drive their own non-blocking fds (OpenSSL, libpq,
 * libcurl, ...): make the call, and when it says "would block" wait here for
 * the fd to become ready, on the ring, then make the call again.  events are
 * <poll.h> bits: POLLIN, POLLOUT, POLLPRI, POLLRDHUP (<poll.h> defines it
 * under _GNU_SOURCE: the peer shut its writing side), at least one of them;
 * POLLERR and POLLHUP are always reported (and may be passed).  The result
 * is a revents mask of these bits, never 0.  Readiness is a hint, as with
 * poll(2): the call made afterwards may still say EAGAIN (retry it and wait
 * again), and fds that cannot wait (regular files, /dev/null) are always
 * ready.  A closed or never opened fd gives -EBADF.  Close an fd only after
 * every wait on it has returned (cr_close cancels this worker's waits on it
 * first).
 */
#include <poll.h>

/* Waits once (one-shot IORING_OP_POLL_ADD) until fd is ready for any of
 * events, or has an error or a hang-up.  An fd already ready returns at
 * once.  Cancellation and deadline scopes cancel the poll in the kernel and
 * await its completion (if the fd became ready first, its events are
 * returned and the cancellation is delivered at the next wait).  Returns the
 * revents mask (> 0), -EBADF (fd negative or not open), -EINVAL (events
 * has unknown bits or none of POLLIN/POLLOUT/POLLPRI/POLLRDHUP), -EPERM
 * outside a task, -ECANCELED (also when another task's cr_close of fd
 * cancels the poll, as for cr_recv), -ETIMEDOUT. */
int cr_poll_fd(int fd, unsigned events);

/*
 * A poller keeps one multishot poll (IORING_POLL_ADD_MULTI) armed on an fd,
 * for a library that waits on the same fd again and again: no SQE per wait.
 * The readiness the kernel reports is accumulated (ORed) until a waiter
 * takes it with cr_poller_wait.  It reports changes, like epoll's
 * edge-triggered mode (plus one report at once when the fd is already
 * ready at arming): after taking events the caller must repeat its
 * non-blocking call until it says EAGAIN before it waits again, or data
 * that arrived before the take may be left unnoticed.  Any readiness after
 * the take is reported again.  A poller belongs to the worker that opened
 * it (-EXDEV elsewhere); one task waits at a time (-EBUSY for a second
 * one).  The fd is not owned:
 * close the poller, then the fd.
 */
typedef struct cr_poller cr_poller;

/* Arms a multishot poll of fd for events (see cr_poll_fd).  Returns 0,
 * -EINVAL (out NULL, or bad events), -EBADF (fd negative or not open),
 * -ENOMEM, -EPERM outside a task. */
int cr_poller_open(cr_poller **out, int fd, unsigned events);

/* Waits until some readiness is pending and takes all of it.  Cancellation
 * and deadlines end the wait (the poll stays armed; nothing is lost).
 * Returns the revents mask (> 0), -ECANCELED, -ETIMEDOUT, -EINVAL (p NULL),
 * -EXDEV from another worker, -EPERM outside a task, -EBUSY if another task
 * waits on p already (nothing taken), -EBADF if another task
 * closes the poller meanwhile, or, once the pending events are taken, a
 * lasting error: -EBADF if cr_close closed the fd (it cancels the poll,
 * which is then not armed again), another -errno the kernel gave the poll,
 * -ENOMEM. */
int cr_poller_wait(cr_poller *p);

/* Cancels the poll, awaits its completion and frees p; a task waiting in
 * cr_poller_wait gets -EBADF and leaves first.  Shielded (see the top of
 * this header): p is always freed.  The fd stays open.  Returns 0 (also for
 * p NULL), -EXDEV (another worker; nothing done), -EPERM outside a task. */
int cr_poller_close(cr_poller *p);

/* ---- servers: cr_server ------------------------------------------------------------------ */

/*
 * A cr_server serves a handler on a set of addresses, on every worker, as
 * asyncio's start_server: each connection is accepted by one worker and runs
 * the handler there, as a task of its own, with the connection's cr_stream.
 * The toolkit closes the connection when the handler returns: cleanly (the
 * buffered bytes sent, then a close) if it returned >= 0 and nothing was left
 * unsent, with a reset otherwise, unless the handler took the connection
 * (cr_server_take).
 *
 * Listeners.  A TCP address gets one SO_REUSEPORT listener per worker (the
 * kernel spreads the connections over them; a worker whose accept cannot
 * start closes its own, so its share goes to the others).  A Unix path or
 * abstract name cannot be shared that way: it gets one listening socket on
 * which every worker runs a multishot accept of its own ring; the kernel hands
 * each connection to one of them.  A Unix path that exists as a socket no
 * server answers on (left by a server that died) is replaced; the path is
 * removed when the server stops.  Accepting is a multishot accept
 * (cr_acceptor): EMFILE / ENFILE re-arm it with a back-off (1 ms doubling to
 * 1 s), never a busy loop, never a lost listener, and are counted.
 *
 * Bounded by default (see cr_server_opts_init): connections over max_conns
 * are accepted and reset at once (counted as refused); a connection with no
 * byte in or out while its handler waits on the stream for idle_timeout is
 * cut; every stream's buffers are bounded by cr_stream_opts.
 *
 * Cutting a connection (idle timeout, end of the grace period): its stream
 * fails from then on (every later call returns -ETIMEDOUT for an idle cut,
 * -ECONNABORTED for a stop cut), the handler's task is cancelled (its current
 * or next wait returns -ECANCELED), and when the handler returns the
 * connection is reset.  A handler that neither returns nor waits on anything
 * cannot be cut: cr_server_serve waits for it.
 *
 * Graceful stop (cr_server_stop, or a cancellation of the task in
 * cr_server_serve, so that cr_config.cancel_on_signal makes SIGINT / SIGTERM
 * stop the server): the listeners are closed (new clients are refused), every
 * handler's task is cancelled once (its current or next wait returns
 * -ECANCELED: finish the message in hand, answer it, return), and the
 * connections have grace_ns to end; those still open then are cut.  A second
 * cancellation of the serving task during the grace period cuts them at once.
 */

/* Defaults of cr_server_opts, in one place (cr_server_opts_init fills them in). */
#define CR_SERVER_IDLE_TIMEOUT_DEFAULT (300ull * 1000000000ull) /* 300 s, in ns */
#define CR_SERVER_GRACE_DEFAULT (5ull * 1000000000ull)		/* 5 s, in ns */
/* fds kept free for other uses when max_conns is derived from RLIMIT_NOFILE. */
#define CR_SERVER_FD_RESERVE 64u
/* Default receive pool of each worker: 256 buffers of 4 KiB (1 MiB per worker).
 * Measured: 5% less server CPU per message than one recv per read at 50
 * connections (bench/RESULTS.md). */
#define CR_SERVER_POOL_BUFFERS_DEFAULT 256u
#define CR_SERVER_POOL_BUFFER_SIZE_DEFAULT 4096u
/* Most addresses one server serves. */
#define CR_SERVER_MAX_ADDRS 64u

/* Options of cr_server_create; fill with cr_server_opts_init, then adjust. */
typedef struct cr_server_opts {
	uint64_t max_conns;	  /* most connections open at once over all workers; more are
				   * accepted and reset (refused).  0 (the default) = the
				   * RLIMIT_NOFILE soft limit at cr_server_serve minus
				   * CR_SERVER_FD_RESERVE (at least 1) */
	uint64_t idle_timeout_ns; /* cut a connection with no byte in or out for this long while
				   * its handler waits on the stream; default 300 s; 0 = none */
	uint64_t grace_ns;	  /* after a stop, how long connections may take to end before
				   * they are cut; default 5 s; 0 = cut at once */
	int backlog;		  /* listen backlog; default 0 = SOMAXCONN */
	size_t stack_size;	  /* stack of each handler task; default 0 = the runtime's */
	int nodelay;		  /* 1 (default) = TCP_NODELAY on accepted TCP connections */
	cr_stream_opts stream;	  /* options of each connection's stream; default zeroed (the
				   * stream's defaults: 64 KiB read limit and high water);
				   * stream.pool must be NULL (see pool_buffers) */
	unsigned pool_buffers;	  /* buffers of each worker's receive pool (a power of two,
				   * up to 32768): every connection's stream reads through a
				   * multishot receiver on it (stream.max_held chunks each);
				   * memory: pool_buffers x pool_buffer_size per worker.
				   * 0 = no pool: one recv per read.  Default
				   * CR_SERVER_POOL_BUFFERS_DEFAULT.  A kernel without
				   * provided-buffer rings gets no pool. */
	size_t pool_buffer_size; /* bytes per pool buffer; 0 = CR_SERVER_POOL_BUFFER_SIZE_DEFAULT */
} cr_server_opts;

/* A server; created by cr_server_create, freed by cr_server_destroy. */
typedef struct cr_server cr_server;

/* What a handler learns about its connection. */
typedef struct cr_server_conn {
	cr_server *server; /* the server */
	cr_addr peer;	   /* the client's address (len 0 if the kernel no longer knows it) */
	unsigned listener; /* index of the address it came in on (see cr_server_addr) */
	unsigned worker;   /* worker running the handler */
	uint64_t id;	   /* connection number, from 1, unique within the server */
} cr_server_conn;

/* A connection handler: runs as a task on the worker that accepted the
 * connection.  Its return value decides the close: >= 0 a clean close
 * (after sending what is buffered), < 0 a reset. */
typedef int (*cr_server_handler)(cr_stream *s, const cr_server_conn *c, void *arg);

/* Counters of a server (one worker's or the total), a snapshot. */
typedef struct cr_server_stats {
	uint64_t accepted;	 /* connections accepted and handed to the handler */
	uint64_t active;	 /* of those, still open (handler or close running) */
	uint64_t refused;	 /* accepted and reset at once: max_conns reached */
	uint64_t completed;	 /* handler returned >= 0: closed (clean unless bytes were left) */
	uint64_t handler_errors; /* handler returned < 0 (not cut): reset */
	uint64_t idle_closed;	 /* cut by the idle timeout: reset */
	uint64_t cut;		 /* cut at the end of the grace period after a stop: reset */
	uint64_t taken;		 /* taken by their handler (cr_server_take) */
	uint64_t setup_errors;	 /* could not be started (no memory, no stack): reset */
	uint64_t accept_fd_errors; /* accepts that failed with EMFILE / ENFILE (retried) */
	uint64_t accept_errors;	   /* listeners that failed for good on a worker */
	uint64_t bytes_in;	   /* stream bytes received by connections that ended */
	uint64_t bytes_out;	   /* stream bytes sent by connections that ended */
} cr_server_stats;

/* Fills *o with the defaults documented in cr_server_opts.  Returns nothing. */
void cr_server_opts_init(cr_server_opts *o);

/* Creates a server that will run handler(stream, conn, arg) for every
 * connection; opts NULL means the defaults.  Allocates only (any thread).
 * Returns 0, -EINVAL (out or handler NULL, backlog < 0, nodelay not 0 or 1,
 * stack_size over CR_MAX_STACK_SIZE, bad stream options), -ENOMEM. */
int cr_server_create(cr_server **out, cr_server_handler handler, void *arg,
		     const cr_server_opts *opts);

/* Adds an address to serve, as cr_addr_parse reads it ("127.0.0.1:8080",
 * "[::1]:0", "unix:/path", "/path", "@name"); an IP address without a port,
 * or with port 0, gets an ephemeral port at cr_server_listen: the port of the
 * server's first IP address where that one is free (so that 127.0.0.1:0 and
 * [::1]:0 share one port), else a port of its own.  Returns the
 * address's index (0, 1, ...), -EINVAL (NULL, not an address), -ENOSPC (over
 * CR_SERVER_MAX_ADDRS), -EBUSY (already listening). */
int cr_server_add(cr_server *srv, const char *address);

/* As cr_server_add with an address already parsed.  Returns as it (-EINVAL
 * also for a family other than IPv4, IPv6, Unix). */
int cr_server_add_addr(cr_server *srv, const cr_addr *a);

/* Creates the listening sockets of every address (from a task; cr_server_serve
 * does it if not done), so that the bound ports are known before serving.
 * Returns 0, -EINVAL (NULL, no address), -EBUSY (already done), -EPERM
 * outside a task, -EADDRINUSE (a port in use, also by another SO_REUSEPORT
 * socket; a Unix path a server answers on), -EEXIST (a Unix path that is not
 * a socket), -EACCES, -ENOMEM, ...: every socket made is closed then. */
int cr_server_listen(cr_server *srv);

/* Fills *out with address i as bound (the real port after port 0).  Returns
 * 0, -EINVAL (NULL, no such index), -ENOTCONN (not listening yet). */
int cr_server_addr(const cr_server *srv, unsigned i, cr_addr *out);

/* Returns the bound port of the first TCP address, -EINVAL (NULL),
 * -ENOTCONN (not listening yet), -ENOENT (no TCP address). */
int cr_server_port(const cr_server *srv);

/*
 * Serves until the server is stopped (cr_server_stop, or a cancellation of
 * the calling task) and every connection has ended (see the graceful stop
 * above); listens first if cr_server_listen was not called.  Call from a
 * task, once.  The calling task only waits; each worker runs its accept
 * loops and the handlers of its connections.  Returns 0 after the stop
 * (whatever asked for it: the cancellation of the caller is consumed, as
 * the stop is its answer), an error of cr_server_listen, -EINVAL (NULL),
 * -EBUSY (served already or serving), -EPERM outside a task, -ENOMEM (a
 * worker's task could not be made: the server stops then, gracefully).
 */
int cr_server_serve(cr_server *srv);

/* Asks the server to stop gracefully: callable from any worker's task or
 * callback (a handler, a signal-watching task, a timer) or a pool thread,
 * not from a signal handler; any number of times (the first counts).  A stop
 * before cr_server_serve makes it return as soon as it has listened.  Returns
 * 0 or -EINVAL (NULL). */
int cr_server_stop(cr_server *srv);

/* As cr_server_stop with no grace period: the connections are cut as soon
 * as the stop takes effect (SIGQUIT's meaning in many servers).  Once the
 * grace period of an earlier stop runs, cancel the serving task to cut
 * them.  Same callers as cr_server_stop.  Returns 0 or -EINVAL (NULL). */
int cr_server_stop_now(cr_server *srv);

/* Returns 1 once a stop was asked for (a handler may check it between
 * messages), 0 if not or for NULL. */
int cr_server_stopping(const cr_server *srv);

/* Takes the connection out of the server's hands, from its handler: the
 * toolkit will not close the stream (the handler owns it and closes it with
 * cr_stream_close, from a task of the same worker), nor count it as active
 * (max_conns), cut it when idle, or at a stop; cr_server_serve still waits
 * for the handler to return.  Returns 0, -EINVAL (NULL), -EPERM (not called
 * from the connection's own handler task), -EALREADY (taken already),
 * -ETIMEDOUT / -ECONNABORTED (cut already: the toolkit resets it). */
int cr_server_take(const cr_server_conn *c);

/* Fills *out with the counters of worker `worker`, or of all workers added
 * up for worker -1.  Any thread, while serving and after, until
 * cr_server_destroy.  Returns 0, -EINVAL (NULL, no such worker; before
 * cr_server_listen only -1 is valid, all zeros). */
int cr_server_stats_get(const cr_server *srv, int worker, cr_server_stats *out);

/* Closes what is still open (listeners of a server never served), removes
 * the Unix paths it made and frees srv.  Returns 0, -EBUSY (serving: nothing
 * done), -EINVAL (NULL). */
int cr_server_destroy(cr_server *srv);

#ifdef __cplusplus
}
#endif

#endif
