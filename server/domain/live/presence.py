"""Session lifecycle (scheduled -> live -> ended), who is connected, and attendance.

Attendance counts only time inside the live window: joining the lobby early earns nothing,
and the end of the session closes every open stint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import InvalidState
from server.domain.events import EVERYONE, Audience, Event
from server.domain.live.commands import EndSession, Join, Leave, StartSession
from server.domain.live.context import Context, SessionStatus, site_order, tally_audience
from server.domain.roles import Actor, Role

PresenceCommand = StartSession | EndSession | Join | Leave


@dataclass(slots=True)
class Stint:
    """One connection: from join to leave, from one site (None = remote)."""

    site_id: int | None
    joined_at: float
    left_at: float | None = None


@dataclass(slots=True)
class PresenceBook:
    status: SessionStatus = SessionStatus.SCHEDULED
    started_at: float | None = None
    ended_at: float | None = None
    stints: dict[int, list[Stint]] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    # Kept up to date by ``apply`` so a join costs O(1), not a pass over everyone present.
    present: dict[int, int | None] = field(default_factory=dict)
    # Head counts are of students only: a teacher at home or a facilitator in their room is
    # not one of the class.
    per_site: dict[int | None, int] = field(default_factory=dict)
    students_present: int = 0

    # --- queries ---

    def is_present(self, user_id: int) -> bool:
        return user_id in self.present

    def present_users(self) -> list[int]:
        return sorted(self.present)

    def site_of(self, user_id: int) -> int | None:
        stints = self.stints.get(user_id)
        return stints[-1].site_id if stints else None

    def was_present_at(self, user_id: int, at: float) -> bool:
        """Whether the user was connected at time ``at`` (seconds since the epoch)."""
        return any(
            s.joined_at <= at and (s.left_at is None or at < s.left_at)
            for s in self.stints.get(user_id, ())
        )

    def counts(self) -> dict[str, Any]:
        """Students present, in all and per site (None = at home); staff are not counted."""
        return {
            "students": self.students_present,
            "sites": [{"site_id": s, "students": n} for s, n in site_order(self.per_site) if n],
        }

    def _arrive(self, user_id: int, site_id: int | None) -> None:
        self.present[user_id] = site_id
        if self.roles.get(user_id) == Role.STUDENT.value:
            self.students_present += 1
            self.per_site[site_id] = self.per_site.get(site_id, 0) + 1

    def _depart(self, user_id: int) -> None:
        site_id = self.present.pop(user_id)
        if self.roles.get(user_id) == Role.STUDENT.value:
            self.students_present -= 1
            self.per_site[site_id] -= 1
            if not self.per_site[site_id]:
                del self.per_site[site_id]

    def attendance(self, now: float) -> dict[str, Any]:
        """Seconds inside the live window per student and per site, at time ``now``."""
        window = self._window(now)
        students: list[dict[str, Any]] = []
        sites: dict[int | None, dict[str, Any]] = {}
        for user_id in sorted(self.stints):
            if self.roles.get(user_id) != Role.STUDENT.value:
                continue
            total = 0.0
            for stint in self.stints[user_id]:
                seconds = _overlap(stint, window, now)
                total += seconds
                row = sites.setdefault(stint.site_id, {"seconds": 0.0, "students": set()})
                row["seconds"] += seconds
                if seconds > 0:
                    row["students"].add(user_id)
            students.append(
                {
                    "user_id": user_id,
                    "site_id": self.site_of(user_id),
                    "seconds": total,
                    "joins": len(self.stints[user_id]),
                    "present": self.is_present(user_id),
                }
            )
        return {
            "session_seconds": 0.0 if window is None else max(0.0, window[1] - window[0]),
            "students": students,
            "sites": [
                {"site_id": s, "seconds": row["seconds"], "students": len(row["students"])}
                for s, row in site_order(sites)
            ],
        }

    def _window(self, now: float) -> tuple[float, float] | None:
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else now
        return (self.started_at, end)

    # --- apply ---

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "session.started":
            self.status = SessionStatus.LIVE
            self.started_at = event.at
        elif event.type == "session.ended":
            self.status = SessionStatus.ENDED
            self.ended_at = event.at
            for user_id in list(self.present):
                self.stints[user_id][-1].left_at = event.at
                self._depart(user_id)
        elif event.type == "presence.joined":
            self.roles[data["user_id"]] = data["role"]
            self.stints.setdefault(data["user_id"], []).append(Stint(data["site_id"], event.at))
            self._arrive(data["user_id"], data["site_id"])
        elif event.type == "presence.left":
            self.stints[data["user_id"]][-1].left_at = event.at
            self._depart(data["user_id"])


def _overlap(stint: Stint, window: tuple[float, float] | None, now: float) -> float:
    if window is None:
        return 0.0
    end = stint.left_at if stint.left_at is not None else now
    return max(0.0, min(end, window[1]) - max(stint.joined_at, window[0]))


def decide(ctx: Context, book: PresenceBook, command: PresenceCommand) -> list[Event]:
    actor = ctx.actor
    if isinstance(command, StartSession):
        ctx.require_leader("start the session")
        if ctx.status != SessionStatus.SCHEDULED:
            raise InvalidState(f"the session is already {ctx.status.value}")
        return [ctx.event("session.started", {"by": actor.user_id}, EVERYONE)]
    if isinstance(command, EndSession):
        ctx.require_leader("end the session")
        ctx.require_live()
        return [ctx.event("session.ended", {"by": actor.user_id}, EVERYONE)]
    ctx.require_not_ended()
    if isinstance(command, Join):
        if book.is_present(actor.user_id):
            return []
        data = {"user_id": actor.user_id, "site_id": actor.site_id, "role": actor.role.value}
        return [ctx.event("presence.joined", data, presence_audience(actor))]
    if not book.is_present(actor.user_id):
        return []
    stint = book.stints[actor.user_id][-1]
    left = {
        "user_id": actor.user_id,
        "site_id": stint.site_id,
        "seconds": max(0.0, ctx.now - stint.joined_at),
    }
    return [ctx.event("presence.left", left, presence_audience(actor))]


def presence_audience(actor: Actor) -> Audience:
    """One rule for everyone's comings and goings (joined and left alike): they go to the
    staff of the person's site and the leaders (a teacher or remote student: the leaders only),
    never to students, who get the head counts (``presence.counts``)."""
    return tally_audience(actor.site_id)


def counts_event(ctx: Context, book: PresenceBook) -> Event:
    """The derived head count everyone sees, after a join or leave has been applied."""
    return ctx.event("presence.counts", book.counts(), EVERYONE)
