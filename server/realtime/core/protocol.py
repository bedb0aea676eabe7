"""The websocket protocol, version 1: the single source of truth for message names and shapes.

Client -> server, one JSON object per text frame::

    {"type": "<name>", "id": "<idempotency key, optional>", "data": {...}}

``id`` is an idempotency key: unique per user and session (a UUID, say). A message resent
with the same id, even from another connection or after a server restart, is carried out once
and acknowledged with the same ``seq``; the same id with a different command (type or data) is
refused with a ``conflict`` error.

The first message must be ``hello`` (``{"token": str, "last_seq": int | null}``). Command
names map to the live-session domain's command dataclasses (``COMMANDS``); their ``data`` is
the dataclass's fields, type-checked by msgspec. ``ping`` gets ``pong``.

Server -> client:

- ``{"type": "welcome", "protocol": 1, "me": {...}, "last_seq": n, "snapshot": {...}}``
- a logged event: ``{"seq": n, "type": "poll.opened", "data": {...}, "at": t}``
  (``seq`` is per session and gap-free in the log; a participant sees the events of the
  audiences they belong to, so the seqs one client sees may skip);
- a coalesced aggregate (not logged): ``{"type": "poll.tally", "data": {...}, "at": t}``;
- ``{"type": "ack", "id": ..., "seq": first seq or null}`` once a command's events are durable;
- ``{"type": "error", "id": ..., "code": ..., "message": ...}``; the connection stays open;
- ``{"type": "pong", "t": ...}``.

Close codes: 4400 bad hello, 4401 not signed in, 4403 removed from this lesson by the teacher,
4404 no such session for you, 4408 too slow
(resume from your last seq), 4429 too many messages, 1009 message too big.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Final

import msgspec

from server.domain.errors import BadInput
from server.domain.live import commands as c

PROTOCOL_VERSION: Final = 1
CLOSE_REMOVED: Final = 4403
"""The teacher removed this person from the lesson: their sockets close with this code and
their hello is refused with it until the teacher lets them back."""
MAX_ID_LENGTH: Final = 64

COMMANDS: Final[dict[str, type[Any]]] = {
    "session.start": c.StartSession,
    "session.end": c.EndSession,
    "poll.open": c.OpenPoll,
    "poll.answer": c.AnswerPoll,
    "poll.close": c.ClosePoll,
    "poll.reveal": c.RevealPoll,
    "question.prepare": c.PrepareQuestion,
    "question.launch": c.LaunchQuestion,
    "question.show": c.ShowQuestion,
    "question.close": c.CloseQuestion,
    "question.answer": c.AnswerQuestion,
    "qna.ask": c.QnaAsk,
    "qna.upvote": c.QnaUpvote,
    "qna.unvote": c.QnaUnvote,
    "qna.mark_answered": c.QnaMarkAnswered,
    "qna.hide": c.QnaHide,
    "hand.raise": c.RaiseHand,
    "hand.lower": c.LowerHand,
    "hand.raise_site": c.RaiseSiteHand,
    "hand.lower_site": c.LowerSiteHand,
    "hand.dismiss": c.DismissHand,
    "hand.clear": c.ClearHands,
    "stage.bring": c.BringOnStage,
    "stage.return": c.ReturnFromStage,
    "reaction.send": c.SendReaction,
    "check.open": c.OpenCheck,
    "check.answer": c.AnswerCheck,
    "check.close": c.CloseCheck,
    "slides.show": c.ShowSlide,
    "slides.hide": c.HideSlides,
    "chat.send": c.SendChat,
    "chat.delete": c.DeleteChat,
    "chat.set": c.SetChat,
    "chat.mute": c.MuteChat,
    "moderation.ask_mute": c.AskToMute,
    "moderation.remove": c.RemoveParticipant,
    "moderation.allow_back": c.AllowBack,
    "recording.start": c.StartRecording,
    "recording.stop": c.StopRecording,
    "caption.grant": c.GrantCaptioner,
    "caption.revoke": c.RevokeCaptioner,
    "caption.add": c.AddCaption,
}
CONTROL: Final = frozenset({"hello", "ping"})
_FIELDS: Final = {name: frozenset(f.name for f in fields(cls)) for name, cls in COMMANDS.items()}


class ClientMessage(msgspec.Struct, forbid_unknown_fields=True):
    type: str
    id: str | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Hello(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    last_seq: int | None = None


_decoder = msgspec.json.Decoder(ClientMessage)
_encoder = msgspec.json.Encoder()


def parse(raw: str | bytes) -> ClientMessage:
    """Decode one client frame; BadInput with a readable reason when it is not valid."""
    try:
        message = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise BadInput(f"malformed message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadInput(f"not JSON: {exc}") from None
    except RecursionError:  # msgspec's guard against deeply nested arrays and objects
        raise BadInput("malformed message: nested too deeply") from None
    if message.id is not None and not 0 < len(message.id) <= MAX_ID_LENGTH:
        raise BadInput(f"id must be 1-{MAX_ID_LENGTH} characters")
    return message


def to_command(message: ClientMessage) -> Any:
    """The domain command a message names, its fields checked against the dataclass."""
    cls = COMMANDS.get(message.type)
    if cls is None:
        raise BadInput(f"unknown message type {message.type[:40]!r}")
    unknown = set(message.data) - _FIELDS[message.type]
    if unknown:  # e.g. a student slipping in someone else's user_id: say so, never ignore it
        names = ", ".join(sorted(n[:40] for n in unknown)[:5])
        raise BadInput(f"{message.type}: unknown field(s) {names}")
    try:
        return msgspec.convert(message.data, cls)
    except msgspec.ValidationError as exc:
        raise BadInput(f"{message.type}: {exc}") from None


def to_hello(message: ClientMessage) -> Hello:
    if message.type != "hello":
        raise BadInput("the first message must be hello")
    try:
        return msgspec.convert(message.data, Hello)
    except msgspec.ValidationError as exc:
        raise BadInput(f"hello: {exc}") from None


def encode(frame: dict[str, Any]) -> str:
    return _encoder.encode(frame).decode()


def event_frame(seq: int | None, type_: str, data: dict[str, Any], at: float) -> str:
    if seq is None:
        return encode({"type": type_, "data": data, "at": at})
    return encode({"seq": seq, "type": type_, "data": data, "at": at})


def error_frame(code: str, message: str, msg_id: str | None = None) -> str:
    return encode({"type": "error", "id": msg_id, "code": code, "message": message})


def ack_frame(msg_id: str | None, seq: int | None) -> str:
    return encode({"type": "ack", "id": msg_id, "seq": seq})
