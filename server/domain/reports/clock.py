"""The lesson's live window, read from the log, and the lesson clock (seconds since start)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.domain.events import Event


@dataclass(frozen=True, slots=True)
class LessonWindow:
    started_at: float | None
    ended_at: float | None
    now: float

    @classmethod
    def from_events(cls, events: Sequence[Event], now: float) -> LessonWindow:
        started = ended = None
        for event in events:
            if event.type == "session.started" and started is None:
                started = event.at
            elif event.type == "session.ended":
                ended = event.at
        return cls(started, ended, now)

    @property
    def end(self) -> float:
        """When presence stops counting: the end of the session, or now while it runs."""
        return self.ended_at if self.ended_at is not None else self.now

    @property
    def seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        return max(0.0, self.end - self.started_at)

    def clock(self, at: float) -> float | None:
        """Seconds since the start (0 before it); None if the lesson never started."""
        if self.started_at is None:
            return None
        return round(max(0.0, at - self.started_at), 3)
