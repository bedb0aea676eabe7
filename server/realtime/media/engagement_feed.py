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
ended. Started by ``media_bridge.install`` for each runtime; stopped by the runtime's close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from server.domain.engagement import MediaStats
from server.domain.errors import DomainError
from server.domain.roles import Role
from server.realtime.core.runtime import SessionRuntime
from server.realtime.engagement import bridge as engagement_bridge

log = logging.getLogger(__name__)

INTERVAL_S: Final = 2.0
MAX_RTT_MS: Final = 600_000.0
MAX_NO_MEDIA_S: Final = 86_400.0
MAX_FREEZES: Final = 100_000

Quality = Callable[[SessionRuntime], dict[int, dict[str, Any]]]


class MediaEngagementFeed:
    """Feeds one runtime's per-student media quality to its engagement engine."""

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
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            name = f"session-{self.runtime.session_id}-media-engagement"
            self._task = asyncio.create_task(self._loop(), name=name)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def feed_once(self) -> int:
        """Send one signal per student with media now; returns how many the engine took."""
        bridge = engagement_bridge.bridge_of(self.runtime)
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

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)  # the feed's period, not synchronisation
            try:
                self.feed_once()
            except Exception:
                log.exception("session %s: media engagement feed failed", self.runtime.session_id)
