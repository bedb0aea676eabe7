"""Alert policy: small-sample guard, snooze, acknowledge, window, global cap, help requests."""

from __future__ import annotations

import pytest

from server.domain.engagement import (
    Alert,
    AlertHandled,
    AlertKind,
    ConfusedPressed,
    EngagementSettings,
    Level,
    SiteNeedsHelp,
    StudentState,
)
from server.domain.engagement.site import wilson_lower
from server.domain.errors import BadInput, NotFound, NotPermitted
from server.domain.roles import Actor, Role

from .engagement_harness import TEACHER, Room

SITES: dict[int | None, str] = {1: "Site A", 2: "Site B"}


def press(room: Room, uids: list[int]) -> None:
    for uid in uids:
        room.as_student(uid, ConfusedPressed(uid))


def test_wilson_lower_bound_values() -> None:
    assert wilson_lower(0, 0, 1.645) == 0.0
    assert wilson_lower(0, 10, 1.645) == 0.0
    assert wilson_lower(3, 9, 1.645) == pytest.approx(0.141, abs=0.002)
    assert wilson_lower(4, 10, 1.645) == pytest.approx(0.194, abs=0.002)
    assert wilson_lower(6, 30, 1.645) < 0.12 < wilson_lower(7, 30, 1.645)


def test_two_confused_of_two_students_does_not_alert() -> None:
    room = Room(SITES, {1: 2})
    room.advance(30)
    press(room, room.students_at(1))
    room.advance(120)
    assert all(room.engine.student_state(u) is StudentState.CONFUSED for u in room.students_at(1))
    assert room.alerts() == []
    pulse = room.engine.site_pulse(1)
    assert pulse.count(StudentState.CONFUSED) == 2 and pulse.level is Level.CALM


def test_three_confused_of_three_does_alert() -> None:
    room = Room(SITES, {1: 3})
    room.advance(30)
    press(room, room.students_at(1))
    room.advance(120)
    [alert] = room.alerts()
    assert alert.text.endswith(" of 3 at Site A confused: " + alert.reasons[0])
    assert room.engine.site_pulse(1).count(StudentState.CONFUSED) == 3


def test_below_alert_level_is_a_passive_colour() -> None:
    room = Room(SITES, {1: 20})
    room.advance(30)
    press(room, room.students_at(1)[:2])  # 2 of 20: Wilson bound about 0.04 -> calm
    room.advance(60)
    press(room, room.students_at(1)[2:4])  # 4 of 20: about 0.08 -> watch, still no alert
    room.advance(60)
    assert room.alerts() == []
    pulse = room.engine.site_pulse(1)
    assert pulse.level is Level.WATCH and pulse.top_state is StudentState.CONFUSED
    assert pulse.reasons[:2] == ("4 of 20 confused", "4 pressed confused")


def test_acknowledge_clears_presses_and_silences_until_condition_clears() -> None:
    room = Room(SITES, {1: 9})
    room.advance(30)
    press(room, room.students_at(1)[:4])
    room.advance(60)
    [alert] = room.alerts()
    out = room.engine.acknowledge(TEACHER, alert.id, room.now)
    assert isinstance(out[0], AlertHandled) and out[0].alert_id == alert.id
    room.advance(120)
    assert all(room.engine.student_state(u) is StudentState.ENGAGED for u in room.students_at(1))
    assert len(room.alerts()) == 1
    # Recurrence after the window: a new alert.
    room.advance(300)
    press(room, room.students_at(1)[4:8])
    room.advance(60)
    assert len(room.alerts(1, "confused")) == 2


def test_acknowledge_unknown_alert_and_wrong_actor() -> None:
    room = Room(SITES, {1: 3, 2: 3})
    with pytest.raises(NotFound):
        room.engine.acknowledge(TEACHER, 99, 1.0)
    other_facilitator = Actor(77, Role.FACILITATOR, 2)
    with pytest.raises(NotPermitted):
        room.engine.acknowledge_site(other_facilitator, 1, "confused", 1.0)
    student = room.actors[room.students_at(1)[0]]
    with pytest.raises(NotPermitted):
        room.engine.snooze(student, 1, "confused", 5, 1.0)
    with pytest.raises(BadInput):
        room.engine.acknowledge_site(TEACHER, 1, "bored", 1.0)
    with pytest.raises(BadInput):
        room.engine.snooze(TEACHER, 1, "confused", 10_000, 1.0)
    with pytest.raises(NotFound):
        room.engine.snooze(TEACHER, 42, "confused", 5, 1.0)


def test_snooze_holds_alert_until_it_ends_and_colour_still_shows() -> None:
    room = Room(SITES, {1: 9})
    room.advance(30)
    room.engine.snooze(room.facilitators[1], 1, AlertKind.CONFUSED, 3, room.now)
    assert room.engine.snoozed_until(1, "confused") == room.now + 180
    press(room, room.students_at(1)[:5])
    room.advance(120)
    assert room.alerts() == []
    assert room.engine.site_pulse(1).level is Level.ALERT
    # Students keep pressing (the condition lasts); the snooze ends at +180 s.
    room.advance(30)
    press(room, room.students_at(1)[:5])
    room.advance(40)
    assert [a.state for a in room.alerts()] == [AlertKind.CONFUSED]
    assert room.alerts()[0].at == pytest.approx(30 + 180, abs=1)


def test_one_alert_per_site_per_state_per_window() -> None:
    settings = EngagementSettings(confused_expiry_s=60)
    room = Room(SITES, {1: 9}, settings)
    room.advance(30)
    press(room, room.students_at(1)[:4])
    room.advance(150)  # presses expire, students return to engaged: the slot re-arms
    assert room.engine.site_pulse(1).level is Level.CALM
    for _ in range(3):  # the second episode lasts: students press again as presses expire
        press(room, room.students_at(1)[4:8])
        room.advance(50)
    assert len(room.alerts()) == 1  # second episode falls inside the 5-minute window
    assert room.engine.stats()["alerts_held_by_window"] == 1
    press(room, room.students_at(1)[4:8])
    room.advance(50)  # the window (from the first alert) ends while the episode lasts
    [first, second] = room.alerts()
    assert second.at == pytest.approx(first.at + 300, abs=1)


def test_global_cap_holds_alerts_and_releases_them_later() -> None:
    sites: dict[int | None, str] = {i: f"Site {i}" for i in range(1, 11)}
    room = Room(sites, {i: 3 for i in range(1, 11)})
    room.advance(30)
    for site in range(1, 11):
        press(room, room.students_at(site))
    room.advance(40)
    assert len(room.alerts()) == 6
    assert room.engine.stats()["alerts_held_by_cap"] == 4
    room.advance(60)
    alerts = room.alerts()
    assert len(alerts) == 10 and len({a.site_id for a in alerts}) == 10
    for a in alerts:
        assert sum(1 for b in alerts if a.at <= b.at < a.at + 60) <= 6


def test_site_needs_help_alerts_once_and_expires() -> None:
    room = Room(SITES, {1: 5, 2: 5})
    room.advance(10)
    out = room.send(SiteNeedsHelp(2), room.facilitators[2])
    [alert] = [o for o in out if isinstance(o, Alert)]
    assert alert.text == "Site B asks for help" and alert.state is AlertKind.HELP
    room.advance(10)
    room.send(SiteNeedsHelp(2), room.facilitators[2])
    assert len(room.alerts(2, "help")) == 1
    assert room.engine.site_pulse(2).level is Level.ALERT
    assert "facilitator asked for help" in room.engine.site_pulse(2).reasons
    room.advance(600)
    assert room.engine.site_pulse(2).level is Level.CALM


def test_acknowledging_help_clears_it() -> None:
    room = Room(SITES, {1: 5})
    room.advance(10)
    room.send(SiteNeedsHelp(1), room.facilitators[1])
    room.engine.acknowledge_site(TEACHER, 1, "help", room.now)
    assert room.engine.site_pulse(1).level is Level.CALM


def test_open_alerts_stand_until_acknowledged_or_cleared() -> None:
    room = Room(SITES, {1: 5, 2: 5})
    room.advance(10)
    room.send(SiteNeedsHelp(1), room.facilitators[1])
    room.send(SiteNeedsHelp(2), room.facilitators[2])
    snoozed = room.engine.snooze(TEACHER, 2, "help", 10, room.now)
    assert [(a.site_id, a.state) for a in room.engine.open_alerts()] == [
        (1, AlertKind.HELP),
        (2, AlertKind.HELP),
    ]
    [only] = room.engine.open_alerts([2])  # a facilitator's own site only
    assert only.text == "Site B asks for help" and snoozed  # a snooze leaves it standing
    room.engine.acknowledge_site(TEACHER, 1, "help", room.now)
    assert [a.site_id for a in room.engine.open_alerts()] == [2]
    room.send(SiteNeedsHelp(2, active=False), room.facilitators[2])  # withdrawn: it clears
    assert room.engine.open_alerts() == []
