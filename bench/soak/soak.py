#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Soak test of coring-echo-server (not CI): N minutes of mixed load against one server,
# its RSS, fds and CPU sampled every second into a CSV, then a plot and a summary.
#
# Load, all at once for the whole run:
#   closed loop   coring-echo-client, --connections 8, sizes 1 B-16 KiB (every byte checked)
#   fixed rate    coring-echo-client, --connections 64 --rate 2k, sizes 16 B-1 KiB
#   abuse         tests/echo/abuse.py: half-closing clients (checked echo), clients that
#                 reset (SO_LINGER 0) mid-message, clients that never read
#   churn         connect-and-close at ~100/s: plain close, close after a checked 1-byte
#                 echo, or a reset right after connecting
#   stalls        every 10 s, 10 clients send without reading until the server stops
#                 taking bytes, hold 5 s, then close with unread data (a reset)
# At the end the server gets SIGTERM and must exit 0 with totals.
#
# Usage: bench/soak/soak.py [--minutes N] [--build DIR] [--out DIR] [--server-arg ARG]...
#        (run it with /usr/bin/python3, Debian's, which has matplotlib for the plot)
# Writes OUT/soak.csv, OUT/soak.png (if matplotlib is there), OUT/summary.json and
# OUT/summary.txt; exit status 0 = no errors beyond the injected ones, 0 corrupted bytes,
# no growth after warm-up; 1 = a check failed; 2 = could not run.
import argparse
import json
import os
import random
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
ECHO_DIR = os.path.join(SRC, 'tests', 'echo')
sys.path.insert(0, ECHO_DIR)
from echoutil import (Failure, connect, echo_check, proc_cpu_seconds,  # noqa: E402
                      proc_fd_count, raise_fd_limit)

# Growth allowed after warm-up before the summary calls it growth.
RSS_SLACK_KB = 4096
RSS_SLACK_FRACTION = 0.05
FD_SLACK = 16


def parse_args():
    p = argparse.ArgumentParser(description='Soak test of coring-echo-server.')
    p.add_argument('--minutes', type=float, default=10.0, help='load duration (default 10)')
    p.add_argument('--build', default=os.path.join(SRC, 'build', 'release'),
                   help='build tree with tools/ (default build/release)')
    p.add_argument('--out', default=None, help='output directory (default build/soak-<time>)')
    p.add_argument('--server-arg', action='append', default=[],
                   help='extra coring-echo-server option (repeatable), e.g. --server-arg=--threads=1')
    p.add_argument('--nice', type=int, default=10, help='niceness of every process (default 10)')
    return p.parse_args()


class Counters:
    """Counts shared by the Python load threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.failures = []

    def add(self, key, n=1):
        with self.lock:
            self.c[key] = self.c.get(key, 0) + n

    def fail(self, what):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(what)
            self.c['failures'] = self.c.get('failures', 0) + 1


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


def churn(port, end, cnt, rate=100.0):
    """Connect-and-close at about rate per second until end."""
    rnd = random.Random(7)
    period, next_t = 1.0 / rate, time.monotonic()
    while time.monotonic() < end:
        kind = rnd.choice(('close', 'echo', 'reset'))
        try:
            s = connect('127.0.0.1', port, timeout=10)
            if kind == 'echo':
                echo_check(s, bytes([rnd.randrange(256)]), 10)
                s.close()
            elif kind == 'reset':
                rst_close(s)
            else:
                s.close()
            cnt.add('churn_' + kind)
        except (Failure, OSError) as e:
            cnt.fail('churn %s: %s' % (kind, e))
        next_t += period
        time.sleep(max(0.0, next_t - time.monotonic()))


def stall_round(port, cnt, n=10, hold=5.0):
    """n clients send without reading until the server stops taking bytes, hold,
    then close with unread data (the kernel resets)."""
    socks, pushed = [], 0
    try:
        for _ in range(n):
            s = connect('127.0.0.1', port, timeout=10)
            s.setblocking(False)
            socks.append(s)
        block = os.urandom(65536)
        quiet_since = {s: None for s in socks}
        t_end = time.monotonic() + 10
        while time.monotonic() < t_end and any(v is None or time.monotonic() - v < 0.5
                                               for v in quiet_since.values()):
            for s in socks:
                try:
                    pushed += s.send(block)
                    quiet_since[s] = None
                except BlockingIOError:
                    quiet_since[s] = quiet_since[s] or time.monotonic()
            time.sleep(0.01)
        time.sleep(hold)
        cnt.add('stall_clients', n)
        cnt.add('stall_bytes_pushed', pushed)
    except OSError as e:
        cnt.fail('stall round: %s' % e)
    finally:
        for s in socks:
            s.close()


def stalls(port, end, cnt):
    while time.monotonic() + 16 < end:
        t = time.monotonic()
        stall_round(port, cnt)
        time.sleep(max(0.0, 10 - (time.monotonic() - t)))


def sample(pid, t0, rows, stop):
    """Every second: RSS (kB), fds, CPU % (of one core) of pid, and the load average."""
    last_t, last_cpu = time.monotonic(), proc_cpu_seconds(pid)
    while not stop.wait(1.0):
        try:
            now, cpu = time.monotonic(), proc_cpu_seconds(pid)
            with open('/proc/%d/status' % pid) as f:
                st = dict(line.split(':', 1) for line in f if ':' in line)
            rss = int(st['VmRSS'].split()[0])
            threads = int(st['Threads'])
            fds = proc_fd_count(pid)
        except (OSError, KeyError, ValueError):
            break
        load1 = os.getloadavg()[0]
        rows.append((round(now - t0, 2), rss, fds, round(100.0 * (cpu - last_cpu) / (now - last_t), 1),
                     threads, round(load1, 2)))
        last_t, last_cpu = now, cpu


def start(cmd, out, err, nice):
    return subprocess.Popen(cmd, stdout=open(out, 'w'), stderr=open(err, 'w'),
                            preexec_fn=lambda: os.nice(nice))


def window_median(rows, col, lo, hi):
    vals = [r[col] for r in rows if lo <= r[0] < hi]
    return statistics.median(vals) if vals else None


def slope_per_min(rows, col, lo):
    pts = [(r[0], r[col]) for r in rows if r[0] >= lo]
    if len(pts) < 3:
        return 0.0
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return 60.0 * sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else 0.0


def plot(rows, path, warm, title):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    t = [r[0] / 60 for r in rows]
    fig, ax = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    ax[0].plot(t, [r[1] / 1024 for r in rows], lw=1)
    ax[0].set_ylabel('RSS (MiB)')
    ax[1].plot(t, [r[2] for r in rows], lw=1, color='tab:green')
    ax[1].set_ylabel('open fds')
    ax[2].plot(t, [r[3] for r in rows], lw=1, color='tab:red')
    ax[2].set_ylabel('server CPU (% of one core)')
    ax[2].set_xlabel('minutes')
    la = ax[2].twinx()
    la.plot(t, [r[5] for r in rows], lw=1, color='tab:gray', ls='--')
    la.set_ylabel('machine load average (dashed)')
    la.set_ylim(bottom=0)
    for a in ax:
        a.axvline(warm / 60, color='k', ls=':', lw=1)
        a.grid(alpha=0.3)
        a.set_ylim(bottom=0)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def server_totals(text):
    """The numbers of the server's final totals (the last block printed)."""
    import re
    block = text[text.rfind('totals after'):]
    keys = {'accepted': r'connections (\d+) accepted', 'ended': r'(\d+) ended by the client',
            'errors': r'(\d+) errors, ', 'cut': r'(\d+) cut after', 'bytes_in': r'(\d+) bytes in',
            'bytes_out': r'(\d+) bytes out'}
    out = {}
    for k, rx in keys.items():
        m = re.search(rx, block)
        out[k] = int(m.group(1)) if m else None
    return out


def main():
    a = parse_args()
    server = os.path.join(a.build, 'tools', 'echo_server', 'coring-echo-server')
    client = os.path.join(a.build, 'tools', 'echo_client', 'coring-echo-client')
    for b in (server, client):
        if not os.access(b, os.X_OK):
            print('soak: %s not built' % b, file=sys.stderr)
            return 2
    out = a.out or os.path.join(SRC, 'build', 'soak-' + time.strftime('%Y%m%d-%H%M%S'))
    os.makedirs(out, exist_ok=True)
    raise_fd_limit(4096)
    dur = max(10.0, a.minutes * 60)
    warm = min(60.0, dur * 0.2)
    port_file = os.path.join(out, 'server.port')
    if os.path.exists(port_file):
        os.unlink(port_file)
    load0 = os.getloadavg()
    srv = start([server, '--port', '0', '--no-udp', '--listen', '127.0.0.1', '--port-file', port_file]
                + a.server_arg, os.path.join(out, 'server.out'), os.path.join(out, 'server.err'), a.nice)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if srv.poll() is not None or time.monotonic() > deadline:
            print('soak: the server did not start', file=sys.stderr)
            srv.kill()
            return 2
        time.sleep(0.05)
    port = int(open(port_file).read())
    t0 = time.monotonic()
    rows, stop = [], threading.Event()
    sampler = threading.Thread(target=sample, args=(srv.pid, t0, rows, stop))
    sampler.start()

    secs = '%g' % dur
    common = ['--connect', '127.0.0.1:%d' % port, '--duration', secs, '--json', '--quiet',
              '--threads', '1', '--grace', '5']
    closed = start([client, '--connections', '8', '--size', '1-16k'] + common,
                   os.path.join(out, 'closed.json'), os.path.join(out, 'closed.err'), a.nice)
    rate = start([client, '--connections', '64', '--rate', '2k', '--size', '16-1k'] + common,
                 os.path.join(out, 'rate.json'), os.path.join(out, 'rate.err'), a.nice)
    env = dict(os.environ, ECHOTEST_OP_TIMEOUT='60', PYTHONDONTWRITEBYTECODE='1')
    abuse = subprocess.Popen([sys.executable, os.path.join(ECHO_DIR, 'abuse.py'), '127.0.0.1', str(port),
                              secs], stdout=open(os.path.join(out, 'abuse.json'), 'w'),
                             stderr=open(os.path.join(out, 'abuse.err'), 'w'), env=env,
                             preexec_fn=lambda: os.nice(a.nice))
    cnt = Counters()
    end = t0 + dur
    threads = [threading.Thread(target=churn, args=(port, end, cnt)),
               threading.Thread(target=stalls, args=(port, end, cnt))]
    for t in threads:
        t.start()
    print('soak: %g min against port %d, output in %s' % (dur / 60, port, out), flush=True)
    for t in threads:
        t.join()
    results = {}
    for name, p in (('closed', closed), ('rate', rate), ('abuse', abuse)):
        try:
            rc = p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = 'timeout'
        try:
            rep = json.load(open(os.path.join(out, name + '.json')))
        except (OSError, ValueError):
            rep = None
        results[name] = {'status': rc, 'report': rep}
    time.sleep(2)  # a few samples after the load
    stop.set()
    sampler.join()
    srv.send_signal(signal.SIGTERM)
    try:
        srv_rc = srv.wait(timeout=60)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv_rc = 'timeout'
    srv_err = open(os.path.join(out, 'server.err')).read()

    with open(os.path.join(out, 'soak.csv'), 'w') as f:
        f.write('t_s,rss_kb,fds,cpu_pct,threads,loadavg1\n')
        for r in rows:
            f.write(','.join(str(x) for x in r) + '\n')

    # ---- summary
    span = min(30.0, max(5.0, dur * 0.05))
    last_t = rows[-1][0] if rows else 0
    rss_warm = window_median(rows, 1, warm, warm + span)
    rss_end = window_median(rows, 1, last_t - span - 2, last_t - 2)  # before the load ended
    fd_warm = window_median(rows, 2, warm, warm + span)
    fd_end = window_median(rows, 2, last_t - span - 2, last_t - 2)
    rss_slope = slope_per_min(rows, 1, warm)
    fd_slope = slope_per_min(rows, 2, warm)
    cpu = [r[3] for r in rows if warm <= r[0] <= dur]
    checks = []

    def check(ok, what):
        checks.append({'ok': bool(ok), 'what': what})

    for name in ('closed', 'rate'):
        rep = results[name]['report'] or {}
        check(results[name]['status'] == 0 and rep.get('ok'),
              '%s-loop client: status %s, %s messages, %s errors, %s corrupted bytes' % (
                  name, results[name]['status'], rep.get('messages'), rep.get('errors'),
                  rep.get('corrupted_bytes')))
        check(rep.get('corrupted_bytes') == 0 and rep.get('unexpected_bytes') == 0,
              '%s: 0 corrupted bytes' % name)
    ab = results['abuse']['report'] or {}
    check(results['abuse']['status'] == 0, 'abuse clients: status %s, %s' % (
        results['abuse']['status'], {k: v for k, v in ab.items() if k != 'failures'}))
    check(cnt.c.get('failures', 0) == 0, 'churn and stalls: %s; failures: %s' % (
        {k: v for k, v in cnt.c.items() if k != 'failures'}, cnt.failures[:5]))
    check(srv_rc == 0 and 'totals after' in srv_err, 'server exit status %s after SIGTERM' % srv_rc)
    # Every connection a client reset (or closed with unread data) ends in a socket error
    # on the server; any error beyond those is one the server caused.
    tot = server_totals(srv_err)
    resets = (ab.get('reset_rounds', 0) + ab.get('non_readers', 0) + cnt.c.get('churn_reset', 0)
              + cnt.c.get('stall_clients', 0))
    check(tot['errors'] is not None and tot['errors'] <= resets,
          'server: %s connections accepted, %s ended by the client, %s ended by an error '
          '(the clients reset %d)' % (tot['accepted'], tot['ended'], tot['errors'], resets))
    grow_ok = (rss_warm is not None and rss_end is not None and
               rss_end - rss_warm <= max(RSS_SLACK_KB, RSS_SLACK_FRACTION * rss_warm))
    check(grow_ok, 'RSS after warm-up: %s kB -> %s kB (slope %.0f kB/min)' % (rss_warm, rss_end, rss_slope))
    check(fd_warm is not None and fd_end is not None and fd_end - fd_warm <= FD_SLACK,
          'fds after warm-up: %s -> %s (slope %.2f/min)' % (fd_warm, fd_end, fd_slope))
    summary = {
        'minutes': dur / 60, 'warm_up_s': warm, 'samples': len(rows),
        'loadavg_at_start': load0, 'loadavg_at_end': os.getloadavg(),
        'rss_kb': {'after_warm_up': rss_warm, 'end': rss_end, 'max': max((r[1] for r in rows), default=None),
                   'slope_kb_per_min_after_warm_up': round(rss_slope, 1)},
        'fds': {'after_warm_up': fd_warm, 'end': fd_end, 'max': max((r[2] for r in rows), default=None),
                'slope_per_min_after_warm_up': round(fd_slope, 3)},
        'server_cpu_pct': {'median': statistics.median(cpu) if cpu else None,
                           'max': max(cpu) if cpu else None},
        'server': {'status': srv_rc, 'totals': tot, 'resets_caused_by_clients': resets,
                   'args': a.server_arg},
        'clients': results, 'churn_and_stalls': cnt.c, 'checks': checks,
        'ok': all(c['ok'] for c in checks),
    }
    with open(os.path.join(out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    lines = ['soak of coring-echo-server: %.1f min, warm-up %.0f s, %d samples' % (dur / 60, warm, len(rows)),
             'load average at start %.2f, at end %.2f' % (load0[0], os.getloadavg()[0]),
             'server CPU after warm-up: median %s %%, max %s %% of one core' % (
                 summary['server_cpu_pct']['median'], summary['server_cpu_pct']['max'])]
    lines += ['%s %s' % ('ok  ' if c['ok'] else 'FAIL', c['what']) for c in checks]
    lines.append('verdict: %s' % ('ok' if summary['ok'] else 'FAILED'))
    open(os.path.join(out, 'summary.txt'), 'w').write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    if plot(rows, os.path.join(out, 'soak.png'), warm,
            'coring-echo-server soak: %.0f min mixed load (closed loop, 2k msg/s, abuse, churn, stalls)'
            % (dur / 60)):
        print('plot: %s' % os.path.join(out, 'soak.png'))
    else:
        print('no plot: matplotlib is missing (run with /usr/bin/python3)')
    return 0 if summary['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
