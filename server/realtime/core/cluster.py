"""Several nodes sharing live sessions through Redis (``HYFLEX_REDIS_URL``).

Any node takes websockets; each live session has one owner node that runs its single writer
(and its media and engagement). Who may write is decided by the database (the writer lease in
``event_log``: a PostgreSQL advisory lock on the appending connection); Redis only says where
the writer is and carries messages. Keys and channels, under ``HYFLEX_REDIS_PREFIX``:

- ``{p}:node:{node}``: the node registry, ``{"url": ...}``, kept alive by heartbeats (TTL);
- ``{p}:owner:{session}``: the owner node's id, a routing pointer with a TTL, set by the node
  holding the writer lease and re-asserted every heartbeat (so a Redis that restarted empty
  has it again within one back-off step);
- ``{p}:n:{node}:cmd``: a list of commands other nodes forward to that (owner) node; each
  carries a wall-clock ``deadline`` after which the owner refuses it instead of running it;
- ``{p}:s:{session}:ev``: a channel on which the owner publishes every frame it fans out
  (with its audience), a ``sync`` with its last seq every heartbeat, and ``handover`` when it
  lets the session go; replicas on other nodes deliver frames and catch up from the log;
- ``{p}:n:{node}:rep``: a channel for the owner's replies to a node's forwarded commands.

Every long-running task survives Redis going away: it logs, waits (bounded back-off, at most
``MAX_BACKOFF`` seconds) and starts over, subscriptions included; a replica catches up from the
log by seq after every resubscription.

One piece, over 300 lines: the keys above, their TTLs, the back-off and the forwarding deadline
are one protocol between nodes; split, each part would have to agree with the others on all of
them, and a Redis restart is only survived if every task follows the same reconnect rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from server.observability import metrics, ownership_log
from server.task_stop import stop_tasks

log = logging.getLogger(__name__)

MAX_BACKOFF = 1.0  # seconds between two attempts to reach Redis again, at most
OP_TIMEOUT = 3.0  # seconds for one Redis operation when closing
_ASSERT = """
local current = redis.call('get', KEYS[1])
if current == false or current == ARGV[1] then
  return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 or 0
end
return 0
"""

UNAVAILABLE_CODE = "unavailable"
NOT_OWNER = "not_owner"  # between nodes only: the command was not run, ask again who owns it
EventCallback = Callable[[dict[str, Any]], Awaitable[None]]
CommandHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
LostCallback = Callable[[int], Awaitable[None]]
Tick = Callable[[], Awaitable[None]]


def unavailable(message: str, *, in_doubt: bool = False) -> dict[str, Any]:
    """The answer to a forwarded command that got no answer. ``in_doubt``: it reached the
    owner's queue, so whether it ran must be settled (the log, or a resend with the same id)."""
    reply: dict[str, Any] = {"error": {"code": UNAVAILABLE_CODE, "message": message}}
    if in_doubt:
        reply["in_doubt"] = True
    return reply


@dataclass
class Owned:
    """A session this node writes: its command handler, its position, and whether this node
    still holds its writer lease (``fenced``: the database enforces the lease)."""

    handler: CommandHandler
    position: Callable[[], int]
    holds: Callable[[], Awaitable[bool]]
    fenced: bool


class Cluster:
    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str,
        public_url: str,
        ttl_seconds: float,
        reply_timeout: float = 5.0,
    ) -> None:
        self.node_id = uuid.uuid4().hex[:12]
        self.prefix = prefix
        self.public_url = public_url
        self.ttl_ms = int(ttl_seconds * 1000)
        self.reply_timeout = reply_timeout
        # how long past a command's deadline its sender waits for the answer of a batch that
        # the writer took before the deadline (the append and the way back)
        self.reply_grace = min(2.0, reply_timeout / 2)
        self.check_interval = min(1.0, ttl_seconds / 3)
        self._redis_url = redis_url
        self._redis: Redis | None = None
        self._commands_redis: Redis | None = None
        self._pubsub: Any = None
        self._owned: dict[int, Owned] = {}
        self._watched: dict[int, EventCallback] = {}
        self._waiting: dict[str, tuple[int, asyncio.Future[dict[str, Any]]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        # set while this node listens to its reply channel: a command is only forwarded then,
        # or its answer could be published before anyone listens (after Redis came back)
        self._listening = asyncio.Event()
        self.on_lost: LostCallback | None = None  # an owned session's lease or claim was lost
        self.on_resubscribed: Tick | None = None  # the event channels are listened to again
        self.ticks: list[Tick] = []  # run every ``check_interval`` (replicas check owners)

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

    def _client(self) -> Redis:
        return Redis.from_url(
            self._redis_url,
            decode_responses=True,
            socket_timeout=5.0,
            socket_connect_timeout=2.0,
            health_check_interval=5,
            # one immediate retry inside the client (a pooled connection found dead after a
            # Redis restart), not its default back-off of seconds: the supervisor and the
            # forwarding loop retry with their own bounded back-off
            retry=Retry(NoBackoff(), 1),
        )

    async def start(self) -> None:
        self._redis = self._client()
        self._commands_redis = self._client()
        await self._redis.ping()
        await self._heartbeat()
        self._tasks = [
            self._supervise("cluster-listen", self._listen),
            self._supervise("cluster-keepalive", self._keepalive),
            self._supervise("cluster-commands", self._serve_commands),
            self._supervise("cluster-ticks", self._tick),
        ]

    def _supervise(
        self, name: str, body: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        """Run ``body`` for as long as the node runs: when it fails (Redis gone), log, wait a
        bounded back-off and run it again."""

        async def run() -> None:
            backoff = 0.05
            while True:
                started = time.monotonic()
                try:
                    await body()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if time.monotonic() - started > 5:
                        backoff = 0.05
                    log.warning("%s failed (%s); again in %.2fs", name, exc, backoff)
                await asyncio.sleep(backoff)  # the back-off, not a synchronisation
                backoff = min(MAX_BACKOFF, backoff * 2)

        return asyncio.create_task(run(), name=name)

    async def close(self) -> None:
        """Bounded: every Redis operation here gives up after ``OP_TIMEOUT``."""
        self._closing = True
        await stop_tasks(self._tasks)
        for session_id in list(self._owned):
            await self.release(session_id)
        for _, waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_result(unavailable("this node is stopping", in_doubt=True))
        if self._redis is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(OP_TIMEOUT):
                    await self._redis.delete(f"{self.prefix}:node:{self.node_id}")
        for client in (self._redis, self._commands_redis):
            if client is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(OP_TIMEOUT):
                        await client.aclose()

    async def _heartbeat(self) -> None:
        info = msgspec.json.encode({"url": self.public_url}).decode()
        await self.redis.set(f"{self.prefix}:node:{self.node_id}", info, px=self.ttl_ms)

    async def _keepalive(self) -> None:
        """Heartbeat, and for each owned session: check the lease, re-assert the routing
        pointer (a Redis that came back empty has it again at once), publish the position."""
        while True:
            await self._heartbeat()
            for session_id, owned in list(self._owned.items()):
                if not await owned.holds():
                    await self._lose(session_id, "its writer lease is gone")
                    continue
                if not await self._assert_claim(session_id, owned.fenced):
                    await self._lose(session_id, "another node claimed it")
                    continue
                await self.publish(session_id, {"sync": owned.position()})
            await asyncio.sleep(self.ttl_ms / 3000)

    async def _lose(self, session_id: int, why: str) -> None:
        if self._owned.pop(session_id, None) is None:
            return
        log.warning("cluster: session %s lost: %s", session_id, why)
        ownership_log.lost(session_id, self.node_id)
        if self.on_lost is not None:
            await self.on_lost(session_id)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            for tick in list(self.ticks):
                await tick()

    # --- ownership ---

    async def _assert_claim(self, session_id: int, fenced: bool) -> bool:
        key = self._owner_key(session_id)
        if fenced:  # the database lease is ours: the pointer says so, whatever it said
            await self.redis.set(key, self.node_id, px=self.ttl_ms)
            return True
        return bool(await self.redis.eval(_ASSERT, 1, key, self.node_id, self.ttl_ms))

    async def claim(self, session_id: int, fenced: bool) -> bool:
        """Point the session at this node. ``fenced``: this node holds the database lease, so
        the pointer is simply set; otherwise (SQLite, one node) only when free or ours."""
        return await self._assert_claim(session_id, fenced)

    async def owner(self, session_id: int) -> str | None:
        return await self._get(self._owner_key(session_id))

    async def owner_url(self, session_id: int) -> str | None:
        try:
            node = await self._get(self._owner_key(session_id))
            if node is None:
                return None
            info = await self._get(f"{self.prefix}:node:{node}")
        except Exception:
            log.warning("cluster: where is session %s? Redis did not answer", session_id)
            return None
        return None if info is None else str(msgspec.json.decode(info)["url"])

    def serve(self, session_id: int, owned: Owned) -> None:
        """This node owns ``session_id``: take its forwarded commands."""
        self._owned[session_id] = owned

    async def release(self, session_id: int) -> None:
        """Stop serving ``session_id`` and clear the pointer if it is ours (best effort)."""
        ownership_log.released(session_id, self.node_id)
        self._owned.pop(session_id, None)
        key = self._owner_key(session_id)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(OP_TIMEOUT):
                if await self._get(key) == self.node_id:
                    await self.redis.delete(key)

    # --- events (owner -> replicas) ---

    async def publish(self, session_id: int, message: dict[str, Any]) -> None:
        await self.redis.publish(self._event_channel(session_id), msgspec.json.encode(message))

    async def handover(self, session_id: int, last_seq: int) -> None:
        """Tell the replicas the owner let the session go (after its lease was released)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(OP_TIMEOUT):
                await self.publish(session_id, {"handover": last_seq})

    async def watch(self, session_id: int, callback: EventCallback) -> None:
        self._watched[session_id] = callback
        if self._pubsub is not None:  # else (or if this fails) the listener subscribes it
            with contextlib.suppress(Exception):
                await self._pubsub.subscribe(self._event_channel(session_id))

    async def unwatch(self, session_id: int) -> None:
        if self._watched.pop(session_id, None) is not None and self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(self._event_channel(session_id))

    async def _listen(self) -> None:
        """(Re)subscribe to this node's replies and every watched session, tell the engine
        (replicas catch up from the log), then deliver messages until the connection fails."""
        reply_channel = self._reply_channel(self.node_id)
        pubsub: Any = self.redis.pubsub()
        try:
            channels = [reply_channel] + [self._event_channel(s) for s in self._watched]
            await pubsub.subscribe(*channels)
            self._pubsub = pubsub
            self._listening.set()
            if self.on_resubscribed is not None:
                await self.on_resubscribed()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None:
                    continue
                await self._deliver(message, reply_channel)
        finally:
            self._listening.clear()
            self._pubsub = None
            with contextlib.suppress(Exception):
                async with asyncio.timeout(OP_TIMEOUT):
                    await pubsub.aclose()

    async def _deliver(self, message: dict[str, Any], reply_channel: str) -> None:
        try:
            body = msgspec.json.decode(message["data"])
            if message["channel"] == reply_channel:
                found = self._waiting.get(body.get("corr", ""))
                if found is not None and not found[1].done():
                    found[1].set_result(body)
                return
            session_id = int(message["channel"].rsplit(":", 2)[-2])
            callback = self._watched.get(session_id)
            if callback is not None:
                await callback(body)
        except Exception:
            log.exception("cluster: bad message on %s", message.get("channel"))

    # --- commands (replicas -> owner) ---

    def abandon(self, session_id: int) -> None:
        """This node became the session's writer: stop waiting for the old owner's answers
        (it can no longer store anything); the senders settle their commands here."""
        for _, (sid, waiter) in list(self._waiting.items()):
            if sid == session_id and not waiter.done():
                waiter.set_result(unavailable("the session moved here", in_doubt=True))

    async def forward(self, session_id: int, command: dict[str, Any]) -> dict[str, Any]:
        """Send a command to the session's owner and wait for its reply. It carries a deadline:
        the owner refuses it once that has passed, so an ``unavailable`` that is not
        ``in_doubt`` means it did not run; the owner is looked up again while there is none
        (a takeover) or it says it is not the owner (a handover)."""
        loop = asyncio.get_running_loop()
        deadline = time.time() + self.reply_timeout
        pushed = False
        while time.time() < deadline and not self._closing:
            corr = uuid.uuid4().hex
            waiter: asyncio.Future[dict[str, Any]] = loop.create_future()
            body = {
                **command,
                "session_id": session_id,
                "corr": corr,
                "node": self.node_id,
                "deadline": deadline,
            }
            self._waiting[corr] = (session_id, waiter)
            try:
                await asyncio.wait_for(self._listening.wait(), max(0.0, deadline - time.time()))
                owner = await self.owner(session_id)
                if owner is None:
                    await asyncio.sleep(0.05)  # polling for a new owner, bounded by deadline
                    continue
                pushed = True
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.rpush(self._cmd_key(owner), msgspec.json.encode(body))
                    pipe.pexpire(self._cmd_key(owner), int(self.reply_timeout * 2000))
                    await pipe.execute()
                remaining = deadline + self.reply_grace - time.time()
                reply = await asyncio.wait_for(waiter, max(0.0, remaining))
            except TimeoutError:
                metrics.forward_failed("timeout")
                return unavailable("the session's node did not answer in time", in_doubt=pushed)
            except Exception as exc:  # Redis away: try again until the deadline
                log.debug("forwarding to session %s failed: %s", session_id, exc)
                await asyncio.sleep(0.1)  # bounded by the deadline
                continue
            finally:
                self._waiting.pop(corr, None)
            error = reply.get("error")
            if isinstance(error, dict) and error.get("code") == NOT_OWNER:
                pushed = False  # refused unrun: find the new owner
                await asyncio.sleep(0.05)  # bounded by the deadline
                continue
            return reply
        metrics.forward_failed("no_owner")
        return unavailable("no node serves the session right now", in_doubt=pushed)

    async def _serve_commands(self) -> None:
        """Commands forwarded to this node, each run in its own task so they batch in the
        session's writer like local ones."""
        assert self._commands_redis is not None
        key = self._cmd_key(self.node_id)
        while True:
            popped = await self._commands_redis.blpop([key], timeout=1)
            if popped is None:
                continue
            try:
                body = msgspec.json.decode(popped[1])
                session_id = int(body.get("session_id", 0))
            except (msgspec.DecodeError, TypeError, ValueError):
                log.warning("cluster: a malformed forwarded command was dropped")
                continue
            owned = self._owned.get(session_id)
            if owned is None:
                reply = {"error": {"code": NOT_OWNER, "message": "not the session's node"}}
                task = asyncio.create_task(self._reply(body, reply))
            elif time.time() > float(body.get("deadline") or 0):
                expired = unavailable("it reached the session's node too late: not run")
                task = asyncio.create_task(self._reply(body, expired))
            else:
                task = asyncio.create_task(self._run(owned.handler, body))
            self._tasks.append(task)
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _run(self, handler: CommandHandler, body: dict[str, Any]) -> None:
        reply = await handler(body)
        if reply is not None:
            await self._reply(body, reply)

    async def _reply(self, body: dict[str, Any], reply: dict[str, Any]) -> None:
        if not body.get("node") or not body.get("corr"):
            return
        reply = {**reply, "corr": body["corr"]}
        try:
            await self.redis.publish(self._reply_channel(body["node"]), msgspec.json.encode(reply))
        except Exception:  # the sender settles it (the log, or a resend with the same id)
            log.warning("cluster: a reply to node %s was lost", body["node"])
