"""The course view projected from lesson reports: cells per lesson, anonymous polls left out,
scopes, and the falling-behind rule (explicit signals and answers only)."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.errors import BadInput
from server.domain.events import Event
from server.domain.reports import (
    ALL,
    COURSE_HEADER,
    BehindSettings,
    LessonReport,
    Person,
    Scope,
    TimelineRow,
    build_course_report,
    build_lesson_report,
    course_rows,
    site_scope,
    student_scope,
)
from server.domain.reports.behind import LessonFigures, falling_behind

PEOPLE = [Person(1, "Ada", 10), Person(2, "Bo", 10), Person(3, "Cy", 20)]
SITES = {10: "North", 20: "South"}
SPEC = {
    "kind": "single",
    "prompt": "Pick",
    "options": ["a", "b"],
    "correct": 0,
    "min_value": None,
    "max_value": None,
    "tolerance": 0,
    "max_length": 200,
}


def _lesson(
    sid: int,
    start: float,
    present: dict[int, float],
    answers: dict[int, int],
    anonymous_answers: tuple[int, ...] = (),
    timeline: tuple[TimelineRow, ...] = (),
    scope: Scope = ALL,
) -> LessonReport:
    """A 20-minute lesson: students in ``present`` stay that many minutes; poll 1 (key: 0)
    answered as in ``answers``; poll 2 is anonymous."""
    ev = [Event("session.started", {}, at=start)]
    for uid, minutes in present.items():
        site = next(p.site_id for p in PEOPLE if p.user_id == uid)
        ev.append(
            Event("presence.joined", {"user_id": uid, "site_id": site, "role": "student"}, at=start)
        )
        ev.append(Event("presence.left", {"user_id": uid}, at=start + minutes * 60))
    ev.append(Event("poll.opened", {"poll_id": 1, "spec": SPEC}, at=start + 10))
    ev.append(Event("poll.opened", {"poll_id": 2, "spec": SPEC, "anonymous": True}, at=start + 20))
    for uid, value in answers.items():
        ev.append(
            Event(
                "poll.answered",
                {"poll_id": 1, "user_id": uid, "site_id": None, "value": value},
                at=start + 30,
            )
        )
    for uid in anonymous_answers:
        ev.append(
            Event(
                "poll.answered",
                {"poll_id": 2, "user_id": uid, "site_id": None, "value": 0},
                at=start + 40,
            )
        )
    ev.append(Event("session.ended", {}, at=start + 1200))
    return build_lesson_report(
        session_id=sid,
        title=f"L{sid}",
        events=ev,
        people=PEOPLE,
        timeline=timeline,
        sites=SITES,
        now=start + 5000,
        scope=scope,
    )


def _pressed(uid: int, at: float) -> tuple[TimelineRow, ...]:
    return (
        TimelineRow(at, "press", 10, uid, "pressed"),
        TimelineRow(at + 8, "student", 10, uid, "confused", ("pressed I'm confused",)),
        TimelineRow(at + 60, "press", 10, uid, "withdrawn"),
        TimelineRow(at + 80, "student", 10, uid, "engaged"),
    )


def _course(scope: Scope = ALL, rules: BehindSettings | None = None) -> dict[str, Any]:
    lessons = [
        _lesson(
            5,
            1000,
            {1: 20, 2: 20, 3: 20},
            {1: 0, 2: 1, 3: 0},
            (1, 2),
            timeline=_pressed(2, 1100),
            scope=scope,
        ),
        _lesson(6, 9000, {1: 20, 2: 3}, {1: 0, 2: 1}, timeline=_pressed(2, 9100), scope=scope),
        _lesson(7, 20000, {1: 20}, {1: 1}, scope=scope),
        _lesson(8, 30000, {}, {}, scope=scope),
    ]
    scheduled = build_lesson_report(
        session_id=9, title="later", events=[], people=PEOPLE, now=40000, scope=scope
    )
    report = build_course_report(
        course_id=3,
        title="Physics",
        people=PEOPLE,
        lessons=[lessons[2], scheduled, *lessons[:2], lessons[3]],
        sites=SITES,
        scope=scope,
        rules=rules or BehindSettings(),
    )
    return report.as_dict()


def _rows(course: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["user_id"]: row for row in course["students"]}


def test_lessons_in_order_and_cells_per_student() -> None:
    course = _course()
    assert [lesson["session_id"] for lesson in course["lessons"]] == [5, 6, 7, 8]
    assert [lesson["activities"] for lesson in course["lessons"]] == [1, 1, 1, 1]  # anonymous out
    ada = _rows(course)[1]
    assert [c["minutes"] for c in ada["lessons"]] == [20.0, 20.0, 20.0, 0.0]
    assert [c["answered"] for c in ada["lessons"]] == [1, 1, 1, 0]
    assert [c["correct"] for c in ada["lessons"]] == [1, 1, 0, 0]
    assert ada["totals"]["minutes"] == 60.0 and ada["totals"]["correct"] == 2
    bo = _rows(course)[2]
    assert [c["confused_episodes"] for c in bo["lessons"]] == [1, 1, 0, 0]
    assert [c["pressed_confused"] for c in bo["lessons"]] == [1, 1, 0, 0]


def test_falling_behind_reasons() -> None:
    rows = _rows(_course())
    # The last 3 lessons (6, 7, 8): Ada missed only lesson 8 and answered 2 of 3.
    assert rows[1]["falling_behind"] is False and rows[1]["why"] == []
    # Bo: 3 minutes in 6, absent 7 and 8; 0 of 3 answered; pressed confused once in the window.
    assert rows[2]["why"] == ["missed 3 of the last 3 lessons", "answered 1 of 3 activities"]
    assert rows[3]["falling_behind"] is True
    wide = _rows(_course(rules=BehindSettings(window_lessons=4, max_missed=4, min_marked=2)))
    # 2 of 4 answered is not below half; both answers with a key were wrong.
    assert wide[2]["why"] == ["0 of 2 answers correct", 'pressed "I\'m confused" in 2 lessons']


def test_scopes() -> None:
    site = _course(site_scope(10))
    assert set(_rows(site)) == {1, 2}
    own = _course(student_scope(2))
    assert set(_rows(own)) == {2}
    assert _rows(own)[2]["falling_behind"] is None and _rows(own)[2]["why"] is None


def test_csv_rows_one_per_student_and_lesson() -> None:
    lessons = [_lesson(5, 1000, {1: 20}, {1: 0})]
    report = build_course_report(
        course_id=3,
        title="P",
        people=PEOPLE,
        lessons=lessons,
        sites=SITES,
        scope=ALL,
        rules=BehindSettings(),
    )
    rows = list(course_rows(report))
    assert [(r[1], r[5], r[8], r[10], r[12]) for r in rows] == [
        (1, 5, 20.0, 1, 1),
        (2, 5, 0.0, 0, 0),
        (3, 5, 0.0, 0, 0),
    ]
    started = rows[0][COURSE_HEADER.index("started_at")]
    assert started == "1970-01-01T00:16:40+00:00"  # a spreadsheet reads a time, not an epoch


def test_rule_only_uses_its_window_and_bad_settings_are_refused() -> None:
    away = LessonFigures(0.0, 2, 0, 0, 0, 0)
    here = LessonFigures(30.0, 2, 2, 2, 2, 0)
    assert falling_behind([away, away, here, here, here], BehindSettings()) == ()
    with pytest.raises(BadInput):
        BehindSettings(window_lessons=0)
    with pytest.raises(BadInput):
        BehindSettings(min_correct_share=1.5)
