"""Plain snapshots of media health, for the engagement engine and the teacher's view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PublishedTrackStats:
    """One track a participant sends to the relay.

    ``round_trip_time`` is always None: aiortc's receive side sends RTCP RR but does not
    measure RTT (only the publisher's sender does). Connection trouble shows here as
    ``packets_lost``, ``jitter`` and ``seconds_since_last_frame``.
    """

    publisher_id: str
    label: str
    kind: str
    codec: str
    bitrate_bps: float
    frames: int
    keyframes: int
    keyframe_requests: int
    gaps: int
    freezes: int
    packets_received: int
    packets_lost: int
    jitter: int
    seconds_since_last_frame: float | None
    round_trip_time: float | None = None


@dataclass(frozen=True, slots=True)
class SubscribedTrackStats:
    """One slot the relay sends to a subscriber, with the subscriber's RTCP feedback."""

    subscriber_id: str
    slot: str
    kind: str
    source: str | None  # "publisher_id/label" currently bound, if any
    policy: str
    bitrate_bps: float
    frames_sent: int
    frames_dropped: int
    overflows: int
    waiting_for_keyframe: bool
    packets_sent: int
    packets_lost: int | None
    fraction_lost: float | None  # 0..1 from the last receiver report
    round_trip_time: float | None  # seconds, from RTCP RR (LSR/DLSR)
    seconds_since_last_frame: float | None


@dataclass(frozen=True, slots=True)
class RoomStats:
    session_id: str
    peer_connections: int
    relay_tasks: int
    publishers: tuple[PublishedTrackStats, ...] = field(default_factory=tuple)
    subscribers: tuple[SubscribedTrackStats, ...] = field(default_factory=tuple)


class RateMeter:
    """Bits per second between two reads of a growing byte counter, per key."""

    def __init__(self) -> None:
        self._last: dict[Any, tuple[float, int]] = {}

    def rate(self, key: Any, now: float, total_bytes: int, since: float) -> float:
        prev_time, prev_bytes = self._last.get(key, (since, 0))
        self._last[key] = (now, total_bytes)
        elapsed = now - prev_time
        if elapsed <= 0:
            return 0.0
        return (total_bytes - prev_bytes) * 8 / elapsed

    def forget(self, keep: set[Any]) -> None:
        for key in list(self._last):
            if key not in keep:
                del self._last[key]


def pick(report: Any, stats_type: str) -> Any | None:
    """The first entry of ``stats_type`` in an aiortc RTCStatsReport, or None."""
    for value in report.values():
        if getattr(value, "type", None) == stats_type:
            return value
    return None
