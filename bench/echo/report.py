#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Turns the echo comparison's results.json into Markdown (usage: report.py results.json)."""
import json
import sys

# The targets for coring against the epoll baseline, at 50 connections x 64 B.
TARGET_LOAD = "50x64"
TARGETS = {"throughput": (">=", 1.15), "cpu": ("<=", 0.85), "p99": ("<=", 1.0)}


def load_name(ld):
    size = ld["size"]
    name = f"{ld['connections']} x " + (f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B")
    rate = ld.get("rate")
    if rate:
        name += f" @ {rate / 1000:g}k/s" if rate >= 1000 else f" @ {rate}/s"
    return name


def us(ns):
    if ns is None:
        return "-"
    v = ns / 1e3
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def behind(cell):
    """True when a fixed-rate run did not keep its schedule: the server was saturated."""
    rep, rate = cell.get("client"), cell["load"].get("rate")
    if not rep or not rate:
        return False
    due = rate * rep.get("duration_s", 0)
    return rep["messages_per_s"] < 0.97 * rate or rep.get("behind_schedule", 0) > 0.01 * due


def msgs(cell):
    rep = cell.get("client")
    if not rep:
        return "-"
    return (f"{rep['messages_per_s']:,.0f}" + (" (behind)" if behind(cell) else "")
            + (" (errors)" if cell["problems"] else ""))


def loads_of(cells):
    seen, out = set(), []
    for c in cells:
        if c["load"]["id"] not in seen:
            seen.add(c["load"]["id"])
            out.append(c["load"])
    return out


def throughput_matrix(servers, cells):
    by = {(c["server"], c["load"]["id"]): c for c in cells}
    cols = loads_of(cells)
    out = ["| server | " + " | ".join(load_name(ld) for ld in cols) + " |",
           "|---|" + "---:|" * len(cols)]
    for s in servers:
        row = [msgs(by[s, ld["id"]]) if (s, ld["id"]) in by else "-" for ld in cols]
        out.append(f"| {s} | " + " | ".join(row) + " |")
    return out


def detail_row(c, base):
    rep = c.get("client")
    errors = "**" + "; ".join(c["problems"]) + "**" if c["problems"] else "0"
    if not rep:
        return f"| {load_name(c['load'])} | {c['server']} |" + " - |" * 11 + f" {errors} |"
    brep = base.get("client") if base else None
    lat, wall, cpu = rep.get("latency_ns", {}), c["wall_s"], c.get("server_cpu_us_per_msg")
    cols = [
        load_name(c["load"]), c["server"], msgs(c),
        fmt_ratio(ratio(rep["messages_per_s"], brep and brep["messages_per_s"])),
        "-" if cpu is None else f"{cpu:.2f}",
        fmt_ratio(ratio(cpu, base and base.get("server_cpu_us_per_msg"))),
        f"{100 * c['server_cpu_s'] / wall:.0f}%", f"{100 * c['client_cpu_s'] / wall:.0f}%",
        f"{100 * c.get('others', 0):.0f}%",
        us(lat.get("p50")), us(lat.get("p99")), us(lat.get("p99_9")), us(lat.get("max")), errors,
    ]
    return "| " + " | ".join(cols) + " |"


def detail_table(cells):
    by = {(c["server"], c["load"]["id"]): c for c in cells}
    out = ["| load | server | msgs/s | vs epoll | server CPU µs/msg | vs epoll | server CPU "
           "| client CPU | others | p50 µs | p99 µs | p99.9 µs | max µs | errors |",
           "|---|---|" + "---:|" * 11 + "---|"]
    for ld in loads_of(cells):
        for c in cells:
            if c["load"]["id"] == ld["id"]:
                out.append(detail_row(c, by.get(("epoll", ld["id"]))))
    return out


def targets_table(cells):
    by = {(c["server"], c["load"]["id"]): c for c in cells}
    co, ep = by.get(("coring", TARGET_LOAD)), by.get(("epoll", TARGET_LOAD))
    if not co or not ep or "client" not in co or "client" not in ep:
        return []
    cr, er = co["client"], ep["client"]
    rows = [
        ("throughput (msgs/s)", "throughput", "{:,.0f}",
         cr["messages_per_s"], er["messages_per_s"]),
        ("server CPU per message (µs)", "cpu", "{:.2f}",
         co["server_cpu_us_per_msg"], ep["server_cpu_us_per_msg"]),
        ("p99 latency (µs)", "p99", "{:.0f}",
         cr["latency_ns"]["p99"] / 1e3, er["latency_ns"]["p99"] / 1e3),
    ]
    out = [f"coring against epoll at {load_name(co['load'])}, closed loop (the issue's targets):",
           "", "| measure | coring | epoll | coring / epoll | target | met |",
           "|---|---:|---:|---:|---|---|"]
    for label, key, f, a, b in rows:
        op, t = TARGETS[key]
        r = ratio(a, b)
        met = r is not None and (r >= t if op == ">=" else r <= t)
        out.append(f"| {label} | {'-' if a is None else f.format(a)} "
                   f"| {'-' if b is None else f.format(b)} | {fmt_ratio(r)} | {op} {t:.2f}x "
                   f"| {'yes' if met else '**no**'} |")
    return out


def header(meta):
    def v(key):
        return meta.get(key) or "?"

    threads = meta.get("client_threads", 1)
    return [
        "## Echo comparison", "",
        f"{meta['date']}, {meta['host']}: {meta['cpu']}, {meta['cpus']} CPUs, "
        f"Linux {meta['kernel']}. Each server on CPU {meta['server_cpu']}, coring-echo-client "
        f"({threads} thread{'s' if threads > 1 else ''}) on CPU {meta['client_cpu']}; "
        f"{meta['duration_s']:g} s per run, "
        f"{meta['runs']} run(s) per cell, in rounds that start every server in turn "
        f"(the median by msgs/s is shown). coring "
        f"{v('coring_version')}, {v('go')}, Python {v('python')}, uvloop {v('uvloop')}, "
        f"libuv {v('libuv')}.",
    ]


def markdown(result):
    meta, cells, checks = result["meta"], result["cells"], result.get("checks", {})
    lines = header(meta) + [
        "", "Messages per second (closed loop unless a rate is given; \"behind\": the server "
        "did not keep the fixed rate):", ""]
    lines += throughput_matrix(meta["servers"], cells)
    targets = targets_table(cells)
    if targets:
        lines += [""] + targets
    lines += [
        "", "Every cell. Server CPU per message: the server's utime + stime (/proc/PID/stat) "
        "over the client's run, connects and tear-down included, divided by the messages. "
        "Server and client CPU: share of one CPU over the client's run; a client near 100% "
        "set the pace, and the servers' msgs/s then say little (compare their CPU per "
        "message). Others: share of the pinned CPUs used by anything else (other processes, "
        "interrupts, hypervisor steal); above a few percent the cell was disturbed. "
        "Latency: per message, as "
        "coring-echo-client measures it (with a fixed rate, from the intended send time).", ""]
    lines += detail_table(cells)
    bad = [c for c in cells if c["problems"]]
    failed = [f"**{s}: {'; '.join(c['problems'])}**" for s, c in checks.items() if c["problems"]]
    lines += ["", "Errors: " + (f"{len(bad)} cell(s) with problems, see the errors column"
                                if bad else "none")
              + "; coring-echo-client verifies every echoed byte of every run."]
    if checks:
        lines.append(f"Check before measuring ({meta.get('check', '?')}): "
                     + ("; ".join(failed) if failed else f"passed by {', '.join(checks)}."))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    with open(sys.argv[1]) as f:
        print(markdown(json.load(f)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
