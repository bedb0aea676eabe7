"""A lesson's score per student, for the LMS gradebook (Assignment and Grade Services).

The rule (docs/lms.md): the graded activities are the lesson's polls and embedded questions
that have an answer key and are not anonymous (yes/no checks and opinion polls are not marked).
``maximum`` is their number; ``given`` is how many of them the student's final answer got
right, live or in catch-up. A student who answered nothing scores 0. A lesson without a graded
activity has no score (nothing is posted)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.domain.reports.activities import Activity


@dataclass(frozen=True, slots=True)
class Score:
    given: int
    maximum: int


def graded(activities: Sequence[Activity]) -> list[Activity]:
    return [
        a
        for a in activities
        if a.kind in ("poll", "question")
        and not a.anonymous
        and a.spec is not None
        and a.spec.correct is not None
    ]


def lesson_scores(activities: Sequence[Activity], students: Iterable[int]) -> dict[int, Score]:
    """Each student's score; empty when the lesson has no graded activity."""
    marked = graded(activities)
    if not marked:
        return {}
    right: dict[int, int] = {}
    for activity in marked:
        for answer in activity.answers.values():
            if answer.correct is True:
                right[answer.user_id] = right.get(answer.user_id, 0) + 1
    return {uid: Score(right.get(uid, 0), len(marked)) for uid in students}
