"""Scenario replays on a virtual clock: confusion at a site, frozen links, tab flicking."""

from __future__ import annotations

import random

from server.domain.engagement import (
    ActivityChanged,
    AlertKind,
    Attention,
    ConfusedPressed,
    Level,
    PollMissed,
    StudentState,
)

from .engagement_harness import Room

SITES: dict[int | None, str] = {1: "Site A", 2: "Site B"}


def test_four_of_ten_wrong_twice_and_confused_gives_exactly_one_alert_with_reasons() -> None:
    room = Room(SITES, {1: 10, 2: 10})
    room.advance(30)
    confused = room.students_at(1)[:4]
    for uid in confused:
        room.answer(uid, "Q4", "fractions", correct=False)
    for uid in room.students_at(1)[4:] + room.students_at(2):
        room.answer(uid, "Q4", "fractions", correct=True)
    room.advance(5)
    for uid in confused:
        room.answer(uid, "Q5", "fractions", correct=False)
        room.as_student(uid, ConfusedPressed(uid))
    room.advance(240)

    alerts = room.alerts()
    assert len(alerts) == 1, [a.text for a in alerts]
    alert = alerts[0]
    assert (alert.site_id, alert.state) == (1, AlertKind.CONFUSED)
    assert "at Site A confused" in alert.text
    assert "pressed confused" in alert.text
    assert "wrong answers on fractions (Q4, Q5)" in alert.text
    assert any(
        r.startswith("3 pressed confused") or r.startswith("4 pressed confused")
        for r in alert.reasons
    )
    for uid in confused:
        assert StudentState.CONFUSED in room.states_seen(uid)
        reasons = [r.code for r in room.changes(uid)[-1].reasons]
        assert "pressed_confused" in reasons and "wrong_answers" in reasons
    assert room.engine.site_pulse(2).level is Level.CALM


def test_frozen_link_is_connection_trouble_not_disengaged() -> None:
    room = Room(SITES, {1: 10})
    room.advance(30)
    frozen = room.students_at(1)[0]
    b = room.behaviour[frozen]
    room.send(ActivityChanged(True, "worksheet"), None)
    b.telemetry = False

    def freeze(second: int) -> None:
        b.no_media_s += 1.0
        if second % 60 == 0:
            room.send(PollMissed(frozen, f"P{second}"), None)

    room.advance(240, freeze)
    assert room.engine.student_state(frozen) is StudentState.CONNECTION_TROUBLE
    reasons = room.engine.student_snapshot(frozen).reasons
    assert reasons and reasons[0].code == "no_media"
    # Recovery: media and telemetry come back; the student answers the next poll.
    b.telemetry, b.no_media_s = True, 0.0
    room.answer(frozen, "Q9", "fractions", correct=True)
    room.advance(120)
    seen = room.states_seen(frozen)
    assert StudentState.DISENGAGED not in seen
    assert seen[-2:] == [StudentState.CONNECTION_TROUBLE, StudentState.ENGAGED]
    assert room.alerts(kind="disengaged") == []


def test_whole_site_frozen_alerts_connection_trouble_never_disengaged() -> None:
    room = Room(SITES, {1: 10, 2: 10})
    room.advance(30)
    room.send(ActivityChanged(True, "group task"), None)
    for uid in room.students_at(2):
        room.behaviour[uid].telemetry = False

    def freeze(second: int) -> None:
        for uid in room.students_at(2):
            room.behaviour[uid].no_media_s += 1.0

    room.advance(300, freeze)
    kinds = {(a.site_id, a.state) for a in room.alerts()}
    assert kinds == {(2, AlertKind.CONNECTION_TROUBLE)}
    assert "of 10 at Site B with connection trouble: " in room.alerts()[0].text
    assert room.engine.site_pulse(2).count(StudentState.CONNECTION_TROUBLE) == 10
    assert all(StudentState.DISENGAGED not in room.states_seen(u) for u in room.students_at(2))


def test_student_flicking_between_tabs_gives_no_alert_and_stays_engaged() -> None:
    room = Room(SITES, {1: 10})
    room.advance(30)
    flicker = room.students_at(1)[3]
    rng = random.Random(7)
    b = room.behaviour[flicker]
    switch_at = [31]

    def flick(second: int) -> None:
        if second >= switch_at[0]:
            b.visible = not b.visible
            room.as_student(flicker, Attention(flicker, b.visible, b.visible, 0.0))
            switch_at[0] = second + rng.randint(1, 4)

    room.advance(600, flick)
    assert room.alerts() == []
    assert room.states_seen(flicker) == [StudentState.ENGAGED]
    assert room.engine.student_snapshot(flicker).disengaged_score < 0.6
    assert room.engine.stats()["telemetry_rejected"] == 0


def test_replay_is_deterministic() -> None:
    def run() -> list[dict[str, object]]:
        room = Room(SITES, {1: 6, 2: 6})
        rng = random.Random(3)
        room.advance(20)
        for uid in room.students_at(1):
            room.answer(uid, "Q1", "maps", correct=rng.random() < 0.3, secs=rng.uniform(3, 30))
            room.answer(uid, "Q2", "maps", correct=rng.random() < 0.3, secs=rng.uniform(3, 30))
        room.advance(120)
        return [o.as_dict() for o in room.outputs]

    first, second = run(), run()
    assert first == second
    assert any(d["type"] == "engagement.student" and d["state"] == "confused" for d in first)
