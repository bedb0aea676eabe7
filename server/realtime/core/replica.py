"""A live session on a node that does not own it (cluster mode).

The replica keeps a read-only copy of the domain state, rebuilt from the shared event log and
then kept current from the owner's event channel, so it can welcome, snapshot and replay for
its own connections. Commands go to the owner through Redis; the frames the owner publishes
are delivered here to the audiences they were meant for.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from server.domain.errors import (
    BadInput,
    Conflict,
    DomainError,
    InvalidState,
    NotFound,
    NotPermitted,
    RateLimited,
)
from server.domain.events import Audience, Event
from server.domain.live import LiveAggregate
from server.domain.live.commands import Join, Leave
from server.domain.roles import Actor, Role
from server.realtime.core import protocol
from server.realtime.core.cluster import Cluster
from server.realtime.core.event_log import LoggedEvent, WriterLease
from server.realtime.core.runtime import Outcome, SessionRuntime

log = logging.getLogger(__name__)

# Every command a node may forward, by wire name: the protocol's (session start/end included),
# plus the presence changes the gateway makes itself.
FORWARDABLE: dict[str, type[Any]] = {
    **protocol.COMMANDS,
    "presence.join": Join,
    "presence.leave": Leave,
}
NAME_OF: dict[type[Any], str] = {cls: name for name, cls in FORWARDABLE.items()}


class RemoteError(DomainError):
    """An error the owner node answered with that has no class here; keeps its code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_ERRORS: dict[str, type[DomainError]] = {
    cls.code: cls for cls in (NotPermitted, InvalidState, NotFound, BadInput, RateLimited, Conflict)
}


def remote_error(code: str, message: str) -> DomainError:
    """The owner's refusal as the same domain error here (so REST maps it to the same status)."""
    cls = _ERRORS.get(code)
    return cls(message) if cls is not None else RemoteError(code, message)


def encode_command(
    actor: Actor, msg_id: str | None, command: Any, at: float | None = None
) -> dict[str, Any]:
    return {
        "at": at,
        "type": NAME_OF[type(command)],
        "data": msgspec.to_builtins(command),
        "msg_id": msg_id,
        "actor": {
            "user_id": actor.user_id,
            "role": actor.role.value,
            "site_id": actor.site_id,
            "display_name": actor.display_name,
        },
    }


def decode_command(body: dict[str, Any]) -> tuple[Actor, str | None, Any, float | None]:
    who = body["actor"]
    actor = Actor(who["user_id"], Role(who["role"]), who["site_id"], who["display_name"])
    command = msgspec.convert(body["data"], FORWARDABLE[body["type"]])
    at = msgspec.convert(body.get("at"), float | None)
    return actor, body.get("msg_id"), command, at


class ReplicaRuntime(SessionRuntime):
    """Until promoted (``become_owner``): commands are forwarded, frames come from the owner.
    Promoted in place when this node takes the session over, so its connections stay open."""

    is_replica = True

    def __init__(self, *args: Any, cluster: Cluster, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cluster = cluster

    def start(self) -> None:
        """No writer here while the owner node writes; once promoted, the writer starts."""
        if not self.is_replica:
            super().start()

    async def submit(
        self,
        actor: Actor,
        msg_id: str | None,
        command: Any,
        at: float | None = None,
        deadline: float | None = None,
    ) -> Outcome:
        if not self.is_replica:
            return await super().submit(actor, msg_id, command, at, deadline)
        body = encode_command(actor, msg_id, command, at)
        reply = await self._cluster.forward(self.session_id, body)
        if reply.get("in_doubt"):  # it reached the owner: did it run?
            if not self.is_replica:  # this node writes now: the old owner cannot any more
                return await super().submit(actor, msg_id, command, at, deadline)
            if msg_id is not None:
                seq = await self._log.find_command(self.session_id, actor.user_id, msg_id)
                if seq is not None:
                    return Outcome(seq=seq)
        error = reply.get("error")
        if error is not None:
            return Outcome(error=remote_error(str(error["code"]), str(error["message"])))
        seq = reply.get("seq")
        return Outcome(seq=int(seq) if seq is not None else None)

    async def catch_up(self) -> None:
        """Apply what the log holds past ``last_seq`` (on load, and on a gap in the channel)."""
        for item in await self._log.read_since(self.session_id, self.last_seq):
            self._deliver_logged(item)

    def _deliver_logged(self, item: LoggedEvent) -> None:
        self.live.apply(item.event)
        self.last_seq = item.seq
        self.remember(item)
        frame = protocol.event_frame(item.seq, item.event.type, item.event.data, item.event.at)
        self.hub.publish(frame, item.event.audience)

    def become_owner(self, logged: list[LoggedEvent], lease: WriterLease) -> None:
        """This node holds the writer lease now (called with the lock held): deliver what the
        connections here have not seen, rebuild the state from the whole log as a fresh owner
        would, and from now on write here."""
        for item in logged:
            if item.seq > self.last_seq:
                frame = protocol.event_frame(
                    item.seq, item.event.type, item.event.data, item.event.at
                )
                self.hub.publish(frame, item.event.audience)
        self.live = LiveAggregate.replay(
            self.session_id, self.live.roster, [e.event for e in logged], self.live.limits
        )
        self.last_seq = logged[-1].seq if logged else 0
        self._done.clear()
        for item in logged:
            self.remember(item)
        self.lease = lease
        self.is_replica = False

    async def on_remote(self, body: dict[str, Any]) -> None:
        """A message on the session's channel: a frame the owner fanned out (update the copy
        for logged events, deliver it), or the owner's position (``sync``, ``handover``):
        catch up from the log when behind."""
        if not self.is_replica:
            return
        if "frame" not in body:
            position = body.get("sync", body.get("handover"))
            if isinstance(position, int) and position > self.last_seq:
                async with self._lock:
                    await self.catch_up()
            return
        frame: str = body["frame"]
        audience = Audience.from_dict(body["aud"])
        parsed = msgspec.json.decode(frame)
        seq = parsed.get("seq")
        if not isinstance(seq, int):
            self.hub.publish(frame, audience)
            return
        async with self._lock:
            if seq <= self.last_seq or not self.is_replica:
                return
            if seq > self.last_seq + 1:
                await self.catch_up()  # the channel dropped something: the log has it
                if seq <= self.last_seq:
                    return
            event = Event(parsed["type"], parsed["data"], audience, parsed["at"])
            self.live.apply(event)
            self.last_seq = seq
            self.hub.publish(frame, audience)
