"""REST start and end go through the session's single writer: the lesson clock starts at the
REST call (not when the live runtime happens to load), the row is a projection of the logged
event, and connected clients see the lesson end."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx

from server.db.models import LiveSession
from server.domain.live import LiveAggregate, Roster, SessionStatus
from server.domain.live.commands import StartSession
from server.domain.roles import Actor, Role
from server.realtime.core.event_log import PendingEvent
from tests.live_server import WsClient
from tests.realtime.conftest import Class


class MovableClock:
    """A wall clock the test moves: "a while later" without waiting."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def scheduled_lesson(klass: Class) -> int:
    async with klass.server.app.state.services.sessions() as db:
        row = LiveSession(course_id=klass.demo.course.id or 0, title="Next lesson")
        db.add(row)
        await db.commit()
        assert row.id is not None
        return row.id


async def rest(klass: Class, path: str) -> httpx.Response:
    token = klass.token(klass.demo.teacher.id or 0, Role.TEACHER)
    async with httpx.AsyncClient(base_url=klass.server.base, timeout=30) as http:
        return await http.post(path, headers={"Authorization": f"Bearer {token}"})


async def test_rest_start_sets_the_lesson_clock_at_the_call(klass: Class) -> None:
    session_id = await scheduled_lesson(klass)
    start = round(time.time()) - 600.0
    clock = MovableClock(start)
    svc = klass.server.app.state.services
    svc.clock = clock

    started = await rest(klass, f"/api/sessions/{session_id}/start")
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "live"
    clock.now = start + 90.0  # the class connects a minute and a half later

    token = klass.token(klass.demo.students[0].id or 0, Role.STUDENT)
    student = await WsClient.open(klass.server.ws_url(session_id), token)
    klass.clients.append(student)
    assert student.welcome["lesson_clock"] == 90.0
    assert student.welcome["snapshot"]["started_at"] == start
    assert started.json()["started_at"].endswith("Z")  # in UTC, on SQLite too
    assert epoch(started.json()["started_at"]) == start

    logged = await klass.server.app.state.realtime.log.read_since(session_id, 0)
    first = logged[0]
    assert (first.event.type, first.event.at) == ("session.started", start)
    assert first.actor_id == klass.demo.teacher.id
    async with svc.sessions() as db:
        row = await db.get(LiveSession, session_id)
    assert row is not None and row.status is SessionStatus.LIVE

    again = await rest(klass, f"/api/sessions/{session_id}/start")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"


async def test_rest_end_ends_the_lesson_for_connected_clients(klass: Class) -> None:
    clock = MovableClock(round(time.time()))
    klass.server.app.state.services.clock = clock
    teacher = await klass.teacher()
    student = await klass.student(3)
    clock.now += 45.0

    ended = await rest(klass, f"/api/sessions/{klass.session_id}/end")
    assert ended.status_code == 200, ended.text
    body = ended.json()
    assert body["status"] == "ended" and epoch(body["ended_at"]) == clock.now
    for client in (teacher, student):
        event = await client.wait_for(lambda f: f.get("type") == "session.ended")
        assert event["at"] == clock.now and event["data"]["by"] == klass.demo.teacher.id
    refused = await student.call("hand.raise")
    assert refused["type"] == "error" and refused["code"] == "invalid_state"

    again = await rest(klass, f"/api/sessions/{klass.session_id}/end")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"


async def test_a_row_live_from_before_is_adopted_at_its_own_start(klass: Class) -> None:
    """Older data: the row says live (started through the API before lifecycle went through
    the writer) and the log has no session.started. The lesson clock runs from the row's
    start, not from whenever the runtime happens to load."""
    start = round(time.time()) - 600.0
    svc = klass.server.app.state.services
    async with svc.sessions() as db:
        row = LiveSession(
            course_id=klass.demo.course.id or 0,
            title="Started last year",
            status=SessionStatus.LIVE,
            started_at=datetime.fromtimestamp(start, UTC),
        )
        db.add(row)
        await db.commit()
    svc.clock = MovableClock(start + 120.0)
    token = klass.token(klass.demo.students[0].id or 0, Role.STUDENT)
    student = await WsClient.open(klass.server.ws_url(row.id or 0), token)
    klass.clients.append(student)
    assert student.welcome["lesson_clock"] == 120.0
    logged = await klass.server.app.state.realtime.log.read_since(row.id or 0, 0)
    assert (logged[0].event.type, logged[0].event.at) == ("session.started", start)


async def test_a_row_behind_its_log_is_projected_again_on_load(klass: Class) -> None:
    """The process stopped after storing session.started but before writing the row: the
    next load brings the row up to the log."""
    session_id = await scheduled_lesson(klass)
    start = round(time.time()) - 300.0
    lead = Actor(klass.demo.teacher.id or 0, Role.TEACHER)
    [event] = LiveAggregate(session_id, Roster([lead])).handle(lead, StartSession(), start)
    log = klass.server.app.state.realtime.log
    await log.append(session_id, 1, [PendingEvent(event, lead.user_id, None)])
    await klass.server.app.state.realtime.runtime(session_id)
    async with klass.server.app.state.services.sessions() as db:
        row = await db.get(LiveSession, session_id)
    assert row is not None and row.status is SessionStatus.LIVE
    assert row.started_at is not None and row.started_at.replace(tzinfo=UTC).timestamp() == start
