"""Bad, hostile or vanishing peers get typed errors and leave nothing behind."""

from __future__ import annotations

import time

import pytest
from aiortc import RTCPeerConnection
from relay_test_peers import PatternVideoTrack, config, start_publisher, start_subscriber

from server.domain.errors import BadInput, NotFound, NotPermitted
from streaming.room import MediaRoom


async def offer_with(kinds: list[str]) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection(config())
    for kind in kinds:
        pc.addTransceiver(kind, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


@pytest.mark.parametrize(
    "sdp",
    ["", "hello", "v=0\r\nm=video\r\n", "v=0\r\n" + "a=x\r\n" * 20000, "v=0\r\ns=-\r\n"],
)
async def test_malformed_publish_offer_is_bad_input(room: MediaRoom, sdp: str) -> None:
    with pytest.raises(BadInput):
        await room.publish("teacher", sdp, ["camera"])
    assert room.live_counts().peer_connections == 0


async def test_too_many_tracks_is_bad_input(room: MediaRoom) -> None:
    pc, sdp = await offer_with(["video", "video", "video"])
    try:
        with pytest.raises(BadInput, match="too many tracks"):
            await room.publish("teacher", sdp, ["camera", "screen"])
    finally:
        await pc.close()
    assert room.live_counts().peer_connections == 0


async def test_publishing_a_label_not_allowed_is_not_permitted(room: MediaRoom) -> None:
    pc, sdp = await offer_with(["audio", "video"])
    try:
        with pytest.raises(NotPermitted):
            await room.publish("student-7", sdp, ["microphone"])
    finally:
        await pc.close()
    assert room.live_counts().peer_connections == 0


async def test_unsupported_codec_is_bad_input(room: MediaRoom) -> None:
    with pytest.raises(BadInput, match="does not offer VP8"):
        await start_publisher(room, "teacher", labels=("camera",), video_mime="video/H264")
    assert room.live_counts().peer_connections == 0


async def test_unknown_label_mode_and_ids_are_bad_input(room: MediaRoom) -> None:
    pc, sdp = await offer_with(["video"])
    try:
        with pytest.raises(BadInput):
            await room.publish("teacher", sdp, ["webcam"])
        with pytest.raises(BadInput):
            await room.publish("a/b", sdp, ["camera"])
        with pytest.raises(BadInput):
            await room.subscribe("s1", ["teacher"], mode="4k")
        with pytest.raises(BadInput):
            await room.subscribe("s1", [], stage=False)
    finally:
        await pc.close()
    with pytest.raises(NotFound):
        await room.accept_answer("nobody", "v=0\r\n")
    with pytest.raises(NotFound):
        room.set_mode("nobody", "full")
    assert room.live_counts().peer_connections == 0


async def test_garbage_answer_is_bad_input_and_subscription_stays_answerable(
    room: MediaRoom,
) -> None:
    publisher = await start_publisher(room, "teacher")
    await room.subscribe("s1", ["teacher"])
    with pytest.raises(BadInput):
        await room.accept_answer("s1", "v=0\r\nnonsense")
    await room.close_participant("s1")
    sub = await start_subscriber(room, "s1", ["teacher"])  # a clean retry works
    try:
        await sub.slots["teacher/camera"].wait_frames(3)
    finally:
        await sub.close()
        await publisher.close()


async def test_subscriber_that_never_answers_is_cleaned_up() -> None:
    room = MediaRoom("s", negotiation_timeout=1.0)
    try:
        await room.subscribe("ghost", ["teacher"])
        assert room.live_counts().peer_connections == 1
        await room.wait_until(lambda: room.live_counts().peer_connections == 0, 5)
        assert "ghost" not in room.subscribers
    finally:
        await room.close()
    assert room.live_counts().relay_tasks == 0


async def test_publisher_that_vanishes_after_its_offer_is_cleaned_up() -> None:
    room = MediaRoom("s", negotiation_timeout=1.0)
    pc = RTCPeerConnection(config())
    pc.addTransceiver(PatternVideoTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    try:
        await room.publish("teacher", pc.localDescription.sdp, ["camera"])
        await pc.close()  # gone before it ever set our answer
        started = time.monotonic()
        await room.wait_until(lambda: room.live_counts().peer_connections == 0, 6)
        assert time.monotonic() - started < 6
        assert room.hub.source_count == 0
    finally:
        await room.close()


async def test_publisher_dropping_mid_stream_releases_its_sources(room: MediaRoom) -> None:
    publisher = await start_publisher(room, "teacher")
    sub = await start_subscriber(room, "s1", ["teacher"], stage=False)
    try:
        await sub.slots["teacher/camera"].wait_frames(3)
        await publisher.close()  # sends RTCP BYE; the relay's receivers stop
        await room.wait_until(lambda: room.hub.source_count == 0, 10)
        await room.wait_until(lambda: "teacher" not in room.publishers, 10)
        assert "s1" in room.subscribers  # the subscriber keeps its slots for a republish
        again = await start_publisher(room, "teacher")
        try:
            await sub.slots["teacher/camera"].wait_frames(sub.slots["teacher/camera"].frames + 3)
        finally:
            await again.close()
    finally:
        await sub.close()
