"""Benchmark: encoded pass-through relay (streaming.MediaRoom) vs aiortc's MediaRelay.

Camera-like content (bench/_media_content.py: testsrc2 with temporal noise, VP8 about
0.5 Mbps at 640x480 and 1.2 Mbps at 1280x720) and Opus audio (50 packets a second), one
publisher, 1..32 subscribers spread over subscriber processes, the relay in its own process.
Relay CPU comes from /proc/<pid>/stat (utime + stime) over a fixed window while every
subscriber receives; the bitrate is the relay's received bytes over the same window. Video and
audio are subscribed apart, so CPU per subscriber is given for each (the slope between 8 and
32 subscribers, plus the total divided by the count). aiortc's MediaRelay (decode once, encode
per subscriber) is measured at 8 video subscribers, alternating with ours (A B A B). Late joins
are timed from the subscribe request to the first complete frame received. The grey frame
with one moving bar (almost nothing to code) is kept as one extra line, labelled "greybar".

    .venv/bin/python bench/media_relay.py            # full (about 6-8 minutes)
    .venv/bin/python bench/media_relay.py --quick    # about 2 minutes
    .venv/bin/python bench/media_relay.py --baseline-commit 3f5383e  # plus before/after A B A B

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
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._media_content import prepare
from bench._media_roles import (
    Child,
    cpu_split,
    percentile,
    publisher_main,
    relay_main,
    request,
    subscriber_main,
)

PEERS_PER_PROCESS = 8


async def run_case(
    mode: str,
    content_path: str,
    content: str,
    labels: list[str],
    subscribers: int,
    window: float,
    late_joins: int = 0,
    baseline_dir: str = "",
) -> dict[str, Any]:
    """One relay process, one publisher (``content`` camera + microphone), N subscribers."""
    relay = await Child.start(
        __file__, "--role", "relay", "--mode", mode, "--streaming-from", baseline_dir
    )
    port = (await relay.read())["port"]
    publisher = await Child.start(
        __file__, "--role", "publisher", "--port", str(port), "--content", content_path,
        "--video", content,
    )  # fmt: skip
    subs: list[Child] = []
    ours = mode != "mediarelay"
    try:
        await publisher.read()
        remaining, index = subscribers, 0
        while remaining > 0:
            count = min(PEERS_PER_PROCESS, remaining)
            subs.append(
                await Child.start(
                    __file__, "--role", "subscriber", "--port", str(port),
                    "--prefix", f"p{index}-", "--count", str(count),
                    "--labels", ",".join(labels), "--late-joins", str(late_joins),
                )
            )  # fmt: skip
            remaining -= count
            index += 1
        for sub in subs:
            await sub.read()
        await asyncio.sleep(1.0)  # settle: all subscribers already receive (checked above)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        before_frames = await count_frames(subs)
        bytes0 = await request(reader, writer, {"op": "bytes"}) if ours else None
        user0, sys0 = cpu_split(relay.proc.pid)
        cpu0, t0 = user0 + sys0, time.monotonic()
        await asyncio.sleep(window)  # the measurement window itself
        user1, sys1 = cpu_split(relay.proc.pid)
        cpu1, t1 = user1 + sys1, time.monotonic()
        bytes1 = await request(reader, writer, {"op": "bytes"}) if ours else None
        after_frames = await count_frames(subs)
        elapsed = t1 - t0
        fps: dict[str, list[float]] = {}
        for after, before in zip(after_frames, before_frames, strict=True):
            for name, frames in after.items():
                kind = "audio" if name.startswith("audio") else "video"
                fps.setdefault(kind, []).append((frames - before[name]) / elapsed)
        result: dict[str, Any] = {
            "mode": mode,
            "content": content,
            "labels": labels,
            "subscribers": subscribers,
            "relay_cpu_pct": round((cpu1 - cpu0) / elapsed * 100, 2),
        }
        for kind, values in fps.items():
            unit = "fps" if kind == "video" else "pps"
            result[f"{kind}_{unit}_min"] = round(min(values), 1)
            result[f"{kind}_{unit}_median"] = round(statistics.median(values), 1)
        # On a busy machine the publisher or the relay may fall behind the nominal rate; the
        # relay's work is proportional to the frames it forwards, so CPU is also given scaled
        # to the nominal rate (30 fps video, 50 packets/s audio) and per delivered frame.
        kind = "video" if "video" in fps else "audio"
        delivered = sum(fps[kind])
        nominal = (30.0 if kind == "video" else 50.0) * len(fps[kind])
        cpu_pct = (cpu1 - cpu0) / elapsed * 100
        result["relay_cpu_pct_nominal"] = round(cpu_pct * nominal / max(delivered, 1e-9), 2)
        # user = the relay's own code; system = the kernel, which on loopback also delivers
        # each datagram into the receiving process and wakes it (a NIC would not)
        result["relay_user_pct"] = round((user1 - user0) / elapsed * 100, 2)
        result["relay_system_pct"] = round((sys1 - sys0) / elapsed * 100, 2)
        result["relay_us_per_delivered_frame"] = round(cpu_pct * 1e4 / max(delivered, 1e-9), 1)
        if bytes0 is not None and bytes1 is not None:
            span = bytes1["at"] - bytes0["at"]
            for key, total in bytes1["bytes"].items():
                label = key.split("/", 1)[1]
                kbps = (total - bytes0["bytes"].get(key, 0)) * 8 / span / 1000
                result[f"{label}_kbps"] = round(kbps, 1)
        if late_joins:
            await subs[0].command("late")
            result.update(await subs[0].read(180))
        if ours:
            latency = await request(reader, writer, {"op": "latency"})
            if latency["p50"] is not None:
                result["relay_queue_ms_p50"] = round(latency["p50"], 2)
                result["relay_queue_ms_p95"] = round(latency["p95"], 2)
        writer.close()
        return result
    finally:
        for sub in subs:
            await sub.command("quit")
            await sub.stop()
        await publisher.stop()
        await relay.stop()


async def count_frames(subs: list[Child]) -> list[dict[str, int]]:
    frames: list[dict[str, int]] = []
    for sub in subs:
        await sub.command("count")
        frames.extend((await sub.read())["frames"])
    return frames


def slope(low: dict[str, Any], high: dict[str, Any], key: str = "relay_cpu_pct_nominal") -> float:
    """CPU % of a core per added subscriber between two subscriber counts."""
    extra = high[key] - low[key]
    return round(extra / (high["subscribers"] - low["subscribers"]), 3)


def extract_streaming(commit: str, directory: Path) -> str:
    """The relay package (streaming/) as of ``commit``, for a before/after comparison."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", commit, "streaming"], check=True, capture_output=True
    ).stdout
    target = directory / "baseline"
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return str(target)


def snapshot_streaming(directory: Path) -> str:
    """A copy of this tree's streaming/, so edits made during a run do not leak into it."""
    target = directory / "ours"
    shutil.copytree(Path(__file__).resolve().parent.parent / "streaming", target / "streaming")
    return str(target)


async def orchestrate(quick: bool, baseline_commit: str | None) -> dict[str, Any]:
    window = 5.0 if quick else 8.0
    many = 16 if quick else 32
    late = 8 if quick else 20
    with tempfile.TemporaryDirectory(prefix="media-bench-") as tmp:
        content_path = str(prepare(["480p", "720p", "greybar"], Path(tmp)))
        baseline_dir = extract_streaming(baseline_commit, Path(tmp)) if baseline_commit else ""
        ours_dir = snapshot_streaming(Path(tmp))
        cases: list[dict[str, Any]] = []

        async def case(mode: str, content: str, labels: list[str], n: int, late: int = 0) -> Any:
            code = baseline_dir if mode == "base" else ours_dir
            result = await run_case(mode, content_path, content, labels, n, window, late, code)
            print(json.dumps(result), flush=True)
            cases.append(result)
            return result

        before_after: dict[str, list[float]] = {"base": [], "ours": []}
        if baseline_commit:  # A B A B: the relay at baseline_commit vs this tree
            for _ in range(2):
                for mode in ("base", "ours"):
                    result = await case(mode, "480p", ["camera"], many)
                    before_after[mode].append(result["relay_us_per_delivered_frame"])

        video, audio = ["camera"], ["microphone"]
        one = await case("ours", "480p", video, 1)
        # A B A B at 8 video subscribers: ours vs aiortc's MediaRelay
        ours8, base8 = [], []
        for _ in range(2):
            ours8.append(await case("ours", "480p", video, 8))
            base8.append(await case("mediarelay", "480p", video, 8))
        v480 = await case("ours", "480p", video, many, late)
        a8 = await case("ours", "480p", audio, 8)
        a_many = await case("ours", "480p", audio, many)
        v720_8 = await case("ours", "720p", video, 8)
        v720 = await case("ours", "720p", video, many)
        grey8 = await case("ours", "greybar", video, 8)
        grey = await case("ours", "greybar", video, many)

    ours8_cpu = [c["relay_cpu_pct"] for c in ours8]
    base8_cpu = [c["relay_cpu_pct"] for c in base8]
    ours8_us = [c["relay_us_per_delivered_frame"] for c in ours8]
    base8_us = [c["relay_us_per_delivered_frame"] for c in base8]
    median8 = {"subscribers": 8}
    for key in ("relay_cpu_pct_nominal", "relay_user_pct", "relay_system_pct"):
        median8[key] = statistics.median(c[key] for c in ours8)
    late_ms = v480.get("late_ms", [])
    burst_ms = v480.get("late_burst_ms", [])
    fps_mins = [c["video_fps_min"] for c in cases if c["mode"] == "ours" and "video_fps_min" in c]
    summary: dict[str, Any] = {
        "bench": "media_relay",
        "quick": quick,
        "window_s": window,
        "video_480p_kbps": v480.get("camera_kbps"),
        "video_720p_kbps": v720.get("camera_kbps"),
        "audio_kbps": a_many.get("microphone_kbps"),
        "greybar_kbps": grey.get("camera_kbps"),
        "video_480p_cpu_pct_per_subscriber": slope(median8, v480),
        "video_480p_cpu_pct_per_subscriber_total": round(v480["relay_cpu_pct_nominal"] / many, 3),
        "video_720p_cpu_pct_per_subscriber": slope(v720_8, v720),
        "video_720p_cpu_pct_per_subscriber_total": round(v720["relay_cpu_pct_nominal"] / many, 3),
        "audio_cpu_pct_per_subscriber": slope(a8, a_many),
        "user_system_pct_per_subscriber": {
            name: [slope(low, high, "relay_user_pct"), slope(low, high, "relay_system_pct")]
            for name, low, high in (
                ("video_480p", median8, v480),
                ("video_720p", v720_8, v720),
                ("audio", a8, a_many),
            )
        },
        "audio_cpu_pct_per_subscriber_total": round(a_many["relay_cpu_pct_nominal"] / many, 3),
        "greybar_cpu_pct_per_subscriber_extra_line": slope(grey8, grey),
        "ours_480p_cpu_pct": {
            "1": one["relay_cpu_pct"],
            "8": statistics.median(ours8_cpu),
            str(many): v480["relay_cpu_pct"],
        },
        "ours_cpu_pct_8_runs": ours8_cpu,
        "mediarelay_cpu_pct_8_runs": base8_cpu,
        "ratio_vs_mediarelay_8": round(
            statistics.median(base8_cpu) / statistics.median(ours8_cpu), 1
        ),
        "mediarelay_fps_min_8": min(c["video_fps_min"] for c in base8),
        "ratio_vs_mediarelay_8_per_delivered_frame": round(
            statistics.median(base8_us) / statistics.median(ours8_us), 1
        ),
        "first_frame_ms_p50": round(percentile(late_ms, 50), 1) if late_ms else None,
        "first_frame_ms_p95": round(percentile(late_ms, 95), 1) if late_ms else None,
        "late_joins_at_subscribers": many,
        "first_frame_back_to_back_ms_p50": round(percentile(burst_ms, 50), 1) if burst_ms else None,
        "video_fps_min_ours": min(fps_mins),
        "relay_queue_ms_p50": v480.get("relay_queue_ms_p50"),
        "relay_queue_ms_p95": v480.get("relay_queue_ms_p95"),
        "cores": os.cpu_count(),
    }
    if baseline_commit:
        summary["baseline_commit"] = baseline_commit
        summary[f"base_us_per_delivered_frame_{many}_runs"] = before_after["base"]
        summary[f"ours_us_per_delivered_frame_{many}_runs"] = before_after["ours"]
        summary[f"ratio_vs_base_{many}"] = round(
            statistics.median(before_after["base"]) / statistics.median(before_after["ours"]), 2
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--role", default="main")
    parser.add_argument("--mode", default="ours")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prefix", default="s")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--labels", default="camera")
    parser.add_argument("--content", default="")
    parser.add_argument("--video", default="480p")
    parser.add_argument("--late-joins", type=int, default=0)
    parser.add_argument("--baseline-commit", help="also measure streaming/ at this commit")
    parser.add_argument("--streaming-from", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "relay":
        if args.streaming_from:
            sys.path.insert(0, args.streaming_from)
        uvloop.run(relay_main(args.mode))  # the server's loop (uvicorn[standard])
    elif args.role == "publisher":
        asyncio.run(publisher_main(args.port, "teacher", args.content, [args.video], True))
    elif args.role == "subscriber":
        labels = args.labels.split(",")
        late = args.late_joins
        asyncio.run(subscriber_main(args.port, args.prefix, args.count, ["teacher"], labels, late))
    else:
        started = time.monotonic()
        summary = asyncio.run(orchestrate(args.quick, args.baseline_commit))
        summary["runtime_s"] = round(time.monotonic() - started, 1)
        summary["note"] = "machine shared with other work during the run"
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
