"""Publisher bitrate cap through REMB, and the H264 constrained-baseline option."""

from __future__ import annotations

import asyncio

from relay_test_peers import HEIGHT, WIDTH, PeerPublisher, start_publisher, start_subscriber

from streaming.negotiation import VideoCodec
from streaming.room import MediaRoom


async def wait_for_target(publisher: PeerPublisher, limit: int, within: float) -> int:
    """aiortc's encoder has no change event: poll it, bounded in time."""

    async def loop() -> int:
        while True:
            encoder = publisher.video_encoder()
            if encoder is not None and encoder.target_bitrate <= limit:
                return int(encoder.target_bitrate)
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(loop(), within)


async def test_bitrate_cap_reaches_the_publishers_encoder(room: MediaRoom) -> None:
    publisher = await start_publisher(room, "site-a", labels=("camera",), max_bitrate_bps=300_000)
    try:
        encoder_target = await wait_for_target(publisher, 300_000, 10)
        assert encoder_target <= 300_000  # aiortc's default target is 500 kbit/s
        await room.set_publisher_bitrate("site-a", 260_000)
        assert await wait_for_target(publisher, 260_000, 10) <= 260_000
    finally:
        await publisher.close()


async def test_h264_constrained_baseline_relay_decodes() -> None:
    room = MediaRoom("h264", video_codec=VideoCodec.H264)
    publisher = await start_publisher(room, "teacher", labels=("camera",), video_mime="video/H264")
    sub = await start_subscriber(room, "s1", ["teacher"], labels=["camera"], stage=False)
    try:
        await sub.slots["teacher/camera"].wait_frames(10)
        assert sub.slots["teacher/camera"].sizes == {(WIDTH, HEIGHT)}
        source = room.hub.sources[0]
        assert source.codec_name == "H264" and source.keyframes >= 1
        offer_codecs = room.subscribers["s1"].pc.getTransceivers()[0]._codecs
        assert [c.mimeType for c in offer_codecs if c.mimeType != "video/rtx"] == ["video/H264"]
        assert offer_codecs[0].parameters["profile-level-id"] == "42e01f"
    finally:
        await sub.close()
        await publisher.close()
        await room.close()
    assert room.live_counts().peer_connections == 0
