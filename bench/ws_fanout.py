"""Websocket broadcast fan-out benchmark: our gateway vs a python-socketio server, side by side.

Processes (2 cores, so CPU is read from the OS per process, never inferred from wall time):
- server under test: uvicorn + ``server.app.create_app`` (SQLite in a temp dir, rate limits and
  the send queue raised) — ``bench/_ws_server.py ours``;
- baseline: uvicorn + python-socketio ``AsyncServer`` — ``bench/_ws_server.py socketio``
  (see ``bench/socketio_baseline.py`` for what it does and why it is a fair baseline);
- ``--procs`` load-generator processes (``bench/_ws_clients.py``), each holding its share of
  the simulated students of both servers as light raw-websocket clients.

For each level (100, 1000, 5000 connected students; ``--quick``: 100 and 1000), clients are
added to both servers, then, once the server is idle again (our presence.joined storm at
connect work is left out of every figure):
1. memory: server RSS delta (/proc/PID/status VmRSS) over the added connections;
2. latency: ``--rate`` broadcasts a second for ``--seconds``: students in turn ask a Q&A
   question (``qna.asked`` goes to the whole session and is logged; socketio: a ``hand`` event
   emitted to the room; hand raises are not used for ours since a student's hand goes to
   staff only and the queue length is coalesced); every
   client computes receipt time minus the frame's server time ``at`` -> p50/p99 (ours: ``at``
   is taken before the event is stored, so it includes the durable append; socketio: just
   before ``emit``);
3. throughput, A B A B: a burst of questions; deliveries per second
   (first send to last receipt) and server CPU (utime+stime, /proc/PID/stat) per delivery,
   median of the two trials; the ratio is ours/socketio in deliveries per server CPU second.

Usage: .venv/bin/python bench/ws_fanout.py [--quick] [--procs 2] [--rate 4] [--seconds 5]
The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._ws_proc import (
    Proc,
    cpu_seconds,
    merge_hist,
    percentile_ms,
    rss_kib,
    spawn,
    start_server,
    wait_idle,
)
from bench._ws_seed import seed
from server.settings import Settings

KINDS = ("ours", "sio")
GOALS = {"p99_ms_1000": 50.0, "p99_ms_5000": 150.0, "cpu_us_per_delivery": 15.0,
         "kib_per_idle_conn": 40.0, "ratio_vs_socketio": 2.0}  # fmt: skip


class Bench:
    def __init__(self, args: argparse.Namespace, servers: dict[str, tuple[Proc, int]],
                 session_id: int, tokens: list[str], clients: list[Proc]) -> None:  # fmt: skip
        self.args = args
        self.servers = servers
        self.session_id = session_id
        self.tokens = tokens
        self.clients = clients
        self.connected = {kind: 0 for kind in KINDS}
        self.offset = 0

    def pid(self, kind: str) -> int:
        return self.servers[kind][0].pid

    async def each(self, make: Any, limit_s: float = 60.0) -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(*(c.call(make(i), limit_s) for i, c in enumerate(self.clients)))
        )

    async def grow(self, kind: str, total: int) -> dict[str, Any]:
        """Connect clients up to ``total``, wait until the server is idle, measure RSS."""
        have, procs = self.connected[kind], len(self.clients)
        pid = self.pid(kind)
        rss_before = rss_kib(pid)
        cpu_before = cpu_seconds(pid)
        port = self.servers[kind][1]
        t0 = time.perf_counter()
        timeout = 60 + total / 20

        def cmd(i: int) -> dict[str, Any]:
            base: dict[str, Any] = {
                "cmd": "connect", "kind": kind, "host": "127.0.0.1", "port": port,
                "concurrency": 50, "timeout": timeout,
            }  # fmt: skip
            if kind == "ours":
                base["path"] = f"/ws/sessions/{self.session_id}"
                base["tokens"] = self.tokens[have:total][i::procs]
            else:
                base["path"] = "/socket.io/?EIO=4&transport=websocket"
                base["count"] = len(range(have + i, total, procs))
            return base

        replies = await self.each(cmd, timeout + 30)
        connect_s = time.perf_counter() - t0
        made = sum(r["connected"] for r in replies)
        failed = sum(r["failed"] for r in replies)
        idle_s = await wait_idle(pid, limit_s=timeout * 4)
        await asyncio.sleep(0.5)  # let the allocator settle before reading RSS
        rss_after = rss_kib(pid)
        self.connected[kind] = have + made
        return {
            "added": made, "failed": failed, "connect_s": round(connect_s, 2),
            "settle_s": round(idle_s, 2), "connect_cpu_s": round(cpu_seconds(pid) - cpu_before, 2),
            "rss_kib": rss_after,
            "kib_per_conn": round((rss_after - rss_before) / made, 2) if made else None,
        }  # fmt: skip

    async def stats(self, kind: str, hist: bool = False) -> list[dict[str, Any]]:
        return await self.each(lambda _: {"cmd": "stats", "kind": kind, "hist": hist})

    async def wait_marks(self, kind: str, broadcasts: int, limit_s: float) -> list[dict[str, Any]]:
        """Until every connection got every broadcast (and, ours, every sender its acks), or no
        progress for 3 s while the server is idle."""
        pid = self.pid(kind)
        start = time.perf_counter()
        last, last_change, cpu_at_change = -1, start, cpu_seconds(pid)
        replies = await self.stats(kind)
        while time.perf_counter() - start < limit_s:
            replies = await self.stats(kind)
            marks = sum(r["marks"] for r in replies)
            acks = sum(r["acks"] + r["errors"] for r in replies)
            events = sum(r["acked_events"] for r in replies) if kind == "ours" else broadcasts
            if kind == "ours" and acks >= broadcasts and marks >= events * self.connected[kind]:
                break
            if kind == "sio" and marks >= broadcasts * self.connected[kind]:
                break
            now = time.perf_counter()
            if marks + acks != last:
                last, last_change, cpu_at_change = marks + acks, now, cpu_seconds(pid)
            elif now - last_change > 3.0 and cpu_seconds(pid) - cpu_at_change < 0.1:
                break
            await asyncio.sleep(0.05)  # polling period
        return await self.stats(kind, hist=True)

    async def send(self, kind: str, count: int, spacing: float, senders: int) -> None:
        procs = len(self.clients)
        per = [len(range(i, count, procs)) for i in range(procs)]

        def cmd(i: int) -> dict[str, Any]:
            return {
                "cmd": "send", "kind": kind, "count": per[i], "spacing": spacing * procs,
                "senders": senders, "offset": self.offset,
            }  # fmt: skip

        await self.each(cmd, limit_s=60 + count * spacing * 2)
        self.offset += max(per)

    async def trial(self, kind: str, count: int, spacing: float, senders: int) -> dict[str, Any]:
        """Send ``count`` broadcasts (questions; socketio: hand events); their delivery."""
        await self.each(lambda _: {"cmd": "reset", "kind": kind})
        pid = self.pid(kind)
        cpu0 = cpu_seconds(pid)
        load0 = sum(cpu_seconds(c.pid) for c in self.clients)
        t0 = time.time()
        await self.send(kind, count, spacing, senders)
        replies = await self.wait_marks(kind, count, limit_s=60 + count * spacing * 2)
        cpu = cpu_seconds(pid) - cpu0  # up to the last delivery (the poll adds <= 50 ms idle)
        load_cpu = sum(cpu_seconds(c.pid) for c in self.clients) - load0
        t_last = max(r["last_mark"] for r in replies)
        await wait_idle(pid, limit_s=30)
        hist = merge_hist([r["hist"] for r in replies])
        delivered = sum(r["marks"] for r in replies)
        refused = sum(r["errors"] for r in replies)
        events = sum(r["acked_events"] for r in replies) if kind == "ours" else count
        expected = events * self.connected[kind]
        span = max(t_last - t0, 1e-6)
        return {
            "broadcasts": count, "events": events, "refused": refused, "delivered": delivered,
            "missing": expected - delivered,
            "p50_ms": percentile_ms(hist, 0.50), "p99_ms": percentile_ms(hist, 0.99),
            "max_ms": percentile_ms(hist, 1.0),
            "deliveries_per_s": round(delivered / span), "server_cpu_s": round(cpu, 3),
            "loadgen_cpu_s": round(load_cpu, 2), "wall_s": round(span, 2),
            "cpu_us_per_delivery": round(cpu / delivered * 1e6, 2) if delivered else None,
            "closed": sum(r["closed"] for r in replies),
            "error_samples": [s for r in replies for s in r["error_samples"]][:3],
        }  # fmt: skip

    async def level(self, n: int) -> dict[str, Any]:
        out: dict[str, Any] = {"clients": n}
        for kind in KINDS:
            out[f"{kind}_connect"] = await self.grow(kind, n)
            print(f"  [{n}] {kind} connected: {out[f'{kind}_connect']}", flush=True)
        senders_paced = min(n // len(self.clients), 200)
        for kind in KINDS:
            count = max(1, round(self.args.rate * self.args.seconds))
            out[f"{kind}_latency"] = await self.trial(kind, count, 1 / self.args.rate,
                                                      senders_paced)  # fmt: skip
            print(f"  [{n}] {kind} latency: {out[f'{kind}_latency']}", flush=True)
        burst = min(n, max(20, self.args.burst_deliveries // n))
        trials: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        for _ in range(self.args.trials):
            for kind in KINDS:  # A B A B
                result = await self.trial(kind, burst, 0.0, burst // len(self.clients) + 1)
                trials[kind].append(result)
                print(f"  [{n}] {kind} burst: {result}", flush=True)
        for kind in KINDS:
            rows = trials[kind]
            out[f"{kind}_burst"] = {
                "trials": rows,
                "deliveries_per_s": statistics.median(r["deliveries_per_s"] for r in rows),
                "cpu_us_per_delivery": round(statistics.median(
                    r["cpu_us_per_delivery"] or float("inf") for r in rows
                ), 2),
                "p99_ms": round(statistics.median(r["p99_ms"] or float("inf") for r in rows), 1),
            }  # fmt: skip
        ours = out["ours_burst"]["cpu_us_per_delivery"]
        out["ratio_vs_socketio"] = round(out["sio_burst"]["cpu_us_per_delivery"] / ours, 2)
        paced = out["ours_latency"]["cpu_us_per_delivery"]
        sio_paced = out["sio_latency"]["cpu_us_per_delivery"]
        out["ratio_vs_socketio_paced"] = (
            round(sio_paced / paced, 2) if paced and sio_paced else None
        )
        return out


def _settings(tmp: Path, args: argparse.Namespace) -> tuple[Settings, dict[str, str]]:
    env = {
        "HYFLEX_DATA_DIR": str(tmp / "data"),
        "HYFLEX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
        "HYFLEX_SECRET_KEY": secrets.token_urlsafe(48),
        "HYFLEX_WS_RATE_PER_SECOND": "1000",
        "HYFLEX_WS_RATE_BURST": "2000",
        "HYFLEX_WS_SEND_QUEUE": str(args.send_queue),
    }
    settings = Settings(
        data_dir=tmp / "data", database_url=env["HYFLEX_DATABASE_URL"],
        secret_key=env["HYFLEX_SECRET_KEY"],
    )  # fmt: skip
    return settings, env


def _table(levels: list[dict[str, Any]]) -> str:
    head = (f"{'clients':>7} {'server':>6} {'p50 ms':>8} {'p99 ms':>8} {'burst p99':>9} "
            f"{'deliv/s':>9} {'us/deliv':>9} {'KiB/conn':>9} {'ratio':>6}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for lv in levels:
        for kind in KINDS:
            lat, burst, conn = lv[f"{kind}_latency"], lv[f"{kind}_burst"], lv[f"{kind}_connect"]
            ratio = f"{lv['ratio_vs_socketio']:>6}" if kind == "ours" else f"{'':>6}"
            lines.append(
                f"{lv['clients']:>7} {kind:>6} {lat['p50_ms']!s:>8} {lat['p99_ms']!s:>8} "
                f"{burst['p99_ms']!s:>9} {burst['deliveries_per_s']:>9} "
                f"{burst['cpu_us_per_delivery']:>9} {conn['kib_per_conn']!s:>9} {ratio}"
            )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    levels = [100, 1000] if args.quick else [int(x) for x in args.levels.split(",")]
    need = 2 * max(levels) + 200
    fds = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if fds < need:
        raise SystemExit(f"open files limit {fds} < {need}: raise it (ulimit -n)")
    tmp = Path(tempfile.mkdtemp(prefix="hyflex-wsbench-"))
    started = time.perf_counter()
    procs: list[Proc] = []
    try:
        settings, env = _settings(tmp, args)
        seeded = await seed(settings, max(levels))
        print(f"seeded {len(seeded.tokens)} students in {time.perf_counter() - started:.1f}s",
              flush=True)  # fmt: skip
        ours = await start_server("ours", env)
        sio = await start_server("socketio", {})
        procs += [ours[0], sio[0]]
        clients = [await spawn(f"clients-{i}", "_ws_clients.py") for i in range(args.procs)]
        procs += clients
        bench = Bench(args, {"ours": ours, "sio": sio}, seeded.session_id, seeded.tokens, clients)
        results = []
        for n in levels:
            print(f"level {n} ({time.perf_counter() - started:.0f}s)", flush=True)
            results.append(await bench.level(n))
        print(_table(results), flush=True)
        return _summary(results, args, time.perf_counter() - started)
    finally:
        for proc in reversed(procs):
            await proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _summary(
    results: list[dict[str, Any]], args: argparse.Namespace, wall: float
) -> dict[str, Any]:
    by_n = {r["clients"]: r for r in results}
    top = results[-1]
    prev = results[-2] if len(results) > 1 else None
    # Memory: the slope between the two largest levels (excludes runtime loading and warm-up).
    if prev is not None:
        added = top["ours_connect"]["added"]
        kib = (top["ours_connect"]["rss_kib"] - prev["ours_connect"]["rss_kib"]) / max(added, 1)
        sio_kib = (top["sio_connect"]["rss_kib"] - prev["sio_connect"]["rss_kib"]) / max(
            top["sio_connect"]["added"], 1
        )
    else:
        kib = top["ours_connect"]["kib_per_conn"]
        sio_kib = top["sio_connect"]["kib_per_conn"]
    summary: dict[str, Any] = {
        "bench": "ws_fanout",
        "quick": args.quick,
        "p99_ms_100": by_n.get(100, {}).get("ours_latency", {}).get("p99_ms"),
        "p99_ms_1000": by_n.get(1000, {}).get("ours_latency", {}).get("p99_ms"),
        "p99_ms_5000": by_n.get(5000, {}).get("ours_latency", {}).get("p99_ms"),
        "cpu_us_per_delivery": top["ours_burst"]["cpu_us_per_delivery"],
        "cpu_us_per_delivery_at": top["clients"],
        "cpu_us_per_delivery_paced": top["ours_latency"]["cpu_us_per_delivery"],
        "socketio_cpu_us_per_delivery": top["sio_burst"]["cpu_us_per_delivery"],
        "socketio_cpu_us_per_delivery_paced": top["sio_latency"]["cpu_us_per_delivery"],
        "deliveries_per_s": top["ours_burst"]["deliveries_per_s"],
        "socketio_deliveries_per_s": top["sio_burst"]["deliveries_per_s"],
        "kib_per_idle_conn": round(kib, 2),
        "socketio_kib_per_idle_conn": round(sio_kib, 2),
        "ratio_vs_socketio": top["ratio_vs_socketio"],
        "ratio_vs_socketio_at": top["clients"],
        "ratio_vs_socketio_paced": top["ratio_vs_socketio_paced"],
        "socketio_p99_ms_1000": by_n.get(1000, {}).get("sio_latency", {}).get("p99_ms"),
        "socketio_p99_ms_5000": by_n.get(5000, {}).get("sio_latency", {}).get("p99_ms"),
        "rate_per_s": args.rate,
        "wall_s": round(wall, 1),
    }
    for key, goal in GOALS.items():
        for name in (key, f"{key}_paced"):
            value = summary.get(name)
            if value is not None:
                ok = value >= goal if key == "ratio_vs_socketio" else value <= goal
                summary[f"pass_{name}"] = ok
    summary["levels"] = [
        {k: (v if not k.endswith("_burst") else {kk: vv for kk, vv in v.items() if kk != "trials"}
             | {"trials": [{kk: vv for kk, vv in t.items() if kk != "error_samples"}
                           for t in v["trials"]]})
         for k, v in lv.items()}
        for lv in results
    ]  # fmt: skip
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1000 clients only")
    parser.add_argument("--levels", default="100,1000,5000")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--rate", type=float, default=4.0, help="paced broadcasts per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="paced phase length")
    parser.add_argument("--burst-deliveries", type=int, default=200_000)
    parser.add_argument("--trials", type=int, default=2, help="A B pairs per level")
    parser.add_argument("--send-queue", type=int, default=20_000)
    args = parser.parse_args()
    summary = asyncio.run(run(args))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
