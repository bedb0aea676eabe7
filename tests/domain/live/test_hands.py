"""Hand queue (order, self-lowering, room hands, clearing) and the stage."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, to_site_staff, to_user_and_staff
from server.domain.live import Limits
from server.domain.live.commands import (
    BringOnStage,
    ClearHands,
    DismissHand,
    EndSession,
    Join,
    Leave,
    LowerHand,
    LowerSiteHand,
    RaiseHand,
    RaiseSiteHand,
    ReturnFromStage,
)
from server.domain.roles import Actor

from .conftest import (
    EVERYBODY,
    FAC_A,
    FAC_B,
    REMOTE_STU,
    STU_A1,
    STU_A2,
    STU_B1,
    T0,
    TEACHER,
    Harness,
    check_replay,
    of_type,
)


def queue(h: Harness) -> list[tuple[str, int | None, int | None]]:
    return [
        (e["kind"], e["user_id"], e["site_id"])
        for e in h.session.snapshot_for(TEACHER)["hands"]["queue"]
    ]


def stage(h: Harness) -> list[tuple[str, int | None, int | None]]:
    return [
        (e["kind"], e["user_id"], e["site_id"])
        for e in h.session.snapshot_for(STU_A1)["hands"]["stage"]
    ]


def test_queue_keeps_raise_order_and_repeats_keep_place(h: Harness) -> None:
    h.start()
    raised = of_type(h.do(STU_B1, RaiseHand(), T0 + 10), "hand.raised")
    assert raised.audience == to_user_and_staff(201, 20)
    assert raised.data == {"kind": "user", "user_id": 201, "site_id": 20, "by": 201}
    h.do(STU_A1, RaiseHand(), T0 + 11)
    h.do(FAC_A, RaiseSiteHand(), T0 + 12)
    assert h.do(STU_B1, RaiseHand(), T0 + 13) == []  # already raised: keeps its place
    assert queue(h) == [("user", 201, 20), ("user", 101, 10), ("site", None, 10)]
    snap = h.session.snapshot_for(TEACHER)["hands"]["queue"]
    assert [e["since"] for e in snap] == [T0 + 10, T0 + 11, T0 + 12]


def test_lower_self_and_site(h: Harness) -> None:
    h.start()
    h.do(STU_A1, RaiseHand(), T0 + 10)
    h.do(FAC_A, RaiseSiteHand(), T0 + 11)
    lowered = of_type(h.do(STU_A1, LowerHand(), T0 + 12), "hand.lowered")
    assert lowered.data["reason"] == "lowered" and lowered.data["user_id"] == 101
    assert h.do(STU_A1, LowerHand(), T0 + 13) == []
    assert h.do(FAC_B, LowerSiteHand(), T0 + 14) == []  # site B has no hand up
    h.do(FAC_A, LowerSiteHand(), T0 + 15)
    assert queue(h) == []


def test_roles_for_raising(h: Harness) -> None:
    h.start()
    h.refuse(TEACHER, RaiseHand(), T0 + 1, NotPermitted)
    h.refuse(FAC_A, RaiseHand(), T0 + 1, NotPermitted)
    h.refuse(STU_A1, RaiseSiteHand(), T0 + 1, NotPermitted)
    h.refuse(TEACHER, RaiseSiteHand(), T0 + 1, NotPermitted)
    h.refuse(STU_A1, ClearHands(), T0 + 1, NotPermitted)
    h.refuse(FAC_A, ClearHands(), T0 + 1, NotPermitted)
    h.refuse(STU_A1, DismissHand(user_id=101), T0 + 1, NotPermitted)


def test_clear_and_dismiss(h: Harness) -> None:
    h.start()
    assert h.do(TEACHER, ClearHands(), T0 + 1) == []  # nothing to clear
    h.do(STU_A1, RaiseHand(), T0 + 10)
    h.do(STU_B1, RaiseHand(), T0 + 11)
    h.do(FAC_A, RaiseSiteHand(), T0 + 12)
    dismissed = of_type(h.do(TEACHER, DismissHand(site_id=10), T0 + 13), "hand.lowered")
    assert dismissed.data["reason"] == "dismissed" and dismissed.data["kind"] == "site"
    h.refuse(TEACHER, DismissHand(site_id=10), T0 + 14, NotFound)
    h.refuse(TEACHER, DismissHand(user_id=101, site_id=10), T0 + 14, BadInput)
    h.refuse(TEACHER, DismissHand(), T0 + 14, BadInput)
    h.refuse(TEACHER, DismissHand(user_id=12345), T0 + 14, NotFound)
    assert h.types(h.do(TEACHER, ClearHands(), T0 + 15)) == ["hand.cleared", "hand.count"]
    assert queue(h) == []


def test_bring_on_stage_lowers_hand_and_returns(h: Harness) -> None:
    h.start()
    h.do(STU_A1, RaiseHand(), T0 + 10)
    events = h.do(TEACHER, BringOnStage(user_id=101), T0 + 20)
    assert h.types(events) == ["hand.lowered", "stage.joined", "hand.count"]
    assert events[0].data["reason"] == "on_stage"
    assert events[1].data == {"kind": "user", "user_id": 101, "site_id": 10, "by": 1}
    assert queue(h) == [] and stage(h) == [("user", 101, 10)]
    assert h.do(TEACHER, BringOnStage(user_id=101), T0 + 21) == []
    h.refuse(STU_A1, RaiseHand(), T0 + 22, InvalidState)
    h.refuse(STU_A2, ReturnFromStage(user_id=101), T0 + 23, NotPermitted)
    left = of_type(h.do(STU_A1, ReturnFromStage(user_id=101), T0 + 24), "stage.left")
    assert left.data["reason"] == "returned"
    assert h.do(STU_A1, ReturnFromStage(user_id=101), T0 + 25) == []
    assert stage(h) == []


def test_site_on_stage(h: Harness) -> None:
    h.start()
    h.do(FAC_B, RaiseSiteHand(), T0 + 10)
    h.do(TEACHER, BringOnStage(site_id=20), T0 + 11)
    assert stage(h) == [("site", None, 20)]
    h.refuse(FAC_A, ReturnFromStage(site_id=20), T0 + 12, NotPermitted)
    h.do(FAC_B, ReturnFromStage(site_id=20), T0 + 13)
    assert stage(h) == []
    h.refuse(TEACHER, BringOnStage(site_id=99), T0 + 14, NotFound)


def test_stage_rules() -> None:
    h = Harness(Limits(max_on_stage=2))
    h.start(join=(TEACHER, STU_A1, STU_A2, STU_B1))
    h.refuse(STU_A1, BringOnStage(user_id=101), T0 + 1, NotPermitted)
    h.refuse(TEACHER, BringOnStage(user_id=REMOTE_STU.user_id), T0 + 1, InvalidState)
    h.refuse(TEACHER, BringOnStage(user_id=999), T0 + 1, NotFound)
    h.do(TEACHER, BringOnStage(user_id=101), T0 + 2)
    h.do(TEACHER, BringOnStage(site_id=20), T0 + 3)
    h.refuse(TEACHER, BringOnStage(user_id=102), T0 + 4, Conflict)
    h.do(TEACHER, ReturnFromStage(site_id=20), T0 + 5)
    h.do(TEACHER, BringOnStage(user_id=102), T0 + 6)
    check_replay(h)


def test_leaving_takes_hand_down_and_off_stage(h: Harness) -> None:
    h.start()
    h.do(STU_A1, RaiseHand(), T0 + 10)
    h.do(STU_B1, RaiseHand(), T0 + 11)
    h.do(TEACHER, BringOnStage(user_id=201), T0 + 12)
    events = h.do(STU_A1, Leave(), T0 + 20)
    assert h.types(events) == ["hand.lowered", "presence.left", "presence.counts", "hand.count"]
    assert events[0].data["reason"] == "left"
    events = h.do(STU_B1, Leave(), T0 + 21)
    assert h.types(events) == ["stage.left", "presence.left", "presence.counts"]
    assert queue(h) == [] and stage(h) == []
    h.do(STU_A1, Join(), T0 + 30)
    assert queue(h) == []


@pytest.mark.parametrize("command", [RaiseHand(), LowerHand()])
def test_hands_need_live_session(h: Harness, command: RaiseHand | LowerHand) -> None:
    h.refuse(STU_A1, command, T0 - 1, InvalidState)
    h.start()
    h.do(TEACHER, EndSession(), T0 + 1)
    h.refuse(STU_A1, command, T0 + 2, InvalidState)


def test_end_clears_queue_and_stage(h: Harness) -> None:
    h.start()
    h.do(STU_A1, RaiseHand(), T0 + 10)
    h.do(TEACHER, BringOnStage(user_id=201), T0 + 11)
    h.do(TEACHER, EndSession(), T0 + 20)
    assert queue(h) == [] and stage(h) == []


def test_who_sees_which_hand(h: Harness) -> None:
    """Teacher: every hand; a facilitator: their site's students and room; a student: their
    own hand; everyone: the queue's length (hand.count)."""
    h.start()
    b1 = h.do(STU_B1, RaiseHand(), T0 + 10)
    h.do(STU_A1, RaiseHand(), T0 + 11)
    room = h.do(FAC_A, RaiseSiteHand(), T0 + 12)
    h.do(REMOTE_STU, RaiseHand(), T0 + 13)
    assert of_type(room, "hand.raised").audience == to_site_staff(10)
    raised = of_type(b1, "hand.raised")
    assert [a.user_id for a in EVERYBODY if raised.audience.includes(a)] == [1, 2, 21, 201]
    count = of_type(b1, "hand.count")
    assert count.audience == EVERYONE and count.data == {"queued": 1}

    def seen(actor: Actor) -> list[tuple[str, int | None, int | None]]:
        view = h.session.snapshot_for(actor)["hands"]
        assert view["queued"] == 4
        return [(e["kind"], e["user_id"], e["site_id"]) for e in view["queue"]]

    assert len(seen(TEACHER)) == 4
    assert seen(FAC_A) == [("user", 101, 10), ("site", None, 10)]
    assert seen(FAC_B) == [("user", 201, 20)]
    assert seen(STU_A1) == [("user", 101, 10)]
    assert seen(STU_A2) == []
    assert seen(REMOTE_STU) == [("user", 301, None)]
    lowered = of_type(h.do(TEACHER, DismissHand(user_id=201), T0 + 20), "hand.lowered")
    assert lowered.audience == raised.audience
