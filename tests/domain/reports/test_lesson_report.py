"""The lesson report projected from a scripted lesson's log: attendance, answers, episodes,
Q&A, scopes, and agreement with what the live session itself computed."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.errors import BadInput
from server.domain.live.commands import AnswerCheck, Join, OpenCheck, StartSession
from server.domain.reports import (
    HEADER,
    Scope,
    build_lesson_report,
    report_rows,
    site_scope,
    student_scope,
)
from tests.domain.reports.lesson_script import (
    PEOPLE,
    S13,
    SITES,
    TEACHER,
    TIMELINE,
    Lesson,
    scripted,
)


def _report(lesson: Lesson, scope: Scope | None = None, now: float = 3000) -> dict[str, Any]:
    report = build_lesson_report(
        session_id=7,
        title="Vectors",
        events=lesson.log,
        people=PEOPLE,
        timeline=TIMELINE,
        sites=SITES,
        now=now,
        scope=scope or Scope(),
    )
    return report.as_dict()


def _attendance(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["user_id"]: row for row in report["attendance"]}


def _activity(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(a for a in report["activities"] if a["key"] == key)


def test_attendance_rejoin_lobby_never_joined_and_students_only() -> None:
    report = _report(scripted())
    rows = _attendance(report)
    assert set(rows) == {11, 12, 13, 14, 15}  # no teacher, no facilitator
    assert report["session"]["seconds"] == 300 and report["session"]["ended"]
    assert rows[11]["intervals"] == [[0, 300]]  # lobby before the start earns nothing
    assert rows[11]["connected_at_end"] and rows[11]["minutes"] == 5.0
    assert rows[12]["intervals"] == [[10, 70], [190, 300]] and rows[12]["joins"] == 2
    assert rows[12]["seconds"] == 170 and rows[12]["minutes"] == 2.8
    assert rows[14]["intervals"] == [[30, 90]] and not rows[14]["connected_at_end"]
    never = rows[15]
    assert never["joins"] == 0 and never["seconds"] == 0 and never["first_join_s"] is None


def test_attendance_agrees_with_the_live_session() -> None:
    lesson = scripted()
    live = lesson.live.attendance(now=3000)
    rows = _attendance(_report(lesson))
    for row in live["students"]:
        assert rows[row["user_id"]]["seconds"] == pytest.approx(row["seconds"])
        assert rows[row["user_id"]]["joins"] == row["joins"]


def test_a_running_lesson_counts_the_connected_to_now() -> None:
    lesson = scripted()
    lesson.log = [e for e in lesson.log if e.type != "session.ended" and e.at < 1300]
    rows = _attendance(_report(lesson, now=1250))
    assert rows[11]["intervals"] == [[0, 240]] and rows[11]["connected_at_end"]


def test_changed_poll_answer_keeps_the_last_with_its_time() -> None:
    poll = _activity(_report(scripted()), "poll-1")
    answers = {a["user_id"]: a for a in poll["answers"]}
    assert answers[11] == {
        "user_id": 11,
        "site_id": 10,
        "value": 1,
        "answer": "velocity",
        "correct": True,
        "seconds": 10.0,
        "catch_up": False,
        "changes": 1,
    }
    assert answers[13]["correct"] is False and answers[13]["answer"] == "mass"
    assert poll["totals"] == {"answered": 2, "correct": 1, "live": 2, "catch_up": 0}
    assert poll["at_s"] == 90


def test_catch_up_answer_is_apart_from_live_ones() -> None:
    lesson = scripted()
    question = _activity(_report(lesson), "question-1")
    answers = {a["user_id"]: a for a in question["answers"]}
    assert answers[11]["seconds"] == 10 and not answers[11]["catch_up"]
    assert answers[14]["catch_up"] and answers[14]["seconds"] is None
    assert answers[13]["correct"] is False and answers[14]["answer"] == "9.8"
    assert question["totals"] == {"answered": 3, "correct": 2, "live": 2, "catch_up": 1}
    live = lesson.live.question_results(1)
    assert live["live_answered"] == 2 and live["catch_up_answered"] == 1
    assert live["total"]["correct"] == question["totals"]["correct"]


def test_totals_agree_with_the_live_results() -> None:
    lesson = scripted()
    report = _report(lesson)
    for key, results in (
        ("poll-1", lesson.live.poll_results(1)),
        ("poll-2", lesson.live.poll_results(2)),
        ("question-1", lesson.live.question_results(1)),
    ):
        totals = _activity(report, key)["totals"]
        assert totals["answered"] == results["total"]["answered"]
        assert totals["correct"] == results["total"]["correct"]
    check = _activity(report, "check-1")
    assert check["totals"]["yes"] == lesson.live.check_results(1)["total"]["yes"] == 1


def test_anonymous_poll_never_names_who_answered_to_staff() -> None:
    lesson = scripted()
    anonymous = _activity(_report(lesson), "poll-2")
    assert anonymous["anonymous"] and anonymous["answers"] == []
    assert anonymous["totals"]["answered"] == 1
    mine = _activity(_report(lesson, student_scope(11)), "poll-2")
    assert [a["answer"] for a in mine["answers"]] == ["good"]


def test_episodes_and_alerts_on_the_lesson_clock() -> None:
    report = _report(scripted())
    assert [(e["user_id"], e["state"], e["start_s"], e["end_s"]) for e in report["episodes"]] == [
        (11, "pressed", 102, 125),  # the student's own press, from the press to "Seen"
        (11, "confused", 110, 140),
        (13, "disengaged", 240, 300),  # never cleared: runs to the end of the lesson
    ]
    assert report["episodes"][1]["reasons"] == ["pressed I'm confused"]
    assert [(a["site_id"], a["at_s"], a["value"]) for a in report["alerts"]] == [
        (10, 115, "confused"),
        (20, 250, "disengaged"),
    ]


def test_site_scope_holds_only_that_sites_rows() -> None:
    report = _report(scripted(), site_scope(10))
    assert set(_attendance(report)) == {11, 12, 15}
    poll = _activity(report, "poll-1")
    assert [a["user_id"] for a in poll["answers"]] == [11]
    assert poll["totals"]["answered"] == 1
    assert [e["user_id"] for e in report["episodes"]] == [11, 11]  # the press, the state
    assert [a["site_id"] for a in report["alerts"]] == [10]


def test_student_scope_sees_only_their_own() -> None:
    report = _report(scripted(), student_scope(13))
    assert set(_attendance(report)) == {13}
    poll = _activity(report, "poll-1")
    # the poll was never revealed: its key stays hidden from students
    assert [(a["user_id"], a["correct"]) for a in poll["answers"]] == [(13, None)]
    assert poll["totals"]["correct"] is None
    question = _activity(report, "question-1")
    assert [(a["user_id"], a["correct"]) for a in question["answers"]] == [(13, False)]
    assert report["alerts"] == [] and [e["user_id"] for e in report["episodes"]] == [13]
    assert [q["text"] for q in report["qna"]] == ["Is =1+1 a formula?"]  # hidden one gone
    assert report["qna"][0]["user_id"] == 13
    other = _report(scripted(), student_scope(11))["qna"]
    assert other[0]["user_id"] is None  # someone else's question: no name


def test_qna_for_staff_with_answered_and_hidden() -> None:
    qna = _report(scripted())["qna"]
    assert [(q["text"], q["answered"], q["hidden"]) for q in qna] == [
        ("Is =1+1 a formula?", True, False),
        ("hide me", False, True),
    ]
    assert qna[0]["at_s"] == 180


def test_a_lesson_that_never_started() -> None:
    report = _report(Lesson())
    assert report["session"]["seconds"] == 0 and report["activities"] == []
    assert all(r["seconds"] == 0 for r in report["attendance"])


def test_table_has_a_row_per_student_and_activity() -> None:
    lesson = scripted()
    report = build_lesson_report(
        session_id=7, title="V", events=lesson.log, people=PEOPLE, sites=SITES, now=3000
    )
    rows = list(report_rows(report))
    assert len(rows) == 5 * 4 and all(len(r) == len(HEADER) for r in rows)
    row = dict(zip(HEADER, rows[0], strict=True))
    assert row["student_id"] == 11 and row["activity"] == "poll-1" and row["answer"] == "velocity"
    assert row["site"] == "North A" and row["minutes_present"] == 5.0
    empty = build_lesson_report(session_id=7, title="V", events=[], people=PEOPLE, now=0)
    assert len(list(report_rows(empty))) == 5


def test_scope_needs_its_target() -> None:
    with pytest.raises(BadInput):
        Scope("site")
    with pytest.raises(BadInput):
        Scope("student")


def test_seconds_to_answer_are_to_a_tenth_in_the_report_and_the_csv() -> None:
    lesson = Lesson()
    lesson.do(TEACHER, Join(), 1000)
    lesson.do(S13, Join(), 1000)
    lesson.do(TEACHER, StartSession(), 1000)
    lesson.do(TEACHER, OpenCheck("Is friction a force?"), 1010)
    lesson.do(S13, AnswerCheck(1, True), 1011.27)
    check = _activity(_report(lesson), "check-1")
    assert [a["seconds"] for a in check["answers"]] == [1.3]
    report = build_lesson_report(
        session_id=7,
        title="Vectors",
        events=lesson.log,
        people=PEOPLE,
        timeline=TIMELINE,
        sites=SITES,
        now=3000,
        scope=Scope(),
    )
    at = HEADER.index("seconds_to_answer")
    assert [row[at] for row in report_rows(report) if row[at] is not None] == [1.3]
