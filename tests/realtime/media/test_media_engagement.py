"""Server-side media link stats reach the engagement engine: a student whose media stalls is
shown to the teacher as ``connection_trouble``, not ``disengaged`` (real websockets, real
aiortc peers, the real engagement engine with quicker fusion settings)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from server.domain.engagement import EngagementSettings, StudentState
from server.realtime.engagement import bridge as engagement_bridge
from server.realtime.engagement.bridge import EngagementBridge
from server.realtime.media import bridge as media_bridge
from server.settings import Settings
from streaming.loopback import restore_host_addresses, use_loopback_only
from tests.databases import SqliteFactory
from tests.live_server import Frame, WsClient
from tests.realtime.conftest import Class
from tests.realtime.media.test_media_ws import BarTrack, _config, bridge_of, request, subscribe


@pytest.fixture
async def database_url(tmp_path: Path, sqlite_factory: SqliteFactory) -> AsyncIterator[str]:
    yield await asyncio.to_thread(sqlite_factory.create, tmp_path / "test.db")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Quicker fusion than the defaults (same logic): labels enter after ~2 s of evidence.
    settings.engagement = EngagementSettings(
        smoothing_s=1.0, enter_after_s=2.0, min_dwell_s=2.0, connection_enter_after_s=1.0
    )
    return settings


@pytest.fixture(autouse=True)
def loopback_and_quick_cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_loopback_only()
    monkeypatch.setattr(media_bridge, "GRACE_SECONDS", 0.3)
    yield
    restore_host_addresses()


class FreezableVideo(BarTrack):
    """Sends while ``flowing`` is set; stops dead (no RTP at all) while it is clear."""

    def __init__(self, flowing: asyncio.Event) -> None:
        super().__init__()
        self.flowing = flowing

    async def recv(self) -> av.VideoFrame:
        await self.flowing.wait()
        return await super().recv()


class FreezableAudio(AudioStreamTrack):
    def __init__(self, flowing: asyncio.Event) -> None:
        super().__init__()
        self.flowing = flowing

    async def recv(self) -> Any:
        await self.flowing.wait()
        return await super().recv()


def state_frame(user_id: int, state: str) -> Any:
    def match(frame: Frame) -> bool:
        data = frame.get("data") or {}
        return (
            frame.get("type") == "engagement.student"
            and data.get("user_id") == user_id
            and data.get("state") == state
        )

    return match


def states_seen(client: WsClient, user_id: int) -> list[str]:
    return [
        f["data"]["state"]
        for f in client.events("engagement.student")
        if f["data"].get("user_id") == user_id
    ]


async def test_stalled_media_is_connection_trouble_not_disengaged(klass: Class) -> None:
    teacher = await klass.teacher()
    frozen_student, fine_student = klass.demo.students[6], klass.demo.students[7]
    frozen_id, fine_id = frozen_student.id or 0, fine_student.id or 0
    frozen, fine = await klass.student(6), await klass.student(7)

    # The teacher sends the lesson; one student watches it, the other is on stage and sends.
    teacher_pc = RTCPeerConnection(_config())
    teacher_pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    teacher_pc.addTransceiver(BarTrack(), direction="sendonly")
    await teacher_pc.setLocalDescription(await teacher_pc.createOffer())
    answer = await request(
        teacher, "media.publish", {"sdp": teacher_pc.localDescription.sdp}, "media.publish.answer"
    )
    await teacher_pc.setRemoteDescription(RTCSessionDescription(answer["data"]["sdp"], "answer"))
    watcher = await subscribe(fine)
    await teacher.ok("stage.bring", {"user_id": frozen_id})
    flowing = asyncio.Event()
    flowing.set()
    speaker_pc = RTCPeerConnection(_config())
    speaker_pc.addTransceiver(FreezableAudio(flowing), direction="sendonly")
    speaker_pc.addTransceiver(FreezableVideo(flowing), direction="sendonly")
    await speaker_pc.setLocalDescription(await speaker_pc.createOffer())
    reply = await request(
        frozen, "media.publish", {"sdp": speaker_pc.localDescription.sdp}, "media.publish.answer"
    )
    assert reply["type"] == "media.publish.answer", reply
    await speaker_pc.setRemoteDescription(RTCSessionDescription(reply["data"]["sdp"], "answer"))
    runtime = (await bridge_of(klass)).runtime
    engine = runtime.extensions.get(engagement_bridge.EXTENSION, EngagementBridge)
    assert engine is not None
    try:
        await watcher.slots["teacher/camera"].wait_frames(10)
        # media flowing: both students count as present (server media stats are signals)
        await teacher.wait_for(state_frame(frozen_id, "engaged"), within=15)
        await teacher.wait_for(state_frame(fine_id, "engaged"), within=15)

        flowing.clear()  # the on-stage student's uplink freezes: no RTP at all
        trouble = await teacher.wait_for(state_frame(frozen_id, "connection_trouble"), within=30)
        assert any(r["code"] == "no_media" for r in trouble["data"]["reasons"]), trouble
        quality = media_bridge.connection_quality(runtime)[frozen_id]
        assert quality["stalled"] and quality["no_media_s"] >= 3, quality
        assert media_bridge.connection_quality(runtime)[fine_id]["stalled"] is False

        # Both students now hide the lesson tab: only the one with a working link is disengaged.
        hidden = {"visible": False, "focused": False}
        await frozen.ok("engagement.attention", hidden)
        await fine.ok("engagement.attention", hidden)
        await teacher.wait_for(state_frame(fine_id, "disengaged"), within=20)
        assert engine.engine.student_state(frozen_id) is StudentState.CONNECTION_TROUBLE
        assert "disengaged" not in states_seen(teacher, frozen_id)
        # the student sees their own state (not the other's)
        mine = await frozen.wait_for(state_frame(frozen_id, "connection_trouble"), within=10)
        assert mine["data"]["user_id"] == frozen_id
        assert fine_id not in {f["data"]["user_id"] for f in frozen.events("engagement.student")}
    finally:
        flowing.set()
        await watcher.close()
        await speaker_pc.close()
        await teacher_pc.close()
