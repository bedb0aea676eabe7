"""The lesson report: a pure projection of one session's event log and engagement timeline,
cut to a scope (everyone, one site's students, or one student).

Who sees what follows the live session: staff never see who answered an anonymous poll (only
its totals); a student sees only their own rows, and whether their poll answer was right only
once the teacher revealed that poll; alerts are for staff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from server.domain.events import Event
from server.domain.reports.activities import Activity, StudentAnswer, activities
from server.domain.reports.attendance import Attendance, attendance
from server.domain.reports.chat import ChatEntry, chat
from server.domain.reports.clock import LessonWindow
from server.domain.reports.episodes import AlertMark, Episode, alerts, episodes
from server.domain.reports.inputs import ALL, Person, Scope, TimelineRow
from server.domain.reports.qna import QnaEntry, qna


@dataclass(frozen=True, slots=True)
class ActivityRows:
    activity: Activity
    answers: list[StudentAnswer]
    """The scope's answers that may be shown (none for staff on an anonymous poll)."""
    totals: dict[str, int | None]

    def as_dict(self) -> dict[str, Any]:
        a = self.activity
        return {
            "key": a.key,
            "kind": a.kind,
            "activity_id": a.activity_id,
            "prompt": a.prompt,
            "answer_kind": a.answer_kind,
            "options": list(a.options),
            "at_s": a.at_s,
            "anonymous": a.anonymous,
            "totals": self.totals,
            "answers": [x.as_dict() for x in self.answers],
        }


@dataclass(frozen=True, slots=True)
class LessonReport:
    session_id: int
    title: str
    window: LessonWindow
    scope: Scope
    sites: dict[int, str]
    students: list[Person]
    attendance: list[Attendance]
    activities: list[ActivityRows]
    episodes: list[Episode]
    alerts: list[AlertMark]
    qna: list[QnaEntry]
    chat: list[ChatEntry] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        w = self.window
        people = {p.user_id: p for p in self.students}
        own = self.scope.user_id if self.scope.kind == "student" else None
        return {
            "session": {
                "session_id": self.session_id,
                "title": self.title,
                "started_at": w.started_at,
                "ended_at": w.ended_at,
                "ended": w.ended_at is not None,
                "seconds": round(w.seconds, 1),
            },
            "scope": self.scope.as_dict(),
            "sites": [{"site_id": s, "name": n} for s, n in sorted(self.sites.items())],
            "students": [
                {"user_id": p.user_id, "name": p.name, "site_id": p.site_id} for p in self.students
            ],
            "attendance": [
                {
                    **row.as_dict(),
                    "name": people[row.user_id].name,
                    "site_id": people[row.user_id].site_id,
                }
                for row in self.attendance
            ],
            "activities": [a.as_dict() for a in self.activities],
            "episodes": [e.as_dict() for e in self.episodes],
            "alerts": [a.as_dict() for a in self.alerts],
            "qna": [q.as_dict(with_asker=own is None or q.user_id == own) for q in self.qna],
            "chat": [c.as_dict() for c in self.chat],
        }


def _students(
    people: Iterable[Person], rows: Mapping[int, Attendance], events: Sequence[Event]
) -> dict[int, Person]:
    """The course's students, plus any other student the log shows (by their last site)."""
    known = {p.user_id: p for p in people}
    seen_site: dict[int, int | None] = {}
    for event in events:
        if event.type == "presence.joined" and event.data.get("role") == "student":
            seen_site[event.data["user_id"]] = event.data["site_id"]
    for user_id in rows:
        if user_id not in known:
            site = seen_site.get(user_id)
            known[user_id] = Person(user_id, f"Student {user_id}", site)
    return known


def _activity_rows(act: Activity, kept: set[int], scope: Scope) -> ActivityRows:
    answers = [a for uid, a in sorted(act.answers.items()) if uid in kept]
    marked = act.spec is not None and act.spec.correct is not None
    totals: dict[str, int | None] = {
        "answered": len(answers),
        "correct": sum(1 for a in answers if a.correct) if marked else None,
        "live": sum(1 for a in answers if not a.catch_up),
        "catch_up": sum(1 for a in answers if a.catch_up),
    }
    if act.kind == "check":
        totals["yes"] = sum(1 for a in answers if a.value is True)
    student = scope.kind == "student"
    if act.anonymous and not student:
        answers = []
    elif student and act.kind == "poll" and not act.revealed:
        answers = [replace(a, correct=None) for a in answers]
        totals["correct"] = None
    return ActivityRows(act, answers, totals)


def build_lesson_report(
    *,
    session_id: int,
    title: str,
    events: Sequence[Event],
    people: Iterable[Person],
    timeline: Iterable[TimelineRow] = (),
    sites: Mapping[int, str] | None = None,
    now: float,
    scope: Scope = ALL,
) -> LessonReport:
    """``events`` in log order; ``people`` the course's students; ``now`` closes what is still
    open if the lesson has not ended."""
    people = list(people)
    window = LessonWindow.from_events(events, now)
    rows = attendance(events, window, [p.user_id for p in people])
    students = _students(people, rows, events)
    kept = {u for u, p in students.items() if scope.keeps(u, p.site_id)}
    acts = activities(events, window)
    student = scope.kind == "student"
    timeline = list(timeline)
    return LessonReport(
        session_id=session_id,
        title=title,
        window=window,
        scope=scope,
        sites=dict(sites or {}),
        students=sorted((students[u] for u in kept), key=_person_order),
        attendance=[rows[u] for u in sorted(kept, key=lambda u: _person_order(students[u]))],
        activities=[_activity_rows(a, kept, scope) for a in acts],
        episodes=[e for e in episodes(timeline, window) if e.user_id in kept],
        alerts=[a for a in alerts(timeline, window) if not student and scope.keeps_site(a.site_id)],
        qna=[q for q in qna(events, window) if not (student and q.hidden)],
        chat=chat(events, window, scope, _site_of(scope, students)),
    )


def _site_of(scope: Scope, students: Mapping[int, Person]) -> int | None:
    """A student reader's site (for the site chat they saw)."""
    person = students.get(scope.user_id or 0) if scope.kind == "student" else None
    return None if person is None else person.site_id


def _person_order(person: Person) -> tuple[bool, int, str, int]:
    site = person.site_id
    return (site is None, site or 0, person.name.casefold(), person.user_id)
