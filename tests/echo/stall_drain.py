# SPDX-License-Identifier: MIT
# Clients that stall and then recover: in groups of GROUP at a time, each pushes without
# reading until the server stops taking bytes (it then holds a copy for the client),
# then reads its whole echo back and stays connected, idle.  Every echo must be complete
# and every connection must still be open at the end (none reset).
# Usage: stall_drain.py HOST PORT N GROUP [READY_FILE]
# With READY_FILE, writes it once all N are idle and waits until it is removed.
# Exit status 0 = all N stalled, recovered and stayed open; 1 = not.
import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import Failure, is_reset  # noqa: E402

host, port, n, group = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ready_file = sys.argv[5] if len(sys.argv) > 5 else None
T = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '20'))
BLOCK = b'p' * 65536


def stall(socks):
    """Pushes on every socket without reading until none moved for 0.3 s.
    Returns the bytes each one sent."""
    sent = [0] * len(socks)
    quiet_since, deadline = time.monotonic(), time.monotonic() + 3 * T
    while time.monotonic() - quiet_since < 0.3:
        if time.monotonic() > deadline:
            raise Failure('the server kept taking bytes from clients that never read')
        moved = False
        for i, s in enumerate(socks):
            try:
                sent[i] += s.send(BLOCK)
                moved = True
            except BlockingIOError:
                pass
        if moved:
            quiet_since = time.monotonic()
        else:
            time.sleep(0.01)
    return sent


def drain(socks, sent):
    """Reads every socket's echo back (sent[i] bytes of b'p').  Raises Failure."""
    sel = selectors.DefaultSelector()
    got = [0] * len(socks)
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    deadline = time.monotonic() + 3 * T
    try:
        while any(got[i] < sent[i] for i in range(len(socks))):
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure('echo not back in time: %d of %d bytes' % (sum(got), sum(sent)))
            for key, _ in sel.select(left):
                i = key.data
                try:
                    b = socks[i].recv(1 << 20)
                except BlockingIOError:
                    continue
                except OSError as e:
                    raise Failure('a recovering client was %s after %d of %d bytes' % (
                        'reset' if is_reset(e) else 'failed (%s)' % e, got[i], sent[i]))
                if not b:
                    raise Failure('end of stream after %d of %d bytes' % (got[i], sent[i]))
                if b.count(b'p') != len(b):
                    raise Failure('echo with other content')
                got[i] += len(b)
                if got[i] >= sent[i]:
                    sel.unregister(socks[i])
    finally:
        sel.close()
    if got != sent:
        raise Failure('more echo than sent')


def main():
    idle, pushed = [], 0
    for first in range(0, n, group):
        socks = []
        for _ in range(min(group, n - first)):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills sooner
            s.settimeout(T)
            s.connect((host, port))
            s.setblocking(False)
            socks.append(s)
        sent = stall(socks)
        pushed += sum(sent)
        drain(socks, sent)
        idle += socks
    if ready_file:
        with open(ready_file + '.tmp', 'w') as f:
            f.write('ready\n')
        os.rename(ready_file + '.tmp', ready_file)
        deadline = time.monotonic() + 600
        while os.path.exists(ready_file) and time.monotonic() < deadline:
            time.sleep(0.05)
    for s in idle:  # still open: nothing to read, no end, no reset
        try:
            if s.recv(1) is not None:
                raise Failure('an idle connection that recovered was ended or sent to')
        except BlockingIOError:
            pass
        except OSError as e:
            raise Failure('an idle connection that recovered was %s' % (
                'reset' if is_reset(e) else 'failed: %s' % e))
    print('%d clients stalled (%d bytes pushed), read their echo back and stay idle'
          % (n, pushed))
    for s in idle:
        s.close()


try:
    main()
except (Failure, OSError) as e:
    print('FAIL: %s' % e)
    sys.exit(1)
