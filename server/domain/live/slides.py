"""Presenting slides: which page of which uploaded deck everyone sees, and when it changed.

The current page is session state built from ``slides.shown`` / ``slides.hidden``, so a
resuming student and a late joiner get it in their snapshot; each change keeps its lesson-clock
``position``, so the catch-up player shows the page that was on screen at any moment of the
recording. The decks themselves (PDF pages rendered to images) are stored outside the log; the
domain only bounds the ids (a deck the lesson does not have shows as "not available").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, Conflict
from server.domain.events import EVERYONE, Event
from server.domain.live.commands import HideSlides, ShowSlide
from server.domain.live.context import Context, SessionStatus, check_id

SlideCommand = ShowSlide | HideSlides


@dataclass(frozen=True, slots=True)
class SlideChange:
    """From ``position`` (lesson clock, seconds) on, ``deck_id``/``page`` was shown (None:
    nothing was)."""

    position: float
    deck_id: int | None
    page: int | None
    at: float

    def view(self) -> dict[str, Any]:
        return {"position": self.position, "deck_id": self.deck_id, "page": self.page}


@dataclass(slots=True)
class SlideBook:
    changes: list[SlideChange] = field(default_factory=list)

    @property
    def current(self) -> SlideChange | None:
        """The last change, if it shows a page."""
        if not self.changes or self.changes[-1].deck_id is None:
            return None
        return self.changes[-1]

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "slides.shown":
            change = SlideChange(data["position"], data["deck_id"], data["page"], event.at)
        else:
            change = SlideChange(data["position"], None, None, event.at)
        self.changes.append(change)

    def view(self, status: SessionStatus) -> dict[str, Any]:
        """The page shown now; after the lesson also every change (for the catch-up player)."""
        current = self.current
        out: dict[str, Any] = {
            "current": None
            if current is None
            else {"deck_id": current.deck_id, "page": current.page, "since": current.position}
        }
        if status == SessionStatus.ENDED:
            out["history"] = [c.view() for c in self.changes]
        return out

    def at_position(self, position: float) -> SlideChange | None:
        """The change in force at ``position`` of the lesson clock (None: none yet)."""
        found = None
        for change in self.changes:
            if change.position > position:
                break
            found = change
        return found if found is not None and found.deck_id is not None else None


def decide(ctx: Context, book: SlideBook, command: SlideCommand) -> list[Event]:
    ctx.require_leader("present slides")
    ctx.require_not_ended()
    position = round(ctx.clock, 3)
    if isinstance(command, HideSlides):
        if book.current is None:
            return []
        data = {"position": position, "by": ctx.actor.user_id}
        return [ctx.event("slides.hidden", data, EVERYONE)]
    deck_id = check_id(command.deck_id, "deck_id")
    page = check_id(command.page, "page")
    if not 1 <= deck_id <= ctx.limits.max_deck_id:
        raise BadInput("deck_id is out of range")
    if not 1 <= page <= ctx.limits.max_slide_pages:
        raise BadInput(f"page must be between 1 and {ctx.limits.max_slide_pages}")
    current = book.current
    if current is not None and (current.deck_id, current.page) == (deck_id, page):
        return []
    if len(book.changes) >= ctx.limits.max_slide_changes:
        raise Conflict("too many page changes in one lesson")
    data = {"deck_id": deck_id, "page": page, "position": position, "by": ctx.actor.user_id}
    return [ctx.event("slides.shown", data, EVERYONE)]
