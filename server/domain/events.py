"""Events the domain emits, and the audience each one is for.

Fan-out rules (applied by the gateway, decided here so they are testable without I/O):
- ``everyone``: every participant of the session.
- ``leaders``: the teacher (and an admin standing in).
- ``site``: every participant attending from that site, plus the leaders.
- ``site_staff``: the facilitators of that site, plus the leaders.
- ``user``: one user, plus nobody else.
- ``user_and_staff``: one user (``target``), the facilitators of ``site`` and the leaders
  (a student's hand: they, their site's staff and the teacher see it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from server.domain.roles import Actor, Role

AudienceKind = Literal["everyone", "leaders", "site", "site_staff", "user", "user_and_staff"]


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    target: int | None = None
    site: int | None = None  # user_and_staff only: the site whose facilitators are included

    def includes(self, actor: Actor) -> bool:
        if self.kind == "everyone":
            return True
        if self.kind == "user":
            return actor.user_id == self.target
        if actor.leads_session:
            return True
        if self.kind == "user_and_staff":
            return actor.user_id == self.target or (
                actor.role == Role.FACILITATOR
                and self.site is not None
                and actor.site_id == self.site
            )
        if self.kind == "leaders":
            return False
        if self.kind == "site":
            return actor.site_id == self.target
        # site_staff
        return actor.role == Role.FACILITATOR and actor.site_id == self.target

    def as_dict(self) -> dict[str, Any]:
        if self.site is None:
            return {"kind": self.kind, "target": self.target}
        return {"kind": self.kind, "target": self.target, "site": self.site}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        return cls(kind=data["kind"], target=data.get("target"), site=data.get("site"))


EVERYONE = Audience("everyone")
LEADERS = Audience("leaders")


def to_site_staff(site_id: int) -> Audience:
    return Audience("site_staff", site_id)


def to_user(user_id: int) -> Audience:
    return Audience("user", user_id)


def to_user_and_staff(user_id: int, site_id: int | None) -> Audience:
    return Audience("user_and_staff", user_id, site_id)


@dataclass(frozen=True, slots=True)
class Event:
    """A state change, as stored in the session's event log and sent to an audience.

    ``type`` is a dotted name such as ``poll.opened``; ``data`` holds only JSON-safe values.
    ``at`` is the time (seconds since the epoch) passed in with the command.
    """

    type: str
    data: dict[str, Any]
    audience: Audience = field(default=EVERYONE)
    at: float = 0.0
