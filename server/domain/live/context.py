"""What a command handler may read (the checked actor, the time, the session's status) and the
permission and state guards shared by every concern."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.domain.errors import BadInput, InvalidState, NotPermitted
from server.domain.events import LEADERS, Audience, Event, to_site_staff
from server.domain.live.limits import Limits
from server.domain.live.roster import Roster
from server.domain.roles import Actor, Role


class SessionStatus(StrEnum):
    """A lesson's life, in order: the one status enum (the ``livesession`` table uses it too,
    as a projection of the session's log)."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"

    @property
    def rank(self) -> int:
        """0, 1, 2 in the order a lesson goes through them."""
        return _ORDER.index(self)


_ORDER = tuple(SessionStatus)
STATUS_AFTER: dict[str, SessionStatus] = {
    "session.started": SessionStatus.LIVE,
    "session.ended": SessionStatus.ENDED,
}
"""The lifecycle events and the status each leaves the session in."""


@dataclass(frozen=True, slots=True)
class Context:
    """One command's surroundings. ``actor`` is the roster's record, not the caller's claim."""

    actor: Actor
    now: float
    status: SessionStatus
    started_at: float | None
    limits: Limits
    roster: Roster

    @property
    def clock(self) -> float:
        """Lesson clock: seconds since the session started (0 before it starts)."""
        if self.started_at is None:
            return 0.0
        return max(0.0, self.now - self.started_at)

    def event(self, type_: str, data: dict[str, Any], audience: Audience) -> Event:
        return Event(type=type_, data=data, audience=audience, at=self.now)

    def require_leader(self, what: str) -> None:
        if not self.actor.leads_session:
            raise NotPermitted(f"only the teacher or an admin may {what}")

    def require_student(self, what: str) -> None:
        if self.actor.role != Role.STUDENT:
            raise NotPermitted(f"only students may {what}")

    def require_live(self) -> None:
        if self.status != SessionStatus.LIVE:
            raise InvalidState(f"the session is {self.status.value}, not live")

    def require_not_ended(self) -> None:
        if self.status == SessionStatus.ENDED:
            raise InvalidState("the session has ended")


def tally_audience(site_id: int | None) -> Audience:
    """Aggregates about one site go to that site's facilitators and the leaders; remote ones
    (site None) to the leaders only."""
    return LEADERS if site_id is None else to_site_staff(site_id)


def check_id(value: object, what: str) -> int:
    """An integer id (not a bool); BadInput otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{what} must be an integer")
    return value


def site_order(rows: dict[int | None, Any]) -> list[tuple[int | None, Any]]:
    """Rows keyed by site, sorted by site id with remote (None) last."""
    return sorted(rows.items(), key=lambda item: (item[0] is None, item[0] or 0))
