"""One live session in memory: its domain aggregate, its hub, and the single writer that
turns commands into durable, sequenced, fanned-out events.

One piece, over 300 lines: the writer's guarantees (an ack means stored; a retried message id
gets the same answer; a refused batch rebuilds from the log) hold only if one class owns the
queue, the sequence number and the idempotency memory together.

Commands are queued; the writer takes what is waiting (up to ``MAX_BATCH``), runs each through
the domain, stores the resulting events in one transaction, and only then publishes them and
acknowledges the commands: an ack means the answer is durable. Derived aggregates (tallies) are
not logged: the latest one per key is kept and flushed to staff at a bounded rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from server.domain.errors import Conflict, DomainError, InvalidState
from server.domain.events import Audience, Event
from server.domain.live import DERIVED_EVENT_TYPES, STATUS_AFTER, LiveSession, Roster, SessionStatus
from server.domain.live.commands import Leave
from server.domain.roles import Actor
from server.realtime.core import protocol
from server.realtime.core.event_log import EventLog, LoggedEvent, PendingEvent
from server.realtime.core.hub import Connection, SessionHub

log = logging.getLogger(__name__)
MAX_BATCH = 256
REUSED_ID = "this message id was already used for a different command: use a new id"
StatusCallback = Callable[[int, SessionStatus, float], Awaitable[None]]
Observer = Callable[["SessionRuntime", LoggedEvent], None]


def fingerprint(command: Any) -> str:
    """What a reused message id must match to count as a retry: the command's type and its
    data in canonical form (keys sorted), hashed."""
    body = msgspec.json.encode(command, order="sorted")
    return hashlib.sha256(type(command).__name__.encode() + b":" + body).hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    seq: int | None = None
    error: DomainError | None = None


@dataclass
class _Job:
    actor: Actor
    msg_id: str | None
    command: Any
    at: float | None  # when the command was given, if not now (a REST start/end)
    done: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def key(self) -> tuple[int, str] | None:
        return None if self.msg_id is None else (self.actor.user_id, self.msg_id)


class SessionRuntime:
    def __init__(
        self,
        session_id: int,
        live: LiveSession,
        event_log: EventLog,
        last_seq: int,
        *,
        tally_hz: float,
        replay_limit: int,
        on_status: StatusCallback | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session_id = session_id
        self.live = live
        self.hub = SessionHub()
        self.last_seq = last_seq
        self._log = event_log
        self._clock = clock
        self._on_status = on_status
        self._tally_interval = 1.0 / tally_hz
        self._replay_limit = replay_limit
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._lock = asyncio.Lock()
        # The idempotency store: (user, message id) -> (first seq or None, command fingerprint;
        # None for rows logged before fingerprints were stored).
        self._done: dict[tuple[int, str], tuple[int | None, str | None]] = {}
        self._tallies: dict[tuple[Any, ...], Event] = {}
        self._tally_wake = asyncio.Event()
        # Called (synchronously, in order) with every stored event after it is published:
        # the engagement bridge and the media layer listen here.
        self.observers: list[Observer] = []
        self.extensions: dict[str, Any] = {}
        self.close_hooks: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._leaving: dict[int, asyncio.Task[None]] = {}

    is_replica = False

    @property
    def lock(self) -> asyncio.Lock:
        """Held while events are stored and fanned out, and while a connection is attached."""
        return self._lock

    def start(self) -> None:
        """Start the single writer and the tally flusher (the engine does, once loaded)."""
        sid = self.session_id
        self._tasks = [
            asyncio.create_task(self._write_loop(), name=f"session-{sid}-writer"),
            asyncio.create_task(self._tally_loop(), name=f"session-{sid}-tallies"),
        ]

    def kick_all(self, code: int) -> None:
        for conn in self.hub.connections():
            conn.kick(code)

    def kick_user(self, user_id: int, code: int) -> None:
        """Close every websocket of one person here (removed from the lesson)."""
        for conn in self.hub.connections():
            if conn.actor.user_id == user_id:
                conn.kick(code)

    @property
    def roster(self) -> Roster:
        return self.live.roster

    def remember(self, logged: LoggedEvent) -> None:
        """Note a logged command id (on load from the log) so a retried message is not re-run."""
        if logged.client_msg_id is not None and logged.actor_id is not None:
            key = (logged.actor_id, logged.client_msg_id)
            self._done[key] = (logged.seq, logged.command_hash)

    async def submit(
        self, actor: Actor, msg_id: str | None, command: Any, at: float | None = None
    ) -> Outcome:
        """Run ``command`` through the writer; ``at``: the time it was given, when that was
        before it reached the writer (a REST start whose runtime had to load first)."""
        job = _Job(actor, msg_id, command, at)
        await self._queue.put(job)
        return await job.done

    async def attach(self, conn: Connection, last_seq: int | None) -> None:
        """Welcome a connection, replay what it missed after ``last_seq``, then go live.
        Holding the writer's lock makes the hand-over from replay to live gap-free."""
        async with self._lock:
            welcome: dict[str, Any] = {
                "type": "welcome",
                "protocol": protocol.PROTOCOL_VERSION,
                "session_id": self.session_id,
                "last_seq": self.last_seq,
                "lesson_clock": self.live.lesson_clock(self._clock()),
                "snapshot": self.live.snapshot_for(conn.actor),
            }
            missed: list[LoggedEvent] = []
            if last_seq is not None and last_seq < self.last_seq:
                missed = await self._log.read_since(
                    self.session_id, max(0, last_seq), limit=self._replay_limit + 1
                )
                welcome["replay_truncated"] = len(missed) > self._replay_limit
                missed = missed[: self._replay_limit]
            frames = [protocol.encode(welcome)]
            frames += [
                protocol.event_frame(e.seq, e.event.type, e.event.data, e.event.at)
                for e in missed
                if e.event.audience.includes(conn.actor)
            ]
            conn.push_unbounded(frames)
            self.hub.add(conn)
        leaving = self._leaving.pop(conn.actor.user_id, None)
        if leaving is not None:  # back within the grace: they never left
            leaving.cancel()

    def detach(self, conn: Connection) -> None:
        self.hub.remove(conn)

    def leave_when_gone(self, actor: Actor, grace_seconds: float) -> None:
        """``actor`` has no open websocket here: they leave the session (hand down, off stage)
        once they have stayed away ``grace_seconds``. A quick resume keeps their presence,
        their place in the hand queue and on stage, as a dropped network should."""
        if actor.user_id in self._leaving:
            return  # already counting down
        task = asyncio.create_task(
            self._leave_later(actor, grace_seconds, self._clock()),
            name=f"session-{self.session_id}-leave",
        )
        self._leaving[actor.user_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._leaving.get(actor.user_id) is done:
                del self._leaving[actor.user_id]

        task.add_done_callback(forget)

    async def _leave_later(self, actor: Actor, grace_seconds: float, gone_at: float) -> None:
        """The leave is stamped when the last websocket closed, not when the grace ran out,
        so attendance counts no minute of the grace."""
        await asyncio.sleep(grace_seconds)  # the grace itself, not a synchronisation
        if self.hub.user_connections(actor.user_id) == 0:
            await self.submit(actor, None, Leave(), at=gone_at)

    def publish(self, type_: str, data: dict[str, Any], audience: Audience, at: float) -> None:
        """Send a frame that is not logged (no seq): live aggregates, pulses, media signalling."""
        self.hub.publish(protocol.event_frame(None, type_, data, at), audience)

    async def close(self) -> None:
        for leaving in list(self._leaving.values()):
            leaving.cancel()
        for hook in self.close_hooks:
            try:
                await hook()
            except Exception:
                log.exception("session %s: close hook failed", self.session_id)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.done.done():
                job.done.set_result(Outcome(error=InvalidState("the server is shutting down")))

    # --- the single writer ---

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            async with self._lock:
                await self._process(batch)

    async def _process(self, batch: list[_Job]) -> None:
        now = self._clock()
        pending: list[PendingEvent] = []
        placed: list[tuple[_Job, int | None, DomainError | None]] = []
        in_batch: dict[tuple[int, str], tuple[int | None, str | None]] = {}
        statuses: list[tuple[SessionStatus, float]] = []
        for job in batch:
            key = job.key
            digest = fingerprint(job.command) if key is not None else None
            seen = None if key is None else self._done.get(key) or in_batch.get(key)
            if seen is not None:
                seq, earlier = seen
                if earlier is not None and earlier != digest:
                    job.done.set_result(Outcome(error=Conflict(REUSED_ID)))
                else:  # a retry of the same command: the same answer
                    job.done.set_result(Outcome(seq=seq))
                continue
            try:
                events = self.live.handle(job.actor, job.command, now if job.at is None else job.at)
            except DomainError as exc:
                placed.append((job, None, exc))
                continue
            logged = [e for e in events if e.type not in DERIVED_EVENT_TYPES]
            for event in events:
                if event.type in DERIVED_EVENT_TYPES:
                    self._coalesce(event)
                elif event.type in STATUS_AFTER:
                    statuses.append((STATUS_AFTER[event.type], event.at))
            index = len(pending) if logged else None
            for i, event in enumerate(logged):
                first_event = i == 0
                pending.append(
                    PendingEvent(
                        event,
                        job.actor.user_id,
                        job.msg_id if first_event else None,
                        digest if first_event else None,
                    )
                )
            if key is not None:
                seq = None if index is None else self.last_seq + 1 + index
                in_batch[key] = (seq, digest)
            placed.append((job, index, None))
        if pending:
            try:
                stored = await self._log.append(self.session_id, self.last_seq + 1, pending)
            except Exception:
                log.exception("session %s: storing %d events failed", self.session_id, len(pending))
                await self._recover(placed)
                return
            first = self.last_seq + 1
            self.last_seq += len(stored)
            for item in stored:
                frame = protocol.event_frame(
                    item.seq, item.event.type, item.event.data, item.event.at
                )
                self.hub.publish(frame, item.event.audience, eager=len(stored) == 1)
            for item in stored:
                if item.event.type == "moderation.removed":
                    self.kick_user(item.event.data["user_id"], protocol.CLOSE_REMOVED)
            for item in stored:
                for observer in self.observers:
                    try:
                        observer(self, item)
                    except Exception:
                        log.exception("session %s: observer failed", self.session_id)
        else:
            first = self.last_seq + 1
        # The row projection follows the stored event and precedes the acks, so whoever
        # started or ended the session reads the row as the log has it.
        for status, at in statuses:
            await self._project(status, at)
        for job, index, error in placed:
            if error is not None:
                job.done.set_result(Outcome(error=error))
                continue
            seq = None if index is None else first + index
            if job.key is not None:
                self._done[job.key] = (seq, fingerprint(job.command))
            job.done.set_result(Outcome(seq=seq))
        if self._tallies:
            self._tally_wake.set()

    async def _project(self, status: SessionStatus, at: float) -> None:
        if self._on_status is None:
            return
        try:
            await self._on_status(self.session_id, status, at)
        except Exception:  # the log holds it; the row is brought up to date on the next load
            log.exception("session %s: projecting status %s failed", self.session_id, status)

    async def _recover(self, placed: list[tuple[_Job, int | None, DomainError | None]]) -> None:
        """The store refused a batch: rebuild state from the log, tell the senders to retry."""
        events = await self._log.read_since(self.session_id, 0)
        self.live = LiveSession.replay(
            self.session_id, self.live.roster, [e.event for e in events], self.live.limits
        )
        self.last_seq = events[-1].seq if events else 0
        self._done.clear()
        for item in events:
            self.remember(item)
        retry = InvalidState("not stored: please retry")
        for job, _, error in placed:
            job.done.set_result(Outcome(error=error or retry))

    # --- coalesced aggregates ---

    def _coalesce(self, event: Event) -> None:
        ids = tuple(sorted((k, v) for k, v in event.data.items() if k.endswith("_id")))
        self._tallies[(event.type, event.audience, ids)] = event

    async def _tally_loop(self) -> None:
        """At most ``tally_hz`` flushes a second, each sending only the latest of each key."""
        while True:
            await self._tally_wake.wait()
            self._tally_wake.clear()
            tallies, self._tallies = self._tallies, {}
            for event in tallies.values():
                frame = protocol.event_frame(None, event.type, event.data, event.at)
                self.hub.publish(frame, event.audience, eager=len(tallies) == 1)
            await asyncio.sleep(self._tally_interval)  # the rate bound, not synchronisation
