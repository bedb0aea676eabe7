"""Active "I'm confused" presses, oldest first: the explicit fact staff see at once.

A press is the student's own word, so it is not smoothed: each change (pressed, withdrawn,
seen, expired) is an ``ExplicitChanged`` at the ``now`` it happens, and a press that changes
nothing (pressed again while active, withdrawn or seen while not) gives nothing. The press also
counts as confused evidence for the smoothed state (``Facts.confused_at``, kept equal to the
time here). Every press lasts the same ``confused_expiry_s``, so keeping presses in press order
finds the expired ones without scanning the class and tells the adapter when to wake.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.domain.engagement.outputs import ExplicitCause, ExplicitChanged
from server.domain.engagement.student import StudentTracker


class ConfusedPresses:
    """User id -> time of the active press, in press order (a new press moves to the end)."""

    __slots__ = ("_since", "expiry_s")

    def __init__(self, expiry_s: float) -> None:
        self.expiry_s = expiry_s
        self._since: dict[int, float] = {}

    def press(self, tracker: StudentTracker, by: int | None, now: float) -> ExplicitChanged | None:
        """Press (again) at ``now``: the expiry counts from now; an output only if it was off."""
        user_id = tracker.user_id
        was = self._since.pop(user_id, None)
        self._since[user_id] = tracker.facts.confused_at = now
        if was is not None:
            return None
        return ExplicitChanged(user_id, tracker.site_id, True, "pressed", by, now, now)

    def clear(
        self, tracker: StudentTracker, cause: ExplicitCause, by: int | None, now: float
    ) -> ExplicitChanged | None:
        """Withdrawn or seen: an output only if a press was active."""
        if self._since.pop(tracker.user_id, None) is None:
            return None
        tracker.facts.confused_at = None
        return ExplicitChanged(tracker.user_id, tracker.site_id, False, cause, by, None, now)

    def expire(self, now: float, students: Mapping[int, StudentTracker]) -> list[ExplicitChanged]:
        """Clear every press whose expiry (press time + ``expiry_s``) is at or before ``now``."""
        due: list[int] = []
        for user_id, since in self._since.items():
            if now < since + self.expiry_s:
                break
            due.append(user_id)
        out: list[ExplicitChanged] = []
        for user_id in due:
            found = self.clear(students[user_id], "expired", None, now)
            if found is not None:
                out.append(found)
        return out

    def forget(self, user_id: int) -> None:
        self._since.pop(user_id, None)

    def next_expiry(self) -> float | None:
        """When the oldest active press expires (None: no press is active)."""
        for since in self._since.values():
            return since + self.expiry_s
        return None

    def active(self) -> list[tuple[int, float]]:
        """(user id, press time) of every active press, oldest first."""
        return list(self._since.items())
