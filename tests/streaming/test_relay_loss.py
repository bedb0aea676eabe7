"""Packet loss on the publisher's uplink is repaired by NACK + RTX through the relay.

Loss is made in-process, deterministically, at the publisher peer's network boundary: its
``RTCDtlsTransport._send_rtp`` (plain RTP/RTCP, just before SRTP protection) drops every
``DROP_EVERY``-th packet of the camera's media SSRC. RTCP and audio pass untouched. The same
wrapper watches the other direction (``_handle_rtcp_data``, after SRTP) for the relay
receiver's NACKs, and the outgoing RTX stream for the publisher's retransmissions.

When a retransmission never comes (``drop_retransmissions=True``), the relay's frame
assembler gives up on the hole after ``GIVE_UP_MS``, asks for a keyframe and goes on: a lost
retransmission costs well under a second of picture. (aiortc's own jitter buffer, which the
relay used before, stalled at the hole until 512 packets had piled up: in that case it
forwarded 14 of 180 frames.)
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpPacket, RtcpRtpfbPacket, RtpPacket, is_rtcp
from relay_test_peers import HEIGHT, WIDTH, PatternVideoTrack, start_publisher, start_subscriber

from streaming.relay_source import RelaySource
from streaming.room import MediaRoom

DROP_EVERY = 15  # every 15th camera packet, whatever it carries (keyframe or delta)
DROPS_WANTED = 12  # 180 camera packets: about 6 s of video at 30 fps (1-2 packets a frame)
FRAME_TOLERANCE = 15  # frames in flight between the publisher's count and the subscriber's


class LossyUplink:
    """Drops a fixed pattern of one SSRC's RTP packets on a DTLS transport's send path."""

    def __init__(
        self,
        transport: Any,
        media_ssrc: int,
        rtx_ssrc: int,
        every: int,
        drop_retransmissions: bool = False,
    ) -> None:
        self.media_ssrc = media_ssrc
        self.rtx_ssrc = rtx_ssrc
        self.every = every
        self.drop_retransmissions = drop_retransmissions
        self.armed = False
        self.media_packets = 0  # camera packets seen while armed
        self.dropped: set[int] = set()  # sequence numbers we swallowed
        self.nacked: set[int] = set()  # sequence numbers the relay asked for again
        self.nack_packets = 0
        self.retransmitted: set[int] = set()  # original sequence numbers sent again as RTX
        self._changed = asyncio.Event()
        self._send: Callable[[bytes], Awaitable[None]] = transport._send_rtp
        self._handle_rtcp: Callable[[bytes], Awaitable[None]] = transport._handle_rtcp_data
        transport._send_rtp = self._send_rtp
        transport._handle_rtcp_data = self._handle_rtcp_data

    async def _send_rtp(self, data: bytes) -> None:
        if not self.drops(data):
            await self._send(data)

    def drops(self, data: bytes) -> bool:
        """Whether to swallow this clear RTP/RTCP packet (and note what it was)."""
        if not is_rtcp(data) and len(data) >= 12:
            (sequence,) = struct.unpack_from("!H", data, 2)
            (ssrc,) = struct.unpack_from("!L", data, 8)
            if ssrc == self.media_ssrc and self.armed:
                self.media_packets += 1
                if self.media_packets % self.every == 0:
                    self.dropped.add(sequence)
                    self._notify()
                    return True
            elif ssrc == self.rtx_ssrc:
                payload = RtpPacket.parse(data).payload
                if len(payload) >= 2:
                    self.retransmitted.add(struct.unpack_from("!H", payload, 0)[0])
                    self._notify()
                return self.drop_retransmissions
        return False

    async def _handle_rtcp_data(self, data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            packets = []
        for packet in packets:
            if (
                isinstance(packet, RtcpRtpfbPacket)
                and packet.fmt == RTCP_RTPFB_NACK
                and packet.media_ssrc == self.media_ssrc
            ):
                self.nack_packets += 1
                self.nacked.update(packet.lost)
                self._notify()
        await self._handle_rtcp(data)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], within: float) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                await self._changed.wait()


def camera_uplink(
    pc: Any, drop_retransmissions: bool = False, every: int = DROP_EVERY
) -> LossyUplink:
    sender = next(s for s in pc.getSenders() if s.track is not None and s.track.kind == "video")
    return LossyUplink(
        sender.transport, sender._ssrc, sender._rtx_ssrc, every, drop_retransmissions
    )


def camera_source(room: MediaRoom) -> RelaySource:
    return next(s for s in room.hub.sources if s.key.label == "camera")


async def test_uplink_loss_is_nacked_retransmitted_and_invisible_to_subscribers(
    room: MediaRoom,
) -> None:
    publisher = await start_publisher(room, "teacher", labels=("microphone", "camera"))
    track = publisher.tracks["camera"]
    assert isinstance(track, PatternVideoTrack)
    uplink = camera_uplink(publisher.pc)
    subscribers = [
        await start_subscriber(room, f"s{i}", ["teacher"], labels=["camera"], stage=False)
        for i in range(2)
    ]
    try:
        cameras = [sub.slots["teacher/camera"] for sub in subscribers]
        for camera in cameras:
            await camera.wait_frames(15, within=15)
        source = camera_source(room)
        assert source.gaps == 0

        # loss window: from arming until DROPS_WANTED camera packets have been dropped
        sent_before = track.count
        relayed_before = source.units
        decoded_before = [camera.frames for camera in cameras]
        uplink.armed = True
        await uplink.wait_until(lambda: len(uplink.dropped) >= DROPS_WANTED, within=20)
        uplink.armed = False
        sent = track.count - sent_before
        relayed = source.units - relayed_before
        decoded = [
            camera.frames - before for camera, before in zip(cameras, decoded_before, strict=True)
        ]

        # 1. the relay's receiver NACKed every dropped packet and the publisher resent each (RTX)
        try:
            await uplink.wait_until(
                lambda: uplink.dropped <= uplink.nacked and uplink.dropped <= uplink.retransmitted,
                within=5,
            )
        except TimeoutError:
            pytest.fail(
                f"dropped {sorted(uplink.dropped)}: never NACKed "
                f"{sorted(uplink.dropped - uplink.nacked)}, never resent "
                f"{sorted(uplink.dropped - uplink.retransmitted)}"
            )
        assert len(uplink.dropped) == DROPS_WANTED
        assert uplink.nack_packets >= 1

        # 2. no picture was lost: the relay saw no gap (no PLI, no keyframe resync) and every
        #    subscriber decoded about as many full-size frames as the publisher sent
        assert source.gaps == 0, "the relay's receiver gave up on lost packets (sent PLI)"
        assert sent >= 4 * DROPS_WANTED, sent  # the window spans seconds of video
        assert relayed >= sent - FRAME_TOLERANCE, (relayed, sent)
        for count in decoded:
            assert count >= sent - FRAME_TOLERANCE, (decoded, sent)
        for camera in cameras:
            assert camera.sizes == {(WIDTH, HEIGHT)}
    finally:
        for sub in subscribers:
            await sub.close()
        await publisher.close()
    await room.close()
    counts = room.live_counts()
    assert counts.peer_connections == 0 and counts.relay_tasks == 0, counts


async def test_a_retransmission_that_never_comes_costs_a_keyframe_not_a_freeze(
    room: MediaRoom,
) -> None:
    publisher = await start_publisher(room, "teacher", labels=("microphone", "camera"))
    track = publisher.tracks["camera"]
    assert isinstance(track, PatternVideoTrack)
    subscriber = await start_subscriber(room, "s0", ["teacher"], labels=["camera"], stage=False)
    uplink = camera_uplink(publisher.pc, drop_retransmissions=True, every=60)  # 1 in 1.5 s
    try:
        camera = subscriber.slots["teacher/camera"]
        await camera.wait_frames(15, within=15)
        source = camera_source(room)
        sent_before, relayed_before, decoded_before = track.count, source.units, camera.frames
        uplink.armed = True
        await uplink.wait_until(lambda: len(uplink.dropped) >= 4, within=30)
        uplink.armed = False
        # the last loss is repaired by a keyframe too: wait for frames after it
        await camera.wait_frames(camera.frames + 15, within=10)
        sent = track.count - sent_before
        relayed = source.units - relayed_before
        decoded = camera.frames - decoded_before

        # every hole was given up on (a gap: PLI, keyframe) and the picture went on
        assert source.gaps >= 1, "the relay never gave up on a hole"
        assert uplink.dropped <= uplink.retransmitted  # resent by the publisher, then dropped
        assert sent >= 60, sent
        assert relayed >= sent // 2, (relayed, sent)
        assert decoded >= sent // 2, (decoded, sent)
        assert camera.sizes == {(WIDTH, HEIGHT)}
    finally:
        await subscriber.close()
        await publisher.close()
    await room.close()
