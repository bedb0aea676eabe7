"""Attendance of students from ``presence.*`` events: each stint clipped to the live window
(joining the lobby early earns nothing; a student still connected at the end counts to the
end), merged per student. Staff never appear."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.domain.events import Event
from server.domain.reports.clock import LessonWindow
from server.domain.roles import Role


@dataclass(slots=True)
class Attendance:
    user_id: int
    joins: int = 0
    intervals: list[tuple[float, float]] = field(default_factory=list)
    """Lesson-clock seconds (from, to) of each stint inside the live window."""
    connected_at_end: bool = False

    @property
    def seconds(self) -> float:
        return sum(b - a for a, b in self.intervals)

    @property
    def minutes(self) -> float:
        return round(self.seconds / 60.0, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "joins": self.joins,
            "seconds": round(self.seconds, 1),
            "minutes": self.minutes,
            "first_join_s": self.intervals[0][0] if self.intervals else None,
            "last_leave_s": self.intervals[-1][1] if self.intervals else None,
            "intervals": [[a, b] for a, b in self.intervals],
            "connected_at_end": self.connected_at_end,
        }


def _clip(window: LessonWindow, joined: float, left: float) -> tuple[float, float] | None:
    if window.started_at is None:
        return None
    start = max(joined, window.started_at)
    end = min(left, window.end)
    if end <= start:
        return None
    return (round(start - window.started_at, 3), round(end - window.started_at, 3))


def attendance(
    events: Sequence[Event], window: LessonWindow, students: Iterable[int]
) -> dict[int, Attendance]:
    """One row per student: the roster's students (even if they never joined) and any other
    student the log shows joining."""
    rows = {user_id: Attendance(user_id) for user_id in students}
    open_since: dict[int, float] = {}
    for event in events:
        data = event.data
        if event.type == "presence.joined":
            if data.get("role") != Role.STUDENT.value:
                continue
            user_id = data["user_id"]
            rows.setdefault(user_id, Attendance(user_id)).joins += 1
            open_since[user_id] = event.at
        elif event.type == "presence.left" and data["user_id"] in open_since:
            user_id = data["user_id"]
            _add(rows[user_id], _clip(window, open_since.pop(user_id), event.at))
        elif event.type == "session.ended":
            for user_id, since in open_since.items():
                _add(rows[user_id], _clip(window, since, event.at))
                rows[user_id].connected_at_end = True
            open_since.clear()
    for user_id, since in open_since.items():  # the lesson is still running
        _add(rows[user_id], _clip(window, since, window.end))
        rows[user_id].connected_at_end = True
    return rows


def _add(row: Attendance, interval: tuple[float, float] | None) -> None:
    if interval is not None:
        row.intervals.append(interval)
