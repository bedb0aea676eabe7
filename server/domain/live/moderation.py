"""The teacher's hand on the room: ask someone to mute, remove someone from the lesson (their
link refused until the teacher lets them back), and the participant list staff see.

Removal is event-sourced (``moderation.removed`` / ``moderation.readmitted``), so the list of
removed people survives a restart and a replay; the websocket gateway refuses a removed
person's hello and closes their open sockets. Removing someone also takes their hand down and
them off stage at once (as leaving does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, NotFound, NotPermitted
from server.domain.events import Event, to_user, to_user_and_staff
from server.domain.live.commands import AllowBack, AskToMute, RemoveParticipant
from server.domain.live.context import Context, check_id
from server.domain.roles import Actor, Role

ModerationCommand = AskToMute | RemoveParticipant | AllowBack

REMOVED_MESSAGE = "the teacher removed you from this lesson; ask them to let you back in"


@dataclass(slots=True)
class ModerationBook:
    removed: set[int] = field(default_factory=set)

    def is_removed(self, user_id: int) -> bool:
        return user_id in self.removed

    def apply(self, event: Event) -> None:
        if event.type == "moderation.removed":
            self.removed.add(event.data["user_id"])
        elif event.type == "moderation.readmitted":
            self.removed.discard(event.data["user_id"])

    def view_for(self, actor: Actor, site_of: dict[int, int | None]) -> list[int]:
        """Who is removed, for staff in scope (a facilitator: their site's people)."""
        if actor.leads_session:
            return sorted(self.removed)
        if actor.role == Role.FACILITATOR:
            return sorted(u for u in self.removed if site_of.get(u) == actor.site_id)
        return []


def target_of(ctx: Context, user_id: object) -> Actor:
    """The roster's record of the person a moderation command names (never a leader)."""
    target = ctx.roster.get(check_id(user_id, "user_id"))
    if target is None:
        raise NotFound(f"no participant {user_id}")
    if target.leads_session:
        raise BadInput("the teacher cannot be moderated")
    if target.user_id == ctx.actor.user_id:
        raise BadInput("you cannot moderate yourself")
    return target


def decide(ctx: Context, book: ModerationBook, command: ModerationCommand) -> list[Event]:
    """Events of the command itself; ``LiveAggregate`` adds the hand and stage clean-up."""
    actor = ctx.actor
    if not actor.leads_session:
        raise NotPermitted("only the teacher or an admin may do that")
    target = target_of(ctx, command.user_id)
    if isinstance(command, AskToMute):
        ctx.require_live()
        data: dict[str, Any] = {"user_id": target.user_id, "by": actor.user_id}
        return [ctx.event("moderation.mute_asked", data, to_user(target.user_id))]
    ctx.require_not_ended()
    audience = to_user_and_staff(target.user_id, target.site_id)
    data = {"user_id": target.user_id, "site_id": target.site_id, "by": actor.user_id}
    if isinstance(command, RemoveParticipant):
        if book.is_removed(target.user_id):
            return []
        return [ctx.event("moderation.removed", data, audience)]
    if not book.is_removed(target.user_id):
        return []
    return [ctx.event("moderation.readmitted", data, audience)]
