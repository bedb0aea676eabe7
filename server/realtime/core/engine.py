"""The runtimes of the live sessions this process serves, loaded from the database on first
use (roster from enrolments, state by replaying the event log) and kept while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlmodel import col, select

from server.db.models import Course, CourseSite, Enrolment, LiveSession, User
from server.domain.errors import NotFound, NotPermitted
from server.domain.events import Audience
from server.domain.live import LiveSession as LiveAggregate
from server.domain.live import Roster, SessionStatus
from server.domain.live.commands import EndSession, StartSession
from server.domain.roles import Actor, Role
from server.observability import ownership_log
from server.realtime.core.cluster import Cluster
from server.realtime.core.event_log import EventLog
from server.realtime.core.extension import ExtensionFactory, OnClose
from server.realtime.core.replica import ReplicaRuntime, decode_command
from server.realtime.core.runtime import SessionRuntime
from server.services.lifecycle import LifecycleCommand, project_status
from server.services.principal import Principal
from server.services.registry import Services

log = logging.getLogger(__name__)
CLOSE_MOVED = 1012  # "service restart": the client reconnects and resumes from its seq


class RealtimeEngine:
    def __init__(self, services: Services, cluster: Cluster | None = None) -> None:
        self.services = services
        self.cluster = cluster
        if cluster is not None:
            cluster.on_lost = self._drop
            cluster.on_orphaned = self._drop
        # Build each owned runtime's extensions (media, engagement) right after it is loaded.
        self.extension_factories: list[ExtensionFactory] = []
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
                if self.cluster is None or await self.cluster.claim(session_id):
                    found = await self._load(session_id)
                    if self.cluster is not None:
                        ownership_log.claimed(session_id, self.cluster.node_id, found.last_seq)
                        self._serve_in_cluster(found, self.cluster)
                else:
                    found = await self._load_replica(session_id, self.cluster)
                self._runtimes[session_id] = found
        return found

    # --- cluster mode ---

    def _serve_in_cluster(self, runtime: SessionRuntime, cluster: Cluster) -> None:
        """This node owns the session: mirror its frames to the others, take their commands."""
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def mirror(frame: str, audience: Audience) -> None:
            outbox.put_nowait({"frame": frame, "aud": audience.as_dict()})

        async def pump() -> None:  # keeps the owner's order on the channel
            while True:
                await cluster.publish(runtime.session_id, await outbox.get())

        async def handle(body: dict[str, Any]) -> dict[str, Any] | None:
            try:
                actor, msg_id, command, at = decode_command(body)
            except (KeyError, ValueError, msgspec.ValidationError) as exc:
                return {"error": {"code": "bad_input", "message": f"bad forward: {exc}"}}
            outcome = await runtime.submit(actor, msg_id, command, at)
            if outcome.error is not None:
                return {"error": {"code": outcome.error.code, "message": outcome.error.message}}
            return {"seq": outcome.seq}

        runtime.hub.mirror = mirror
        pumping = asyncio.create_task(pump(), name=f"cluster-pump-{runtime.session_id}")

        async def stop() -> None:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumping
            await cluster.release(runtime.session_id)

        runtime.add_extension(OnClose("cluster", stop))
        cluster.serve(runtime.session_id, handle)

    async def _load_replica(self, session_id: int, cluster: Cluster) -> SessionRuntime:
        _, roster = await self.load_roster(session_id)
        settings = self.services.settings
        replica = ReplicaRuntime(
            session_id,
            LiveAggregate(session_id, roster),
            self.log,
            0,
            tally_hz=settings.staff_update_hz,
            replay_limit=settings.ws_replay_limit,
            cluster=cluster,
        )
        async with replica.lock:  # frames arriving meanwhile wait, then skip what the log had
            await cluster.watch(session_id, replica.on_remote)
            await replica.catch_up()
        replica.add_extension(OnClose("cluster", lambda: cluster.unwatch(session_id)))
        return replica

    async def _drop(self, session_id: int) -> None:
        """Ownership moved (or the owner vanished): close here; clients resume elsewhere."""
        runtime = self._runtimes.pop(session_id, None)
        if runtime is not None:
            runtime.kick_all(CLOSE_MOVED)
            await runtime.close()

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
            clock=self.services.clock,
        )
        for item in logged:
            runtime.remember(item)
        runtime.start()
        for factory in self.extension_factories:
            try:
                extension = await factory(runtime)
                if extension is not None:
                    await extension.load()
                    runtime.add_extension(extension)
            except Exception:  # the lesson goes on without it (its messages: invalid_state)
                log.exception("session %s: an extension is not available", session_id)
        await self._reconcile(runtime, row)
        return runtime

    async def _reconcile(self, runtime: SessionRuntime, row: LiveSession) -> None:
        """Bring the row and the log together on load. The log is the truth: a row behind it
        (the process stopped between storing the event and projecting it) is projected again.
        A row ahead of the log was written before lifecycle went through the writer (older
        data, or a row inserted by hand): the log adopts it, at the row's own times."""
        domain = runtime.live
        if row.status.rank < domain.status.rank:
            if domain.started_at is not None:
                await self._store_status(row.id or 0, SessionStatus.LIVE, domain.started_at)
            if domain.ended_at is not None:
                await self._store_status(row.id or 0, SessionStatus.ENDED, domain.ended_at)
            return
        teacher = next(a for a in runtime.roster if a.role == Role.TEACHER)
        now = self.services.clock()
        if row.status.rank >= SessionStatus.LIVE.rank and domain.status is SessionStatus.SCHEDULED:
            await runtime.submit(teacher, None, StartSession(), _epoch(row.started_at, now))
        if row.status is SessionStatus.ENDED and runtime.live.status is SessionStatus.LIVE:
            await runtime.submit(teacher, None, EndSession(), _epoch(row.ended_at, now))

    async def _store_status(self, session_id: int, status: SessionStatus, at: float) -> None:
        """The row's projection of a stored ``session.started`` / ``session.ended``."""
        async with self.services.sessions() as db:
            row = await db.get(LiveSession, session_id)
            if row is not None and project_status(row, status, at):
                db.add(row)
                await db.commit()

    async def run_lifecycle(
        self, session_id: int, who: Principal, command: LifecycleCommand, at: float
    ) -> None:
        """A REST start or end: through the session's writer (here, or forwarded to its owner
        node), as given by ``who`` at ``at``. The row is projected before this returns."""
        runtime = await self.runtime(session_id)
        actor = runtime.roster.get(who.user_id)
        if actor is None:  # an admin added since the session loaded? read the roster again
            _, roster = await self.load_roster(session_id)
            actor = roster.get(who.user_id)
            if actor is None:
                raise NotPermitted("not a participant of this session")
            runtime.roster.add(actor)
        outcome = await runtime.submit(actor, None, command, at)
        if outcome.error is not None:
            raise outcome.error

    def sign_out(self, user_id: int, code: int) -> None:
        """Close this node's live connections of a user whose tokens were revoked."""
        for runtime in self._runtimes.values():
            for conn in runtime.hub.connections():
                if conn.actor.user_id == user_id:
                    conn.kick(code)

    def runtimes(self) -> list[SessionRuntime]:
        """The sessions loaded here, owned and replicated (for health and metrics)."""
        return list(self._runtimes.values())

    def loaded(self) -> list[int]:
        return sorted(self._runtimes)

    async def close(self) -> None:
        runtimes, self._runtimes = self._runtimes, {}
        for runtime in runtimes.values():
            await runtime.close()


def _epoch(stamp: datetime | None, default: float) -> float:
    """Seconds since the epoch of a stored time (SQLite returns it without its UTC zone)."""
    if stamp is None:
        return default
    return (stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)).timestamp()
