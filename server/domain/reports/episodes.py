"""Confusion and disengagement episodes of each student, and the alerts, placed on the lesson
clock from the engagement timeline's rows (state changes, alerts, acknowledgements, snoozes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from server.domain.reports.clock import LessonWindow
from server.domain.reports.inputs import TimelineRow

EPISODE_STATES = frozenset({"confused", "disengaged"})
PRESS_STATES = frozenset({"pressed"})  # the student's own "I'm confused"


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
    of the lesson). Two tracks: the smoothed state ("confused", "disengaged") and the
    student's own "I'm confused" press ("pressed", until withdrawn, seen or expired). Rows
    outside the live window are clipped to it."""
    if window.started_at is None:
        return []
    out: list[Episode] = []
    for scope, opening in (("student", EPISODE_STATES), ("press", PRESS_STATES)):
        track = sorted(
            (r for r in rows if r.scope == scope and r.user_id is not None), key=lambda r: r.at
        )
        out += _track(track, opening, window.started_at, window.end)
    kept = [e for e in out if e.end_s > e.start_s]
    return sorted(kept, key=lambda e: (e.start_s, e.user_id))


def _track(
    rows: list[TimelineRow], opening: frozenset[str], base: float, end: float
) -> list[Episode]:
    out: list[Episode] = []
    current: dict[int, tuple[str, float, int | None, tuple[str, ...]]] = {}
    for row in rows:
        assert row.user_id is not None
        before = current.pop(row.user_id, None)
        if before is not None:
            out.append(_close(row.user_id, before, row.at, base, end))
        if row.value in opening:
            current[row.user_id] = (row.value, row.at, row.site_id, row.reasons)
    for user_id, before in current.items():
        out.append(_close(user_id, before, end, base, end))
    return out


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
