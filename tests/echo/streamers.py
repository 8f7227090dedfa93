# SPDX-License-Identifier: MIT
# Clients that stream to an echo server and check every byte that comes back, in order.
# Each streams continuously until GO_FILE exists (the test stops the server meanwhile),
# then sends a last part, half-closes, and reads the rest to the end of stream.
# READY_FILE is written once every client has sent and had echoed at least 64 KiB.
# Usage: streamers.py HOST PORT CLIENTS READY_FILE GO_FILE
# Prints the bytes each client sent and got back and their total; exit status 0 = every
# client got back exactly what it sent, 1 = not.
import os
import random
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import connect  # noqa: E402

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ready_file, go_file = sys.argv[4], sys.argv[5]
TIMEOUT = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '20')) * 3
PERIOD = 65521  # each client's bytes: its own random block, repeated
CHUNK = 16384
TAIL = 100000


class Client:
    def __init__(self, k):
        self.k = k
        self.block = random.Random(k).randbytes(PERIOD) * 2
        self.sock = connect(host, port)
        self.sock.setblocking(False)
        self.sent = self.got = 0
        self.limit = None  # bytes to send in all, fixed at GO
        self.shut = self.eof = False
        self.error = None

    def payload(self, pos, size):
        off = pos % PERIOD
        size = min(size, PERIOD)
        return self.block[off:off + size]

    def on_write(self):
        size = CHUNK if self.limit is None else min(CHUNK, self.limit - self.sent)
        if size > 0:
            try:
                self.sent += self.sock.send(self.payload(self.sent, size))
            except BlockingIOError:
                pass
        if self.limit is not None and self.sent >= self.limit and not self.shut:
            self.sock.shutdown(socket.SHUT_WR)
            self.shut = True

    def on_read(self):
        try:
            b = self.sock.recv(262144)
        except BlockingIOError:
            return
        if not b:
            self.eof = True
            return
        for i in range(0, len(b), PERIOD):
            part = b[i:i + PERIOD]
            if part != self.payload(self.got, len(part)):
                self.error = self.error or 'corrupted echo at byte %d' % self.got
            self.got += len(part)
        if self.got > self.sent:
            self.error = self.error or 'got %d bytes back, sent %d' % (self.got, self.sent)


def main():
    clients = [Client(k) for k in range(n)]
    sel = selectors.DefaultSelector()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    deadline = time.monotonic() + TIMEOUT
    ready = go = False
    next_check = 0
    while not all(c.eof or c.error for c in clients):
        now = time.monotonic()
        if now > deadline:
            print('timed out: ' + ', '.join('client %d sent %d got %d%s' % (
                c.k, c.sent, c.got, ' (shut)' if c.shut else '') for c in clients))
            return 1
        for key, ev in sel.select(0.05):
            c = key.data
            if ev & selectors.EVENT_READ:
                c.on_read()
            if ev & selectors.EVENT_WRITE and not c.shut:
                c.on_write()
                if c.shut:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
        if not ready and all(c.got >= 65536 for c in clients):
            with open(ready_file + '.tmp', 'w') as f:
                f.write('ready\n')
            os.rename(ready_file + '.tmp', ready_file)
            ready = True
        if ready and not go and now >= next_check:
            next_check = now + 0.05
            if os.path.exists(go_file):
                go = True
                for c in clients:
                    c.limit = c.sent + TAIL + c.k
                    sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        for c in clients:
            if c.eof and not c.error and (not go or c.got != c.sent or c.sent != c.limit):
                c.error = ('end of stream after %d of %d bytes sent%s' % (
                    c.got, c.sent, '' if go else ' (before the client half-closed)'))
    bad = [c for c in clients if c.error]
    for c in clients:
        print('client %d: sent %d, got back %d%s' % (c.k, c.sent, c.got,
                                                      ': ' + c.error if c.error else ''))
        c.sock.close()
    print('total %d' % sum(c.sent for c in clients))
    return 1 if bad else 0


sys.exit(main())
