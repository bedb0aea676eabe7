"""Hostile and bad input: validation, permissions (forged signals), rate limits under a flood."""

from __future__ import annotations

import json
import math

import pytest

from server.domain.engagement import (
    ActivityChanged,
    AnswerResult,
    Attention,
    ConfusedPressed,
    EngagementEngine,
    EngagementSettings,
    FacePresence,
    HandChanged,
    MediaStats,
    PollMissed,
    RateLimited,
    SiteNeedsHelp,
    StudentState,
)
from server.domain.errors import BadInput, NotFound, NotPermitted
from server.domain.roles import Actor, Role

from .engagement_harness import TEACHER, Room

SITES: dict[int | None, str] = {1: "Site A", 2: "Site B"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: Attention(0, True, True),
        lambda: Attention(True, True, True),
        lambda: Attention(5, "yes", True),  # type: ignore[arg-type]
        lambda: Attention(5, True, True, idle_s=-1),
        lambda: Attention(5, True, True, idle_s=math.nan),
        lambda: MediaStats(5, loss_fraction=1.5),
        lambda: MediaStats(5, rtt_ms=math.inf),
        lambda: MediaStats(5, freezes=2.5),  # type: ignore[arg-type]
        lambda: MediaStats(5, source="browser"),  # type: ignore[arg-type]
        lambda: AnswerResult(5, "", "g", True, 1.0),
        lambda: AnswerResult(5, "Q" * 65, "g", True, 1.0),
        lambda: AnswerResult(5, "Q1", "g\n", True, 1.0),
        lambda: AnswerResult(5, "Q1", "g", 1, 1.0),  # type: ignore[arg-type]
        lambda: AnswerResult(5, "Q1", "g", True, 1e9),
        lambda: PollMissed(-3, "P1"),
        lambda: SiteNeedsHelp(0),
        lambda: ConfusedPressed(5, active=None),  # type: ignore[arg-type]
        lambda: HandChanged("5", True),  # type: ignore[arg-type]
        lambda: ActivityChanged(True, ""),
        lambda: FacePresence(5, present=0),  # type: ignore[arg-type]
    ],
)
def test_out_of_range_or_mistyped_signals_are_bad_input(make: object) -> None:
    with pytest.raises(BadInput):
        make()  # type: ignore[operator]


def test_settings_are_validated() -> None:
    with pytest.raises(BadInput):
        EngagementSettings(enter_threshold=0.2, leave_threshold=0.3)
    with pytest.raises(BadInput):
        EngagementSettings(smoothing_s=0)
    with pytest.raises(BadInput):
        EngagementSettings(alert_share=math.nan)
    with pytest.raises(BadInput):
        EngagementSettings(min_students=0)
    assert EngagementSettings().purge_cutoff(200 * 86400.0) == 20 * 86400.0


def test_engine_rejects_bad_sites_and_clock() -> None:
    with pytest.raises(BadInput):
        EngagementEngine(EngagementSettings(), {0: "zero"})
    with pytest.raises(BadInput):
        EngagementEngine(EngagementSettings(), {1: ""})
    engine = EngagementEngine(EngagementSettings(), SITES)
    with pytest.raises(NotFound):
        engine.register_student(5, 9)
    engine.register_student(5, 1)
    with pytest.raises(BadInput):
        engine.tick(math.nan)
    with pytest.raises(NotFound):
        engine.student_state(6)


def test_forged_signal_from_another_student_is_refused() -> None:
    room = Room(SITES, {1: 3})
    a, b = room.students_at(1)[:2]
    with pytest.raises(NotPermitted, match="forged signal"):
        room.as_student(a, ConfusedPressed(b))
    with pytest.raises(NotPermitted, match="forged signal"):
        room.as_student(a, Attention(b, False, False, 999))
    assert room.engine.student_snapshot(b).state is StudentState.UNKNOWN
    assert room.engine.stats()["signals_accepted"] == 0


def test_student_cannot_act_as_staff_or_send_server_signals() -> None:
    room = Room(SITES, {1: 3})
    a = room.students_at(1)[0]
    as_teacher = Actor(a, Role.TEACHER)
    as_facilitator = Actor(a, Role.FACILITATOR, 1)
    with pytest.raises(NotPermitted, match="student cannot act as staff"):
        room.send(ConfusedPressed(room.students_at(1)[1]), as_teacher)
    with pytest.raises(NotPermitted, match="student cannot act as staff"):
        room.send(SiteNeedsHelp(1), as_facilitator)
    with pytest.raises(NotPermitted):
        room.send(ActivityChanged(True), as_teacher)
    with pytest.raises(NotPermitted):
        room.as_student(a, AnswerResult(a, "Q1", "g", True, 3.0))
    with pytest.raises(NotPermitted):
        room.as_student(a, PollMissed(a, "Q1"))
    with pytest.raises(NotPermitted):
        room.as_student(a, MediaStats(a, source="server"))
    with pytest.raises(NotPermitted):
        room.as_student(a, SiteNeedsHelp(1))
    with pytest.raises(NotPermitted, match="site does not match"):
        room.send(ConfusedPressed(a), Actor(a, Role.STUDENT, 2))


def test_help_only_from_a_facilitator_of_that_site() -> None:
    room = Room(SITES, {1: 3, 2: 3})
    with pytest.raises(NotPermitted):
        room.send(SiteNeedsHelp(2), room.facilitators[1])
    with pytest.raises(NotPermitted):
        room.send(SiteNeedsHelp(1), TEACHER)
    with pytest.raises(NotPermitted):
        room.send(SiteNeedsHelp(1), None)
    assert room.send(SiteNeedsHelp(1), room.facilitators[1])


def test_staff_scope_for_signals_about_students() -> None:
    room = Room(SITES, {1: 3, 2: 3})
    at_1, at_2 = room.students_at(1)[0], room.students_at(2)[0]
    room.send(HandChanged(at_1, True), room.facilitators[1])  # on behalf, own site: fine
    with pytest.raises(NotPermitted):
        room.send(HandChanged(at_2, True), room.facilitators[1])
    with pytest.raises(NotPermitted):
        room.send(Attention(at_1, True, True), room.facilitators[1])
    with pytest.raises(NotPermitted):
        room.send(AnswerResult(at_1, "Q1", "g", True, 3.0), room.facilitators[1])
    room.send(AnswerResult(at_1, "Q1", "g", True, 3.0), TEACHER)
    with pytest.raises(NotPermitted):
        room.send(Attention(at_1, True, True), None)  # client telemetry needs the client
    with pytest.raises(NotFound):
        room.send(PollMissed(99_999, "P1"), None)


def test_face_presence_is_refused_by_default_policy() -> None:
    room = Room(SITES, {1: 3})
    a = room.students_at(1)[0]
    with pytest.raises(NotPermitted, match="disabled by policy"):
        room.as_student(a, FacePresence(a, present=False))


def test_flood_is_rate_limited_counted_and_does_not_change_fusion() -> None:
    calm, flooded = Room(SITES, {1: 10}), Room(SITES, {1: 10})
    flooder = flooded.students_at(1)[0]
    rejected = 0

    def flood(second: int) -> None:
        nonlocal rejected
        for _ in range(50):  # 50 extra copies a second of what the client already reports
            try:
                flooded.as_student(flooder, Attention(flooder, True, True, 3.0))
            except RateLimited as exc:
                assert exc.code == "rate_limited" and "rate limit" in exc.message
                rejected += 1

    calm.advance(120)
    flooded.advance(120, flood)
    assert rejected >= 50 * 120 - 130
    # Its own periodic reports now compete with the flood in the same bucket.
    assert flooded.engine.rejected_for(flooder) == rejected + flooded.rejected
    assert flooded.engine.stats()["telemetry_rejected"] == rejected + flooded.rejected
    other = flooded.students_at(1)[1]
    assert flooded.engine.rejected_for(other) == 0

    def visible(room: Room) -> list[str]:
        return [json.dumps(o.as_dict()) for o in room.outputs if o.type != "engagement.timeline"]

    assert visible(flooded) == visible(calm)
    # A rejected hostile signal changes nothing.
    with pytest.raises(RateLimited):
        flooded.as_student(flooder, Attention(flooder, False, False, 999.0))
    assert flooded.engine.student_snapshot(flooder).disengaged_score == 0.0


def test_every_output_is_json_safe() -> None:
    room = Room(SITES, {1: 4})
    room.advance(10)
    for uid in room.students_at(1):
        room.as_student(uid, ConfusedPressed(uid))
    room.send(SiteNeedsHelp(1), room.facilitators[1])
    room.advance(60)
    room.outputs += room.engine.snooze(TEACHER, 1, "confused", 5, room.now)
    room.outputs += room.engine.acknowledge_site(TEACHER, 1, "confused", room.now)
    types = set()
    for o in room.outputs:
        decoded = json.loads(json.dumps(o.as_dict()))
        types.add(decoded["type"])
    assert types == {
        "engagement.explicit",
        "engagement.student",
        "engagement.pulse",
        "engagement.alert",
        "engagement.alert_handled",
        "engagement.timeline",
    }
