# SPDX-License-Identifier: MIT
# Drives an echo server that runs under a low fd limit: a burst of connections beyond
# the limit, then checks that (1) the connections made before the burst keep echoing,
# (2) the server does not spin while accept fails (CPU time over a stuck second), and
# (3) once the burst's clients close, new connections are accepted and served.
# Usage: emfile.py HOST PORT SERVER_PID BURST [MAX_CPU_FRACTION]
# Prints what it saw; exit status 0 = every check held, 1 = a check failed.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echoutil import (Failure, connect, echo_check, proc_cpu_seconds,  # noqa: E402
                      proc_fd_count)

host, port, pid, burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
max_cpu = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
T = float(os.environ.get('ECHOTEST_OP_TIMEOUT', '20'))
EXISTING = 5


def fd_limit(pid):
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith('Max open files'):
                return int(line.split()[3])
    raise Failure('no fd limit in /proc/%d/limits' % pid)


def wait_until(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise Failure('timed out waiting until ' + what)
        time.sleep(0.02)


def check_existing(conns, round_no):
    for i, s in enumerate(conns):
        echo_check(s, b'existing %d round %d ' % (i, round_no) * 50, T)


def main():
    limit = fd_limit(pid)
    existing = [connect(host, port, T) for _ in range(EXISTING)]
    check_existing(existing, 0)
    print('server fd limit %d; %d fds open with %d connections' % (
        limit, proc_fd_count(pid), EXISTING))

    held = [connect(host, port, T) for _ in range(burst)]  # the backlog takes them all
    # Accept fails once every descriptor below the limit is taken.
    wait_until(lambda: proc_fd_count(pid) >= limit - 1, T,
               'the server uses its %d fds (it has %d)' % (limit, proc_fd_count(pid)))
    print('burst of %d connections: server at %d of %d fds' % (
        burst, proc_fd_count(pid), limit))
    check_existing(existing, 1)

    # The stuck second: accept keeps failing with EMFILE; the server must not spin.
    c0, t0 = proc_cpu_seconds(pid), time.monotonic()
    time.sleep(1.0)
    c1, t1 = proc_cpu_seconds(pid), time.monotonic()
    frac = (c1 - c0) / (t1 - t0)
    print('server CPU while stuck at the fd limit: %.1f%% of one CPU (bound %.0f%%)'
          % (100 * frac, 100 * max_cpu))
    if frac > max_cpu:
        raise Failure('the server spins at the fd limit: %.0f%% of a CPU' % (100 * frac))
    check_existing(existing, 2)

    for s in held:
        s.close()
    # The burst's clients are gone: connections queued behind them get their turn,
    # and a new one is served (its echo may wait for the accept back-off).
    for k in range(3):
        with connect(host, port, T) as s:
            echo_check(s, b'after the burst %d ' % k * 100, T)
    check_existing(existing, 3)
    wait_until(lambda: proc_fd_count(pid) <= limit // 2, T,
               'the server closes the burst connections (it has %d fds)' % proc_fd_count(pid))
    print('after the burst: new connections served, %d fds open' % proc_fd_count(pid))
    for s in existing:
        s.close()


try:
    main()
except (Failure, OSError) as e:
    print('FAIL: %s' % e)
    sys.exit(1)
