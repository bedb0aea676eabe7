"""The lesson report over HTTP: a lesson driven through the live domain and stored in the
event log, then read back as each kind of caller (rows cut to them) and as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlmodel import col, select

from server.db.engagement_models import EngagementTimeline
from server.db.models import SessionEvent
from server.domain.live import Answer, LiveAggregate, PromptSpec, Roster
from server.domain.live.commands import (
    AnswerPoll,
    EndSession,
    Join,
    LaunchQuestion,
    OpenPoll,
    QnaAsk,
    StartSession,
)
from server.domain.live.event_types import DERIVED_EVENT_TYPES
from server.domain.roles import Actor, Role
from server.realtime.core.event_log import EventLog, PendingEvent
from tests.api.world import World, build_world

FORMULA = '=HYPERLINK("http://x")'


async def _lesson(world: World) -> dict[str, Actor]:
    """Students 0 (the facilitator's site), 8 (another site) and 32 (at home) answer a poll
    whose prompt and one answer look like spreadsheet formulas."""
    demo = world.demo
    teacher = Actor(world.ids["teacher"], Role.TEACHER)
    who = {
        name: Actor(demo.students[i].id or 0, Role.STUDENT, demo.sites[s].id if s >= 0 else None)
        for name, i, s in (("here", 0, 0), ("there", 8, 1), ("home", 32, -1))
    }
    live = LiveAggregate(world.ids["session"], Roster([teacher, *who.values()]))
    svc = world.app.state.services
    async with svc.sessions() as db:  # the demo lesson is born live: its log holds the start
        started = await db.exec(
            select(SessionEvent).where(col(SessionEvent.session_id) == world.ids["session"])
        )
        t0 = started.one().at
    events = []

    def do(actor: Actor, command: Any, at: float) -> None:
        events.extend(
            e
            for e in live.handle(actor, command, at)
            if e.type not in DERIVED_EVENT_TYPES and e.type != "session.started"
        )

    do(teacher, StartSession(), t0)
    for i, actor in enumerate(who.values()):
        do(actor, Join(), t0 + 1 + i)
    do(teacher, OpenPoll(PromptSpec("text", FORMULA)), t0 + 10)
    do(who["here"], AnswerPoll(1, Answer(text="+1 and -2")), t0 + 14)
    do(who["there"], AnswerPoll(1, Answer(text="@me")), t0 + 20)
    do(
        teacher,
        LaunchQuestion(PromptSpec("single", "Pick", ("a", "b"), Answer(choices=(0,)))),
        t0 + 30,
    )
    do(who["home"], QnaAsk("why?"), t0 + 40)
    do(teacher, EndSession(), t0 + 60)
    await EventLog(svc.sessions).append(
        world.ids["session"], 2, [PendingEvent(e, None, None) for e in events]
    )
    async with svc.sessions() as db:
        db.add(EngagementTimeline(session_id=world.ids["session"], at=t0 + 15, lesson_s=15,
                                  scope="student", site_id=who["here"].site_id,
                                  user_id=who["here"].user_id, value="confused",
                                  reasons=["pressed I'm confused"]))  # fmt: skip
        await db.commit()
    return who


def _answers(report: dict[str, Any]) -> dict[int, str]:
    poll = next(a for a in report["activities"] if a["key"] == "poll-1")
    return {row["user_id"]: row["answer"] for row in poll["answers"]}


async def test_each_caller_gets_their_rows(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    who = await _lesson(world)
    url = f"/api/sessions/{world.ids['session']}/report"
    here, there, home = who["here"].user_id, who["there"].user_id, who["home"].user_id

    teacher = (await world.call("teacher", "GET", url)).json()
    assert _answers(teacher) == {here: "+1 and -2", there: "@me"}
    assert len(teacher["attendance"]) == 40  # every enrolled student, joined or not
    minutes = {r["user_id"]: r["seconds"] for r in teacher["attendance"]}
    assert minutes[here] == 59 and minutes[home] == 57
    assert [e["user_id"] for e in teacher["episodes"]] == [here]
    assert teacher["csv_url"].endswith("/report.csv") and teacher["session"]["ended"]

    fac = (await world.call("fac", "GET", url)).json()
    assert _answers(fac) == {here: "+1 and -2"}
    assert {r["site_id"] for r in fac["attendance"]} == {who["here"].site_id}

    mine = (await world.call("joined", "GET", url)).json()  # students[0] via the join link
    assert _answers(mine) == {here: "+1 and -2"}
    assert [r["user_id"] for r in mine["attendance"]] == [here]
    assert [q["user_id"] for q in mine["qna"]] == [None]  # someone else asked

    missing = await world.call("teacher", "GET", "/api/sessions/999999/report")
    assert missing.status_code == 404 and "error" in missing.json()
    bad = await world.call("teacher", "GET", f"/api/sessions/{2**63}/report")
    assert bad.status_code == 422


async def test_csv_is_formula_safe_and_parses_back(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    who = await _lesson(world)
    resp = await world.call("teacher", "GET", f"/api/sessions/{world.ids['session']}/report.csv")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"] == (
        f'attachment; filename="lesson-{world.ids["session"]}-report.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == 40 * 2  # every student x (the poll, the question)
    here = [r for r in rows if r["student_id"] == str(who["here"].user_id)]
    poll = next(r for r in here if r["activity"] == "poll-1")
    assert poll["prompt"] == "'" + FORMULA and poll["answer"] == "'+1 and -2"
    assert poll["seconds_to_answer"] == "4.0" and poll["catch_up"] == "false"
    assert poll["minutes_present"] == "1.0" and poll["first_join_s"] == "1.0"
    other = next(r for r in rows if r["student_id"] == str(who["there"].user_id))
    assert other["answer"] == "'@me"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), cell
    fac = await world.call("fac", "GET", f"/api/sessions/{world.ids['session']}/report.csv")
    fac_rows = list(csv.DictReader(io.StringIO(fac.text)))
    assert {r["site_id"] for r in fac_rows} == {str(who["here"].site_id)}
