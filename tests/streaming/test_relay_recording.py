"""The teacher's encoded packets are muxed into WebM on the lesson clock, decodable by PyAV."""

from __future__ import annotations

import time
from pathlib import Path

import av
from relay_test_peers import HEIGHT, WIDTH, start_publisher, start_subscriber

from streaming.room import MediaRoom


async def test_recording_decodes_with_expected_duration_and_frames(
    room: MediaRoom, tmp_path: Path
) -> None:
    lesson_start = time.time() - 2.0  # the lesson started two seconds ago
    publisher = await start_publisher(room, "teacher")
    path = tmp_path / "lesson.webm"
    recorder = room.start_recording(path, "teacher", lesson_start, ["camera", "microphone"])
    watcher = await start_subscriber(room, "w", ["teacher"], stage=False)
    try:
        await watcher.slots["teacher/camera"].wait_frames(75)  # about 2.5 s of video
    finally:
        summary = room.stop_recording()
        await watcher.close()
        await publisher.close()
    tracks = {t.label: t for t in summary.tracks}
    video, audio = tracks["camera"], tracks["microphone"]
    assert video.packets >= 45 and audio.packets >= 45
    assert video.first_ms is not None and video.first_ms >= 2000  # lesson clock, not file clock
    assert recorder.closed

    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska")
        vstream = container.streams.video[0]
        assert vstream.codec_context.name in ("vp8", "libvpx")
        frames = list(container.decode(video=0))
    assert len(frames) == video.packets
    assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}
    first_s = float(frames[0].time)
    last_s = float(frames[-1].time)
    assert abs(first_s - video.first_ms / 1000) < 0.01
    expected = video.packets / 30  # the synthetic camera runs at 30 fps
    assert abs((last_s - first_s) - expected) < 0.5
    with av.open(str(path)) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    assert abs(samples / 48_000 - audio.packets * 0.02) < 0.1  # 20 ms Opus packets
