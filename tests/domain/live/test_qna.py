"""Q&A: ask, upvote once (a repeat is an idempotent no-op), unvote, answer, hide."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, to_user
from server.domain.live import Limits
from server.domain.live.commands import (
    EndSession,
    QnaAsk,
    QnaHide,
    QnaMarkAnswered,
    QnaUnvote,
    QnaUpvote,
)

from .conftest import (
    ADMIN,
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


def ask(h: Harness, actor: object = STU_A1, text: str = "Why is the sky blue?") -> int:
    events = h.do(actor, QnaAsk(text), T0 + 10)  # type: ignore[arg-type]
    qna_id = of_type(events, "qna.asked").data["qna_id"]
    assert isinstance(qna_id, int)
    return qna_id


def test_ask_is_public_and_trimmed(h: Harness) -> None:
    h.start()
    events = h.do(STU_B1, QnaAsk("  What is entropy?  "), T0 + 5)
    asked = of_type(events, "qna.asked")
    assert asked.audience == EVERYONE
    assert asked.data == {"qna_id": 1, "user_id": 201, "site_id": 20, "text": "What is entropy?"}
    assert h.session.snapshot_for(STU_A1)["qna"][0]["text"] == "What is entropy?"


INVISIBLE = [
    "\u200b",
    " \u200b\u200c\u200d\u2060\ufeff ",
    "\u3164",
    "\u2800\u00a0",
    "\u0301",
    "\x00",
]


@pytest.mark.parametrize("text", ["", "   ", "x" * 501, 5, *INVISIBLE])
def test_ask_rejects_bad_text(h: Harness, text: object) -> None:
    h.start()
    h.refuse(STU_A1, QnaAsk(text), T0 + 1, BadInput)  # type: ignore[arg-type]


def test_ask_trims_invisible_ends_and_keeps_inner_joiners(h: Harness) -> None:
    h.start()
    events = h.do(STU_A1, QnaAsk("\u200b Why \U0001f469\u200d\U0001f52c? \u200b"), T0 + 1)
    assert of_type(events, "qna.asked").data["text"] == "Why \U0001f469\u200d\U0001f52c?"


def test_ask_needs_live_session(h: Harness) -> None:
    h.refuse(STU_A1, QnaAsk("early?"), T0 - 1, InvalidState)


def test_upvote_once_then_no_op_and_unvote(h: Harness) -> None:
    h.start()
    qna_id = ask(h)
    events = h.do(STU_B1, QnaUpvote(qna_id), T0 + 20)
    voted, votes = of_type(events, "qna.voted"), of_type(events, "qna.votes")
    assert voted.audience == to_user(201) and voted.data == {"qna_id": qna_id, "user_id": 201}
    assert votes.audience == EVERYONE and votes.data == {"qna_id": qna_id, "votes": 1}
    assert h.do(STU_B1, QnaUpvote(qna_id), T0 + 21) == []  # second upvote: idempotent no-op
    h.do(STU_A2, QnaUpvote(qna_id), T0 + 22)
    item = h.session.snapshot_for(STU_B1)["qna"][0]
    assert item["votes"] == 2 and item["voted"] is True
    assert h.session.snapshot_for(STU_A1)["qna"][0]["voted"] is False
    events = h.do(STU_B1, QnaUnvote(qna_id), T0 + 23)
    assert of_type(events, "qna.votes").data["votes"] == 1
    assert h.do(STU_B1, QnaUnvote(qna_id), T0 + 24) == []


def test_list_orders_by_votes_then_age(h: Harness) -> None:
    h.start()
    first = ask(h, STU_A1, "first")
    second = ask(h, STU_B1, "second")
    h.do(STU_A2, QnaUpvote(second), T0 + 30)
    order = [i["qna_id"] for i in h.session.snapshot_for(STU_A1)["qna"]]
    assert order == [second, first]


def test_mark_answered_is_for_leaders(h: Harness) -> None:
    h.start()
    qna_id = ask(h)
    h.refuse(STU_A2, QnaMarkAnswered(qna_id), T0 + 30, NotPermitted)
    h.refuse(FAC_A, QnaMarkAnswered(qna_id), T0 + 30, NotPermitted)
    events = h.do(TEACHER, QnaMarkAnswered(qna_id), T0 + 31)
    assert of_type(events, "qna.answered").data == {"qna_id": qna_id, "by": 1}
    assert h.do(ADMIN, QnaMarkAnswered(qna_id), T0 + 32) == []
    assert h.session.snapshot_for(STU_A1)["qna"][0]["answered"] is True


def test_hide_rules(h: Harness) -> None:
    h.start()
    from_a = ask(h, STU_A1, "from site A")
    from_b = ask(h, STU_B1, "from site B")
    from_home = ask(h, REMOTE_STU, "from home")
    h.refuse(STU_A2, QnaHide(from_a), T0 + 30, NotPermitted)
    h.refuse(FAC_A, QnaHide(from_b), T0 + 30, NotPermitted)  # another site's question
    h.refuse(FAC_A, QnaHide(from_home), T0 + 30, NotPermitted)
    hidden = of_type(h.do(FAC_A, QnaHide(from_a), T0 + 31), "qna.hidden")
    assert hidden.data == {"qna_id": from_a, "by": 11}
    h.do(TEACHER, QnaHide(from_home), T0 + 32)
    assert h.do(TEACHER, QnaHide(from_a), T0 + 33) == []
    student_ids = [i["qna_id"] for i in h.session.snapshot_for(STU_B1)["qna"]]
    assert student_ids == [from_b]
    staff = {i["qna_id"]: i["hidden"] for i in h.session.snapshot_for(FAC_B)["qna"]}
    assert staff == {from_a: True, from_b: False, from_home: True}
    h.refuse(STU_B1, QnaUpvote(from_a), T0 + 34, NotFound)  # hidden: gone for students
    h.refuse(STU_B1, QnaUpvote(404), T0 + 34, NotFound)


def test_per_person_and_total_limits() -> None:
    h = Harness(Limits(max_qna_per_user=2, max_qna_items=3))
    h.start()
    ask(h, STU_A1, "one")
    ask(h, STU_A1, "two")
    h.refuse(STU_A1, QnaAsk("three"), T0 + 11, Conflict)
    ask(h, STU_B1, "b one")
    h.refuse(STU_A2, QnaAsk("full"), T0 + 11, Conflict)
    check_replay(h)


def test_ended_session_refuses_qna(h: Harness) -> None:
    h.start()
    qna_id = ask(h)
    h.do(TEACHER, EndSession(), T0 + 50)
    h.refuse(STU_B1, QnaUpvote(qna_id), T0 + 51, InvalidState)
    h.refuse(TEACHER, QnaHide(qna_id), T0 + 51, InvalidState)
