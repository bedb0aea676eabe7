"""The per-session event log in the database: gap-free ``seq``, batched appends, replay, and
the writer lease that makes one node the session's only writer.

On PostgreSQL the lease is a session-level advisory lock, ``pg_try_advisory_lock(WRITER_LOCK,
session_id)``, taken on a connection kept for that session and used for every append: a node
that dies loses its connection and so its lock at once; a node that is paused keeps both, so no
one else can take the session over meanwhile; a node whose connection broke can no longer append
(its appends fail, it lets the session go). SQLite serves one node: the lease is always held.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import SessionEvent
from server.domain.events import Audience, Event
from server.observability import metrics

log = logging.getLogger(__name__)
WRITER_LOCK = 0x48594C  # the advisory lock class of session writers ("HYL")
# Whether this very backend holds the lease: checked in every append's transaction, so an
# append that a silently re-opened connection would make without the lock is refused.
_MINE = text(
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
    " AND objsubid = 2 AND classid::bigint = :c AND objid::bigint = :s"
)
_HELD = text(
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 2 AND classid::bigint = :c AND objid::bigint = ANY(:ids)"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    seq: int
    event: Event
    actor_id: int | None
    client_msg_id: str | None
    command_hash: str | None = None


@dataclass(frozen=True, slots=True)
class PendingEvent:
    event: Event
    actor_id: int | None
    client_msg_id: str | None
    command_hash: str | None = None


def event_row(session_id: int, seq: int, pending: PendingEvent) -> SessionEvent:
    """The stored form of one event."""
    return SessionEvent(
        session_id=session_id,
        seq=seq,
        type=pending.event.type,
        data=pending.event.data,
        audience=pending.event.audience.as_dict(),
        at=pending.event.at,
        actor_id=pending.actor_id,
        client_msg_id=pending.client_msg_id,
        command_hash=pending.command_hash,
    )


class LeaseLost(RuntimeError):
    """The writer's connection (and with it its lock) is gone: it may not append any more."""


class WriterLease:
    """The right to append to one session's log, held on the connection that appends
    (PostgreSQL), or by the only node (SQLite: ``conn`` is None, appends use the pool)."""

    def __init__(self, log: EventLog, session_id: int, conn: AsyncConnection | None = None) -> None:
        self._log = log
        self.session_id = session_id
        self._conn = conn
        self._use = asyncio.Lock()
        self.lost = False

    @property
    def fenced(self) -> bool:
        """True when the database itself keeps every other node from writing (PostgreSQL)."""
        return self._conn is not None

    async def append(
        self, session_id: int, first_seq: int, batch: Sequence[PendingEvent]
    ) -> list[LoggedEvent]:
        if self._conn is None:
            return await self._log.append(session_id, first_seq, batch)
        if self.lost or session_id != self.session_id:
            raise LeaseLost(f"session {session_id}: this node is not its writer any more")
        rows = [
            event_row(session_id, first_seq + i, p).model_dump(exclude={"id"})
            for i, p in enumerate(batch)
        ]
        async with self._use:
            try:
                if await self._conn.scalar(_MINE, self._key) is None:
                    self.lost = True
                    await self._conn.rollback()
                    raise LeaseLost(f"session {session_id}: the writer lease was lost")
                await self._conn.execute(SessionEvent.__table__.insert(), rows)  # type: ignore[attr-defined]
                await self._conn.commit()
            except LeaseLost:
                raise
            except Exception:
                await self._check()
                raise
        return [
            LoggedEvent(first_seq + i, p.event, p.actor_id, p.client_msg_id, p.command_hash)
            for i, p in enumerate(batch)
        ]

    @property
    def _key(self) -> dict[str, int]:
        return {"c": WRITER_LOCK, "s": self.session_id}

    async def _check(self) -> None:
        """Roll back; the lease is lost unless this very backend still holds the lock (a
        connection that died, even one the driver silently opened again, does not)."""
        assert self._conn is not None
        try:
            await asyncio.wait_for(self._conn.rollback(), 5)
            held = await asyncio.wait_for(self._conn.scalar(_MINE, self._key), 5)
            await asyncio.wait_for(self._conn.commit(), 5)
        except Exception:
            held = None
        if held is None:
            self.lost = True

    async def alive(self) -> bool:
        """Whether this node still holds the lease (its connection answers)."""
        if self._conn is None or self.lost:
            return not self.lost
        async with self._use:
            await self._check()
        return not self.lost

    async def release(self) -> None:
        """Let the session go: unlock and close the connection (closing alone also unlocks)."""
        conn, self._conn = self._conn, None
        self.lost = True
        if conn is None:
            return
        try:
            async with self._use:
                await asyncio.wait_for(
                    conn.execute(
                        text("SELECT pg_advisory_unlock(:c, :s)"),
                        {"c": WRITER_LOCK, "s": self.session_id},
                    ),
                    5,
                )
                await asyncio.wait_for(conn.commit(), 5)
        except Exception:
            log.warning("session %s: unlocking the writer lease failed", self.session_id)
        finally:
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                await conn.invalidate()


class EventLog:
    """Append and read one session's events. One writer per session (the session runtime)
    assigns ``seq``; the writer lease (PostgreSQL) keeps any other node from appending, and the
    unique (session_id, seq) constraint stays as the last guard."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine | None = None
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._lease_engine: AsyncEngine | None = None  # one connection per held lease

    @property
    def fenced(self) -> bool:
        """Writers are fenced by the database (PostgreSQL advisory locks)."""
        return self._engine is not None and self._engine.dialect.name == "postgresql"

    async def acquire(self, session_id: int) -> WriterLease | None:
        """The writer lease of ``session_id``, or None while another node holds it."""
        if not self.fenced:
            return WriterLease(self, session_id)
        assert self._engine is not None
        if self._lease_engine is None:
            self._lease_engine = create_async_engine(self._engine.url, poolclass=NullPool)
        conn = await self._lease_engine.connect()
        try:
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:c, :s)"), {"c": WRITER_LOCK, "s": session_id}
            )
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return None
        return WriterLease(self, session_id, conn)

    async def writers_alive(self, session_ids: Iterable[int]) -> set[int] | None:
        """Which of these sessions have a live writer somewhere (None: unknown, SQLite)."""
        ids = list(session_ids)
        if not self.fenced or not ids:
            return None if not self.fenced else set()
        assert self._engine is not None
        async with self._engine.connect() as conn:
            rows = await conn.execute(_HELD, {"c": WRITER_LOCK, "ids": ids})
            return {int(r[0]) for r in rows}

    async def find_command(self, session_id: int, actor_id: int, msg_id: str) -> int | None:
        """The seq a command (by its sender and message id) was stored at, if it was."""
        query = select(SessionEvent.seq).where(
            col(SessionEvent.session_id) == session_id,
            col(SessionEvent.actor_id) == actor_id,
            col(SessionEvent.client_msg_id) == msg_id,
        )
        async with self._sessions() as db:
            found = (await db.exec(query)).first()
        return None if found is None else int(found)

    async def append(
        self, session_id: int, first_seq: int, batch: Sequence[PendingEvent]
    ) -> list[LoggedEvent]:
        """Store ``batch`` in one transaction with seq first_seq, first_seq+1, ..."""
        started = time.perf_counter()
        rows = [event_row(session_id, first_seq + i, p) for i, p in enumerate(batch)]
        async with self._sessions() as db:
            db.add_all(rows)
            await db.commit()
        metrics.events_appended(time.perf_counter() - started)
        return [
            LoggedEvent(first_seq + i, p.event, p.actor_id, p.client_msg_id, p.command_hash)
            for i, p in enumerate(batch)
        ]

    async def read_since(
        self, session_id: int, after_seq: int = 0, limit: int | None = None
    ) -> list[LoggedEvent]:
        query = (
            select(SessionEvent)
            .where(col(SessionEvent.session_id) == session_id, col(SessionEvent.seq) > after_seq)
            .order_by(col(SessionEvent.seq))
        )
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions() as db:
            rows = list(await db.exec(query))
        return [
            LoggedEvent(
                seq=row.seq,
                event=Event(
                    type=row.type,
                    data=row.data,
                    audience=Audience.from_dict(row.audience),
                    at=row.at,
                ),
                actor_id=row.actor_id,
                client_msg_id=row.client_msg_id,
                command_hash=row.command_hash,
            )
            for row in rows
        ]
