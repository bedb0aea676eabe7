"""Engagement over the realtime session: one ``EngagementEngine`` per live session runtime.

A session extension (``server.realtime.core.extension``): ``factory`` (registered by
``gateway.install``) builds an ``EngagementBridge`` for each session runtime as it loads, and
its ``handle`` answers the ``engagement.*`` client messages with
``server.realtime.engagement.messages`` (names and shapes documented there and in
docs/protocol.md).

What the bridge does:
- registers the roster's students with their sites (site names from the database), and any
  student who joins later (``presence.joined``);
- observes every stored live event and feeds the engine what it implies
  (``server.domain.engagement.live_feed``: answers, missed polls, hands, activities);
- ticks the engine (from the session's one ticker) about once a second
  (``tick_resolution_s``, at most 1 s), and at the moment the oldest "I'm confused" press
  expires (``next_expiry``), until the session ends;
  after that, client signals are refused (``invalid_state``);
- delivers outputs to each output's ``audiences`` only, as un-logged frames
  ``{"type": "engagement.<kind>", "data": {...}, "at": t}``: explicit signals (a student's
  "I'm confused" pressed / withdrawn / seen / expired), alerts and acknowledgements at once,
  in the call that caused them (a press reaches staff before the student's ack is sent); site
  pulses and student states coalesced (latest wins per ``coalesce_key``,
  ``server.domain.coalescer``) and flushed at most ``staff_update_hz`` times a second. A
  pulse or an explicit signal reaches the teacher (every site) and that site's facilitators;
  a student's state reaches staff of their site and the student themself, never another student;
- stores ``TimelineEntry`` outputs in ``timeline`` in batches (about once a second,
  and whatever is left when the session closes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING

from sqlmodel import col, select

from server.db.models import Course, CourseSite, Enrolment, LiveSession, Site
from server.domain.coalescer import Coalescer
from server.domain.engagement import EngagementEngine, Output, TimelineEntry
from server.domain.engagement.live_feed import LiveEventFeed
from server.domain.errors import DomainError
from server.domain.idempotency import LruStore
from server.domain.live import SessionStatus
from server.domain.roles import Role
from server.domain.schedule import earliest
from server.observability import metrics
from server.realtime.core import protocol
from server.realtime.core.event_log import LoggedEvent
from server.realtime.core.extension import ExtensionFactory, SessionExtension
from server.realtime.core.runtime import SessionRuntime
from server.realtime.engagement import messages
from server.realtime.engagement.timeline import TimelineWriter
from server.settings import Settings

if TYPE_CHECKING:
    from server.realtime.core.engine import RealtimeEngine
    from server.realtime.core.protocol import ClientMessage
    from server.realtime.core.socket_context import SocketContext

log = logging.getLogger(__name__)
EXTENSION = "engagement"
FAMILIES = ("engagement",)
PERSIST_INTERVAL_S = 1.0
MIN_TICK_S = 0.05
MAX_TICK_S = 1.0
REMEMBERED_IDS = 4096


class EngagementBridge:
    """Connects one session runtime to its engagement engine (a ``SessionExtension``)."""

    name = EXTENSION
    families = FAMILIES

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
        tick = engine.settings.tick_resolution_s
        self._tick_s = min(MAX_TICK_S, max(MIN_TICK_S, tick))
        self._coalesced: Coalescer[Hashable, Output] = Coalescer(1.0 / staff_update_hz)
        # the times below are the session ticker's clock
        self._next_tick: float | None = None
        self._next_persist: float | None = None
        self._last_persist: float | None = None
        self._persisting: asyncio.Task[int] | None = None
        self.done_ids: LruStore[bool] = LruStore(REMEMBERED_IDS)
        self.ended = runtime.live.status is SessionStatus.ENDED

    async def load(self) -> None:
        now = self.clock()
        for actor in self.runtime.roster:
            if actor.role is Role.STUDENT:
                self._register(actor.user_id, actor.site_id, now)

    async def handle(self, ctx: SocketContext, message: ClientMessage) -> None:
        await messages.handle_message(self, ctx, message)

    async def close(self) -> None:
        persisting, self._persisting = self._persisting, None
        if persisting is not None:
            await asyncio.gather(persisting, return_exceptions=True)
        self._flush(self._coalesced.drain())
        await self.writer.flush_all()

    # --- in: live events ---

    def on_event(self, logged: LoggedEvent) -> None:
        """Every stored event, after it was published."""
        event = logged.event
        runtime = self.runtime
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
        ticker = self.runtime.ticker
        for output in outputs:
            if output.type == "engagement.alert":
                metrics.alert_raised(str(getattr(output, "state", "")))
            if isinstance(output, TimelineEntry):
                self.writer.add(output)
                if self._next_persist is None:
                    last = self._last_persist
                    self._next_persist = (
                        ticker.clock() if last is None else last + PERSIST_INTERVAL_S
                    )
                    ticker.poke(EXTENSION, max(0.0, self._next_persist - ticker.clock()))
                continue
            key = output.coalesce_key
            if key is None:
                self._publish(output)
            else:
                self._coalesced.put(key, output)
                due = self._coalesced.due()
                if due is not None:
                    ticker.poke(EXTENSION, max(0.0, due - ticker.clock()))

    def _publish(self, output: Output) -> None:
        data = output.as_dict()
        frame = protocol.event_frame(None, data.pop("type"), data, output.at)  # encode once
        for audience in output.audiences:
            self.runtime.hub.publish(frame, audience)

    def _flush(self, outputs: list[Output]) -> None:
        for output in outputs:
            self._publish(output)

    async def flush_timeline(self) -> int:
        """Write every waiting timeline entry now (tests, shutdown)."""
        return await self.writer.flush_all()

    # --- idempotent client messages ---

    def seen(self, user_id: int, msg_id: str | None) -> bool:
        return msg_id is not None and self.done_ids.get((user_id, msg_id)) is not None

    def remember(self, user_id: int, msg_id: str | None) -> None:
        if msg_id is not None:
            self.done_ids.put((user_id, msg_id), True)

    # --- the session ticker: the engine's tick, the coalesced flush, the timeline batch ---

    def _tick_delay(self) -> float:
        """Seconds to the next tick: the tick period, or sooner when a press expires sooner
        (a tick at or after the deadline clears that press, so this never spins)."""
        due = self.engine.next_expiry()
        if due is None or self.ended:
            return self._tick_s
        return min(self._tick_s, max(0.0, due - self.clock()))

    async def tick(self, now: float) -> float | None:
        if self._next_tick is None or self._next_tick <= now:
            self._next_tick = now + self._tick_s
            if not self.ended:
                try:
                    self.deliver(self.engine.tick(self.clock()))
                    self._next_tick = now + self._tick_delay()
                except Exception:  # a failing tick waits a whole period before the next try
                    log.exception("session %s: engagement tick failed", self.runtime.session_id)
        self._flush(self._coalesced.take(now))
        if self._next_persist is not None and self._next_persist <= now:
            self._persist(now)
        return earliest(earliest(self._next_tick, self._coalesced.due()), self._next_persist)

    def _persist(self, now: float) -> None:
        """At most one timeline write a second, in a task of its own (the ticker goes on)."""
        if self._persisting is not None and not self._persisting.done():
            self._next_persist = now + PERSIST_INTERVAL_S  # the write under way takes it next
            return
        self._next_persist = None
        self._last_persist = now
        self._persisting = asyncio.create_task(
            self.writer.flush_all(), name=f"session-{self.runtime.session_id}-engagement-store"
        )


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


def factory(realtime: RealtimeEngine) -> ExtensionFactory:
    """Builds each session runtime's bridge (registered by ``gateway.install``)."""

    async def build(runtime: SessionRuntime) -> SessionExtension:
        settings: Settings = realtime.services.settings
        names = await site_names(realtime, runtime.session_id)
        engine = EngagementEngine(settings.engagement, names)
        writer = TimelineWriter(
            realtime.services.sessions, runtime.session_id, lambda at: runtime.live.lesson_clock(at)
        )
        return EngagementBridge(runtime, engine, writer, staff_update_hz=settings.staff_update_hz)

    return build
