"""Live captions typed by a captioner (as CART captioners do): the teacher grants the role to a
staff member or a student and can take it back; a captioner (or the teacher) adds captions at
a lesson-clock position; everyone who turns captions on sees them. The captions are stored in
the log and exported as WebVTT for the recording (``server/exports/captions_vtt.py``).

A caption's ``start`` is its lesson-clock position: given (a captioner a little behind the
speaker may back-date a line by up to ``Limits.max_caption_backdate_seconds``) or the lesson
clock now. Captioners are rate limited like chat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, Conflict, NotPermitted, RateLimited
from server.domain.events import EVERYONE, Event, to_user_and_staff
from server.domain.live.commands import AddCaption, GrantCaptioner, RevokeCaptioner
from server.domain.live.context import Context
from server.domain.live.moderation import target_of
from server.domain.roles import Actor
from server.domain.text import visible_text
from server.domain.token_bucket import TokenBucket

CaptionCommand = AddCaption | GrantCaptioner | RevokeCaptioner


@dataclass(frozen=True, slots=True)
class Caption:
    caption_id: int
    start: float
    text: str
    user_id: int

    def view(self) -> dict[str, Any]:
        return {"caption_id": self.caption_id, "start": self.start, "text": self.text}


@dataclass(slots=True)
class CaptionBook:
    captioners: set[int] = field(default_factory=set)
    captions: list[Caption] = field(default_factory=list)
    rates: dict[int, TokenBucket] = field(default_factory=dict, compare=False, repr=False)

    def view_for(self, actor: Actor, recent: int) -> dict[str, Any]:
        return {
            "captioner": actor.user_id in self.captioners,
            "captioners": sorted(self.captioners) if actor.is_staff else [],
            "recent": [c.view() for c in self.captions[-recent:]] if recent else [],
        }

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "caption.granted":
            self.captioners.add(data["user_id"])
        elif event.type == "caption.revoked":
            self.captioners.discard(data["user_id"])
        elif event.type == "caption.added":
            self.captions.append(
                Caption(data["caption_id"], data["start"], data["text"], data["user_id"])
            )


def decide(ctx: Context, book: CaptionBook, command: CaptionCommand) -> list[Event]:
    ctx.require_live()
    actor = ctx.actor
    if isinstance(command, GrantCaptioner | RevokeCaptioner):
        ctx.require_leader("grant or take back the captioner role")
        target = target_of(ctx, command.user_id)
        granting = isinstance(command, GrantCaptioner)
        if (target.user_id in book.captioners) == granting:
            return []
        data = {"user_id": target.user_id, "by": actor.user_id}
        audience = to_user_and_staff(target.user_id, target.site_id)
        return [ctx.event("caption.granted" if granting else "caption.revoked", data, audience)]
    if not actor.leads_session and actor.user_id not in book.captioners:
        raise NotPermitted("only a captioner (granted by the teacher) may add captions")
    limits = ctx.limits
    text = visible_text(command.text, limits.max_caption_length, "the caption")
    start = _position(ctx, command.position)
    if len(book.captions) >= limits.max_captions:
        raise Conflict("this lesson has reached its number of captions")
    bucket = book.rates.get(actor.user_id)
    if bucket is None:
        bucket = book.rates[actor.user_id] = TokenBucket(
            limits.caption_rate_per_second, limits.caption_burst
        )
    if not bucket.spend(ctx.now):
        raise RateLimited("too many captions at once: send a line at a time")
    caption_id = len(book.captions) + 1
    added: dict[str, Any] = {
        "caption_id": caption_id, "user_id": actor.user_id, "start": start, "text": text,
    }  # fmt: skip
    return [ctx.event("caption.added", added, EVERYONE)]


def _position(ctx: Context, position: object) -> float:
    """The lesson-clock second a caption starts at: now, or a little earlier if given."""
    now = round(ctx.clock, 3)
    if position is None:
        return now
    if isinstance(position, bool) or not isinstance(position, int | float):
        raise BadInput("position must be a number of seconds on the lesson clock")
    if not math.isfinite(position) or position < 0:
        raise BadInput("position must be a finite, non-negative number of seconds")
    if position > now + 5.0:  # a page's clock may run a little ahead of the server's
        raise BadInput("a caption cannot start in the future")
    if position < now - ctx.limits.max_caption_backdate_seconds:
        raise BadInput(
            f"a caption may start at most {ctx.limits.max_caption_backdate_seconds:g} seconds ago"
        )
    return round(min(float(position), now), 3)
