"""Server-side media link stats into the engagement engine ("a frozen link is not a disengaged
student", DESIGN section 5, docs/privacy.md).

Every ``INTERVAL_S`` seconds, for each *student* who has media in the session (a publish or
subscribe leg in the relay), the media bridge's :func:`connection_quality` summary becomes one
``MediaStats(source="server")`` signal: loss, round trip, seconds without media on the
student's own link, and video freezes the relay saw since the previous signal. The engine
turns sustained bad values into the ``connection_trouble`` state, which suppresses the
disengaged label (and excuses missed polls) for the student.

Bounded: one signal per student with media per interval, no history kept beyond the previous
freeze count. Nothing is sent while the session has no media, no engagement bridge, or has
ended. A session extension without messages of its own: it ticks with the session's ticker
(``gateway.install`` registers its ``factory``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from server.domain.engagement import MediaStats
from server.domain.errors import DomainError
from server.domain.roles import Role
from server.realtime.core.event_log import LoggedEvent
from server.realtime.core.extension import ExtensionFactory, SessionExtension
from server.realtime.core.runtime import SessionRuntime
from server.realtime.engagement import bridge as engagement_bridge
from server.realtime.engagement.bridge import EngagementBridge
from server.realtime.media.bridge import connection_quality

if TYPE_CHECKING:
    from server.realtime.core.engine import RealtimeEngine
    from server.realtime.core.protocol import ClientMessage
    from server.realtime.core.socket_context import SocketContext

log = logging.getLogger(__name__)

INTERVAL_S: Final = 2.0
MAX_RTT_MS: Final = 600_000.0
MAX_NO_MEDIA_S: Final = 86_400.0
MAX_FREEZES: Final = 100_000

Quality = Callable[[SessionRuntime], dict[int, dict[str, Any]]]


class MediaEngagementFeed:
    """Feeds one runtime's per-student media quality to its engagement engine."""

    name = "media-engagement"
    families: tuple[str, ...] = ()

    def __init__(
        self,
        runtime: SessionRuntime,
        quality: Quality,
        *,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runtime = runtime
        self.quality = quality
        self.interval_s = interval_s
        self.clock = clock
        self.sent = 0  # signals accepted by the engine (monitoring, tests)
        self._freezes: dict[int, int] = {}
        self._next: float | None = None  # the ticker's clock

    async def load(self) -> None:
        return None

    def on_event(self, logged: LoggedEvent) -> None:
        return None

    async def handle(self, ctx: SocketContext, message: ClientMessage) -> None:
        return None  # no family of its own

    async def close(self) -> None:
        return None

    def feed_once(self) -> int:
        """Send one signal per student with media now; returns how many the engine took."""
        bridge = self.runtime.extensions.get(engagement_bridge.EXTENSION, EngagementBridge)
        if bridge is None or bridge.ended:
            return 0
        quality = self.quality(self.runtime)
        now = self.clock()
        taken = 0
        for user_id, q in quality.items():
            actor = self.runtime.roster.get(user_id)
            if actor is None or actor.role is not Role.STUDENT or not q.get("media_ids"):
                continue
            total = int(q.get("server_freezes") or 0)
            new_freezes = max(0, total - self._freezes.get(user_id, total))
            self._freezes[user_id] = total
            try:
                signal = MediaStats(
                    user_id=user_id,
                    loss_fraction=min(1.0, float(q.get("loss") or 0.0)),
                    rtt_ms=min(MAX_RTT_MS, float(q.get("rtt_ms") or 0.0)),
                    no_media_s=min(MAX_NO_MEDIA_S, float(q.get("no_media_s") or 0.0)),
                    freezes=min(MAX_FREEZES, new_freezes),
                    source="server",
                )
                bridge.deliver(bridge.engine.ingest(signal, now, None))
            except DomainError as exc:  # e.g. a student the engine does not track
                log.debug(
                    "session %s: media stats of %s not fed: %s",
                    self.runtime.session_id,
                    user_id,
                    exc,
                )
                continue
            taken += 1
        for user_id in [u for u in self._freezes if u not in quality]:
            del self._freezes[user_id]
        self.sent += taken
        return taken

    async def tick(self, now: float) -> float | None:
        """Every ``interval_s``: the first one a whole interval after the session loaded."""
        if self._next is None:
            self._next = now + self.interval_s
        elif self._next <= now:
            self._next = now + self.interval_s
            try:
                self.feed_once()
            except Exception:
                log.exception("session %s: media engagement feed failed", self.runtime.session_id)
        return self._next


def factory(realtime: RealtimeEngine) -> ExtensionFactory:
    """Builds each session runtime's feed (registered by ``gateway.install``)."""

    async def build(runtime: SessionRuntime) -> SessionExtension:
        return MediaEngagementFeed(runtime, connection_quality)

    return build
