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

from server.domain.coalescer import Coalescer
from server.domain.errors import Conflict, DomainError, InvalidState
from server.domain.events import Audience, Event
from server.domain.idempotency import IdempotencyStore, KeptStore
from server.domain.live import (
    DERIVED_EVENT_TYPES,
    STATUS_AFTER,
    LiveAggregate,
    Roster,
    SessionStatus,
)
from server.domain.live.commands import Leave, ShowQuestion
from server.domain.roles import Actor, Role
from server.observability import metrics
from server.realtime.core import protocol
from server.realtime.core.event_log import EventLog, LoggedEvent, PendingEvent, WriterLease
from server.realtime.core.extension import Extensions, SessionExtension
from server.realtime.core.hub import Connection, SessionHub
from server.realtime.core.ticker import SessionTicker
from server.task_stop import stop_tasks

log = logging.getLogger(__name__)
MAX_BATCH = 256
REUSED_ID = "this message id was already used for a different command: use a new id"
QUESTION_CHECK_SECONDS = 1.0  # the longest wait between looks at the timed questions
WAKES_QUESTIONS = frozenset({"session.started", "question.prepared"})
EXPIRED = "not run: it reached the session's writer too late; resending the same id is safe"
CLOSE_WAIT_SECONDS = 10.0  # at most this long for the batch being stored when closing
HANDED_OVER = "not run: this node is letting the session go; resend (the same id is safe)"
StatusCallback = Callable[[int, SessionStatus, float], Awaitable[None]]
Done = tuple[int | None, str | None]  # a handled message id: (first seq, command fingerprint)


class Unavailable(DomainError):
    """Not run: the writer could not take the command in time. Resending the same id is safe."""

    code = "unavailable"


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
    deadline: float | None = None  # wall-clock time after which it must not run (forwarded)
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
        live: LiveAggregate,
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
        # Where appends go: the writer lease in a cluster (fenced by the database), else the log.
        self.lease: WriterLease | None = None
        self._clock = clock
        self._on_status = on_status
        self._replay_limit = replay_limit
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._lock = asyncio.Lock()
        # The idempotency store: (user, message id) -> (first seq or None, command fingerprint;
        # None for rows logged before fingerprints were stored). Durable: refilled from the log.
        self._done: IdempotencyStore[Done] = KeptStore()
        self._tallies: Coalescer[tuple[Any, ...], Event] = Coalescer(1.0 / tally_hz)
        # Media and engagement: each sees every stored event after it is published (in order)
        # and ticks with the session's one ticker.
        self.extensions = Extensions()
        self.ticker = SessionTicker(f"session-{session_id}")
        self.ticker.add("tallies", self._flush_tallies)
        self.ticker.add("questions", self._show_due_questions, self.ticker.clock())
        self._tasks: list[asyncio.Task[None]] = []
        self._leaving: dict[int, asyncio.Task[None]] = {}
        self._closing = False

    is_replica = False

    @property
    def closing(self) -> bool:
        """The writer is stopping (the node lets the session go): it takes no command."""
        return self._closing

    @property
    def lock(self) -> asyncio.Lock:
        """Held while events are stored and fanned out, and while a connection is attached."""
        return self._lock

    def start(self) -> None:
        """Start the single writer and the ticker (the engine does, once loaded)."""
        sid = self.session_id
        self._tasks = [asyncio.create_task(self._write_loop(), name=f"session-{sid}-writer")]
        self.ticker.start()

    def add_extension(self, extension: SessionExtension) -> None:
        """Register a loaded extension: it sees the next stored event and ticks from now."""
        self.extensions.add(extension)
        self.ticker.add(extension.name, extension.tick, self.ticker.clock())

    def writer_alive(self) -> bool:
        """The single writer task is running (for ``/readyz``)."""
        return bool(self._tasks) and not self._tasks[0].done()

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
            self._done.put(key, (logged.seq, logged.command_hash))

    async def submit(
        self,
        actor: Actor,
        msg_id: str | None,
        command: Any,
        at: float | None = None,
        deadline: float | None = None,
    ) -> Outcome:
        """Run ``command`` through the writer; ``at``: the time it was given, when that was
        before it reached the writer (a REST start whose runtime had to load first);
        ``deadline``: the wall-clock time after which the writer refuses it (``unavailable``)
        instead of running it, because its sender has stopped waiting (a forwarded command)."""
        if self._closing:
            return Outcome(error=Unavailable(HANDED_OVER))
        job = _Job(actor, msg_id, command, at, deadline)
        started = time.perf_counter()
        await self._queue.put(job)
        outcome = await job.done
        metrics.command_answered(time.perf_counter() - started, outcome.error is not None)
        return outcome

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
        """Stop the writer once the batch it is storing is stored (so every command is either
        answered or was never run), then run the close hooks (the lease is let go there)."""
        self._closing = True
        for leaving in list(self._leaving.values()):
            leaving.cancel()
        await self.ticker.close()
        locked = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                await self._lock.acquire()
                locked = True
        try:
            await stop_tasks(self._tasks)
        finally:
            if locked:
                self._lock.release()
        for extension in self.extensions:  # the cluster's lease is let go here, last
            try:
                await extension.close()
            except Exception:
                log.exception("session %s: closing %s failed", self.session_id, extension.name)
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.done.done():
                job.done.set_result(Outcome(error=Unavailable(HANDED_OVER)))

    # --- the single writer ---

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._lock:
                    await self._process(batch)
            except asyncio.CancelledError:  # closing while the batch waited for the lock
                for job in batch:
                    if not job.done.done():
                        job.done.set_result(Outcome(error=Unavailable(HANDED_OVER)))
                raise

    async def _process(self, batch: list[_Job]) -> None:
        now = self._clock()
        pending: list[PendingEvent] = []
        placed: list[tuple[_Job, int | None, DomainError | None]] = []
        in_batch: dict[tuple[int, str], Done] = {}
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
            if job.deadline is not None and time.time() > job.deadline:
                job.done.set_result(Outcome(error=Unavailable(EXPIRED)))
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
                appender = self._log if self.lease is None else self.lease
                stored = await appender.append(self.session_id, self.last_seq + 1, pending)
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
                if item.event.type in WAKES_QUESTIONS:
                    self.ticker.poke("questions")
                for extension in self.extensions:
                    try:
                        extension.on_event(item)
                    except Exception:
                        log.exception("session %s: %s failed", self.session_id, extension.name)
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
                self._done.put(job.key, (seq, fingerprint(job.command)))
            job.done.set_result(Outcome(seq=seq))
        due = self._tallies.due()
        if due is not None:
            self.ticker.poke("tallies", max(0.0, due - self.ticker.clock()))

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
        self.live = LiveAggregate.replay(
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
        self._tallies.put((event.type, event.audience, ids), event)

    async def _flush_tallies(self, now: float) -> float | None:
        """At most ``tally_hz`` flushes a second, each sending only the latest of each key."""
        tallies = self._tallies.take(now)
        for event in tallies:
            frame = protocol.event_frame(None, event.type, event.data, event.at)
            self.hub.publish(frame, event.audience, eager=len(tallies) == 1)
        return self._tallies.due()

    # --- timed embedded questions ---

    async def _show_due_questions(self, now: float) -> float | None:
        """Show each prepared question whose lesson-clock position has come, as the teacher
        would (``question.show``); None while nothing is planned (a prepare or the start pokes
        the ticker)."""
        if self.live.status is not SessionStatus.LIVE:
            return None
        teacher = next((a for a in self.roster if a.role == Role.TEACHER), None)
        if teacher is None:
            return None
        for question_id in self.live.due_questions(self._clock()):
            outcome = await self.submit(teacher, None, ShowQuestion(question_id))
            if outcome.error is not None:
                log.info(
                    "session %s: timed question %s not shown: %s",
                    self.session_id,
                    question_id,
                    outcome.error.message,
                )
        wait = self.live.next_question_in(self._clock())
        if wait is None:
            return None
        # a refused one is due still: look again after the longest wait, not at once
        return now + (QUESTION_CHECK_SECONDS if wait <= 0 else min(QUESTION_CHECK_SECONDS, wait))
