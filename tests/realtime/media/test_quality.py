"""Connection quality from relay stats and client reports: pure functions, no relay running."""

from __future__ import annotations

from server.realtime.media.quality import ClientReport, quality_by_user, stats_frame
from streaming import PublishedTrackStats, RoomStats, SubscribedTrackStats

NOW = 5000.0


def published(pid: str, idle: float | None, freezes: int = 0) -> PublishedTrackStats:
    return PublishedTrackStats(
        pid, "camera", "video", "VP8", 800_000.0, 300, 3, 1, 0, freezes, 900, 2, 5, idle
    )


def received(
    sid: str, idle: float | None, loss: float | None = None, rtt: float | None = None
) -> SubscribedTrackStats:
    return SubscribedTrackStats(
        sid, "main", "video", "teacher/camera", "all", 600_000.0, 280, 0, 0, False, 900, 0,
        loss, rtt, idle,
    )  # fmt: skip


def room(*tracks: PublishedTrackStats | SubscribedTrackStats) -> RoomStats:
    return RoomStats(
        "s1",
        2,
        4,
        tuple(t for t in tracks if isinstance(t, PublishedTrackStats)),
        tuple(t for t in tracks if isinstance(t, SubscribedTrackStats)),
    )


def test_a_healthy_link_is_no_trouble() -> None:
    stats = room(published("teacher", 0.1), received("user-7", 0.1, loss=0.01, rtt=0.05))
    quality = quality_by_user(stats, {"teacher": 1, "user-7": 7}, {}, NOW)
    assert quality[7]["trouble"] is False and quality[7]["reasons"] == []
    assert quality[7]["rtt_ms"] == 50.0 and quality[7]["kbps_in"] == 600.0
    assert quality[1]["kbps_out"] == 800.0


def test_loss_round_trip_and_stalls_are_named() -> None:
    stats = room(published("teacher", 0.1), received("user-7", 4.0, loss=0.12, rtt=0.6))
    row = quality_by_user(stats, {"user-7": 7}, {}, NOW)[7]
    assert row["stalled"] is True and row["no_media_s"] == 4.0
    assert row["reasons"] == ["loss 12%", "round trip 600 ms", "no media for 4 s"]


def test_a_silent_teacher_does_not_stall_the_students() -> None:
    stats = room(published("teacher", 9.0), received("user-7", 9.0))
    assert quality_by_user(stats, {"user-7": 7}, {}, NOW)[7]["stalled"] is False


def test_a_publisher_whose_every_track_went_silent_has_a_frozen_uplink() -> None:
    stats = room(published("site-3", 6.0, freezes=2))
    row = quality_by_user(stats, {"site-3": 11}, {}, NOW)[11]
    assert row["stalled"] is True and row["server_freezes"] == 2


def test_client_reports_count_while_fresh() -> None:
    fresh = ClientReport(NOW - 2, "sub", None, 700.0, 0.2, 100, 3, new_freezes=3)
    stale = ClientReport(NOW - 60, "sub", None, 900.0, 0.5, 100, 9, new_freezes=9)
    quality = quality_by_user(None, {}, {7: fresh, 8: stale}, NOW)
    assert quality[7]["reasons"] == ["3 freezes reported", "loss 20%", "round trip 700 ms"]
    assert 8 not in quality


def test_the_teachers_stats_frame_merges_a_subscribers_tracks() -> None:
    stats = room(
        published("teacher", 0.2),
        received("user-7", 0.1, loss=0.02, rtt=0.04),
        received("user-7", 3.5, loss=0.07),
    )
    frame = stats_frame(stats)
    assert frame["peer_connections"] == 2
    assert frame["publishers"][0]["kbps"] == 800.0
    assert frame["subscribers"] == [
        {"id": "user-7", "kbps": 1200.0, "loss": 0.07, "rtt_ms": 40.0, "stalled": 1}
    ]
