"""The media frames nobody asked for: the room's stats and the recording's state to the
leaders, and the live tracks (who publishes what, who is on stage) to everyone whenever they
change (``media.tracks``). Un-logged frames through the runtime's hub."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

from server.domain.events import EVERYONE, LEADERS, Audience
from server.realtime.core.runtime import SessionRuntime
from streaming import MediaRoom

log = logging.getLogger(__name__)
RETRY_SECONDS: Final = 1.0
TracksView = tuple[tuple[str, ...], str | None]


def tracks_view(room: MediaRoom | None) -> TracksView:
    """The live tracks (``publisher/label``, sorted) and the stage's publisher."""
    if room is None:
        return ((), None)
    live = sorted(f"{s.key.publisher_id}/{s.key.label.value}" for s in room.hub.sources)
    return (tuple(live), room.stage)


class Announcer:
    def __init__(self, runtime: SessionRuntime) -> None:
        self.runtime = runtime
        self._sent: TracksView | None = None

    def tell(self, type_: str, data: dict[str, Any], audience: Audience = LEADERS) -> None:
        self.runtime.publish(type_, data, audience, time.time())

    def watch(self, room: MediaRoom) -> asyncio.Task[None]:
        """Send ``media.tracks`` on every change of the room's live tracks, until cancelled."""
        name = f"media-{self.runtime.session_id}-tracks"
        return asyncio.create_task(self._watch(room), name=name)

    async def _watch(self, room: MediaRoom) -> None:
        while True:
            try:
                await room.wait_until(lambda: tracks_view(room) != self._sent, 5.0)
                view = tracks_view(room)
                self._sent = view
                self.tell("media.tracks", {"live": list(view[0]), "stage": view[1]}, EVERYONE)
            except TimeoutError:
                continue  # nothing changed for a while: look again
            except Exception:
                log.exception("media %s: live tracks update failed", self.runtime.session_id)
                await asyncio.sleep(RETRY_SECONDS)  # no busy loop if it keeps failing
