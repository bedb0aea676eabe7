"""Benchmark: what receiving costs the relay, publishers only (no subscriber).

Content: N publishers (default 5, a lesson's count: the teacher and 4 sites), each a
camera-like VP8 camera at 640x480 (about 0.5 Mbit/s, bench/_media_content.py) and an Opus
microphone (50 packets a second), each in its own process; the relay in its own process, on
uvloop with the server's garbage-collector settings (as inside the server). Relay CPU
(utime + stime from /proc/PID/stat) over a fixed window, and per received packet. With
``--baseline-commit`` the relay's streaming/ at that commit is measured too, A B A B.

    .venv/bin/python bench/relay_receive.py                            # about 1 minute
    .venv/bin/python bench/relay_receive.py --baseline-commit 2a10b57  # A B A B x3, 3 minutes

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._media_content import prepare
from bench._media_roles import Child, cpu_split, publisher_main, request
from bench.media_relay import extract_streaming, snapshot_streaming

RELAY = str(Path(__file__).resolve().parent / "media_relay.py")


async def run_case(code_dir: str, content: str, publishers: int, window: float) -> dict[str, Any]:
    relay = await Child.start(RELAY, "--role", "relay", "--streaming-from", code_dir)
    port = (await relay.read())["port"]
    children: list[Child] = []
    try:
        for index in range(publishers):
            children.append(
                await Child.start(__file__, "--role", "publisher", "--port", str(port),
                                  "--pid", f"publisher{index}", "--content", content)
            )  # fmt: skip
        for child in children:
            await child.read()
        await asyncio.sleep(3.0)  # settle: ICE, DTLS and the first keyframes are behind us
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        bytes0 = await request(reader, writer, {"op": "bytes"})
        user0, sys0 = cpu_split(relay.proc.pid)
        started = time.monotonic()
        await asyncio.sleep(window)  # the measurement window itself
        user1, sys1 = cpu_split(relay.proc.pid)
        elapsed = time.monotonic() - started
        bytes1 = await request(reader, writer, {"op": "bytes"})
        health = await request(reader, writer, {"op": "health"})
        writer.close()
    finally:
        for child in [*children, relay]:
            await child.stop()
    cpu_pct = (user1 - user0 + sys1 - sys0) / elapsed * 100
    span = bytes1["at"] - bytes0["at"]
    kbps = sum(bytes1["bytes"].values()) - sum(bytes0["bytes"].values())
    return {
        "publishers": publishers,
        "relay_cpu_pct": round(cpu_pct, 2),
        "relay_user_pct": round((user1 - user0) / elapsed * 100, 2),
        "relay_system_pct": round((sys1 - sys0) / elapsed * 100, 2),
        "received_kbps": round(kbps * 8 / span / 1000, 1),
        "publisher_gaps": health["publisher_gaps"],
    }


async def orchestrate(baseline_commit: str | None, publishers: int, window: float) -> Any:
    with tempfile.TemporaryDirectory(prefix="receive-bench-") as tmp:
        content = str(prepare(["480p"], Path(tmp)))
        modes = {"ours": snapshot_streaming(Path(tmp))}
        if baseline_commit:
            modes = {"base": extract_streaming(baseline_commit, Path(tmp)), **modes}
        runs: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(3 if baseline_commit else 1):
            for mode, code in modes.items():
                result = await run_case(code, content, publishers, window)
                print(json.dumps({"mode": mode, **result}), flush=True)
                runs[mode].append(result["relay_cpu_pct"])
    summary: dict[str, Any] = {"publishers": publishers, "window_s": window, "runs": runs}
    for mode, values in runs.items():
        summary[f"{mode}_cpu_pct_mean"] = round(statistics.fmean(values), 2)
    if baseline_commit:
        summary["baseline_commit"] = baseline_commit
        summary["ours_vs_base"] = round(
            summary["ours_cpu_pct_mean"] / summary["base_cpu_pct_mean"], 3
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", default="main")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pid", default="publisher0")
    parser.add_argument("--content", default="")
    parser.add_argument("--publishers", type=int, default=5)
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--baseline-commit", help="also measure streaming/ at this commit")
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(publisher_main(args.port, args.pid, args.content, ["480p"], True))
    else:
        summary = asyncio.run(orchestrate(args.baseline_commit, args.publishers, args.window))
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
