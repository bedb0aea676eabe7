"""Record a publisher's encoded packets with PyAV, without decoding.

Files: the camera and microphone go into one file (``path``), stream 0 = camera, stream 1 =
microphone, always in that order; the screen goes into its own file (``screen_path_for(path)``,
e.g. ``lesson.screen.webm``). A container's streams must all exist before its header is
written, and a screen share usually starts (and stops) in the middle of a lesson, so one
file per track kind is the only layout that records a late screen without opening an empty
stream up front.

A file is opened lazily: its first units are buffered until every track of that file whose
publisher is live has delivered its first unit (video: a keyframe), or ``open_wait_s`` passed,
or ``max_buffered`` units are waiting. Only tracks seen by then get a stream (a track that
appears later is counted in ``TrackSummary.dropped``); a file whose tracks never send anything
is never created.

Timestamps are on the lesson clock: t=0 is ``lesson_start`` (wall-clock seconds). Each track
is anchored at the lesson time its first packet arrived and then follows its own RTP clock,
so audio and video stay in step. Video starts (and restarts after a publisher gap) at a
keyframe. WebM holds VP8 + Opus; H264 goes into Matroska (``.mkv``).

The camera file's first picture is stamped at t=0 (it stands still until the camera's next
frame): the file then spans the lesson from its start, so a player's bar, its seeks and the
lesson-clock moments of the embedded questions agree. Left at the camera's first lesson time,
a player shows the bar from 0 but cannot seek into the part before it (it snaps forward). The
summary's ``first_ms`` stays the lesson time the camera's first picture arrived.
"""

from __future__ import annotations

import fractions
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import av

from streaming.media_packets import MediaUnit, TrackLabel, vp8_dimensions
from streaming.negotiation import VideoCodec
from streaming.relay_source import RelaySource

logger = logging.getLogger(__name__)

MS = fractions.Fraction(1, 1000)
DEFAULT_SIZE = (640, 480)
OPEN_WAIT_S: Final = 3.0
MAX_BUFFERED: Final = 400  # units held before a file opens (about 3 s of audio + video)
MAIN_ORDER: Final = (TrackLabel.CAMERA, TrackLabel.MICROPHONE)  # stream index order
SCREEN_ORDER: Final = (TrackLabel.SCREEN,)


def screen_path_for(path: str | Path) -> Path:
    """``a.webm`` -> ``a.screen.webm``; ``a.webm.part`` -> ``a.screen.webm.part``."""
    p = Path(path)
    for ext in (".webm", ".mkv"):
        at = p.name.rfind(ext)
        if at > 0:
            return p.with_name(p.name[:at] + ".screen" + p.name[at:])
    return p.with_name(p.name + ".screen")


@dataclass(frozen=True, slots=True)
class TrackSummary:
    label: str
    packets: int
    first_ms: int | None
    last_ms: int | None
    path: str | None = None  # the file holding this track (None: nothing written)
    dropped: int = 0  # units that arrived after their file had opened without this track


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    path: str  # the camera + microphone file (may not exist if neither ever sent)
    tracks: tuple[TrackSummary, ...]
    files: tuple[str, ...] = ()  # the files actually written, camera/microphone file first


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
        self.dropped = 0

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


class _File:
    """One container, opened on demand with streams in a fixed order."""

    def __init__(self, path: str, inputs: list[RecorderInput], fmt: str) -> None:
        self.path = path
        self.inputs = inputs  # in stream order
        self.fmt = fmt
        self.container: Any = None
        self.streams: dict[TrackLabel, Any] = {}
        self.pending: list[tuple[RecorderInput, MediaUnit, int]] = []
        self.first_at: float | None = None
        self.failed = False
        self.pictured = False  # the camera's first picture is in (stamped at the lesson's start)

    def ready(self, now: float, wait_s: float, max_buffered: int) -> bool:
        if self.first_at is None:
            return False
        if now - self.first_at >= wait_s or len(self.pending) >= max_buffered:
            return True
        seen = {i.label for i, _u, _ms in self.pending}
        return all(i.label in seen for i in self.inputs if i.source is not None)

    def open(
        self,
        pending: list[tuple[RecorderInput, MediaUnit, int]],
        codec: VideoCodec,
        default_size: tuple[int, int],
    ) -> None:
        seen = {i.label for i, _u, _ms in pending}
        self.container = av.open(self.path, mode="w", format=self.fmt)
        for recorder_input in self.inputs:
            label = recorder_input.label
            if label not in seen:
                continue
            if label.kind == "audio":
                stream = self.container.add_stream("opus", rate=48000)
            else:
                stream = self.container.add_stream(
                    "vp8" if codec is VideoCodec.VP8 else "h264", rate=30
                )
                size = None
                if codec is VideoCodec.VP8:
                    first = next(u for i, u, _ms in pending if i is recorder_input)
                    size = vp8_dimensions(first.data)
                stream.width, stream.height = size or default_size
                stream.pix_fmt = "yuv420p"
            stream.time_base = MS
            self.streams[label] = stream

    def mux(self, recorder_input: RecorderInput, unit: MediaUnit, ms: int) -> None:
        stream = self.streams.get(recorder_input.label)
        if stream is None:
            recorder_input.dropped += 1
            return
        packet = av.Packet(unit.data)
        at = ms
        if recorder_input.label is TrackLabel.CAMERA and not self.pictured:
            self.pictured, at = True, 0
        packet.pts = at
        packet.dts = at
        packet.time_base = MS
        packet.stream = stream
        if unit.keyframe:
            packet.is_keyframe = True
        try:
            self.container.mux(packet)
        except av.FFmpegError as exc:
            logger.warning("recording %s: mux failed: %s", self.path, exc)
            return
        recorder_input.packets += 1
        if recorder_input.first_ms is None:
            recorder_input.first_ms = ms

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None


class LessonRecorder:
    """Muxes encoded units from several inputs into a camera+microphone file and a screen file."""

    def __init__(
        self,
        path: str | Path,
        lesson_start: float,
        labels: Iterable[TrackLabel] = MAIN_ORDER + SCREEN_ORDER,
        video_codec: VideoCodec = VideoCodec.VP8,
        video_size: tuple[int, int] = DEFAULT_SIZE,
        *,
        screen_path: str | Path | None = None,
        open_wait_s: float = OPEN_WAIT_S,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self.path = str(path)
        self.screen_path = str(screen_path_for(path) if screen_path is None else screen_path)
        self._offset = time.time() - lesson_start - time.monotonic()  # mono -> lesson s
        self._video_codec = video_codec
        self._video_size = video_size
        self._open_wait_s = open_wait_s
        self._max_buffered = max_buffered
        wanted = {TrackLabel(label) for label in labels}
        self.inputs = [RecorderInput(self, label) for label in MAIN_ORDER + SCREEN_ORDER]
        self.inputs = [i for i in self.inputs if i.label in wanted]
        fmt = "webm" if video_codec is VideoCodec.VP8 else "matroska"
        main = [i for i in self.inputs if i.label in MAIN_ORDER]
        screen = [i for i in self.inputs if i.label in SCREEN_ORDER]
        self._files = [_File(self.path, main, fmt), _File(self.screen_path, screen, fmt)]
        self._file_of = {i.label: f for f in self._files for i in f.inputs}
        self.closed = False

    @property
    def open_files(self) -> tuple[str, ...]:
        """Paths of the containers opened so far (a file opens when its tracks first send)."""
        return tuple(f.path for f in self._files if f.container is not None)

    def lesson_ms(self, monotonic_time: float) -> int:
        return round((monotonic_time + self._offset) * 1000)

    def write(self, recorder_input: RecorderInput, unit: MediaUnit) -> None:
        if self.closed:
            return
        if recorder_input.anchor is None:
            recorder_input.anchor = (self.lesson_ms(unit.arrival), unit.pts)
        anchor_ms, anchor_pts = recorder_input.anchor
        ms = anchor_ms + round((unit.pts - anchor_pts) * 1000 / unit.clock_rate)
        if ms < 0:  # before the lesson started
            return
        if recorder_input.last_ms is not None and ms <= recorder_input.last_ms:
            ms = recorder_input.last_ms + 1
        recorder_input.last_ms = ms
        file = self._file_of[recorder_input.label]
        if file.failed:
            return
        if file.container is not None:
            file.mux(recorder_input, unit, ms)
            return
        if file.first_at is None:
            file.first_at = unit.arrival
        file.pending.append((recorder_input, unit, ms))
        if file.ready(unit.arrival, self._open_wait_s, self._max_buffered):
            self._open(file)

    def _open(self, file: _File) -> None:
        pending, file.pending = file.pending, []
        try:
            file.open(pending, self._video_codec, self._video_size)
        except (av.FFmpegError, OSError) as exc:
            logger.error("recording %s: cannot open: %s", file.path, exc)
            file.failed = True
            file.close()
            return
        for recorder_input, unit, ms in pending:
            file.mux(recorder_input, unit, ms)

    def close(self) -> RecordingSummary:
        if not self.closed:
            self.closed = True
            for file in self._files:
                if file.container is None and file.pending and not file.failed:
                    self._open(file)
                file.close()
        written = [f for f in self._files if f.streams and not f.failed]
        return RecordingSummary(
            path=self.path,
            tracks=tuple(
                TrackSummary(
                    i.label.value,
                    i.packets,
                    i.first_ms,
                    i.last_ms if i.packets else None,
                    self._file_of[i.label].path if i.packets else None,
                    i.dropped,
                )
                for i in self.inputs
            ),
            files=tuple(f.path for f in written),
        )
