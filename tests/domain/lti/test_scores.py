"""The lesson score rule for the LMS gradebook (server/domain/lti/scores.py)."""

from __future__ import annotations

from typing import Any

from server.domain.live.answers import Spec
from server.domain.lti.scores import Score, lesson_scores
from server.domain.reports.activities import Activity, StudentAnswer


def _spec(correct: Any) -> Spec:
    return Spec.from_data({"kind": "single", "prompt": "?", "options": ["a", "b"],
                           "correct": correct, "min_value": None, "max_value": None,
                           "tolerance": 0.0, "max_length": 0})  # fmt: skip


def _activity(kind: str, n: int, answers: dict[int, bool | None], *, key: bool = True,
              anonymous: bool = False) -> Activity:  # fmt: skip
    act = Activity(kind, n, "?", "single", ("a", "b"), 0.0, 0.0, anonymous=anonymous,  # type: ignore[arg-type]
                   spec=_spec(1 if key else None))  # fmt: skip
    for uid, right in answers.items():
        act.answers[uid] = StudentAnswer(uid, None, 1, "b", right, None, catch_up=uid == 3)
    return act


def test_right_final_answers_over_the_marked_activities_live_or_catch_up() -> None:
    acts = [
        _activity("question", 1, {1: True, 2: False, 3: True}),  # 3 answered in catch-up
        _activity("poll", 2, {1: True, 2: True}),
        _activity("poll", 3, {1: True, 2: True}, key=False),  # an opinion poll: not marked
        _activity("poll", 4, {1: True}, anonymous=True),  # anonymous: nobody's answer counts
        _activity("check", 5, {1: None, 2: None}, key=False),  # yes/no checks: not marked
    ]
    assert lesson_scores(acts, [1, 2, 3, 4]) == {
        1: Score(2, 2),
        2: Score(1, 2),
        3: Score(1, 2),
        4: Score(0, 2),  # answered nothing
    }


def test_a_lesson_without_marked_activities_has_no_score() -> None:
    acts = [_activity("poll", 1, {1: True}, key=False), _activity("check", 2, {1: None}, key=False)]
    assert lesson_scores(acts, [1]) == {}
