# SPDX-License-Identifier: MIT
# A client that checks one echo, writes READY_FILE, then holds its connection open
# (never half-closing) and reports how the server ended it.  With "push", it first
# sends without reading until the server stops taking bytes (the server is then
# blocked sending to it, holding received chunks), and keeps it so.
# Usage: holder.py HOST PORT READY_FILE [push]
# Prints "ended: eof" or "ended: reset"; exit status 0 = the echo was right and the
# server ended the connection, 1 = not (within the op timeout times 3).
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import Failure, connect, echo_check, is_reset  # noqa: E402

host, port, ready_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
push = sys.argv[4:] == ['push']
T = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '20'))


def ready():
    with open(ready_file + '.tmp', 'w') as f:
        f.write('ready\n')
    os.rename(ready_file + '.tmp', ready_file)


def push_until_ended(s):
    """Sends until the server takes no more for 0.5 s, says ready, then keeps
    poking the connection (never reading) until it fails.  Returns how it ended."""
    s.setblocking(False)
    deadline, quiet_since, ended = time.monotonic() + 3 * T, time.monotonic(), None
    while ended is None:
        if time.monotonic() > deadline:
            raise Failure('the server did not end the connection')
        try:
            s.send(b'p' * (65536 if quiet_since else 1))
            if quiet_since:
                quiet_since = time.monotonic()
        except BlockingIOError:
            pass
        except OSError as e:
            if not is_reset(e):
                raise
            ended = 'reset'
        if quiet_since and time.monotonic() - quiet_since > 0.5:
            quiet_since = None
            ready()
        time.sleep(0.01 if quiet_since else 0.05)
    if quiet_since:
        raise Failure('ended before the server stopped taking bytes')
    return ended


try:
    s = connect(host, port, T)
    echo_check(s, b'held connection ' * 64, T)
    if push:
        print('ended: ' + push_until_ended(s))
        sys.exit(0)
    ready()
    s.setblocking(True)
    s.settimeout(3 * T)
    try:
        extra = s.recv(4096)
        print('ended: eof' if not extra else 'FAIL: unexpected bytes %r' % extra[:40])
        sys.exit(0 if not extra else 1)
    except OSError as e:
        if is_reset(e):
            print('ended: reset')
            sys.exit(0)
        raise
except (Failure, OSError) as e:
    print('FAIL: %s' % e)
    sys.exit(1)
