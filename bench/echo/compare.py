#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Echo comparison: each echo server pinned to one CPU, driven by coring-echo-client on another."""
import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import report  # noqa: E402
from servers import HERE, PY, SERVERS, Server, busy_seconds, stop_all  # noqa: E402

ROOT = HERE.parent.parent
CLIENT = "tools/echo_client/coring-echo-client"

# CxS is C connections sending S-byte messages, closed loop; @R makes it a fixed total rate.
DEFAULT_LOADS = "1x64,50x64,500x64,50x16k,50x64@{rate}"
# Every server, Python's included, must sustain the fixed rate, or the latencies compare
# queues rather than servers; cells that fell behind are flagged in the table.
DEFAULT_RATE = "20k"
# The check before a server's cells (it also warms the server up): random sizes up to
# 64 KiB, four messages in flight per connection, so that partial writes and back-pressure
# happen.  The client verifies every byte, here and in every measured run.
CHECK_LOAD = {"id": "check", "connections": 20, "size": 65536, "size_arg": "1-64k",
              "pipeline": 4, "rate": None}

HELP_EPILOG = "servers (--servers, comma-separated; default: all):\n" + "".join(
    f"  {name:8} {what}\n" for name, (what, _) in SERVERS.items()) + f"""
loads (--loads, comma-separated): CxS[@R] = C connections, S-byte messages
(suffix k = KiB), closed loop, or a fixed total rate of R messages/s (suffixes k, M).
Default: {DEFAULT_LOADS.format(rate=DEFAULT_RATE)}

Before its cells, each server must pass a check: {CHECK_LOAD["connections"]} connections, random
sizes {CHECK_LOAD["size_arg"]} B, {CHECK_LOAD["pipeline"]} messages in flight each.

Writes to --out: results.json (the client's report of every run and the server CPU
times), results.md (the tables, also printed on stdout), echo.png (plot.py), logs/.
Progress goes to stderr.  Exit status 1 if a check or a cell had errors or corrupted
bytes, or a server failed.
"""


def log(msg):
    print(f"[echo-compare] {msg}", file=sys.stderr, flush=True)


def parse_count(text):
    """'20000', '20k', '1M' -> int."""
    t = text.strip().lower()
    mult = {"k": 1000, "m": 1000000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def parse_load(spec):
    """'50x16k@20k' -> {id, connections, size (bytes), rate (msgs/s or None)}."""
    conns, _, rest = spec.partition("x")
    size, _, rate = rest.lower().partition("@")
    nbytes = int(size[:-1]) * 1024 if size.endswith("k") else int(size)
    if int(conns) < 1 or nbytes < 1 or (rate and parse_count(rate) < 1):
        raise ValueError(spec)
    return {"id": spec, "connections": int(conns), "size": nbytes,
            "rate": parse_count(rate) if rate else None}


def run_logged(cmd, **kw):
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, stdout=sys.stderr, **kw)


def build(bdir, servers):
    """Configures bdir if needed and builds the client and the servers asked for."""
    configure = ["cmake", "-S", ROOT, "-B", bdir, "-DCORING_BUILD_BENCH=ON"]
    if not (bdir / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"]
    run_logged(configure)
    targets = {"coring": "coring-echo-server", "epoll": "coring-bench-echo-epoll",
               "libuv": "coring-bench-echo-libuv"}
    run_logged(["cmake", "--build", bdir, "--target", "coring-echo-client",
                *(targets[s] for s in servers if s in targets)])
    if "go" in servers:
        out = bdir / "bench/echo"
        env = dict(os.environ, GOCACHE=str(out / "go-cache"), GOPATH=str(out / "go-path"),
                   GOPROXY="off", GOFLAGS="", GO111MODULE="on", CGO_ENABLED="0")
        run_logged(["go", "build", "-trimpath", "-o", out / "coring-bench-echo-go", "."],
                   cwd=HERE / "go_server", env=env)


def client_run(args, server, load, duration):
    """One coring-echo-client run against server: a cell with its report and the CPU times."""
    cmd = ["taskset", "-c", str(args.client_cpu), str(args.build_dir / CLIENT),
           "--connect", f"127.0.0.1:{server.port}", "--connections", str(load["connections"]),
           "--size", str(load.get("size_arg", load["size"])), "--duration", str(duration),
           "--pipeline", str(load.get("pipeline", 1)), "--threads", str(args.client_threads),
           "--json", "--quiet"]
    if load["rate"]:
        cmd += ["--rate", str(load["rate"])]
    cell = {"server": server.name, "load": load, "problems": []}
    cpus = {args.server_cpu} | args.client_cpus
    cpu0, busy0 = server.cpu_seconds(), busy_seconds(cpus)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=duration + 60)
    except subprocess.TimeoutExpired:
        cell["problems"].append("the client timed out")
        return cell
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not server.alive():
        cell["problems"].append(f"the server exited with {server.proc.returncode}")
        return cell
    cpu, busy = server.cpu_seconds() - cpu0, busy_seconds(cpus) - busy0
    stderr = p.stderr.strip()[-300:]
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        cell["problems"].append(f"client exit {p.returncode}, no report: {stderr}")
        return cell
    msgs = rep.get("messages", 0)
    client_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    # What else ran on the two CPUs (other processes, interrupts, hypervisor steal): tells
    # the reader how disturbed the cell was.
    others = max(0.0, busy - cpu - client_cpu) / (wall * len(cpus))
    cell.update(client=rep, wall_s=wall, server_cpu_s=cpu, client_cpu_s=client_cpu,
                others=others, server_cpu_us_per_msg=cpu / msgs * 1e6 if msgs else None)
    for key in ("errors", "connections_failed", "unanswered_messages", "corrupted_bytes",
                "unexpected_bytes", "closed_early"):
        if rep.get(key):
            cell["problems"].append(f"{key}={rep[key]}")
    if p.returncode != 0 or not rep.get("ok", False):
        cell["problems"].append(f"client exit {p.returncode}" + (f": {stderr}" if stderr else ""))
    return cell


def cpu_list(text):
    """'1', '1-3', '1,3' (taskset -c syntax) -> a set of CPU numbers."""
    cpus = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def median_cell(runs):
    """The run with the median msgs/s; a problem in any run is a problem of the cell."""
    good = sorted((c for c in runs if "client" in c), key=lambda c: c["client"]["messages_per_s"])
    pick = dict(good[len(good) // 2] if good else runs[-1])
    pick["runs_msgs_per_s"] = [c["client"]["messages_per_s"] for c in good]
    pick["problems"] = sorted({p for c in runs for p in c["problems"]})
    return pick


def log_cell(cell):
    rep = cell.get("client", {})
    log(f"{cell['server']:8} {cell['load']['id']:>12}: {rep.get('messages_per_s', 0):>9.0f} msg/s"
        f"  cpu {cell.get('server_cpu_us_per_msg') or 0:6.2f} us/msg"
        f"  p99 {rep.get('latency_ns', {}).get('p99', 0) / 1e3:8.0f} us"
        + (f"  PROBLEMS: {'; '.join(cell['problems'])}" if cell["problems"] else ""))


def run_server(args, name, loads, checks, check_first):
    """Starts one server, checks it if check_first, runs every load against it once, and
    stops it.  Returns {load id: run}; a load that could not run gets a run with a problem."""
    runs = {}
    srv = Server(name, args.build_dir, args.server_cpu, args.out / "logs" / f"{name}.log", log)
    try:
        srv.wait_ready()
        if check_first:
            check = client_run(args, srv, CHECK_LOAD, args.check)
            checks[name] = {"problems": check["problems"],
                            "messages": check.get("client", {}).get("messages", 0)}
            log(f"{name}: check: {checks[name]['messages']} messages, "
                + ("; ".join(check["problems"]) or "no errors"))
        for load in loads:
            if not srv.alive():
                raise RuntimeError(f"{name} exited with {srv.proc.returncode} "
                                   f"(see {srv.log_path})")
            runs[load["id"]] = client_run(args, srv, load, args.duration)
            log_cell(runs[load["id"]])
    except RuntimeError as e:
        log(f"{name}: {e}")
        for ld in loads:
            runs.setdefault(ld["id"], {"server": name, "load": ld, "problems": [f"not run: {e}"]})
    finally:
        srv.stop()
    return runs


def run_rounds(args, checks):
    """Runs every server against every load, args.runs times, in rounds: each round starts
    every server once in turn, so that a slow spell of the machine (a VM's neighbours, say)
    hits all servers alike instead of all runs of one.  Returns the cells (the median run
    of each server and load)."""
    per_cell = {}
    for rnd in range(args.runs):
        if args.runs > 1:
            log(f"round {rnd + 1} of {args.runs}")
        for name in args.servers:
            for lid, run in run_server(args, name, args.loads, checks, rnd == 0).items():
                per_cell.setdefault((name, lid), []).append(run)
    cells = []
    for name in args.servers:
        for ld in args.loads:
            cells.append(median_cell(per_cell[(name, ld["id"])]))
    if args.runs > 1:
        log("medians:")
        for cell in cells:
            log_cell(cell)
    return cells


def machine():
    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return r.stdout.strip() or None
        except (OSError, subprocess.TimeoutExpired):
            return None

    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                   platform.machine())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "host": platform.node(),
        "kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
        "go": out(["go", "version"]),
        "python": out([PY, "-c", "import sys; print(sys.version.split()[0])"]),
        "uvloop": out([PY, "-c", "import uvloop; print(uvloop.__version__)"]),
        "libuv": out(["pkg-config", "--modversion", "libuv"]),
    }


def options():
    ap = argparse.ArgumentParser(prog="compare.py", description=__doc__, epilog=HELP_EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    env_dir = os.environ.get("CORING_BENCH_BUILD_DIR")
    ap.add_argument("--build-dir", type=Path, default=Path(env_dir or ROOT / "build/release"),
                    help="CMake build directory (default: $CORING_BENCH_BUILD_DIR, "
                    "else build/release)")
    ap.add_argument("--out", type=Path, help="output directory (default: BUILD_DIR/echo-compare)")
    ap.add_argument("--servers", default=",".join(s for s in SERVERS if s != "other"),
                    help="which servers, in order (\"other\" only when asked for)")
    ap.add_argument("--loads", help="which loads, CxS[@R],... (default: see below)")
    ap.add_argument("--rate", default=DEFAULT_RATE,
                    help=f"rate of the default fixed-rate load (default {DEFAULT_RATE})")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per run (default 3)")
    ap.add_argument("--runs", type=int, default=1,
                    help="runs per cell, in rounds over all servers; the one with the median "
                    "msgs/s is kept (default 1)")
    ap.add_argument("--check", type=float, default=1.0,
                    help="seconds of the check before each server's cells (default 1)")
    ap.add_argument("--quick", action="store_true",
                    help="1 s per run and a 0.5 s check: shows that it works, nothing more")
    ap.add_argument("--server-cpu", type=int, default=0, help="the servers' CPU (default 0)")
    ap.add_argument("--client-cpu", default="1",
                    help="the client's CPU, or CPUs as taskset -c takes them (default 1)")
    ap.add_argument("--client-threads", type=int, default=1,
                    help="coring-echo-client --threads (default 1); on a machine with more "
                    "than 2 CPUs, give it more CPUs and threads if it is the bottleneck")
    ap.add_argument("--no-build", action="store_true", help="use what BUILD_DIR has")
    ap.add_argument("--no-plot", action="store_true", help="do not run plot.py")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.check = 1.0, 0.5
    args.build_dir = args.build_dir.resolve()
    args.out = (args.out or args.build_dir / "echo-compare").resolve()
    args.servers = [s for s in args.servers.split(",") if s]
    unknown = [s for s in args.servers if s not in SERVERS]
    if unknown or not args.servers:
        ap.error(f"unknown servers: {', '.join(unknown) or '(none given)'}")
    specs = args.loads or DEFAULT_LOADS.format(rate=args.rate)
    try:
        args.loads = [parse_load(s) for s in specs.split(",") if s]
    except ValueError as e:
        ap.error(f"bad load {e} (expected CxS or CxS@R, e.g. 50x64 or 50x64@20k)")
    if args.runs < 1 or args.duration <= 0 or args.check <= 0 or not args.loads:
        ap.error("--runs must be >= 1, --duration and --check > 0, --loads not empty")
    try:
        args.client_cpus = cpu_list(args.client_cpu)
    except ValueError:
        ap.error(f"bad --client-cpu {args.client_cpu} (expected e.g. 1, 1-3 or 1,3)")
    if args.server_cpu in args.client_cpus:
        ap.error("--server-cpu must not be one of --client-cpu")
    if args.client_threads < 1:
        ap.error("--client-threads must be >= 1")
    return args


def on_signal(signum, frame):
    stop_all()
    sys.exit(128 + signum)


def main():
    args = options()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        build(args.build_dir, args.servers)
    meta = machine()
    meta.update(duration_s=args.duration, runs=args.runs, server_cpu=args.server_cpu,
                client_cpu=args.client_cpu, client_threads=args.client_threads,
                build_dir=str(args.build_dir),
                loads=[ld["id"] for ld in args.loads], servers=args.servers,
                check=f"{CHECK_LOAD['connections']} connections, random sizes "
                f"{CHECK_LOAD['size_arg']} B, {CHECK_LOAD['pipeline']} messages in flight each, "
                f"{args.check:g} s")
    cells, checks = [], {}
    try:
        cells = run_rounds(args, checks)
    finally:
        stop_all()
    meta["coring_version"] = next(
        (c["client"].get("coring_version") for c in cells if "client" in c), None)
    result = {"meta": meta, "checks": checks, "cells": cells}
    (args.out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    md = report.markdown(result)
    (args.out / "results.md").write_text(md)
    print(md, end="")
    wrote = "results.md, results.json"
    if not args.no_plot:
        p = subprocess.run([PY, HERE / "plot.py", args.out / "results.json", args.out / "echo.png"],
                           stdout=sys.stderr)
        wrote += ", echo.png" if p.returncode == 0 else " (plot.py failed)"
    log(f"wrote {args.out}/: {wrote}")
    bad = any(c["problems"] for c in cells) or any(c["problems"] for c in checks.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
