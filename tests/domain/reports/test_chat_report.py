"""The lesson report's chat: each reader sees only what they could have seen in the lesson."""

from __future__ import annotations

from server.domain.live import LiveAggregate, Roster
from server.domain.live.commands import DeleteChat, Join, SendChat, StartSession
from server.domain.reports import Person, build_lesson_report, site_scope, student_scope
from server.domain.reports.inputs import ALL, Scope
from server.domain.roles import Actor, Role

T0 = 1_700_000_000.0
TEACHER = Actor(1, Role.TEACHER)
A1 = Actor(101, Role.STUDENT, 10, "Ana")
A2 = Actor(102, Role.STUDENT, 10, "Ben")
B1 = Actor(201, Role.STUDENT, 20, "Cy")
PEOPLE = [Person(a.user_id, a.display_name, a.site_id) for a in (A1, A2, B1)]


def lesson() -> list[object]:
    live = LiveAggregate(5, Roster([TEACHER, A1, A2, B1]))
    events = []
    for actor in (TEACHER, A1, A2, B1):
        events += live.handle(actor, Join(), T0 - 5)
    events += live.handle(TEACHER, StartSession(), T0)
    events += live.handle(A1, SendChat("hi all"), T0 + 60)
    events += live.handle(A1, SendChat("site A", "site"), T0 + 61)
    events += live.handle(B1, SendChat("help me", "teacher"), T0 + 62)
    events += live.handle(A2, SendChat("rude"), T0 + 63)
    events += live.handle(TEACHER, DeleteChat(4), T0 + 64)
    return events  # type: ignore[return-value]


def chat_texts(scope: Scope) -> list[tuple[str, bool]]:
    report = build_lesson_report(
        session_id=5,
        title="L",
        events=lesson(),
        people=PEOPLE,
        now=T0 + 100,
        scope=scope,  # type: ignore[arg-type]
    )
    return [(c["text"], c["deleted"]) for c in report.as_dict()["chat"]]


def test_teacher_sees_all_with_deletions_marked() -> None:
    assert chat_texts(ALL) == [
        ("hi all", False), ("site A", False), ("help me", False), ("rude", True),
    ]  # fmt: skip


def test_facilitator_sees_everyone_and_their_site_not_private() -> None:
    assert chat_texts(site_scope(10)) == [("hi all", False), ("site A", False), ("rude", True)]
    assert chat_texts(site_scope(20)) == [("hi all", False), ("rude", True)]


def test_student_sees_what_reached_them_and_no_deleted() -> None:
    assert chat_texts(student_scope(102)) == [("hi all", False), ("site A", False)]
    assert chat_texts(student_scope(201)) == [("hi all", False), ("help me", False)]
    first = build_lesson_report(
        session_id=5,
        title="L",
        events=lesson(),
        people=PEOPLE,
        now=T0 + 100,  # type: ignore[arg-type]
    ).as_dict()["chat"][0]
    assert first["at_s"] == 60 and first["name"] == "Ana"
