"""The runtimes of the live sessions this process serves, loaded from the database on first
use (roster from enrolments, state by replaying the event log) and kept while it runs.

One piece, over 300 lines: loading a session, claiming it in a cluster, promoting a replica in
place and draining on SIGTERM all take the same per-session loading lock and the same map of
runtimes; a session must be in exactly one of those states, which one class can ensure."""

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
from server.domain.live import LiveAggregate, Roster, SessionStatus
from server.domain.live.commands import EndSession, StartSession
from server.domain.roles import Actor, Role
from server.observability import ownership_log
from server.realtime.core.cluster import NOT_OWNER, Cluster, Owned
from server.realtime.core.event_log import EventLog, WriterLease
from server.realtime.core.extension import ExtensionFactory, OnClose
from server.realtime.core.replica import ReplicaRuntime, decode_command
from server.realtime.core.runtime import SessionRuntime
from server.services.lifecycle import LifecycleCommand, project_status
from server.services.principal import Principal
from server.services.registry import Services
from server.task_stop import stop_task

log = logging.getLogger(__name__)
CLOSE_MOVED = 1012  # "service restart": the client reconnects and resumes from its seq
DRAIN_SECONDS = 10.0  # at most this long to hand over the sessions of a stopping node
MIRROR_QUEUE = 10_000  # frames waiting to be mirrored to the other nodes, at most


class RealtimeEngine:
    def __init__(self, services: Services, cluster: Cluster | None = None) -> None:
        self.services = services
        self.cluster = cluster
        self.log = EventLog(services.sessions, services.engine)
        if cluster is not None:
            cluster.on_lost = self._drop
            cluster.on_resubscribed = self._resync_replicas
            cluster.ticks.append(self._check_owners)
        # Build each written runtime's extensions (media, engagement) right after it is loaded
        # or a replica of it is promoted here.
        self.extension_factories: list[ExtensionFactory] = []
        self._runtimes: dict[int, SessionRuntime] = {}
        self._loading: dict[int, asyncio.Lock] = {}
        # Set when the node stops (SIGTERM): it takes no session over any more and hands over
        # the sessions it writes.
        self.draining = False

    async def runtime(self, session_id: int) -> SessionRuntime:
        found = self._runtimes.get(session_id)
        if found is not None:
            return found
        lock = self._loading.setdefault(session_id, asyncio.Lock())
        async with lock:
            found = self._runtimes.get(session_id)
            if found is None:
                if self.cluster is None:
                    found = await self._load(session_id)
                else:
                    lease = await self._claim(session_id, self.cluster)
                    if lease is not None:
                        try:
                            found = await self._load(session_id, lease)
                        except BaseException:
                            await self._let_go(session_id, lease, self.cluster)
                            raise
                        self._serve_in_cluster(found, self.cluster, lease)
                        ownership_log.claimed(session_id, self.cluster.node_id, found.last_seq)
                    else:
                        found = await self._load_replica(session_id, self.cluster)
                self._runtimes[session_id] = found
        return found

    # --- cluster mode ---

    async def _claim(self, session_id: int, cluster: Cluster) -> WriterLease | None:
        """The writer lease (the database decides), then the routing pointer in Redis."""
        if self.draining:
            return None
        lease = await self.log.acquire(session_id)
        if lease is None:
            return None
        try:
            claimed = await cluster.claim(session_id, lease.fenced)
        except Exception:  # Redis away: the lease decides; the pointer follows on heartbeat
            log.warning("cluster: session %s claimed while Redis is away", session_id)
            claimed = lease.fenced
        if not claimed:
            await lease.release()
            return None
        return lease

    async def _let_go(self, session_id: int, lease: WriterLease, cluster: Cluster) -> None:
        await lease.release()
        await cluster.release(session_id)

    def _serve_in_cluster(
        self, runtime: SessionRuntime, cluster: Cluster, lease: WriterLease
    ) -> None:
        """This node owns the session: mirror its frames to the others, take their commands.
        A frame that cannot be published (Redis away) is dropped: replicas catch up from the
        log (the owner's ``sync`` every heartbeat, a seq gap, a resubscription)."""
        runtime.lease = lease
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=MIRROR_QUEUE)

        def mirror(frame: str, audience: Audience) -> None:
            with contextlib.suppress(asyncio.QueueFull):
                outbox.put_nowait({"frame": frame, "aud": audience.as_dict()})

        async def pump() -> None:  # keeps the owner's order on the channel
            while True:
                message = await outbox.get()
                try:
                    await cluster.publish(runtime.session_id, message)
                except Exception:
                    log.debug("session %s: a mirrored frame was dropped", runtime.session_id)
                finally:
                    outbox.task_done()

        async def handle(body: dict[str, Any]) -> dict[str, Any] | None:
            try:
                actor, msg_id, command, at = decode_command(body)
                deadline = msgspec.convert(body.get("deadline"), float | None)
            except (KeyError, ValueError, msgspec.ValidationError) as exc:
                return {"error": {"code": "bad_input", "message": f"bad forward: {exc}"}}
            if runtime.closing:  # handing over: the sender asks the next owner, nothing ran
                return {"error": {"code": NOT_OWNER, "message": "the session is moving"}}
            outcome = await runtime.submit(actor, msg_id, command, at, deadline)
            if outcome.error is not None:
                return {"error": {"code": outcome.error.code, "message": outcome.error.message}}
            return {"seq": outcome.seq}

        runtime.hub.mirror = mirror
        pumping = asyncio.create_task(pump(), name=f"cluster-pump-{runtime.session_id}")

        async def stop() -> None:
            """The writer has stopped: flush the mirror (bounded), let the lease and the
            pointer go, then tell the replicas, so one of them takes over at once."""
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(outbox.join(), 1.0)
            await stop_task(pumping)
            await self._let_go(runtime.session_id, lease, cluster)
            await cluster.handover(runtime.session_id, runtime.last_seq)
            log.info("cluster: node %s releases session %s", cluster.node_id, runtime.session_id)

        runtime.add_extension(OnClose("cluster-lease", stop))  # closed last: see runtime.close
        cluster.serve(
            runtime.session_id,
            Owned(handle, lambda: runtime.last_seq, lease.alive, lease.fenced),
        )

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
            clock=self.services.clock,
        )
        async with replica.lock:  # frames arriving meanwhile wait, then skip what the log had
            await cluster.watch(session_id, replica.on_remote)
            await replica.catch_up()

        async def unwatch() -> None:
            if replica.is_replica:
                await cluster.unwatch(session_id)

        replica.add_extension(OnClose("cluster-watch", unwatch))
        return replica

    async def _resync_replicas(self) -> None:
        """The event channels are listened to again (Redis came back): what was published
        meanwhile is in the log."""
        for runtime in list(self._runtimes.values()):
            if isinstance(runtime, ReplicaRuntime) and runtime.is_replica:
                async with runtime.lock:
                    await runtime.catch_up()

    async def _check_owners(self) -> None:
        """Replicas whose owner is gone take the session over, here, without closing their
        connections. Gone: no node holds the writer lease (PostgreSQL: a dead node's lock
        goes with its connection, at once); without fencing (SQLite), no pointer in Redis."""
        if self.draining or self.cluster is None:
            return
        cluster = self.cluster
        replicas = [s for s, r in self._runtimes.items() if r.is_replica]
        if not replicas:
            return
        alive = await self.log.writers_alive(replicas)
        for session_id in replicas:
            if alive is None:
                gone = await cluster.owner(session_id) is None
            else:
                gone = session_id not in alive
            if gone:
                ownership_log.owner_gone(session_id, cluster.node_id)
                await self._take_over(session_id, cluster)

    async def _take_over(self, session_id: int, cluster: Cluster) -> None:
        replica = self._runtimes.get(session_id)
        if not isinstance(replica, ReplicaRuntime) or not replica.is_replica:
            return
        async with self._loading.setdefault(session_id, asyncio.Lock()):
            lease = await self._claim(session_id, cluster)
            if lease is None:
                return
            try:
                row = await self._row(session_id)
                await cluster.unwatch(session_id)
                logged = await self.log.read_since(session_id, 0)
                async with replica.lock:
                    replica.become_owner(logged, lease)
                replica.start()
                await self._add_extensions(replica)
                self._serve_in_cluster(replica, cluster, lease)
            except BaseException:
                log.exception("cluster: taking session %s over failed", session_id)
                self._runtimes.pop(session_id, None)
                await self._let_go(session_id, lease, cluster)
                replica.kick_all(CLOSE_MOVED)
                await replica.close()
                raise
            cluster.abandon(session_id)  # commands waiting on the old owner are settled here
            ownership_log.took_over(session_id, cluster.node_id, replica.last_seq)
        await self._reconcile(replica, row)

    async def _drop(self, session_id: int) -> None:
        """This node lost the session's lease: close here; clients resume elsewhere."""
        runtime = self._runtimes.pop(session_id, None)
        if runtime is not None:
            runtime.kick_all(CLOSE_MOVED)
            await runtime.close()

    async def _row(self, session_id: int) -> LiveSession:
        async with self.services.sessions() as db:
            row = await db.get(LiveSession, session_id)
        if row is None:
            raise NotFound(f"session {session_id} not found")
        return row

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

    async def _load(self, session_id: int, lease: WriterLease | None = None) -> SessionRuntime:
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
        runtime.lease = lease
        runtime.start()
        await self._add_extensions(runtime)
        await self._reconcile(runtime, row)
        return runtime

    async def _add_extensions(self, runtime: SessionRuntime) -> None:
        for factory in self.extension_factories:
            try:
                extension = await factory(runtime)
                if extension is not None:
                    await extension.load()
                    runtime.add_extension(extension)
            except Exception:  # the lesson goes on without it (its messages: invalid_state)
                log.exception("session %s: an extension is not available", runtime.session_id)

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
        """Drain: take nothing over any more; every session this node writes is handed over
        (writer stopped after its batch, lease and pointer let go, replicas told); clients here
        are closed with 1012 and resume on another node. Bounded by ``DRAIN_SECONDS``."""
        self.draining = True
        runtimes, self._runtimes = self._runtimes, {}
        owned = [r for r in runtimes.values() if not r.is_replica]
        replicas = [r for r in runtimes.values() if r.is_replica]
        for runtime in runtimes.values():
            runtime.kick_all(CLOSE_MOVED)
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                await asyncio.gather(*(r.close() for r in owned), return_exceptions=True)
        except TimeoutError:
            log.warning("draining: %d sessions not handed over in time", len(owned))
        for runtime in replicas:
            await runtime.close()


def _epoch(stamp: datetime | None, default: float) -> float:
    """Seconds since the epoch of a stored time (SQLite returns it without its UTC zone)."""
    if stamp is None:
        return default
    return (stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)).timestamp()
