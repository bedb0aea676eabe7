"""Keyframe gating, overflow resync and timestamp continuity, driven deterministically."""

from __future__ import annotations

import asyncio

from streaming.forward_track import ForwardPolicy, ForwardTrack
from streaming.hub import RelayHub
from streaming.media_packets import (
    MediaUnit,
    TrackLabel,
    h264_is_keyframe,
    vp8_dimensions,
    vp8_is_keyframe,
)
from streaming.relay_source import RelaySource, SourceKey

KEY = b"\x10\x02\x00\x9d\x01\x2a\x80\x02\xe0\x01"  # VP8 keyframe tag, 640x480
DELTA = b"\x31\x02\x00"


class Requests:
    def __init__(self) -> None:
        self.count = 0
        self.seen = asyncio.Event()

    async def __call__(self) -> None:
        self.count += 1
        self.seen.set()


def unit(pts: int, key: bool, arrival: float) -> MediaUnit:
    return MediaUnit(KEY if key else DELTA, pts, 90_000, key, arrival)


def make_source(requests: Requests, publisher: str = "teacher") -> RelaySource:
    return RelaySource(SourceKey(publisher, TrackLabel.CAMERA), "VP8", 90_000, requests, 0.5)


def test_codec_keyframe_detection() -> None:
    assert vp8_is_keyframe(KEY) and not vp8_is_keyframe(DELTA)
    assert vp8_dimensions(KEY) == (640, 480) and vp8_dimensions(DELTA) is None
    idr = b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x00\x01\x68\xce" + b"\x00\x00\x00\x01\x65\x88"
    assert h264_is_keyframe(idr)
    assert not h264_is_keyframe(b"\x00\x00\x00\x01\x65\x88")  # IDR without SPS/PPS
    assert not h264_is_keyframe(b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x41\x9a")


async def test_new_sink_waits_for_keyframe_and_asks_for_one() -> None:
    requests = Requests()
    hub = RelayHub()
    source = make_source(requests)
    hub.add_source(source)
    track = ForwardTrack("video", "teacher/camera", max_queue=4)
    hub.bind(track, source.key)
    await asyncio.wait_for(requests.seen.wait(), 2)
    assert requests.count == 1
    source.push(unit(3000, False, 1.0))
    assert track.sent == 0 and track.waiting_for_keyframe and track.dropped == 1
    source.push(unit(6000, True, 1.033))
    source.push(unit(9000, False, 1.066))
    first = await asyncio.wait_for(track.recv(), 1)
    second = await asyncio.wait_for(track.recv(), 1)
    assert bytes(first) == KEY and first.pts == 0
    assert second.pts == 3000
    track.stop()
    hub.close()


async def test_overflow_flushes_and_resyncs_at_next_keyframe() -> None:
    requests = Requests()
    hub = RelayHub()
    source = make_source(requests)
    hub.add_source(source)
    track = ForwardTrack("video", "teacher/camera", max_queue=3)
    hub.bind(track, source.key)
    source.push(unit(0, True, 0.0))
    for i in range(1, 6):  # nobody pulls: the queue overflows on the 4th unit
        source.push(unit(i * 3000, False, i / 30))
    assert track.overflows == 1 and track.waiting_for_keyframe
    assert len(track._queue) == 0
    source.push(unit(18000, True, 0.6))
    source.push(unit(21000, False, 0.633))
    packet = await asyncio.wait_for(track.recv(), 1)
    assert bytes(packet) == KEY and not track.waiting_for_keyframe
    track.stop()
    hub.close()


async def test_publisher_gap_makes_sinks_wait_for_keyframe() -> None:
    hub = RelayHub()
    source = make_source(Requests())
    hub.add_source(source)
    track = ForwardTrack("video", "teacher/camera")
    hub.bind(track, source.key)
    source.push(unit(0, True, 0.0))
    source.push(unit(3000, False, 0.033))
    source.mark_gap()
    source.push(unit(9000, False, 0.1))
    assert track.waiting_for_keyframe and source.gaps == 1
    source.push(unit(12000, True, 0.133))
    packet = await asyncio.wait_for(track.recv(), 1)
    assert bytes(packet) == KEY
    track.stop()
    hub.close()


async def test_keyframe_requests_are_rate_limited_with_one_deferred() -> None:
    requests = Requests()
    source = make_source(requests)
    source.request_keyframe()
    for _ in range(10):
        source.request_keyframe()
    await asyncio.wait_for(requests.seen.wait(), 1)
    assert requests.count == 1 and source.keyframe_requests == 1
    assert source.has_deferred_request  # the ten later asks collapse into one, 0.5 s later
    source.end()
    assert not source.has_deferred_request
    assert source.task_count == 0


async def test_switching_source_keeps_output_timestamps_increasing() -> None:
    hub = RelayHub()
    first = make_source(Requests(), "teacher")
    second = make_source(Requests(), "site")
    second_key = SourceKey("site", TrackLabel.CAMERA)
    second = RelaySource(second_key, "VP8", 90_000, Requests(), 0.5)
    hub.add_source(first)
    hub.add_source(second)
    track = ForwardTrack("video", "stage:camera")
    hub.bind(track, first.key)
    first.push(unit(900_000, True, 10.0))
    out1 = await asyncio.wait_for(track.recv(), 1)
    hub.bind(track, second_key)
    second.push(unit(0, True, 10.5))  # its own clock starts at 0
    out2 = await asyncio.wait_for(track.recv(), 1)
    assert out2.pts - out1.pts == 45_000  # 0.5 s of wall time, not the sources' clocks
    track.stop()
    hub.close()


def test_keyframes_only_policy_forwards_only_keyframes() -> None:
    hub = RelayHub()
    source = make_source(Requests())
    hub.add_source(source)
    track = ForwardTrack("video", "teacher/screen")
    track.set_policy(ForwardPolicy.KEYFRAMES_ONLY)
    source.attach(track)
    track.on_gap(source)
    for i in range(10):
        source.push(unit(i * 3000, i % 5 == 0, i / 30))
    assert [u.keyframe for u in track._queue] == [True, True]
    track.set_policy(ForwardPolicy.NONE)
    source.push(unit(99_000, True, 2.0))
    assert len(track._queue) == 0
    track.stop()
    hub.close()


async def test_joiner_soon_after_a_keyframe_starts_from_the_cache_without_pli() -> None:
    requests = Requests()
    hub = RelayHub()
    source = make_source(requests)
    hub.add_source(source)
    source.push(unit(0, True, 0.0))
    source.push(unit(3000, False, 0.033))
    track = ForwardTrack("video", "teacher/camera")
    hub.bind(track, source.key)
    assert source.keyframe_requests == 0  # served from the cache
    first = await asyncio.wait_for(track.recv(), 1)
    second = await asyncio.wait_for(track.recv(), 1)
    assert bytes(first) == KEY and second.pts - first.pts == 3000
    for i in range(2, 20):  # the cache only covers a short window after the keyframe
        source.push(unit(i * 3000, False, i / 30))
    late = ForwardTrack("video", "teacher/camera")
    hub.bind(late, source.key)
    assert source.keyframe_requests == 1 and late.waiting_for_keyframe
    track.stop()
    late.stop()
    hub.close()
