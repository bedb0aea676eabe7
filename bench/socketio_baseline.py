"""The python-socketio baseline for ``bench/ws_fanout.py``: the same broadcast workload on the
usual Python way of doing it.

An ASGI ``socketio.AsyncServer`` (python-socketio 5.18, Engine.IO 4) under the same uvicorn,
event loop and websocket implementation as our server. Every client joins one room (the
session) on connect; a ``hand`` event (raise or lower) from any client is stamped with the
server time ``at`` and emitted once to the room (``hand.raised`` / ``hand.lowered``, the same
data keys as ours): python-socketio encodes the packet
once and queues it to every participant, which is its fastest broadcast path (no callbacks,
no message queue, one process). The clients use the websocket transport only (no long-polling
upgrade), as a production deployment would.

It is a bare relay: no sign-in, no domain rules, no durable log, no acknowledgement. Those
costs are ours alone, so the comparison is conservative for us.

Run alone: ``python bench/_ws_server.py socketio``.
"""

from __future__ import annotations

import time
from typing import Any

import socketio

ROOM = "session-1"


def build_app() -> Any:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=[],
        transports=["websocket"],
        logger=False,
        engineio_logger=False,
        max_http_buffer_size=16_384,
    )

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.enter_room(sid, ROOM)

    @sio.event  # type: ignore[untyped-decorator]
    async def hand(sid: str, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("raise"), bool):
            return
        event = "hand.raised" if data["raise"] else "hand.lowered"
        payload = {"kind": "user", "user_id": sid, "site_id": None, "by": sid, "at": time.time()}
        await sio.emit(event, payload, to=ROOM)

    return socketio.ASGIApp(sio)
