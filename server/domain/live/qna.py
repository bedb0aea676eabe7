"""Q&A: ask, upvote (once per person: a repeated upvote is an idempotent no-op), unvote,
mark answered, hide.

Who voted is private: ``qna.voted`` / ``qna.unvoted`` go to the voter only, and everyone gets
the new count in ``qna.votes``. Hidden items disappear for students (and are NotFound to
them) but staff still list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import Conflict, NotFound, NotPermitted
from server.domain.events import EVERYONE, Event, to_user
from server.domain.live.commands import QnaAsk, QnaHide, QnaMarkAnswered, QnaUnvote, QnaUpvote
from server.domain.live.context import Context, check_id
from server.domain.roles import Actor, Role
from server.domain.text import visible_text

QnaCommand = QnaAsk | QnaUpvote | QnaUnvote | QnaMarkAnswered | QnaHide


@dataclass(slots=True)
class QnaItem:
    qna_id: int
    user_id: int
    site_id: int | None
    text: str
    asked_at: float
    voters: set[int] = field(default_factory=set)
    answered: bool = False
    hidden: bool = False


@dataclass(slots=True)
class QnaBook:
    items: dict[int, QnaItem] = field(default_factory=dict)

    def get(self, qna_id: object, actor: Actor) -> QnaItem:
        item = self.items.get(check_id(qna_id, "qna_id"))
        if item is None or (item.hidden and not actor.is_staff):
            raise NotFound(f"no question {qna_id} in Q&A")
        return item

    def views_for(self, actor: Actor) -> list[dict[str, Any]]:
        """Most votes first, then oldest; hidden items for staff only."""
        visible = [i for i in self.items.values() if actor.is_staff or not i.hidden]
        visible.sort(key=lambda i: (-len(i.voters), i.asked_at, i.qna_id))
        return [
            {
                "qna_id": i.qna_id,
                "user_id": i.user_id,
                "site_id": i.site_id,
                "text": i.text,
                "asked_at": i.asked_at,
                "votes": len(i.voters),
                "voted": actor.user_id in i.voters,
                "answered": i.answered,
                "hidden": i.hidden,
            }
            for i in visible
        ]

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "qna.asked":
            self.items[data["qna_id"]] = QnaItem(
                data["qna_id"], data["user_id"], data["site_id"], data["text"], event.at
            )
            return
        if event.type == "qna.votes":
            return  # derived notification, no state
        item = self.items[data["qna_id"]]
        if event.type == "qna.voted":
            item.voters.add(data["user_id"])
        elif event.type == "qna.unvoted":
            item.voters.discard(data["user_id"])
        elif event.type == "qna.answered":
            item.answered = True
        elif event.type == "qna.hidden":
            item.hidden = True


def decide(ctx: Context, book: QnaBook, command: QnaCommand) -> list[Event]:
    ctx.require_live()
    actor = ctx.actor
    if isinstance(command, QnaAsk):
        text = visible_text(command.text, ctx.limits.max_qna_text_length, "the question")
        if len(book.items) >= ctx.limits.max_qna_items:
            raise Conflict("the Q&A is full")
        mine = sum(1 for i in book.items.values() if i.user_id == actor.user_id)
        if mine >= ctx.limits.max_qna_per_user:
            raise Conflict(f"at most {ctx.limits.max_qna_per_user} questions per person")
        qna_id = max(book.items, default=0) + 1
        data = {"qna_id": qna_id, "user_id": actor.user_id, "site_id": actor.site_id, "text": text}
        return [ctx.event("qna.asked", data, EVERYONE)]
    item = book.get(command.qna_id, actor)
    if isinstance(command, QnaUpvote | QnaUnvote):
        voting = isinstance(command, QnaUpvote)
        if (actor.user_id in item.voters) == voting:
            return []  # already in the wanted state
        votes = len(item.voters) + (1 if voting else -1)
        fact = {"qna_id": item.qna_id, "user_id": actor.user_id}
        return [
            ctx.event("qna.voted" if voting else "qna.unvoted", fact, to_user(actor.user_id)),
            ctx.event("qna.votes", {"qna_id": item.qna_id, "votes": votes}, EVERYONE),
        ]
    if isinstance(command, QnaMarkAnswered):
        ctx.require_leader("mark questions answered")
        if item.answered:
            return []
        return [ctx.event("qna.answered", {"qna_id": item.qna_id, "by": actor.user_id}, EVERYONE)]
    if not actor.leads_session:
        own_site = actor.role == Role.FACILITATOR and item.site_id == actor.site_id
        if not own_site:
            raise NotPermitted("only the teacher, or the facilitator of the asker's site, may hide")
    if item.hidden:
        return []
    return [ctx.event("qna.hidden", {"qna_id": item.qna_id, "by": actor.user_id}, EVERYONE)]
