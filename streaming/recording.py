"""Record a publisher's encoded packets into one file with PyAV, without decoding.

Timestamps are on the lesson clock: t=0 is ``lesson_start`` (wall-clock seconds). Each track
is anchored at the lesson time its first packet arrived and then follows its own RTP clock,
so audio and video stay in step. Video starts (and restarts after a publisher gap) at a
keyframe. WebM holds VP8 + Opus; H264 goes into Matroska (``.mkv``).
"""

from __future__ import annotations

import fractions
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from streaming.media_packets import MediaUnit, TrackLabel, vp8_dimensions
from streaming.negotiation import VideoCodec
from streaming.relay_source import RelaySource

logger = logging.getLogger(__name__)

MS = fractions.Fraction(1, 1000)
DEFAULT_SIZE = (640, 480)


@dataclass(frozen=True, slots=True)
class TrackSummary:
    label: str
    packets: int
    first_ms: int | None
    last_ms: int | None


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    path: str
    tracks: tuple[TrackSummary, ...]


class RecorderInput:
    """A sink for one label; the hub binds it to the publisher's track."""

    def __init__(self, recorder: LessonRecorder, label: TrackLabel) -> None:
        self.recorder = recorder
        self.label = label
        self.source: RelaySource | None = None
        self.waiting_key = True
        self.anchor: tuple[int, int] | None = None  # (lesson ms, source pts)
        self.last_ms: int | None = None
        self.first_ms: int | None = None
        self.packets = 0

    def on_gap(self, source: RelaySource) -> None:
        if source is not self.source:
            self.source = source
            self.anchor = None
        self.waiting_key = True

    def on_unit(self, source: RelaySource, unit: MediaUnit) -> None:
        if source is not self.source:
            self.on_gap(source)
        if self.waiting_key:
            if not unit.keyframe:
                source.request_keyframe()
                return
            self.waiting_key = False
        self.recorder.write(self, unit)


class LessonRecorder:
    """Muxes encoded units from several inputs into one container file."""

    def __init__(
        self,
        path: str | Path,
        lesson_start: float,
        labels: Iterable[TrackLabel] = (
            TrackLabel.CAMERA,
            TrackLabel.MICROPHONE,
            TrackLabel.SCREEN,
        ),
        video_codec: VideoCodec = VideoCodec.VP8,
        video_size: tuple[int, int] = DEFAULT_SIZE,
    ) -> None:
        self.path = str(path)
        self._offset = time.time() - lesson_start - time.monotonic()  # mono -> lesson s
        self._video_codec = video_codec
        self._video_size = video_size
        self.inputs = [RecorderInput(self, TrackLabel(label)) for label in labels]
        self._container: Any = None
        self._streams: dict[TrackLabel, Any] = {}
        self._pending_size: dict[TrackLabel, tuple[int, int]] = {}
        self.closed = False

    def lesson_ms(self, monotonic_time: float) -> int:
        return round((monotonic_time + self._offset) * 1000)

    def _open(self) -> None:
        fmt = "webm" if self._video_codec is VideoCodec.VP8 else "matroska"
        self._container = av.open(self.path, mode="w", format=fmt)
        for recorder_input in self.inputs:
            label = recorder_input.label
            if label.kind == "audio":
                stream = self._container.add_stream("opus", rate=48000)
            else:
                name = "vp8" if self._video_codec is VideoCodec.VP8 else "h264"
                stream = self._container.add_stream(name, rate=30)
                width, height = self._pending_size.get(label, self._video_size)
                stream.width, stream.height = width, height
                stream.pix_fmt = "yuv420p"
            stream.time_base = MS
            self._streams[label] = stream

    def write(self, recorder_input: RecorderInput, unit: MediaUnit) -> None:
        if self.closed:
            return
        label = recorder_input.label
        if self._container is None:
            if label.kind == "video" and self._video_codec is VideoCodec.VP8:
                size = vp8_dimensions(unit.data)
                if size is not None:
                    self._pending_size[label] = size
            self._open()
        if recorder_input.anchor is None:
            recorder_input.anchor = (self.lesson_ms(unit.arrival), unit.pts)
        anchor_ms, anchor_pts = recorder_input.anchor
        ms = anchor_ms + round((unit.pts - anchor_pts) * 1000 / unit.clock_rate)
        if ms < 0:  # before the lesson started
            return
        if recorder_input.last_ms is not None and ms <= recorder_input.last_ms:
            ms = recorder_input.last_ms + 1
        packet = av.Packet(unit.data)
        packet.pts = ms
        packet.dts = ms
        packet.time_base = MS
        packet.stream = self._streams[label]
        if unit.keyframe:
            packet.is_keyframe = True
        try:
            self._container.mux(packet)
        except av.FFmpegError as exc:
            logger.warning("recording %s: mux failed: %s", self.path, exc)
            return
        recorder_input.packets += 1
        recorder_input.last_ms = ms
        if recorder_input.first_ms is None:
            recorder_input.first_ms = ms

    def close(self) -> RecordingSummary:
        if not self.closed:
            self.closed = True
            if self._container is not None:
                self._container.close()
                self._container = None
        return RecordingSummary(
            path=self.path,
            tracks=tuple(
                TrackSummary(i.label.value, i.packets, i.first_ms, i.last_ms) for i in self.inputs
            ),
        )
