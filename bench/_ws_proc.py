"""Process helpers for ``bench/ws_fanout.py``: CPU and memory of a process from the OS, the
server and load-generator subprocesses, and latency histograms."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads), from /proc/PID/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Proc:
    """A child process driven by JSON lines on stdin/stdout."""

    name: str
    proc: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def call(self, cmd: dict[str, Any], limit_s: float = 60.0) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), limit_s)
        if not line:
            raise RuntimeError(f"{self.name} exited (rc={self.proc.returncode})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.name}: {reply['error']}")
        return reply

    async def stop(self, limit_s: float = 20.0) -> None:
        if self.proc.returncode is not None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), limit_s)
        except TimeoutError:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def spawn(name: str, script: str, *args: str, env: dict[str, str] | None = None) -> Proc:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / script),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
        cwd=str(ROOT),
        limit=2**26,
    )
    return Proc(name, proc)


async def start_server(kind: str, env: dict[str, str]) -> tuple[Proc, int]:
    proc = await spawn(f"server-{kind}", "_ws_server.py", kind, env=env)
    assert proc.proc.stdout is not None
    line = await asyncio.wait_for(proc.proc.stdout.readline(), 60)
    if not line.startswith(b"PORT "):
        raise RuntimeError(f"{kind} server did not start: {line!r}")
    return proc, int(line.split()[1])


async def wait_idle(pid: int, *, limit_s: float, window: float = 0.5, busy: float = 0.05) -> float:
    """Until the process used under ``busy`` of a core for two windows in a row; seconds waited."""
    start = time.perf_counter()
    quiet = 0
    last = cpu_seconds(pid)
    while time.perf_counter() - start < limit_s:
        await asyncio.sleep(window)  # a sampling period, not synchronisation
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - last <= busy * window else 0
        last = now
        if quiet >= 2:
            break
    return time.perf_counter() - start


def merge_hist(hists: list[dict[str, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for hist in hists:
        for key, count in hist.items():
            merged[int(key)] = merged.get(int(key), 0) + count
    return merged


def percentile_ms(hist: dict[int, int], q: float) -> float | None:
    """From a 0.1 ms histogram (bucket midpoints)."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return round((bucket + 0.5) / 10, 2)
    return round((max(hist) + 0.5) / 10, 2)
