"""Camera-like benchmark media: encoded once, replayed by the publisher in real time.

Video: ffmpeg ``testsrc2`` with temporal noise through PyAV's lavfi input, VP8-encoded once
(about 0.5 Mbps at 640x480, 1.2 Mbps at 1280x720); the loop starts with a keyframe, so a
keyframe request (PLI) from the relay restarts the loop. Audio: pink noise, Opus, 20 ms
packets (50 a second). Encoding once keeps the publisher's CPU small and the content the same
in every run; the relay measures and prints the bitrate it actually receives.
"""

from __future__ import annotations

import asyncio
import fractions
import itertools
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

FPS = 30
VIDEO_CLOCK = 90_000
OPUS_CLOCK = 48_000
OPUS_SAMPLES = 960  # 20 ms
CAMERA = "testsrc2=size={w}x{h}:rate=30,noise=alls=8:allf=t"
CONTENT = {  # name: (lavfi graph or None for a grey frame with a moving bar, w, h, bps)
    "480p": (CAMERA, 640, 480, 500_000),
    "720p": (CAMERA, 1280, 720, 1_200_000),
    "greybar": (None, 640, 480, 500_000),
}


def grey_bar_frames(width: int, height: int) -> Iterator[av.VideoFrame]:
    """The old content (tests/streaming's pattern): grey with one moving bright bar."""
    for count in itertools.count():
        frame = av.VideoFrame(width, height, "yuv420p")
        y_plane, u_plane, v_plane = frame.planes
        row = bytearray([96]) * y_plane.line_size
        bar = (count * 8) % (width - 32)
        row[bar : bar + 32] = b"\xf0" * 32
        y_plane.update(bytes(row) * height)
        u_plane.update(bytes([128]) * u_plane.buffer_size)
        v_plane.update(bytes([128]) * v_plane.buffer_size)
        yield frame


def encode_video(name: str, frames: int = 90) -> list[bytes]:
    graph, width, height, bitrate = CONTENT[name]
    source = None if graph is None else av.open(graph.format(w=width, h=height), format="lavfi")
    decoded = grey_bar_frames(width, height) if source is None else source.decode(video=0)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.framerate = fractions.Fraction(FPS, 1)
    encoder.bit_rate = bitrate
    encoder.gop_size = frames  # one keyframe at the start of the loop
    encoder.options = {"deadline": "realtime", "cpu-used": "4", "lag-in-frames": "0"}
    out: list[bytes] = []
    for index, frame in enumerate(decoded):
        if index >= frames:
            break
        frame.pts = index
        frame.pict_type = av.video.frame.PictureType.I if index == 0 else 0
        out.extend(bytes(p) for p in encoder.encode(frame))
    out.extend(bytes(p) for p in encoder.encode(None))
    if source is not None:
        source.close()
    if not out or out[0][0] & 1:
        raise RuntimeError("camera loop must start with a keyframe")
    return out[:frames]


def encode_audio(seconds: float = 2.0) -> list[bytes]:
    source = av.open("anoisesrc=color=pink:amplitude=0.08:sample_rate=48000", format="lavfi")
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = OPUS_CLOCK
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = 40_000
    encoder.options = {"application": "voip", "frame_duration": "20"}
    resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_CLOCK)
    out: list[bytes] = []
    wanted = int(seconds * 50)
    for frame in source.decode(audio=0):
        for resampled in resampler.resample(frame):
            out.extend(bytes(p) for p in encoder.encode(resampled))
        if len(out) >= wanted:
            break
    source.close()
    return out[:wanted]


def prepare(names: list[str], directory: Path) -> Path:
    """Encode every content once into one pickle the publishers load."""
    path = directory / "media_content.pickle"
    content = {name: encode_video(name) for name in names}
    content["opus"] = encode_audio()
    path.write_bytes(pickle.dumps(content))
    return path


def load(path: str) -> dict[str, list[bytes]]:
    content: dict[str, list[bytes]] = pickle.loads(Path(path).read_bytes())
    return content


class EncodedLoopTrack(MediaStreamTrack):
    """Replays encoded frames in real time as ``av.Packet`` (aiortc packetises, no encoding)."""

    def __init__(self, kind: str, units: list[bytes]) -> None:
        super().__init__()
        self.kind = kind
        self._units = units
        self._clock = VIDEO_CLOCK if kind == "video" else OPUS_CLOCK
        self._step = VIDEO_CLOCK // FPS if kind == "video" else OPUS_SAMPLES
        self._period = self._step / self._clock
        self._sent = 0
        self._index = 0
        self._start: float | None = None
        self.restarts = 0

    def restart_loop(self) -> None:
        """A keyframe request: the next unit sent is the loop's first (a keyframe)."""
        self._index = 0
        self.restarts += 1

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._sent * self._period - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # real-time pacing of a live source
        packet = av.Packet(self._units[self._index])
        packet.pts = self._sent * self._step
        packet.time_base = fractions.Fraction(1, self._clock)
        self._sent += 1
        self._index = (self._index + 1) % len(self._units)
        return packet
