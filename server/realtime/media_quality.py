"""Media health: the compact ``media.stats`` frame for the teacher and a per-user connection
quality summary (server RTCP stats merged with the client's own ``media.report``).

``quality_by_user`` returns, per user id::

    {"media_ids": ["user-7"], "rtt_ms": float|None, "loss": float|None,
     "kbps_in": float, "kbps_out": float, "freezes": int, "stalled": bool,
     "trouble": bool, "reasons": ["loss 12%", ...], "updated_at": epoch seconds}

``trouble`` is set for loss >= 5 %, round trip >= 500 ms, a received track silent for 3 s
while its source is live, or freezes reported by the client since its previous report. The
engagement layer should treat ``trouble`` as "connection trouble" (it suppresses engagement
labels: a frozen link is not a disengaged student).
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
    stalled: bool = False
    reasons: list[str] = field(default_factory=list)

    def worse_rtt(self, value: float | None) -> None:
        if value is not None:
            self.rtt_ms = value if self.rtt_ms is None else max(self.rtt_ms, value)

    def worse_loss(self, value: float | None) -> None:
        if value is not None:
            self.loss = value if self.loss is None else max(self.loss, value)


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def stats_frame(stats: RoomStats) -> dict[str, Any]:
    """Compact per-publisher-track and per-subscriber rows for the teacher's console."""
    live = {f"{p.publisher_id}/{p.label}" for p in stats.publishers}
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
        if _stalled(s.source, s.policy, s.seconds_since_last_frame, live):
            row["stalled"] += 1
    return {
        "peer_connections": stats.peer_connections,
        "publishers": publishers,
        "subscribers": list(subs.values()),
    }


def _stalled(source: str | None, policy: str, idle: float | None, live: set[str]) -> bool:
    if source is None or source not in live or policy != "all":
        return False
    return idle is not None and idle >= STALL_SECONDS


def quality_by_user(
    stats: RoomStats | None,
    users_by_pid: Mapping[str, int],
    reports: Mapping[int, ClientReport],
    now: float,
) -> dict[int, dict[str, Any]]:
    acc: dict[int, _Acc] = {}
    if stats is not None:
        live = {f"{p.publisher_id}/{p.label}" for p in stats.publishers}
        for p in stats.publishers:
            user = users_by_pid.get(p.publisher_id)
            if user is None:
                continue
            a = acc.setdefault(user, _Acc())
            a.media_ids.add(p.publisher_id)
            a.kbps_out += p.bitrate_bps / 1000
            a.freezes += p.freezes
        for s in stats.subscribers:
            user = users_by_pid.get(s.subscriber_id)
            if user is None:
                continue
            a = acc.setdefault(user, _Acc())
            a.media_ids.add(s.subscriber_id)
            a.kbps_in += s.bitrate_bps / 1000
            a.worse_loss(s.fraction_lost)
            a.worse_rtt(None if s.round_trip_time is None else s.round_trip_time * 1000)
            if _stalled(s.source, s.policy, s.seconds_since_last_frame, live):
                a.stalled = True
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
        if a.stalled:
            a.reasons.append("no media for 3 s")
        out[user] = {
            "media_ids": sorted(a.media_ids),
            "rtt_ms": _r(a.rtt_ms),
            "loss": _r(a.loss, 3),
            "kbps_in": round(a.kbps_in, 1),
            "kbps_out": round(a.kbps_out, 1),
            "freezes": a.freezes,
            "stalled": a.stalled,
            "trouble": bool(a.reasons),
            "reasons": a.reasons,
            "updated_at": now,
        }
    return out
