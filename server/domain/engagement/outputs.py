"""Typed outputs of the engine: explicit signals, state changes, site pulses, alerts and
timeline entries.

Every output has ``as_dict()`` (JSON-safe), ``audiences`` (who may see it, using the shared
fan-out rules of ``server.domain.events``) and ``coalesce_key``: when two outputs with the same
non-None key are queued for a slow client, only the latest needs sending (site pulses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from server.domain.engagement.reasons import Reason
from server.domain.engagement.states import AlertKind, Level, StudentState
from server.domain.events import Audience


def staff_of(site_id: int | None) -> Audience:
    """Facilitators of the site plus the teacher (remote students: the teacher only)."""
    return Audience("site_staff", site_id)


ExplicitCause = Literal["pressed", "withdrawn", "seen", "expired"]


@dataclass(frozen=True, slots=True)
class ExplicitChanged:
    """A student's own explicit signal turned on or off: shown to staff at once, unsmoothed.

    ``signal`` is "confused" (the "I'm confused" button); ``cause`` says what changed it;
    ``by`` is who did (the student, a facilitator on their behalf, the staff member who saw
    it; None on expiry); ``since`` is when the active press was made (None when off).
    """

    user_id: int
    site_id: int | None
    active: bool
    cause: ExplicitCause
    by: int | None
    since: float | None
    at: float
    signal: Literal["confused"] = "confused"

    type = "engagement.explicit"

    @property
    def coalesce_key(self) -> None:
        return None  # every change goes out at once (changes are rate-limited per student)

    @property
    def audiences(self) -> tuple[Audience, ...]:
        # The teacher, the facilitators of the student's site, and the student (whose button
        # follows it); never another student.
        return (staff_of(self.site_id), Audience("user", self.user_id))

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "user_id": self.user_id,
            "site_id": self.site_id,
            "signal": self.signal,
            "active": self.active,
            "cause": self.cause,
            "by": self.by,
            "since": self.since,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class StudentStateChanged:
    """A student's state changed; ``reasons`` say why in plain words."""

    user_id: int
    site_id: int | None
    state: StudentState
    previous: StudentState
    reasons: tuple[Reason, ...]
    at: float

    type = "engagement.student"

    @property
    def coalesce_key(self) -> tuple[str, int] | None:
        return ("engagement.student", self.user_id)

    @property
    def audiences(self) -> tuple[Audience, ...]:
        # Staff of the site, and the student (who sees only their own state).
        return (staff_of(self.site_id), Audience("user", self.user_id))

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "user_id": self.user_id,
            "site_id": self.site_id,
            "state": self.state.value,
            "previous": self.previous.value,
            "reasons": [r.as_dict() for r in self.reasons],
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class SitePulse:
    """A site's aggregate: students per state, colour level, and why (latest wins)."""

    site_id: int | None
    site_name: str
    counts: tuple[tuple[StudentState, int], ...]
    level: Level
    top_state: StudentState | None
    reasons: tuple[str, ...]
    at: float

    type = "engagement.pulse"

    @property
    def coalesce_key(self) -> tuple[str, int | None] | None:
        return ("engagement.pulse", self.site_id)

    @property
    def audiences(self) -> tuple[Audience, ...]:
        return (staff_of(self.site_id),)

    def count(self, state: StudentState) -> int:
        return dict(self.counts).get(state, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "site_id": self.site_id,
            "site_name": self.site_name,
            "counts": {s.value: n for s, n in self.counts},
            "level": self.level.value,
            "top_state": self.top_state.value if self.top_state else None,
            "reasons": list(self.reasons),
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """A notification for the teacher (and the site's facilitators), saying why in plain words."""

    id: int
    site_id: int | None
    state: AlertKind
    text: str
    reasons: tuple[str, ...]
    at: float

    type = "engagement.alert"

    @property
    def coalesce_key(self) -> None:
        return None

    @property
    def audiences(self) -> tuple[Audience, ...]:
        return (staff_of(self.site_id),)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "site_id": self.site_id,
            "state": self.state.value,
            "text": self.text,
            "reasons": list(self.reasons),
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class AlertHandled:
    """An alert (or a site+state) was acknowledged or snoozed by a staff member."""

    action: Literal["acknowledged", "snoozed"]
    site_id: int | None
    state: AlertKind
    by: int
    at: float
    alert_id: int | None = None
    until: float | None = None

    type = "engagement.alert_handled"

    @property
    def coalesce_key(self) -> None:
        return None

    @property
    def audiences(self) -> tuple[Audience, ...]:
        return (staff_of(self.site_id),)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "action": self.action,
            "site_id": self.site_id,
            "state": self.state.value,
            "by": self.by,
            "at": self.at,
            "alert_id": self.alert_id,
            "until": self.until,
        }


TimelineScope = Literal["student", "site", "alert", "press"]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A record for reports: a student's state change, a site's level change, or an alert event."""

    at: float
    scope: TimelineScope
    site_id: int | None
    value: str
    reasons: tuple[str, ...]
    user_id: int | None = None

    type = "engagement.timeline"

    @property
    def coalesce_key(self) -> None:
        return None

    @property
    def audiences(self) -> tuple[Audience, ...]:
        # Persisted for reports; the gateway need not send these live.
        return ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "at": self.at,
            "scope": self.scope,
            "site_id": self.site_id,
            "user_id": self.user_id,
            "value": self.value,
            "reasons": list(self.reasons),
        }


Output = ExplicitChanged | StudentStateChanged | SitePulse | Alert | AlertHandled | TimelineEntry
