"""The runtimes of the live sessions this process serves, loaded from the database on first
use (roster from enrolments, state by replaying the event log) and kept while it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlmodel import col, select

from server.api.deps import Services
from server.db.models import Course, CourseSite, Enrolment, LiveSession, SessionStatus, User
from server.domain.errors import NotFound
from server.domain.live import LiveSession as LiveAggregate
from server.domain.live import Roster
from server.domain.live.commands import EndSession, StartSession
from server.domain.roles import Actor, Role
from server.realtime.event_log import EventLog
from server.realtime.runtime import SessionRuntime
from server.services.principal import Principal

RuntimeHook = Callable[[SessionRuntime], Awaitable[None]]


class RealtimeEngine:
    def __init__(self, services: Services) -> None:
        self.services = services
        # Run once on each runtime right after it is loaded (engagement, media attach here).
        self.runtime_hooks: list[RuntimeHook] = []
        self.log = EventLog(services.sessions)
        self._runtimes: dict[int, SessionRuntime] = {}
        self._loading: dict[int, asyncio.Lock] = {}

    async def runtime(self, session_id: int) -> SessionRuntime:
        found = self._runtimes.get(session_id)
        if found is not None:
            return found
        lock = self._loading.setdefault(session_id, asyncio.Lock())
        async with lock:
            found = self._runtimes.get(session_id)
            if found is None:
                found = await self._load(session_id)
                self._runtimes[session_id] = found
        return found

    async def load_roster(self, session_id: int) -> tuple[LiveSession, Roster]:
        async with self.services.sessions() as db:
            row = await db.get(LiveSession, session_id)
            course = await db.get(Course, row.course_id) if row is not None else None
            if row is None or course is None:
                raise NotFound(f"session {session_id} not found")
            actors = [Actor(course.teacher_id, Role.TEACHER, None)]
            admins = await db.exec(select(User.id).where(col(User.role) == Role.ADMIN))
            actors += [Actor(uid, Role.ADMIN, None) for uid in admins if uid is not None]
            site_ids = list(
                await db.exec(
                    select(CourseSite.site_id).where(col(CourseSite.course_id) == course.id)
                )
            )
            facilitators = await db.exec(
                select(User).where(
                    col(User.role) == Role.FACILITATOR, col(User.home_site_id).in_(site_ids)
                )
            )
            actors += [Actor(u.id or 0, Role.FACILITATOR, u.home_site_id) for u in facilitators]
            enrolments = await db.exec(
                select(Enrolment).where(col(Enrolment.course_id) == course.id)
            )
            actors += [Actor(e.student_id, Role.STUDENT, e.site_id) for e in enrolments]
        return row, Roster(actors)

    async def _load(self, session_id: int) -> SessionRuntime:
        row, roster = await self.load_roster(session_id)
        logged = await self.log.read_since(session_id, 0)
        live = LiveAggregate.replay(session_id, roster, [e.event for e in logged])
        settings = self.services.settings
        runtime = SessionRuntime(
            session_id,
            live,
            self.log,
            logged[-1].seq if logged else 0,
            tally_hz=settings.staff_update_hz,
            replay_limit=settings.ws_replay_limit,
            on_status=self._store_status,
        )
        for item in logged:
            runtime.remember(item)
        for hook in self.runtime_hooks:
            await hook(runtime)
        await self._reconcile(runtime, row)
        return runtime

    async def _reconcile(self, runtime: SessionRuntime, row: LiveSession) -> None:
        """A session started or ended through the API before its runtime existed (or while
        the server was down) gets the matching domain event now."""
        teacher = next(a for a in runtime.roster if a.role == Role.TEACHER)
        domain = runtime.live.status.value
        if row.status in (SessionStatus.LIVE, SessionStatus.ENDED) and domain == "scheduled":
            await runtime.submit(teacher, None, StartSession())
        if row.status == SessionStatus.ENDED and runtime.live.status.value != "ended":
            await runtime.submit(teacher, None, EndSession())

    async def _store_status(self, session_id: int, status: str, at: float) -> None:
        async with self.services.sessions() as db:
            row = await db.get(LiveSession, session_id)
            if row is None:
                return
            stamp = datetime.fromtimestamp(at, UTC)
            if status == "started" and row.status == SessionStatus.SCHEDULED:
                row.status, row.started_at = SessionStatus.LIVE, stamp
            elif status == "ended" and row.status != SessionStatus.ENDED:
                row.status, row.ended_at = SessionStatus.ENDED, stamp
            else:
                return
            db.add(row)
            await db.commit()

    async def session_status_changed(self, live: LiveSession, who: Principal) -> None:
        """Called by the REST start/end routes: only sessions already in memory need telling;
        others reconcile when they load."""
        runtime = self._runtimes.get(live.id or 0)
        if runtime is not None:
            await self._reconcile(runtime, live)

    def loaded(self) -> list[int]:
        return sorted(self._runtimes)

    async def close(self) -> None:
        runtimes, self._runtimes = self._runtimes, {}
        for runtime in runtimes.values():
            await runtime.close()
