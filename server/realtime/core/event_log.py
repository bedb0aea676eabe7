"""The per-session event log in the database: gap-free ``seq``, batched appends, replay."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import SessionEvent
from server.domain.events import Audience, Event
from server.observability import metrics


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


class EventLog:
    """Append and read one session's events. One writer per session (the session runtime)
    assigns ``seq``; the unique (session_id, seq) constraint guards against a second one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

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
