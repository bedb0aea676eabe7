"""Moderation: ask to mute, remove from the lesson (event-sourced, with the hand and stage
clean-up) and let back in; only the teacher (or an admin) may; the participant list's removed
people per staff scope."""

from __future__ import annotations

from server.domain.errors import BadInput, InvalidState, NotFound, NotPermitted
from server.domain.events import to_user
from server.domain.live.commands import (
    AllowBack,
    AskToMute,
    BringOnStage,
    EndSession,
    RaiseHand,
    RemoveParticipant,
)

from .conftest import ADMIN, FAC_A, FAC_B, STU_A1, STU_A2, STU_B1, T0, TEACHER, Harness, of_type


def test_ask_to_mute_goes_to_that_person_only(h: Harness) -> None:
    h.start()
    event = of_type(h.do(TEACHER, AskToMute(STU_A1.user_id), T0 + 1), "moderation.mute_asked")
    assert event.audience == to_user(STU_A1.user_id)
    assert event.data == {"user_id": STU_A1.user_id, "by": TEACHER.user_id}
    h.do(TEACHER, AskToMute(FAC_A.user_id), T0 + 2)  # a room's microphone too


def test_remove_takes_hand_down_and_off_stage_and_is_remembered(h: Harness) -> None:
    h.start()
    h.do(STU_A1, RaiseHand(), T0 + 1)
    h.do(STU_A2, RaiseHand(), T0 + 1)
    h.do(TEACHER, BringOnStage(user_id=STU_A2.user_id), T0 + 2)
    events = h.do(TEACHER, RemoveParticipant(STU_A1.user_id), T0 + 3)
    assert h.types(events) == ["moderation.removed", "hand.lowered", "hand.count"]
    removed = events[0]
    assert removed.audience.includes(STU_A1) and removed.audience.includes(FAC_A)
    assert not removed.audience.includes(FAC_B) and not removed.audience.includes(STU_A2)
    events = h.do(ADMIN, RemoveParticipant(STU_A2.user_id), T0 + 4)
    assert "stage.left" in h.types(events)
    assert h.session.is_removed(STU_A1.user_id) and h.session.is_removed(STU_A2.user_id)
    assert h.do(TEACHER, RemoveParticipant(STU_A1.user_id), T0 + 5) == []  # already removed
    assert h.replayed().is_removed(STU_A1.user_id)


def test_let_back_in(h: Harness) -> None:
    h.start()
    h.do(TEACHER, RemoveParticipant(STU_B1.user_id), T0 + 1)
    event = of_type(h.do(TEACHER, AllowBack(STU_B1.user_id), T0 + 2), "moderation.readmitted")
    assert event.data["user_id"] == STU_B1.user_id
    assert not h.session.is_removed(STU_B1.user_id)
    assert h.do(TEACHER, AllowBack(STU_B1.user_id), T0 + 3) == []


def test_only_leaders_moderate_with_clear_errors(h: Harness) -> None:
    h.start()
    for actor in (FAC_A, STU_A2):
        for command in (AskToMute(STU_A1.user_id), RemoveParticipant(STU_A1.user_id)):
            h.refuse(actor, command, T0 + 1, NotPermitted)
    h.refuse(TEACHER, RemoveParticipant(ADMIN.user_id), T0 + 1, BadInput)
    h.refuse(TEACHER, RemoveParticipant(424242), T0 + 1, NotFound)
    h.refuse(TEACHER, RemoveParticipant(True), T0 + 1, BadInput)  # type: ignore[arg-type]
    h.refuse(ADMIN, AskToMute(ADMIN.user_id), T0 + 1, BadInput)


def test_removed_list_in_snapshots_by_scope(h: Harness) -> None:
    h.start()
    h.do(TEACHER, RemoveParticipant(STU_A1.user_id), T0 + 1)
    h.do(TEACHER, RemoveParticipant(STU_B1.user_id), T0 + 1)
    assert h.session.snapshot_for(TEACHER)["removed"] == [STU_A1.user_id, STU_B1.user_id]
    assert h.session.snapshot_for(FAC_A)["removed"] == [STU_A1.user_id]
    assert h.session.snapshot_for(STU_A2)["removed"] == []


def test_no_moderation_after_the_end(h: Harness) -> None:
    h.start()
    h.do(TEACHER, EndSession(), T0 + 10)
    h.refuse(TEACHER, RemoveParticipant(STU_A1.user_id), T0 + 11, InvalidState)
    h.refuse(TEACHER, AskToMute(STU_A1.user_id), T0 + 11, InvalidState)
