"""Confusion and disengagement episodes of each student, and the alerts, placed on the lesson
clock from the engagement timeline's rows (state changes, alerts, acknowledgements, snoozes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from server.domain.reports.clock import LessonWindow
from server.domain.reports.inputs import TimelineRow

EPISODE_STATES = frozenset({"confused", "disengaged"})


@dataclass(frozen=True, slots=True)
class Episode:
    user_id: int
    site_id: int | None
    state: str
    start_s: float
    end_s: float
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "site_id": self.site_id,
            "state": self.state,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "seconds": round(self.end_s - self.start_s, 1),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class AlertMark:
    site_id: int | None
    at_s: float
    value: str
    """The alert's kind ("confused", "help", ...), or "<kind> acknowledged" / "snoozed"."""
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"site_id": self.site_id, "at_s": self.at_s, "value": self.value, "text": self.text}


def episodes(rows: Iterable[TimelineRow], window: LessonWindow) -> list[Episode]:
    """A student's episode runs from entering a state to the next change of state (or the end
    of the lesson). Rows outside the live window are clipped to it."""
    if window.started_at is None:
        return []
    base = window.started_at
    out: list[Episode] = []
    current: dict[int, tuple[str, float, int | None, tuple[str, ...]]] = {}
    students = sorted(
        (r for r in rows if r.scope == "student" and r.user_id is not None), key=lambda r: r.at
    )
    for row in students:
        assert row.user_id is not None
        before = current.pop(row.user_id, None)
        if before is not None:
            out.append(_close(row.user_id, before, row.at, base, window.end))
        if row.value in EPISODE_STATES:
            current[row.user_id] = (row.value, row.at, row.site_id, row.reasons)
    for user_id, before in current.items():
        out.append(_close(user_id, before, window.end, base, window.end))
    kept = [e for e in out if e.end_s > e.start_s]
    return sorted(kept, key=lambda e: (e.start_s, e.user_id))


def _close(
    user_id: int,
    open_: tuple[str, float, int | None, tuple[str, ...]],
    at: float,
    base: float,
    end: float,
) -> Episode:
    state, since, site_id, reasons = open_
    start = round(max(0.0, min(since, end) - base), 3)
    stop = round(max(0.0, min(at, end) - base), 3)
    return Episode(user_id, site_id, state, start, stop, reasons)


def alerts(rows: Iterable[TimelineRow], window: LessonWindow) -> list[AlertMark]:
    marks = [
        AlertMark(r.site_id, window.clock(r.at) or 0.0, r.value, r.reasons[0] if r.reasons else "")
        for r in rows
        if r.scope == "alert"
    ]
    return sorted(marks, key=lambda m: m.at_s)
