"""Who may publish what and receive whom: the media role policy, pure."""

from __future__ import annotations

import pytest

from server.domain.errors import NotPermitted
from server.domain.media import policy
from server.domain.roles import Actor, Role

TEACHER = Actor(1, Role.TEACHER)
ADMIN = Actor(2, Role.ADMIN)
FACILITATOR = Actor(11, Role.FACILITATOR, site_id=10)
HOMELESS_FACILITATOR = Actor(12, Role.FACILITATOR, site_id=None)
STUDENT = Actor(101, Role.STUDENT, site_id=10)


def test_each_role_has_its_own_relay_id() -> None:
    assert policy.own_pid(TEACHER) == "teacher"
    assert policy.own_pid(ADMIN) == "admin-2"
    assert policy.own_pid(FACILITATOR) == "site-10"
    assert policy.own_pid(STUDENT) == "user-101"
    with pytest.raises(NotPermitted):
        policy.own_pid(HOMELESS_FACILITATOR)


def test_leaders_publish_the_lead_feed_and_facilitators_the_room_feed() -> None:
    assert policy.publish_right(TEACHER, on_stage=False) == policy.PublishRight(
        "teacher", ("microphone", "camera", "screen")
    )
    assert policy.publish_right(ADMIN, on_stage=False).publisher_id == "teacher"
    assert policy.publish_right(FACILITATOR, on_stage=False) == policy.PublishRight(
        "site-10", ("microphone", "camera")
    )
    with pytest.raises(NotPermitted):
        policy.publish_right(HOMELESS_FACILITATOR, on_stage=True)


def test_a_student_publishes_only_while_on_stage() -> None:
    with pytest.raises(NotPermitted, match="on stage"):
        policy.publish_right(STUDENT, on_stage=False)
    assert policy.publish_right(STUDENT, on_stage=True).publisher_id == "user-101"


def test_who_receives_whom_by_default() -> None:
    sites = [20, 10, 10]
    assert policy.subscribable(TEACHER, sites) == (
        ["site-10", "site-20"],
        ["site-10", "site-20", "teacher"],
    )
    assert policy.subscribable(ADMIN, sites)[0] == ["teacher", "site-10", "site-20"]
    assert policy.subscribable(STUDENT, sites) == (["teacher"], ["teacher"])
    assert policy.subscribable(FACILITATOR, sites) == (["teacher"], ["teacher"])


def test_asking_for_publishers_outside_ones_rights_is_refused() -> None:
    assert policy.choose_publishers(STUDENT, [10], None) == ["teacher"]
    assert policy.choose_publishers(TEACHER, [10], ["site-10", "site-10"]) == ["site-10"]
    with pytest.raises(NotPermitted):
        policy.choose_publishers(STUDENT, [10], ["site-10"])


def test_labels_and_stage_ids() -> None:
    assert policy.labels_for("teacher") == ("microphone", "camera", "screen")
    assert policy.labels_for("site-3") == ("microphone", "camera")
    assert policy.stage_pid({"kind": "site", "site_id": 3}) == "site-3"
    assert policy.stage_pid({"kind": "user", "user_id": 7}) == "user-7"
    assert policy.stage_pid({"kind": "user", "user_id": "7"}) is None
    assert policy.stage_pid({}) is None
