"""The hand queue (ordered by raise time) and the stage (who the media layer puts on air).

Entries are a student ("user") or a whole room ("site", raised by its facilitator). Raising an
already raised hand keeps its place (no-op); lowering a lowered one is a no-op too. Bringing
someone on stage takes their hand down (``hand.lowered`` with reason "on_stage"); leaving the
session takes a student's hand down and off stage (reason "left").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, Audience, Event, to_site_staff, to_user_and_staff
from server.domain.live.commands import (
    BringOnStage,
    ClearHands,
    DismissHand,
    LowerHand,
    LowerSiteHand,
    RaiseHand,
    RaiseSiteHand,
    ReturnFromStage,
)
from server.domain.live.context import Context, check_id
from server.domain.live.presence import PresenceBook
from server.domain.roles import Actor, Role

HandCommand = (
    RaiseHand | LowerHand | RaiseSiteHand | LowerSiteHand | DismissHand | ClearHands
    | BringOnStage | ReturnFromStage
)  # fmt: skip

USER, SITE = "user", "site"


@dataclass(frozen=True, slots=True)
class Target:
    """A student (kind "user", with their site) or a room (kind "site", user_id None)."""

    kind: str
    user_id: int | None
    site_id: int | None

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.kind, self.user_id if self.kind == USER else self.site_id)

    def data(self) -> dict[str, Any]:
        return {"kind": self.kind, "user_id": self.user_id, "site_id": self.site_id}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Target:
        return cls(data["kind"], data["user_id"], data["site_id"])


@dataclass(slots=True)
class Entry:
    target: Target
    since: float
    by: int


@dataclass(slots=True)
class HandBook:
    queue: list[Entry] = field(default_factory=list)
    stage: list[Entry] = field(default_factory=list)

    def find(self, entries: list[Entry], target: Target) -> Entry | None:
        return next((e for e in entries if e.target.key == target.key), None)

    def view_for(self, actor: Actor) -> dict[str, Any]:
        """The queue entries ``actor`` may see (see ``hand_audience``), the whole stage (it is
        on air) and the queue's length."""

        def rows(entries: list[Entry]) -> list[dict[str, Any]]:
            return [{**e.target.data(), "since": e.since, "by": e.by} for e in entries]

        mine = [e for e in self.queue if hand_audience(e.target).includes(actor)]
        return {"queue": rows(mine), "stage": rows(self.stage), "queued": len(self.queue)}

    def count_event(self, ctx: Context) -> Event:
        """The derived queue length everyone sees, after a raise, lower or clear."""
        return ctx.event("hand.count", {"queued": len(self.queue)}, EVERYONE)

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "hand.count":
            return  # derived notification, no state
        if event.type == "hand.cleared":
            self.queue.clear()
            return
        target = Target.from_data(data)
        if event.type == "hand.raised":
            self.queue.append(Entry(target, event.at, data["by"]))
        elif event.type == "hand.lowered":
            self.queue = [e for e in self.queue if e.target.key != target.key]
        elif event.type == "stage.joined":
            self.stage.append(Entry(target, event.at, data["by"]))
        elif event.type == "stage.left":
            self.stage = [e for e in self.stage if e.target.key != target.key]

    def clear_all(self) -> None:
        self.queue.clear()
        self.stage.clear()

    def on_leave(self, ctx: Context, user_id: int, site_id: int | None) -> list[Event]:
        """Events that take a departing student's hand down and them off stage."""
        target = Target(USER, user_id, site_id)
        events = []
        if self.find(self.queue, target) is not None:
            events.append(_lowered(ctx, target, "left"))
        if self.find(self.stage, target) is not None:
            events.append(_off_stage(ctx, target, "left"))
        return events


def hand_audience(target: Target) -> Audience:
    """Who sees a raised hand: a student's goes to that student, their site's facilitators and
    the teacher; a room's to its facilitators and the teacher. Everyone else gets the queue's
    length only (``hand.count``)."""
    if target.kind == USER:
        return to_user_and_staff(target.user_id or 0, target.site_id)
    return to_site_staff(target.site_id or 0)


def _lowered(ctx: Context, target: Target, reason: str) -> Event:
    data = {**target.data(), "by": ctx.actor.user_id, "reason": reason}
    return ctx.event("hand.lowered", data, hand_audience(target))


def _off_stage(ctx: Context, target: Target, reason: str) -> Event:
    data = {**target.data(), "by": ctx.actor.user_id, "reason": reason}
    return ctx.event("stage.left", data, EVERYONE)


def _named_target(ctx: Context, user_id: object, site_id: object) -> Target:
    """Exactly one of user_id / site_id, naming a roster user or a roster site."""
    if (user_id is None) == (site_id is None):
        raise BadInput("name exactly one of user_id and site_id")
    if user_id is not None:
        known = ctx.roster.get(check_id(user_id, "user_id"))
        if known is None:
            raise NotFound(f"no participant {user_id}")
        return Target(USER, known.user_id, known.site_id)
    site = check_id(site_id, "site_id")
    if not any(a.site_id == site for a in ctx.roster):
        raise NotFound(f"no site {site} in this session")
    return Target(SITE, None, site)


def decide(
    ctx: Context, book: HandBook, presence: PresenceBook, command: HandCommand
) -> list[Event]:
    ctx.require_live()
    actor = ctx.actor
    by = actor.user_id
    if isinstance(command, RaiseHand | LowerHand):
        ctx.require_student("raise a hand for themself")
        target = Target(USER, actor.user_id, actor.site_id)
    elif isinstance(command, RaiseSiteHand | LowerSiteHand):
        if actor.role != Role.FACILITATOR:
            raise NotPermitted("only a facilitator raises a hand for the room")
        target = Target(SITE, None, actor.site_id)
    elif isinstance(command, ClearHands):
        ctx.require_leader("clear the hand queue")
        return [ctx.event("hand.cleared", {"by": by}, EVERYONE)] if book.queue else []
    else:
        target = _named_target(ctx, command.user_id, command.site_id)
    queued = book.find(book.queue, target) is not None
    if isinstance(command, RaiseHand | RaiseSiteHand):
        if queued:
            return []
        if book.find(book.stage, target) is not None:
            raise InvalidState("already on stage")
        return [ctx.event("hand.raised", {**target.data(), "by": by}, hand_audience(target))]
    if isinstance(command, LowerHand | LowerSiteHand):
        return [_lowered(ctx, target, "lowered")] if queued else []
    if isinstance(command, DismissHand):
        ctx.require_leader("dismiss a hand")
        if not queued:
            raise NotFound("that hand is not raised")
        return [_lowered(ctx, target, "dismissed")]
    on_stage = book.find(book.stage, target) is not None
    if isinstance(command, BringOnStage):
        ctx.require_leader("bring someone on stage")
        if on_stage:
            return []
        if target.kind == USER and not presence.is_present(target.user_id or 0):
            raise InvalidState("that participant is not connected")
        if len(book.stage) >= ctx.limits.max_on_stage:
            raise Conflict(f"the stage is full ({ctx.limits.max_on_stage})")
        events = [_lowered(ctx, target, "on_stage")] if queued else []
        events.append(ctx.event("stage.joined", {**target.data(), "by": by}, EVERYONE))
        return events
    allowed = (
        actor.leads_session
        or (target.kind == USER and target.user_id == actor.user_id)
        or (
            target.kind == SITE
            and actor.role == Role.FACILITATOR
            and target.site_id == actor.site_id
        )
    )
    if not allowed:
        raise NotPermitted("you may only take yourself (or your room) off stage")
    return [_off_stage(ctx, target, "returned")] if on_stage else []
