"""Reactions (allowed set, cooldown) and quiet yes/no checks (private answers, per-site counts)."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, LEADERS, to_site_staff, to_user
from server.domain.live import Limits
from server.domain.live.commands import (
    AnswerCheck,
    CloseCheck,
    EndSession,
    OpenCheck,
    SendReaction,
)

from .conftest import (
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


def test_reaction_broadcast_and_counts(h: Harness) -> None:
    h.start()
    events = h.do(STU_A1, SendReaction("clap"), T0 + 1)
    sent = of_type(events, "reaction.sent")
    assert sent.audience == LEADERS  # who reacted: the teacher; counts: everyone
    counts = of_type(events, "reaction.counts")
    assert counts.audience == EVERYONE and counts.data == {"counts": {"clap": 1}}
    assert sent.data == {"user_id": 101, "site_id": 10, "reaction": "clap"}
    h.do(STU_B1, SendReaction("clap"), T0 + 1)
    h.do(TEACHER, SendReaction("thumbs_up"), T0 + 1)
    assert h.session.snapshot_for(STU_A2)["reactions"]["counts"] == {"clap": 2, "thumbs_up": 1}


@pytest.mark.parametrize("reaction", ["poop", "", 3, "CLAP"])
def test_unknown_reaction(h: Harness, reaction: object) -> None:
    h.start()
    h.refuse(STU_A1, SendReaction(reaction), T0 + 1, BadInput)  # type: ignore[arg-type]


def test_reaction_cooldown(h: Harness) -> None:
    h.start()
    h.do(STU_A1, SendReaction("heart"), T0 + 1)
    h.refuse(STU_A1, SendReaction("clap"), T0 + 1.5, Conflict)
    h.do(STU_A2, SendReaction("clap"), T0 + 1.5)  # the cooldown is per person
    h.do(STU_A1, SendReaction("clap"), T0 + 2.0)


def test_custom_reaction_set() -> None:
    h = Harness(Limits(reactions=frozenset({"wave"}), reaction_cooldown_seconds=0))
    h.start()
    h.do(STU_A1, SendReaction("wave"), T0 + 1)
    h.do(STU_A1, SendReaction("wave"), T0 + 1)
    h.refuse(STU_A1, SendReaction("clap"), T0 + 1, BadInput)
    check_replay(h)


def test_reactions_need_live(h: Harness) -> None:
    h.refuse(STU_A1, SendReaction("clap"), T0 - 5, InvalidState)


def open_check(h: Harness, prompt: str = "Can you hear me?") -> int:
    events = h.do(TEACHER, OpenCheck(prompt), T0 + 10)
    opened = of_type(events, "check.opened")
    assert opened.audience == EVERYONE
    cid = opened.data["check_id"]
    assert isinstance(cid, int)
    return cid


def test_check_answers_are_quiet(h: Harness) -> None:
    h.start()
    cid = open_check(h)
    events = h.do(STU_A1, AnswerCheck(cid, True), T0 + 11)
    answered, tally = of_type(events, "check.answered"), of_type(events, "check.tally")
    assert answered.audience == to_user(101)
    assert answered.data == {
        "check_id": cid,
        "user_id": 101,
        "site_id": 10,
        "yes": True,
        "replaced": False,
    }
    assert tally.audience == to_site_staff(10)
    assert tally.data == {"check_id": cid, "site_id": 10, "yes": 1, "no": 0}
    remote = h.do(REMOTE_STU, AnswerCheck(cid, False), T0 + 12)
    assert of_type(remote, "check.tally").audience == LEADERS
    snap = h.session.snapshot_for(STU_A2)["checks"][0]
    assert snap["mine"] is None and "results" not in snap
    assert h.session.snapshot_for(STU_A1)["checks"][0]["mine"] is True


def test_check_replace_and_per_site_counts(h: Harness) -> None:
    h.start()
    cid = open_check(h)
    h.do(STU_A1, AnswerCheck(cid, True), T0 + 11)
    h.do(STU_A2, AnswerCheck(cid, True), T0 + 11)
    h.do(STU_B1, AnswerCheck(cid, True), T0 + 11)
    replaced = h.do(STU_A2, AnswerCheck(cid, False), T0 + 12)
    assert of_type(replaced, "check.answered").data["replaced"] is True
    assert of_type(replaced, "check.tally").data == {
        "check_id": cid,
        "site_id": 10,
        "yes": 1,
        "no": 1,
    }
    assert h.do(STU_A2, AnswerCheck(cid, False), T0 + 13) == []
    results = h.session.check_results(cid)
    assert results["total"] == {"yes": 2, "no": 1}
    assert {r["site_id"]: (r["yes"], r["no"]) for r in results["sites"]} == {
        10: (1, 1),
        20: (1, 0),
        None: (0, 0),
    }
    fac = h.session.check_results(cid, FAC_B.site_id)
    assert fac["total"] == {"yes": 1, "no": 0} and len(fac["sites"]) == 1
    assert h.session.snapshot_for(FAC_A)["checks"][0]["results"]["total"] == {"yes": 1, "no": 1}


def test_check_permissions_and_states(h: Harness) -> None:
    h.start()
    h.refuse(STU_A1, OpenCheck("?"), T0 + 1, NotPermitted)
    h.refuse(FAC_A, OpenCheck("?"), T0 + 1, NotPermitted)
    h.refuse(TEACHER, OpenCheck("  "), T0 + 1, BadInput)
    cid = open_check(h)
    h.refuse(TEACHER, AnswerCheck(cid, True), T0 + 11, NotPermitted)
    h.refuse(STU_A1, AnswerCheck(cid, "yes"), T0 + 11, BadInput)  # type: ignore[arg-type]
    h.refuse(STU_A1, AnswerCheck(cid + 1, True), T0 + 11, NotFound)
    h.refuse(STU_A1, CloseCheck(cid), T0 + 11, NotPermitted)
    h.do(TEACHER, CloseCheck(cid), T0 + 12)
    h.refuse(STU_A1, AnswerCheck(cid, True), T0 + 13, InvalidState)
    h.refuse(TEACHER, CloseCheck(cid), T0 + 13, InvalidState)


def test_end_closes_checks(h: Harness) -> None:
    h.start()
    cid = open_check(h)
    h.do(TEACHER, EndSession(), T0 + 20)
    assert h.session.check_results(cid)["status"] == "closed"


def test_check_limit() -> None:
    h = Harness(Limits(max_checks=1))
    h.start()
    open_check(h)
    h.refuse(TEACHER, OpenCheck("again?"), T0 + 11, Conflict)
    check_replay(h)
