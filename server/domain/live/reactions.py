"""Reactions (thumbs up, clap...): a fixed allowed set and a per-person cooldown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, Conflict
from server.domain.events import EVERYONE, LEADERS, Event
from server.domain.live.commands import SendReaction
from server.domain.live.context import Context


@dataclass(slots=True)
class ReactionBook:
    last_at: dict[int, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {"counts": dict(sorted(self.counts.items()))}

    def apply(self, event: Event) -> None:
        if event.type == "reaction.sent":
            self.last_at[event.data["user_id"]] = event.at
            reaction = event.data["reaction"]
            self.counts[reaction] = self.counts.get(reaction, 0) + 1


def decide(ctx: Context, book: ReactionBook, command: SendReaction) -> list[Event]:
    ctx.require_live()
    actor = ctx.actor
    if not isinstance(command.reaction, str) or command.reaction not in ctx.limits.reactions:
        raise BadInput(f"unknown reaction {command.reaction!r}")
    last = book.last_at.get(actor.user_id)
    if last is not None and ctx.now - last < ctx.limits.reaction_cooldown_seconds:
        raise Conflict("too many reactions; wait a moment")
    data = {"user_id": actor.user_id, "site_id": actor.site_id, "reaction": command.reaction}
    counts = dict(book.counts)
    counts[command.reaction] = counts.get(command.reaction, 0) + 1
    return [
        ctx.event("reaction.sent", data, LEADERS),
        ctx.event("reaction.counts", {"counts": dict(sorted(counts.items()))}, EVERYONE),
    ]
