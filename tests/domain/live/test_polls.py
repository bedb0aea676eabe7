"""Polls: permissions, kinds, one answer per student, closing, revealing, per-site results,
anonymity and audiences."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, LEADERS, Audience, to_site_staff, to_user
from server.domain.live import Limits
from server.domain.live.commands import (
    Answer,
    AnswerPoll,
    ClosePoll,
    EndSession,
    OpenPoll,
    PromptSpec,
    RevealPoll,
)
from server.domain.roles import Actor

from .conftest import (
    ADMIN,
    EVERYBODY,
    FAC_A,
    FAC_B,
    OUTSIDER,
    REMOTE_STU,
    STU_A1,
    STU_A2,
    STU_B1,
    STU_B2,
    T0,
    TEACHER,
    Harness,
    check_replay,
    of_type,
)

COLOURS = PromptSpec("single", "Favourite colour?", ("red", "green", "blue"))


def pick(*choices: int) -> Answer:
    return Answer(choices=choices)


def open_poll(h: Harness, spec: PromptSpec = COLOURS, anonymous: bool = False) -> int:
    events = h.do(TEACHER, OpenPoll(spec, anonymous), T0 + 10)
    poll_id = of_type(events, "poll.opened").data["poll_id"]
    assert isinstance(poll_id, int)
    return poll_id


def test_open_poll_event_hides_the_key(h: Harness) -> None:
    h.start()
    spec = PromptSpec("single", "2+2?", ("3", "4"), correct=pick(1))
    events = h.do(TEACHER, OpenPoll(spec), T0 + 10)
    assert h.types(events) == ["poll.opened", "poll.key"]
    opened, key = events
    assert opened.audience == EVERYONE and "correct" not in opened.data["spec"]
    assert opened.data["spec"]["has_key"] is True
    assert opened.data["spec"]["options"] == ["3", "4"]
    assert key.audience == LEADERS and key.data == {"poll_id": 1, "correct": 1}
    assert h.session.snapshot_for(STU_A1)["polls"][0].get("correct") is None
    assert h.session.snapshot_for(TEACHER)["polls"][0]["correct"] == 1


@pytest.mark.parametrize("actor", [FAC_A, STU_A1, REMOTE_STU])
def test_only_leaders_open_and_close(h: Harness, actor: Actor) -> None:
    h.start()
    h.refuse(actor, OpenPoll(COLOURS), T0 + 1, NotPermitted)
    poll_id = open_poll(h)
    h.refuse(actor, ClosePoll(poll_id), T0 + 20, NotPermitted)
    h.do(ADMIN, ClosePoll(poll_id), T0 + 21)
    h.refuse(actor, RevealPoll(poll_id), T0 + 22, NotPermitted)


def test_polls_need_a_live_session(h: Harness) -> None:
    h.refuse(TEACHER, OpenPoll(COLOURS), T0, InvalidState)
    h.start()
    poll_id = open_poll(h)
    h.do(TEACHER, EndSession(), T0 + 30)
    assert h.session.poll_results(poll_id)["status"] == "closed"  # the end closes it
    h.refuse(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 31, InvalidState)
    h.refuse(TEACHER, OpenPoll(COLOURS), T0 + 31, InvalidState)


def test_staff_cannot_answer(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    for actor in (TEACHER, FAC_A, ADMIN):
        h.refuse(actor, AnswerPoll(poll_id, pick(0)), T0 + 20, NotPermitted)


def test_later_answer_replaces_earlier(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    first = h.do(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 20)
    assert of_type(first, "poll.answered").data["replaced"] is False
    second = h.do(STU_A1, AnswerPoll(poll_id, pick(2)), T0 + 25)
    assert of_type(second, "poll.answered").data["replaced"] is True
    assert h.do(STU_A1, AnswerPoll(poll_id, pick(2)), T0 + 26) == []  # a retry: nothing new
    results = h.session.poll_results(poll_id)
    assert results["total"]["answered"] == 1
    assert results["total"]["counts"] == [0, 0, 1]


def test_answer_event_goes_to_the_student_and_tally_to_site_staff(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    h.do(STU_A2, AnswerPoll(poll_id, pick(1)), T0 + 20)
    events = h.do(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 21)
    answered, tally = of_type(events, "poll.answered"), of_type(events, "poll.tally")
    assert answered.audience == to_user(101)
    assert answered.data == {
        "poll_id": poll_id,
        "user_id": 101,
        "site_id": 10,
        "value": 0,
        "replaced": False,
    }
    assert tally.audience == to_site_staff(10)
    assert tally.data["site_id"] == 10 and tally.data["counts"] == [1, 1, 0]
    assert "user_id" not in tally.data
    # fan-out: nobody but the student, the leaders and site 10's facilitator gets anything
    for actor in EVERYBODY:
        gets_answer = answered.audience.includes(actor)
        gets_tally = tally.audience.includes(actor)
        assert gets_answer == (actor.user_id == 101)
        assert gets_tally == (actor.leads_session or actor == FAC_A)
    remote = h.do(REMOTE_STU, AnswerPoll(poll_id, pick(2)), T0 + 22)
    assert of_type(remote, "poll.tally").audience == LEADERS


def test_student_cannot_see_others_answers(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    h.do(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 20)
    h.do(STU_A2, AnswerPoll(poll_id, pick(1)), T0 + 21)
    mine = h.session.snapshot_for(STU_A2)["polls"][0]
    assert mine["mine"] == 1 and "results" not in mine
    assert h.session.snapshot_for(STU_B1)["polls"][0]["mine"] is None


def test_closed_poll_refuses_answers_and_reveal_needs_close(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    h.refuse(TEACHER, RevealPoll(poll_id), T0 + 15, InvalidState)
    h.do(TEACHER, ClosePoll(poll_id), T0 + 20)
    h.refuse(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 21, InvalidState)
    h.refuse(TEACHER, ClosePoll(poll_id), T0 + 21, InvalidState)
    h.do(TEACHER, RevealPoll(poll_id), T0 + 22)
    h.refuse(TEACHER, RevealPoll(poll_id), T0 + 23, InvalidState)


def test_unknown_poll_and_bad_ids(h: Harness) -> None:
    h.start()
    h.refuse(STU_A1, AnswerPoll(42, pick(0)), T0 + 1, NotFound)
    h.refuse(STU_A1, AnswerPoll(True, pick(0)), T0 + 1, BadInput)  # bool is not an id
    h.refuse(TEACHER, ClosePoll("1"), T0 + 1, BadInput)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        h.session.poll_results(3)


@pytest.mark.parametrize(
    "answer",
    [
        pick(3),
        pick(-1),
        pick(0, 1),
        pick(),
        Answer(number=1.0),
        Answer(text="red"),
        Answer(choices=(True,)),
        Answer(choices=("0",)),
    ],  # type: ignore[arg-type]
)
def test_invalid_single_choice_answers(h: Harness, answer: Answer) -> None:
    h.start()
    poll_id = open_poll(h)
    h.refuse(STU_A1, AnswerPoll(poll_id, answer), T0 + 20, BadInput)


def test_multiple_choice(h: Harness) -> None:
    h.start()
    spec = PromptSpec("multiple", "Which are prime?", ("2", "4", "5", "9"), correct=pick(2, 0))
    poll_id = open_poll(h, spec)
    h.refuse(STU_A1, AnswerPoll(poll_id, pick(0, 0)), T0 + 20, BadInput)
    h.do(STU_A1, AnswerPoll(poll_id, pick(2, 0)), T0 + 20)
    h.do(STU_B1, AnswerPoll(poll_id, pick(1)), T0 + 21)
    results = h.session.poll_results(poll_id)
    assert results["correct"] == [0, 2]
    assert results["total"] == {"answered": 2, "correct": 1, "counts": [1, 1, 1, 0]}
    assert h.session.snapshot_for(STU_A1)["polls"][0]["mine"] == [0, 2]


def test_numeric_with_bounds(h: Harness) -> None:
    h.start()
    spec = PromptSpec(
        "numeric",
        "Estimate g",
        min_value=0,
        max_value=20,
        correct=Answer(number=9.81),
        tolerance=0.2,
    )
    poll_id = open_poll(h, spec)
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer(number=25)), T0 + 20, BadInput)
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer(number=-1)), T0 + 20, BadInput)
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer()), T0 + 20, BadInput)
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer(number=float("nan"))), T0 + 20, BadInput)
    h.refuse(STU_A1, AnswerPoll(poll_id, pick(1)), T0 + 20, BadInput)
    h.do(STU_A1, AnswerPoll(poll_id, Answer(number=9.7)), T0 + 20)
    h.do(STU_A2, AnswerPoll(poll_id, Answer(number=10)), T0 + 21)
    h.do(STU_B1, AnswerPoll(poll_id, Answer(number=5)), T0 + 21)
    total = h.session.poll_results(poll_id)["total"]
    assert total["answered"] == 3 and total["correct"] == 2
    assert total["median"] == 9.7 and total["min"] == 5 and total["max"] == 10
    assert total["mean"] == pytest.approx((9.7 + 10 + 5) / 3)


def test_short_text_limit_and_grouping(h: Harness) -> None:
    h.start()
    spec = PromptSpec("text", "Capital of France?", max_length=10, correct=Answer(text="Paris"))
    poll_id = open_poll(h, spec)
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer(text="x" * 11)), T0 + 20, BadInput)
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer(text="   ")), T0 + 20, BadInput)
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer(text="\u200b\u2060")), T0 + 20, BadInput)
    h.do(STU_A1, AnswerPoll(poll_id, Answer(text=" paris ")), T0 + 20)
    h.do(STU_A2, AnswerPoll(poll_id, Answer(text="PARIS")), T0 + 21)
    h.do(STU_B1, AnswerPoll(poll_id, Answer(text="Lyon")), T0 + 21)
    total = h.session.poll_results(poll_id)["total"]
    assert total["correct"] == 2
    assert total["texts"] == [["paris", 2], ["lyon", 1]]


@pytest.mark.parametrize(
    "spec",
    [
        PromptSpec("essay", "?", ()),
        PromptSpec("single", "", ("a", "b")),
        PromptSpec("single", "one option", ("a",)),
        PromptSpec("single", "dupes", ("a", "A")),
        PromptSpec("single", "blank option", ("a", " ")),
        PromptSpec("single", "too many", tuple(str(i) for i in range(11))),
        PromptSpec("single", "key out of range", ("a", "b"), correct=Answer(choices=(2,))),
        PromptSpec("numeric", "bounds", min_value=5, max_value=1),
        PromptSpec("numeric", "inf", max_value=float("inf")),
        PromptSpec("numeric", "neg tolerance", tolerance=-1),
        PromptSpec("numeric", "options", ("a", "b")),
        PromptSpec("text", "too long", max_length=10_000),
        PromptSpec("text", "zero", max_length=0),
        PromptSpec("single", "min on choice", ("a", "b"), min_value=1),
        PromptSpec("single", "x" * 501, ("a", "b")),
        PromptSpec("single", "options not a list", "ab"),  # type: ignore[arg-type]
        PromptSpec("text", "length not int", max_length="9"),  # type: ignore[arg-type]
        PromptSpec("single", "length on choice", ("a", "b"), max_length=9),
        PromptSpec("numeric", "bad min", min_value="1"),  # type: ignore[arg-type]
        PromptSpec("single", "\u200b\u200b", ("a", "b")),  # an invisible prompt
        PromptSpec("single", "Pick", ("a", "\u2060\u00ad")),  # an invisible option
    ],
)
def test_invalid_specs(h: Harness, spec: PromptSpec) -> None:
    h.start()
    h.refuse(TEACHER, OpenPoll(spec), T0 + 1, BadInput)


def test_poll_limit(h: Harness) -> None:
    h.limits = Limits(max_polls=2)
    h.session = type(h.session)(7, h.roster, h.limits)
    h.start()
    open_poll(h)
    open_poll(h)
    h.refuse(TEACHER, OpenPoll(COLOURS), T0 + 11, Conflict)


def test_results_per_site_and_remote(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    h.do(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 20)
    h.do(STU_A2, AnswerPoll(poll_id, pick(0)), T0 + 20)
    h.do(STU_B1, AnswerPoll(poll_id, pick(1)), T0 + 20)
    h.do(REMOTE_STU, AnswerPoll(poll_id, pick(2)), T0 + 20)
    results = h.session.poll_results(poll_id)
    assert results["total"]["counts"] == [2, 1, 1]
    sites = {row["site_id"]: row for row in results["sites"]}
    assert sites[10]["counts"] == [2, 0, 0] and sites[10]["answered"] == 2
    assert sites[20]["counts"] == [0, 1, 0]
    assert sites[None]["counts"] == [0, 0, 1]
    only_b = h.session.poll_results(poll_id, 20)
    assert only_b["total"]["counts"] == [0, 1, 0] and len(only_b["sites"]) == 1
    remote = h.session.poll_results(poll_id, "remote")
    assert remote["total"]["counts"] == [0, 0, 1]
    assert [r["site_id"] for r in remote["sites"]] == [None]


def test_sites_without_answers_still_listed(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    h.do(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 20)
    sites = {row["site_id"]: row["answered"] for row in h.session.poll_results(poll_id)["sites"]}
    assert sites == {10: 1, 20: 0, None: 0}


def test_facilitator_view_is_limited_to_its_site(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h)
    h.do(STU_A1, AnswerPoll(poll_id, pick(0)), T0 + 20)
    h.do(STU_B1, AnswerPoll(poll_id, pick(1)), T0 + 20)
    h.do(STU_B2, AnswerPoll(poll_id, pick(1)), T0 + 20)
    view = h.session.poll_results(poll_id, FAC_B.site_id)
    assert view["total"]["counts"] == [0, 2, 0]
    assert [r["site_id"] for r in view["sites"]] == [20]
    rows = h.session.poll_answers(poll_id, FAC_B.site_id)
    assert {r["user_id"] for r in rows} == {201, 202}
    snap = h.session.snapshot_for(FAC_A)["polls"][0]
    assert snap["results"]["total"]["counts"] == [1, 0, 0]
    lead = h.session.poll_results(poll_id)
    assert lead["total"]["counts"] == [1, 2, 0]
    assert {r["user_id"] for r in h.session.poll_answers(poll_id)} == {101, 201, 202}


def test_anonymous_poll_shows_counts_not_people(h: Harness) -> None:
    h.start()
    poll_id = open_poll(h, anonymous=True)
    events = h.do(STU_A1, AnswerPoll(poll_id, pick(2)), T0 + 20)
    tally = of_type(events, "poll.tally")
    assert tally.data["counts"] == [0, 0, 1] and "user_id" not in tally.data
    assert h.session.poll_results(poll_id)["total"]["counts"] == [0, 0, 1]
    with pytest.raises(NotPermitted):
        h.session.poll_answers(poll_id)
    assert h.session.snapshot_for(TEACHER)["polls"][0]["anonymous"] is True
    assert h.session.snapshot_for(STU_A1)["polls"][0]["mine"] == 2  # still sees own answer


def test_reveal_broadcasts_totals_and_key(h: Harness) -> None:
    h.start()
    spec = PromptSpec("single", "2+2?", ("3", "4"), correct=pick(1))
    poll_id = open_poll(h, spec)
    h.do(STU_A1, AnswerPoll(poll_id, pick(1)), T0 + 20)
    h.do(STU_B1, AnswerPoll(poll_id, pick(0)), T0 + 20)
    h.do(TEACHER, ClosePoll(poll_id), T0 + 30)
    revealed = of_type(h.do(TEACHER, RevealPoll(poll_id), T0 + 31), "poll.revealed")
    assert revealed.audience == Audience("everyone")
    assert revealed.data["correct"] == 1
    assert revealed.data["results"] == {"answered": 2, "correct": 1, "counts": [1, 1]}
    snap = h.session.snapshot_for(STU_B1)["polls"][0]
    assert snap["status"] == "revealed" and snap["correct"] == 1
    assert snap["results"] == {"total": {"answered": 2, "correct": 1, "counts": [1, 1]}}


def test_many_students_replay() -> None:
    h = Harness()
    h.start()
    poll_id = open_poll(h)
    for step in range(30):
        student = (STU_A1, STU_A2, STU_B1, STU_B2, REMOTE_STU)[step % 5]
        h.do(student, AnswerPoll(poll_id, pick(step % 3)), T0 + 20 + step)
    assert h.session.poll_results(poll_id)["total"]["answered"] == 5
    check_replay(h)


def test_hostile_command_fields(h: Harness) -> None:
    h.start()
    h.refuse(TEACHER, OpenPoll("not a spec"), T0 + 1, BadInput)  # type: ignore[arg-type]
    h.refuse(TEACHER, OpenPoll(COLOURS, anonymous="yes"), T0 + 1, BadInput)  # type: ignore[arg-type]
    bad_options = PromptSpec("single", "?", ("a", 3))  # type: ignore[arg-type]
    h.refuse(TEACHER, OpenPoll(bad_options), T0 + 1, BadInput)
    bad_key = PromptSpec("single", "?", ("a", "b"), correct=1)  # type: ignore[arg-type]
    h.refuse(TEACHER, OpenPoll(bad_key), T0 + 1, BadInput)
    poll_id = open_poll(h)
    h.refuse(STU_A1, AnswerPoll(poll_id, "0"), T0 + 20, BadInput)  # type: ignore[arg-type]
    h.refuse(STU_A1, AnswerPoll(poll_id, Answer(choices="0")), T0 + 20, BadInput)  # type: ignore[arg-type]
    h.refuse(OUTSIDER, AnswerPoll(poll_id, pick(0)), T0 + 20, NotPermitted)


def test_a_median_reaches_the_leaders_as_a_class_total(h: Harness) -> None:
    """Sites' medians do not add up to the class median: numeric polls send the leaders a
    ``poll.total``; choice polls do not (their total is the sum of the sites' counts)."""
    h.start()
    poll_id = open_poll(h, PromptSpec("numeric", "How many?"))
    h.do(STU_A1, AnswerPoll(poll_id, Answer(number=1)), T0 + 20)
    h.do(STU_A2, AnswerPoll(poll_id, Answer(number=2)), T0 + 21)
    events = h.do(STU_B1, AnswerPoll(poll_id, Answer(number=9)), T0 + 22)
    total = of_type(events, "poll.total")
    assert total.audience == LEADERS
    assert total.data["poll_id"] == poll_id and total.data["answered"] == 3
    assert total.data["median"] == 2 and total.data["min"] == 1 and total.data["max"] == 9
    assert of_type(events, "poll.tally").data["median"] == 9  # site B's own row
    choice = open_poll(h)
    events = h.do(STU_A1, AnswerPoll(choice, pick(0)), T0 + 30)
    assert [e.type for e in events if e.type == "poll.total"] == []
