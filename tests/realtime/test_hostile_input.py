"""Hostile and malformed input over the websocket: typed errors or clear close codes, the
session going on for everyone else, nothing stored twice."""

from __future__ import annotations

import json
import time

from sqlmodel import col, func, select
from websockets.asyncio.client import connect

from server.db.models import Course, Enrolment, LiveSession, SessionEvent, User
from server.demo import seed_demo
from server.domain.roles import Role
from server.settings import Settings
from tests.live_server import WsClient, running
from tests.realtime.conftest import Class

SPEC = {"kind": "single", "prompt": "Pick one", "options": ["a", "b"]}


async def _still_works(client: WsClient) -> None:
    await client.ws.send(json.dumps({"type": "ping", "id": f"p{time.monotonic_ns()}"}))
    await client.wait_for(lambda f: f.get("type") == "pong")


async def test_malformed_frames_get_typed_errors(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(0)
    bad_frames: list[str | bytes] = [
        "{not json",
        "[1, 2, 3]",
        json.dumps({"type": "poll.answer"}),  # missing data fields
        json.dumps({"type": "poll.answer", "id": "x", "data": {"poll_id": "one", "answer": {}}}),
        json.dumps({"type": "teleport", "id": "y", "data": {}}),
        json.dumps({"type": "hand.raise", "id": "z" * 65}),
        json.dumps({"type": "hand.raise", "id": "w", "extra": 1}),
        json.dumps({"type": "qna.ask", "id": "v", "data": {"text": "hi", "user_id": 99}}),
        json.dumps({"type": "hello", "data": {"token": "again"}}),
        b"\x00\x01binary",
    ]
    for frame in bad_frames:
        await student.ws.send(frame)
        error = await student.wait_for(lambda f: f.get("type") == "error")
        assert error["code"] == "bad_input" and error["message"], frame
    await _still_works(student)
    reply = await teacher.call("poll.open", {"spec": SPEC})
    assert reply["type"] == "ack"


async def test_permission_rules_over_the_wire(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a = await klass.facilitator(0)
    fac_b = await klass.facilitator(1)
    s_a = await klass.student(0)
    s_b = await klass.student(8)  # site B
    for client, type_, data in (
        (s_a, "poll.open", {"spec": SPEC}),
        (fac_a, "poll.open", {"spec": SPEC}),
        (s_a, "session.end", {}),
        (s_a, "hand.dismiss", {"user_id": klass.demo.students[8].id}),
        (fac_a, "stage.bring", {"site_id": klass.demo.sites[0].id}),
        (s_a, "slides.show", {"deck_id": 1, "page": 1}),
        (fac_a, "slides.show", {"deck_id": 1, "page": 1}),
        (s_a, "slides.hide", {}),
    ):
        reply = await client.call(type_, data)
        assert reply["type"] == "error" and reply["code"] == "not_permitted", (type_, reply)
    await s_b.ok("qna.ask", {"text": "from site B"})
    qna_id = (await fac_a.wait_for(lambda f: f.get("type") == "qna.asked"))["data"]["qna_id"]
    refused = await fac_a.call("qna.hide", {"qna_id": qna_id})
    assert refused["code"] == "not_permitted"
    await fac_b.ok("qna.hide", {"qna_id": qna_id})
    await teacher.ok("poll.open", {"spec": SPEC})
    for data in ({"deck_id": "1", "page": 1}, {"deck_id": 1, "page": 0}, {"deck_id": 1}):
        bad = await teacher.call("slides.show", data)
        assert bad["type"] == "error" and bad["code"] == "bad_input", (data, bad)


async def test_oversized_frame_closes_only_that_connection(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(0)
    huge = json.dumps({"type": "qna.ask", "id": "big", "data": {"text": "x" * 70_000}})
    await student.ws.send(huge)
    assert await student.closed_with() == 1009
    await _still_works(teacher)


async def test_sign_in_failures_close_with_clear_codes(klass: Class) -> None:
    url = klass.server.ws_url(klass.session_id)
    signer = klass.server.app.state.services.signer
    teacher_id = klass.demo.teacher.id or 0
    expired = signer.issue(
        user_id=teacher_id, role=Role.TEACHER, typ="access", now=time.time() - 7200, ttl_seconds=60
    )
    cases = [
        ({"type": "hand.raise", "id": "a"}, 4400),
        ({"type": "hello", "data": {}}, 4400),
        ({"type": "hello", "data": {"token": "forged.token.value"}}, 4401),
        ({"type": "hello", "data": {"token": expired}}, 4401),
    ]
    for first, code in cases:
        async with connect(url) as ws:
            await ws.send(json.dumps(first))
            client = WsClient(ws)
            assert await client.closed_with() == code, first
    # someone who does not belong to this session: not even its existence is disclosed
    async with klass.server.app.state.services.sessions() as db:
        outsider = User(email="out@x.org", display_name="Out", role=Role.STUDENT)
        other_teacher = User(email="t9@x.org", display_name="T9", role=Role.TEACHER)
        db.add_all([outsider, other_teacher])
        await db.flush()
        course = Course(code="OTHER", title="Other", teacher_id=other_teacher.id or 0)
        db.add(course)
        await db.flush()
        db.add(Enrolment(course_id=course.id or 0, student_id=outsider.id or 0))
        other = LiveSession(course_id=course.id or 0, title="Other lesson")
        db.add(other)
        await db.commit()
    for token, session_id in (
        (klass.token(outsider.id or 0, Role.STUDENT), klass.session_id),
        (klass.token(other_teacher.id or 0, Role.TEACHER), klass.session_id),
        (
            klass.token(klass.demo.students[0].id or 0, Role.STUDENT, scope=other.id),
            klass.session_id,
        ),
        (klass.token(teacher_id, Role.TEACHER), 999_999),
    ):
        async with connect(klass.server.ws_url(session_id)) as ws:
            await ws.send(json.dumps({"type": "hello", "data": {"token": token}}))
            assert await WsClient(ws).closed_with() == 4404


async def test_flood_is_limited_then_closed_and_others_go_on(settings: Settings) -> None:
    settings.ws_rate_per_second = 1
    settings.ws_rate_burst = 5
    async with running(settings) as server:
        demo = await seed_demo(server.app.state.services.sessions)
        signer = server.app.state.services.signer
        url = server.ws_url(demo.session.id or 0)

        def token(user_id: int | None, role: Role) -> str:
            return str(
                signer.issue(
                    user_id=user_id or 0, role=role, typ="access", now=time.time(), ttl_seconds=600
                )
            )

        calm = await WsClient.open(url, token(demo.teacher.id, Role.TEACHER))
        noisy = await WsClient.open(url, token(demo.students[0].id, Role.STUDENT))
        for i in range(300):
            try:
                await noisy.ws.send(json.dumps({"type": "hand.raise", "id": f"f{i}"}))
            except Exception:
                break
        assert await noisy.closed_with() == 4429
        limited = [f for f in noisy.frames if f.get("code") == "rate_limited"]
        assert limited, "a flood first gets rate_limited errors"
        await _still_works(calm)
        await calm.ok("poll.open", {"spec": SPEC})
        async with server.app.state.services.sessions() as db:
            raised = (
                await db.exec(
                    select(func.count())
                    .select_from(SessionEvent)
                    .where(col(SessionEvent.type) == "hand.raised")
                )
            ).one()
        assert raised == 1  # raising an already raised hand stores nothing
        await calm.close()


async def test_answer_twice_under_two_ids_counts_once(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(2)
    await teacher.ok("poll.open", {"spec": SPEC})
    poll_id = (await student.wait_for(lambda f: f.get("type") == "poll.opened"))["data"]["poll_id"]
    await student.call("poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}}, "one")
    await student.call("poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}}, "two")
    viewer = await klass.teacher()
    assert viewer.welcome["snapshot"]["polls"][0]["results"]["total"]["answered"] == 1
