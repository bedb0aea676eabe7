"""Benchmark: the subscriber leg under loss: frames decoded per second, recovery after a burst.

Camera-like 640x480 VP8 (bench/_media_content.py) from one publisher through the relay to
``--subscribers`` decoding subscribers (aiortc's full receive path: jitter buffer, NACK, PLI,
VP8 decoding). Loss is made in the relay process, on every subscriber leg, at the DTLS send
(plain RTP just before SRTP, on both ways the relay sends: the direct UDP path and the DTLS
transport's ``_send_rtp``, as tests/streaming/test_relay_packetize_once.py does): RTCP passes.

1. ``random``: each RTP packet (retransmissions too) is dropped with probability ``--loss``
   (5%); frames decoded per second per subscriber over the window, against 30 sent.
2. ``burst``: every RTP packet is dropped for ``--burst-ms`` (500 ms, then 3000 ms),
   ``--bursts`` times, 6 s apart; recovery = first frame decoded after the burst ended minus
   the burst's end. A short burst is repaired by NACK/RTX from the relay's history (128
   packets a subscriber, about 2 s of 480p video); a longer one is not: the jitter buffer
   gives up, the subscriber sends PLI, the relay asks the publisher for a keyframe. Times are
   CLOCK_MONOTONIC, which is one clock for every process of the machine.

    .venv/bin/python bench/media_loss.py

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._media_content import prepare
from bench._media_roles import Child, peer_config, percentile, publisher_main, relay_main, request
from streaming import aiortc_private

BURST_SPACING = 6.0


class LossySends:
    """Drops RTP (never RTCP) on every DTLS transport of the relay process."""

    def __init__(self, loss: float, bursts: int, burst: float) -> None:
        from aiortc.rtcdtlstransport import RTCDtlsTransport
        from aiortc.rtp import is_rtcp

        self.loss = loss
        self.blackout_until = 0.0
        self.dropped = 0
        self._bursts = (bursts, burst)
        self._scheduled: asyncio.Task[None] | None = None
        original = RTCDtlsTransport._send_rtp
        original_udp = aiortc_private.udp_sender

        async def send_rtp(transport: Any, data: bytes) -> None:  # RTX, TURN pairs
            if not self.drops(data):
                await original(transport, data)

        def udp_sender(transport: Any) -> Callable[[bytes], bool] | None:  # the direct path
            send = original_udp(transport)
            if send is None:
                return None
            return lambda data: True if self.drops(data) else send(data)

        RTCDtlsTransport._send_rtp = send_rtp  # type: ignore[method-assign]
        aiortc_private.udp_sender = udp_sender
        self._is_rtcp = is_rtcp

    def drops(self, data: bytes) -> bool:
        if self._is_rtcp(data):
            return False
        if self._scheduled is None and self._bursts[0]:  # media flows: subscribers are up
            self._scheduled = asyncio.get_running_loop().create_task(self.run())
        if time.monotonic() < self.blackout_until or random.random() < self.loss:
            self.dropped += 1
            return True
        return False

    async def run(self) -> None:
        count, burst = self._bursts
        await asyncio.sleep(8.0)  # every subscriber joined and decodes (they join at once)
        for _ in range(count):
            start = time.monotonic()
            self.blackout_until = start + burst
            print(json.dumps({"burst": [start, start + burst]}), flush=True)
            await asyncio.sleep(BURST_SPACING)  # the spacing of the scenario


async def lossy_relay(loss: float, bursts: int, burst: float) -> None:
    LossySends(loss, bursts, burst)
    await relay_main("ours")


class DecodingPeer:
    """A subscriber that decodes (aiortc) and keeps the monotonic time of every frame."""

    def __init__(self, pid: str) -> None:
        from aiortc import RTCPeerConnection

        self.pid = pid
        self.pc = RTCPeerConnection(peer_config())
        self.times: list[float] = []
        self.first = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: Any) -> None:
        if track.kind == "video":
            self.tasks.append(asyncio.get_running_loop().create_task(self._consume(track)))

    async def _consume(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.times.append(time.monotonic())
            self.first.set()


async def decoding_subscribers(port: int, count: int) -> None:
    from aiortc import RTCSessionDescription

    from streaming.loopback import use_loopback_only

    use_loopback_only()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    peers = [DecodingPeer(f"d{i}") for i in range(count)]
    for peer in peers:
        message = {"op": "subscribe", "pid": peer.pid, "publishers": ["teacher"]}
        offer = await request(reader, writer, {**message, "labels": ["camera"]})
        await peer.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        answer = {"op": "answer", "pid": peer.pid, "sdp": peer.pc.localDescription.sdp}
        await request(reader, writer, answer)
    await asyncio.wait_for(asyncio.gather(*(p.first.wait() for p in peers)), 60)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "times":
            print(json.dumps({"times": [p.times for p in peers]}), flush=True)
        elif line.strip() == "quit":
            break
    for peer in peers:
        await peer.pc.close()


async def run_case(
    content: str, subscribers: int, args: argparse.Namespace, burst_ms: int | None
) -> Any:
    burst = burst_ms is not None
    loss = "0" if burst else str(args.loss)
    bursts = str(args.bursts) if burst else "0"
    relay = await Child.start(__file__, "--role", "relay", "--loss", loss, "--bursts", bursts,
                              "--burst-ms", str(burst_ms or 0))  # fmt: skip
    port = str((await relay.read())["port"])
    publisher = await Child.start(
        __file__, "--role", "publisher", "--port", port, "--content", content
    )
    subs = None
    try:
        await publisher.read()
        subs = await Child.start(
            __file__, "--role", "subscriber", "--port", port, "--count", str(subscribers)
        )
        await subs.read(120)
        if burst:
            windows = [(await relay.read(60))["burst"] for _ in range(args.bursts)]
            await asyncio.sleep(BURST_SPACING)  # let the last burst recover
            start, end = windows[0][0] - 2.0, windows[-1][1] + BURST_SPACING - 0.5
        else:
            start = time.monotonic() + 3.0
            await asyncio.sleep(3.0 + args.window)  # settle, then the window
            end = start + args.window
        await subs.command("times")
        times: list[list[float]] = (await subs.read())["times"]
        await subs.command("quit")
        fps = [sum(1 for t in ts if start <= t < end) / (end - start) for ts in times]
        result: dict[str, Any] = {
            "case": "burst" if burst else "random",
            "loss": float(loss),
            "decoded_fps_min": round(min(fps), 1),
            "decoded_fps_median": round(statistics.median(fps), 1),
        }
        if burst:
            recoveries = [
                (min((t for t in ts if t > w_end), default=end) - w_end) * 1000
                for ts in times
                for _, w_end in windows
            ]
            result["burst_ms"] = burst_ms
            result["recovery_ms"] = [round(r) for r in recoveries]
            result["recovery_ms_p50"] = round(percentile(recoveries, 50))
            result["recovery_ms_max"] = round(max(recoveries))
        return result
    finally:
        if subs is not None:
            await subs.stop()
        await publisher.stop()
        await relay.stop()


async def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="media-loss-") as tmp:
        content = str(prepare(["480p"], Path(tmp)))
        randoms = []
        for _ in range(args.runs):
            result = await run_case(content, args.subscribers, args, None)
            print(json.dumps(result), flush=True)
            randoms.append(result)
        bursts = []
        for burst_ms in (int(b) for b in args.burst_ms.split(",")):
            bursts.append(await run_case(content, args.subscribers, args, burst_ms))
            print(json.dumps(bursts[-1]), flush=True)
    return {
        "bench": "media_loss",
        "subscribers": args.subscribers,
        "random_loss": args.loss,
        "decoded_fps_min": min(r["decoded_fps_min"] for r in randoms),
        "decoded_fps_median": statistics.median(r["decoded_fps_median"] for r in randoms),
        "bursts_each": args.bursts,
        "recovery_ms_p50_by_burst_ms": {b["burst_ms"]: b["recovery_ms_p50"] for b in bursts},
        "recovery_ms_max_by_burst_ms": {b["burst_ms"]: b["recovery_ms_max"] for b in bursts},
        "decoded_fps_median_with_bursts": {b["burst_ms"]: b["decoded_fps_median"] for b in bursts},
        "cores": os.cpu_count(),
        "note": "machine shared with other work during the run",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", default="main")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--content", default="")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--subscribers", type=int, default=4)
    parser.add_argument("--loss", type=float, default=0.05)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--burst-ms", default="500,3000", help="burst lengths, one case each")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if args.role == "relay":
        uvloop.run(lossy_relay(args.loss, args.bursts, int(args.burst_ms) / 1000))
    elif args.role == "publisher":
        asyncio.run(publisher_main(args.port, "teacher", args.content, ["480p"], True))
    elif args.role == "subscriber":
        asyncio.run(decoding_subscribers(args.port, args.count))
    else:
        started = time.monotonic()
        summary = asyncio.run(orchestrate(args))
        summary["runtime_s"] = round(time.monotonic() - started, 1)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
