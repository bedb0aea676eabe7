"""The largest subscription the relay allows (32 slots: 15 sites + stage) fits its own SDP
limits both ways. Sizes for docs/media.md (websocket message limit: see there)."""

from __future__ import annotations

from aiortc import RTCPeerConnection, RTCSessionDescription
from relay_test_peers import config

from server.realtime.media.protocol import MAX_SDP_CHARS
from streaming.negotiation import MAX_SDP_BYTES
from streaming.room import MediaRoom


async def answer_size(room: MediaRoom, sites: int) -> tuple[int, int]:
    publishers = [f"site-{i}" for i in range(1, sites + 1)]
    offer = await room.subscribe("teacher", publishers, labels=("microphone", "camera"))
    assert len(room.subscription_slots("teacher")) == 2 * sites + 2
    pc = RTCPeerConnection(config())
    try:
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = pc.localDescription.sdp
        await room.accept_answer("teacher", answer)  # the relay takes an answer this large
    finally:
        await pc.close()
    return len(offer), len(answer)


async def test_largest_subscription_fits_the_relay_limits(room: MediaRoom) -> None:
    offer8, answer8 = await answer_size(room, 8)
    offer15, answer15 = await answer_size(room, 15)
    assert offer8 < offer15 and answer8 < answer15
    for size in (offer15, answer15):
        assert size <= min(MAX_SDP_CHARS, MAX_SDP_BYTES), size
