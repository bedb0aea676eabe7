"""The ``media.*`` message family: shapes (checked by msgspec) and the frames the server sends.

Client -> server (the usual envelope ``{"type", "id", "data"}``; every request is answered by
an ``error`` frame with its id, or by its reply frame (if it has one) followed by an ``ack``
with ``seq: null`` — media signalling is not logged):

- ``media.publish {sdp, track_labels?: {mid: label}}`` -> ``media.publish.answer``
- ``media.unpublish {}`` -> ack
- ``media.subscribe {mode?: full|audio_only|audio_slides, publishers?: [id, ...]}``
  -> ``media.subscribe.offer``
- ``media.subscribe.answer {sdp}`` -> ack
- ``media.unsubscribe {}`` -> ack
- ``media.ice {leg: publish|subscribe, candidate, sdpMid?, sdpMLineIndex?}`` -> ack
  (a trickled browser candidate; "" = end of candidates)
- ``media.mode {mode}`` -> ack (no renegotiation)
- ``media.bitrate {publisher?: id (default "teacher"), bps: int|null}`` -> ack (leaders)
- ``media.report {leg, bitrate_bps?, rtt_ms?, loss?, jitter_ms?, frames_decoded?, freezes?}``
  -> ack (the client's getStats summary, used for connection quality)

Server -> client (no ``seq``; reply frames echo the request ``id``):

- ``media.publish.answer {sdp, publisher}``
- ``media.subscribe.offer {sdp, slots, mode, renegotiation}``: slot i is mid "i", named
  ``"<publisher>/<label>"`` or ``"stage:<label>"``. With ``renegotiation: true`` (no id) the
  server replaced the subscription itself: answer it with ``media.subscribe.answer``.
- ``media.tracks {live: ["teacher/camera", ...], stage: publisher|null}`` to everyone when a
  published track comes or goes or the stage changes.
- ``media.closed {leg, reason}``: to one user when a student leaves the stage
  (``publish``, ``off_stage``); to everyone when the session ends (``all``, ``session_ended``).
- ``media.stats {publishers: [...], subscribers: [...]}`` to the leaders, every few seconds.
- ``media.recording {state: started|stopped, name, files?}`` to the leaders: ``name`` is the
  camera + microphone file; ``files`` (on stop) the files written, e.g. also the
  ``<stem>.screen.webm`` screen file.
  A leader who subscribes while a recording runs (a reloaded console) gets ``started`` again.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import msgspec

from server.domain.errors import BadInput
from server.realtime.core import protocol

MAX_SDP_CHARS: Final = 60_000
Leg = Literal["publish", "subscribe"]
Mode = Literal["full", "audio_only", "audio_slides"]


class Publish(msgspec.Struct, forbid_unknown_fields=True):
    sdp: str
    track_labels: dict[str, str] | None = None


class Subscribe(msgspec.Struct, forbid_unknown_fields=True):
    mode: Mode = "full"
    publishers: list[str] | None = None


class SubscribeAnswer(msgspec.Struct, forbid_unknown_fields=True):
    sdp: str


class Ice(msgspec.Struct, forbid_unknown_fields=True):
    leg: Leg
    candidate: str
    sdpMid: str | None = None  # the browser's field names
    sdpMLineIndex: int | None = None


class SetMode(msgspec.Struct, forbid_unknown_fields=True):
    mode: Mode


class Bitrate(msgspec.Struct, forbid_unknown_fields=True):
    bps: int | None
    publisher: str = "teacher"


class Report(msgspec.Struct, forbid_unknown_fields=True):
    leg: Leg
    bitrate_bps: float | None = None
    rtt_ms: float | None = None
    loss: float | None = None  # fraction 0..1
    jitter_ms: float | None = None
    frames_decoded: int | None = None
    freezes: int | None = None


class Empty(msgspec.Struct, forbid_unknown_fields=True):
    pass


MESSAGES: Final[dict[str, type[msgspec.Struct]]] = {
    "media.publish": Publish,
    "media.unpublish": Empty,
    "media.subscribe": Subscribe,
    "media.subscribe.answer": SubscribeAnswer,
    "media.unsubscribe": Empty,
    "media.ice": Ice,
    "media.mode": SetMode,
    "media.bitrate": Bitrate,
    "media.report": Report,
}


def parse(message: protocol.ClientMessage) -> msgspec.Struct:
    """The typed ``data`` of a media message; BadInput naming the problem."""
    cls = MESSAGES.get(message.type)
    if cls is None:
        raise BadInput(f"unknown message type {message.type[:40]!r}")
    try:
        data = msgspec.convert(message.data, cls)
    except msgspec.ValidationError as exc:
        raise BadInput(f"{message.type}: {exc}") from None
    _check(data)
    return data


def _check(data: msgspec.Struct) -> None:
    sdp = getattr(data, "sdp", None)
    if sdp is not None and not 0 < len(sdp) <= MAX_SDP_CHARS:
        raise BadInput(f"sdp must be 1-{MAX_SDP_CHARS} characters")
    if isinstance(data, Subscribe) and data.publishers is not None and len(data.publishers) > 32:
        raise BadInput("at most 32 publishers")
    if isinstance(data, Report):
        for name in ("bitrate_bps", "rtt_ms", "jitter_ms"):
            value = getattr(data, name)
            if value is not None and not (math.isfinite(value) and 0 <= value <= 1e9):
                raise BadInput(f"{name} must be a finite number >= 0")
        if data.loss is not None and not (math.isfinite(data.loss) and 0 <= data.loss <= 1):
            raise BadInput("loss must be a fraction between 0 and 1")
        for name in ("frames_decoded", "freezes"):
            value = getattr(data, name)
            if value is not None and not 0 <= value <= 2**40:
                raise BadInput(f"{name} must be >= 0")


def reply_frame(type_: str, msg_id: str | None, data: dict[str, Any]) -> str:
    return protocol.encode({"type": type_, "id": msg_id, "data": data})
