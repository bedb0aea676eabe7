"""The websocket endpoint ``/ws/sessions/{id}``: sign-in, resume, commands, fan-out.

One piece, over 300 lines: it is one websocket's life, hello to close (reader, writer,
budget, dispatch), and each part closes the socket with a code the others must agree on.

A thin adapter: it authenticates, turns frames into domain commands (``protocol``), hands them
to the session's runtime and writes the runtime's frames back. Bad input gets a typed error
frame and the connection goes on; abuse (floods, a bad hello) closes it with a clear code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from server.auth.tokens import InvalidToken
from server.domain.errors import BadInput, DomainError, InvalidState, NotFound, RateLimited
from server.domain.live.commands import Join
from server.domain.live.moderation import REMOVED_MESSAGE
from server.domain.roles import Actor
from server.domain.token_bucket import TokenBucket
from server.observability import metrics
from server.realtime.core import protocol, server_log
from server.realtime.core.cluster import Cluster
from server.realtime.core.engine import CLOSE_MOVED, RealtimeEngine
from server.realtime.core.extension import ExtensionFactory
from server.realtime.core.hub import Connection
from server.realtime.core.runtime import SessionRuntime
from server.realtime.core.socket_context import SocketContext
from server.realtime.engagement import bridge as engagement_bridge
from server.realtime.media import bridge as media_bridge
from server.realtime.media import engagement_feed
from server.services.ids import PathId
from server.services.principal import load_principal
from server.services.registry import Services
from server.settings import Settings
from server.task_stop import stop_task

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_BAD_HELLO = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_FLOOD = 4429
CLOSE_TOO_BIG = 1009
CLOSE_SEND_FAILED = 1011
CLOSE_REMOVED = protocol.CLOSE_REMOVED
CLOSE_REASONS = {
    CLOSE_REMOVED: REMOVED_MESSAGE,
    CLOSE_UNAUTHORIZED: "signed out: sign in again",
    CLOSE_TOO_SLOW: "too far behind: reconnect and resume",
    CLOSE_MOVED: "the session moved to another node: resume",
    CLOSE_SEND_FAILED: "sending failed: reconnect and resume",
    CLOSE_FLOOD: "too many messages",
}
FINISH_SECONDS = 2.0  # how long a closing writer may take to send the last errors
FLOOD_STRIKES = 50  # net rate-limited messages (see FloodMeter) before a close

Handler = Callable[[SocketContext, protocol.ClientMessage], Awaitable[None]]


class WrongNode(DomainError):
    code = "wrong_node"


class Removed(DomainError):
    code = "removed"


def _engine(ws: WebSocket) -> RealtimeEngine:
    engine: RealtimeEngine = ws.app.state.realtime
    return engine


async def _hello(ws: WebSocket, svc: Services, session_id: int) -> tuple[protocol.Hello, Actor]:
    """The first frame must be a hello with a valid token of someone in this session."""
    settings = svc.settings
    message = await asyncio.wait_for(ws.receive(), settings.ws_hello_timeout_seconds)
    text = message.get("text")
    if text is None:
        raise BadInput("the first message must be a hello text frame")
    hello = protocol.to_hello(protocol.parse(text))
    async with svc.sessions() as db:
        who = await load_principal(db, svc.signer, hello.token, time.time())
    if who.session_scope is not None and who.session_scope != session_id:
        raise NotFound(f"session {session_id} not found")
    engine = _engine(ws)
    runtime = await engine.runtime(session_id)
    actor = runtime.roster.get(who.user_id)
    if actor is None:  # enrolled since the session loaded? read the roster again
        _, roster = await engine.load_roster(session_id)
        actor = roster.get(who.user_id)
        if actor is not None:
            runtime.roster.add(actor)
    if actor is None or actor.role != who.role:
        raise NotFound(f"session {session_id} not found")
    if runtime.live.is_removed(actor.user_id):
        raise Removed(REMOVED_MESSAGE)
    return hello, Actor(actor.user_id, actor.role, actor.site_id, who.display_name)


@router.websocket("/ws/sessions/{session_id}")
async def session_socket(ws: WebSocket, session_id: PathId) -> None:
    svc: Services = ws.app.state.services
    await ws.accept()
    try:
        hello, actor = await _hello(ws, svc, session_id)
    except (TimeoutError, WebSocketDisconnect):
        await _close(ws, CLOSE_BAD_HELLO, "no hello")
        return
    except InvalidToken as exc:
        await _close(ws, CLOSE_UNAUTHORIZED, exc.message)
        return
    except NotFound as exc:
        await _close(ws, CLOSE_NOT_FOUND, exc.message)
        return
    except Removed as exc:
        await _close(ws, CLOSE_REMOVED, exc.message)
        return
    except DomainError as exc:
        await _close(ws, CLOSE_BAD_HELLO, exc.message)
        return
    runtime = await _engine(ws).runtime(session_id)
    conn = Connection(actor, svc.settings.ws_send_queue, ws.send_text)
    await runtime.attach(conn, hello.last_seq)
    ctx = SocketContext(ws, runtime, conn)
    # The reader runs in this task; only the writer gets a task of its own. When the writer
    # closes the socket (too slow, session moved), the reader sees the disconnect and ends.
    writer = asyncio.create_task(_write(ws, conn), name=f"ws-writer-{actor.user_id}")
    metrics.connection_opened()
    try:
        await _note_presence(runtime, actor, Join())
        await _read(ctx, svc)
    except WebSocketDisconnect:
        pass  # the client went away while a handler was answering it
    except Exception:  # a bug, not bad input: say so, and let the client resume
        log.exception("session %s: serving user %s failed", session_id, actor.user_id)
        await _close(ws, CLOSE_SEND_FAILED, "server error: reconnect and resume")
    finally:
        metrics.connection_closed()
        if conn.finishing is not None:  # let the client read why it is being closed
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(writer), FINISH_SECONDS)
        await stop_task(writer)
        runtime.detach(conn)
        if runtime.hub.user_connections(actor.user_id) == 0:
            runtime.leave_when_gone(actor, svc.settings.presence_grace_seconds)
        await _close(ws, 1000, "bye")


async def _note_presence(runtime: SessionRuntime, actor: Actor, command: Any) -> None:
    """Join; the outcome is not needed (an ended session refuses it, which is fine). Leaving
    waits for ``presence_grace_seconds`` (``SessionRuntime.leave_when_gone``)."""
    await runtime.submit(actor, None, command)


async def _write(ws: WebSocket, conn: Connection) -> None:
    """Send the connection's frames until it must close, then close it with the reason. A
    failed send ends the connection too (the reader then sees the disconnect), so a client is
    never left connected without anything reaching it."""
    try:
        await _send_until_closing(ws, conn)
    except Exception:
        log.debug("websocket send failed; closing", exc_info=True)
        conn.close_code = CLOSE_SEND_FAILED
    code = CLOSE_TOO_SLOW if conn.overflowed else (conn.close_code or CLOSE_SEND_FAILED)
    await _close(ws, code, CLOSE_REASONS.get(code, "closing"))


async def _send_until_closing(ws: WebSocket, conn: Connection) -> None:
    while conn.close_code is None and not conn.overflowed:
        conn.idle = True
        await conn.wake.wait()
        conn.idle = False
        conn.wake.clear()
        if conn.inflight is not None:  # an eager send that had to wait: finish it first
            inflight, conn.inflight = conn.inflight, None
            await inflight
        while conn.queue and conn.close_code is None and not conn.overflowed:
            await ws.send_text(conn.queue.popleft())
        if conn.finishing is not None and not conn.queue and conn.inflight is None:
            conn.close_code = conn.finishing


async def _read(ctx: SocketContext, svc: Services) -> None:
    settings = svc.settings
    budget = MessageBudget(settings.ws_rate_per_second, settings.ws_rate_burst)
    while True:
        message = await ctx.ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            ctx.error(BadInput("binary frames are not accepted; send JSON text"))
            continue
        if len(text) > settings.ws_max_message_bytes and not _media_within_limit(text, settings):
            await _close(ctx.ws, CLOSE_TOO_BIG, "message too big")
            return
        verdict = budget.spend(time.monotonic())
        if verdict is FLOOD:  # the rate_limited errors go out first, then the close
            ctx.conn.finish(CLOSE_FLOOD)
            return
        if verdict is LIMITED:
            ctx.error(
                RateLimited(
                    f"at most {budget.rate:g} messages a second (bursts of {budget.burst:g})"
                )
            )
            continue
        await _dispatch(ctx, text)


class _TypeOnly(msgspec.Struct):
    type: str = ""


def _media_within_limit(text: str, settings: Settings) -> bool:
    """WebRTC offers and answers grow with the number of tracks (a teacher receiving many
    sites): ``media.*`` messages get their own, larger limit."""
    if len(text) > settings.ws_max_media_message_bytes:
        return False
    try:
        return msgspec.json.decode(text, type=_TypeOnly).type.startswith("media.")
    except (msgspec.MsgspecError, RecursionError):
        return False


LIMITED = "limited"
FLOOD = "flood"


class MessageBudget:
    """A connection's token bucket (``rate`` a second, ``burst`` stored) and flood meter:
    each refused message adds a strike and strikes drain at ``rate``, so a client that keeps
    sending past its limit reaches ``FLOOD_STRIKES`` and is closed, however fast or slow its
    own sending happens to be. Slotted: it is kept for every open connection."""

    __slots__ = ("bucket", "strikes")

    def __init__(self, rate: float, burst: int) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.strikes = 0.0

    @property
    def rate(self) -> float:
        return self.bucket.rate

    @property
    def burst(self) -> float:
        return self.bucket.burst

    def spend(self, now: float) -> str | None:
        last = self.bucket.last
        elapsed = 0.0 if last is None else now - last
        self.strikes = max(0.0, self.strikes - elapsed * self.bucket.rate)
        if self.bucket.spend(now):
            return None
        self.strikes += 1.0
        return FLOOD if self.strikes >= FLOOD_STRIKES else LIMITED


async def _pong(ctx: SocketContext, message: protocol.ClientMessage) -> None:
    ctx.send(protocol.encode({"type": "pong", "id": message.id, "t": time.time()}))


async def _hello_again(ctx: SocketContext, message: protocol.ClientMessage) -> None:
    raise BadInput("already signed in")


async def _command(ctx: SocketContext, message: protocol.ClientMessage) -> None:
    """A domain command (``protocol.COMMANDS``) through the session's single writer."""
    command = protocol.to_command(message)
    outcome = await ctx.runtime.submit(ctx.actor, message.id, command)
    if outcome.error is not None:
        ctx.error(outcome.error, message.id)
    else:
        ctx.send(protocol.ack_frame(message.id, outcome.seq))


async def _extension(ctx: SocketContext, message: protocol.ClientMessage) -> None:
    """A family an extension serves (media, engagement): on the owner node only."""
    family = message.type.split(".", 1)[0]
    runtime = ctx.runtime
    if runtime.is_replica:
        raise WrongNode(
            f"{family} for this session is served by its owner node: connect there "
            "(GET /api/sessions/{id}/node)"
        )
    extension = runtime.extensions.for_family(family)
    if extension is None:
        raise InvalidState(f"{family} is not available in this session")
    await extension.handle(ctx, message)


# The one dispatch table: a message's family (its type up to the first dot) -> its handler.
# Families not listed are domain commands (an unknown type is refused there as bad_input).
DISPATCH: dict[str, Handler] = {
    "ping": _pong,
    "hello": _hello_again,
    **{name.split(".", 1)[0]: _command for name in protocol.COMMANDS},
}
# The families served by session extensions, registered by ``install`` (the schema lists them).
EXTENSION_FAMILIES: set[str] = set()
# What builds each loaded runtime's extensions, registered by ``install`` (in this order).
EXTENSIONS: list[tuple[tuple[str, ...], Callable[[RealtimeEngine], ExtensionFactory]]] = [
    (media_bridge.FAMILIES, media_bridge.factory),
    (engagement_bridge.FAMILIES, engagement_bridge.factory),
    ((), engagement_feed.factory),  # server media stats into engagement: no messages
]


async def _dispatch(ctx: SocketContext, text: str) -> None:
    msg_id: str | None = None
    try:
        message = protocol.parse(text)
        msg_id = message.id
        handler = DISPATCH.get(message.type.split(".", 1)[0], _command)
        await handler(ctx, message)
    except DomainError as exc:
        ctx.error(exc, msg_id)


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if (
        ws.application_state == WebSocketState.CONNECTED
        and ws.client_state == WebSocketState.CONNECTED
    ):
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(code, reason[:120])


def install(app: Any, services: Services) -> RealtimeEngine:
    settings = services.settings
    cluster: Cluster | None = None
    if settings.redis_url:
        cluster = Cluster(
            settings.redis_url,
            prefix=settings.redis_prefix,
            public_url=settings.base_url,
            ttl_seconds=settings.cluster_ttl_seconds,
        )
        app.state.startup_hooks.append(cluster.start)
        app.state.shutdown_hooks.append(cluster.close)  # hooks run in reverse: after the engine
    engine = RealtimeEngine(services, cluster)
    server_log.install()
    for families, factory in EXTENSIONS:
        engine.extension_factories.append(factory(engine))
        for family in families:
            if DISPATCH.get(family, _extension) is not _extension:
                raise ValueError(f"message family {family!r} is served twice")
            DISPATCH[family] = _extension
            EXTENSION_FAMILIES.add(family)
    app.state.realtime = engine
    app.state.lifecycle = engine
    app.state.shutdown_hooks.append(engine.close)
    app.include_router(router)
    return engine
