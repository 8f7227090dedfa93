#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Runs coring-bench, the Go peer (GOMAXPROCS=1 and 2) and the asyncio peer (asyncio and
uvloop loops) and prints one Markdown table: coring next to them, per operation."""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GO_DIR = HERE / "go"
PY_PEER = HERE / "python" / "asyncio_ops.py"

# One table row: (label, coring op, Go op, Python op, unit).  An op of None leaves the cell
# "n/a".  coring's rows are "coring/<op>" in coring-bench (bench/micro), the peers'
# "go/<op>" and "python-<loop>/<op>"; they use coring's names.
ROWS = [
    ("yield between two tasks", "yield", "yield", "yield", "ns/yield"),
    ("spawn + join", "spawn_join", "spawn_join", "spawn_join", "ns/spawn+join"),
    ("lock, uncontended", "lock_uncontended", "lock_uncontended", "lock_uncontended", "ns/acquire+release"),
    ("lock, hand-off between two tasks", "lock_handoff", "lock_handoff", "lock_handoff", "ns/hand-off"),
    ("event round trip", "event_rt", "event_rt", "event_rt", "ns/round trip"),
    ("condition round trip", "cond_rt", "cond_rt", "cond_rt", "ns/round trip"),
    ("semaphore, uncontended", "sem_acquire_release", "sem_acquire_release", "sem_acquire_release", "ns/acquire+release"),
    ("queue ping-pong (Go: unbuffered channels)", "queue_pingpong", "queue_pingpong", "queue_pingpong", "ns/round trip"),
    ("queue ping-pong (Go: channels of capacity 1)", "queue_pingpong", "queue_pingpong_cap1", None, "ns/round trip"),
    ("queue throughput, capacity 1024", "queue_throughput", "queue_throughput", "queue_throughput", "ns/item"),
    ("cross-thread wake-up (event round trip)", "xw_wake", "xw_wake", None, "ns/round trip"),
    ("cross-thread queue throughput", "xw_queue_throughput", "xw_queue_throughput", None, "ns/item"),
]

# Other names coring-bench's rows have had or may have (issue 6's draft names): a row
# found under one of these counts as the op it maps to.
CORING_ALIASES = {
    "event_roundtrip": "event_rt",
    "cond_roundtrip": "cond_rt",
    "sem_uncontended": "sem_acquire_release",
    "xworker_wake": "xw_wake",
    "xworker_queue": "xw_queue_throughput",
}

# Rows of coring-bench that have no peer outside C but are targets against the boost.context
# fiber switch measured in the same binary and run: op -> full row name.
SWITCH_ROWS = {"context_switch": "coring/context_switch",
               "yield_symmetric": "coring/yield_symmetric",
               "boost_fiber_switch": "baseline/boost_fiber_switch"}

# Go operations that need GOMAXPROCS >= 2: their Go (1) cell is "n/a", not missing.
GO_NEEDS_2 = {"xw_wake", "xw_queue_throughput"}

TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def on_sigterm(signum, frame):
    """Turns SIGTERM into SystemExit, so that subprocess.run kills the running child."""
    raise SystemExit(128 + signum)


def run(cmd, timeout, env=None, cwd=None):
    """Runs cmd, returns (exit code, stdout, stderr); the child is killed on timeout, on
    Ctrl-C and on SIGTERM (subprocess.run does that for any exception)."""
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout} s: {' '.join(map(str, cmd))}"
    except OSError as e:
        return 127, "", str(e)
    return p.returncode, p.stdout, p.stderr


def json_lines(text):
    """Returns the JSON objects of text, one per line; other lines are ignored."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


# ---- coring ------------------------------------------------------------------------------


def find_coring_bench(args):
    """Returns the coring-bench path to use, or None."""
    if args.coring_bench:
        p = Path(args.coring_bench)
        return p if p.is_file() and os.access(p, os.X_OK) else None
    for d in (Path(args.build_dir), REPO / "build" / "release"):
        p = d / "bench" / "micro" / "coring-bench"
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None


def coring_results(doc):
    """Reduces Google Benchmark's JSON to {op: entry}: per coring/<op> row, the repetition
    with the lowest real time (the median aggregate if there are only aggregates)."""
    names = {f"coring/{r[1]}": r[1] for r in ROWS if r[1]}
    names.update({f"coring/{alias}": op for alias, op in CORING_ALIASES.items()})
    names.update({full: op for op, full in SWITCH_ROWS.items()})
    best, aggregates = {}, {}
    for b in doc.get("benchmarks", []):
        name = b.get("run_name") or b.get("name", "")
        m = re.match(r"((coring|baseline)/[A-Za-z0-9_]+)(/|$)", name)
        op = names.get(m.group(1)) if m else None
        if op is None or b.get("error_occurred"):
            continue
        ns = float(b["real_time"]) * TIME_UNITS.get(b.get("time_unit", "ns"), 1.0)
        entry = {"name": f"coring/{op}", "ns_per_op": round(ns, 3), "bench_name": b.get("name")}
        for k in ("iterations", "cpu_time", "time_unit"):
            if k in b:
                entry[k] = b[k]
        for k, v in b.items():  # user counters such as switches_per_op
            if k.endswith("_per_op") or k.endswith("per_release"):
                entry[k] = v
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                aggregates[op] = entry
        elif op not in best or ns < best[op]["ns_per_op"]:
            best[op] = entry
    for op, entry in aggregates.items():
        best.setdefault(op, entry)
    return best


def run_coring(args, notes):
    """Runs coring-bench (or reads --coring-json).  Returns ({op: entry}, context) or
    ({}, None) with a note saying why."""
    if args.coring_json:
        try:
            doc = json.loads(Path(args.coring_json).read_text())
        except (OSError, json.JSONDecodeError) as e:
            notes.append(f"could not read --coring-json {args.coring_json}: {e}; peers only.")
            return {}, None
        return coring_results(doc), doc.get("context")
    exe = find_coring_bench(args)
    if exe is None:
        where = args.coring_bench or f"{args.build_dir}/bench/micro/coring-bench"
        notes.append(
            f"coring-bench was not found ({where}), so this table shows the peers only. Build "
            "it with `cmake --preset release -DCORING_BUILD_BENCH=ON && cmake --build "
            "build/release --target coring-bench`, or pass `--coring-bench PATH`."
        )
        return {}, None
    ops = {r[1] for r in ROWS if r[1] and selected(args, r)}
    ops |= {alias for alias, op in CORING_ALIASES.items() if op in ops}
    switch = sorted(SWITCH_ROWS.values()) if "yield" in ops else []
    cmd = [
        str(exe),
        "--benchmark_format=json",
        f"--benchmark_filter=^(coring/({'|'.join(sorted(ops))})|{'|'.join(switch)})(/|$)",
        f"--benchmark_repetitions={args.runs}",
    ]
    if args.quick:
        cmd.append("--benchmark_min_time=0.05")
    cmd += args.coring_arg
    log(f"== coring: {' '.join(cmd)}")
    rc, out, err = run(cmd, args.timeout)
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        doc = None
    if doc is None:
        notes.append(f"coring-bench failed (exit {rc}): {err.strip()[-300:]}; peers only.")
        return {}, None
    if rc != 0:
        notes.append(f"coring-bench exited {rc} (a row failed?): {err.strip()[-300:]}")
    res = coring_results(doc)
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            notes.append(f"coring row {b.get('name')} failed: {b.get('error_message')}")
    return res, doc.get("context")


# ---- Go ----------------------------------------------------------------------------------


def go_env(out_dir):
    """Returns the environment for go: caches under out_dir, no network, no user config."""
    env = dict(os.environ)
    env.update(
        GOCACHE=str(out_dir / "go-cache"),
        GOPATH=str(out_dir / "gopath"),
        GOPROXY="off",
        GOFLAGS="",
        GOENV="off",
        CGO_ENABLED="0",
    )
    return env


def build_go(args, notes):
    """Builds the Go peer into <build dir>/peers.  Returns its path, or None with a note."""
    go = shutil.which("go") or ("/usr/lib/go/bin/go" if Path("/usr/lib/go/bin/go").exists() else None)
    if go is None:
        notes.append("Go is not installed (`tools/setup-deps.sh --bench`): no Go columns.")
        return None, None
    out_dir = Path(args.build_dir) / "peers"
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = out_dir / "coring-peers-go"
    env = go_env(out_dir)
    log(f"== go build -> {exe}")
    rc, _, err = run([go, "build", "-o", str(exe), "."], 300, env=env, cwd=GO_DIR)
    if rc != 0:
        notes.append(f"go build failed (exit {rc}): {err.strip()[-300:]}; no Go columns.")
        return None, None
    _, ver, _ = run([go, "version"], 30, env=env)
    return exe, ver.strip()


def run_go(exe, procs, args, notes):
    """Runs the Go peer with GOMAXPROCS=procs.  Returns {op: line}."""
    env = dict(os.environ, GOMAXPROCS=str(procs))
    cmd = [str(exe), f"-runs={args.runs}", f"-target={int(args.target * 1000)}ms"]
    go_ops = sorted({r[2] for r in ROWS if r[2] and selected(args, r)})
    if not go_ops:
        return {}
    cmd.append("-op=" + ",".join(go_ops))
    log(f"== GOMAXPROCS={procs} {' '.join(cmd)}")
    rc, out, err = run(cmd, args.timeout, env=env)
    if rc != 0:
        notes.append(f"Go peer with GOMAXPROCS={procs} exited {rc}: {err.strip()[-300:]}")
    return {line["name"].split("/", 1)[1]: line for line in json_lines(out) if "name" in line}


# ---- Python ------------------------------------------------------------------------------


def run_python(loop, args, notes):
    """Runs the asyncio peer on the given loop.  Returns {op: line}."""
    py_ops = sorted({r[3] for r in ROWS if r[3] and selected(args, r)})
    if not py_ops:
        return {}
    cmd = [args.python, str(PY_PEER), f"--loop={loop}", f"--runs={args.runs}",
           f"--target={args.target}", "--op=" + ",".join(py_ops)]
    log(f"== {' '.join(cmd)}")
    rc, out, err = run(cmd, args.timeout)
    if rc == 3:
        notes.append(f"{loop} is not available for {args.python}: no {loop} column.")
    elif rc != 0:
        notes.append(f"Python peer ({loop}) exited {rc}: {err.strip()[-300:]}")
    return {line["name"].split("/", 1)[1]: line for line in json_lines(out) if "name" in line}


def merge_best(into, new):
    """Keeps, per operation, the entry with the lowest ns_per_op of into and new."""
    for op, entry in new.items():
        old = into.get(op)
        if old is None or entry.get("ns_per_op", float("inf")) < old.get("ns_per_op", float("inf")):
            into[op] = entry


# ---- the table ---------------------------------------------------------------------------


def selected(args, row):
    """Whether row is in --only (every row if --only is not given)."""
    if not args.only:
        return True
    return bool({row[1], row[2], row[3]} & set(args.only))


def fmt_ns(v, na=False):
    """Formats ns: 3 significant figures below 1000, whole numbers with separators above;
    "n/a" if the peer has no such operation, "—" if the figure is missing."""
    if na:
        return "n/a"
    if v is None:
        return "—"
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def rate(v):
    """Formats a fraction such as hand-offs per release: "0.0013 (1 in 770)"."""
    if not v:
        return "none"
    return f"{v:.2g} (1 in {1 / v:,.0f})" if v < 0.1 else f"{v:.2f}"


def fmt_ratio(v):
    if v is None:
        return "—"
    return f"{v:.2f}" if v < 10 else f"{v:,.0f}"


def ns(table, op):
    """Returns table[op]["ns_per_op"], or None."""
    if op is None or op not in table:
        return None
    return table[op].get("ns_per_op")


def barged(line):
    """True if a hand-off row changed holder on fewer than half of the releases."""
    return line is not None and line.get("handoffs_per_release", 1.0) < 0.5


def build_rows(args, coring, go1, go2, pya, uv):
    """Returns the table rows as dicts: figures, ratios and footnote marks."""
    rows = []
    for label, c_op, g_op, p_op, unit in ROWS:
        if not selected(args, (label, c_op, g_op, p_op)):
            continue
        r = {"operation": label, "unit": unit, "coring": ns(coring, c_op),
             "go1": ns(go1, g_op), "go2": ns(go2, g_op),
             "asyncio": ns(pya, p_op), "uvloop": ns(uv, p_op), "marks": {},
             "not_applicable": [c for c, op in (("coring", c_op), ("go1", g_op), ("go2", g_op),
                                                ("asyncio", p_op), ("uvloop", p_op)) if op is None]}
        if g_op in GO_NEEDS_2:
            r["not_applicable"].append("go1")
        for col, t in (("go1", go1), ("go2", go2)):
            if g_op and barged(t.get(g_op)):
                r["marks"][col] = t[g_op]
        fair_go = [r[c] for c in ("go1", "go2") if r[c] is not None and c not in r["marks"]]
        r["go_best"] = min(fair_go) if fair_go else None
        c = r["coring"]
        r["coring_over_go"] = c / r["go_best"] if c and r["go_best"] else None
        r["asyncio_over_coring"] = r["asyncio"] / c if c and r["asyncio"] else None
        r["uvloop_over_coring"] = r["uvloop"] / c if c and r["uvloop"] else None
        rows.append(r)
    return rows


def markdown(rows, have_coring):
    """Returns the Markdown table and its footnotes."""
    head = ["operation", "unit"]
    if have_coring:
        head.append("coring")
    head += ["Go (1)", "Go (2)", "asyncio", "uvloop"]
    if have_coring:
        head += ["coring / Go", "asyncio / coring", "uvloop / coring"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|"]
    foot = []
    for r in rows:
        cells = [r["operation"], r["unit"]]
        na = r["not_applicable"]
        if have_coring:
            cells.append(fmt_ns(r["coring"], "coring" in na))
        for col in ("go1", "go2"):
            cell = fmt_ns(r[col], col in na)
            if col in r["marks"]:
                cell += " †"
            cells.append(cell)
        cells += [fmt_ns(r["asyncio"], "asyncio" in na), fmt_ns(r["uvloop"], "uvloop" in na)]
        if have_coring:
            cmp_go = fmt_ratio(r["coring_over_go"])
            if r["coring_over_go"] is None and r["marks"] and r["coring"] is not None:
                cmp_go = "n/c †"
            cells += [cmp_go, fmt_ratio(r["asyncio_over_coring"]), fmt_ratio(r["uvloop_over_coring"])]
        lines.append("| " + " | ".join(cells) + " |")
        if r["marks"]:
            foot.append(barge_note(r))
    return "\n".join(lines), foot


# Issue 6's targets against the peers: (text, row label, ratio key, bound, "<=" or ">=").
TARGETS = [
    ("spawn + join <= 0.25x Go's go + channel", "spawn + join", "coring_over_go", 0.25, "<="),
    ("queue ping-pong <= 0.2x Go's unbuffered channel", "queue ping-pong (Go: unbuffered channels)",
     "coring_over_go", 0.2, "<="),
    ("lock uncontended <= 1.0x Go's sync.Mutex", "lock, uncontended", "coring_over_go", 1.0, "<="),
]


def switch_targets(coring):
    """Returns issue 6's two targets against boost.context's fiber switch (same binary, same
    run) as dicts like targets(), with the ns figures; [] if the rows are missing."""
    base = coring.get("boost_fiber_switch", {}).get("ns_per_op")
    out = []
    for text, op, bound in (("yield between two tasks <= 2x boost.context's fiber switch", "yield", 2.0),
                            ("... the same, both tasks in the same loop (coring/yield_symmetric)",
                             "yield_symmetric", 2.0),
                            ("raw context switch <= 1.0x boost.context's fiber switch",
                             "context_switch", 1.0)):
        ns = coring.get(op, {}).get("ns_per_op")
        if base and ns:
            v = ns / base
            out.append({"target": text, "ratio": round(v, 3), "met": v <= bound,
                        "detail": f"{ns:.1f} vs {base:.1f} ns"})
    return out


def targets(rows, coring=None):
    """Returns issue 6's peer targets as dicts: text, measured ratio (None if missing), met."""
    by_label = {r["operation"]: r for r in rows}
    out = switch_targets(coring or {})
    for text, label, key, bound, sense in TARGETS:
        r = by_label.get(label)
        if r is None:  # left out by --only
            continue
        v = r[key]
        met = None if v is None else (v <= bound if sense == "<=" else v >= bound)
        out.append({"target": text, "ratio": v, "met": met})
    vs = [(r["asyncio_over_coring"], r["operation"]) for r in rows if r["asyncio_over_coring"]]
    if vs:
        v, worst = min(vs)
        out.append({"target": "every primitive >= 100x faster than asyncio", "ratio": v,
                    "met": v >= 100, "worst": worst})
    return out


def targets_markdown(ts):
    """Returns the targets as a Markdown table (coring / Go against the faster Go column;
    the switch targets against boost.context in coring-bench)."""
    lines = ["| issue 6 target | measured | met |", "|---|---:|---|"]
    for t in ts:
        what = t["target"] + (f" (lowest: {t['worst']})" if t.get("worst") else "")
        what += f" ({t['detail']})" if t.get("detail") else ""
        met = "—" if t["met"] is None else ("yes" if t["met"] else "no")
        lines.append(f"| {what} | {fmt_ratio(t['ratio'])} | {met} |")
    return "\n".join(lines)


def barge_note(r):
    """Returns the footnote of a hand-off row where a Go column barged (see barged)."""
    parts = []
    for col, line in r["marks"].items():
        procs = 1 if col == "go1" else 2
        parts.append(f"with GOMAXPROCS={procs} the holder changed on {rate(line.get('handoffs_per_release'))} "
                     f"of the releases, and one Unlock + Lock pair took {fmt_ns(line.get('ns_per_release'))} ns")
    return (f"† {r['operation']}, Go: sync.Mutex is not FIFO. The goroutine that unlocks locks again "
            "before the woken one runs, so the holder rarely changes: " + "; ".join(parts) + ". The "
            "Go figure is the time per actual change of holder. coring and asyncio hand the lock to "
            "the waiter on every release, so the loops do different work and no ratio is given (n/c).")


def machine_info(go_version, python):
    """Returns a dict describing the machine and the toolchains."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    _, pyver, _ = run([python, "-c", "import sys; print(sys.version.split()[0])"], 30)
    _, uvver, _ = run([python, "-c", "import uvloop; print(uvloop.__version__)"], 30)
    return {"kernel": platform.release(), "cpu": cpu, "cpus": os.cpu_count(),
            "go": go_version, "python": f"{python} {pyver.strip()}",
            "uvloop": uvver.strip() or None,
            "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def parse_args():
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Progress goes to stderr, the table to stdout. Every figure is the best of "
        "--runs runs (coring: of --runs Google Benchmark repetitions). coring / Go divides by "
        "the faster of the two Go columns.",
    )
    default_build = os.environ.get("CORING_BENCH_BUILD_DIR", str(REPO / "build" / "release"))
    ap.add_argument("--coring-bench", metavar="PATH",
                    help="coring-bench binary (default: <build dir>/bench/micro/coring-bench)")
    ap.add_argument("--coring-json", metavar="FILE",
                    help="use this coring-bench --benchmark_format=json output instead of running it")
    ap.add_argument("--coring-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for coring-bench (repeatable)")
    ap.add_argument("--build-dir", default=default_build,
                    help="where coring-bench is found and the Go peer is built, under peers/ "
                    "(default: $CORING_BENCH_BUILD_DIR or build/release)")
    ap.add_argument("--out", metavar="FILE", help="write every result as JSON to FILE")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="interpreter for the asyncio peer (default /usr/bin/python3: it has uvloop)")
    ap.add_argument("--runs", type=int, default=3, help="runs per operation, best reported (default 3)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the whole sequence (coring, Go, Python) this many times and keep "
                    "each figure's best, so that a burst of load elsewhere hits every column "
                    "alike (default 1)")
    ap.add_argument("--target", type=float, default=0.3, help="seconds per peer run (default 0.3)")
    ap.add_argument("--only", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                    help="comma-separated operation names (e.g. yield,queue_pingpong)")
    ap.add_argument("--quick", action="store_true",
                    help="1 run of 0.05 s per operation: checks that it works, nothing more")
    ap.add_argument("--no-coring", action="store_true", help="do not run coring-bench")
    ap.add_argument("--no-go", action="store_true", help="do not build or run the Go peer")
    ap.add_argument("--no-python", action="store_true", help="do not run the asyncio peer")
    ap.add_argument("--timeout", type=int, default=600, help="seconds allowed per program run (default 600)")
    a = ap.parse_args()
    a.build_dir = str(Path(a.build_dir).resolve())
    if a.quick:
        a.runs, a.target = 1, 0.05
    if a.runs < 1 or a.rounds < 1 or a.target <= 0:
        ap.error("--runs and --rounds must be >= 1 and --target > 0")
    return a


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    args = parse_args()
    notes = []
    known = {op for r in ROWS for op in r[1:4] if op}
    unknown = sorted(set(args.only or []) - known)
    if unknown:
        log(f"--only: unknown operation(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return 2
    load0 = loadavg()
    exe = go_version = None
    if not args.no_go:
        exe, go_version = build_go(args, notes)
    if args.no_coring:
        notes.append("coring-bench was not run (--no-coring): peers only.")
    coring, go1, go2, pya, uv, context = {}, {}, {}, {}, {}, None
    for rnd in range(args.rounds):
        if args.rounds > 1:
            log(f"== round {rnd + 1} of {args.rounds}")
        round_notes = notes if rnd == 0 else []  # a failure says the same every round
        if not args.no_coring:
            c, context = run_coring(args, round_notes)
            merge_best(coring, c)
        if exe:
            merge_best(go1, run_go(exe, 1, args, round_notes))
            merge_best(go2, run_go(exe, 2, args, round_notes))
        if not args.no_python:
            merge_best(pya, run_python("asyncio", args, round_notes))
            merge_best(uv, run_python("uvloop", args, round_notes))
    load1 = loadavg()

    info = machine_info(go_version, args.python)
    info["loadavg_1min_before_after"] = [load0, load1]
    rows = build_rows(args, coring, go1, go2, pya, uv)
    table, foot = markdown(rows, bool(coring))

    print(f"coring next to its peers: {info['date_utc']}, kernel {info['kernel']}, "
          f"{info['cpus']} CPUs ({info['cpu']}), {info['go'] or 'no Go'}, "
          f"Python {info['python']}, uvloop {info['uvloop'] or 'missing'}; "
          f"load average {load0} before, {load1} after.")
    rounds = f" ({args.rounds} rounds of {args.runs})" if args.rounds > 1 else ""
    print(f"Each figure is the best of {args.runs * args.rounds} runs{rounds}, in ns per operation; "
          "Go (n) is GOMAXPROCS=n.")
    print()
    print(table)
    print()
    for n in foot + notes:
        print(f"- {n}")
    ts = targets(rows, coring) if coring else []
    if ts:
        print()
        print(targets_markdown(ts))
    if args.out:
        doc = {"machine": info, "coring_context": context, "runs": args.runs, "rounds": args.rounds,
               "target_s": args.target, "notes": foot + notes, "targets": ts,
               "results": list(coring.values()) + [dict(v, gomaxprocs=1) for v in go1.values()]
               + [dict(v, gomaxprocs=2) for v in go2.values()] + list(pya.values())
               + list(uv.values()),
               "table": [{k: v for k, v in r.items() if k != "marks"} |
                         {"barged": sorted(r["marks"])} for r in rows]}
        Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
        log(f"== wrote {args.out}")
    have_any = coring or go1 or go2 or pya or uv
    return 0 if have_any else 1


if __name__ == "__main__":
    sys.exit(main())
