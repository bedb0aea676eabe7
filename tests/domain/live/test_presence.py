"""Session lifecycle, presence, roster checks and attendance arithmetic."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, InvalidState, NotPermitted
from server.domain.events import EVERYONE, to_site_staff
from server.domain.live import SessionStatus
from server.domain.live.commands import EndSession, Join, Leave, QnaAsk, StartSession
from server.domain.roles import Actor, Role

from .conftest import (
    ADMIN,
    FAC_A,
    FAC_B,
    OUTSIDER,
    REMOTE_STU,
    STU_A1,
    STU_A2,
    STU_B1,
    STUDENTS,
    T0,
    TEACHER,
    Harness,
    of_type,
)


def test_lifecycle_scheduled_live_ended(h: Harness) -> None:
    assert h.session.status == SessionStatus.SCHEDULED
    started = h.do(TEACHER, StartSession(), T0)
    assert h.types(started) == ["session.started"]
    assert started[0].audience == EVERYONE and started[0].at == T0
    assert h.session.status.value == "live"
    assert h.session.lesson_clock(T0 + 90) == 90
    h.do(TEACHER, EndSession(), T0 + 600)
    assert h.session.status.value == "ended"
    assert h.session.lesson_clock(T0 + 5000) == 600  # frozen at the end


def test_admin_may_start_and_end(h: Harness) -> None:
    h.do(ADMIN, StartSession(), T0)
    h.do(ADMIN, EndSession(), T0 + 1)
    assert h.session.ended_at == T0 + 1


@pytest.mark.parametrize("actor", [FAC_A, STU_A1, REMOTE_STU])
def test_only_leaders_start_or_end(h: Harness, actor: Actor) -> None:
    h.refuse(actor, StartSession(), T0, NotPermitted)
    h.do(TEACHER, StartSession(), T0)
    h.refuse(actor, EndSession(), T0 + 1, NotPermitted)


def test_bad_transitions(h: Harness) -> None:
    h.refuse(TEACHER, EndSession(), T0, InvalidState)  # not live yet
    h.do(TEACHER, StartSession(), T0)
    h.refuse(TEACHER, StartSession(), T0 + 1, InvalidState)
    h.do(TEACHER, EndSession(), T0 + 2)
    h.refuse(TEACHER, EndSession(), T0 + 3, InvalidState)
    h.refuse(TEACHER, StartSession(), T0 + 3, InvalidState)


def test_ended_session_refuses_actions(h: Harness) -> None:
    h.start()
    h.do(TEACHER, EndSession(), T0 + 10)
    h.refuse(STU_A1, Join(), T0 + 11, InvalidState)
    h.refuse(STU_A1, Leave(), T0 + 11, InvalidState)
    h.refuse(STU_A1, QnaAsk("late?"), T0 + 11, InvalidState)


def test_outsider_and_impostor_are_refused(h: Harness) -> None:
    h.refuse(OUTSIDER, Join(), T0, NotPermitted)
    impostor = Actor(STU_A1.user_id, Role.TEACHER)  # claims a role the roster does not give
    h.refuse(impostor, StartSession(), T0, NotPermitted)
    moved = Actor(STU_A1.user_id, Role.STUDENT, site_id=20)  # claims another site
    h.refuse(moved, Join(), T0, NotPermitted)


def test_roster_add_admits_new_participant(h: Harness) -> None:
    newcomer = Actor(500, Role.STUDENT, site_id=20)
    h.refuse(newcomer, Join(), T0, NotPermitted)
    h.roster.add(newcomer)
    joined = h.do(newcomer, Join(), T0)
    assert h.types(joined) == ["presence.joined", "presence.counts"]
    # a student's presence goes to their site's staff; everyone gets only the head count
    assert joined[0].audience == to_site_staff(20)
    assert joined[1].audience == EVERYONE
    assert joined[1].data["students"] == 1 and joined[1].data["sites"] == [
        {"site_id": 20, "students": 1}
    ]


def test_roster_rejects_facilitator_without_site(h: Harness) -> None:
    with pytest.raises(BadInput):
        h.roster.add(Actor(600, Role.FACILITATOR))


def test_bad_time_is_refused(h: Harness) -> None:
    h.refuse(TEACHER, StartSession(), float("nan"), BadInput)
    h.refuse(TEACHER, StartSession(), float("inf"), BadInput)


def test_join_and_leave_are_idempotent(h: Harness) -> None:
    joined = h.do(STU_A1, Join(), T0)
    assert of_type(joined, "presence.joined").data == {
        "user_id": 101,
        "site_id": 10,
        "role": "student",
    }
    assert h.do(STU_A1, Join(), T0 + 1) == []
    left = h.do(STU_A1, Leave(), T0 + 30)
    assert of_type(left, "presence.left").data == {"user_id": 101, "site_id": 10, "seconds": 30}
    assert h.do(STU_A1, Leave(), T0 + 31) == []
    assert h.do(STU_A2, Leave(), T0 + 31) == []  # never joined


def test_attendance_counts_only_the_live_window(h: Harness) -> None:
    h.do(STU_A1, Join(), T0 - 300)  # lobby: 5 minutes early
    h.do(STU_B1, Join(), T0 - 10)
    h.do(TEACHER, StartSession(), T0)
    h.do(STU_B1, Leave(), T0 + 100)
    h.do(STU_B1, Join(), T0 + 400)  # second stint
    h.do(STU_B1, Leave(), T0 + 450)
    h.do(REMOTE_STU, Join(), T0 + 500)
    report = h.session.attendance(T0 + 600)  # still live: open stints count up to now
    assert report["session_seconds"] == 600
    rows = {r["user_id"]: r for r in report["students"]}
    assert rows[101]["seconds"] == 600 and rows[101]["present"] is True
    assert rows[201]["seconds"] == 150 and rows[201]["joins"] == 2
    assert rows[201]["present"] is False
    assert rows[301]["seconds"] == 100 and rows[301]["site_id"] is None
    assert set(rows) == {101, 201, 301}  # staff are not in the student report
    h.do(TEACHER, EndSession(), T0 + 900)
    final = h.session.attendance(T0 + 5000)  # ended: nothing counts after the end
    rows = {r["user_id"]: r for r in final["students"]}
    assert final["session_seconds"] == 900
    assert rows[101]["seconds"] == 900 and rows[101]["present"] is False
    assert rows[301]["seconds"] == 400
    sites = {r["site_id"]: r for r in final["sites"]}
    assert sites[10] == {"site_id": 10, "seconds": 900, "students": 1}
    assert sites[20] == {"site_id": 20, "seconds": 150, "students": 1}
    assert sites[None] == {"site_id": None, "seconds": 400, "students": 1}
    assert [r["site_id"] for r in final["sites"]] == [10, 20, None]  # remote last


def test_attendance_before_start_is_zero(h: Harness) -> None:
    h.do(STU_A1, Join(), T0)
    report = h.session.attendance(T0 + 100)
    assert report["session_seconds"] == 0
    assert report["students"][0]["seconds"] == 0


def test_attendance_has_a_row_per_student_and_site(h: Harness) -> None:
    h.start()
    report = h.session.attendance(T0 + 60)
    assert len(report["students"]) == 5
    assert {r["user_id"] for r in report["students"] if r["site_id"] == 10} == {101, 102}
    assert 10 in [r["site_id"] for r in report["sites"]]


def test_presence_counts_in_snapshot(h: Harness) -> None:
    h.start(join=(TEACHER, FAC_A, STU_A1, STU_A2, STU_B1, REMOTE_STU))
    snap = h.session.snapshot_for(STU_B1)
    assert snap["presence"]["students"] == 4
    assert {"site_id": 10, "students": 2} in snap["presence"]["sites"]
    assert "users" not in snap["presence"]  # students see counts only
    fac = h.session.snapshot_for(FAC_A)["presence"]["users"]
    assert {u["user_id"] for u in fac} == {11, 101, 102}
    lead = h.session.snapshot_for(TEACHER)["presence"]["users"]
    assert len(lead) == 6


def test_head_counts_are_of_students_only(h: Harness) -> None:
    """A teacher at home and a facilitator in their room are not in the class's head count."""
    h.start(join=(TEACHER, ADMIN, FAC_A))
    counts = h.session.snapshot_for(TEACHER)["presence"]
    assert counts == {"students": 0, "sites": [], "users": counts["users"]}
    joined = h.do(STU_A1, Join(), T0 + 1)
    assert of_type(joined, "presence.counts").data == {
        "students": 1,
        "sites": [{"site_id": 10, "students": 1}],
    }
    left = h.do(FAC_A, Leave(), T0 + 2)
    assert of_type(left, "presence.counts").data["sites"] == [{"site_id": 10, "students": 1}]
    h.do(TEACHER, EndSession(), T0 + 3)
    assert h.session.snapshot_for(TEACHER)["presence"]["sites"] == []


def test_outsider_sees_nothing(h: Harness) -> None:
    h.start()
    with pytest.raises(NotPermitted):
        h.session.snapshot_for(OUTSIDER)
    with pytest.raises(NotPermitted):
        h.session.catch_up_questions(OUTSIDER)
    h.refuse(None, Join(), T0, NotPermitted)  # type: ignore[arg-type]


@pytest.mark.parametrize("actor", [TEACHER, ADMIN, FAC_A, STU_A1, REMOTE_STU])
def test_one_presence_rule_for_joined_and_left(h: Harness, actor: Actor) -> None:
    """Anyone's presence.joined and presence.left reach the same people: the leaders and the
    staff of the person's site; never a student (not even of the same site)."""
    joined = of_type(h.do(actor, Join(), T0), "presence.joined")
    left = of_type(h.do(actor, Leave(), T0 + 5), "presence.left")
    assert joined.audience == left.audience
    for event in (joined, left):
        assert [a for a in STUDENTS if event.audience.includes(a)] == []
        assert event.audience.includes(TEACHER) and event.audience.includes(ADMIN)
        assert event.audience.includes(FAC_A) == (actor.site_id == FAC_A.site_id)
        assert not event.audience.includes(FAC_B)
