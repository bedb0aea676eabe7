"""Sending an ended lesson's xAPI statements to the Learning Record Store (docs/xapi.md).

The statements are rebuilt from the event log each time (``server.domain.xapi``): their ids
are derived from the session and event seq, so a resend carries the same ids. Per lesson the
``xapi_cursor`` row holds the seq up to which the LRS accepted them; it moves only after the
LRS answered a batch with success. A crash between the two resends that batch, which the LRS
keeps once (same ids; a 409 for a statement it already holds counts as accepted). Nothing is
lost: a failed batch stays after the cursor for the next attempt (backoff, restart, or
``hyflex xapi-sync``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import Course, LiveSession, SessionEvent, User
from server.db.xapi_models import XapiCursor
from server.domain.events import Event
from server.domain.live import SessionStatus
from server.domain.xapi import Identity, Statement, lesson_statements
from server.settings import Settings
from server.task_stop import stop_tasks

log = logging.getLogger(__name__)
XAPI_VERSION = "1.0.3"


class LrsError(RuntimeError):
    """The LRS could not be reached or refused a batch (the message is safe to show)."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    session_id: int
    sent: int
    """Statements accepted in this run."""
    sent_seq: int


def batches(statements: Sequence[Statement], size: int) -> Iterator[list[Statement]]:
    """Batches of about ``size`` that never split one seq (the cursor moves by seq)."""
    batch: list[Statement] = []
    for statement in statements:
        if len(batch) >= size and statement.seq != batch[-1].seq:
            yield batch
            batch = []
        batch.append(statement)
    if batch:
        yield batch


class LrsClient:
    """POST /statements of an xAPI 1.0.3 LRS with basic auth."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.url = settings.lrs_url.rstrip("/") + "/statements"
        self.http = http or httpx.AsyncClient(timeout=settings.lrs_timeout_seconds)
        self.auth = httpx.BasicAuth(settings.lrs_username, settings.lrs_password.get_secret_value())
        self.headers = {"X-Experience-API-Version": XAPI_VERSION}

    async def send(self, statements: Sequence[Statement]) -> None:
        body = [s.body for s in statements]
        try:
            resp = await self.http.post(self.url, json=body, auth=self.auth, headers=self.headers)
        except httpx.HTTPError as exc:
            raise LrsError(f"the LRS could not be reached ({type(exc).__name__})") from exc
        if resp.status_code == 409 and len(statements) > 1:
            for statement in statements:  # some are stored already: send the others one by one
                await self.send([statement])
            return
        if resp.status_code == 409 or resp.is_success:
            return  # 409 for one statement: the LRS holds that id already
        raise LrsError(f"the LRS answered {resp.status_code}")

    async def close(self) -> None:
        await self.http.aclose()


async def _identity(db: AsyncSession, live: LiveSession, settings: Settings) -> Identity:
    course = await db.get(Course, live.course_id)
    return Identity(
        base_url=settings.base_url,
        course_id=live.course_id,
        course_title=course.title if course is not None else "",
        session_id=live.id or 0,
        title=live.title,
    )


async def _log(db: AsyncSession, session_id: int) -> list[tuple[int, Event]]:
    rows = await db.exec(
        select(
            col(SessionEvent.seq),
            col(SessionEvent.type),
            col(SessionEvent.data),
            col(SessionEvent.at),
        )
        .where(col(SessionEvent.session_id) == session_id)
        .order_by(col(SessionEvent.seq))
    )
    return [(seq, Event(type_, data, at=at)) for seq, type_, data, at in rows]


async def _emails(db: AsyncSession, events: list[tuple[int, Event]]) -> dict[int, str]:
    ids = {e.data["user_id"] for _, e in events if isinstance(e.data.get("user_id"), int)}
    rows = await db.exec(select(col(User.id), col(User.email)).where(col(User.id).in_(ids)))
    return {uid: email for uid, email in rows if uid is not None}


async def sync_session(
    db: AsyncSession, settings: Settings, client: LrsClient, session_id: int
) -> SyncResult:
    """Send the statements of an ended lesson that the LRS has not accepted yet."""
    live = await db.get(LiveSession, session_id)
    if live is None or live.status is not SessionStatus.ENDED:
        return SyncResult(session_id, 0, 0)
    cursor = await db.get(XapiCursor, session_id) or XapiCursor(session_id=session_id)
    events = await _log(db, session_id)
    emails = await _emails(db, events) if settings.lrs_send_emails else {}
    statements = lesson_statements(await _identity(db, live, settings), events, emails)
    pending = [s for s in statements if s.seq > cursor.sent_seq]
    sent = 0
    for batch in batches(pending, settings.lrs_batch_size):
        try:
            await client.send(batch)
        except LrsError as exc:
            cursor.last_error = str(exc)[:300]
            cursor.updated_at = time.time()
            db.add(cursor)
            await db.commit()
            raise
        cursor.sent_seq = batch[-1].seq
        cursor.sent += len(batch)
        cursor.last_error = None
        cursor.updated_at = time.time()
        db.add(cursor)
        await db.commit()
        sent += len(batch)
    return SyncResult(session_id, sent, cursor.sent_seq)


async def ended_sessions(db: AsyncSession) -> list[int]:
    rows = await db.exec(
        select(col(LiveSession.id))
        .where(col(LiveSession.status) == SessionStatus.ENDED)
        .order_by(col(LiveSession.id))
    )
    return [sid for sid in rows if sid is not None]


class XapiSync:
    """Background sends after a lesson ends, retried with exponential backoff (bounded)."""

    def __init__(self, sessions: Any, settings: Settings, client: LrsClient) -> None:
        self.sessions = sessions
        self.settings = settings
        self.client = client
        self.tasks: set[asyncio.Task[None]] = set()

    def kick(self, session_id: int | None = None) -> asyncio.Task[None]:
        """Send one lesson's statements (None: every ended lesson's) in the background."""
        task = asyncio.create_task(self._run(session_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _run(self, session_id: int | None) -> None:
        delay = self.settings.lrs_retry_seconds
        for attempt in range(1, self.settings.lrs_max_attempts + 1):
            try:
                await self.sync(session_id)
                return
            except LrsError as exc:
                log.warning("xAPI send failed (attempt %d): %s", attempt, exc)
            if attempt < self.settings.lrs_max_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 600.0)
        log.error("xAPI send gave up; run `hyflex xapi-sync` to retry")

    async def sync(self, session_id: int | None = None) -> list[SyncResult]:
        async with self.sessions() as db:
            ids = [session_id] if session_id is not None else await ended_sessions(db)
            return [await sync_session(db, self.settings, self.client, sid) for sid in ids]

    async def start(self) -> None:
        self.kick(None)  # what a stop or an outage left unsent

    async def close(self) -> None:
        await stop_tasks(list(self.tasks))
        await self.client.close()


def install_xapi(app: Any, services: Any) -> None:
    """With ``lrs_url`` set: ``app.state.xapi`` sends each lesson's statements once it ended
    (``kick`` from the lifecycle) and, at start-up, whatever an outage or a stop left unsent."""
    settings: Settings = services.settings
    if not settings.lrs_url:
        app.state.xapi = None
        return
    xapi = XapiSync(services.sessions, settings, LrsClient(settings))
    app.state.xapi = xapi
    app.state.startup_hooks.append(xapi.start)
    app.state.shutdown_hooks.append(xapi.close)


async def run_sync(settings: Settings, session_id: int | None) -> int:
    """``hyflex xapi-sync``: one pass, printed per lesson; 1 if the LRS failed."""
    from server.db.engine import make_engine, make_sessionmaker

    engine = make_engine(settings.resolved_database_url)
    sync = XapiSync(make_sessionmaker(engine), settings, LrsClient(settings))
    try:
        results = await sync.sync(session_id)
    except LrsError as exc:
        print(f"hyflex: xAPI send stopped: {exc}; what was accepted is kept, run again later")
        return 1
    finally:
        await sync.close()
        await engine.dispose()
    for r in results:
        print(f"lesson {r.session_id}: {r.sent} statements sent (up to event {r.sent_seq})")
    return 0
