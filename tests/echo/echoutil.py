# SPDX-License-Identifier: MIT
# Helpers shared by the echo tests' Python clients: connecting, exchanging, checking.
import errno
import os
import selectors
import socket
import time


class Failure(Exception):
    """A check that failed: the test fails with this message."""


def connect(host, port, timeout=10.0):
    """A connected TCP socket (blocking, TCP_NODELAY) to host:port."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def exchange(sock, data, timeout, half_close=True):
    """Sends data while reading what comes back; then half-closes (if asked) and
    reads to the end of stream (or, without half_close, until len(data) bytes came).
    Returns the bytes received.  Raises Failure on timeout."""
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    view, sent, got, eof = memoryview(data), 0, bytearray(), False
    deadline = time.monotonic() + timeout
    try:
        while not eof and (half_close or len(got) < len(data)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure('exchange of %d bytes timed out: %d sent, %d received'
                              % (len(data), sent, len(got)))
            for _, ev in sel.select(left):
                if ev & selectors.EVENT_WRITE and sent < len(data):
                    try:
                        sent += sock.send(view[sent:sent + 262144])
                    except BlockingIOError:
                        pass
                    if sent == len(data):
                        if half_close:
                            sock.shutdown(socket.SHUT_WR)
                        sel.modify(sock, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    try:
                        b = sock.recv(262144)
                    except BlockingIOError:
                        continue
                    if not b:
                        eof = True
                    got += b
            if not data and half_close and sent == 0:
                sock.shutdown(socket.SHUT_WR)
                sel.modify(sock, selectors.EVENT_READ)
                sent = -1  # shut down once
    finally:
        sel.close()
    return bytes(got)


def echo_check(sock, data, timeout):
    """Sends data and reads exactly len(data) bytes back; raises Failure unless they
    are data (an end of stream or a reset before that is a failure too)."""
    got = exchange(sock, data, timeout, half_close=False)
    if got != data:
        raise Failure('echo of %d bytes came back as %d bytes%s' % (
            len(data), len(got), '' if len(got) != len(data) else ' with other content'))


def first_difference(a, b):
    """Index of the first byte where a and b differ (or the shorter length)."""
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            return next(j for j in range(i, min(i + 4096, n)) if a[j] != b[j])
    return n


def proc_cpu_seconds(pid):
    """utime + stime of process pid, in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def proc_fd_count(pid):
    """How many file descriptors process pid has open."""
    return len(os.listdir('/proc/%d/fd' % pid))


def raise_fd_limit(need):
    """Raises RLIMIT_NOFILE's soft limit to at least need (up to the hard limit).
    Returns the new soft limit."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        soft = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def is_reset(e):
    """True if the OSError e means the peer reset or vanished."""
    return getattr(e, 'errno', None) in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)
