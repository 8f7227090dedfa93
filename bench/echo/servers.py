# SPDX-License-Identifier: MIT
"""The echo comparison's servers: their command lines; starting, watching and stopping them."""
import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = "/usr/bin/python3"  # Debian's: it has uvloop and matplotlib
TICK = os.sysconf("SC_CLK_TCK")

# name -> (what it is, for --help; its command line, given the build directory and a port).
SERVERS = {
    "coring": ("coring-echo-server --threads 1 --no-udp (cr_server, cr_stream)",
               lambda b, p: [b / "tools/echo_server/coring-echo-server", "--threads", "1",
                             "--no-udp", "--quiet", "--listen", "127.0.0.1", "--port", p]),
    # A second coring-echo-server binary (e.g. built from an older commit), set in
    # $CORING_BENCH_OTHER_SERVER, run with the same options: compare.py --servers coring,other
    "other": ("$CORING_BENCH_OTHER_SERVER with coring's options (before/after comparisons)",
              lambda b, p: [os.environ.get("CORING_BENCH_OTHER_SERVER", "false"), "--threads",
                            "1", "--no-udp", "--quiet", "--listen", "127.0.0.1", "--port", p]),
    "epoll": ("bench/echo/epoll_server.c: one thread, level-triggered epoll",
              lambda b, p: [b / "bench/echo/coring-bench-echo-epoll", "--port", p]),
    "libuv": ("bench/echo/libuv_server.c: one libuv loop, uv_try_write first",
              lambda b, p: [b / "bench/echo/coring-bench-echo-libuv", "--port", p]),
    "go": ("bench/echo/go_server: a goroutine per connection (GOMAXPROCS = 1 CPU)",
           lambda b, p: [b / "bench/echo/coring-bench-echo-go", "--port", p]),
    "asyncio": ("bench/echo/asyncio_server.py on Debian's /usr/bin/python3",
                lambda b, p: [PY, HERE / "asyncio_server.py", "--port", p]),
    "uvloop": ("the same with --uvloop",
               lambda b, p: [PY, HERE / "asyncio_server.py", "--port", p, "--uvloop"]),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """In the child before exec: get SIGTERM if compare.py dies without stopping it."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread, live or ended), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def busy_seconds(cpus):
    """Time the given CPUs spent on anything but idle and iowait, from /proc/stat, in seconds."""
    total = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *v = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                total += sum(int(x) for x in v[:8]) - int(v[3]) - int(v[4])
    return total / TICK


class Server:
    """One server process pinned to a CPU, listening on 127.0.0.1:port."""

    live = []  # started and not yet stopped, for stop_all()

    def __init__(self, name, build_dir, cpu, log_path, log):
        self.name = name
        self.port = free_port()
        self.log_path = log_path
        cmd = ["taskset", "-c", str(cpu)]
        cmd += [str(c) for c in SERVERS[name][1](build_dir, str(self.port))]
        log(f"{name}: $ {' '.join(cmd)}")
        with open(log_path, "w") as logf:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         start_new_session=True, preexec_fn=die_with_parent)
        Server.live.append(self)

    def wait_ready(self, timeout=30.0):
        """Returns once a connect succeeds; raises RuntimeError if the server exits or is late."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} "
                                   f"(see {self.log_path})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on port {self.port} in {timeout:g} s")

    def alive(self):
        return self.proc.poll() is None

    def cpu_seconds(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in Server.live:
            Server.live.remove(self)


def stop_all():
    for s in list(Server.live):
        s.stop()
