"""Chat: to everyone, to one's own site, or privately to the teacher; moderated by the teacher
(everyone) and by a facilitator (their own site).

Who sees a message is decided here, once, by its audience (``chat_audience``): a message to
everyone goes to everyone; to a site, to the people attending from that site and the leaders;
to the teacher, to its sender and the leaders. The same rule cuts the snapshot (the recent chat
a resuming page gets), the deletions and the lesson report.

Moderation: chat can be turned off for the whole lesson (teacher) or for one site (teacher, or
that site's facilitator); one person's chat can be muted (teacher, or the facilitator of that
person's site); a message can be deleted (teacher; a facilitator for messages sent from their
site). Staff are never muted or silenced by a site being off. Each person's sending is also
rate limited (a token bucket, ``Limits.chat_rate_per_second`` / ``chat_burst``); the buckets
are not state (a replay does not need them) and are left out of state equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from server.domain.errors import BadInput, Conflict, NotFound, NotPermitted, RateLimited
from server.domain.events import EVERYONE, Audience, Event, to_user_and_staff
from server.domain.live.commands import DeleteChat, MuteChat, SendChat, SetChat
from server.domain.live.context import Context, check_id
from server.domain.roles import Actor, Role
from server.domain.text import visible_text
from server.domain.token_bucket import TokenBucket

ChatCommand = SendChat | DeleteChat | SetChat | MuteChat

TO_EVERYONE: Final = "everyone"
TO_SITE: Final = "site"
TO_TEACHER: Final = "teacher"
CHANNELS: Final = (TO_EVERYONE, TO_SITE, TO_TEACHER)


def chat_audience(to: str, user_id: int, site_id: int | None) -> Audience:
    """Who receives a message sent to ``to`` by ``user_id`` attending from ``site_id``."""
    if to == TO_EVERYONE:
        return EVERYONE
    if to == TO_SITE:
        if site_id is None:
            raise BadInput("you are not at a site: send to everyone or to the teacher")
        return Audience("site", site_id)
    if to == TO_TEACHER:
        return to_user_and_staff(user_id, None)  # the sender and the leaders only
    raise BadInput(f"to must be one of {', '.join(CHANNELS)}")


@dataclass(slots=True)
class ChatMessage:
    chat_id: int
    user_id: int
    site_id: int | None
    name: str
    to: str
    text: str
    at: float
    deleted: bool = False

    @property
    def audience(self) -> Audience:
        return chat_audience(self.to, self.user_id, self.site_id)

    def visible_to(self, actor: Actor) -> bool:
        return self.audience.includes(actor)

    def view(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "user_id": self.user_id,
            "site_id": self.site_id,
            "name": self.name,
            "to": self.to,
            "text": self.text,
            "at": self.at,
        }


@dataclass(slots=True)
class ChatBook:
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    enabled: bool = True
    sites_off: set[int] = field(default_factory=set)
    muted: set[int] = field(default_factory=set)
    rates: dict[int, TokenBucket] = field(default_factory=dict, compare=False, repr=False)

    def recent_for(self, actor: Actor, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` undeleted messages ``actor`` may see, oldest first."""
        out: list[dict[str, Any]] = []
        for chat_id in sorted(self.messages, reverse=True):
            message = self.messages[chat_id]
            if not message.deleted and message.visible_to(actor):
                out.append(message.view())
                if len(out) >= limit:
                    break
        out.reverse()
        return out

    def view_for(self, actor: Actor, limit: int) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "sites_off": sorted(self.sites_off),
            "muted": actor.user_id in self.muted,
            "muted_users": sorted(self.muted) if actor.is_staff else [],
            "messages": self.recent_for(actor, limit),
        }

    def can_post(self, actor: Actor) -> str | None:
        """Why ``actor`` may not post now (None: they may). Staff are never silenced."""
        if actor.is_staff:
            return None
        if not self.enabled:
            return "the teacher has turned chat off"
        if actor.site_id is not None and actor.site_id in self.sites_off:
            return "chat is off for your site"
        if actor.user_id in self.muted:
            return "your chat is muted"
        return None

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "chat.sent":
            self.messages[data["chat_id"]] = ChatMessage(
                data["chat_id"], data["user_id"], data["site_id"], data.get("name", ""),
                data["to"], data["text"], event.at,
            )  # fmt: skip
        elif event.type == "chat.deleted":
            message = self.messages.get(data["chat_id"])
            if message is not None:
                message.deleted = True
        elif event.type == "chat.toggled":
            site = data["site_id"]
            if site is None:
                self.enabled = data["enabled"]
            elif data["enabled"]:
                self.sites_off.discard(site)
            else:
                self.sites_off.add(site)
        elif event.type == "chat.muted":
            if data["muted"]:
                self.muted.add(data["user_id"])
            else:
                self.muted.discard(data["user_id"])


def decide(ctx: Context, book: ChatBook, command: ChatCommand) -> list[Event]:
    ctx.require_live()
    if isinstance(command, SendChat):
        return _send(ctx, book, command)
    if isinstance(command, DeleteChat):
        return _delete(ctx, book, command)
    if isinstance(command, SetChat):
        return _toggle(ctx, book, command)
    return _mute(ctx, book, command)


def _send(ctx: Context, book: ChatBook, command: SendChat) -> list[Event]:
    actor, limits = ctx.actor, ctx.limits
    if not isinstance(command.to, str):
        raise BadInput("to must be text")
    audience = chat_audience(command.to, actor.user_id, actor.site_id)
    text = visible_text(command.text, limits.max_chat_length, "the message")
    why_not = book.can_post(actor)
    if why_not is not None:
        raise NotPermitted(why_not)
    if len(book.messages) >= limits.max_chat_messages:
        raise Conflict("the chat of this lesson is full")
    bucket = book.rates.get(actor.user_id)
    if bucket is None:
        bucket = book.rates[actor.user_id] = TokenBucket(
            limits.chat_rate_per_second, limits.chat_burst
        )
    if not bucket.spend(ctx.now):
        raise RateLimited(
            f"too many chat messages: at most {limits.chat_burst} in a row, then one every "
            f"{1 / limits.chat_rate_per_second:g} seconds"
        )
    chat_id = max(book.messages, default=0) + 1
    data = {
        "chat_id": chat_id,
        "user_id": actor.user_id,
        "site_id": actor.site_id,
        "name": actor.display_name[: limits.max_name_length],
        "to": command.to,
        "text": text,
    }
    return [ctx.event("chat.sent", data, audience)]


def _moderates_site(actor: Actor, site_id: int | None) -> bool:
    """The teacher moderates everything; a facilitator their own site."""
    if actor.leads_session:
        return True
    return actor.role == Role.FACILITATOR and site_id is not None and actor.site_id == site_id


def _delete(ctx: Context, book: ChatBook, command: DeleteChat) -> list[Event]:
    actor = ctx.actor
    message = book.messages.get(check_id(command.chat_id, "chat_id"))
    if message is None or not message.visible_to(actor):
        raise NotFound(f"no chat message {command.chat_id}")
    if not _moderates_site(actor, message.site_id):
        raise NotPermitted("only the teacher, or the facilitator of the sender's site, may delete")
    if message.deleted:
        return []
    data = {"chat_id": message.chat_id, "by": actor.user_id}
    return [ctx.event("chat.deleted", data, message.audience)]


def _toggle(ctx: Context, book: ChatBook, command: SetChat) -> list[Event]:
    actor = ctx.actor
    if not isinstance(command.enabled, bool):
        raise BadInput("enabled must be true or false")
    site = command.site_id
    if site is not None:
        site = check_id(site, "site_id")
    elif actor.role == Role.FACILITATOR:
        site = actor.site_id  # a facilitator's switch is their room's
    if site is None:
        ctx.require_leader("turn chat on or off for the whole lesson")
        if book.enabled == command.enabled:
            return []
    else:
        if not _moderates_site(actor, site):
            raise NotPermitted("a facilitator may turn chat on or off for their own site only")
        if (site not in book.sites_off) == command.enabled:
            return []
    data = {"enabled": command.enabled, "site_id": site, "by": actor.user_id}
    return [ctx.event("chat.toggled", data, EVERYONE)]


def _mute(ctx: Context, book: ChatBook, command: MuteChat) -> list[Event]:
    actor = ctx.actor
    if not isinstance(command.muted, bool):
        raise BadInput("muted must be true or false")
    target = ctx.roster.get(check_id(command.user_id, "user_id"))
    if target is None:
        raise NotFound(f"no participant {command.user_id}")
    if not _moderates_site(actor, target.site_id):
        raise NotPermitted(
            "only the teacher, or the facilitator of that person's site, may mute their chat"
        )
    if target.is_staff:
        raise BadInput("staff chat cannot be muted")
    if (target.user_id in book.muted) == command.muted:
        return []
    data = {"user_id": target.user_id, "muted": command.muted, "by": actor.user_id}
    return [ctx.event("chat.muted", data, to_user_and_staff(target.user_id, target.site_id))]
