"""The course view: each student's attendance, answers and episodes lesson by lesson, and the
falling-behind flag, projected from the lessons' reports (each already cut to the caller)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server.domain.reports.behind import BehindSettings, LessonFigures, falling_behind
from server.domain.reports.inputs import Person, Scope
from server.domain.reports.lesson import LessonReport

Cell = str | int | float | bool | None

CSV_HEADER = (
    "course_id",
    "student_id",
    "student",
    "site_id",
    "site",
    "session_id",
    "lesson",
    "started_at",
    "minutes_present",
    "activities",
    "answered",
    "with_key",
    "correct",
    "confused_episodes",
    "disengaged_episodes",
    "pressed_confused",
    "falling_behind",
    "why",
)


@dataclass(frozen=True, slots=True)
class LessonHead:
    session_id: int
    title: str
    started_at: float | None
    ended: bool
    activities: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "title": self.title,
            "started_at": self.started_at,
            "ended": self.ended,
            "activities": self.activities,
        }


@dataclass(frozen=True, slots=True)
class LessonCell:
    """One student in one lesson."""

    figures: LessonFigures
    confused: int
    disengaged: int

    def as_dict(self) -> dict[str, Any]:
        f = self.figures
        return {
            "minutes": f.minutes,
            "activities": f.activities,
            "answered": f.answered,
            "with_key": f.marked,
            "correct": f.correct,
            "confused_episodes": self.confused,
            "disengaged_episodes": self.disengaged,
            "pressed_confused": f.pressed_confused,
        }


@dataclass(frozen=True, slots=True)
class CourseRow:
    person: Person
    cells: tuple[LessonCell, ...]
    behind: tuple[str, ...] | None
    """The falling-behind reasons (empty: not behind); None where the caller is the student."""

    def as_dict(self) -> dict[str, Any]:
        cells = [c.as_dict() for c in self.cells]
        totals: dict[str, float] = {}
        for cell in cells:
            for key, value in cell.items():
                totals[key] = totals.get(key, 0) + value
        if "minutes" in totals:
            totals["minutes"] = round(totals["minutes"], 1)
        return {
            "user_id": self.person.user_id,
            "name": self.person.name,
            "site_id": self.person.site_id,
            "lessons": cells,
            "totals": totals,
            "falling_behind": None if self.behind is None else bool(self.behind),
            "why": None if self.behind is None else list(self.behind),
        }


@dataclass(frozen=True, slots=True)
class CourseReport:
    course_id: int
    title: str
    scope: Scope
    sites: dict[int, str]
    lessons: tuple[LessonHead, ...]
    rows: tuple[CourseRow, ...]
    rules: BehindSettings

    def as_dict(self) -> dict[str, Any]:
        return {
            "course": {"course_id": self.course_id, "title": self.title},
            "scope": self.scope.as_dict(),
            "sites": [{"site_id": s, "name": n} for s, n in sorted(self.sites.items())],
            "lessons": [lesson.as_dict() for lesson in self.lessons],
            "students": [row.as_dict() for row in self.rows],
            "rule": {
                "window_lessons": self.rules.window_lessons,
                "min_minutes": self.rules.min_minutes,
                "max_missed": self.rules.max_missed,
                "min_answered_share": self.rules.min_answered_share,
                "min_activities": self.rules.min_activities,
                "min_correct_share": self.rules.min_correct_share,
                "min_marked": self.rules.min_marked,
                "max_pressed_lessons": self.rules.max_pressed_lessons,
            },
        }


def _cells(report: LessonReport) -> dict[int, LessonCell]:
    """Each student's cell of one lesson. Anonymous polls are left out (nobody's answer to them
    is attributed); a correct answer counts only where the report shows correctness."""
    counted = [a for a in report.activities if not a.activity.anonymous]
    figures: dict[int, dict[str, int]] = {
        p.user_id: {"answered": 0, "marked": 0, "correct": 0, "pressed": 0, "c": 0, "d": 0}
        for p in report.students
    }
    for item in counted:
        for answer in item.answers:
            row = figures.get(answer.user_id)
            if row is None:
                continue
            row["answered"] += 1
            if answer.correct is not None:
                row["marked"] += 1
                row["correct"] += int(answer.correct)
    for episode in report.episodes:
        row = figures.get(episode.user_id)
        if row is None:
            continue
        row[{"pressed": "pressed", "confused": "c"}.get(episode.state, "d")] += 1
    minutes = {a.user_id: a.minutes for a in report.attendance}
    return {
        uid: LessonCell(
            LessonFigures(
                minutes.get(uid, 0.0),
                len(counted),
                f["answered"],
                f["marked"],
                f["correct"],
                f["pressed"],
            ),
            f["c"],
            f["d"],
        )
        for uid, f in figures.items()
    }


def _absent(activities: int) -> LessonCell:
    return LessonCell(LessonFigures(0.0, activities, 0, 0, 0, 0), 0, 0)


def build_course_report(
    *,
    course_id: int,
    title: str,
    people: Sequence[Person],
    lessons: Sequence[LessonReport],
    sites: dict[int, str],
    scope: Scope,
    rules: BehindSettings,
) -> CourseReport:
    """``lessons``: the course's lessons, each built with ``scope`` (those that never started are
    left out, the others put in the order they started);
    ``people`` the course's students (rows for the ones ``scope`` keeps)."""
    started = sorted(
        (r for r in lessons if r.window.started_at is not None),
        key=lambda r: (r.window.started_at or 0.0, r.session_id),
    )
    heads = tuple(
        LessonHead(
            r.session_id,
            r.title,
            r.window.started_at,
            r.window.ended_at is not None,
            sum(1 for a in r.activities if not a.activity.anonymous),
        )
        for r in started
    )
    per_lesson = [_cells(r) for r in started]
    known = {p.user_id: p for p in people}
    for report in started:
        for person in report.students:
            known.setdefault(person.user_id, person)
    kept = sorted(
        (p for p in known.values() if scope.keeps(p.user_id, p.site_id)), key=_person_order
    )
    rows = []
    for person in kept:
        cells = tuple(
            cells.get(person.user_id) or _absent(head.activities)
            for cells, head in zip(per_lesson, heads, strict=True)
        )
        behind = None
        if scope.kind != "student":
            behind = falling_behind([c.figures for c in cells], rules)
        rows.append(CourseRow(person, cells, behind))
    return CourseReport(course_id, title, scope, dict(sites), heads, tuple(rows), rules)


def course_rows(report: CourseReport) -> Iterator[tuple[Cell, ...]]:
    """The course view as one table: a row per student and lesson."""
    for row in report.rows:
        p = row.person
        site = report.sites.get(p.site_id, "") if p.site_id is not None else "home"
        flag = None if row.behind is None else bool(row.behind)
        why = None if row.behind is None else "; ".join(row.behind)
        for head, cell in zip(report.lessons, row.cells, strict=True):
            f = cell.figures
            yield (
                report.course_id,
                p.user_id,
                p.name,
                p.site_id,
                site,
                head.session_id,
                head.title,
                _iso(head.started_at),
                f.minutes,
                f.activities,
                f.answered,
                f.marked,
                f.correct,
                cell.confused,
                cell.disengaged,
                f.pressed_confused,
                flag,
                why,
            )


def _person_order(person: Person) -> tuple[bool, int, str, int]:
    site = person.site_id
    return (site is None, site or 0, person.name.casefold(), person.user_id)


def _iso(at: float | None) -> str | None:
    """A time for a spreadsheet: ISO 8601 in UTC to the second (the page shows local time)."""
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
