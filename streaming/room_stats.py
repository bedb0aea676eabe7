"""Build a :class:`RoomStats` snapshot from the relay's counters and aiortc's getStats."""

from __future__ import annotations

import time
from collections.abc import Iterable

from streaming.media_stats import (
    PublishedTrackStats,
    RateMeter,
    RoomStats,
    SubscribedTrackStats,
    pick,
)
from streaming.publisher import PublisherLeg
from streaming.subscriber import SubscriberLeg


async def collect_stats(
    meter: RateMeter,
    session_id: str,
    publishers: Iterable[PublisherLeg],
    subscribers: Iterable[SubscriberLeg],
    peer_connections: int,
    relay_tasks: int,
) -> RoomStats:
    now = time.monotonic()
    keys: set[object] = set()
    pub_stats: list[PublishedTrackStats] = []
    for pub in list(publishers):
        for label, source in list(pub.sources.items()):
            receiver = pub.receivers[label]
            inbound = pick(await receiver.getStats(), "inbound-rtp")
            key = ("pub", id(source))
            keys.add(key)
            pub_stats.append(
                PublishedTrackStats(
                    publisher_id=pub.participant_id,
                    label=label.value,
                    kind=label.kind,
                    codec=source.codec_name,
                    bitrate_bps=meter.rate(key, now, source.bytes, source.started_at),
                    frames=source.units,
                    keyframes=source.keyframes,
                    keyframe_requests=source.keyframe_requests,
                    gaps=source.gaps,
                    freezes=source.freezes,
                    packets_received=int(getattr(inbound, "packetsReceived", 0) or 0),
                    packets_lost=int(getattr(inbound, "packetsLost", 0) or 0),
                    jitter=int(getattr(inbound, "jitter", 0) or 0),
                    seconds_since_last_frame=(
                        None if source.last_arrival is None else now - source.last_arrival
                    ),
                )
            )
    sub_stats: list[SubscribedTrackStats] = []
    for sub in list(subscribers):
        for track, slot in list(sub.slots.items()):
            report = await slot.sender.getStats()
            outbound = pick(report, "outbound-rtp")
            remote = pick(report, "remote-inbound-rtp")
            bound = sub.hub.binding(track)
            key = ("sub", id(track))
            keys.add(key)
            sent_bytes = int(getattr(outbound, "bytesSent", 0) or 0)
            fraction = getattr(remote, "fractionLost", None)
            sub_stats.append(
                SubscribedTrackStats(
                    subscriber_id=sub.participant_id,
                    slot=slot.name,
                    kind=track.kind,
                    source=None if bound is None else f"{bound.publisher_id}/{bound.label}",
                    policy=track.policy.value,
                    bitrate_bps=meter.rate(key, now, sent_bytes, sub.created_at),
                    frames_sent=track.sent,
                    frames_dropped=track.dropped,
                    overflows=track.overflows,
                    waiting_for_keyframe=track.waiting_for_keyframe,
                    packets_sent=int(getattr(outbound, "packetsSent", 0) or 0),
                    packets_lost=getattr(remote, "packetsLost", None),
                    fraction_lost=None if fraction is None else fraction / 256,
                    round_trip_time=getattr(remote, "roundTripTime", None),
                    seconds_since_last_frame=(
                        None if track.last_sent_at is None else now - track.last_sent_at
                    ),
                )
            )
    meter.forget(keys)
    return RoomStats(
        session_id=session_id,
        peer_connections=peer_connections,
        relay_tasks=relay_tasks,
        publishers=tuple(pub_stats),
        subscribers=tuple(sub_stats),
    )
