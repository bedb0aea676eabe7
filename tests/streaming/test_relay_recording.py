"""The teacher's encoded packets are muxed (no decode) on the lesson clock, decodable by PyAV.

Camera + microphone share one file with a fixed stream order (0 = camera, 1 = microphone);
the screen has a file of its own, created only when the screen first sends.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av
from relay_test_peers import HEIGHT, WIDTH, PatternVideoTrack, start_publisher, start_subscriber

from streaming.recording import screen_path_for
from streaming.room import MediaRoom

SCREEN_SIZE = (320, 240)


class GatedVideoTrack(PatternVideoTrack):
    """Sends nothing until ``gate`` is set (a screen share started mid-lesson)."""

    def __init__(self, gate: asyncio.Event, width: int, height: int) -> None:
        super().__init__(width, height)
        self.gate = gate

    async def recv(self) -> av.VideoFrame:
        await self.gate.wait()
        return await super().recv()


def decode_video(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


async def test_camera_microphone_file_in_fixed_order_and_late_screen_in_its_own(
    room: MediaRoom, tmp_path: Path
) -> None:
    lesson_start = time.time() - 2.0  # the lesson started two seconds ago
    gate = asyncio.Event()
    publisher = await start_publisher(
        room,
        "teacher",
        ("microphone", "camera", "screen"),
        custom_tracks={"screen": GatedVideoTrack(gate, *SCREEN_SIZE)},
    )
    path = tmp_path / "lesson.webm"
    screen_path = screen_path_for(path)
    assert screen_path.name == "lesson.screen.webm"
    recorder = room.start_recording(path, "teacher", lesson_start)  # all three labels
    watcher = await start_subscriber(room, "w", ["teacher"], stage=False)
    try:
        await watcher.slots["teacher/camera"].wait_frames(45)
        assert recorder.open_files == (str(path),)  # no empty screen stream up front
        gate.set()  # the teacher starts sharing the screen
        await watcher.slots["teacher/screen"].wait_frames(45)
    finally:
        summary = room.stop_recording()
        await watcher.close()
        await publisher.close()
    assert recorder.closed
    tracks = {t.label: t for t in summary.tracks}
    video, audio, screen = tracks["camera"], tracks["microphone"], tracks["screen"]
    assert summary.files == (str(path), str(screen_path))
    assert video.path == audio.path == str(path) and screen.path == str(screen_path)
    assert video.packets >= 60 and audio.packets >= 60 and screen.packets >= 30
    assert video.dropped == audio.dropped == screen.dropped == 0
    assert video.first_ms is not None and video.first_ms >= 2000  # lesson clock, not file clock
    assert screen.first_ms is not None and screen.first_ms > video.first_ms + 1000

    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska")
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert container.streams.video[0].codec_context.name in ("vp8", "libvpx")
        assert container.streams.audio[0].codec_context.name in ("opus", "libopus")
    frames = decode_video(path)
    assert len(frames) == video.packets
    assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}
    # the file spans the lesson from its start: the first picture stands from t=0 (a player's
    # bar and seeks then agree with the lesson clock), the next ones are at their lesson time
    assert float(frames[0].time) == 0.0
    first_s, last_s = float(frames[1].time), float(frames[-1].time)
    assert abs(first_s - video.first_ms / 1000 - 1 / 30) < 0.02
    assert abs((last_s - first_s) - video.packets / 30) < 0.5  # the camera runs at 30 fps
    with av.open(str(path)) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    assert abs(samples / 48_000 - audio.packets * 0.02) < 0.1  # 20 ms Opus packets

    with av.open(str(screen_path)) as container:
        assert [s.type for s in container.streams] == ["video"]
    shots = decode_video(screen_path)
    assert len(shots) == screen.packets
    assert {(f.width, f.height) for f in shots} == {SCREEN_SIZE}
    assert abs(float(shots[0].time) - screen.first_ms / 1000) < 0.01
    assert abs((float(shots[-1].time) - float(shots[0].time)) - screen.packets / 30) < 0.5


async def test_unused_tracks_get_no_stream_and_no_file(room: MediaRoom, tmp_path: Path) -> None:
    publisher = await start_publisher(room, "teacher", ("microphone",))
    path = tmp_path / "lesson.webm"
    room.start_recording(path, "teacher", time.time())
    watcher = await start_subscriber(room, "w", ["teacher"], stage=False)
    try:
        await watcher.slots["teacher/microphone"].wait_frames(50)
    finally:
        summary = room.stop_recording()
        await watcher.close()
        await publisher.close()
    tracks = {t.label: t for t in summary.tracks}
    assert tracks["microphone"].packets >= 40
    assert tracks["camera"].packets == tracks["screen"].packets == 0
    assert tracks["camera"].path is None and tracks["screen"].path is None
    assert summary.files == (str(path),)
    assert not screen_path_for(path).exists()
    with av.open(str(path)) as container:
        assert [s.type for s in container.streams] == ["audio"]
        samples = sum(f.samples for f in container.decode(audio=0))
    assert abs(samples / 48_000 - tracks["microphone"].packets * 0.02) < 0.1
