"""Client messages of the ``engagement.*`` family: behaviour and explicit signals, never emotion.

Each is ``{"type": "engagement.<name>", "id": "<key>", "data": {...}}``; unknown fields are
refused. The reply is ``{"type": "ack", "id": ..., "seq": null}`` or a typed error
(``bad_input``, ``rate_limited``, ``not_permitted``, ``not_found``, ``invalid_state``); the
connection and the session go on either way. A message resent with the same id is acknowledged
again and applied once.

Students (about themselves; ``user_id`` defaults to the sender and naming anybody else is
refused as a forged signal):

- ``engagement.confused``  ``{"active": bool = true}``: "I'm confused" pressed / withdrawn.
- ``engagement.attention`` ``{"visible": bool, "focused": bool, "idle_s": float = 0}``: Page
  Visibility, window focus, seconds since the last input. Rate-limited per student
  (``telemetry_rate_per_s``, ``telemetry_burst``): extra messages get ``rate_limited``.
- ``engagement.media``     ``{"loss_fraction": float, "rtt_ms": float, "no_media_s": float,
  "freezes": int}`` (all optional, 0 by default): the client's getStats summary; same limit.
- ``engagement.presence``  ``{"present": bool}``: on-device face presence only; refused
  (``not_permitted``) unless the deployment enables ``face_presence_enabled``.

Staff:

- ``engagement.confused`` ``{"user_id": int, "active": bool}``: on behalf of a student (a
  facilitator: students of their own site only).
- ``engagement.help``  ``{"active": bool = true, "site_id": int = own site}``: a facilitator's
  "site needs help".
- ``engagement.ack``   ``{"alert_id": int}`` or ``{"site_id": int | null, "state": str}``:
  acknowledge an alert (state: confused, disengaged, connection_trouble, help).
- ``engagement.ack_student`` ``{"user_id": int}``: the teacher has seen a student's "I'm
  confused" press; staff of the student's site and the student get ``engagement.explicit``
  (``active: false``, ``cause: "seen"``) before the ack (nothing when no press was active).
- ``engagement.snooze`` ``{"site_id": int | null, "state": str, "minutes": float}`` (0 cancels).

Anyone: ``engagement.sync`` ``{}`` -> one ``engagement.snapshot`` frame with what the sender may
see now: ``{"pulses": [...], "students": [...], "explicit": [...], "alerts": [...]}`` (staff:
pulses, student states, active "I'm confused" presses ``{user_id, site_id, signal, since}`` and
alerts still standing (as ``engagement.alert`` plus ``snoozed_until``) of their sites; a
student: their own state and press only).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from server.domain.engagement import (
    Attention,
    ConfusedPressed,
    FacePresence,
    MediaStats,
    Output,
    SiteNeedsHelp,
)
from server.domain.engagement.visibility import visible_to
from server.domain.errors import BadInput, DomainError, InvalidState
from server.domain.roles import Actor, Role
from server.realtime.core import protocol

if TYPE_CHECKING:  # the bridge calls in here: only its type is needed
    from server.realtime.core.socket_context import SocketContext
    from server.realtime.engagement.bridge import EngagementBridge

log = logging.getLogger(__name__)


class Confused(msgspec.Struct, forbid_unknown_fields=True):
    active: bool = True
    user_id: int | None = None


class AttentionMsg(msgspec.Struct, forbid_unknown_fields=True):
    visible: bool
    focused: bool
    idle_s: float = 0.0
    user_id: int | None = None


class Media(msgspec.Struct, forbid_unknown_fields=True):
    loss_fraction: float = 0.0
    rtt_ms: float = 0.0
    no_media_s: float = 0.0
    freezes: int = 0
    user_id: int | None = None


class Presence(msgspec.Struct, forbid_unknown_fields=True):
    present: bool
    user_id: int | None = None


class Help(msgspec.Struct, forbid_unknown_fields=True):
    active: bool = True
    site_id: int | None = None


class Ack(msgspec.Struct, forbid_unknown_fields=True):
    alert_id: int | None = None
    site_id: int | None = None
    state: str | None = None


class AckStudent(msgspec.Struct, forbid_unknown_fields=True):
    user_id: int


class Snooze(msgspec.Struct, forbid_unknown_fields=True):
    state: str
    minutes: float
    site_id: int | None = None


class Sync(msgspec.Struct, forbid_unknown_fields=True):
    pass


T = TypeVar("T")


def _parse(message: protocol.ClientMessage, cls: type[T]) -> T:
    try:
        return msgspec.convert(message.data, cls)
    except msgspec.ValidationError as exc:
        raise BadInput(f"{message.type}: {exc}") from None


def _me(actor: Actor, user_id: int | None) -> int:
    return actor.user_id if user_id is None else user_id


def _apply(bridge: EngagementBridge, actor: Actor, message: protocol.ClientMessage) -> list[Output]:
    """Run one message through the engine (raising DomainError when refused)."""
    engine = bridge.engine
    now = bridge.clock()
    name = message.type.split(".", 1)[1] if "." in message.type else ""
    if name == "confused":
        c = _parse(message, Confused)
        return engine.ingest(ConfusedPressed(_me(actor, c.user_id), c.active), now, actor)
    if name == "attention":
        a = _parse(message, AttentionMsg)
        signal = Attention(_me(actor, a.user_id), a.visible, a.focused, a.idle_s)
        return engine.ingest(signal, now, actor)
    if name == "media":
        m = _parse(message, Media)
        stats = MediaStats(
            _me(actor, m.user_id), m.loss_fraction, m.rtt_ms, m.no_media_s, m.freezes, "client"
        )
        return engine.ingest(stats, now, actor)
    if name == "presence":
        p = _parse(message, Presence)
        return engine.ingest(FacePresence(_me(actor, p.user_id), p.present), now, actor)
    if name == "help":
        h = _parse(message, Help)
        site = actor.site_id if h.site_id is None else h.site_id
        if site is None:
            raise BadInput("engagement.help: give the site_id")
        return engine.ingest(SiteNeedsHelp(site, h.active), now, actor)
    if name == "ack":
        k = _parse(message, Ack)
        if k.alert_id is not None:
            return engine.acknowledge(actor, k.alert_id, now)
        if k.state is None:
            raise BadInput("engagement.ack: give alert_id, or site_id and state")
        return engine.acknowledge_site(actor, k.site_id, k.state, now)
    if name == "snooze":
        z = _parse(message, Snooze)
        return engine.snooze(actor, z.site_id, z.state, z.minutes, now)
    raise BadInput(f"unknown message type {message.type[:40]!r}")


def snapshot_for(bridge: EngagementBridge, actor: Actor) -> dict[str, Any]:
    """What ``actor`` may see of the engagement state now."""
    engine = bridge.engine
    sees = visible_to(actor, bridge.runtime.roster)
    sites, visible = sees.sites, sees.students
    pulses = []
    for site in sites:
        try:
            pulse = engine.site_pulse(site).as_dict()
        except DomainError:
            continue
        pulse.pop("type")
        pulses.append(pulse)
    states = []
    for user_id in visible:
        try:
            snap = engine.student_snapshot(user_id)
        except DomainError:
            continue
        states.append(
            {
                "user_id": snap.user_id,
                "site_id": snap.site_id,
                "state": snap.state.value,
                "since": snap.since,
                "reasons": [r.as_dict() for r in snap.reasons],
            }
        )
    shown = set(visible)
    explicit = [
        {"user_id": uid, "site_id": site, "signal": "confused", "since": since}
        for site in ([actor.site_id] if actor.role is Role.STUDENT else sites)
        for uid, since in engine.pressed_confused(site)
        if uid in shown
    ]
    alerts = [
        {**a.as_dict(), "snoozed_until": engine.snoozed_until(a.site_id, a.state)}
        for a in engine.open_alerts(None if actor.leads_session else sites)
    ]
    return {"pulses": pulses, "students": states, "explicit": explicit, "alerts": alerts}


async def handle_message(
    bridge: EngagementBridge, ctx: SocketContext, message: protocol.ClientMessage
) -> None:
    """The ``engagement`` family (``EngagementBridge.handle``)."""
    actor = ctx.actor
    msg_id = message.id
    try:
        if bridge.ended and message.type != "engagement.sync":
            raise InvalidState("the session has ended")
        if message.type == "engagement.sync":
            _parse(message, Sync)
            snapshot = snapshot_for(bridge, actor)
            ctx.send(protocol.event_frame(None, "engagement.snapshot", snapshot, bridge.clock()))
            ctx.send(protocol.ack_frame(msg_id, None))
            return
        if not bridge.seen(actor.user_id, msg_id):
            if message.type == "engagement.ack_student":
                seen = _parse(message, AckStudent).user_id
                now = bridge.clock()
                bridge.deliver(bridge.engine.acknowledge_student(actor, seen, now))
                bridge.remember(actor.user_id, msg_id)
            else:
                bridge.deliver(_apply(bridge, actor, message))
                bridge.remember(actor.user_id, msg_id)
    except DomainError as exc:
        ctx.error(exc, msg_id)
        return
    ctx.send(protocol.ack_frame(msg_id, None))
