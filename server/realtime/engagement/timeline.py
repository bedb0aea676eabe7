"""Storing the engine's ``TimelineEntry`` outputs in batches, and purging old ones.

``TimelineWriter`` buffers a session's entries and writes what is waiting in one transaction;
a failed write keeps the batch for the next attempt (the buffer is bounded: past
``max_pending`` the oldest entries are dropped and counted). Each entry is written once.

``purge_timeline(sessions, before)`` deletes entries older than a time; ``purge_expired`` uses
``EngagementSettings.purge_cutoff``; ``run_purge(settings)`` is the synchronous entry point for
a command line (``hyflex purge``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.engagement_models import EngagementTimeline
from server.domain.engagement import EngagementSettings, TimelineEntry
from server.settings import Settings

log = logging.getLogger(__name__)
MAX_REASONS = 8
MAX_REASON_CHARS = 300


def to_row(session_id: int, entry: TimelineEntry, lesson_s: float) -> EngagementTimeline:
    return EngagementTimeline(
        session_id=session_id,
        at=entry.at,
        lesson_s=lesson_s,
        scope=entry.scope,
        site_id=entry.site_id,
        user_id=entry.user_id,
        value=entry.value[:64],
        reasons=[r[:MAX_REASON_CHARS] for r in entry.reasons[:MAX_REASONS]],
    )


class TimelineWriter:
    """Buffered, batched writes of one session's timeline entries."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        session_id: int,
        lesson_clock: Callable[[float], float],
        max_pending: int = 20_000,
    ) -> None:
        self._sessions = sessions
        self._session_id = session_id
        self._lesson_clock = lesson_clock
        self._pending: deque[EngagementTimeline] = deque()
        self._max_pending = max_pending
        self._lock = asyncio.Lock()
        self.written = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, entry: TimelineEntry) -> None:
        """Queue one entry (its lesson-clock time is taken now, while the session is known)."""
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(to_row(self._session_id, entry, self._lesson_clock(entry.at)))

    async def flush(self, limit: int = 2000) -> int:
        """Write up to ``limit`` waiting entries in one transaction; how many were written."""
        async with self._lock:
            count = min(limit, len(self._pending))
            if not count:
                return 0
            batch = [self._pending.popleft() for _ in range(count)]
            try:
                async with self._sessions() as db:
                    db.add_all(batch)
                    await db.commit()
            except Exception:
                log.exception("engagement timeline: writing %d entries failed", count)
                # not written: put them back (as fresh rows) for the next attempt
                for row in reversed(batch):
                    self._pending.appendleft(_fresh(row))
                while len(self._pending) > self._max_pending:
                    self._pending.popleft()
                    self.dropped += 1
                return 0
            self.written += count
            return count

    async def flush_all(self, max_batches: int = 100) -> int:
        total = 0
        for _ in range(max_batches):
            written = await self.flush()
            total += written
            if not written or not self._pending:
                break
        return total


def _fresh(row: EngagementTimeline) -> EngagementTimeline:
    return EngagementTimeline(
        session_id=row.session_id,
        at=row.at,
        lesson_s=row.lesson_s,
        scope=row.scope,
        site_id=row.site_id,
        user_id=row.user_id,
        value=row.value,
        reasons=list(row.reasons),
    )


async def purge_timeline(sessions: async_sessionmaker[AsyncSession], before: float) -> int:
    """Delete timeline entries with ``at`` before ``before``; how many were deleted."""
    async with sessions() as db:
        result = await db.exec(
            delete(EngagementTimeline).where(col(EngagementTimeline.at) < before)
        )
        await db.commit()
    return int(result.rowcount or 0)


async def purge_expired(
    sessions: async_sessionmaker[AsyncSession], settings: EngagementSettings, now: float
) -> int:
    """Delete entries older than the retention (``timeline_retention_days``)."""
    return await purge_timeline(sessions, settings.purge_cutoff(now))


def run_purge(settings: Settings, now: float | None = None) -> int:
    """Synchronous entry point for ``hyflex purge``: purge the configured database."""
    from server.db.engine import make_engine, make_sessionmaker

    async def run() -> int:
        engine = make_engine(settings.resolved_database_url)
        try:
            stamp = time.time() if now is None else now
            return await purge_expired(make_sessionmaker(engine), settings.engagement, stamp)
        finally:
            await engine.dispose()

    return asyncio.run(run())
