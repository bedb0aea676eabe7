"""Publish legs' datagrams taken straight from the ICE pair, with real aiortc peers.

Once a publish leg's first SSRC is bound, its SRTP datagrams skip aioice's queue and the DTLS
transport's receive task (``aiortc_private.hook_srtp_datagrams``). These check, on loopback
with real peers, that the hook is in use and frames still reach a subscriber whole; that
RTCP still takes aiortc's path (the publisher's sender reports reach the receiver); and that
SSRCs are bound per publisher: a publisher writing another publisher's SSRC into its own
packets feeds nothing of the other's.
"""

from __future__ import annotations

import logging
import socket
import struct

import pytest
from relay_test_peers import HEIGHT, WIDTH, start_publisher, start_subscriber

from streaming import aiortc_private
from streaming.room import MediaRoom

INJECTED = b"INJECTED-BY-ANOTHER-PUBLISHER"


async def test_publish_datagrams_are_taken_straight_and_frames_arrive_whole(
    room: MediaRoom,
) -> None:
    publisher = await start_publisher(room, "teacher", labels=("microphone", "camera"))
    viewer = await start_subscriber(room, "viewer", ["teacher"], stage=False)
    try:
        camera, microphone = viewer.slots["teacher/camera"], viewer.slots["teacher/microphone"]
        await camera.wait_frames(10, within=20)
        leg = room.publishers["teacher"]
        assert leg.lean.direct_transports == 1, "the publish leg's datagrams take the queue"
        received_before = next(
            s for s in (await leg.pc.getStats()).values() if s.type == "transport"
        )
        await camera.wait_frames(camera.frames + 30, within=20)
        await microphone.wait_frames(microphone.frames + 30, within=20)
        assert camera.sizes == {(WIDTH, HEIGHT)}
        report = next(s for s in (await leg.pc.getStats()).values() if s.type == "transport")
        # the transport's own counters still count what the hook took
        assert report.packetsReceived > received_before.packetsReceived + 30
        # RTCP still goes aiortc's way: the receiver has the publisher's sender reports
        receiver = leg.receivers[next(iter(leg.receivers))]
        for _ in range(50):  # sender reports come every 0.5-1.5 s; bounded
            stats = await receiver.getStats()
            if any(s.type == "remote-outbound-rtp" for s in stats.values()):
                break
            await camera.wait_frames(camera.frames + 5, within=10)
        assert any(s.type == "remote-outbound-rtp" for s in stats.values())
    finally:
        await viewer.close()
        await publisher.close()


async def test_a_publisher_cannot_feed_another_publishers_track(room: MediaRoom) -> None:
    teacher = await start_publisher(room, "teacher", labels=("microphone",))
    site = await start_publisher(room, "site-a", labels=("microphone",))
    viewer = await start_subscriber(room, "viewer", ["teacher"], labels=["microphone"])
    try:
        microphone = viewer.slots["teacher/microphone"]
        await microphone.wait_frames(20, within=20)
        teacher_leg = room.publishers["teacher"]
        seen: list[bytes] = []
        for lean in teacher_leg.lean.receivers:
            handle = lean.handle

            def spy(data: bytes, arrival_ms: int, handle=handle):  # type: ignore[no-untyped-def]
                seen.append(data)
                return handle(data, arrival_ms)

            lean.handle = spy  # type: ignore[method-assign]
        teacher_ssrc = next(
            s.sender._ssrc for s in teacher.pc.getTransceivers() if s.sender.track is not None
        )
        site_sender = next(s.sender for s in site.pc.getTransceivers() if s.sender.track)
        site_dtls = site_sender.transport
        for seq in range(40):  # through the site's real SRTP session, with the teacher's SSRC
            forged = struct.pack("!BBHLL", 0x80, 111, 60_000 + seq, seq * 960, teacher_ssrc)
            await site_dtls._send_rtp(forged + INJECTED)
        # the teacher's own packets keep flowing meanwhile: 25 more reach the viewer
        before = len(seen)
        await microphone.wait_frames(microphone.frames + 25, within=10)
        assert len(seen) >= before + 25, "the teacher's own audio did not go the lean path"
        assert not [data for data in seen if INJECTED in data]
        site_leg = room.publishers["site-a"]
        assert all(lean.failures == 0 for lean in site_leg.lean.receivers)
    finally:
        await viewer.close()
        await site.close()
        await teacher.close()


async def test_the_hook_is_refused_where_it_cannot_hold() -> None:
    """A transport that is not connected (no selected pair yet) is left to aiortc."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("audio", direction="recvonly")
        assert not aiortc_private.hook_srtp_datagrams(
            transceiver.receiver.transport, lambda ssrc: None
        )
    finally:
        await pc.close()


async def test_an_oversized_datagram_for_a_bound_ssrc_is_dropped_quietly(
    room: MediaRoom, caplog: pytest.LogCaptureFixture
) -> None:
    """Over 1,500 bytes pylibsrtp refuses to unprotect: dropped, as aiortc drops it, with no
    error reaching the event loop (one per datagram would let a sender flood the log)."""
    publisher = await start_publisher(room, "teacher", labels=("microphone",))
    viewer = await start_subscriber(room, "viewer", ["teacher"], labels=["microphone"])
    try:
        microphone = viewer.slots["teacher/microphone"]
        await microphone.wait_frames(10, within=20)
        leg = room.publishers["teacher"]
        assert leg.lean.direct_transports == 1
        dtls = next(iter(leg.receivers.values())).transport
        pair = dtls.transport._connection._nominated[1]
        target = (pair.local_candidate.host, pair.local_candidate.port)
        ssrc = next(s.sender._ssrc for s in publisher.pc.getTransceivers() if s.sender.track)
        oversized = struct.pack("!BBHLL", 0x80, 111, 1, 960, ssrc) + bytes(1600)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(20):
                sock.sendto(oversized, target)
        # the teacher's own audio goes on, and nothing was logged as an error
        await microphone.wait_frames(microphone.frames + 25, within=10)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, [r.getMessage() for r in errors]
    finally:
        await viewer.close()
        await publisher.close()
