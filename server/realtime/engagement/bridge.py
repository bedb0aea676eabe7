"""Engagement over the realtime session: one ``EngagementEngine`` per live session runtime.

Installed by ``install(engine, handlers)`` (from ``gateway.install``): a runtime hook builds an
``EngagementBridge`` for each session runtime as it loads, and ``engagement.*`` client messages
are handled by ``server.realtime.engagement.messages`` (names and shapes documented there and
in docs/protocol.md).

What the bridge does:
- registers the roster's students with their sites (site names from the database), and any
  student who joins later (``presence.joined``);
- observes every stored live event and feeds the engine what it implies
  (``server.domain.engagement.live_feed``: answers, missed polls, hands, activities);
- ticks the engine about once a second (``tick_resolution_s``, at most 1 s), and at the
  moment the oldest "I'm confused" press expires (``next_expiry``), until the session ends;
  after that, client signals are refused (``invalid_state``);
- delivers outputs to each output's ``audiences`` only, as un-logged frames
  ``{"type": "engagement.<kind>", "data": {...}, "at": t}``: explicit signals (a student's
  "I'm confused" pressed / withdrawn / seen / expired), alerts and acknowledgements at once,
  in the call that caused them (a press reaches staff before the student's ack is sent); site
  pulses and student states coalesced (latest wins per ``coalesce_key``) and flushed at most
  ``staff_update_hz`` times a second. A pulse or an explicit signal reaches the teacher (every
  site) and that site's facilitators; a student's state reaches staff of their site and the
  student themself, never another student;
- stores ``TimelineEntry`` outputs in ``timeline`` in batches (about once a second,
  and whatever is left when the session closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from server.db.models import Course, CourseSite, Enrolment, LiveSession, Site
from server.domain.engagement import EngagementEngine, Output, TimelineEntry
from server.domain.engagement.live_feed import LiveEventFeed
from server.domain.errors import DomainError
from server.domain.live import SessionStatus
from server.domain.roles import Role
from server.observability import metrics
from server.realtime.core import protocol
from server.realtime.core.event_log import LoggedEvent
from server.realtime.core.runtime import SessionRuntime
from server.realtime.engagement.timeline import TimelineWriter
from server.settings import Settings

if TYPE_CHECKING:
    from server.realtime.core.engine import RealtimeEngine

log = logging.getLogger(__name__)
EXTENSION = "engagement"
PERSIST_INTERVAL_S = 1.0
MIN_TICK_S = 0.05
MAX_TICK_S = 1.0
REMEMBERED_IDS = 4096


class EngagementBridge:
    """Connects one session runtime to its engagement engine."""

    def __init__(
        self,
        runtime: SessionRuntime,
        engine: EngagementEngine,
        writer: TimelineWriter,
        *,
        staff_update_hz: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runtime = runtime
        self.engine = engine
        self.writer = writer
        self.feed = LiveEventFeed()
        self.clock = clock
        self._flush_interval = 1.0 / staff_update_hz
        tick = engine.settings.tick_resolution_s
        self._tick_s = min(MAX_TICK_S, max(MIN_TICK_S, tick))
        self._coalesced: dict[Any, Output] = {}
        self._flush_wake = asyncio.Event()
        self._persist_wake = asyncio.Event()
        self._done_ids: OrderedDict[tuple[int, str], None] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []
        self.ended = runtime.live.status is SessionStatus.ENDED

    def start(self) -> None:
        sid = self.runtime.session_id
        self._tasks = [
            asyncio.create_task(self._tick_loop(), name=f"session-{sid}-engagement-tick"),
            asyncio.create_task(self._flush_loop(), name=f"session-{sid}-engagement-flush"),
            asyncio.create_task(self._persist_loop(), name=f"session-{sid}-engagement-store"),
        ]
        self.runtime.observers.append(self.observe)
        self.runtime.close_hooks.append(self.close)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._flush()
        await self.writer.flush_all()

    # --- in: live events ---

    def observe(self, runtime: SessionRuntime, logged: LoggedEvent) -> None:
        """Observer of the runtime: every stored event, after it was published."""
        event = logged.event
        if event.type == "session.ended":
            self.ended = True  # no fusion after the lesson: nothing more to tell anyone
        if event.type == "presence.joined" and event.data.get("role") == Role.STUDENT.value:
            self._register(event.data.get("user_id"), event.data.get("site_id"), event.at)
            return
        for fed in self.feed.signals(event, runtime.live):
            try:
                self.deliver(self.engine.ingest(fed.signal, event.at, fed.actor))
            except DomainError as exc:  # e.g. a student not registered, a rate limit
                log.debug("session %s: %s not fed: %s", runtime.session_id, fed.signal, exc)

    def _register(self, user_id: object, site_id: object, at: float) -> None:
        if not isinstance(user_id, int) or not (site_id is None or isinstance(site_id, int)):
            return
        try:
            self.engine.register_student(user_id, site_id, at)
        except DomainError as exc:  # a site the session does not know
            log.warning(
                "session %s: student %s not tracked: %s", self.runtime.session_id, user_id, exc
            )

    # --- out: frames and rows ---

    def deliver(self, outputs: Iterable[Output]) -> None:
        for output in outputs:
            if output.type == "engagement.alert":
                metrics.alert_raised(str(getattr(output, "state", "")))
            if isinstance(output, TimelineEntry):
                self.writer.add(output)
                self._persist_wake.set()
                continue
            key = output.coalesce_key
            if key is None:
                self._publish(output)
            else:
                self._coalesced[key] = output
                self._flush_wake.set()

    def _publish(self, output: Output) -> None:
        data = output.as_dict()
        frame = protocol.event_frame(None, data.pop("type"), data, output.at)  # encode once
        for audience in output.audiences:
            self.runtime.hub.publish(frame, audience)

    def _flush(self) -> None:
        waiting, self._coalesced = self._coalesced, {}
        for output in waiting.values():
            self._publish(output)

    async def flush_timeline(self) -> int:
        """Write every waiting timeline entry now (tests, shutdown)."""
        return await self.writer.flush_all()

    # --- idempotent client messages ---

    def seen(self, user_id: int, msg_id: str | None) -> bool:
        return msg_id is not None and (user_id, msg_id) in self._done_ids

    def remember(self, user_id: int, msg_id: str | None) -> None:
        if msg_id is None:
            return
        self._done_ids[(user_id, msg_id)] = None
        while len(self._done_ids) > REMEMBERED_IDS:
            self._done_ids.popitem(last=False)

    # --- loops (each runs until the session closes; every pass does bounded work) ---

    def _tick_delay(self) -> float:
        """Seconds to the next tick: the tick period, or sooner when a press expires sooner
        (a tick at or after the deadline clears that press, so this never spins)."""
        due = self.engine.next_expiry()
        if due is None or self.ended:
            return self._tick_s
        return min(self._tick_s, max(0.0, due - self.clock()))

    async def _tick_loop(self) -> None:
        delay = self._tick_s
        while True:
            await asyncio.sleep(delay)  # the tick period or a deadline, not synchronisation
            delay = self._tick_s
            if self.ended:
                continue
            try:
                self.deliver(self.engine.tick(self.clock()))
                delay = self._tick_delay()
            except Exception:  # a failing tick waits a whole period before the next try
                log.exception("session %s: engagement tick failed", self.runtime.session_id)

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_wake.wait()
            self._flush_wake.clear()
            self._flush()
            await asyncio.sleep(self._flush_interval)  # the rate bound

    async def _persist_loop(self) -> None:
        while True:
            await self._persist_wake.wait()
            self._persist_wake.clear()
            # shielded: a cancel mid-write must not lose the batch it popped
            await asyncio.shield(self.writer.flush_all())
            await asyncio.sleep(PERSIST_INTERVAL_S)  # batching: at most one write a second


def bridge_of(runtime: SessionRuntime) -> EngagementBridge | None:
    found = runtime.extensions.get(EXTENSION)
    return found if isinstance(found, EngagementBridge) else None


async def site_names(realtime: RealtimeEngine, session_id: int) -> dict[int | None, str]:
    """The session's sites (offered for its course, or where a student is enrolled) by name."""
    async with realtime.services.sessions() as db:
        row = await db.get(LiveSession, session_id)
        course = await db.get(Course, row.course_id) if row is not None else None
        if course is None:
            return {None: "Remote"}
        offered = await db.exec(
            select(CourseSite.site_id).where(col(CourseSite.course_id) == course.id)
        )
        enrolled = await db.exec(
            select(Enrolment.site_id).where(col(Enrolment.course_id) == course.id)
        )
        ids = {i for i in (*offered, *enrolled) if i is not None}
        names: dict[int | None, str] = {}
        if ids:
            for site in await db.exec(select(Site).where(col(Site.id).in_(ids))):
                names[site.id] = site.name[:100] or f"Site {site.id}"
    names[None] = "Remote"
    return names


async def attach(realtime: RealtimeEngine, runtime: SessionRuntime) -> EngagementBridge:
    """The runtime hook: build, register and start the session's bridge."""
    settings: Settings = realtime.services.settings
    engine = EngagementEngine(settings.engagement, await site_names(realtime, runtime.session_id))
    writer = TimelineWriter(
        realtime.services.sessions, runtime.session_id, lambda at: runtime.live.lesson_clock(at)
    )
    bridge = EngagementBridge(runtime, engine, writer, staff_update_hz=settings.staff_update_hz)
    now = bridge.clock()
    for actor in runtime.roster:
        if actor.role is Role.STUDENT:
            bridge._register(actor.user_id, actor.site_id, now)
    runtime.extensions[EXTENSION] = bridge
    bridge.start()
    return bridge
