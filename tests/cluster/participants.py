"""A participant of the fault tests: a websocket that, like the web client, reconnects to a
node that answers and resends a command with the same id when its connection dropped; what
it was told about each command is kept, to compare with what the log stored."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from server.domain.roles import Role
from tests.cluster.processes import Cluster, Node
from tests.live_server import Frame, WsClient


@dataclass
class Participant:
    cluster: Cluster
    user_id: int
    role: Role
    nodes: list[Node]  # where to connect, in order of preference
    client: WsClient | None = None
    acked: dict[str, tuple[int | None, Any]] = field(default_factory=dict)  # id -> (seq, data)
    failed: set[str] = field(default_factory=set)  # ids the client was told did not run
    reconnects: int = 0
    _n: int = 0

    async def connect(self, within: float = 20.0) -> WsClient:
        """Open a websocket on the first node that answers, resuming from the last seq."""
        last = self.client.last_seq if self.client is not None else None
        deadline = time.monotonic() + within
        while True:
            for node in self.nodes:
                if node.proc.returncode is not None:
                    continue
                with contextlib.suppress(OSError, TimeoutError, ConnectionClosed, InvalidHandshake):
                    self.client = await self.cluster.join(node, self.user_id, self.role, last)
                    return self.client
            if time.monotonic() > deadline:
                raise AssertionError(f"user {self.user_id}: no node took the connection")
            await asyncio.sleep(0.1)  # polling for a node that answers, bounded above

    def next_id(self) -> str:
        self._n += 1
        return f"u{self.user_id}-{self._n}"

    async def command(
        self,
        type_: str,
        data: dict[str, Any],
        msg_id: str | None = None,
        *,
        retry_unavailable: bool = False,
        within: float = 30.0,
    ) -> Frame:
        """Send; on a dropped connection reconnect and resend the same id; with
        ``retry_unavailable`` also resend it while the answer is ``unavailable``. Records the
        final answer: ``acked`` or (for ``unavailable``) ``failed``."""
        mid = msg_id or self.next_id()
        deadline = time.monotonic() + within
        while True:
            assert time.monotonic() < deadline, f"{type_} {mid}: not settled in {within}s"
            try:
                if self.client is None:
                    await self.connect()
                assert self.client is not None
                reply = await self.client.call(type_, data, msg_id=mid)
            except (ConnectionClosed, TimeoutError, OSError):
                self.reconnects += 1
                await self.connect()
                continue
            if reply["type"] == "ack":
                self.acked[mid] = (reply.get("seq"), data)
                self.failed.discard(mid)
                return reply
            if reply.get("code") == "unavailable":
                if retry_unavailable:
                    continue
                self.failed.add(mid)
            return reply
