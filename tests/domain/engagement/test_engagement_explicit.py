"""An explicit "I'm confused" press is the student's own word: staff are told at the same
``now`` (no smoothing, no hysteresis), and told again at the same ``now`` when it is seen,
withdrawn or expires. A press that changes nothing sends nothing; the smoothed state and the
site alerts keep their hysteresis."""

from __future__ import annotations

import json

import pytest

from server.domain.engagement import (
    Alert,
    ConfusedPressed,
    EngagementSettings,
    ExplicitChanged,
    Output,
    RateLimited,
    StudentState,
    TimelineEntry,
)
from server.domain.errors import NotPermitted
from server.domain.events import Audience

from .engagement_harness import TEACHER, Room

SITES: dict[int | None, str] = {1: "Site A", 2: "Site B"}


def explicit(outputs: list[Output], uid: int | None = None) -> list[ExplicitChanged]:
    return [
        o for o in outputs if isinstance(o, ExplicitChanged) and (uid is None or o.user_id == uid)
    ]


def calm_room(per_site: dict[int | None, int] | None = None) -> Room:
    room = Room(SITES, per_site or {1: 4, 2: 3})
    room.advance(30)  # everyone engaged and settled
    return room


def test_press_and_seen_reach_staff_at_the_same_now() -> None:
    room = calm_room()
    uid = room.students_at(1)[0]
    out = room.as_student(uid, ConfusedPressed(uid))
    [shown] = explicit(out)
    assert (shown.user_id, shown.site_id, shown.active, shown.cause) == (uid, 1, True, "pressed")
    assert shown.at == shown.since == room.now and shown.by == uid
    # staff of the student's site (the teacher is in every site_staff audience) and the student
    assert shown.audiences == (Audience("site_staff", 1), Audience("user", uid))
    assert shown.coalesce_key is None  # delivered at once, never held back with the pulses
    assert json.loads(json.dumps(shown.as_dict())) == {
        "type": "engagement.explicit",
        "user_id": uid,
        "site_id": 1,
        "signal": "confused",
        "active": True,
        "cause": "pressed",
        "by": uid,
        "since": room.now,
        "at": room.now,
    }
    # the inferred state keeps its hysteresis: still engaged at this instant
    assert room.engine.student_state(uid) is StudentState.ENGAGED
    assert room.engine.pressed_confused(1) == [(uid, room.now)]

    room.advance(3)
    out = room.engine.acknowledge_student(TEACHER, uid, room.now)
    [cleared] = explicit(out)
    assert (cleared.active, cleared.cause, cleared.by, cleared.at) == (
        False,
        "seen",
        TEACHER.user_id,
        room.now,
    )
    assert cleared.since is None and room.engine.pressed_confused(1) == []


def test_a_press_that_changes_nothing_sends_nothing() -> None:
    room = calm_room()
    uid = room.students_at(1)[0]
    assert explicit(room.as_student(uid, ConfusedPressed(uid, active=False))) == []
    assert len(explicit(room.as_student(uid, ConfusedPressed(uid)))) == 1
    room.advance(2)
    assert explicit(room.as_student(uid, ConfusedPressed(uid))) == []  # pressed again
    out = room.as_student(uid, ConfusedPressed(uid, active=False))
    assert [(e.active, e.cause) for e in explicit(out)] == [(False, "withdrawn")]
    assert explicit(room.engine.acknowledge_student(TEACHER, uid, room.now)) == []


def test_expiry_clears_at_the_deadline_and_a_new_press_moves_it() -> None:
    room = calm_room()
    expiry = room.settings.confused_expiry_s
    a, b = room.students_at(1)[:2]
    room.as_student(a, ConfusedPressed(a))
    a_at = room.now
    room.advance(10)
    room.as_student(b, ConfusedPressed(b))
    assert room.engine.next_expiry() == a_at + expiry
    room.advance(5)
    room.as_student(a, ConfusedPressed(a))  # pressed again: counts from now
    a_again = room.now
    assert room.engine.next_expiry() == a_at + 10 + expiry  # b's press is now the oldest

    assert explicit(room.engine.tick(a_at + 10 + expiry - 0.001)) == []
    [gone] = explicit(room.engine.tick(a_at + 10 + expiry))
    assert (gone.user_id, gone.active, gone.cause, gone.at) == (b, False, "expired", gone.at)
    assert gone.at == a_at + 10 + expiry
    assert room.engine.next_expiry() == a_again + expiry
    [gone] = explicit(room.engine.tick(a_again + expiry))
    assert (gone.user_id, gone.cause) == (a, "expired")
    assert room.engine.next_expiry() is None and room.engine.pressed_confused(1) == []


def test_expiry_is_reported_by_whichever_call_comes_first() -> None:
    room = calm_room()
    a, b = room.students_at(1)[:2]
    room.as_student(a, ConfusedPressed(a))
    later = room.now + room.settings.confused_expiry_s + 5
    out = room.engine.ingest(ConfusedPressed(b), later, room.actors[b])
    assert [(e.user_id, e.active, e.cause) for e in explicit(out)] == [
        (a, False, "expired"),
        (b, True, "pressed"),
    ]


def test_facilitator_on_behalf_and_site_acknowledgement() -> None:
    room = calm_room()
    a, b = room.students_at(1)[:2]
    c = room.students_at(2)[0]
    facilitator = room.facilitators[1]
    [shown] = explicit(room.send(ConfusedPressed(a), facilitator))
    assert shown.by == facilitator.user_id and shown.cause == "pressed"
    room.as_student(b, ConfusedPressed(b))
    room.as_student(c, ConfusedPressed(c))
    # acknowledging the site's confusion: every press of that site is seen, not other sites'
    out = room.engine.acknowledge_site(facilitator, 1, "confused", room.now)
    assert sorted((e.user_id, e.active, e.cause) for e in explicit(out)) == sorted(
        [(a, False, "seen"), (b, False, "seen")]
    )
    assert room.engine.pressed_confused(1) == []
    assert [uid for uid, _ in room.engine.pressed_confused(2)] == [c]
    # a facilitator of another site may not mark a student seen
    with pytest.raises(NotPermitted):
        room.engine.acknowledge_student(facilitator, c, room.now)
    assert [uid for uid, _ in room.engine.pressed_confused(2)] == [c]


def test_repeated_pressing_is_bounded_by_the_explicit_rate_limit() -> None:
    settings = EngagementSettings()
    room = calm_room()
    uid = room.students_at(1)[0]
    sent = refused = 0
    for i in range(40):  # a student hammering the button within 4 s
        room.now += 0.1
        try:
            sent += len(explicit(room.as_student(uid, ConfusedPressed(uid, active=i % 2 == 0))))
        except RateLimited:
            refused += 1
    assert sent <= settings.explicit_burst + 1 and refused >= 40 - settings.explicit_burst - 1


def test_site_alerts_keep_their_hysteresis() -> None:
    room = calm_room({1: 3})
    uids = room.students_at(1)
    out: list[Output] = []
    for uid in uids:
        out += room.as_student(uid, ConfusedPressed(uid))
    assert len(explicit(out)) == 3
    assert not [o for o in out if isinstance(o, Alert)]  # no alert at the instant of the press
    room.advance(60)
    assert len(room.alerts(1, "confused")) == 1


def test_every_change_of_a_press_is_a_timeline_entry_for_reports() -> None:
    """Reports show the student's own word from the log of the engine's timeline: the press
    and what cleared it (seen, withdrawn, expired), at the same ``now``, with who did it."""
    room = calm_room()
    first, second = room.students_at(1)[:2]
    pressed = room.as_student(first, ConfusedPressed(first))
    entries = [o for o in pressed if isinstance(o, TimelineEntry) and o.scope == "press"]
    assert [(e.user_id, e.site_id, e.value, e.at) for e in entries] == [
        (first, 1, "pressed", room.now)
    ]
    again = room.as_student(first, ConfusedPressed(first))  # changes nothing: no entry
    assert not [o for o in again if isinstance(o, TimelineEntry) and o.scope == "press"]
    seen = room.engine.acknowledge_student(TEACHER, first, room.now)
    [cleared] = [o for o in seen if isinstance(o, TimelineEntry) and o.scope == "press"]
    assert (cleared.value, cleared.reasons) == ("seen", (f"by user {TEACHER.user_id}",))
    room.as_student(second, ConfusedPressed(second))
    mark = len(room.outputs)
    room.advance(int(room.settings.confused_expiry_s) + 1)
    expired = [o for o in room.outputs[mark:] if isinstance(o, TimelineEntry)]
    assert [(o.user_id, o.value) for o in expired if o.scope == "press"] == [(second, "expired")]
