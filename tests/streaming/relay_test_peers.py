"""Real aiortc peers for the relay tests: a synthetic publisher and counting subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from streaming.room import MediaRoom

WIDTH, HEIGHT = 640, 480


class PatternVideoTrack(VideoStreamTrack):
    """640x480 frames at 30 fps: grey with a moving bright bar (so delta frames are real)."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        y_plane, u_plane, v_plane = frame.planes
        row = bytearray([96]) * y_plane.line_size
        bar = (self.count * 8) % (self.width - 32)
        row[bar : bar + 32] = b"\xf0" * 32
        y_plane.update(bytes(row) * self.height)
        u_plane.update(bytes([128]) * u_plane.buffer_size)
        v_plane.update(bytes([128]) * v_plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        self.count += 1
        return frame


def config() -> RTCConfiguration:
    # aiortc peers must use max-bundle to receive more than one m-line of a kind (see room.py)
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


@dataclass
class PeerPublisher:
    pc: RTCPeerConnection
    tracks: dict[str, Any]

    def video_encoder(self, label: str = "camera") -> Any:
        for sender in self.pc.getSenders():
            if sender.track is self.tracks.get(label):
                return getattr(sender, "_RTCRtpSender__encoder", None)
        return None

    async def close(self) -> None:
        await self.pc.close()


async def start_publisher(
    room: MediaRoom,
    participant_id: str,
    labels: Sequence[str] = ("microphone", "camera"),
    allowed: Sequence[str] = ("microphone", "camera", "screen"),
    video_mime: str | None = None,
    max_bitrate_bps: int | None = None,
    custom_tracks: dict[str, Any] | None = None,
) -> PeerPublisher:
    pc = RTCPeerConnection(config())
    tracks: dict[str, Any] = {}
    for label in labels:
        track: Any = (custom_tracks or {}).get(label) or (
            AudioStreamTrack() if label == "microphone" else PatternVideoTrack()
        )
        tracks[label] = track
        transceiver = pc.addTransceiver(track, direction="sendonly")
        if video_mime is not None and track.kind == "video":
            caps = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in caps if c.mimeType == video_mime])
    await pc.setLocalDescription(await pc.createOffer())
    try:
        answer = await room.publish(
            participant_id, pc.localDescription.sdp, allowed, max_bitrate_bps=max_bitrate_bps
        )
    except BaseException:
        await pc.close()
        raise
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return PeerPublisher(pc, tracks)


@dataclass
class SlotCounter:
    kind: str
    frames: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_frames(self, count: int, within: float = 15.0) -> None:
        async def loop() -> None:
            while self.frames < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), within)


@dataclass
class PeerSubscriber:
    pc: RTCPeerConnection
    slots: dict[str, SlotCounter]  # by slot name, as the relay named them (offer order)
    tasks: list[asyncio.Task[None]]

    def by_kind(self, kind: str) -> list[SlotCounter]:
        return [s for s in self.slots.values() if s.kind == kind]

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _consume(track: Any, counter: SlotCounter) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if isinstance(frame, av.VideoFrame):
            counter.sizes.add((frame.width, frame.height))
        counter.frames += 1
        counter.changed.set()


async def start_subscriber(
    room: MediaRoom,
    participant_id: str,
    publisher_ids: Sequence[str],
    **options: Any,
) -> PeerSubscriber:
    offer = await room.subscribe(participant_id, publisher_ids, **options)
    names = room.subscription_slots(participant_id)
    pc = RTCPeerConnection(config())
    slots: dict[str, SlotCounter] = {}
    tasks: list[asyncio.Task[None]] = []

    def on_track(track: Any) -> None:
        transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
        index = int(transceiver.mid)
        counter = SlotCounter(track.kind)
        slots[names[index]] = counter
        tasks.append(asyncio.get_running_loop().create_task(_consume(track, counter)))

    pc.on("track", on_track)
    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    await room.accept_answer(participant_id, pc.localDescription.sdp)
    return PeerSubscriber(pc, slots, tasks)


def time_base_ms() -> fractions.Fraction:
    return fractions.Fraction(1, 1000)
