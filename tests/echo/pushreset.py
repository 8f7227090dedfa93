# SPDX-License-Identifier: MIT
# N clients push without ever reading until the server takes no more (or ends them),
# then wait WAIT seconds and report how each connection stands: "reset" (the server
# reset it), "eof" (it closed cleanly: an abnormal close must never look like this)
# or "open".  Prints "reset R eof E open O".
# Usage: pushreset.py HOST PORT N WAIT
# Exit status 0 = every client connected and was classified, 1 = not.
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import Failure, is_reset  # noqa: E402

host, port, n, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
T = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '20'))
BLOCK = b'x' * 65536


def state(s):
    """Reads what the socket has: 'reset', 'eof' or 'open'."""
    while True:
        try:
            if not s.recv(1 << 20):
                return 'eof'
        except BlockingIOError:
            return 'open'
        except OSError as e:
            if is_reset(e):
                return 'reset'
            raise


def main():
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills sooner
        s.settimeout(T)
        s.connect((host, port))
        s.setblocking(False)
        socks.append(s)
    ended = [None] * n
    quiet_since, deadline = time.monotonic(), time.monotonic() + 3 * T
    while time.monotonic() - quiet_since < 0.5:
        if time.monotonic() > deadline:
            raise Failure('the server kept taking bytes from clients that never read')
        moved = False
        for i, s in enumerate(socks):
            if ended[i]:
                continue
            try:
                s.send(BLOCK)
                moved = True
            except BlockingIOError:
                pass
            except OSError as e:
                if not is_reset(e):
                    raise
                ended[i] = 'reset'
        if moved:
            quiet_since = time.monotonic()
        else:
            time.sleep(0.01)
    time.sleep(wait)
    states = [ended[i] or state(s) for i, s in enumerate(socks)]
    print('reset %d eof %d open %d' % tuple(states.count(k) for k in ('reset', 'eof', 'open')))
    for s in socks:
        s.close()


try:
    main()
except (Failure, OSError) as e:
    print('FAIL: %s' % e)
    sys.exit(1)
