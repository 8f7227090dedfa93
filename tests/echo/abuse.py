# SPDX-License-Identifier: MIT
# Abusive echo clients, run next to a verified load: clients that half-close early and
# read the rest (their echo is checked byte for byte), clients that vanish with a reset
# (SO_LINGER 0) in the middle of a message, and clients that never read.
# Usage: abuse.py HOST PORT SECONDS
# Prints a JSON summary; exit status 0 = every check held, 1 = a check failed.
import json
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import Failure, connect, exchange, first_difference  # noqa: E402

HALF_CLOSERS, RESETTERS, NON_READERS = 3, 3, 4
MAX_SIZE = 256 * 1024
OP_TIMEOUT = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '60'))

host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
lock = threading.Lock()
stats = {'half_close_rounds': 0, 'half_close_bytes': 0, 'reset_rounds': 0,
         'non_readers': 0, 'non_reader_bytes_pushed': 0, 'non_readers_cut': 0}
failures = []


def count(key, n=1):
    with lock:
        stats[key] += n


def rst_close(s):
    """Closes s with a reset instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


def half_closer(k):
    """Sends a message, half-closes at once and reads everything back (two ways:
    reading while sending, or sending a small message before reading at all)."""
    rnd = random.Random(1000 + k)
    while time.monotonic() < end:
        size = rnd.choice((0, 1, rnd.randint(1, 4096), rnd.randint(1, MAX_SIZE)))
        data = rnd.randbytes(size)
        with connect(host, port) as s:
            if size <= 32768 and rnd.random() < 0.5:
                s.settimeout(OP_TIMEOUT)
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                buf = bytearray()
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    buf += b
                got = bytes(buf)
            else:
                got = exchange(s, data, OP_TIMEOUT, half_close=True)
        if got != data:
            raise Failure('half-closing client %d: sent %d bytes, got %d back, first '
                          'difference at byte %d' % (k, len(data), len(got),
                                                     first_difference(got, data)))
        count('half_close_rounds')
        count('half_close_bytes', size)


def resetter(k):
    """Sends part of a message (sometimes reading part of the echo) and resets."""
    rnd = random.Random(2000 + k)
    while time.monotonic() < end:
        data = rnd.randbytes(rnd.randint(1, MAX_SIZE))
        cut = rnd.randint(0, len(data))
        s = connect(host, port)
        try:
            if rnd.random() < 0.5:
                s.setblocking(False)
                try:
                    s.send(data[:cut])  # as much as fits, no waiting
                except BlockingIOError:
                    pass
            else:
                got = exchange(s, data[:cut], OP_TIMEOUT, half_close=False)
                if got != data[:cut]:
                    raise Failure('resetting client %d: echo of %d bytes differs (got %d)'
                                  % (k, cut, len(got)))
                s.setblocking(False)
                try:
                    s.send(data[cut:])
                except BlockingIOError:
                    pass
        finally:
            rst_close(s)
        count('reset_rounds')


def non_reader(k):
    """Sends until the server stops taking bytes (it must not buffer without bound),
    never reads, and holds the connection until the end, or until the server cuts it
    with a reset once its sends made no progress for the send timeout."""
    rnd = random.Random(3000 + k)
    s = connect(host, port)
    s.setblocking(False)
    count('non_readers')
    try:
        blocked_since = None
        while time.monotonic() < end:
            try:
                n = s.send(rnd.randbytes(65536))
                count('non_reader_bytes_pushed', n)
                blocked_since = None
            except BlockingIOError:
                now = time.monotonic()
                blocked_since = blocked_since or now
                time.sleep(0.02 if now - blocked_since < 0.5 else 0.1)
            except ConnectionResetError:
                if blocked_since is None:
                    raise  # cut while the server still took bytes: not the send timeout
                count('non_readers_cut')  # the server's send timeout: its documented policy
                return
    finally:
        s.close()  # unread data: the kernel resets the connection


def guarded(fn, k):
    try:
        fn(k)
    except (Failure, OSError) as e:
        with lock:
            failures.append('%s %d: %s' % (fn.__name__, k, e))


threads = [threading.Thread(target=guarded, args=(fn, k))
           for fn, n in ((half_closer, HALF_CLOSERS), (resetter, RESETTERS),
                         (non_reader, NON_READERS)) for k in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
stats['failures'] = failures
print(json.dumps(stats))
sys.exit(1 if failures else 0)
