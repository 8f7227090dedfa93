/* SPDX-License-Identifier: MIT */
/* File I/O through the ring: open, read, write at an offset, fsync, close. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

#include "fiber.h"
#include "io.h"
#include "worker.h"

/* Largest single transfer; longer requests are shortened (like read(2)). */
#define MAX_IO ((size_t)INT_MAX & ~(size_t)4095)

static void sqe_init(struct io_uring_sqe *s, uint8_t op, int fd)
{
	memset(s, 0, sizeof(*s));
	s->opcode = op;
	s->fd = fd;
}

int cr_file_open(const char *path, int flags, mode_t mode)
{
	if (!path)
		return -EFAULT;
	struct io_uring_sqe s;
	sqe_init(&s, IORING_OP_OPENAT, AT_FDCWD);
	s.addr = (uint64_t)(uintptr_t)path;
	s.len = mode;
	s.open_flags = (uint32_t)flags;
	return cr__io_wait(&s);
}

static ssize_t rw(uint8_t op, int fd, const void *buf, size_t len, int64_t off)
{
	if (!buf && len)
		return -EFAULT;
	struct io_uring_sqe s;
	sqe_init(&s, op, fd);
	s.addr = (uint64_t)(uintptr_t)buf;
	s.len = (uint32_t)(len > MAX_IO ? MAX_IO : len);
	s.off = off < 0 ? (uint64_t)-1 : (uint64_t)off;
	return cr__io_wait(&s);
}

ssize_t cr_file_read(int fd, void *buf, size_t len, int64_t off)
{
	ssize_t n = rw(IORING_OP_READ, fd, buf, len, off);
	if (n > 0)
		cr__mark_defined(buf, (size_t)n);
	return n;
}

ssize_t cr_file_write(int fd, const void *buf, size_t len, int64_t off)
{
	return rw(IORING_OP_WRITE, fd, buf, len, off);
}

ssize_t cr_file_write_all(int fd, const void *buf, size_t len, int64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = cr_file_write(fd, (const char *)buf + done, len - done,
					  off < 0 ? -1 : off + (int64_t)done);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int cr_file_fsync(int fd, int datasync)
{
	struct io_uring_sqe s;
	sqe_init(&s, IORING_OP_FSYNC, fd);
	s.fsync_flags = datasync ? IORING_FSYNC_DATASYNC : 0;
	return cr__io_wait(&s);
}

int cr_file_close(int fd)
{
	struct io_uring_sqe s;
	sqe_init(&s, IORING_OP_CLOSE, fd);
	return cr__io_wait(&s);
}
