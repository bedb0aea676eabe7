"""Benchmark: how long a packet takes through the relay, publisher to subscriber.

Content: camera-like VP8 at 640x480 (about 0.5 Mbit/s, bench/_media_content.py) and Opus
audio (50 packets a second), replayed in real time by a publisher process; one subscriber
process receives both through the relay (its own process, on uvloop as in the server). The
publisher notes when each clear RTP packet enters its DTLS transport (before SRTP); the
subscriber notes when each arrives out of its own (after SRTP). Packets are matched by
content: an audio packet by its Opus payload, a video frame by the VP8 data of its last
packet (the relay packetises with the same packet size, so the chunk is the same). All three
processes share the machine's monotonic clock. The figure is the relay's transit time plus two
loopback hops and SRTP on both ends; no encoding or decoding is in it.

    .venv/bin/python bench/relay_latency.py                            # this tree, about 1 minute
    .venv/bin/python bench/relay_latency.py --baseline-commit 0bbe6bd  # + that commit, A B A B

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._media_content import prepare
from bench._media_roles import Child, CountingPeer, percentile, publisher_main, request
from bench.media_relay import extract_streaming, snapshot_streaming

RELAY = str(Path(__file__).resolve().parent / "media_relay.py")


def content_key(data: bytes, kind: str) -> str | None:
    """A digest of what the relay leaves unchanged in this clear RTP packet, if worth timing.

    Audio: the Opus payload. Video: the VP8 data of a frame's last packet (the relay writes
    its own payload descriptor, so the descriptor is left out).
    """
    from aiortc.codecs.vpx import vp8_depayload
    from aiortc.rtp import RtpPacket, is_rtcp

    if len(data) < 12 or is_rtcp(data):
        return None
    packet = RtpPacket.parse(data)
    if kind == "audio":
        body = packet.payload
    elif packet.marker and packet.payload:
        try:
            body = vp8_depayload(packet.payload)
        except ValueError:
            return None
    else:
        return None
    return hashlib.blake2b(body, digest_size=10).hexdigest()


class Log:
    """Times at which each content key was seen, per kind."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, list[float]]] = {"audio": {}, "video": {}}

    def note(self, data: bytes, kind: str | None) -> None:
        now = time.monotonic()
        key = content_key(data, kind) if kind in self.seen else None
        if kind is not None and key is not None:
            self.seen[kind].setdefault(key, []).append(now)


async def timed_publisher(port: int, content: str) -> None:
    """The bench publisher, with every clear RTP packet it sends noted."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    log = Log()
    original = RTCDtlsTransport._send_rtp

    async def send_rtp(self: RTCDtlsTransport, data: bytes) -> None:
        if len(data) >= 12:
            sender = self._rtp_router.senders.get(int.from_bytes(data[8:12], "big"))
            log.note(data, getattr(sender, "kind", None))
        await original(self, data)

    RTCDtlsTransport._send_rtp = send_rtp  # type: ignore[method-assign]
    task = asyncio.create_task(publisher_main(port, "teacher", content, ["480p"], True))
    await answer_dump(log, task)


async def answer_dump(log: Log, task: asyncio.Task[None] | None = None) -> None:
    """Print the log when the parent writes 'dump'; end when it closes our stdin."""
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "dump":
            print(json.dumps({"seen": log.seen}), flush=True)
    if task is not None:
        task.cancel()


class TimingPeer(CountingPeer):
    def __init__(self, pid: str, log: Log) -> None:
        super().__init__(pid)
        self.log = log

    async def _on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        if len(data) >= 12:
            name = self._names.get(int.from_bytes(data[8:12], "big"), "")
            self.log.note(data, "audio" if name.startswith("audio") else "video")
        await super()._on_rtp(data, arrival_time_ms)


async def timed_subscriber(port: int) -> None:
    from streaming.loopback import use_loopback_only

    use_loopback_only()
    log = Log()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    peer = TimingPeer("timing", log)
    await peer.join(reader, writer, ["teacher"], ["camera", "microphone"])
    await asyncio.wait_for(peer.first_frame.wait(), 60)
    print(json.dumps({"ready": True}), flush=True)
    await answer_dump(log)
    await request(reader, writer, {"op": "leave", "pid": peer.pid})
    await peer.pc.close()


def transit_ms(
    sent: dict[str, list[float]], received: dict[str, list[float]], since: float
) -> list[float]:
    """For each arrival after ``since``: arrival minus the latest send of the same content."""
    out: list[float] = []
    for key, arrivals in received.items():
        sends = sorted(sent.get(key, []))
        for arrival in arrivals:
            if arrival < since:
                continue
            index = bisect.bisect_right(sends, arrival) - 1
            if index >= 0 and arrival - sends[index] < 2.0:
                out.append((arrival - sends[index]) * 1000)
    return out


async def run_case(code_dir: str, content_path: str, window: float) -> dict[str, Any]:
    relay = await Child.start(RELAY, "--role", "relay", "--streaming-from", code_dir)
    port = (await relay.read())["port"]
    publisher = await Child.start(__file__, "--role", "publisher", "--port", str(port),
                                  "--content", content_path)  # fmt: skip
    subscriber: Child | None = None
    try:
        await publisher.read()
        subscriber = await Child.start(__file__, "--role", "subscriber", "--port", str(port))
        await subscriber.read()
        await asyncio.sleep(2.0)  # settle: the subscriber already receives (checked above)
        since = time.monotonic()
        await asyncio.sleep(window)  # the measurement window itself
        await subscriber.command("dump")
        received = (await subscriber.read())["seen"]
        await publisher.command("dump")
        sent = (await publisher.read())["seen"]
    finally:
        for child in (subscriber, publisher, relay):
            if child is not None:
                await child.stop()
    result: dict[str, Any] = {}
    for kind in ("audio", "video"):
        values = transit_ms(sent[kind], received[kind], since)
        result[kind] = {
            "matched": len(values),
            "p50_ms": round(percentile(values, 50), 2) if values else None,
            "p95_ms": round(percentile(values, 95), 2) if values else None,
            "mean_ms": round(statistics.fmean(values), 2) if values else None,
        }
    return result


async def orchestrate(baseline_commit: str | None, window: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="latency-bench-") as tmp:
        content_path = str(prepare(["480p"], Path(tmp)))
        ours = snapshot_streaming(Path(tmp))
        modes = {"ours": ours}
        if baseline_commit:
            modes = {"base": extract_streaming(baseline_commit, Path(tmp)), "ours": ours}
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
        for _ in range(2 if baseline_commit else 1):  # A B A B
            for mode, code in modes.items():
                result = await run_case(code, content_path, window)
                print(json.dumps({"mode": mode, **result}), flush=True)
                runs[mode].append(result)
    summary: dict[str, Any] = {"window_s": window, "runs": runs}
    for mode, results in runs.items():
        for kind in ("audio", "video"):
            p50s = [r[kind]["p50_ms"] for r in results if r[kind]["p50_ms"] is not None]
            summary[f"{mode}_{kind}_p50_ms"] = round(statistics.median(p50s), 2) if p50s else None
    if baseline_commit:
        summary["baseline_commit"] = baseline_commit
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", default="main")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--content", default="")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--baseline-commit", help="also measure streaming/ at this commit")
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(timed_publisher(args.port, args.content))
    elif args.role == "subscriber":
        uvloop.run(timed_subscriber(args.port))
    else:
        summary = asyncio.run(orchestrate(args.baseline_commit, args.window))
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
