"""Two server nodes sharing one database and a real Redis: a session owned by one node is
used from both; when the owner stops, the other takes over from the log and clients resume."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from server.db.models import LiveSession
from server.demo import DemoConsortium, seed_demo
from server.domain.live import SessionStatus
from server.domain.roles import Role
from server.settings import Settings
from tests.live_server import LiveServer, WsClient, start_server

REDIS_URL = os.environ.get("HYFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
SPEC = {"kind": "single", "prompt": "Pick", "options": ["a", "b"], "correct": {"choices": [1]}}


@dataclass
class Nodes:
    a: LiveServer
    b: LiveServer
    demo: DemoConsortium
    clients: list[WsClient]

    @property
    def session_id(self) -> int:
        return self.demo.session.id or 0

    async def join(
        self, node: LiveServer, user_id: int | None, role: Role, last_seq: int | None = None
    ) -> WsClient:
        signer = node.app.state.services.signer
        token = signer.issue(
            user_id=user_id or 0, role=role, typ="access", now=time.time(), ttl_seconds=600
        )
        client = await WsClient.open(node.ws_url(self.session_id), token, last_seq)
        self.clients.append(client)
        return client


def _node_settings(settings: Settings, prefix: str, name: str) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": REDIS_URL,
            "redis_prefix": prefix,
            "cluster_ttl_seconds": 1.5,
            "public_url": f"http://{name}.test",
            "ws_rate_per_second": 200.0,
            "ws_rate_burst": 400,
        }
    )


@pytest.fixture
async def nodes(settings: Settings) -> AsyncIterator[Nodes]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    a = await start_server(_node_settings(settings, prefix, "node-a"))
    b = await start_server(_node_settings(settings, prefix, "node-b"))
    demo = await seed_demo(a.app.state.services.sessions)
    n = Nodes(a, b, demo, [])
    try:
        yield n
    finally:
        for client in n.clients:
            await client.close()
        for node in (n.b, n.a):
            if not node.task.done():
                await node.stop()


async def test_one_session_across_two_nodes(nodes: Nodes) -> None:
    teacher = await nodes.join(nodes.a, nodes.demo.teacher.id, Role.TEACHER)  # a owns it
    student = await nodes.join(nodes.b, nodes.demo.students[0].id, Role.STUDENT)
    fac = await nodes.join(nodes.b, nodes.demo.facilitators[0].id, Role.FACILITATOR)
    assert not nodes.a.app.state.realtime._runtimes[nodes.session_id].is_replica
    assert nodes.b.app.state.realtime._runtimes[nodes.session_id].is_replica

    opened = await teacher.ok("poll.open", {"spec": SPEC})
    seen = await student.wait_for(lambda f: f.get("type") == "poll.opened")
    assert seen["seq"] == opened["seq"]
    poll_id = seen["data"]["poll_id"]
    answered = await student.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}})
    assert isinstance(answered["seq"], int) and answered["seq"] > opened["seq"]
    again = await student.call(
        "poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}}, msg_id=None
    )
    assert again["type"] == "ack"
    # the tally is computed on a, delivered on b to that site's facilitator
    tally = await fac.wait_for(lambda f: f.get("type") == "poll.tally")
    assert tally["data"]["site_id"] == nodes.demo.sites[0].id
    await teacher.wait_for(lambda f: f.get("type") == "poll.tally")
    # permissions still hold across nodes
    refused = await student.call("poll.close", {"poll_id": poll_id})
    assert refused["type"] == "error" and refused["code"] == "not_permitted"
    # media lives on the owner node: a replica says where to go
    media = await student.call("media.mode", {"mode": "audio_only"})
    assert media["code"] == "wrong_node"
    token = nodes.a.app.state.services.signer.issue(
        user_id=nodes.demo.teacher.id or 0,
        role=Role.TEACHER,
        typ="access",
        now=time.time(),
        ttl_seconds=600,
    )
    async with httpx.AsyncClient(base_url=nodes.b.base) as http:
        where = await http.get(
            f"/api/sessions/{nodes.session_id}/node", headers={"Authorization": f"Bearer {token}"}
        )
    assert where.json() == {"url": "http://node-a.test", "clustered": True}

    # a drop and resume on the replica misses nothing
    last = student.last_seq
    await student.close()
    await teacher.ok("qna.ask", {"text": "While you were away"})
    back = await nodes.join(nodes.b, nodes.demo.students[0].id, Role.STUDENT, last_seq=last)
    replayed = await back.wait_for(lambda f: f.get("type") == "qna.asked")
    assert replayed["seq"] > last
    assert back.welcome["snapshot"]["polls"][0]["mine"] == 0


async def test_owner_stops_and_the_other_node_takes_over(nodes: Nodes) -> None:
    teacher = await nodes.join(nodes.a, nodes.demo.teacher.id, Role.TEACHER)
    student = await nodes.join(nodes.b, nodes.demo.students[8].id, Role.STUDENT)
    await teacher.ok("poll.open", {"spec": SPEC})
    poll_id = (await student.wait_for(lambda f: f.get("type") == "poll.opened"))["data"]["poll_id"]
    await student.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}})
    last = student.last_seq

    await nodes.a.stop()  # the owner drains: it hands the session over to b's replica
    assert await teacher.closed_with(within=15) == 1012  # a's own client: resume elsewhere
    runtime = nodes.b.app.state.realtime._runtimes[nodes.session_id]
    await _until(lambda: not runtime.is_replica)  # b took over in place

    # b's student was never disconnected, and b writes now
    again = await student.ok("qna.ask", {"text": "Still here"})
    assert again["seq"] > last
    assert await student.wait_for(lambda f: f.get("seq") == again["seq"])
    lead = await nodes.join(nodes.b, nodes.demo.teacher.id, Role.TEACHER, last_seq=teacher.last_seq)
    poll = lead.welcome["snapshot"]["polls"][0]
    assert poll["status"] == "open" and poll["results"]["total"]["answered"] == 1
    closing = await lead.ok("poll.close", {"poll_id": poll_id})
    closed = await student.wait_for(lambda f: f.get("type") == "poll.closed")
    assert closed["seq"] == closing["seq"] > last


async def _until(check: Callable[[], bool], within: float = 15.0) -> None:
    """Poll observable state until ``check`` holds, bounded in time."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)  # polling observable state, bounded by the deadline


class MovableClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_rest_start_and_end_on_the_other_node_go_to_the_owners_writer(
    nodes: Nodes,
) -> None:
    """A REST start on a node that does not own the session reaches the owner's single writer,
    stamped with the time of the call; the row follows the log; REST end reaches everyone."""
    async with nodes.a.app.state.services.sessions() as db:
        row = LiveSession(course_id=nodes.demo.course.id or 0, title="Next lesson")
        db.add(row)
        await db.commit()
    session_id = row.id or 0
    start = round(time.time()) - 600.0
    clock_a, clock_b = MovableClock(start), MovableClock(start)
    nodes.a.app.state.services.clock = clock_a
    nodes.b.app.state.services.clock = clock_b

    def token(user_id: int | None, role: Role) -> str:
        signer = nodes.a.app.state.services.signer
        issued: str = signer.issue(
            user_id=user_id or 0, role=role, typ="access", now=time.time(), ttl_seconds=600
        )
        return issued

    teacher_token = token(nodes.demo.teacher.id, Role.TEACHER)
    teacher = await WsClient.open(nodes.a.ws_url(session_id), teacher_token)  # a owns it
    student_token = token(nodes.demo.students[0].id, Role.STUDENT)
    student = await WsClient.open(nodes.b.ws_url(session_id), student_token)
    nodes.clients += [teacher, student]
    assert teacher.welcome["snapshot"]["status"] == "scheduled"
    assert nodes.b.app.state.realtime._runtimes[session_id].is_replica
    clock_a.now = start + 30.0  # the owner's writer gets the command a while after the call

    headers = {"Authorization": f"Bearer {teacher_token}"}
    async with httpx.AsyncClient(base_url=nodes.b.base, headers=headers, timeout=30) as http:
        started = await http.post(f"/api/sessions/{session_id}/start")
        assert started.status_code == 200, started.text
        assert started.json()["status"] == "live"
        assert datetime.fromisoformat(started.json()["started_at"]).timestamp() == start
        for client in (teacher, student):
            event = await client.wait_for(lambda f: f.get("type") == "session.started")
            assert event["at"] == start
        late = await WsClient.open(
            nodes.a.ws_url(session_id), token(nodes.demo.admin.id, Role.ADMIN)
        )
        nodes.clients.append(late)
        assert late.welcome["lesson_clock"] == 30.0

        again = await http.post(f"/api/sessions/{session_id}/start")
        assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"

        clock_b.now = start + 60.0
        ended = await http.post(f"/api/sessions/{session_id}/end")
        assert ended.status_code == 200, ended.text
        assert datetime.fromisoformat(ended.json()["ended_at"]).timestamp() == start + 60.0
        for client in (teacher, student):
            event = await client.wait_for(lambda f: f.get("type") == "session.ended")
            assert event["at"] == start + 60.0
    async with nodes.b.app.state.services.sessions() as db:
        stored = await db.get(LiveSession, session_id)
    assert stored is not None and stored.status is SessionStatus.ENDED
