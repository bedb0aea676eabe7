"""The lesson report as one table: a row per student and activity, with the student's
attendance repeated on each row (a student with no activity still gets one row)."""

from __future__ import annotations

from collections.abc import Iterator

from server.domain.reports.lesson import LessonReport

Cell = str | int | float | bool | None

HEADER = (
    "session_id",
    "student_id",
    "student",
    "site_id",
    "site",
    "joins",
    "minutes_present",
    "first_join_s",
    "last_leave_s",
    "activity",
    "activity_at_s",
    "prompt",
    "answer",
    "correct",
    "seconds_to_answer",
    "catch_up",
    "changes",
)


def report_rows(report: LessonReport) -> Iterator[tuple[Cell, ...]]:
    presence = {row.user_id: row for row in report.attendance}
    by_user = [{a.user_id: a for a in item.answers} for item in report.activities]
    for person in report.students:
        row = presence[person.user_id]
        first = row.intervals[0][0] if row.intervals else None
        last = row.intervals[-1][1] if row.intervals else None
        site = report.sites.get(person.site_id, "") if person.site_id is not None else "home"
        head: tuple[Cell, ...] = (
            report.session_id,
            person.user_id,
            person.name,
            person.site_id,
            site,
            row.joins,
            row.minutes,
            first,
            last,
        )
        if not report.activities:
            yield head + (None,) * (len(HEADER) - len(head))
        for item, answers in zip(report.activities, by_user, strict=True):
            act = item.activity
            answer = answers.get(person.user_id)
            tail: tuple[Cell, ...] = (act.key, act.at_s, act.prompt)
            if answer is None:
                yield head + tail + (None,) * 5
            else:
                yield (
                    head
                    + tail
                    + (
                        answer.shown,
                        answer.correct,
                        answer.seconds,
                        answer.catch_up,
                        answer.changes,
                    )
                )
