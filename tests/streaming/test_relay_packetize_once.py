"""Packetize once: every subscriber gets the same RTP payloads behind its own header.

Real aiortc peers on loopback. The relay's subscriber legs send through rtp_fanout's writers
(aiortc's senders only do RTCP), so these check what a subscriber relies on: frames decode at
full size, NACKed packets come back as RTX from the writer's history, and the sender's
statistics and RTCP reports count what the writer sent. Loss is made on both ways a writer
sends: the DTLS transport's ``_send_rtp`` (RTX, and TURN pairs) and the direct UDP path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from relay_test_peers import HEIGHT, WIDTH, PeerSubscriber, start_publisher, start_subscriber
from test_relay_loss import DROP_EVERY, FRAME_TOLERANCE, LossyUplink

from streaming import aiortc_private
from streaming.relay_source import RelaySource
from streaming.room import MediaRoom
from streaming.rtp_fanout import packetizer_for
from streaming.subscriber import Slot

SUBSCRIBERS = 3
DROPS_WANTED = 8


def source_of(room: MediaRoom, label: str) -> RelaySource:
    return next(s for s in room.hub.sources if s.key.label == label)


def relay_slot(room: MediaRoom, subscriber_id: str, name: str) -> Slot:
    leg = room.subscribers[subscriber_id]
    return next(slot for slot in leg.slots.values() if slot.name == name)


@pytest.mark.parametrize("direct_udp", [True, False], ids=["direct-udp", "via-dtls-send"])
async def test_each_frame_is_packetized_once_for_every_subscriber(
    room: MediaRoom, monkeypatch: pytest.MonkeyPatch, direct_udp: bool
) -> None:
    """Both send paths: straight to the UDP pair, and ``_send_rtp`` (what TURN pairs use)."""
    if not direct_udp:
        monkeypatch.setattr(aiortc_private, "udp_sender", lambda transport: None)
    publisher = await start_publisher(room, "teacher", labels=("microphone", "camera"))
    subscribers: list[PeerSubscriber] = []
    try:
        for i in range(SUBSCRIBERS):
            subscribers.append(await start_subscriber(room, f"s{i}", ["teacher"], stage=False))
        for sub in subscribers:
            await sub.slots["teacher/camera"].wait_frames(30, within=20)
            await sub.slots["teacher/microphone"].wait_frames(30, within=20)

        for label in ("camera", "microphone"):
            source = source_of(room, label)
            slots = [relay_slot(room, f"s{i}", f"teacher/{label}") for i in range(SUBSCRIBERS)]
            writers = [slot.writer for slot in slots]
            assert all(w is not None for w in writers), "a slot is not sent by the fan-out"
            codec = writers[0].codec if writers[0] is not None else None
            assert codec is not None
            packetizer = packetizer_for(source, codec)
            sent_units = sum(slot.track.sent for slot in slots)
            # every subscriber sent units, yet each unit was packetised once, not per subscriber
            assert packetizer.packed <= source.units < sent_units, (
                label, packetizer.packed, source.units, sent_units,
            )  # fmt: skip
            for slot in slots:
                assert slot.writer is not None
                report = await slot.sender.getStats()
                outbound = next(s for s in report.values() if s.type == "outbound-rtp")
                assert outbound.packetsSent == slot.writer.packets > 0
                assert outbound.bytesSent == slot.writer.octets > 0
        for sub in subscribers:
            assert sub.slots["teacher/camera"].sizes == {(WIDTH, HEIGHT)}
    finally:
        for sub in subscribers:
            await sub.close()
        await publisher.close()


class LossyDownlinks:
    """Drops on the writers' direct UDP path (``aiortc_private.udp_sender``) as well."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.loss: dict[object, LossyUplink] = {}  # DTLS transport -> its loss pattern
        original = aiortc_private.udp_sender

        def udp_sender(transport: Any) -> Callable[[bytes], bool] | None:
            send = original(transport)
            if send is None:
                return None

            def lossy_send(data: bytes) -> bool:
                loss = self.loss.get(transport)
                return True if loss is not None and loss.drops(data) else send(data)

            return lossy_send

        monkeypatch.setattr(aiortc_private, "udp_sender", udp_sender)


async def test_downlink_loss_is_nacked_and_resent_as_rtx_by_the_writer(
    room: MediaRoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every 15th camera packet to one subscriber is dropped after the relay wrote it."""
    downlinks = LossyDownlinks(monkeypatch)
    publisher = await start_publisher(room, "teacher", labels=("camera",))
    lossy = await start_subscriber(room, "lossy", ["teacher"], labels=["camera"], stage=False)
    try:
        camera = lossy.slots["teacher/camera"]
        await camera.wait_frames(15, within=20)
        slot = relay_slot(room, "lossy", "teacher/camera")
        assert slot.writer is not None
        sender = slot.sender
        downlink = LossyUplink(sender.transport, sender._ssrc, sender._rtx_ssrc, DROP_EVERY)
        downlinks.loss[sender.transport] = downlink
        source = source_of(room, "camera")
        relayed_before, decoded_before = source.units, camera.frames
        keyframes_before = source.keyframe_requests
        downlink.armed = True
        await downlink.wait_until(lambda: len(downlink.dropped) >= DROPS_WANTED, within=20)
        downlink.armed = False
        relayed = source.units - relayed_before
        try:
            await downlink.wait_until(
                lambda: (
                    downlink.dropped <= downlink.nacked
                    and downlink.dropped <= downlink.retransmitted
                ),
                within=5,
            )
        except TimeoutError:
            pytest.fail(
                f"dropped {sorted(downlink.dropped)}: never NACKed "
                f"{sorted(downlink.dropped - downlink.nacked)}, never resent "
                f"{sorted(downlink.dropped - downlink.retransmitted)}"
            )
        await camera.wait_frames(decoded_before + relayed - FRAME_TOLERANCE, within=5)
        assert slot.writer.retransmissions >= DROPS_WANTED
        # repaired by RTX alone: the subscriber never had to ask for a keyframe
        assert source.keyframe_requests == keyframes_before
        assert camera.sizes == {(WIDTH, HEIGHT)}
    finally:
        await lossy.close()
        await publisher.close()
