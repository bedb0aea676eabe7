"""Engagement over real websockets against a running server (SQLite and PostgreSQL): pulses and
alerts to the right staff only, students see only themselves, forged signals and floods are
refused while the session goes on, and the timeline is stored and purged."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest
from sqlmodel import col, select

from server.db.engagement_models import EngagementTimeline
from server.domain.engagement import EngagementSettings, TimelineEntry
from server.realtime.engagement.bridge import EXTENSION, EngagementBridge
from server.realtime.engagement.timeline import (
    TimelineWriter,
    purge_expired,
    run_purge,
)
from server.settings import Settings
from tests.live_server import Frame, WsClient
from tests.realtime.conftest import Class

# Fast fusion so that a real-time test needs well under a second per state change.
FAST = EngagementSettings(
    smoothing_s=0.05,
    connection_smoothing_s=0.05,
    enter_after_s=0.1,
    leave_after_s=0.5,
    connection_enter_after_s=0.1,
    min_dwell_s=0.0,
    tick_resolution_s=0.05,
)
SITE_A = [0, 1, 2]  # demo students 0-7 are at site A, 8-15 at site B
SITE_B_STUDENT = 8
DAY = 86_400.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.engagement = FAST
    settings.staff_update_hz = 20
    return settings


def _of_type(type_: str, **data: Any) -> Any:
    def pred(frame: Frame) -> bool:
        if frame.get("type") != type_:
            return False
        body = frame.get("data") or {}
        return all(body.get(k) == v for k, v in data.items())

    return pred


def _reply_to(msg_id: str) -> Any:
    return lambda f: f.get("type") in ("ack", "error") and f.get("id") == msg_id


async def _drain(client: WsClient) -> None:
    """Every frame queued for ``client`` before now has arrived once the pong is back."""
    mid = await client.send("ping")
    await client.wait_for(lambda f: f.get("type") == "pong" and f.get("id") == mid)


async def _bridge(klass: Class) -> EngagementBridge:
    runtime = await klass.server.app.state.realtime.runtime(klass.session_id)
    bridge = runtime.extensions.get(EXTENSION, EngagementBridge)
    assert bridge is not None
    return bridge


async def _attentive(students: list[WsClient]) -> None:
    for s in students:
        await s.ok("engagement.attention", {"visible": True, "focused": True, "idle_s": 1})


async def _pulse(client: WsClient, site_id: int | None, pred: Any) -> Frame:
    return await client.wait_for(
        lambda f: _of_type("engagement.pulse", site_id=site_id)(f) and pred(f["data"])
    )


def _site(klass: Class, index: int) -> int:
    site_id = klass.demo.sites[index].id
    assert site_id is not None
    return site_id


def _uid(klass: Class, index: int) -> int:
    user_id = klass.demo.students[index].id
    assert user_id is not None
    return user_id


def _assert_only_own(klass: Class, client: WsClient, index: int) -> None:
    me = _uid(klass, index)
    for frame in client.frames:
        kind = str(frame.get("type", ""))
        if kind.startswith("engagement."):
            assert kind in ("engagement.student", "engagement.explicit", "engagement.snapshot")
        if kind in ("engagement.student", "engagement.explicit"):
            assert frame["data"]["user_id"] == me, frame


async def test_confused_press_reaches_teacher_and_own_site_facilitator_only(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a, fac_b = await klass.facilitator(0), await klass.facilitator(1)
    site_a, site_b = _site(klass, 0), _site(klass, 1)
    students = [await klass.student(i) for i in SITE_A]
    other = await klass.student(SITE_B_STUDENT)
    await _attentive([*students, other])
    await _pulse(teacher, site_a, lambda d: d["counts"]["engaged"] == 3)

    await students[0].ok("engagement.confused", {})
    watch = await _pulse(teacher, site_a, lambda d: d["counts"]["confused"] == 1)
    assert watch["data"]["level"] == "watch" and watch["data"]["top_state"] == "confused"
    assert any("pressed confused" in r for r in watch["data"]["reasons"])
    mine = await students[0].wait_for(_of_type("engagement.student", state="confused"))
    assert mine["data"]["reasons"][0]["code"] == "pressed_confused"

    await students[1].ok("engagement.confused", {"active": True})
    alert = await teacher.wait_for(_of_type("engagement.alert", site_id=site_a))
    data = alert["data"]
    assert data["state"] == "confused" and data["text"].startswith("2 of 3 at ")
    assert klass.demo.sites[0].name in data["text"]
    assert data["reasons"] == ["2 pressed confused"]
    await students[2].ok("engagement.confused", {"active": True})
    await _pulse(teacher, site_a, lambda d: d["counts"]["confused"] == 3)
    seen = await fac_a.wait_for(_of_type("engagement.alert", site_id=site_a))
    assert seen["data"]["id"] == data["id"]
    await _pulse(fac_a, site_a, lambda d: d["level"] == "alert")

    for client in (teacher, fac_b, other, *students):
        await _drain(client)
    assert len(teacher.events("engagement.alert")) == 1  # one alert, not one per press
    assert fac_b.events("engagement.alert") == []
    assert {f["data"]["site_id"] for f in fac_b.events("engagement.pulse")} <= {site_b}
    assert all(f["data"]["site_id"] == site_b for f in fac_b.events("engagement.student"))
    for client, index in ((other, SITE_B_STUDENT), *zip(students, SITE_A, strict=True)):
        _assert_only_own(klass, client, index)

    # the teacher acknowledges: the facilitator sees it, the site calms down
    await teacher.ok("engagement.ack", {"alert_id": data["id"]})
    handled = await fac_a.wait_for(_of_type("engagement.alert_handled", site_id=site_a))
    assert handled["data"]["action"] == "acknowledged"
    await _pulse(teacher, site_a, lambda d: d["counts"]["confused"] == 0)

    # a snapshot on demand: staff see their sites, a student only themself
    snap = await fac_a.ok("engagement.sync")
    assert snap["type"] == "ack"
    body = (await fac_a.wait_for(lambda f: f.get("type") == "engagement.snapshot"))["data"]
    assert [p["site_id"] for p in body["pulses"]] == [site_a]
    assert {s["site_id"] for s in body["students"]} == {site_a}
    await other.ok("engagement.sync")
    own = (await other.wait_for(lambda f: f.get("type") == "engagement.snapshot"))["data"]
    assert own["pulses"] == [] and [s["user_id"] for s in own["students"]] == [
        _uid(klass, SITE_B_STUDENT)
    ]


async def test_forged_and_malformed_signals_are_refused_and_the_session_goes_on(
    klass: Class,
) -> None:
    teacher = await klass.teacher()
    fac_a, fac_b = await klass.facilitator(0), await klass.facilitator(1)
    site_a = _site(klass, 0)
    s0, s1 = await klass.student(0), await klass.student(1)
    victim = _uid(klass, 1)
    refused: list[tuple[WsClient, str, dict[str, Any], str]] = [
        (s0, "engagement.confused", {"user_id": victim}, "not_permitted"),
        (
            s0,
            "engagement.attention",
            {"user_id": victim, "visible": False, "focused": False},
            "not_permitted",
        ),
        (s0, "engagement.media", {"user_id": victim, "loss_fraction": 0.9}, "not_permitted"),
        (s0, "engagement.help", {"site_id": site_a}, "not_permitted"),
        (s0, "engagement.ack", {"site_id": site_a, "state": "confused"}, "not_permitted"),
        (s0, "engagement.ack_student", {"user_id": victim}, "not_permitted"),
        (
            s0,
            "engagement.snooze",
            {"site_id": site_a, "state": "confused", "minutes": 5},
            "not_permitted",
        ),
        (s0, "engagement.presence", {"present": True}, "not_permitted"),  # off by policy
        (fac_b, "engagement.help", {"site_id": site_a}, "not_permitted"),
        (fac_b, "engagement.confused", {"user_id": victim}, "not_permitted"),
        (
            fac_b,
            "engagement.attention",
            {"user_id": victim, "visible": True, "focused": True},
            "not_permitted",
        ),
        (teacher, "engagement.help", {"site_id": site_a}, "not_permitted"),
        (s0, "engagement.attention", {"visible": "yes", "focused": True}, "bad_input"),
        (s0, "engagement.attention", {"visible": True, "focused": True, "idle_s": -1}, "bad_input"),
        (s0, "engagement.confused", {"active": True, "mood": "sad"}, "bad_input"),
        (s0, "engagement.guess_feelings", {}, "bad_input"),
        (teacher, "engagement.ack", {"alert_id": 999}, "not_found"),
        (
            teacher,
            "engagement.snooze",
            {"site_id": site_a, "state": "bored", "minutes": 5},
            "bad_input",
        ),
    ]
    for client, type_, data, code in refused:
        reply = await client.call(type_, data)
        assert reply["type"] == "error" and reply["code"] == code, (type_, data, reply)

    # nothing about the victim changed, and everybody carries on
    await _drain(s1)
    assert s1.events("engagement.student") == []
    await s0.ok("engagement.confused", {})
    await s1.ok("engagement.attention", {"visible": True, "focused": True})
    await fac_a.ok("engagement.confused", {"user_id": victim})  # on behalf, own site
    await fac_a.ok("engagement.help", {})
    help_alert = await teacher.wait_for(_of_type("engagement.alert", site_id=site_a, state="help"))
    assert "asks for help" in help_alert["data"]["text"]
    await fac_a.wait_for(_of_type("engagement.alert", site_id=site_a, state="help"))
    # the alert still stands in the snapshot a reloading member of staff gets; only staff of
    # that site see it
    for client, sees in ((teacher, True), (fac_a, True), (fac_b, False), (s0, False)):
        await client.ok("engagement.sync")
        snap = await client.wait_for(_of_type("engagement.snapshot"))
        found = [a["id"] for a in snap["data"]["alerts"] if a["state"] == "help"]
        assert found == ([help_alert["data"]["id"]] if sees else []), client
    await fac_b.ok(
        "engagement.snooze", {"site_id": _site(klass, 1), "state": "help", "minutes": 10}
    )
    # a retried message (same id) is acknowledged again and applied once
    mid = "retry-confused-1"
    first = await s1.call("engagement.confused", {}, msg_id=mid)
    again = await s1.call("engagement.confused", {}, msg_id=mid)
    assert first["type"] == again["type"] == "ack"
    opened = await teacher.ok(
        "poll.open", {"spec": {"kind": "single", "prompt": "Still here?", "options": ["yes", "no"]}}
    )
    assert isinstance(opened["seq"], int)
    # after the lesson, signals are refused; the connection stays usable
    await teacher.ok("session.end")
    ended = await s0.call("engagement.confused", {})
    assert ended["type"] == "error" and ended["code"] == "invalid_state"
    await _drain(s0)


async def test_telemetry_flood_is_rate_limited_and_others_carry_on(klass: Class) -> None:
    teacher = await klass.teacher()
    site_a = _site(klass, 0)
    flooder, *others = [await klass.student(i) for i in SITE_A]
    await _attentive(others)
    ids = [
        await flooder.send("engagement.attention", {"visible": True, "focused": True})
        for _ in range(40)
    ]
    replies = [await flooder.wait_for(_reply_to(m)) for m in ids]
    limited = [r for r in replies if r["type"] == "error"]
    assert limited and all(r["code"] == "rate_limited" for r in limited)
    assert 1 <= len(replies) - len(limited) < 40
    bridge = await _bridge(klass)
    assert bridge.engine.stats()["telemetry_rejected"] == len(limited)

    # the flooder's connection and everyone else's session go on
    await _drain(flooder)
    await others[0].ok("engagement.confused", {})
    await _pulse(teacher, site_a, lambda d: d["counts"]["confused"] == 1)
    await flooder.ok("engagement.confused", {})
    await _pulse(teacher, site_a, lambda d: d["counts"]["confused"] == 2)


async def test_wrong_answers_and_missed_polls_feed_the_engine(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a = await klass.facilitator(0)
    site_a = _site(klass, 0)
    students = [await klass.student(i) for i in SITE_A]
    await _attentive(students)
    spec = {
        "kind": "single",
        "prompt": "Which is a vector?",
        "options": ["mass", "velocity"],
        "correct": {"choices": [1]},
    }
    for n in (1, 2):
        opened = await teacher.ok("poll.open", {"spec": spec})
        poll = await students[0].wait_for(_of_type("poll.opened"))
        assert poll["seq"] == opened["seq"]
        poll_id = poll["data"]["poll_id"]
        for s in students[:2]:  # two students answer wrong, the third not at all
            await s.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}})
        await teacher.ok("poll.close", {"poll_id": poll_id})
        assert n == poll_id
    alert = await fac_a.wait_for(_of_type("engagement.alert", site_id=site_a))
    assert alert["data"]["state"] == "confused"
    assert alert["data"]["text"].startswith("2 of 3 at ")
    assert any(
        "wrong answers on recent questions (poll 1, poll 2)" in r for r in alert["data"]["reasons"]
    )
    silent = await students[2].wait_for(_of_type("engagement.student", state="disengaged"))
    assert "missed_polls" in [r["code"] for r in silent["data"]["reasons"]]
    _assert_only_own(klass, students[2], SITE_A[2])


async def test_timeline_is_stored_and_purged(klass: Class) -> None:
    teacher = await klass.teacher()
    site_a = _site(klass, 0)
    students = [await klass.student(i) for i in SITE_A]
    await _attentive(students)
    for s in students:
        await s.ok("engagement.confused", {})
    await teacher.wait_for(_of_type("engagement.alert", site_id=site_a))
    # the alert may come at 2 of 3: wait for the third student's state too (its timeline
    # entry is queued before the pulse that counts it)
    await _pulse(teacher, site_a, lambda d: d["counts"]["confused"] == 3)
    bridge = await _bridge(klass)
    await bridge.flush_timeline()
    sessions = klass.server.app.state.services.sessions
    async with sessions() as db:
        rows = list(
            await db.exec(
                select(EngagementTimeline).where(
                    col(EngagementTimeline.session_id) == klass.session_id
                )
            )
        )
    by_scope: dict[str, list[EngagementTimeline]] = {}
    for row in rows:
        by_scope.setdefault(row.scope, []).append(row)
    confused = {r.user_id for r in by_scope["student"] if r.value == "confused"}
    assert confused == {_uid(klass, i) for i in SITE_A}
    assert {r.value for r in by_scope["site"] if r.site_id == site_a} >= {"watch", "alert"}
    alert_rows = [r for r in by_scope["alert"] if r.value == "confused"]
    assert len(alert_rows) == 1 and " of 3 at " in alert_rows[0].reasons[0]
    now = time.time()
    assert all(now - 60 < r.at <= now and r.lesson_s >= 0 for r in rows)
    assert len({(r.scope, r.user_id, r.site_id, r.value, r.at) for r in rows}) == len(rows)

    # purge: entries past the retention go, recent ones stay
    writer = TimelineWriter(sessions, klass.session_id, lambda at: 0.0)
    retention = FAST.timeline_retention_days * DAY
    for age in (retention + DAY, retention + 30 * DAY):
        writer.add(TimelineEntry(now - age, "site", site_a, "alert", ("old",)))
    writer.add(TimelineEntry(now - retention + DAY, "site", site_a, "calm", ("kept",)))
    assert await writer.flush_all() == 3
    assert await purge_expired(sessions, FAST, now) == 2
    assert await purge_expired(sessions, FAST, now) == 0
    async with sessions() as db:
        left = list(await db.exec(select(EngagementTimeline.reasons)))
    assert left.count(["kept"]) == 1 and ["old"] not in left
    # the command-line entry point purges with the configured retention
    writer.add(TimelineEntry(now - retention - DAY, "site", site_a, "alert", ("old",)))
    await writer.flush_all()
    assert await asyncio.to_thread(run_purge, klass.settings, now) == 1


async def test_marking_a_confusion_seen_tells_that_student_only(klass: Class) -> None:
    teacher = await klass.teacher()
    confused = await klass.student(SITE_A[0])
    other = await klass.student(SITE_A[1])
    await confused.ok("engagement.confused", {"active": True})
    victim = klass.demo.students[SITE_A[0]].id
    await teacher.ok("engagement.ack_student", {"user_id": victim})
    seen = await confused.wait_for(_of_type("engagement.explicit", user_id=victim, active=False))
    assert seen["data"]["cause"] == "seen"
    await other.ok("hand.raise")  # anything after the ack reaches the other student first...
    assert other.events("engagement.explicit") == []  # ...and no one else was told


def _explicit(client: WsClient, user_id: int) -> list[dict[str, Any]]:
    found = [f["data"] for f in client.events("engagement.explicit")]
    return [d for d in found if d["user_id"] == user_id]


async def _arrived_since(client: WsClient, start: int) -> list[str]:
    """Types of the frames ``client`` got from index ``start`` up to the pong of a ping sent
    now, in arrival order."""
    await _drain(client)
    return [str(f.get("type")) for f in client.frames[start:]]


async def test_confused_press_reaches_staff_with_the_ack_and_seen_clears_it(klass: Class) -> None:
    """No smoothing for the student's own word: by the time the student's press is
    acknowledged, the flag is already on its way to the teacher and the site's facilitator
    (it arrives before the answer to a ping sent after the ack); the same for "Seen"."""
    teacher = await klass.teacher()
    fac_a, fac_b = await klass.facilitator(0), await klass.facilitator(1)
    student, classmate = await klass.student(SITE_A[0]), await klass.student(SITE_A[1])
    me, site_a = _uid(klass, SITE_A[0]), _site(klass, 0)
    for client in (teacher, fac_a, fac_b, classmate):
        await _drain(client)

    marks = [len(teacher.frames), len(fac_a.frames)]
    await student.ok("engagement.confused", {"active": True})
    for staff, mark in zip((teacher, fac_a), marks, strict=True):
        assert "engagement.explicit" in await _arrived_since(staff, mark)
        [shown] = _explicit(staff, me)
        assert shown["active"] is True and shown["cause"] == "pressed"
        assert shown["site_id"] == site_a and shown["signal"] == "confused"
        assert shown["by"] == me and isinstance(shown["since"], float)
    # pressed again: nothing changes, nothing is sent
    await student.ok("engagement.confused", {"active": True})
    for staff in (teacher, fac_a):
        await _drain(staff)
        assert len(_explicit(staff, me)) == 1
    # a reconnecting teacher gets the flag in the snapshot
    await teacher.ok("engagement.sync")
    snap = teacher.events("engagement.snapshot")[-1]["data"]
    assert [(e["user_id"], e["signal"]) for e in snap["explicit"]] == [(me, "confused")]

    marks = [len(teacher.frames), len(fac_a.frames), len(student.frames)]
    await teacher.ok("engagement.ack_student", {"user_id": me})
    # the teacher's own clear comes before the teacher's ack
    got = [str(f.get("type")) for f in teacher.frames[marks[0] :]]
    assert got.index("engagement.explicit") < got.index("ack")
    assert "engagement.explicit" in await _arrived_since(fac_a, marks[1])
    for staff in (teacher, fac_a):
        cleared = _explicit(staff, me)[-1]
        assert cleared["active"] is False and cleared["cause"] == "seen"
        assert cleared["by"] == _uid_of_teacher(klass) and cleared["since"] is None
    # the student's own button follows the same fact
    assert "engagement.explicit" in await _arrived_since(student, marks[2])
    assert [(e["active"], e["cause"]) for e in _explicit(student, me)] == [
        (True, "pressed"),
        (False, "seen"),
    ]

    # the student presses and withdraws: the facilitator sees both, in order
    await student.ok("engagement.confused", {"active": True})
    await student.ok("engagement.confused", {"active": False})
    await _drain(fac_a)
    assert [(e["active"], e["cause"]) for e in _explicit(fac_a, me)] == [
        (True, "pressed"),
        (False, "seen"),
        (True, "pressed"),
        (False, "withdrawn"),
    ]
    # never another site's facilitator, never another student
    for client in (fac_b, classmate):
        await _drain(client)
        assert client.events("engagement.explicit") == []
    await student.ok("engagement.confused", {"active": True})
    for client, expected in ((student, [me]), (classmate, [])):
        await client.ok("engagement.sync")
        snap = client.events("engagement.snapshot")[-1]["data"]
        assert [e["user_id"] for e in snap["explicit"]] == expected


async def test_an_expired_press_is_cleared_for_staff(klass: Class) -> None:
    klass.settings.engagement = dataclasses.replace(FAST, confused_expiry_s=0.3)
    teacher = await klass.teacher()
    student = await klass.student(SITE_A[0])
    me = _uid(klass, SITE_A[0])
    await student.ok("engagement.confused", {})
    shown = await teacher.wait_for(_of_type("engagement.explicit", user_id=me, active=True))
    # the bridge wakes at the press's deadline (no other traffic is needed to notice it)
    gone = await teacher.wait_for(_of_type("engagement.explicit", user_id=me, active=False))
    assert gone["data"]["cause"] == "expired"
    assert gone["data"]["at"] >= shown["data"]["since"] + 0.3


def _uid_of_teacher(klass: Class) -> int:
    user_id = klass.demo.teacher.id
    assert user_id is not None
    return user_id
