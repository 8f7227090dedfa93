# SPDX-License-Identifier: MIT
# Holds N idle connections to an echo server; once GO_FILE exists, checks that none was
# ended or sent anything meanwhile and that each still echoes one byte.
# Usage: idle.py HOST PORT N READY_FILE GO_FILE
# READY_FILE is written once all N are connected.  Exit status 0 = all N echoed,
# 1 = not (what failed is printed).
import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import raise_fd_limit  # noqa: E402

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ready_file, go_file = sys.argv[4], sys.argv[5]
T = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '20'))


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def main():
    if raise_fd_limit(n + 64) < n + 64:
        fail('cannot have %d descriptors' % (n + 64))
    t0 = time.monotonic()
    conns = []
    for k in range(n):
        try:
            s = socket.create_connection((host, port), timeout=T)
        except OSError as e:
            fail('connection %d of %d: %s' % (k + 1, n, e))
        s.setblocking(False)
        conns.append(s)
    print('%d connections in %.1f s' % (n, time.monotonic() - t0))
    with open(ready_file + '.tmp', 'w') as f:
        f.write('ready\n')
    os.rename(ready_file + '.tmp', ready_file)

    deadline = time.monotonic() + 30 * T
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            fail('no go')
        time.sleep(0.05)

    sel = selectors.DefaultSelector()
    for k, s in enumerate(conns):
        sel.register(s, selectors.EVENT_READ, k)
    early = sel.select(0)
    if early:
        fail('%d idle connections became readable (ended or sent to) while idle'
             % len(early))
    t0 = time.monotonic()
    for k, s in enumerate(conns):
        s.send(bytes([k & 0xff]))  # one byte always fits in an empty send buffer
    pending, deadline = n, time.monotonic() + 3 * T
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            fail('%d of %d idle connections did not echo their byte' % (pending, n))
        for key, _ in sel.select(left):
            k = key.data
            try:
                b = conns[k].recv(16)
            except BlockingIOError:
                continue
            except OSError as e:
                fail('idle connection %d: %s' % (k, e))
            if b != bytes([k & 0xff]):
                fail('idle connection %d echoed %r, expected %r' % (k, b, bytes([k & 0xff])))
            sel.unregister(conns[k])
            pending -= 1
    print('all %d idle connections echoed their byte (%.1f s)' % (n, time.monotonic() - t0))
    for s in conns:
        s.close()


main()
