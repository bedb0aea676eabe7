"""A subscriber's outgoing track: encoded units in, ``av.Packet`` out, no codec work.

``RTCRtpSender`` packetises whatever ``recv()`` returns when it is an ``av.Packet``. Each
forwarding track has a small bounded queue; when it overflows (a slow subscriber or a stalled
sender) it is flushed and the track waits for the next keyframe. Output timestamps are kept
continuous across source switches (stage changes, republish) so receivers see one timeline.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streaming.media_packets import MediaUnit
from streaming.relay_source import RelaySource

DEFAULT_QUEUE_UNITS = 60  # about 2 s of 30 fps video or 1.2 s of 20 ms audio


class ForwardPolicy(StrEnum):
    ALL = "all"  # everything from a keyframe on
    KEYFRAMES_ONLY = "keyframes_only"  # slides: each keyframe is a self-contained picture
    NONE = "none"  # muted for this subscriber's mode


class ForwardTrack(MediaStreamTrack):
    """Per-subscriber, per-slot track fed by a :class:`RelaySource`."""

    def __init__(
        self,
        kind: str,
        slot: str,
        max_queue: int = DEFAULT_QUEUE_UNITS,
        on_stop: Callable[[ForwardTrack], None] | None = None,
        on_start: Callable[[ForwardTrack], None] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.slot = slot
        self._max_queue = max_queue
        self._on_stop = on_stop
        self._on_start = on_start
        self._queue: deque[MediaUnit] = deque()
        self._ready = asyncio.Event()
        self._policy = ForwardPolicy.ALL
        self._waiting_key = True
        self._resync = True
        self._offset = 0
        self._last_out: int | None = None
        self._last_out_arrival = 0.0
        self._source: RelaySource | None = None
        # counters for stats and tests
        self.sent = 0
        self.dropped = 0
        self.overflows = 0
        self.first_unit_at: float | None = None
        self.last_sent_at: float | None = None
        self.bound_at = time.monotonic()
        self.delays: deque[float] = deque(maxlen=256)  # seconds from relay arrival to send

    # ----- policy -----------------------------------------------------------------------
    @property
    def policy(self) -> ForwardPolicy:
        return self._policy

    def set_policy(self, policy: ForwardPolicy) -> None:
        if policy == self._policy:
            return
        self._policy = policy
        self._wait_for_keyframe()
        if policy is not ForwardPolicy.NONE and self._source is not None:
            self._source.request_keyframe()

    @property
    def waiting_for_keyframe(self) -> bool:
        return self._waiting_key

    # ----- Sink protocol ---------------------------------------------------------------
    def on_gap(self, source: RelaySource) -> None:
        if source is not self._source:
            self._source = source
            self._resync = True
            self.bound_at = time.monotonic()
        self._wait_for_keyframe()

    def on_unit(self, source: RelaySource, unit: MediaUnit) -> None:
        if self.readyState != "live":
            return
        if source is not self._source:
            self.on_gap(source)
        policy = self._policy
        if policy is ForwardPolicy.NONE:
            return
        if policy is ForwardPolicy.KEYFRAMES_ONLY:
            if not unit.keyframe:
                return
            self._resync = True
        elif self._waiting_key:
            if not unit.keyframe:
                self.dropped += 1
                source.request_keyframe()
                return
            self._waiting_key = False
        if len(self._queue) >= self._max_queue:
            self.overflows += 1
            self.dropped += len(self._queue)
            self._queue.clear()
            if not unit.keyframe:
                self._wait_for_keyframe()
                source.request_keyframe()
                return
        self._queue.append(unit)
        self._ready.set()

    def _wait_for_keyframe(self) -> None:
        self.dropped += len(self._queue)
        self._queue.clear()
        self._waiting_key = True
        self._resync = True

    # ----- MediaStreamTrack --------------------------------------------------------------
    async def recv(self) -> av.Packet[Any]:
        if self._on_start is not None:  # the sender started pulling: the peer is connected
            on_start, self._on_start = self._on_start, None
            on_start(self)
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        unit = self._queue.popleft()
        pts = self._map_pts(unit)
        self.sent += 1
        now = time.monotonic()
        if self.first_unit_at is None:
            self.first_unit_at = now
        self.last_sent_at = now
        self.delays.append(now - unit.arrival)
        return unit.to_packet(pts)

    def _map_pts(self, unit: MediaUnit) -> int:
        if self._resync:
            self._resync = False
            if self._last_out is None:
                self._offset = -unit.pts
            else:
                elapsed = int((unit.arrival - self._last_out_arrival) * unit.clock_rate)
                self._offset = self._last_out + max(1, elapsed) - unit.pts
        pts = unit.pts + self._offset
        if self._last_out is not None and pts <= self._last_out:
            pts = self._last_out + 1
            self._offset = pts - unit.pts
        self._last_out = pts
        self._last_out_arrival = unit.arrival
        return pts

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            self._queue.clear()
            self._ready.set()
            if self._on_stop is not None:
                self._on_stop(self)
