"""Who sees which sites' pulses and which students' states (pure)."""

from __future__ import annotations

from server.domain.engagement.visibility import Visible, visible_to
from server.domain.roles import Actor, Role

TEACHER = Actor(1, Role.TEACHER)
ADMIN = Actor(2, Role.ADMIN)
FAC_10 = Actor(11, Role.FACILITATOR, site_id=10)
AT_10 = Actor(101, Role.STUDENT, site_id=10)
AT_20 = Actor(201, Role.STUDENT, site_id=20)
AT_HOME = Actor(301, Role.STUDENT, site_id=None)
ROSTER = (TEACHER, ADMIN, FAC_10, AT_HOME, AT_20, AT_10)


def test_leaders_see_every_site_with_students_remote_last() -> None:
    assert visible_to(TEACHER, ROSTER) == Visible([10, 20, None], [301, 201, 101])
    assert visible_to(ADMIN, ROSTER).sites == [10, 20, None]


def test_a_facilitator_sees_their_own_site_only() -> None:
    assert visible_to(FAC_10, ROSTER) == Visible([10], [101])


def test_a_student_sees_no_pulse_and_only_themselves() -> None:
    assert visible_to(AT_20, ROSTER) == Visible([], [201])


def test_no_students_no_sites() -> None:
    assert visible_to(TEACHER, (TEACHER, FAC_10)) == Visible([], [])
