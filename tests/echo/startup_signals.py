# SPDX-License-Identifier: MIT
# Sends stop signals to coring-echo-server at random points of its start-up and checks
# that none kills it: each run must exit 0 with totals and remove its Unix socket file.
# "Start-up" begins once the program runs its own code (its signal mask shows SIGTERM
# blocked in /proc; before that, during execve and the dynamic loader, any program dies
# of the signal) and lasts until it serves.  A second part starts the server with the
# signals already blocked by the parent and signals it at once: the pending signal is
# acted on, never lost.
# Usage: startup_signals.py SERVER TMPDIR RUNS MAX_DELAY_MS
import os
import random
import signal
import subprocess
import sys
import time

server, tmp, runs, max_delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
SIGS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1]
rng = random.Random(int(os.environ.get('ECHOTEST_SEED', str(os.getpid()))))
failures = []


def sigblk(pid):
    """The blocked-signal mask of pid's main thread, or None once it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('SigBlk:'):
                    return int(line.split()[1], 16)
    except OSError:
        return None
    return 0


def start(i, preexec=None):
    sock = os.path.join(tmp, 'start%d.sock' % i)
    err = open(os.path.join(tmp, 'start%d.err' % i), 'w+')
    p = subprocess.Popen([server, '--port', '0', '--no-udp', '--grace', '1', '--listen', '127.0.0.1',
                          '--listen', 'unix:' + sock], stdout=subprocess.DEVNULL, stderr=err,
                         preexec_fn=preexec)
    return p, sock, err


def finish(i, p, sock, err, what, expect_usr1=False):
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
        failures.append('%s: did not exit within 30 s' % what)
        return
    err.seek(0)
    text = err.read()
    err.close()
    if rc != 0:
        failures.append('%s: exit status %d%s\n%s' % (
            what, rc, ' (died of %s)' % signal.Signals(-rc).name if rc < 0 else '', text))
    elif 'totals after' not in text:
        failures.append('%s: no totals\n%s' % (what, text))
    elif expect_usr1 and 'SIGUSR1: still serving' not in text:
        failures.append('%s: SIGUSR1 printed no totals so far\n%s' % (what, text))
    if os.path.exists(sock):
        failures.append('%s: the Unix socket file was left behind' % what)


term_bit = 1 << (signal.SIGTERM - 1)
for i in range(runs):
    sig = rng.choice(SIGS)
    delay = rng.uniform(0, max_delay) / 1000.0
    p, sock, err = start(i)
    deadline = time.monotonic() + 10
    while True:  # until the program itself blocked its signals
        m = sigblk(p.pid)
        if m is None or m & term_bit or time.monotonic() > deadline:
            break
    t = time.monotonic()
    while time.monotonic() - t < delay:
        pass
    p.send_signal(sig)
    what = 'run %d: %s %.2f ms into start-up' % (i, sig.name, delay * 1000)
    before = len(failures)
    if sig == signal.SIGUSR1:  # it must keep serving: then stop it
        time.sleep(0.3)
        if p.poll() is not None:
            finish(i, p, sock, err, what)
            continue
        p.send_signal(signal.SIGTERM)
    finish(i, p, sock, err, what, expect_usr1=(sig == signal.SIGUSR1))
    print('%s: %s' % (what, 'ok' if len(failures) == before else 'FAILED'))

blocked = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1}
for i in range(runs, runs + 5):
    p, sock, err = start(i, preexec=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, blocked))
    p.send_signal(signal.SIGTERM)  # before the program even ran: pending
    finish(i, p, sock, err, 'run %d: SIGTERM pending at exec' % i)

for f in failures:
    print('FAIL: ' + f, file=sys.stderr)
sys.exit(1 if failures else 0)
