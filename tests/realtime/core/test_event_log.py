"""The event log on a real database: sequenced appends, replay from a seq, one writer per seq."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.engine import make_engine, make_sessionmaker
from server.demo import seed_demo
from server.domain.events import EVERYONE, Event, to_user
from server.realtime.core.event_log import EventLog, PendingEvent
from server.settings import Settings


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _fresh_session(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """A seeded session and the last seq the demo logged for it."""
    demo = await seed_demo(sessions)
    assert demo.session.id is not None
    seeded = await EventLog(sessions).read_since(demo.session.id)
    return demo.session.id, seeded[-1].seq if seeded else 0


def _pending(n: int, **extra: str) -> PendingEvent:
    event = Event("reaction.sent", {"n": n}, to_user(7) if n % 2 else EVERYONE, 1000.0 + n)
    return PendingEvent(event, 7, extra.get("msg"), extra.get("digest"))


async def test_appends_are_numbered_and_read_back_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    session_id, base = await _fresh_session(sessions)
    log = EventLog(sessions)
    first = [_pending(1, msg="m1", digest="d1"), _pending(2)]
    stored = await log.append(session_id, base + 1, first)
    assert [s.seq for s in stored] == [base + 1, base + 2]
    await log.append(session_id, base + 3, [_pending(3)])
    mine = await log.read_since(session_id, base)
    assert [e.seq for e in mine] == [base + 1, base + 2, base + 3]
    assert mine[0].event == _pending(1).event  # audience, data and time survive the round trip
    assert (mine[0].client_msg_id, mine[0].command_hash, mine[0].actor_id) == ("m1", "d1", 7)
    assert [e.seq for e in await log.read_since(session_id, base + 1)] == [base + 2, base + 3]
    assert [e.seq for e in await log.read_since(session_id, base, limit=2)] == [base + 1, base + 2]
    assert await log.read_since(session_id + 1000) == []


async def test_a_second_writer_of_the_same_seq_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    session_id, base = await _fresh_session(sessions)
    log = EventLog(sessions)
    await log.append(session_id, base + 1, [_pending(1)])
    with pytest.raises(IntegrityError):
        await log.append(session_id, base + 1, [_pending(2)])
    assert [e.event.data for e in await log.read_since(session_id, base)] == [{"n": 1}]


async def test_one_writer_lease_per_session_held_on_the_appending_connection(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """PostgreSQL: a second node cannot take the lease while the first holds it; the lease
    goes with its connection (a dead node), and a writer that lost it cannot append. SQLite
    (one node): the lease is always granted and appends go through the pool as before."""
    session_id, base = await _fresh_session(sessions)
    engine = make_engine(settings.database_url)
    try:
        log = EventLog(make_sessionmaker(engine), engine)
        first = await log.acquire(session_id)
        assert first is not None
        if not log.fenced:
            assert await log.writers_alive([session_id]) is None
            assert await first.append(session_id, base + 1, [_pending(1)])
            return
        assert await log.acquire(session_id) is None  # a second writer is refused
        assert await log.writers_alive([session_id, session_id + 1000]) == {session_id}
        assert await first.append(session_id, base + 1, [_pending(1)])
        async with engine.connect() as admin:  # the writer's connection dies (node killed)
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND objid::bigint = :s AND objsubid = 2 AND granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                ),
                {"s": session_id},
            )
            await admin.commit()
        with pytest.raises(Exception):  # noqa: B017 - whichever error the dead connection gives
            await first.append(session_id, base + 2, [_pending(2)])
        assert not await first.alive()
        second = await log.acquire(session_id)  # the lease went with the connection
        assert second is not None
        assert await second.append(session_id, base + 2, [_pending(2)])
        await first.release()
        await second.release()
        assert await log.writers_alive([session_id]) == set()
    finally:
        await engine.dispose()
