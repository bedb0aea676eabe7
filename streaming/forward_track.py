"""A subscriber's outgoing track: keyframe gating, a bounded queue, continuous timestamps.

Once its sender runs, a track is drained by the room's :class:`SendBatch` and sent through
an :class:`RtpWriter` (payloads packetised once for all subscribers, see rtp_fanout.py);
aiortc's sender then only answers RTCP. Until then (and in unit tests) ``recv()`` hands out
``av.Packet`` as aiortc's sender expects. Each track has a small bounded queue; when it
overflows (a slow subscriber or a stalled sender) it is flushed and the track waits for the
next keyframe. Output timestamps are kept continuous across source switches (stage changes,
republish) so receivers see one timeline.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streaming.media_packets import MediaUnit
from streaming.relay_source import RelaySource
from streaming.rtp_fanout import Packetizer, RtpWriter, SendBatch, SendPass, packetizer_for

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
        self._live = True  # readyState == "live", without the property on every unit
        self._ready = asyncio.Event()
        self._policy = ForwardPolicy.ALL
        self._waiting_key = True
        self._resync = True
        self._offset = 0
        self._last_out: int | None = None
        self._last_out_arrival = 0.0
        self._source: RelaySource | None = None
        self._writer: RtpWriter | None = None
        self._batch: SendBatch | None = None
        self._scheduled = False
        self._packetizer: Packetizer | None = None
        self._packetizer_source: RelaySource | None = None
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
        if not self._live:
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
        if self._batch is None:
            self._ready.set()
        elif not self._scheduled:
            self._scheduled = True
            self._batch.ready(self._flush)

    def send_direct(self, writer: RtpWriter, batch: SendBatch) -> None:
        """From now on the batch drains this track through ``writer`` (not via ``recv``)."""
        self._writer, self._batch = writer, batch
        self._packetizer = None  # the writer's codec picks it
        if self._queue and not self._scheduled:
            self._scheduled = True
            batch.ready(self._flush)

    def _flush(self, send_pass: SendPass) -> Coroutine[Any, Any, None] | None:
        """Send the queued units now; a coroutine for what could not go at once (TURN)."""
        self._scheduled = False
        writer, source = self._writer, self._source
        if writer is None or source is None:
            return None
        packetizer = self._packetizer
        if packetizer is None or self._packetizer_source is not source:
            packetizer = self._packetizer = packetizer_for(source, writer.codec)
            self._packetizer_source = source
        queue = self._queue
        while queue and self._live:
            unit, pts = self._take()
            rest = writer.send_unit(packetizer.payloads(unit), pts, send_pass)
            if rest is not None:
                return self._flush_slowly(rest, writer, packetizer, send_pass)
        return None

    async def _flush_slowly(
        self,
        rest: Coroutine[Any, Any, None],
        writer: RtpWriter,
        packetizer: Packetizer,
        send_pass: SendPass,
    ) -> None:
        await rest
        while self._queue and self.readyState == "live":
            unit, pts = self._take()
            more = writer.send_unit(packetizer.payloads(unit), pts, send_pass)
            if more is not None:
                await more

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
        while self._batch is not None or not self._queue:  # sent directly: wait for stop
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        unit, pts = self._take()
        return unit.to_packet(pts)

    def _take(self) -> tuple[MediaUnit, int]:
        unit = self._queue.popleft()
        pts = self._map_pts(unit)
        self.sent += 1
        now = time.monotonic()
        if self.first_unit_at is None:
            self.first_unit_at = now
        self.last_sent_at = now
        self.delays.append(now - unit.arrival)
        return unit, pts

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
            self._live = False
            super().stop()
            self._queue.clear()
            self._ready.set()
            if self._on_stop is not None:
                self._on_stop(self)
