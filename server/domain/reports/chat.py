"""The chat of a lesson from the ``chat.*`` events, cut by the chat's own visibility rule: a
report shows a reader only the messages they could have seen in the lesson (the teacher all;
a facilitator everyone's and their site's; a student everyone's, their site's and their own
private ones). Deleted messages are listed for staff, marked, and left out for students."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.domain.events import Event
from server.domain.live.chat import chat_audience
from server.domain.reports.clock import LessonWindow
from server.domain.reports.inputs import Scope
from server.domain.roles import Actor, Role


@dataclass(slots=True)
class ChatEntry:
    chat_id: int
    user_id: int
    site_id: int | None
    name: str
    to: str
    text: str
    at_s: float | None
    deleted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "user_id": self.user_id,
            "site_id": self.site_id,
            "name": self.name,
            "to": self.to,
            "text": self.text,
            "at_s": self.at_s,
            "deleted": self.deleted,
        }


def reader_for(scope: Scope, student_site: int | None = None) -> Actor:
    """Who the report is read as: the teacher (all), a facilitator (a site) or the student."""
    if scope.kind == "all":
        return Actor(0, Role.TEACHER)
    if scope.kind == "site":
        return Actor(0, Role.FACILITATOR, scope.site_id)
    return Actor(scope.user_id or 0, Role.STUDENT, student_site)


def chat(
    events: Sequence[Event], window: LessonWindow, scope: Scope, student_site: int | None = None
) -> list[ChatEntry]:
    reader = reader_for(scope, student_site)
    items: dict[int, ChatEntry] = {}
    for event in events:
        data = event.data
        if event.type == "chat.sent":
            audience = chat_audience(data["to"], data["user_id"], data["site_id"])
            if audience.includes(reader):
                items[data["chat_id"]] = ChatEntry(
                    data["chat_id"], data["user_id"], data["site_id"], data.get("name", ""),
                    data["to"], data["text"], window.clock(event.at),
                )  # fmt: skip
        elif event.type == "chat.deleted" and data["chat_id"] in items:
            items[data["chat_id"]].deleted = True
    kept = [i for i in items.values() if reader.is_staff or not i.deleted]
    return sorted(kept, key=lambda i: i.chat_id)
