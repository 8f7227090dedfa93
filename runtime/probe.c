/* SPDX-License-Identifier: MIT */
/* cr_probe: what this kernel offers coring (io_uring setup, flags, opcodes, stack guards). */
#include <coring/runtime.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "setup_error.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define PROBE_ENTRIES 8
#define MAX_ITEMS (sizeof(((cr_probe_report *)0)->items) / sizeof(cr_probe_item))

/* A setup flag set, a feature bit of io_uring_params.features, or an opcode. */
struct spec {
	unsigned bits;
	const char *name;
	const char *fallback;
};

static const struct spec setup_flags[] = {
	{IORING_SETUP_SINGLE_ISSUER, "IORING_SETUP_SINGLE_ISSUER",
	 "ring set up without it (the kernel keeps its submitter locking); DEFER_TASKRUN is then "
	 "off too"},
	{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "IORING_SETUP_DEFER_TASKRUN",
	 "plain ring: completion task work runs on syscall exit, or cooperatively with "
	 "COOP_TASKRUN"},
	{IORING_SETUP_COOP_TASKRUN, "IORING_SETUP_COOP_TASKRUN",
	 "task work interrupts the worker (IPI) whenever a completion is ready: a little more "
	 "overhead"},
	{IORING_SETUP_SUBMIT_ALL, "IORING_SETUP_SUBMIT_ALL",
	 "submission stops at the first SQE that fails to prepare; the loop submits the rest "
	 "again"},
	{IORING_SETUP_CQSIZE, "IORING_SETUP_CQSIZE",
	 "the CQ is twice the SQ; extra completions wait in the kernel's overflow list (NODROP) "
	 "until reaped"},
};

static const struct spec features[] = {
	{IORING_FEAT_NODROP, "IORING_FEAT_NODROP",
	 "none: completions could be lost on CQ overflow (kernels before 5.5 are not supported)"},
	{IORING_FEAT_EXT_ARG, "IORING_FEAT_EXT_ARG",
	 "waits with a timeout queue an IORING_OP_TIMEOUT SQE instead of passing it to "
	 "io_uring_enter"},
	{IORING_FEAT_FAST_POLL, "IORING_FEAT_FAST_POLL",
	 "the kernel punts socket operations that would block to io-wq threads: slower, more "
	 "threads"},
	{IORING_FEAT_SUBMIT_STABLE, "IORING_FEAT_SUBMIT_STABLE",
	 "none needed: SQE data lives on the waiting task's stack until the completion arrives"},
};

#define OP(x, fb)                                                                                  \
	{                                                                                          \
		IORING_OP_##x, "IORING_OP_" #x, fb                                                 \
	}
#define VIA_POLL                                                                                   \
	"none: required by net/ (5.5+ for ACCEPT/CONNECT, 5.6+ for SEND/RECV); without it the "    \
	"call returns -EINVAL"
static const struct spec opcodes[] = {
	OP(NOP, "required (present since 5.1): cr_nop and loop health checks use it"),
	OP(READ, "none: required by cr_file_read (5.6+); without it the call returns -EINVAL"),
	OP(WRITE, "none: required by cr_file_write (5.6+); without it the call returns -EINVAL"),
	OP(FSYNC, "none: required by cr_file_fsync; without it the call returns -EINVAL"),
	OP(OPENAT, "none: required by cr_file_open (5.6+); without it the call returns -EINVAL"),
	OP(CLOSE, "none: required by cr_file_close (5.6+); without it the call returns -EINVAL"),
	OP(ASYNC_CANCEL, "required: without it an in-flight I/O cannot be cancelled in the kernel"),
	OP(TIMEOUT, "not needed: timed waits pass the timeout to io_uring_enter (EXT_ARG); "
		    "liburing queues a TIMEOUT SQE only without EXT_ARG"),
	OP(ACCEPT, VIA_POLL),
	OP(CONNECT, VIA_POLL),
	OP(RECV, VIA_POLL),
	OP(SEND, VIA_POLL),
	OP(SENDMSG, VIA_POLL),
	OP(RECVMSG, VIA_POLL),
	OP(SHUTDOWN, "not needed: cr_shutdown calls shutdown(2) directly (it does not block)"),
	OP(SOCKET, "not needed: sockets are made with socket(2) directly (it does not block)"),
	OP(MSG_RING,
	   "cross-worker doorbells; without it an eventfd read on the ring is the doorbell"),
	OP(PROVIDE_BUFFERS, "not used: provided buffers are given through a registered buffer ring "
			    "(IORING_REGISTER_PBUF_RING)"),
	OP(SEND_ZC, "not used yet: sends copy the data with IORING_OP_SEND"),
};
#undef OP
#undef VIA_POLL

/* Appends an item if there is room.  Returns nothing. */
static void add(cr_probe_report *out, const char *name, const char *kind, int available,
		const char *fallback)
{
	if (out->n_items >= MAX_ITEMS)
		return;
	cr_probe_item *it = &out->items[out->n_items++];
	it->name = name;
	it->kind = kind;
	it->available = available;
	it->fallback = fallback;
}

/* Reads one integer from a /proc file.  Returns 0 and sets *value, or -errno. */
static int read_long(const char *path, long long *value)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (n <= 0)
		return err ? err : -EINVAL;
	buf[n] = '\0';
	char *end;
	*value = strtoll(buf, &end, 10);
	return end == buf ? -EINVAL : 0;
}

/* Returns the running kernel's major*1000+minor (e.g. 6018), or 0 if unknown. */
static int kernel_version(void)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

/* Fills out->kernel with "release machine" (or "unknown"). */
static void fill_kernel(cr_probe_report *out)
{
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(out->kernel, sizeof(out->kernel), "%.60s %.60s", u.release, u.machine);
	else
		snprintf(out->kernel, sizeof(out->kernel), "unknown");
}

/* Creates a small ring with the given flags.  Returns 0 or -errno. */
static int make_ring(struct io_uring *ring, unsigned flags, struct io_uring_params *p)
{
	memset(p, 0, sizeof(*p));
	p->flags = flags;
	if (flags & IORING_SETUP_CQSIZE)
		p->cq_entries = 4 * PROBE_ENTRIES;
	return io_uring_queue_init_params(PROBE_ENTRIES, ring, p);
}

/* Tries a ring with flags.  Returns 1 if accepted, 0 if rejected (EINVAL), -1 if unclear. */
static int try_flags(unsigned flags)
{
	struct io_uring ring;
	struct io_uring_params p;
	int ret = make_ring(&ring, flags, &p);
	if (ret == 0) {
		io_uring_queue_exit(&ring);
		return 1;
	}
	return ret == -EINVAL ? 0 : -1;
}

/* Adds one item per setup flag; ok = 0 marks them unknown. */
static void probe_setup_flags(cr_probe_report *out, int ok)
{
	for (size_t i = 0; i < sizeof(setup_flags) / sizeof(setup_flags[0]); i++) {
		const struct spec *f = &setup_flags[i];
		add(out, f->name, "setup-flag", ok ? try_flags(f->bits) : -1, f->fallback);
	}
}

/* Adds one item per feature bit of the base ring (NULL: unknown). */
static void probe_features(cr_probe_report *out, const struct io_uring_params *p)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		int avail = p ? (p->features & features[i].bits) != 0 : -1;
		add(out, features[i].name, "feature", avail, features[i].fallback);
	}
}

/* Returns 1 if the ring fd can be registered, 0 if not (EINVAL), -1 if unclear. */
static int has_ring_fd(struct io_uring *ring)
{
	if (!ring)
		return -1;
	int ret = io_uring_register_ring_fd(ring);
	if (ret == 1)
		io_uring_unregister_ring_fd(ring);
	return ret == 1 ? 1 : (ret == -EINVAL ? 0 : -1);
}

/* Adds one item per opcode, from the kernel's opcode probe (ring NULL: unknown). */
static void probe_opcodes(cr_probe_report *out, struct io_uring *ring)
{
	struct io_uring_probe *pr = ring ? io_uring_get_probe_ring(ring) : NULL;
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		int avail = pr ? io_uring_opcode_supported(pr, (int)opcodes[i].bits) : -1;
		add(out, opcodes[i].name, "opcode", avail, opcodes[i].fallback);
	}
	if (pr)
		io_uring_free_probe(pr);
}

/* Returns the page size (4096 if sysconf fails). */
static size_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);
	return page > 0 ? (size_t)page : 4096;
}

/* Returns 1 if a provided-buffer ring registers on ring, 0 if not, -1 if unclear. */
static int has_buf_ring(struct io_uring *ring)
{
	if (!ring)
		return -1;
	size_t len = page_size();
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)mem, .ring_entries = 8};
	int ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret == 0)
		io_uring_unregister_buf_ring(ring, 0);
	munmap(mem, len);
	return ret == 0 ? 1 : (ret == -EINVAL ? 0 : -1);
}

/* Opens a listening TCP socket on 127.0.0.1 (any port).  Returns the fd or -1. */
static int loopback_listener(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Submits a multishot accept and cancels it.  Returns the accept's result
 * (-EINVAL: unsupported, -ECANCELED: supported) or 1 if it did not complete. */
static int accept_trial(struct io_uring *ring, int lfd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(ring); /* the ring has 8 free SQEs: both fit */
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	if (io_uring_submit(ring) < 0)
		return 1;
	int res = 1, done = 0;
	for (int i = 0; i < 8 && done < 2; i++) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) != 0)
			break;
		if (cqe->user_data == 1 && cqe->res >= 0) {
			close(cqe->res); /* a stray connection was accepted: supported */
			res = -ECANCELED;
		} else if (cqe->user_data == 1) {
			res = cqe->res;
		}
		done += !(cqe->flags & IORING_CQE_F_MORE);
		io_uring_cqe_seen(ring, cqe);
	}
	return res;
}

/* Returns 1 if multishot accept works (trial on loopback, kernel version if the
 * trial is inconclusive), 0 if not, -1 without a usable ring. */
static int has_multishot_accept(int ok)
{
	if (!ok)
		return -1;
	int verdict = kernel_version() >= 5019;
	struct io_uring ring;
	struct io_uring_params p;
	if (make_ring(&ring, 0, &p) != 0)
		return verdict;
	int lfd = loopback_listener();
	if (lfd >= 0) {
		int res = accept_trial(&ring, lfd);
		if (res == -EINVAL)
			verdict = 0;
		else if (res == -ECANCELED)
			verdict = 1;
	}
	io_uring_queue_exit(&ring); /* cancels anything still pending before lfd goes */
	if (lfd >= 0)
		close(lfd);
	return verdict;
}

/* Returns 1 if madvise(MADV_GUARD_INSTALL) works, 0 if unknown to the kernel, -1 if unclear. */
static int has_guard_install(void)
{
	size_t len = 2 * page_size();
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	int ret = madvise(mem, page_size(), MADV_GUARD_INSTALL);
	int err = errno;
	munmap(mem, len);
	return ret == 0 ? 1 : (err == EINVAL ? 0 : -1);
}

/* Adds the vm.max_map_count item, judged against the stack guard mode. */
static void probe_map_count(cr_probe_report *out, int guard)
{
	long long v;
	const char *name = "vm.max_map_count";
	if (read_long("/proc/sys/vm/max_map_count", &v) != 0)
		add(out, name, "kernel", -1,
		    "could not be read; stacks are limited by it only when "
		    "MADV_GUARD_INSTALL is missing (mprotect guards)");
	else if (guard == 1)
		add(out, name, "kernel", 1,
		    "value is fine: MADV_GUARD_INSTALL guards add no mappings, "
		    "so it does not limit the number of stacks");
	else if (v >= 262144)
		add(out, name, "kernel", 1,
		    "value is fine: room for mprotect guard pages on 100,000+ "
		    "stacks (two mappings per stack)");
	else
		add(out, name, "kernel", 1,
		    "value limits stacks: mprotect guards cost two mappings per "
		    "stack, so beyond about half of it stacks get a canary only; "
		    "raise it to 262144 or more");
}

/* Adds the io_uring items, probed with ring and its params (both NULL: unknown). */
static void probe_ring_items(cr_probe_report *out, struct io_uring *ring,
			     const struct io_uring_params *p)
{
	probe_setup_flags(out, ring != NULL);
	probe_features(out, p);
	add(out, "IORING_REGISTER_RING_FDS", "feature", has_ring_fd(ring),
	    "io_uring_enter uses the plain ring fd (the kernel looks it up on every call)");
	probe_opcodes(out, ring);
	add(out, "IORING_ACCEPT_MULTISHOT", "feature", has_multishot_accept(ring != NULL),
	    "cr_acceptor: one multishot accept per listener; without it cr_acceptor fails and "
	    "cr_accept (one-shot) remains");
	add(out, "IORING_REGISTER_PBUF_RING", "feature", has_buf_ring(ring),
	    "cr_bufpool (5.19+); without it cr_bufpool_create fails and cr_recv with the caller's "
	    "buffer remains");
	add(out, "IORING_RECV_MULTISHOT", "feature", ring ? kernel_version() >= 6000 : -1,
	    "judged by kernel version >= 6.0, not by a trial; cr_receiver; with 6.16+ capped at "
	    "its remaining buffers, else one-shot receives");
}

/* Fills the memlock limit and the io_uring_disabled sysctl.  Returns nothing. */
static void fill_limits(cr_probe_report *out)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		out->memlock_limit = UINT64_MAX;
	else
		out->memlock_limit = (uint64_t)rl.rlim_cur;
	long long v;
	int ret = read_long("/proc/sys/kernel/io_uring_disabled", &v);
	out->io_uring_disabled = ret == 0 ? (int)v : -1;
}

int cr_probe(cr_probe_report *out)
{
	if (!out)
		return -EINVAL;
	int saved_errno = errno;
	memset(out, 0, sizeof(*out));
	fill_kernel(out);
	fill_limits(out);

	struct io_uring ring;
	struct io_uring_params p;
	int ret = make_ring(&ring, 0, &p);
	out->io_uring_usable = ret == 0;
	if (ret == 0) {
		probe_ring_items(out, &ring, &p);
		io_uring_queue_exit(&ring);
	} else {
		out->setup_errno = -ret;
		cr__explain_setup_error(ret, out->reason, sizeof(out->reason));
		probe_ring_items(out, NULL, NULL);
	}

	int guard = has_guard_install();
	add(out, "MADV_GUARD_INSTALL", "kernel", guard,
	    "mprotect guard page per stack while vm.max_map_count allows, then a canary check on "
	    "every switch");
	probe_map_count(out, guard);
	errno = saved_errno;
	return 0;
}
