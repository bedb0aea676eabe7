"""Per-student fusion: expiry, hysteresis, dwell, interaction evidence, suppression, unknown."""

from __future__ import annotations

import pytest

from server.domain.engagement import (
    ActivityChanged,
    Attention,
    ConfusedPressed,
    EngagementSettings,
    FacePresence,
    HandChanged,
    MediaStats,
    PollMissed,
    StudentState,
)

from .engagement_harness import TEACHER, Room

SITES: dict[int | None, str] = {1: "Site A"}


def one_student(settings: EngagementSettings | None = None) -> tuple[Room, int]:
    room = Room(SITES, {1: 5}, settings or EngagementSettings())
    room.advance(30)
    return room, room.students_at(1)[0]


def test_confused_press_expires_after_the_setting() -> None:
    room, uid = one_student()
    room.as_student(uid, ConfusedPressed(uid))
    pressed_at = room.now
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.CONFUSED
    room.advance(239)  # just before expiry (300 s)
    assert room.engine.student_state(uid) is StudentState.CONFUSED
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.ENGAGED
    back = room.changes(uid)[-1]
    assert 300 < back.at - pressed_at <= 300 + 45
    assert back.reasons[0].text == "no longer confused"


def test_teacher_acknowledging_a_student_clears_the_press() -> None:
    room, uid = one_student()
    room.as_student(uid, ConfusedPressed(uid))
    room.advance(60)
    room.engine.acknowledge_student(TEACHER, uid, room.now)
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.ENGAGED


def test_withdrawing_the_press_works_and_does_not_flap() -> None:
    room, uid = one_student()
    room.as_student(uid, ConfusedPressed(uid))
    room.advance(3)
    room.as_student(uid, ConfusedPressed(uid, active=False))
    room.advance(120)
    assert room.states_seen(uid) == [StudentState.ENGAGED]


def test_hysteresis_no_flapping_on_an_oscillating_signal() -> None:
    room, uid = one_student()
    b = room.behaviour[uid]

    def oscillate(second: int) -> None:  # 40 s hidden, 15 s visible, repeated
        b.visible = (second - 31) % 55 >= 40

    room.advance(55 * 6, oscillate)
    assert room.states_seen(uid) == [StudentState.ENGAGED, StudentState.DISENGAGED]
    b.visible = True
    room.advance(60)
    assert room.states_seen(uid)[-1] is StudentState.ENGAGED
    assert len(room.changes(uid)) == 3


def test_minimum_dwell_delays_a_second_change() -> None:
    settings = EngagementSettings(min_dwell_s=60)
    room = Room(SITES, {1: 5}, settings)
    uid = room.students_at(1)[0]
    room.advance(1)  # first telemetry at t=1 or t=2: unknown -> engaged (unknown is exempt)
    engaged_at = room.changes(uid)[0].at
    room.as_student(uid, ConfusedPressed(uid))
    room.advance(90)
    confused = room.changes(uid)[-1]
    assert confused.state is StudentState.CONFUSED
    assert confused.at == pytest.approx(engaged_at + 60, abs=1)


def test_two_wrong_answers_on_a_group_make_a_student_confused() -> None:
    room, uid = one_student()
    room.answer(uid, "Q1", "fractions", correct=False)
    room.answer(uid, "Q2", "decimals", correct=False)
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.ENGAGED  # different groups
    room.answer(uid, "Q3", "fractions", correct=False)
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.CONFUSED
    texts = [r.text for r in room.engine.student_snapshot(uid).reasons]
    assert texts == ["2 wrong answers on fractions (Q1, Q3)"]
    room.advance(300)  # the window (240 s) passes
    assert room.engine.student_state(uid) is StudentState.ENGAGED


def test_slow_and_wrong_against_the_class_median() -> None:
    room = Room(SITES, {1: 8})
    room.advance(30)
    uid = room.students_at(1)[0]
    for i, other in enumerate(room.students_at(1)[1:]):
        room.answer(other, "Q1", "maps", correct=True, secs=10.0 + i)
    room.answer(uid, "Q1", "maps", correct=False, secs=60.0)
    room.advance(5)
    assert room.engine.student_snapshot(uid).confused_score > 0
    room.answer(uid, "Q2", "maps", correct=False, secs=5.0)
    room.advance(60)
    snap = room.engine.student_snapshot(uid)
    assert snap.state is StudentState.CONFUSED
    assert "slow_wrong" in [r.code for r in snap.reasons]


def test_duplicate_answers_are_counted_once() -> None:
    room, uid = one_student()
    for _ in range(3):
        room.answer(uid, "Q1", "fractions", correct=False)
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.ENGAGED


def test_missed_polls_in_a_row_then_an_answer_resets() -> None:
    room, uid = one_student()
    room.send(PollMissed(uid, "P1"), None)
    room.send(PollMissed(uid, "P1"), None)  # duplicate: ignored
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.ENGAGED
    room.send(PollMissed(uid, "P2"), None)
    room.advance(60)
    snap = room.engine.student_snapshot(uid)
    assert snap.state is StudentState.DISENGAGED
    assert snap.reasons[0].text == "missed 2 polls in a row"
    room.answer(uid, "P3", "maps", correct=True)
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.ENGAGED


def test_no_input_during_an_activity() -> None:
    room, uid = one_student()
    room.behaviour[uid].idle_s = 0.0
    for other in room.students_at(1):
        room.behaviour[other].idle_s = 200.0  # idle alone (watching) is not disengaged
    room.behaviour[uid].idle_s = 0.0
    room.advance(120)
    assert all(room.engine.student_state(u) is StudentState.ENGAGED for u in room.students_at(1))
    room.send(ActivityChanged(True, "worksheet"), TEACHER)
    room.advance(60)
    room.as_student(room.students_at(1)[1], HandChanged(room.students_at(1)[1], True))
    room.advance(120)
    states = [room.engine.student_state(u) for u in room.students_at(1)]
    assert states[0] is StudentState.ENGAGED  # typing (idle 0)
    assert states[1] is StudentState.ENGAGED  # raised a hand during the activity
    assert states[2:] == [StudentState.DISENGAGED] * 3
    reasons = [r.code for r in room.engine.student_snapshot(room.students_at(1)[2]).reasons]
    assert reasons == ["idle", "no_input"]
    room.send(ActivityChanged(False, "worksheet"), TEACHER)
    room.advance(60)
    assert room.engine.student_state(room.students_at(1)[2]) is StudentState.ENGAGED


def test_connection_trouble_suppresses_and_grace_follows() -> None:
    room, uid = one_student()
    b = room.behaviour[uid]
    b.visible = False  # tab hidden AND a bad link: the link wins
    b.loss = 0.3
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.CONNECTION_TROUBLE
    assert room.engine.student_snapshot(uid).reasons[0].text == "30% packet loss"
    b.loss = 0.0
    room.advance(25)  # connection clears; within the grace period no disengaged evidence
    assert room.engine.student_snapshot(uid).disengaged_score == 0.0
    room.advance(60)  # after the grace, the hidden tab counts again
    assert room.states_seen(uid) == [
        StudentState.ENGAGED,
        StudentState.CONNECTION_TROUBLE,
        StudentState.ENGAGED,
        StudentState.DISENGAGED,
    ]


def test_client_media_stats_count_and_go_stale() -> None:
    room, uid = one_student()
    room.as_student(uid, MediaStats(uid, rtt_ms=2500.0, source="client"))
    room.advance(10)
    assert room.engine.student_state(uid) is StudentState.CONNECTION_TROUBLE
    room.advance(60)  # no newer client report: the old one goes stale
    assert room.engine.student_state(uid) is StudentState.ENGAGED


def test_silent_student_becomes_unknown_and_leaves_the_denominator() -> None:
    room, uid = one_student()
    room.behaviour[uid].telemetry = False
    room.engine.unregister_student(uid)  # also stop its server stats: gone from the roster
    room.behaviour.pop(uid)
    other = room.students_at(1)[1]
    room.behaviour[other].telemetry = False
    room.behaviour.pop(other)
    room.advance(90)
    assert room.engine.student_state(other) is StudentState.UNKNOWN
    assert room.changes(other)[-1].reasons[0].text.startswith("no signal for")
    pulse = room.engine.site_pulse(1)
    assert pulse.count(StudentState.UNKNOWN) == 1 and sum(n for _, n in pulse.counts) == 4


def test_face_presence_is_only_presence_and_only_when_enabled() -> None:
    settings = EngagementSettings(face_presence_enabled=True)
    room, uid = one_student(settings)
    b = room.behaviour[uid]
    b.focused = False  # window not focused: 0.45, below the enter threshold

    def absent(second: int) -> None:
        if second % 2 == 0:
            room.as_student(uid, FacePresence(uid, present=False))

    room.advance(60, absent)
    snap = room.engine.student_snapshot(uid)
    assert snap.state is StudentState.DISENGAGED
    assert [r.code for r in snap.reasons] == ["window_blurred", "face_absent"]


def test_clock_running_backwards_is_clamped() -> None:
    room, uid = one_student()
    room.as_student(uid, ConfusedPressed(uid))
    out = room.engine.ingest(Attention(uid, True, True, 0.0), room.now - 500, room.actors[uid])
    assert out == []
    room.advance(60)
    assert room.engine.student_state(uid) is StudentState.CONFUSED


def test_moving_a_student_between_sites_keeps_tallies_consistent() -> None:
    room = Room({1: "Site A", 2: "Site B"}, {1: 3, 2: 3})
    room.advance(10)
    uid = room.students_at(1)[0]
    room.engine.register_student(uid, 1, room.now)  # same site: no-op
    room.engine.register_student(uid, 2, room.now)  # joins from the other room
    a, b = room.engine.site_pulse(1), room.engine.site_pulse(2)
    assert sum(n for _, n in a.counts) == 2 and sum(n for _, n in b.counts) == 4
    assert b.count(StudentState.ENGAGED) == 4
    room.engine.unregister_student(uid)
    assert sum(n for _, n in room.engine.site_pulse(2).counts) == 3
