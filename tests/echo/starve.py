# SPDX-License-Identifier: MIT
# Clients that send but never read, more of them than the server's receive buffers can
# serve while they hold --max-held chunks each; then a new client must still get its
# echo (the non-readers must not take every buffer from everyone else).
# Usage: starve.py HOST PORT NON_READERS
# Exit status 0 = the new client was served, 1 = it was not.
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import Failure, connect, echo_check  # noqa: E402

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
T = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '20'))


def main():
    held = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills sooner
        s.settimeout(T)
        s.connect((host, port))
        s.setblocking(False)
        held.append(s)
    total, quiet_since, deadline = 0, time.monotonic(), time.monotonic() + 3 * T
    while time.monotonic() - quiet_since < 0.5:
        if time.monotonic() > deadline:
            raise Failure('the server kept taking bytes from clients that never read')
        moved = False
        for s in held:
            try:
                total += s.send(b'x' * 65536)
                moved = True
            except BlockingIOError:
                pass
        if moved:
            quiet_since = time.monotonic()
        else:
            time.sleep(0.02)
    print('%d clients that never read pushed %d bytes and are blocked' % (n, total))
    with connect(host, port, T) as c:
        echo_check(c, b'am I starved? ' * 100, T)
    print('a new client is still served')
    for s in held:
        s.close()


try:
    main()
except (Failure, OSError) as e:
    print('FAIL: %s' % e)
    sys.exit(1)
