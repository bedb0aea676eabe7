"""Processes of the media benchmarks: the relay under test, a publisher, counting subscribers.

They talk over a line protocol (one JSON object a line) on loopback TCP; the orchestrator
drives each child through its stdin and reads JSON lines from its stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    line = await asyncio.wait_for(reader.readline(), 60)
    reply: dict[str, Any] = json.loads(line)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (all threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / HZ, int(fields[12]) / HZ  # utime, stime


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


ICE_ADDRESS_ENV = "HYFLEX_BENCH_ICE_ADDRESS"  # set by bench/lesson_vs_janus.py in its namespace


def bench_ice_address() -> None:
    """ICE on 127.0.0.1 alone; or, where ``HYFLEX_BENCH_ICE_ADDRESS`` is set (inside a network
    namespace of the benchmark's own, for Janus, which leaves loopback out), on that address
    alone."""
    import aioice.ice

    from streaming.loopback import use_loopback_only

    address = os.environ.get(ICE_ADDRESS_ENV)
    if address:
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [address]
    else:
        use_loopback_only()


def peer_config() -> Any:
    from aiortc import RTCBundlePolicy, RTCConfiguration

    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


# ----- relay process ------------------------------------------------------------------------
class BaselineRelay:
    """aiortc's MediaRelay, same negotiation model (relay offers, subscriber answers)."""

    def __init__(self) -> None:
        from aiortc.contrib.media import MediaRelay

        self.relay = MediaRelay()
        self.tracks: dict[str, Any] = {}
        self.pcs: dict[str, Any] = {}

    async def publish(self, pid: str, sdp: str) -> str:
        from aiortc import RTCPeerConnection, RTCSessionDescription

        pc = RTCPeerConnection(peer_config())
        self.pcs[pid] = pc
        pc.on("track", lambda track: self.tracks.__setitem__(f"{pid}/{track.kind}", track))
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def subscribe(self, pid: str, publisher: str, labels: list[str]) -> str:
        from aiortc import RTCPeerConnection, RTCRtpSender

        pc = RTCPeerConnection(peer_config())
        self.pcs[pid] = pc
        for label in labels:
            kind = "audio" if label == "microphone" else "video"
            source = self.tracks[f"{publisher}/{kind}"]
            transceiver = pc.addTransceiver(self.relay.subscribe(source), direction="sendonly")
            wanted = ("audio/opus",) if kind == "audio" else ("video/VP8", "video/rtx")
            transceiver.setCodecPreferences(
                [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType in wanted]
            )
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)

    async def answer(self, pid: str, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        await self.pcs[pid].setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def leave(self, pid: str) -> None:
        if pid in self.pcs:
            await self.pcs.pop(pid).close()

    async def close(self) -> None:
        for pc in self.pcs.values():
            await pc.close()


async def relay_main(mode: str) -> None:
    from server.app import tune_gc
    from streaming.room import MediaRoom

    bench_ice_address()
    tune_gc()  # the relay runs inside the server, whose start-up tunes the garbage collector
    room = MediaRoom("bench", [])
    baseline = BaselineRelay()
    ours = mode != "mediarelay"  # "base": the same room, streaming/ from an older commit

    async def carry_out(op: str, pid: str, msg: dict[str, Any]) -> dict[str, Any]:
        if op == "publish":
            labels = msg.get("labels", ["camera", "microphone"])
            if ours:
                return {"sdp": await room.publish(pid, msg["sdp"], labels)}
            return {"sdp": await baseline.publish(pid, msg["sdp"])}
        if op == "subscribe":
            labels = msg.get("labels", ["camera"])
            if ours:
                sdp = await room.subscribe(pid, msg["publishers"], labels=labels, stage=False)
                return {"sdp": sdp}
            return {"sdp": await baseline.subscribe(pid, msg["publishers"][0], labels)}
        if op == "answer":
            if ours:
                await room.accept_answer(pid, msg["sdp"])
            else:
                await baseline.answer(pid, msg["sdp"])
            return {"ok": True}
        if op == "leave":
            if ours:
                await room.close_participant(pid)
            else:
                await baseline.leave(pid)
            return {"ok": True}
        if op == "bytes":
            received = {f"{s.key.publisher_id}/{s.key.label}": s.bytes for s in room.hub.sources}
            return {"bytes": received, "at": time.monotonic()}
        if op == "health":
            return relay_health(room)
        if op == "latency":
            delays = relay_delays(room)
            return {
                "p50": percentile(delays, 50) if delays else None,
                "p95": percentile(delays, 95) if delays else None,
            }
        raise ValueError(f"unknown op {op!r}")

    await serve_ops(carry_out, {})
    await room.close()
    await baseline.close()


Op = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def serve_ops(carry_out: Op, ready: dict[str, Any]) -> None:
    """The relay's side of the line protocol: each line an op (with "op" and "pid"), carried
    out and answered with one line (a failure as {"error": ...}). Prints {"port": ..., **ready}
    and serves until the parent closes this process's stdin."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            msg = json.loads(line)
            try:
                reply = await carry_out(msg["op"], msg.get("pid", ""), msg)
            except Exception as exc:
                reply = {"error": repr(exc)}
            await send(writer, reply)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port, **ready}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


def relay_health(room: Any) -> dict[str, int]:
    """What went wrong inside the relay: publisher gaps, keyframe asks, subscriber drops."""
    sources = room.hub.sources
    tracks = [track for leg in room.subscribers.values() for track in leg.slots]
    return {
        "publisher_gaps": sum(s.gaps for s in sources),
        "keyframe_requests": sum(s.keyframe_requests for s in sources),
        "publisher_freezes": sum(s.freezes for s in sources),
        "subscriber_units_dropped": sum(t.dropped for t in tracks),
        "subscriber_overflows": sum(t.overflows for t in tracks),
    }


def relay_delays(room: Any) -> list[float]:
    delays: list[float] = []
    for leg in room.subscribers.values():
        for track in leg.slots:
            delays.extend(d * 1000 for d in track.delays)
    return delays


# ----- publisher process --------------------------------------------------------------------
async def publisher_main(port: int, pid: str, content: str, video: list[str], audio: bool) -> None:
    """Publish ``video`` (content names, camera first then screen) and the microphone."""
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from bench._media_content import EncodedLoopTrack, load

    bench_ice_address()
    units = load(content)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    pc = RTCPeerConnection(peer_config())
    labels: list[str] = []
    if audio:
        pc.addTransceiver(EncodedLoopTrack("audio", units["opus"]), direction="sendonly")
        labels.append("microphone")
    for name, label in zip(video, ("camera", "screen"), strict=False):
        track = EncodedLoopTrack("video", units[name])
        sender = pc.addTransceiver(track, direction="sendonly").sender
        sender._send_keyframe = track.restart_loop  # a PLI restarts the loop at its keyframe
        labels.append(label)
    await pc.setLocalDescription(await pc.createOffer())
    reply = await request(
        reader,
        writer,
        {"op": "publish", "pid": pid, "sdp": pc.localDescription.sdp, "labels": labels},
    )
    await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await pc.close()


# ----- subscriber process -------------------------------------------------------------------
class CountingPeer:
    """A light subscriber: counts complete frames per track from RTP headers alone.

    Its DTLS transport still unprotects every packet (SRTP), but instead of aiortc's jitter
    buffer and depacketiser a frame is counted at each packet with the marker bit (the last
    packet of a frame), by SSRC as the relay's offer announced them. This keeps the load
    generator's CPU small so that the machine's cores go to the relay under test. (NACK and
    keyframe repair are exercised by tests/streaming, not here.)
    """

    def __init__(self, pid: str) -> None:
        from aiortc import RTCPeerConnection

        self.pid = pid
        self.pc = RTCPeerConnection(peer_config())
        self.frames: dict[str, int] = {}
        self._names: dict[int, str] = {}  # media SSRC -> "video0", "audio1", ...
        self.first_frame = asyncio.Event()
        self.first_at: float | None = None

    def _watch(self, offer_sdp: str) -> None:
        from aiortc.sdp import SessionDescription

        for index, media in enumerate(SessionDescription.parse(offer_sdp).media):
            name = f"{media.kind}{index}"
            self.frames[name] = 0
            if media.ssrc:
                self._names[media.ssrc[0].ssrc] = name
        transport = self.pc.getTransceivers()[0].receiver.transport
        transport._handle_rtp_data = self._on_rtp

    async def _on_rtp(self, data: bytes, arrival_time_ms: int) -> None:
        if len(data) < 12 or not data[1] & 0x80:
            return
        name = self._names.get(int.from_bytes(data[8:12], "big"))
        if name is None:
            return
        self.frames[name] += 1
        if self.first_at is None and all(self.frames.values()):
            self.first_at = time.monotonic()  # every track has its first complete frame
            self.first_frame.set()

    async def join(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        publishers: list[str],
        labels: list[str],
    ) -> None:
        from aiortc import RTCSessionDescription

        offer = await request(
            reader,
            writer,
            {"op": "subscribe", "pid": self.pid, "publishers": publishers, "labels": labels},
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        self._watch(offer["sdp"])
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await request(
            reader, writer, {"op": "answer", "pid": self.pid, "sdp": self.pc.localDescription.sdp}
        )


async def subscriber_main(
    port: int, prefix: str, count: int, publishers: list[str], labels: list[str], late: int
) -> None:
    bench_ice_address()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    peers = [CountingPeer(f"{prefix}{i}") for i in range(count)]
    for peer in peers:
        await peer.join(reader, writer, publishers, labels)
    await asyncio.wait_for(asyncio.gather(*(p.first_frame.wait() for p in peers)), 60)
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = line.strip()
        if command == "count":
            print(json.dumps({"frames": [p.frames for p in peers]}), flush=True)
        elif command == "late":
            spaced = await late_join_series(reader, writer, late, publishers, 0.7)
            burst = await late_join_series(reader, writer, late, publishers, 0.0)
            print(json.dumps({"late_ms": spaced, "late_burst_ms": burst}), flush=True)
        elif command == "quit":
            break
    for peer in peers:
        await peer.pc.close()


async def late_join_series(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    joins: int,
    publishers: list[str],
    pause: float,
) -> list[float]:
    """Join (camera only), wait for the first complete video frame, leave.

    With ``pause`` > 0.5 s the relay's cached keyframe is always stale, so each join goes the
    PLI way (worst case); back-to-back joins mostly start from the cached keyframe.
    """
    results: list[float] = []
    for i in range(joins):
        await asyncio.sleep(pause)  # spacing between joins, part of the scenario
        peer = CountingPeer(f"late{pause}-{i}")
        started = time.monotonic()
        await peer.join(reader, writer, publishers, ["camera"])
        await asyncio.wait_for(peer.first_frame.wait(), 10)
        assert peer.first_at is not None
        results.append((peer.first_at - started) * 1000)
        await request(reader, writer, {"op": "leave", "pid": peer.pid})
        await peer.pc.close()
    return results


# ----- orchestration helpers ----------------------------------------------------------------
class Child:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, script: str, *args: str) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            script,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return cls(proc)

    async def read(self, within: float = 90) -> dict[str, Any]:
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
