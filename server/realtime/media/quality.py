"""Media health: the compact ``media.stats`` frame for the teacher and a per-user connection
quality summary (server RTCP stats merged with the client's own ``media.report``).

``quality_by_user`` returns, per user id::

    {"media_ids": ["user-7"], "rtt_ms": float|None, "loss": float|None,
     "kbps_in": float, "kbps_out": float, "freezes": int, "server_freezes": int,
     "no_media_s": float, "stalled": bool, "trouble": bool, "reasons": ["loss 12%", ...],
     "updated_at": epoch seconds}

``no_media_s`` is how long the user's own link has carried no media: a received track silent
while its source is live *and still sending* (so a teacher who stops their camera does not
stall every student), or every track the user publishes silent. ``stalled`` is
``no_media_s >= 3``. ``server_freezes`` counts the freezes the relay saw in the user's published
tracks (cumulative); ``freezes`` adds those the client reported since its previous report.
``trouble`` is set for loss >= 5 %, round trip >= 500 ms, a stall, or freezes reported by the
client since its previous report. ``server.realtime.media.engagement_feed`` feeds this to the
engagement engine as server media stats (connection trouble suppresses engagement labels: a
frozen link is not a disengaged student).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from streaming import RoomStats

LOSS_TROUBLE: Final = 0.05
RTT_TROUBLE_MS: Final = 500.0
STALL_SECONDS: Final = 3.0
REPORT_MAX_AGE: Final = 15.0  # a client report older than this is ignored


@dataclass(slots=True)
class ClientReport:
    at: float
    leg: str
    bitrate_bps: float | None
    rtt_ms: float | None
    loss: float | None
    frames_decoded: int | None
    freezes: int | None
    new_freezes: int = 0


@dataclass(slots=True)
class _Acc:
    media_ids: set[str] = field(default_factory=set)
    rtt_ms: float | None = None
    loss: float | None = None
    kbps_in: float = 0.0
    kbps_out: float = 0.0
    freezes: int = 0
    server_freezes: int = 0
    no_media_s: float = 0.0
    published_idle: list[float | None] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def silent_for(self, seconds: float) -> None:
        self.no_media_s = max(self.no_media_s, seconds)

    def worse_rtt(self, value: float | None) -> None:
        if value is not None:
            self.rtt_ms = value if self.rtt_ms is None else max(self.rtt_ms, value)

    def worse_loss(self, value: float | None) -> None:
        if value is not None:
            self.loss = value if self.loss is None else max(self.loss, value)


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _fresh_sources(stats: RoomStats) -> set[str]:
    """Published tracks that are live and sent something within ``STALL_SECONDS``."""
    return {
        f"{p.publisher_id}/{p.label}"
        for p in stats.publishers
        if p.seconds_since_last_frame is not None and p.seconds_since_last_frame < STALL_SECONDS
    }


def stats_frame(stats: RoomStats) -> dict[str, Any]:
    """Compact per-publisher-track and per-subscriber rows for the teacher's console."""
    fresh = _fresh_sources(stats)
    publishers = [
        {
            "id": p.publisher_id,
            "label": p.label,
            "kbps": round(p.bitrate_bps / 1000, 1),
            "lost": p.packets_lost,
            "jitter": p.jitter,
            "freezes": p.freezes,
            "gaps": p.gaps,
            "idle_s": _r(p.seconds_since_last_frame),
        }
        for p in stats.publishers
    ]
    subs: dict[str, dict[str, Any]] = {}
    for s in stats.subscribers:
        row = subs.setdefault(
            s.subscriber_id,
            {"id": s.subscriber_id, "kbps": 0.0, "loss": None, "rtt_ms": None, "stalled": 0},
        )
        row["kbps"] = round(row["kbps"] + s.bitrate_bps / 1000, 1)
        if s.fraction_lost is not None:
            row["loss"] = max(row["loss"] or 0.0, round(s.fraction_lost, 3))
        if s.round_trip_time is not None:
            rtt = round(s.round_trip_time * 1000, 1)
            row["rtt_ms"] = max(row["rtt_ms"] or 0.0, rtt)
        if _silent(s.source, s.policy, s.seconds_since_last_frame, fresh) >= STALL_SECONDS:
            row["stalled"] += 1
    return {
        "peer_connections": stats.peer_connections,
        "publishers": publishers,
        "subscribers": list(subs.values()),
    }


def _silent(source: str | None, policy: str, idle: float | None, fresh: set[str]) -> float:
    """Seconds a received slot has been silent although its source still sends (else 0)."""
    if source is None or source not in fresh or policy != "all" or idle is None:
        return 0.0
    return idle


def quality_by_user(
    stats: RoomStats | None,
    users_by_pid: Mapping[str, int],
    reports: Mapping[int, ClientReport],
    now: float,
) -> dict[int, dict[str, Any]]:
    acc: dict[int, _Acc] = {}
    if stats is not None:
        fresh = _fresh_sources(stats)
        for p in stats.publishers:
            user = users_by_pid.get(p.publisher_id)
            if user is None:
                continue
            a = acc.setdefault(user, _Acc())
            a.media_ids.add(p.publisher_id)
            a.kbps_out += p.bitrate_bps / 1000
            a.freezes += p.freezes
            a.server_freezes += p.freezes
            a.published_idle.append(p.seconds_since_last_frame)
        for s in stats.subscribers:
            user = users_by_pid.get(s.subscriber_id)
            if user is None:
                continue
            a = acc.setdefault(user, _Acc())
            a.media_ids.add(s.subscriber_id)
            a.kbps_in += s.bitrate_bps / 1000
            a.worse_loss(s.fraction_lost)
            a.worse_rtt(None if s.round_trip_time is None else s.round_trip_time * 1000)
            a.silent_for(_silent(s.source, s.policy, s.seconds_since_last_frame, fresh))
        for a in acc.values():  # a publisher whose every track went silent: its uplink froze
            sent = [i for i in a.published_idle if i is not None]  # tracks that ever sent
            if sent:
                a.silent_for(min(sent))
    for user, report in reports.items():
        if now - report.at > REPORT_MAX_AGE:
            continue
        a = acc.setdefault(user, _Acc())
        a.worse_rtt(report.rtt_ms)
        a.worse_loss(report.loss)
        if report.new_freezes > 0:
            a.freezes += report.new_freezes
            a.reasons.append(f"{report.new_freezes} freezes reported")
    out: dict[int, dict[str, Any]] = {}
    for user, a in acc.items():
        if a.loss is not None and a.loss >= LOSS_TROUBLE:
            a.reasons.append(f"loss {a.loss:.0%}")
        if a.rtt_ms is not None and a.rtt_ms >= RTT_TROUBLE_MS:
            a.reasons.append(f"round trip {a.rtt_ms:.0f} ms")
        stalled = a.no_media_s >= STALL_SECONDS
        if stalled:
            a.reasons.append(f"no media for {a.no_media_s:.0f} s")
        out[user] = {
            "media_ids": sorted(a.media_ids),
            "rtt_ms": _r(a.rtt_ms),
            "loss": _r(a.loss, 3),
            "kbps_in": round(a.kbps_in, 1),
            "kbps_out": round(a.kbps_out, 1),
            "freezes": a.freezes,
            "server_freezes": a.server_freezes,
            "no_media_s": round(a.no_media_s, 1),
            "stalled": stalled,
            "trouble": bool(a.reasons),
            "reasons": a.reasons,
            "updated_at": now,
        }
    return out
