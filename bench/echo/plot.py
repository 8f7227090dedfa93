#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Plots the echo comparison's results.json: throughput, CPU per message, latency CDFs at 50 x 64 B.

usage: /usr/bin/python3 plot.py results.json echo.png

coring-echo-client reports latency as percentiles (p50, p90, p99, p99.9, max), not a
histogram, so each CDF is a step function through those points (min at 0).  The y axis is
logit-scaled so that the tail is readable; max is drawn at 0.9999.
"""
import json
import sys

import matplotlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from report import load_name  # noqa: E402

CDF_LOAD = (50, 64)  # connections, size: the load the targets are about
# The client's percentiles and where the CDF puts them (min at ~0, max at the top).
POINTS = [("min", 1e-4), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999),
          ("max", 0.9999)]
COLORS = {"coring": "tab:red", "epoll": "tab:blue", "libuv": "tab:cyan", "go": "tab:green",
          "asyncio": "tab:purple", "uvloop": "tab:orange"}


def bars(ax, meta, cells, value, ylabel, title):
    """Grouped bars: one group per load, one bar per server; value(cell) -> float or None."""
    loads, seen = [], set()
    for c in cells:
        if c["load"]["id"] not in seen:
            seen.add(c["load"]["id"])
            loads.append(c["load"])
    servers = meta["servers"]
    by = {(c["server"], c["load"]["id"]): c for c in cells}
    width = 0.8 / max(len(servers), 1)
    for i, s in enumerate(servers):
        xs = [j + (i - (len(servers) - 1) / 2) * width for j in range(len(loads))]
        ys = [value(by[s, ld["id"]]) if (s, ld["id"]) in by else None for ld in loads]
        ax.bar(xs, [y or 0 for y in ys], width, label=s, color=COLORS.get(s))
    ax.set_xticks(range(len(loads)))
    ax.set_xticklabels([load_name(ld).replace(" @ ", "\n@ ") for ld in loads], fontsize="small")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(ncol=3, fontsize="x-small")
    ax.grid(axis="y", alpha=0.3)


def msgs_per_s(cell):
    rep = cell.get("client")
    return rep["messages_per_s"] / 1e3 if rep else None


def cpu_per_msg(cell):
    return cell.get("server_cpu_us_per_msg")


def cdf(ax, meta, cells, rate):
    drawn = 0
    for c in cells:
        ld, rep = c["load"], c.get("client")
        if (ld["connections"], ld["size"]) != CDF_LOAD or bool(ld.get("rate")) != rate or not rep:
            continue
        lat = rep["latency_ns"]
        xs = [lat[k] / 1e3 for k, _ in POINTS]
        ys = [q for _, q in POINTS]
        ax.step(xs, ys, where="post", marker=".", label=c["server"], color=COLORS.get(c["server"]))
        drawn += 1
        title = load_name(ld)
    if not drawn:
        ax.set_visible(False)
        return
    ax.set_xscale("log")
    ax.set_yscale("logit")
    ax.set_ylim(0.3, 0.99995)
    ax.set_yticks([0.5, 0.9, 0.99, 0.999, 0.9999])
    ax.set_yticklabels(["p50", "p90", "p99", "p99.9", "max"])
    ax.minorticks_off()
    ax.set_xlabel("latency (µs)")
    ax.set_title(f"Latency CDF, {title}")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    with open(sys.argv[1]) as f:
        result = json.load(f)
    meta, cells = result["meta"], result["cells"]
    fig = plt.figure(figsize=(14, 10), layout="constrained")
    grid = fig.add_gridspec(2, 2)
    bars(fig.add_subplot(grid[0, 0]), meta, cells, msgs_per_s, "thousand messages / s",
         "Throughput (closed loop unless a rate is given)")
    bars(fig.add_subplot(grid[0, 1]), meta, cells, cpu_per_msg, "µs of server CPU / message",
         "Server CPU per message (lower is better)")
    cdf(fig.add_subplot(grid[1, 0]), meta, cells, rate=False)
    cdf(fig.add_subplot(grid[1, 1]), meta, cells, rate=True)
    fig.suptitle(f"Echo servers on one CPU, coring-echo-client on another — {meta['cpu']}, "
                 f"Linux {meta['kernel']}, {meta['date'][:10]}", fontsize="medium")
    fig.savefig(sys.argv[2], dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
