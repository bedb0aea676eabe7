"""Benchmark: encoded pass-through relay (streaming.MediaRoom) vs aiortc's MediaRelay.

One 640x480 30 fps VP8 publisher, 1..32 subscribers spread over subscriber processes, the
relay in its own process. Relay CPU comes from /proc/<pid>/stat (utime + stime) over a fixed
window while every subscriber receives; MediaRelay (decode once, encode per subscriber) is
measured in the same run at 8 subscribers, alternating with ours (A B A B). Late joins are
timed from the subscribe request to the first complete frame received.

    .venv/bin/python bench/media_relay.py            # full (about 3-4 minutes)
    .venv/bin/python bench/media_relay.py --quick    # about 1 minute

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PEERS_PER_PROCESS = 8
HZ = os.sysconf("SC_CLK_TCK")
TEST_PEERS_DIR = str(Path(__file__).resolve().parent.parent / "tests" / "streaming")


# ----- line protocol over loopback TCP -------------------------------------------------------
async def send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()


async def request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: dict[str, Any]
) -> dict[str, Any]:
    await send(writer, message)
    line = await asyncio.wait_for(reader.readline(), 30)
    reply: dict[str, Any] = json.loads(line)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply


# ----- relay process ------------------------------------------------------------------------
async def relay_main(mode: str) -> None:
    from aiortc import (
        RTCBundlePolicy,
        RTCConfiguration,
        RTCPeerConnection,
        RTCRtpSender,
        RTCSessionDescription,
    )
    from aiortc.contrib.media import MediaRelay

    from streaming.loopback import use_loopback_only
    from streaming.room import MediaRoom

    use_loopback_only()
    room = MediaRoom("bench", [])
    # baseline: aiortc's MediaRelay, same negotiation model (relay offers, subscriber answers)
    config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    media_relay = MediaRelay()
    baseline_tracks: dict[str, Any] = {}
    baseline_pcs: dict[str, RTCPeerConnection] = {}
    vp8 = [
        c
        for c in RTCRtpSender.getCapabilities("video").codecs
        if c.mimeType in ("video/VP8", "video/rtx")
    ]

    async def baseline_publish(pid: str, sdp: str) -> str:
        pc = RTCPeerConnection(config)
        baseline_pcs[pid] = pc
        pc.on("track", lambda track: baseline_tracks.__setitem__(f"{pid}/camera", track))
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def baseline_subscribe(pid: str, publisher: str) -> str:
        pc = RTCPeerConnection(config)
        baseline_pcs[pid] = pc
        source = baseline_tracks[f"{publisher}/camera"]
        transceiver = pc.addTransceiver(media_relay.subscribe(source), direction="sendonly")
        transceiver.setCodecPreferences(vp8)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            msg = json.loads(line)
            op = msg["op"]
            try:
                if op == "publish":
                    if mode == "ours":
                        sdp = await room.publish(msg["pid"], msg["sdp"], ["camera"])
                    else:
                        sdp = await baseline_publish(msg["pid"], msg["sdp"])
                    await send(writer, {"sdp": sdp})
                elif op == "subscribe":
                    if mode == "ours":
                        sdp = await room.subscribe(
                            msg["pid"], [msg["publisher"]], labels=["camera"], stage=False
                        )
                    else:
                        sdp = await baseline_subscribe(msg["pid"], msg["publisher"])
                    await send(writer, {"sdp": sdp})
                elif op == "answer":
                    if mode == "ours":
                        await room.accept_answer(msg["pid"], msg["sdp"])
                    else:
                        answer = RTCSessionDescription(msg["sdp"], "answer")
                        await baseline_pcs[msg["pid"]].setRemoteDescription(answer)
                    await send(writer, {"ok": True})
                elif op == "leave":
                    if mode == "ours":
                        await room.close_participant(msg["pid"])
                    elif msg["pid"] in baseline_pcs:
                        await baseline_pcs.pop(msg["pid"]).close()
                    await send(writer, {"ok": True})
                elif op == "latency":
                    delays = relay_delays(room)
                    await send(
                        writer,
                        {
                            "p50": percentile(delays, 50) if delays else None,
                            "p95": percentile(delays, 95) if delays else None,
                        },
                    )
            except Exception as exc:
                await send(writer, {"error": repr(exc)})

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()
    await room.close()
    for pc in baseline_pcs.values():
        await pc.close()


def relay_delays(room: Any) -> list[float]:
    delays: list[float] = []
    for leg in room.subscribers.values():
        for track in leg.slots:
            delays.extend(d * 1000 for d in track.delays)
    return delays


# ----- publisher process --------------------------------------------------------------------
async def publisher_main(port: int) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from streaming.loopback import use_loopback_only

    sys.path.insert(0, TEST_PEERS_DIR)
    from relay_test_peers import PatternVideoTrack, config

    use_loopback_only()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    pc = RTCPeerConnection(config())
    pc.addTransceiver(PatternVideoTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    reply = await request(
        reader, writer, {"op": "publish", "pid": "teacher", "sdp": pc.localDescription.sdp}
    )
    await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await pc.close()


# ----- subscriber process -------------------------------------------------------------------
class CountingPeer:
    """A subscriber that counts complete frames from aiortc's receiver without decoding."""

    def __init__(self, pid: str) -> None:
        from aiortc import RTCPeerConnection

        sys.path.insert(0, TEST_PEERS_DIR)
        from relay_test_peers import config

        self.pid = pid
        self.pc = RTCPeerConnection(config())
        self.frames = 0
        self.first_frame = asyncio.Event()
        self.first_at: float | None = None
        self.pc.on("track", self._on_track)

    def _on_track(self, track: Any) -> None:
        from streaming import aiortc_private

        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)

        def on_frame(codec: Any, frame: Any) -> None:
            if self.frames == 0:
                self.first_at = time.monotonic()
                self.first_frame.set()
            self.frames += 1

        aiortc_private.install_tap(receiver, aiortc_private.PacketTap(on_frame, lambda: None))

    async def join(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from aiortc import RTCSessionDescription

        offer = await request(
            reader, writer, {"op": "subscribe", "pid": self.pid, "publisher": "teacher"}
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await request(
            reader, writer, {"op": "answer", "pid": self.pid, "sdp": self.pc.localDescription.sdp}
        )


async def subscriber_main(port: int, prefix: str, count: int, late_joins: int) -> None:
    from streaming.loopback import use_loopback_only

    use_loopback_only()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    peers = [CountingPeer(f"{prefix}{i}") for i in range(count)]
    for peer in peers:
        await peer.join(reader, writer)
    await asyncio.wait_for(asyncio.gather(*(p.first_frame.wait() for p in peers)), 30)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = line.strip()
        if command == "count":
            print(json.dumps({"frames": [p.frames for p in peers]}), flush=True)
        elif command == "late":
            spaced = await late_join_series(reader, writer, late_joins, pause=0.7)
            burst = await late_join_series(reader, writer, late_joins, pause=0.0)
            print(json.dumps({"late_ms": spaced, "late_burst_ms": burst}), flush=True)
        elif command == "quit":
            break
    for peer in peers:
        await peer.pc.close()


async def late_join_series(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, joins: int, pause: float
) -> list[float]:
    """Join, wait for the first frame, leave.

    With ``pause`` > 0.5 s the relay's cached keyframe is always stale, so each join goes the
    PLI way (worst case); back-to-back joins mostly start from the cached keyframe.
    """
    results: list[float] = []
    for i in range(joins):
        await asyncio.sleep(pause)  # spacing between joins, part of the scenario
        peer = CountingPeer(f"late{pause}-{i}")
        started = time.monotonic()
        await peer.join(reader, writer)
        await asyncio.wait_for(peer.first_frame.wait(), 10)
        assert peer.first_at is not None
        results.append((peer.first_at - started) * 1000)
        await request(reader, writer, {"op": "leave", "pid": peer.pid})
        await peer.pc.close()
    return results


# ----- orchestration ------------------------------------------------------------------------
class Child:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, *args: str) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return cls(proc)

    async def read(self, within: float = 60) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), within)
            if not line:
                raise RuntimeError("child exited")
            if line.startswith(b"{"):
                message: dict[str, Any] = json.loads(line)
                return message

    async def command(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def stop(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


async def run_case(
    mode: str, subscribers: int, window: float, late_joins: int = 0
) -> dict[str, Any]:
    relay = await Child.start("--role", "relay", "--mode", mode)
    port = (await relay.read())["port"]
    publisher = await Child.start("--role", "publisher", "--port", str(port))
    subs: list[Child] = []
    try:
        await publisher.read()
        remaining, index = subscribers, 0
        while remaining > 0:
            count = min(PEERS_PER_PROCESS, remaining)
            subs.append(
                await Child.start(
                    "--role", "subscriber", "--port", str(port), "--prefix", f"p{index}-",
                    "--count", str(count), "--late-joins", str(late_joins),
                )
            )  # fmt: skip
            remaining -= count
            index += 1
        for sub in subs:
            await sub.read()
        await asyncio.sleep(1.0)  # settle: all subscribers already receive (checked above)
        before_frames = await count_frames(subs)
        cpu0, t0 = cpu_seconds(relay.proc.pid), time.monotonic()
        await asyncio.sleep(window)  # the measurement window itself
        cpu1, t1 = cpu_seconds(relay.proc.pid), time.monotonic()
        after_frames = await count_frames(subs)
        elapsed = t1 - t0
        fps = [(a - b) / elapsed for a, b in zip(after_frames, before_frames, strict=True)]
        result: dict[str, Any] = {
            "mode": mode,
            "subscribers": subscribers,
            "relay_cpu_pct": round((cpu1 - cpu0) / elapsed * 100, 2),
            "fps_min": round(min(fps), 1),
            "fps_median": round(statistics.median(fps), 1),
        }
        if late_joins:
            await subs[0].command("late")
            result.update(await subs[0].read(120))
        if mode == "ours":
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            latency = await request(reader, writer, {"op": "latency"})
            writer.close()
            if latency["p50"] is not None:
                result["relay_queue_ms_p50"] = round(latency["p50"], 2)
                result["relay_queue_ms_p95"] = round(latency["p95"], 2)
        return result
    finally:
        for sub in subs:
            await sub.command("quit")
            await sub.stop()
        await publisher.stop()
        await relay.stop()


async def count_frames(subs: list[Child]) -> list[int]:
    frames: list[int] = []
    for sub in subs:
        await sub.command("count")
        frames.extend((await sub.read())["frames"])
    return frames


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


async def orchestrate(quick: bool) -> dict[str, Any]:
    window = 4.0 if quick else 8.0
    sizes = [1, 8] if quick else [1, 4, 8, 16, 32]
    late = 8 if quick else 20
    cases: list[dict[str, Any]] = []
    ours_by_size: dict[int, dict[str, Any]] = {}
    for n in sizes:
        case = await run_case("ours", n, window, late_joins=late if n == 8 else 0)
        print(json.dumps(case), flush=True)
        cases.append(case)
        ours_by_size[n] = case
    # A B A B at 8 subscribers: ours vs aiortc MediaRelay
    ours8 = [ours_by_size[8]["relay_cpu_pct"]]
    baseline8: list[float] = []
    for _ in range(1 if quick else 2):
        case = await run_case("mediarelay", 8, window)
        print(json.dumps(case), flush=True)
        cases.append(case)
        baseline8.append(case["relay_cpu_pct"])
        if len(baseline8) < (1 if quick else 2):
            again = await run_case("ours", 8, window)
            print(json.dumps(again), flush=True)
            cases.append(again)
            ours8.append(again["relay_cpu_pct"])
    per_sub = [
        (c["relay_cpu_pct"]) / c["subscribers"]
        for c in cases
        if c["mode"] == "ours" and c["subscribers"] >= 8
    ]
    late_ms = ours_by_size[8].get("late_ms", [])
    burst_ms = ours_by_size[8].get("late_burst_ms", [])
    biggest = ours_by_size[max(sizes)]
    return {
        "bench": "media_relay",
        "quick": quick,
        "window_s": window,
        "cpu_pct_per_subscriber": round(statistics.median(per_sub), 3),
        "ours_cpu_pct": {str(n): ours_by_size[n]["relay_cpu_pct"] for n in sizes},
        "ours_cpu_pct_8_runs": ours8,
        "mediarelay_cpu_pct_8_runs": baseline8,
        "ratio_vs_mediarelay_8": round(statistics.median(baseline8) / statistics.median(ours8), 1),
        "first_frame_ms_p50": round(percentile(late_ms, 50), 1),
        "first_frame_ms_p95": round(percentile(late_ms, 95), 1),
        "late_joins": len(late_ms),
        "first_frame_back_to_back_ms_p50": round(percentile(burst_ms, 50), 1),
        "first_frame_back_to_back_ms_p95": round(percentile(burst_ms, 95), 1),
        "fps_min_at_max_subscribers": biggest["fps_min"],
        "relay_queue_ms_p50": ours_by_size[8].get("relay_queue_ms_p50"),
        "relay_queue_ms_p95": ours_by_size[8].get("relay_queue_ms_p95"),
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--role", default="main")
    parser.add_argument("--mode", default="ours")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prefix", default="s")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--late-joins", type=int, default=0)
    args = parser.parse_args()
    if args.role == "relay":
        asyncio.run(relay_main(args.mode))
    elif args.role == "publisher":
        asyncio.run(publisher_main(args.port))
    elif args.role == "subscriber":
        asyncio.run(subscriber_main(args.port, args.prefix, args.count, args.late_joins))
    else:
        started = time.monotonic()
        summary = asyncio.run(orchestrate(args.quick))
        summary["runtime_s"] = round(time.monotonic() - started, 1)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
