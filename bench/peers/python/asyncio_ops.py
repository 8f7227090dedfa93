#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Times asyncio's tasks and primitives (on asyncio's loop or uvloop) on the operations of coring's micro-benchmarks."""

import argparse
import asyncio
import json
import sys
import time

now = time.perf_counter_ns


# ---- tasks -------------------------------------------------------------------------------


async def op_yield(n):
    """Two tasks each await asyncio.sleep(0) n/2 times; ns per sleep(0)."""
    each = n // 2

    async def body():
        for _ in range(each):
            await asyncio.sleep(0)

    t0 = now()
    await asyncio.gather(body(), body())
    return now() - t0, 2 * each, {}


async def empty():
    """The spawned task's body."""


async def op_spawn_join(n):
    """create_task of an empty coroutine, then await the task; ns per spawn + join."""
    loop = asyncio.get_running_loop()
    t0 = now()
    for _ in range(n):
        await loop.create_task(empty())
    return now() - t0, n, {}


# ---- lock and semaphore ------------------------------------------------------------------


async def op_lock_uncontended(n):
    """asyncio.Lock acquire + release by one task, never contended."""
    lock = asyncio.Lock()
    t0 = now()
    for _ in range(n):
        await lock.acquire()
        lock.release()
    return now() - t0, n, {}


async def op_sem_uncontended(n):
    """asyncio.Semaphore(1) acquire + release by one task."""
    sem = asyncio.Semaphore(1)
    t0 = now()
    for _ in range(n):
        await sem.acquire()
        sem.release()
    return now() - t0, n, {}


async def op_lock_handoff(n):
    """Two tasks take turns on one asyncio.Lock as in coring's loop (release, acquire);
    ns per change of holder."""
    lock = asyncio.Lock()
    rounds = n // 2
    st = {"last": 0, "handoffs": 0}

    def take(me):
        if st["last"] != me:
            st["handoffs"] += 1
        st["last"] = me

    async def turns(me):
        for _ in range(rounds):
            lock.release()
            await lock.acquire()
            take(me)
        lock.release()

    async def peer():
        await lock.acquire()
        take(1)
        await turns(1)

    await lock.acquire()
    task = asyncio.get_running_loop().create_task(peer())
    await asyncio.sleep(0)  # the peer runs and blocks on the lock
    t0 = now()
    await turns(0)
    await task
    elapsed = now() - t0
    releases = 2 * rounds
    return elapsed, st["handoffs"], {
        "handoffs_per_release": st["handoffs"] / releases,
        "ns_per_release": elapsed / releases,
    }


# ---- event and condition -----------------------------------------------------------------


async def op_event_roundtrip(n):
    """A sets ping and waits for pong, B the other way round; each clears what it waited
    for.  ns per round trip."""
    ping, pong = asyncio.Event(), asyncio.Event()

    async def peer():
        for _ in range(n):
            await ping.wait()
            ping.clear()
            pong.set()

    task = asyncio.get_running_loop().create_task(peer())
    t0 = now()
    for _ in range(n):
        ping.set()
        await pong.wait()
        pong.clear()
    await task
    return now() - t0, n, {}


async def op_cond_roundtrip(n):
    """asyncio.Condition and a flag under it: A sets 1 and notifies, B sets 0 and
    notifies, 2 stops.  ns per round trip."""
    cond = asyncio.Condition()
    st = {"flag": 0}

    async def peer():
        async with cond:
            while True:
                while st["flag"] == 0:
                    await cond.wait()
                if st["flag"] == 2:
                    break
                st["flag"] = 0
                cond.notify()

    task = asyncio.get_running_loop().create_task(peer())
    t0 = now()
    async with cond:
        for _ in range(n):
            st["flag"] = 1
            cond.notify()
            while st["flag"] != 0:
                await cond.wait()
        st["flag"] = 2
        cond.notify()
    await task
    return now() - t0, n, {}


# ---- queues ------------------------------------------------------------------------------


async def op_queue_pingpong(n):
    """Two asyncio.Queue(1), one each way: put i, get the echo.  ns per round trip."""
    fwd, back = asyncio.Queue(1), asyncio.Queue(1)

    async def echo():
        for _ in range(n):
            await back.put(await fwd.get())

    task = asyncio.get_running_loop().create_task(echo())
    t0 = now()
    for i in range(n):
        await fwd.put(i)
        if await back.get() != i:
            raise RuntimeError("ping-pong: wrong value")
    await task
    return now() - t0, n, {}


async def op_queue_throughput(n):
    """The measuring task puts n items into an asyncio.Queue(1024) and a consumer task
    gets them in order.  ns per item."""
    q = asyncio.Queue(1024)

    async def consumer():
        for i in range(n):
            if await q.get() != i:
                raise RuntimeError("throughput: out of order")

    t0 = now()
    task = asyncio.get_running_loop().create_task(consumer())
    for i in range(n):
        await q.put(i)
    await task
    return now() - t0, n, {}


OPS = [
    ("yield", "ns/sleep(0)", op_yield),
    ("spawn_join", "ns/spawn+join", op_spawn_join),
    ("lock_uncontended", "ns/acquire+release", op_lock_uncontended),
    ("lock_handoff", "ns/hand-off", op_lock_handoff),
    ("event_rt", "ns/round trip", op_event_roundtrip),
    ("cond_rt", "ns/round trip", op_cond_roundtrip),
    ("sem_acquire_release", "ns/acquire+release", op_sem_uncontended),
    ("queue_pingpong", "ns/round trip", op_queue_pingpong),
    ("queue_throughput", "ns/item", op_queue_throughput),
]


def ns_per_op(r):
    elapsed, ops, _ = r
    return elapsed / ops if ops > 0 else float("inf")


async def measure(fn, target_ns, runs):
    """Calibrates n so that one run takes about target_ns, then returns the best of runs
    runs (lowest ns per operation), n and every run's figure."""
    n = 16
    while True:
        elapsed, _, _ = await fn(n)
        if elapsed >= target_ns / 10 or n >= 1 << 30:
            n = max(2, int(n * target_ns / max(elapsed, 1)))
            break
        n *= 4
    results = [await fn(n) for _ in range(runs)]
    best = min(results, key=ns_per_op)
    return best, n, [ns_per_op(r) for r in results]


async def run_all(prefix, names, target_ns, runs):
    for name, unit, fn in OPS:
        if names and name not in names:
            continue
        best, n, all_ns = await measure(fn, target_ns, runs)
        line = {
            "name": f"{prefix}/{name}",
            "ns_per_op": round(ns_per_op(best), 3),
            "unit": unit,
            "iterations": n,
            "ops": best[1],
            "runs_ns": [round(x, 3) for x in all_ns],
        }
        line.update(best[2])  # unrounded: a rate such as 0.0001 must not become 0
        print(json.dumps(line), flush=True)


def new_loop(kind):
    """Returns a new event loop of the given kind ("asyncio" or "uvloop")."""
    if kind == "uvloop":
        import uvloop  # Debian's python3-uvloop; exits below if it is missing

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__,
        epilog='Prints one JSON line per operation: {"name": "python-<loop>/<op>", '
        '"ns_per_op": X, ...}.  Run it with /usr/bin/python3 (Debian), which has uvloop.',
    )
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("--op", default="all", help="comma-separated operations, or all")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per operation (best is printed)")
    ap.add_argument("--target", type=float, default=0.3, help="seconds per run (default 0.3)")
    ap.add_argument("--list", action="store_true", help="print the operation names and exit")
    a = ap.parse_args()
    if a.list:
        for name, unit, _ in OPS:
            print(f"{name}\t{unit}")
        return 0
    names = set() if a.op == "all" else {s.strip() for s in a.op.split(",") if s.strip()}
    unknown = names - {name for name, _, _ in OPS}
    if unknown:
        print(f"unknown operation(s): {', '.join(sorted(unknown))} (see --list)", file=sys.stderr)
        return 2
    try:
        loop = new_loop(a.loop)
    except ImportError as e:
        print(f"{a.loop} is not available for {sys.executable}: {e}", file=sys.stderr)
        return 3
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(run_all(f"python-{a.loop}", names, a.target * 1e9, a.runs))
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
