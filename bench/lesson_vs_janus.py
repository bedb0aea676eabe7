"""Benchmark: a lesson's media through our relay and through Janus, side by side.

The media of one lesson as in `bench/lesson_capacity.py` (the teacher's 640x480 camera-like
camera, microphone and a slides-like screen to 4 sites and 20 remote students; the 4 sites'
camera and microphone back to the teacher; content from bench/_media_content.py, its bitrate
as there), carried by our relay (streaming.MediaRoom, on uvloop, in its own process) and by
Janus 1.1 (Debian's `janus`, written in C; its VideoRoom plugin, one multistream subscriber a
receiver), A B A B. Publishers and subscribers are the same processes in both cases (light
subscribers count frames from RTP marker bits); only the relay's CPU is counted
(/proc/PID/stat over one window). No websockets here: the server's share of a lesson is in
`bench/lesson_capacity.py`. Needs `janus` installed (`apt-get install janus`).

    .venv/bin/python bench/lesson_vs_janus.py           # 2 pairs, 40 s windows, ~6 minutes
    .venv/bin/python bench/lesson_vs_janus.py --quick   # 1 pair, 20 s windows
    .venv/bin/python bench/lesson_vs_janus.py --audio   # per audio subscriber instead

``--audio``: one publisher (microphone, Opus at 50 packets a second, with the slides-like
screen), 8 then 32 subscribers of its microphone alone; the relay's CPU per audio subscriber
is the slope between the two, as in `bench/media_relay.py`, for both relays, A B A B.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._janus import janus_available
from bench._media_content import prepare
from bench._media_roles import ICE_ADDRESS_ENV, Child, cpu_split
from bench.lesson_capacity import (
    LESSON,
    PEERS_PER_PROCESS,
    count_frames,
    start_media,
    start_relay,
    stop_all,
)

NAMESPACE = "hyflex-bench"  # a network namespace of the benchmark's own
ADDRESS = "10.77.0.1"  # on a veth pair inside it: Janus gathers no loopback candidates
SETTLE_SECONDS = 5.0  # after the last subscriber's first frame: joins and keyframes settle
AUDIO_FEW, AUDIO_MANY = 8, 32  # audio subscribers: the per-subscriber figure is the slope


@dataclass
class Window:
    """What one measured window saw: relay CPU seconds (user, system), frame rates by kind."""

    seconds: float
    user: float
    system: float
    rates: dict[str, list[float]]

    def pct(self, cpu_seconds: float) -> float:
        return round(cpu_seconds / self.seconds * 100, 2)


async def measure(relay_pid: int, subs: list[Child], window: float) -> Window:
    await asyncio.sleep(SETTLE_SECONDS)  # part of the scenario: measure the steady state
    before = await count_frames(subs)
    user0, system0 = cpu_split(relay_pid)
    t0 = time.monotonic()
    await asyncio.sleep(window)  # the measured window
    elapsed = time.monotonic() - t0
    user1, system1 = cpu_split(relay_pid)
    after = await count_frames(subs)
    rates: dict[str, list[float]] = {}
    for a, b in zip(after, before, strict=True):
        for name, frames in a.items():
            rates.setdefault(name[:5], []).append((frames - b[name]) / elapsed)
    return Window(elapsed, user1 - user0, system1 - system0, rates)


async def run_case(relay_role: str, content: str, window: float) -> dict[str, Any]:
    children: list[Child] = []
    subs: list[Child] = []
    try:
        relay_pid, _, subs = await start_media(content, children, relay_role)
        seen = await measure(relay_pid, subs, window)
    finally:
        await stop_all(children, subs)
    rates = seen.rates
    return {
        "relay": relay_role,
        "cpu_pct": seen.pct(seen.user + seen.system),
        "user_system_pct": [seen.pct(seen.user), seen.pct(seen.system)],
        "video_fps_min": round(min(rates["video"]), 1),
        "audio_pps_min": round(min(rates["audio"]), 1),
        "tracks": sum(len(kind) for kind in rates.values()),
    }


async def audio_case(relay_role: str, content: str, count: int, window: float) -> dict[str, Any]:
    """One publisher's microphone to ``count`` subscribers; relay CPU and the slowest rate."""
    children: list[Child] = []
    subs: list[Child] = []
    try:
        port, relay_pid = await start_relay(children, relay_role)
        publisher = await Child.start(LESSON, "--role", "publisher", "--port", port,
                                      "--content", content, "--pid", "teacher",
                                      "--video", "greybar")  # fmt: skip
        children.append(publisher)
        await publisher.read()
        for index in range(0, count, PEERS_PER_PROCESS):
            peers = str(min(PEERS_PER_PROCESS, count - index))
            subs.append(
                await Child.start(LESSON, "--role", "subscriber", "--port", port, "--prefix",
                                  f"a{index}-", "--count", peers, "--publishers", "teacher",
                                  "--labels", "microphone")
            )  # fmt: skip
        children.extend(subs)
        for sub in subs:
            await sub.read(180)
        seen = await measure(relay_pid, subs, window)
    finally:
        await stop_all(children, subs)
    return {
        "relay": relay_role,
        "subscribers": count,
        "cpu_pct": seen.pct(seen.user + seen.system),
        "audio_pps_min": round(min(seen.rates["audio"]), 1),
    }


async def orchestrate_audio(pairs: int, window: float) -> dict[str, Any]:
    slopes: dict[str, list[float]] = {"relay": [], "janus": []}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="audio-janus-") as tmp:
        content = str(prepare(["greybar"], Path(tmp)))
        for _ in range(pairs):
            for role in ("relay", "janus"):
                low = await audio_case(role, content, AUDIO_FEW, window)
                high = await audio_case(role, content, AUDIO_MANY, window)
                for run in (low, high):
                    print(json.dumps(run), flush=True)
                runs.extend((low, high))
                slope = (high["cpu_pct"] - low["cpu_pct"]) / (AUDIO_MANY - AUDIO_FEW)
                slopes[role].append(round(slope, 4))
    return {
        "bench": "lesson_vs_janus_audio",
        "window_s": window,
        "runs": runs,
        "ours_cpu_pct_per_audio_subscriber": slopes["relay"],
        "janus_cpu_pct_per_audio_subscriber": slopes["janus"],
        "goal_cpu_pct_per_audio_subscriber": 0.05,
        "cores": os.cpu_count(),
    }


async def orchestrate(pairs: int, window: float) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="lesson-janus-") as tmp:
        content = str(prepare(["480p", "greybar"], Path(tmp)))
        for _ in range(pairs):
            for role in ("relay", "janus"):
                run = await run_case(role, content, window)
                print(json.dumps(run), flush=True)
                runs.append(run)
    ours = [r["cpu_pct"] for r in runs if r["relay"] == "relay"]
    janus = [r["cpu_pct"] for r in runs if r["relay"] == "janus"]
    return {
        "bench": "lesson_vs_janus",
        "window_s": window,
        "runs": runs,
        "ours_cpu_pct_per_lesson_median": statistics.median(ours),
        "janus_cpu_pct_per_lesson_median": statistics.median(janus),
        "ours_vs_janus": round(statistics.median(ours) / statistics.median(janus), 2),
        "ours_lessons_per_core_media_only": round(100 / statistics.median(ours), 1),
        "janus_lessons_per_core_media_only": round(100 / statistics.median(janus), 1),
        "cores": os.cpu_count(),
    }


def enter_namespace() -> None:
    """Run this script again inside the benchmark's own network namespace (made once, kept
    for the next run; ``ip netns del hyflex-bench`` removes it): a veth pair with ``ADDRESS``
    on one end, which Janus and every peer use, ours included."""
    steps = [
        ["ip", "netns", "add", NAMESPACE],
        ["ip", "-n", NAMESPACE, "link", "set", "lo", "up"],
        ["ip", "-n", NAMESPACE, "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        ["ip", "-n", NAMESPACE, "addr", "add", f"{ADDRESS}/24", "dev", "v0"],
        ["ip", "-n", NAMESPACE, "link", "set", "v0", "up"],
        ["ip", "-n", NAMESPACE, "link", "set", "v1", "up"],
    ]
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    if NAMESPACE not in listed.stdout.split():
        for step in steps:
            subprocess.run(step, check=True)
    os.environ[ICE_ADDRESS_ENV] = ADDRESS
    command = ["ip", "netns", "exec", NAMESPACE, sys.executable, __file__, *sys.argv[1:]]
    os.execvp("ip", command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--audio", action="store_true")
    args = parser.parse_args()
    if not janus_available():
        sys.exit("janus is not installed: apt-get install janus")
    if os.environ.get(ICE_ADDRESS_ENV) != ADDRESS:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            sys.exit("this benchmark makes a network namespace: run it as root, with iproute2")
        enter_namespace()
    pairs, window = (1, 20.0) if args.quick else (2, 40.0)
    if args.audio:
        print(json.dumps(asyncio.run(orchestrate_audio(pairs, window))), flush=True)
    else:
        print(json.dumps(asyncio.run(orchestrate(pairs, window))), flush=True)


if __name__ == "__main__":
    main()
