"""Several nodes sharing live sessions through Redis (``HYFLEX_REDIS_URL``).

Any node takes websockets; each live session has one owner node that runs its single writer
(and its media and engagement). Keys and channels, under ``HYFLEX_REDIS_PREFIX``:

- ``{p}:node:{node}``: the node registry, ``{"url": ...}``, kept alive by heartbeats (TTL);
- ``{p}:owner:{session}``: the owner node's id, claimed with SET NX and renewed with a TTL;
  when an owner dies its claim expires and the next node to need the session claims it and
  rebuilds the state from the shared event log (PostgreSQL);
- ``{p}:n:{node}:cmd``: a list of commands other nodes forward to that (owner) node;
- ``{p}:s:{session}:ev``: a channel on which the owner publishes every frame it fans out
  (with its audience), so replicas on other nodes deliver it to their own connections;
- ``{p}:n:{node}:rep``: a channel for the owner's replies to a node's forwarded commands.

A forwarded command that gets no reply in time is answered ``unavailable: retry``; the client
resends it with the same id and idempotency keeps it from being stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from redis.asyncio import Redis

from server.observability import metrics, ownership_log

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

_UNAVAILABLE = {
    "error": {
        "code": "unavailable",
        "message": "the session's node did not answer: retry (resending the same id is safe)",
    }
}
EventCallback = Callable[[dict[str, Any]], Awaitable[None]]
CommandHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
LostCallback = Callable[[int], Awaitable[None]]


class Cluster:
    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str,
        public_url: str,
        ttl_seconds: float,
        reply_timeout: float = 10.0,
    ) -> None:
        self.node_id = uuid.uuid4().hex[:12]
        self.prefix = prefix
        self.public_url = public_url
        self.ttl_ms = int(ttl_seconds * 1000)
        self.reply_timeout = reply_timeout
        self._redis_url = redis_url
        self._redis: Redis | None = None
        self._commands_redis: Redis | None = None
        self._pubsub: Any = None
        self._owned: dict[int, CommandHandler] = {}
        self._watched: dict[int, EventCallback] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._renew: Any = None
        self.on_lost: LostCallback | None = None  # an owned session was claimed away
        self.on_orphaned: LostCallback | None = None  # a watched session lost its owner

    # --- keys ---

    def _owner_key(self, session_id: int) -> str:
        return f"{self.prefix}:owner:{session_id}"

    def _cmd_key(self, node_id: str) -> str:
        return f"{self.prefix}:n:{node_id}:cmd"

    def _event_channel(self, session_id: int) -> str:
        return f"{self.prefix}:s:{session_id}:ev"

    def _reply_channel(self, node_id: str) -> str:
        return f"{self.prefix}:n:{node_id}:rep"

    @property
    def redis(self) -> Redis:
        assert self._redis is not None, "cluster not started"
        return self._redis

    async def _get(self, key: str) -> str | None:
        value = await self.redis.get(key)
        return value.decode() if isinstance(value, bytes) else value

    # --- lifecycle ---

    async def start(self) -> None:
        self._redis = Redis.from_url(self._redis_url, decode_responses=True)
        self._commands_redis = Redis.from_url(self._redis_url, decode_responses=True)
        await self._redis.ping()
        self._renew = self._redis.register_script(_RENEW)
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(self._reply_channel(self.node_id))
        await self._heartbeat()
        self._tasks = [
            asyncio.create_task(self._listen(), name="cluster-listen"),
            asyncio.create_task(self._keepalive(), name="cluster-keepalive"),
            asyncio.create_task(self._serve_commands(), name="cluster-commands"),
        ]

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._redis is not None:
            for session_id in list(self._owned):
                await self.release(session_id)
            await self._redis.delete(f"{self.prefix}:node:{self.node_id}")
            if self._pubsub is not None:
                await self._pubsub.aclose()
            await self._redis.aclose()
        if self._commands_redis is not None:
            await self._commands_redis.aclose()

    async def _heartbeat(self) -> None:
        info = msgspec.json.encode({"url": self.public_url}).decode()
        await self.redis.set(f"{self.prefix}:node:{self.node_id}", info, px=self.ttl_ms)

    async def _keepalive(self) -> None:
        """Heartbeat, renew owned sessions, and notice watched sessions whose owner is gone."""
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                await self._heartbeat()
                for session_id in list(self._owned):
                    kept = await self._renew(
                        keys=[self._owner_key(session_id)], args=[self.node_id, self.ttl_ms]
                    )
                    if not kept:
                        ownership_log.lost(session_id, self.node_id)
                        self._owned.pop(session_id, None)
                        if self.on_lost is not None:
                            await self.on_lost(session_id)
                for session_id in list(self._watched):
                    if await self._get(self._owner_key(session_id)) is None:
                        ownership_log.owner_gone(session_id, self.node_id)
                        await self.unwatch(session_id)
                        if self.on_orphaned is not None:
                            await self.on_orphaned(session_id)
            except Exception:
                log.exception("cluster keepalive failed")

    # --- ownership ---

    async def claim(self, session_id: int) -> bool:
        key = self._owner_key(session_id)
        got = await self.redis.set(key, self.node_id, nx=True, px=self.ttl_ms)
        return bool(got) or await self._get(key) == self.node_id

    async def owner_url(self, session_id: int) -> str | None:
        node = await self._get(self._owner_key(session_id))
        if node is None:
            return None
        info = await self._get(f"{self.prefix}:node:{node}")
        return None if info is None else str(msgspec.json.decode(info)["url"])

    def serve(self, session_id: int, handler: CommandHandler) -> None:
        """This node owns ``session_id``: take its forwarded commands."""
        self._owned[session_id] = handler

    async def release(self, session_id: int) -> None:
        ownership_log.released(session_id, self.node_id)
        self._owned.pop(session_id, None)
        key = self._owner_key(session_id)
        if await self._get(key) == self.node_id:
            await self.redis.delete(key)

    # --- events (owner -> replicas) ---

    async def publish(self, session_id: int, message: dict[str, Any]) -> None:
        await self.redis.publish(self._event_channel(session_id), msgspec.json.encode(message))

    async def watch(self, session_id: int, callback: EventCallback) -> None:
        self._watched[session_id] = callback
        await self._pubsub.subscribe(self._event_channel(session_id))

    async def unwatch(self, session_id: int) -> None:
        if self._watched.pop(session_id, None) is not None:
            await self._pubsub.unsubscribe(self._event_channel(session_id))

    async def _listen(self) -> None:
        reply_channel = self._reply_channel(self.node_id)
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            try:
                body = msgspec.json.decode(message["data"])
                if message["channel"] == reply_channel:
                    waiter = self._waiting.pop(body.get("corr", ""), None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(body)
                    continue
                session_id = int(message["channel"].rsplit(":", 2)[-2])
                callback = self._watched.get(session_id)
                if callback is not None:
                    await callback(body)
            except Exception:
                log.exception("cluster: bad message on %s", message.get("channel"))

    # --- commands (replicas -> owner) ---

    async def forward(self, session_id: int, command: dict[str, Any]) -> dict[str, Any]:
        """Send a command to the session's owner and wait for its reply."""
        corr = uuid.uuid4().hex
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[corr] = waiter
        body = {**command, "session_id": session_id, "corr": corr, "node": self.node_id}
        owner = await self._get(self._owner_key(session_id))
        if owner is None:
            self._waiting.pop(corr, None)
            metrics.forward_failed("no_owner")
            return _UNAVAILABLE
        await self.redis.rpush(self._cmd_key(owner), msgspec.json.encode(body))
        try:
            return await asyncio.wait_for(waiter, self.reply_timeout)
        except TimeoutError:
            metrics.forward_failed("timeout")
            return _UNAVAILABLE
        finally:
            self._waiting.pop(corr, None)

    async def _serve_commands(self) -> None:
        """Commands forwarded to this node, each run in its own task so they batch in the
        session's writer like local ones."""
        assert self._commands_redis is not None
        key = self._cmd_key(self.node_id)
        while True:
            popped = await self._commands_redis.blpop([key], timeout=1)
            if popped is None:
                continue
            body = msgspec.json.decode(popped[1])
            handler = self._owned.get(int(body.get("session_id", 0)))
            if handler is None:  # no longer ours: the sender times out and retries
                continue
            task = asyncio.create_task(self._run(handler, body))
            self._tasks.append(task)
            task.add_done_callback(self._tasks.remove)

    async def _run(self, handler: CommandHandler, body: dict[str, Any]) -> None:
        reply = await handler(body)
        if reply is not None and body.get("node") and body.get("corr"):
            reply["corr"] = body["corr"]
            await self.redis.publish(self._reply_channel(body["node"]), msgspec.json.encode(reply))
