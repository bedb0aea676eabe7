"""Q&A of a lesson from the ``qna.*`` events: each question, its votes, answered or hidden."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.domain.events import Event
from server.domain.reports.clock import LessonWindow


@dataclass(slots=True)
class QnaEntry:
    qna_id: int
    user_id: int
    site_id: int | None
    text: str
    at_s: float | None
    voters: set[int] = field(default_factory=set)
    answered: bool = False
    hidden: bool = False

    def as_dict(self, *, with_asker: bool) -> dict[str, Any]:
        return {
            "qna_id": self.qna_id,
            "user_id": self.user_id if with_asker else None,
            "site_id": self.site_id if with_asker else None,
            "text": self.text,
            "at_s": self.at_s,
            "votes": len(self.voters),
            "answered": self.answered,
            "hidden": self.hidden,
        }


def qna(events: Sequence[Event], window: LessonWindow) -> list[QnaEntry]:
    items: dict[int, QnaEntry] = {}
    for event in events:
        data = event.data
        if event.type == "qna.asked":
            items[data["qna_id"]] = QnaEntry(
                data["qna_id"],
                data["user_id"],
                data["site_id"],
                data["text"],
                window.clock(event.at),
            )
            continue
        item = items.get(data.get("qna_id", -1)) if event.type.startswith("qna.") else None
        if item is None:
            continue
        if event.type == "qna.voted":
            item.voters.add(data["user_id"])
        elif event.type == "qna.unvoted":
            item.voters.discard(data["user_id"])
        elif event.type == "qna.answered":
            item.answered = True
        elif event.type == "qna.hidden":
            item.hidden = True
    return sorted(items.values(), key=lambda i: i.qna_id)
