"""Media over the real session websocket: aiortc peers negotiate with ``media.*`` messages
against a running server (demo consortium), and frames flow through the relay."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from server.db.models import CourseSite, Site, User
from server.domain.roles import Role
from server.realtime.media import bridge as media_bridge
from server.realtime.media.bridge import MediaBridge, connection_quality
from server.realtime.media.recorder import RECORDED_LABELS
from streaming import MediaRoom
from streaming.loopback import restore_host_addresses, use_loopback_only
from tests.databases import SqliteFactory
from tests.live_server import Frame, WsClient
from tests.realtime.conftest import Class

WIDTH, HEIGHT = 320, 240


@pytest.fixture
async def database_url(tmp_path: Path, sqlite_factory: SqliteFactory) -> AsyncIterator[str]:
    """Media does not depend on the database: SQLite only."""
    yield await asyncio.to_thread(sqlite_factory.create, tmp_path / "test.db")


@pytest.fixture(autouse=True)
def loopback_and_quick_cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_loopback_only()
    monkeypatch.setattr(media_bridge, "GRACE_SECONDS", 0.3)
    yield
    restore_host_addresses()


class BarTrack(VideoStreamTrack):
    """Small frames with a moving bar, so delta frames carry real changes."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        y, u, v = frame.planes
        row = bytearray([90]) * y.line_size
        bar = (self.count * 6) % (WIDTH - 24)
        row[bar : bar + 24] = b"\xf0" * 24
        y.update(bytes(row) * HEIGHT)
        u.update(bytes([128]) * u.buffer_size)
        v.update(bytes([128]) * v.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        self.count += 1
        return frame


def _config() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


async def request(client: WsClient, type_: str, data: dict[str, Any], reply: str) -> Frame:
    """Send a media request; its reply frame (then the ack), or the error frame."""
    mid = await client.send(type_, data)
    frame = await client.wait_for(
        lambda f: f.get("id") == mid and f.get("type") in (reply, "error"), within=20
    )
    if frame["type"] == reply:
        ack = await client.wait_for(lambda f: f.get("id") == mid and f.get("type") == "ack")
        assert ack["seq"] is None
    return frame


async def offer_sdp(labels: Sequence[str] = ("microphone", "camera")) -> RTCPeerConnection:
    pc = RTCPeerConnection(_config())
    for label in labels:
        track = AudioStreamTrack() if label == "microphone" else BarTrack()
        pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def publish(client: WsClient, labels: Sequence[str] = ("microphone", "camera")) -> Any:
    pc = await offer_sdp(labels)
    frame = await request(
        client, "media.publish", {"sdp": pc.localDescription.sdp}, "media.publish.answer"
    )
    if frame["type"] == "error":
        await pc.close()
        return frame
    await pc.setRemoteDescription(RTCSessionDescription(frame["data"]["sdp"], "answer"))
    return pc


@dataclass
class Counter:
    kind: str
    frames: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_frames(self, count: int, within: float = 20.0) -> None:
        async with asyncio.timeout(within):
            while self.frames < count:
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Receiver:
    pc: RTCPeerConnection
    slots: dict[str, Counter]
    tasks: list[asyncio.Task[None]]

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _consume(track: Any, counter: Counter) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if isinstance(frame, av.VideoFrame):
            counter.sizes.add((frame.width, frame.height))
        counter.frames += 1
        counter.changed.set()


async def answer_offer(client: WsClient, offer: Frame) -> Receiver:
    names: list[str] = offer["data"]["slots"]
    pc = RTCPeerConnection(_config())
    slots: dict[str, Counter] = {}
    tasks: list[asyncio.Task[None]] = []

    def on_track(track: Any) -> None:
        transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
        counter = Counter(track.kind)
        slots[names[int(transceiver.mid or 0)]] = counter
        tasks.append(asyncio.get_running_loop().create_task(_consume(track, counter)))

    pc.on("track", on_track)
    await pc.setRemoteDescription(RTCSessionDescription(offer["data"]["sdp"], "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    reply = await client.call("media.subscribe.answer", {"sdp": pc.localDescription.sdp})
    assert reply["type"] == "ack", reply
    return Receiver(pc, slots, tasks)


async def subscribe(client: WsClient, **data: Any) -> Receiver:
    offer = await request(client, "media.subscribe", data, "media.subscribe.offer")
    assert offer["type"] == "media.subscribe.offer", offer
    return await answer_offer(client, offer)


async def bridge_of(klass: Class) -> MediaBridge:
    runtime = await klass.server.app.state.realtime.runtime(klass.session_id)
    bridge = runtime.extensions["media"]
    assert isinstance(bridge, MediaBridge)
    return bridge


def room_of(bridge: MediaBridge) -> MediaRoom:
    assert bridge.room is not None
    return bridge.room


async def until_no_peers(room: MediaRoom) -> None:
    await room.wait_until(lambda: room.live_counts().peer_connections == 0, 15)


def error_code(frame: Frame) -> str:
    assert frame["type"] == "error", frame
    return str(frame["code"])


# --------------------------------------------------------------------------------------------


async def test_teacher_to_two_students_and_refusals(klass: Class) -> None:
    teacher = await klass.teacher()
    at_site, at_home = await klass.student(0), await klass.student(32)
    teacher_pc = await publish(teacher)
    assert isinstance(teacher_pc, RTCPeerConnection)
    receivers = [await subscribe(at_site), await subscribe(at_home, mode="full")]
    try:
        for rx in receivers:
            assert set(rx.slots) >= {"teacher/camera", "teacher/microphone", "stage:camera"}
            await rx.slots["teacher/camera"].wait_frames(20)
            await rx.slots["teacher/microphone"].wait_frames(20)
            assert rx.slots["teacher/camera"].sizes == {(WIDTH, HEIGHT)}
            assert rx.slots["stage:camera"].frames == 0  # nobody on stage
        tracks = await at_home.wait_for(
            lambda f: f.get("type") == "media.tracks" and "teacher/camera" in f["data"]["live"]
        )
        assert "seq" not in tracks and tracks["data"]["stage"] is None

        # the teacher's console gets compact stats; the engagement layer a per-user summary
        stats = await teacher.wait_for(
            lambda f: (
                f.get("type") == "media.stats"
                and any(p["kbps"] > 0 for p in f["data"]["publishers"])
                and len(f["data"]["subscribers"]) == 2
            ),
            within=15,
        )
        assert {p["id"] for p in stats["data"]["publishers"]} == {"teacher"}
        assert at_site.events("media.stats") == []  # leaders only
        runtime = (await bridge_of(klass)).runtime
        quality = connection_quality(runtime)
        ids = {klass.demo.students[0].id, klass.demo.students[32].id, klass.demo.teacher.id}
        assert ids <= set(quality)
        assert quality[klass.demo.students[0].id or 0]["kbps_in"] > 0

        # refusals: a student may not publish off stage, nor cap bitrates
        refused = await publish(at_site)
        assert error_code(refused) == "not_permitted"
        capped = await at_site.call("media.bitrate", {"bps": 300_000})
        assert error_code(capped) == "not_permitted"
        assert error_code(await teacher.call("media.bitrate", {"bps": 10})) == "bad_input"
        assert (await teacher.call("media.bitrate", {"bps": 300_000}))["type"] == "ack"
        # switching to audio only stops the video, no renegotiation
        assert (await at_home.call("media.mode", {"mode": "audio_only"}))["type"] == "ack"
        assert error_code(await at_home.call("media.mode", {"mode": "4k"})) == "bad_input"
        no_mid = {"leg": "subscribe", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}
        assert error_code(await at_home.call("media.ice", no_mid)) == "bad_input"
        report = {"leg": "subscribe", "rtt_ms": 40.0, "loss": 0.2, "freezes": 0}
        assert (await at_home.call("media.report", report))["type"] == "ack"
        user = klass.demo.students[32].id or 0
        assert connection_quality(runtime)[user]["trouble"] is True
        assert error_code(await at_home.call("media.report", {"leg": "x"})) == "bad_input"
    finally:
        for rx in receivers:
            await rx.close()
        await teacher_pc.close()
    await until_no_peers(room_of(await bridge_of(klass)))


async def test_bad_media_messages_get_typed_errors(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(1)
    garbage = await request(teacher, "media.publish", {"sdp": "v=0 nonsense"}, "x")
    assert error_code(garbage) == "bad_input"
    unknown = await teacher.call("media.teleport", {})
    assert error_code(unknown) == "bad_input"
    extra = await teacher.call("media.mode", {"mode": "full", "evil": 1})
    assert error_code(extra) == "bad_input"
    assert error_code(await student.call("media.mode", {"mode": "full"})) == "not_found"
    ice = {"leg": "subscribe", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}
    assert error_code(await student.call("media.ice", ice)) == "not_found"
    unknown_pub = await request(student, "media.subscribe", {"publishers": ["site-1"]}, "x")
    assert error_code(unknown_pub) == "not_permitted"

    pc = await offer_sdp(("microphone", "camera", "camera", "camera"))
    try:
        too_many = await request(
            teacher, "media.publish", {"sdp": pc.localDescription.sdp}, "media.publish.answer"
        )
        assert error_code(too_many) == "bad_input"
    finally:
        await pc.close()
    pc = await offer_sdp(("camera",))
    try:
        sdp = pc.localDescription.sdp.replace("VP8/90000", "XYZ9/90000").replace(
            "H264/90000", "XYZ9/90000"
        )
        no_codec = await request(teacher, "media.publish", {"sdp": sdp}, "media.publish.answer")
        assert error_code(no_codec) == "bad_input"
    finally:
        await pc.close()
    # the connection carries on
    assert (await teacher.call("hand.clear", {}))["type"] in ("ack", "error")
    pong = await teacher.send("ping")
    assert (await teacher.wait_for(lambda f: f.get("type") == "pong"))["id"] == pong
    room = room_of(await bridge_of(klass))
    await until_no_peers(room)


async def test_site_feed_reaches_teacher(klass: Class) -> None:
    teacher = await klass.teacher()
    facilitator = await klass.facilitator(0)
    site_id = klass.demo.facilitators[0].home_site_id
    site_pc = await publish(facilitator)
    assert isinstance(site_pc, RTCPeerConnection)
    screen = await publish(facilitator, ("microphone", "camera", "screen"))
    assert error_code(screen) == "not_permitted"  # a room feed has no screen
    console = await subscribe(teacher)
    try:
        names = set(console.slots)
        assert f"site-{site_id}/camera" in names and "teacher/camera" not in names
        await console.slots[f"site-{site_id}/camera"].wait_frames(15)
        await console.slots[f"site-{site_id}/microphone"].wait_frames(15)
        assert console.slots[f"site-{site_id}/camera"].sizes == {(WIDTH, HEIGHT)}
    finally:
        await console.close()
        await site_pc.close()
    await until_no_peers(room_of(await bridge_of(klass)))


async def test_stage_brings_a_student_to_everyone(klass: Class) -> None:
    teacher = await klass.teacher()
    speaker, listener = await klass.student(2), await klass.student(33)
    speaker_id = klass.demo.students[2].id
    rx = await subscribe(listener)
    try:
        assert (await teacher.call("stage.bring", {"user_id": speaker_id}))["type"] == "ack"
        speaker_pc = await publish(speaker)
        assert isinstance(speaker_pc, RTCPeerConnection)
        await listener.wait_for(
            lambda f: f.get("type") == "media.tracks" and f["data"]["stage"] == f"user-{speaker_id}"
        )
        await rx.slots["stage:camera"].wait_frames(15)
        await rx.slots["stage:microphone"].wait_frames(15)
        # off stage: the student's publish leg is closed and they are told
        assert (await teacher.call("stage.return", {"user_id": speaker_id}))["type"] == "ack"
        closed = await speaker.wait_for(lambda f: f.get("type") == "media.closed")
        assert closed["data"] == {"leg": "publish", "reason": "off_stage"}
        room = room_of(await bridge_of(klass))
        await room.wait_until(lambda: f"user-{speaker_id}" not in room.publishers, 10)
        assert error_code(await publish(speaker)) == "not_permitted"
        await speaker_pc.close()
    finally:
        await rx.close()
    await until_no_peers(room)


async def test_vanished_peers_are_cleaned(klass: Class) -> None:
    teacher = await klass.teacher()
    await teacher.ok("recording.start")
    teacher_pc = await publish(teacher)
    viewer = await klass.student(3)
    rx = await subscribe(viewer)
    await rx.slots["teacher/camera"].wait_frames(5)
    half = await klass.student(4)  # asks for an offer and never answers
    offer = await request(half, "media.subscribe", {}, "media.subscribe.offer")
    assert offer["type"] == "media.subscribe.offer"
    bridge = await bridge_of(klass)
    room = room_of(bridge)
    assert room.live_counts().peer_connections == 3
    # the websockets vanish; the peer connections are left open on the client side
    await viewer.close()
    await half.close()
    await teacher.close()
    try:
        await until_no_peers(room)
        counts = room.live_counts()
        # the session is still live: only the recorder's inputs wait for the teacher
        assert bridge.recording is not None
        assert counts.sources == 0 and counts.sinks == len(RECORDED_LABELS)
    finally:
        await rx.close()
        await teacher_pc.close()


async def test_recording_listed_downloaded_and_decodable(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(5)
    teacher_pc = await publish(teacher, ("microphone", "camera", "screen"))
    assert not (await bridge_of(klass)).recording  # nothing is recorded until the teacher asks
    await teacher.ok("recording.start")
    started = await teacher.wait_for(
        lambda f: f.get("type") == "media.recording" and f["data"]["state"] == "started"
    )
    rx = await subscribe(student)
    try:
        await rx.slots["teacher/camera"].wait_frames(45)
        await rx.slots["teacher/screen"].wait_frames(45)
        assert (await teacher.call("session.end", {}))["type"] == "ack"
        stopped = await teacher.wait_for(
            lambda f: f.get("type") == "media.recording" and f["data"]["state"] == "stopped"
        )
        assert stopped["data"]["name"] == started["data"]["name"]
        screen_name = started["data"]["name"].replace(".webm", ".screen.webm")
        assert stopped["data"]["files"] == [started["data"]["name"], screen_name]
        closed = await student.wait_for(lambda f: f.get("type") == "media.closed")
        assert closed["data"]["reason"] == "session_ended"
    finally:
        await rx.close()
        await teacher_pc.close()
    name = started["data"]["name"]
    base = f"/api/sessions/{klass.session_id}/recordings"
    enrolled = {
        "Authorization": f"Bearer {klass.token(klass.demo.students[5].id or 0, Role.STUDENT)}"
    }
    async with httpx.AsyncClient(base_url=klass.server.base, timeout=10) as http:
        listing = await http.get(base, headers=enrolled)
        assert listing.status_code == 200
        assert sorted(item["name"] for item in listing.json()) == sorted([name, screen_name])
        screen_download = await http.get(f"{base}/{screen_name}", headers=enrolled)
        assert screen_download.status_code == 200
        download = await http.get(f"{base}/{name}", headers=enrolled)
        assert download.status_code == 200 and download.headers["content-type"] == "video/webm"
        outsider = await _outsider_headers(klass)
        assert (await http.get(base, headers=outsider)).status_code == 404
        assert (await http.get(f"{base}/{name}", headers=outsider)).status_code == 404
        assert (await http.get(base)).status_code == 401
        for bad in ("..%2F..%2Fhyflex.db", "secret_key", f"{name}.part", "%2e%2e", "x.webm"):
            answer = await http.get(f"{base}/{bad}", headers=enrolled)
            assert answer.status_code == 404, (bad, answer.text)
    path = klass.settings.data_dir / "recordings" / f"session-{klass.session_id}" / name
    assert path.read_bytes() == download.content
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) >= 30
    assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}
    # the file spans the lesson from its start (the first picture stands from t=0, so catch-up
    # seeks agree with the lesson clock); the next pictures are at their lesson-clock times
    assert frames[0].time == 0.0
    assert frames[1].time is not None and frames[1].time > 0
    with av.open(str(path)) as container:
        assert [st.type for st in container.streams] == ["video", "audio"]  # fixed order
    screen_path = path.with_name(screen_name)
    assert screen_path.read_bytes() == screen_download.content
    with av.open(str(screen_path)) as container:
        assert [st.type for st in container.streams] == ["video"]
        shots = list(container.decode(video=0))
    assert len(shots) >= 30 and shots[0].time is not None and shots[0].time > 0


async def test_new_site_makes_the_server_renegotiate_the_teacher(klass: Class) -> None:
    """A site added to the course after the teacher subscribed: when its facilitator publishes,
    the server pushes ``media.subscribe.offer {renegotiation: true}``; the teacher's aiortc peer
    answers it and receives the new site's room feed."""
    teacher = await klass.teacher()
    console = await subscribe(teacher)
    known_sites = {name.split("/")[0] for name in console.slots if not name.startswith("stage:")}
    async with klass.server.app.state.services.sessions() as db:
        school = (await db.get(Site, klass.demo.sites[0].id)).school_id  # type: ignore[union-attr]
        site = Site(school_id=school, name="Late Annex", code="late-annex")
        db.add(site)
        await db.commit()
        await db.refresh(site)
        db.add(CourseSite(course_id=klass.demo.course.id or 0, site_id=site.id or 0))
        late = User(
            email="late.facilitator@example.org",
            display_name="Late Facilitator",
            role=Role.FACILITATOR,
            home_site_id=site.id,
        )
        db.add(late)
        await db.commit()
        await db.refresh(late)
    new_pid = f"site-{site.id}"
    assert new_pid not in known_sites
    facilitator = await klass.join(late.id or 0, Role.FACILITATOR)
    site_pc = await publish(facilitator)
    assert isinstance(site_pc, RTCPeerConnection)
    renewed: Receiver | None = None
    try:
        offer = await teacher.wait_for(
            lambda f: f.get("type") == "media.subscribe.offer" and f["data"]["renegotiation"],
            within=15,
        )
        assert offer.get("id") is None
        assert f"{new_pid}/camera" in offer["data"]["slots"]
        assert {f"{p}/camera" for p in known_sites} <= set(offer["data"]["slots"])
        await console.close()  # the old subscription was replaced by the server
        renewed = await answer_offer(teacher, offer)
        await renewed.slots[f"{new_pid}/camera"].wait_frames(15)
        await renewed.slots[f"{new_pid}/microphone"].wait_frames(15)
        assert renewed.slots[f"{new_pid}/camera"].sizes == {(WIDTH, HEIGHT)}
        room = room_of(await bridge_of(klass))
        assert room.subscription_slots("teacher") == offer["data"]["slots"]
    finally:
        await console.close()
        if renewed is not None:
            await renewed.close()
        await site_pc.close()
    await until_no_peers(room_of(await bridge_of(klass)))


async def _outsider_headers(klass: Class) -> dict[str, str]:
    async with klass.server.app.state.services.sessions() as db:
        user = User(email="outsider@example.org", display_name="Out Sider", role=Role.STUDENT)
        db.add(user)
        await db.commit()
        await db.refresh(user)
    return {"Authorization": f"Bearer {klass.token(user.id or 0, Role.STUDENT)}"}


async def test_stage_survives_a_drop_out_and_the_student_publishes_again(klass: Class) -> None:
    """A student on stage whose websocket drops (longer than the media grace, so their publish
    leg is closed) stays on stage; back online they publish again and the class sees them."""
    teacher = await klass.teacher()
    speaker, listener = await klass.student(6), await klass.student(34)
    speaker_id = klass.demo.students[6].id or 0
    rx = await subscribe(listener)
    speaker_pc = None
    try:
        assert (await teacher.call("stage.bring", {"user_id": speaker_id}))["type"] == "ack"
        speaker_pc = await publish(speaker)
        assert isinstance(speaker_pc, RTCPeerConnection)
        await rx.slots["stage:camera"].wait_frames(10)
        bridge = await bridge_of(klass)
        room = room_of(bridge)
        await speaker.close()  # the network drops
        await room.wait_until(lambda: f"user-{speaker_id}" not in room.publishers, 10)
        await speaker_pc.close()
        # still on stage in the session (the domain's stage), for everyone
        stage = bridge.runtime.live.state.hands.stage
        assert [e.target.user_id for e in stage] == [speaker_id]
        assert room.stage == f"user-{speaker_id}"
        back = await klass.student(6)  # the network comes back
        staged = back.welcome["snapshot"]["hands"]["stage"]
        assert [e["user_id"] for e in staged] == [speaker_id]
        seen = rx.slots["stage:camera"].frames
        speaker_pc = await publish(back)
        assert isinstance(speaker_pc, RTCPeerConnection), speaker_pc
        await rx.slots["stage:camera"].wait_frames(seen + 10)
        assert listener.events("stage.left") == []
    finally:
        await rx.close()
        if speaker_pc is not None:
            await speaker_pc.close()
    await until_no_peers(room_of(await bridge_of(klass)))


INTERNAL = ("connection of yours", "user-", "site-", "pid", "subscribed", "pending", "room")


async def test_media_errors_are_sentences_for_people(klass: Class) -> None:
    """A student whose media legs were closed (a drop-out) and whose page still asks for a mode
    change is told in words meant for people, not the relay's internals."""
    student = await klass.student(7)
    for type_, data in (
        ("media.mode", {"mode": "audio_slides"}),
        ("media.subscribe.answer", {"sdp": "v=0"}),
        ("media.unpublish", {}),
    ):
        frame = await student.call(type_, data)
        assert error_code(frame) == "not_found"
        message = str(frame["message"])
        assert message[:1].isupper() and message.endswith("."), message
        assert not any(word in message for word in INTERNAL), message


async def test_a_student_who_stays_away_leaves_the_stage_after_the_grace(klass: Class) -> None:
    """The presence grace keeps a place through a drop-out, not for ever: someone still away
    after ``presence_grace_seconds`` leaves (off stage, reason "left"); someone back within it
    never left, even if they drop again later."""
    klass.settings.presence_grace_seconds = 3.0
    teacher = await klass.teacher()
    speaker_id = klass.demo.students[8].id or 0
    speaker = await klass.student(8)
    assert (await teacher.call("stage.bring", {"user_id": speaker_id}))["type"] == "ack"
    await speaker.close()
    back = await klass.student(8)  # within the grace: still on stage
    assert [e["user_id"] for e in back.welcome["snapshot"]["hands"]["stage"]] == [speaker_id]
    closed_at = time.time()
    await back.close()
    left = await teacher.wait_for(lambda f: f.get("type") == "stage.left", within=10)
    assert left["data"]["user_id"] == speaker_id and left["data"]["reason"] == "left"
    assert len(teacher.events("stage.left")) == 1
    gone = await teacher.wait_for(
        lambda f: f.get("type") == "presence.left" and f["data"]["user_id"] == speaker_id,
        within=10,
    )
    # the leave is stamped when the websocket closed, not when the grace ran out
    assert closed_at - 0.5 <= gone["at"] < closed_at + 2.5


async def test_a_resent_media_message_gets_the_first_answer_and_runs_once(klass: Class) -> None:
    """Media keeps its client message ids like every family: a retry (same id) is answered
    with the first reply and does not negotiate again."""
    student = await klass.student(0)
    first = await request(student, "media.subscribe", {}, "media.subscribe.offer")
    mid = first["id"]
    room = room_of(await bridge_of(klass))
    pid = f"user-{klass.demo.students[0].id}"
    slots = room.subscription_slots(pid)
    await student.send("media.subscribe", {}, msg_id=mid)
    again = await student.wait_for(
        lambda f: f.get("id") == mid and f.get("type") == "media.subscribe.offer"
    )
    await student.wait_for(lambda f: f.get("id") == mid and f.get("type") == "ack")
    assert again["data"] == first["data"]
    assert room.subscription_slots(pid) == slots
    assert len(room.subscribers) == 1
    await student.ok("media.unsubscribe")
