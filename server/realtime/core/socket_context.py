"""One open websocket of one participant in one session, as handlers see it: who is calling,
the session's runtime, and how to answer this connection only."""

from __future__ import annotations

from fastapi import WebSocket

from server.domain.errors import DomainError
from server.domain.roles import Actor
from server.realtime.core import protocol
from server.realtime.core.hub import Connection
from server.realtime.core.runtime import SessionRuntime


class SocketContext:
    def __init__(self, ws: WebSocket, runtime: SessionRuntime, conn: Connection) -> None:
        self.ws = ws
        self.runtime = runtime
        self.conn = conn

    @property
    def actor(self) -> Actor:
        return self.conn.actor

    def send(self, frame: str) -> None:
        """Queue a reply for this connection only (not bounded: replies are small and few)."""
        self.conn.push_unbounded((frame,))

    def error(self, exc: DomainError, msg_id: str | None = None) -> None:
        self.send(protocol.error_frame(exc.code, exc.message, msg_id))
