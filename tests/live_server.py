"""A real uvicorn server on a pre-bound loopback socket (port 0), and websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.app import create_app
from server.settings import Settings

Frame = dict[str, Any]


@dataclass
class LiveServer:
    app: FastAPI
    port: int
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, session_id: int) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/sessions/{session_id}"

    async def stop(self) -> None:
        self.server.should_exit = True
        done, _ = await asyncio.wait({self.task}, timeout=30)
        if not done:  # say where it is stuck before failing: the stacks of every live task
            here = asyncio.current_task()
            stacks = "\n".join(_await_chain(t) for t in asyncio.all_tasks() if t is not here)
            self.task.cancel()
            raise TimeoutError(f"server did not stop within 30 s; live tasks:\n{stacks}")
        self.task.result()


def _await_chain(task: asyncio.Task[Any]) -> str:
    """Where a task waits: every coroutine in its await chain, outermost first."""
    lines = [repr(task)]
    awaited: Any = task.get_coro()
    for _ in range(40):  # bounded: an await chain is never this deep
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
        if frame is None:
            if awaited is not None:
                lines.append(f"  awaiting {awaited!r}")
            break
        lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    return "\n".join(lines)


async def start_server(settings: Settings, port: int = 0) -> LiveServer:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws_max_size=settings.ws_frame_limit * 2,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    return LiveServer(app, sock.getsockname()[1], server, task)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[LiveServer]:
    live = await start_server(settings)
    try:
        yield live
    finally:
        await live.stop()


@dataclass
class WsClient:
    """A participant's websocket: sends commands, collects frames, remembers the last seq."""

    ws: ClientConnection
    frames: list[Frame] = field(default_factory=list)
    last_seq: int = 0
    _counter: int = 0
    welcome: Frame = field(default_factory=dict)
    # ids must be unique per user and session (they are idempotency keys): like a real client,
    # every connection draws a random prefix
    _prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @classmethod
    async def open(
        cls,
        url: str,
        token: str,
        last_seq: int | None = None,
        expect_welcome: bool = True,
        ssl: Any = None,  # an ssl.SSLContext for wss:// (through a TLS proxy)
    ) -> WsClient:
        ws = await connect(url, open_timeout=10, max_size=2**22, ssl=ssl)
        client = cls(ws)
        await ws.send(json.dumps({"type": "hello", "data": {"token": token, "last_seq": last_seq}}))
        if last_seq is not None:
            client.last_seq = last_seq
        if expect_welcome:
            client.welcome = await client.wait_for(lambda f: f.get("type") == "welcome")
        return client

    async def recv(self, within: float = 10.0) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), within)
        frame: Frame = json.loads(raw)
        if isinstance(frame.get("seq"), int):
            self.last_seq = max(self.last_seq, frame["seq"])
        self.frames.append(frame)
        return frame

    async def wait_for(self, pred: Callable[[Frame], bool], within: float = 10.0) -> Frame:
        """The first frame (already received or arriving) that matches; bounded in time."""
        for frame in self.frames:
            if pred(frame) and not frame.get("_seen"):
                frame["_seen"] = True
                return frame
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame; last frames: {self.frames[-5:]}")
            frame = await self.recv(remaining)
            if pred(frame):
                frame["_seen"] = True
                return frame

    async def send(
        self, type_: str, data: dict[str, Any] | None = None, msg_id: str | None = None
    ) -> str:
        self._counter += 1
        msg_id = msg_id or f"{self._prefix}-{self._counter}"
        await self.ws.send(json.dumps({"type": type_, "id": msg_id, "data": data or {}}))
        return msg_id

    async def call(
        self, type_: str, data: dict[str, Any] | None = None, msg_id: str | None = None
    ) -> Frame:
        """Send a command; the ack or error with its id."""
        mid = await self.send(type_, data, msg_id)
        return await self.wait_for(
            lambda f: f.get("type") in ("ack", "error") and f.get("id") == mid
        )

    async def ok(self, type_: str, data: dict[str, Any] | None = None) -> Frame:
        reply = await self.call(type_, data)
        assert reply["type"] == "ack", reply
        return reply

    def events(self, type_: str) -> list[Frame]:
        return [f for f in self.frames if f.get("type") == type_]

    async def close(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.close()

    async def closed_with(self, within: float = 10.0) -> int | None:
        """Read until the server closes; the close code."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.recv(within)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
