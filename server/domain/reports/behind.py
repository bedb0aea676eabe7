"""The "falling behind" rule: a plain flag from attendance, answers and the student's own
"I'm confused" presses over their last few lessons. No inferred state (no disengagement, no
emotion) takes part; each reason is given in words. Thresholds are ``BehindSettings``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

from server.domain.errors import BadInput


@dataclass(frozen=True, slots=True)
class BehindSettings:
    """Thresholds of the falling-behind rule (HYFLEX_TRENDS__<FIELD>, docs/reports.md)."""

    window_lessons: int = 3
    """The rule looks at the course's last this-many lessons that started."""
    min_minutes: float = 5.0
    """A student present fewer minutes than this in a lesson missed it."""
    max_missed: int = 2
    """Missing this many lessons of the window raises the flag."""
    min_answered_share: float = 0.5
    """Answering a smaller share than this of the window's activities raises the flag ..."""
    min_activities: int = 3
    """... once the window had at least this many activities (anonymous polls not counted)."""
    min_correct_share: float = 0.5
    """A smaller share of correct answers than this, among answers with a key, raises it ..."""
    min_marked: int = 3
    """... once the student gave at least this many answers that have a key."""
    max_pressed_lessons: int = 2
    """Pressing "I'm confused" in this many lessons of the window raises the flag."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0:
                raise BadInput(f"trends setting {f.name} must be a finite number >= 0")
        if self.window_lessons < 1 or self.max_missed < 1 or self.max_pressed_lessons < 1:
            raise BadInput("window_lessons, max_missed and max_pressed_lessons must be >= 1")
        if self.min_answered_share > 1 or self.min_correct_share > 1:
            raise BadInput("min_answered_share and min_correct_share must be <= 1")


@dataclass(frozen=True, slots=True)
class LessonFigures:
    """One student's explicit figures in one lesson (the inputs of the rule)."""

    minutes: float
    activities: int
    answered: int
    marked: int
    correct: int
    pressed_confused: int


def falling_behind(figures: Sequence[LessonFigures], rules: BehindSettings) -> tuple[str, ...]:
    """The reasons a student is falling behind (empty: they are not), from their figures in the
    course's lessons, oldest first; only the last ``window_lessons`` count."""
    window = list(figures)[-rules.window_lessons :]
    reasons: list[str] = []
    missed = sum(1 for f in window if f.minutes < rules.min_minutes)
    if missed >= rules.max_missed:
        reasons.append(f"missed {missed} of the last {len(window)} lessons")
    activities = sum(f.activities for f in window)
    answered = sum(f.answered for f in window)
    if activities >= max(1, rules.min_activities) and answered < rules.min_answered_share * (
        activities
    ):
        reasons.append(f"answered {answered} of {activities} activities")
    marked = sum(f.marked for f in window)
    correct = sum(f.correct for f in window)
    if marked >= max(1, rules.min_marked) and correct < rules.min_correct_share * marked:
        reasons.append(f"{correct} of {marked} answers correct")
    pressed = sum(1 for f in window if f.pressed_confused)
    if pressed >= rules.max_pressed_lessons:
        reasons.append(f'pressed "I\'m confused" in {pressed} lessons')
    return tuple(reasons)
