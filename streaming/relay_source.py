"""One published track inside the relay: fans encoded units out to its sinks.

A sink is a subscriber's forwarding track or the recorder. The source knows nothing about
SDP or peer connections; it is fed by the receive-side tap and asks the publisher for a
keyframe through a callback when its ``KeyframeGate`` says so (at most once per
``keyframe_interval`` seconds; the rule itself is in ``streaming.keyframe_gate``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from streaming.keyframe_gate import KEYFRAME_REQUEST_INTERVAL, Defer, Fire, KeyframeGate
from streaming.media_packets import MediaUnit, TrackLabel

logger = logging.getLogger(__name__)

FREEZE_GAP = 0.5  # a video gap longer than this counts as a freeze
GOP_CACHE_FRAMES = 15  # keep the latest keyframe + deltas for this long (0.5 s at 30 fps)


@dataclass(frozen=True, slots=True)
class SourceKey:
    publisher_id: str
    label: TrackLabel


class Sink(Protocol):
    def on_unit(self, source: RelaySource, unit: MediaUnit) -> None: ...

    def on_gap(self, source: RelaySource) -> None: ...


class RelaySource:
    """Fan-out point of one published track (camera, microphone or screen)."""

    def __init__(
        self,
        key: SourceKey,
        codec_name: str,
        clock_rate: int,
        request_keyframe: Callable[[], Coroutine[Any, Any, None]] | None,
        keyframe_interval: float = KEYFRAME_REQUEST_INTERVAL,
    ) -> None:
        self.key = key
        self.kind = key.label.kind
        self.codec_name = codec_name
        self.clock_rate = clock_rate
        self._send_request = request_keyframe
        self._gate = KeyframeGate(keyframe_interval)
        self._sinks: set[Sink] = set()
        self._gop: list[MediaUnit] = []  # latest keyframe and what followed, while short
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: asyncio.TimerHandle | None = None
        self.ended = False
        # counters for stats
        self.units = 0
        self.bytes = 0
        self.keyframes = 0
        self.gaps = 0
        self.freezes = 0
        self.keyframe_requests = 0
        self.started_at = time.monotonic()
        self.last_arrival: float | None = None
        self.last_keyframe_at: float | None = None
        self.dimensions: tuple[int, int] | None = None

    @property
    def sinks(self) -> frozenset[Sink]:
        return frozenset(self._sinks)

    @property
    def task_count(self) -> int:
        return len(self._tasks) + (1 if self._pending is not None else 0)

    @property
    def has_deferred_request(self) -> bool:
        return self._pending is not None

    def attach(self, sink: Sink) -> None:
        self._sinks.add(sink)

    def detach(self, sink: Sink) -> None:
        self._sinks.discard(sink)

    def push(self, unit: MediaUnit) -> None:
        """Called by the receive tap, on the event loop, for every complete frame."""
        if self.ended:
            return
        last = self.last_arrival
        if self.kind == "video" and last is not None and unit.arrival - last > FREEZE_GAP:
            self.freezes += 1
        self.units += 1
        self.bytes += len(unit.data)
        self.last_arrival = unit.arrival
        if self.kind == "video":
            if unit.keyframe:
                self.keyframes += 1
                self.last_keyframe_at = unit.arrival
                self._gop = [unit]
            elif self._gop and len(self._gop) < GOP_CACHE_FRAMES:
                self._gop.append(unit)
            else:
                self._gop = []
        for sink in tuple(self._sinks):
            sink.on_unit(self, unit)

    def mark_gap(self) -> None:
        """The publisher's stream lost data: every sink waits for the next keyframe."""
        if self.kind != "video":
            return
        self.gaps += 1
        self._gop = []
        for sink in tuple(self._sinks):
            sink.on_gap(self)

    def replay_recent(self, sink: Sink) -> bool:
        """Start a new sink from the cached recent keyframe, if any (no PLI needed).

        A keyframe that arrived less than ``GOP_CACHE_FRAMES`` frames ago is exactly the
        window in which a new PLI would be rate-limited; replaying it and the frames after
        it lets a late joiner start at once.
        """
        if self.kind != "video" or not self._gop:
            return False
        for unit in tuple(self._gop):
            sink.on_unit(self, unit)
        return True

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, rate-limited; a late request is deferred."""
        if self.kind != "video" or self.ended or self._send_request is None:
            return
        verdict = self._gate.request(time.monotonic())
        if isinstance(verdict, Fire):
            self._fire()
        elif isinstance(verdict, Defer):
            self._pending = asyncio.get_running_loop().call_later(verdict.after, self._deferred)

    def _deferred(self) -> None:
        self._pending = None
        if self._gate.deferred(time.monotonic(), self.last_keyframe_at) is not None:
            self._fire()

    def _fire(self) -> None:
        if self._send_request is None or self.ended:
            return
        self.keyframe_requests += 1
        task = asyncio.get_running_loop().create_task(self._send_request())
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("keyframe request failed: %r", task.exception())

    def end(self) -> None:
        """The publisher left: stop sending requests; sinks stay attached to the key."""
        self.ended = True
        self._gate.cancel()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        for task in tuple(self._tasks):
            task.cancel()
        self._sinks.clear()
        self._gop = []
