"""Embedded questions: prepared and launched, shown on the lesson clock, one answer per
student with correctness, catch-up answers, and privacy of results."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, LEADERS, to_site_staff, to_user
from server.domain.live import Limits
from server.domain.live.commands import (
    Answer,
    AnswerQuestion,
    CloseQuestion,
    EndSession,
    Join,
    LaunchQuestion,
    Leave,
    OpenCheck,
    PrepareQuestion,
    PromptSpec,
    ShowQuestion,
)
from server.domain.roles import Actor

from .conftest import (
    FAC_A,
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

Q = PromptSpec(
    "single", "Which is a mammal?", ("shark", "whale", "trout"), correct=Answer(choices=(1,))
)
NUM = PromptSpec("numeric", "7 x 6?", correct=Answer(number=42))


def pick(i: int) -> Answer:
    return Answer(choices=(i,))


def prepare(h: Harness, position: float, spec: PromptSpec = Q, now: float = T0 - 100) -> int:
    events = h.do(TEACHER, PrepareQuestion(spec, position), now)
    qid = of_type(events, "question.prepared").data["question_id"]
    assert isinstance(qid, int)
    return qid


def test_prepare_before_class_is_for_leaders_only(h: Harness) -> None:
    events = h.do(TEACHER, PrepareQuestion(Q, 120), T0 - 100)
    prepared = of_type(events, "question.prepared")
    assert prepared.audience == LEADERS
    assert prepared.data["position"] == 120 and prepared.data["spec"]["correct"] == 1
    h.start()
    assert h.session.snapshot_for(STU_A1)["questions"] == []  # not shown yet
    lead = h.session.snapshot_for(TEACHER)["questions"]
    assert lead[0]["status"] == "prepared" and lead[0]["correct"] == 1


@pytest.mark.parametrize("actor", [FAC_A, STU_A1])
def test_only_leaders_manage_questions(h: Harness, actor: Actor) -> None:
    h.refuse(actor, PrepareQuestion(Q, 10), T0 - 100, NotPermitted)
    qid = prepare(h, 10)
    h.start()
    h.refuse(actor, ShowQuestion(qid), T0 + 10, NotPermitted)
    h.refuse(actor, LaunchQuestion(Q), T0 + 10, NotPermitted)
    h.do(TEACHER, ShowQuestion(qid), T0 + 10)
    h.refuse(actor, CloseQuestion(qid), T0 + 20, NotPermitted)


@pytest.mark.parametrize("position", [-1, float("nan"), 10 * 24 * 3600, "60", True])
def test_bad_positions(h: Harness, position: object) -> None:
    h.refuse(TEACHER, PrepareQuestion(Q, position), T0, BadInput)  # type: ignore[arg-type]


def test_show_records_lesson_clock_and_hides_key(h: Harness) -> None:
    qid = prepare(h, 120)
    h.start()
    events = h.do(TEACHER, ShowQuestion(qid), T0 + 130)
    shown = of_type(events, "question.shown")
    assert shown.audience == EVERYONE
    assert shown.data["clock"] == 130
    assert "correct" not in shown.data["spec"] and shown.data["spec"]["has_key"] is True
    h.refuse(TEACHER, ShowQuestion(qid), T0 + 131, InvalidState)
    view = h.session.snapshot_for(STU_A1)["questions"][0]
    assert view["position"] == 130 and view["planned_position"] == 120
    assert "correct" not in view and view["mine"] is None


def test_launch_live_creates_and_shows(h: Harness) -> None:
    h.refuse(TEACHER, LaunchQuestion(Q), T0, InvalidState)  # not live
    h.start()
    events = h.do(TEACHER, LaunchQuestion(NUM), T0 + 75)
    assert h.types(events) == ["question.prepared", "question.shown"]
    assert events[0].data["position"] == 75 and events[1].data["clock"] == 75


def test_due_questions_follow_the_clock(h: Harness) -> None:
    late = prepare(h, 300)
    early = prepare(h, 60)
    assert h.session.due_questions(T0) == []  # not started
    h.start()
    assert h.session.due_questions(T0 + 59) == []
    assert h.session.due_questions(T0 + 60) == [early]
    assert h.session.due_questions(T0 + 400) == [early, late]
    h.do(TEACHER, ShowQuestion(early), T0 + 61)
    assert h.session.due_questions(T0 + 400) == [late]


def test_next_question_in_counts_down_on_the_lesson_clock_while_live(h: Harness) -> None:
    assert h.session.next_question_in(T0) is None  # nothing prepared
    qid = prepare(h, 60)
    assert h.session.next_question_in(T0) is None  # not started: the clock does not run
    h.start()
    assert h.session.next_question_in(T0 + 20) == 40
    assert h.session.next_question_in(T0 + 70) == -10  # overdue: show it now
    h.do(TEACHER, ShowQuestion(qid), T0 + 71)
    assert h.session.next_question_in(T0 + 80) is None


def test_live_answer_correctness_is_private(h: Harness) -> None:
    qid = prepare(h, 60)
    h.start()
    h.do(TEACHER, ShowQuestion(qid), T0 + 60)
    events = h.do(STU_A1, AnswerQuestion(qid, pick(1)), T0 + 72)
    answered, tally = of_type(events, "question.answered"), of_type(events, "question.tally")
    assert answered.audience == to_user(101)
    assert answered.data == {
        "question_id": qid,
        "user_id": 101,
        "site_id": 10,
        "value": 1,
        "correct": True,
        "catch_up": False,
        "latency": 12,
    }
    assert tally.audience == to_site_staff(10)
    assert tally.data["correct"] == 1 and "user_id" not in tally.data
    h.do(STU_A2, AnswerQuestion(qid, pick(0)), T0 + 75)
    mine = h.session.snapshot_for(STU_A2)["questions"][0]["mine"]
    assert mine == {"value": 0, "correct": False, "catch_up": False}
    assert h.session.snapshot_for(STU_B1)["questions"][0]["mine"] is None


def test_one_answer_per_student(h: Harness) -> None:
    h.start()
    qid = of_type(h.do(TEACHER, LaunchQuestion(Q), T0 + 10), "question.shown").data["question_id"]
    h.do(STU_A1, AnswerQuestion(qid, pick(0)), T0 + 12)
    assert h.do(STU_A1, AnswerQuestion(qid, pick(0)), T0 + 13) == []  # retry
    h.refuse(STU_A1, AnswerQuestion(qid, pick(1)), T0 + 14, Conflict)
    assert h.session.question_results(qid)["total"]["answered"] == 1


def test_answer_validation_and_unknown(h: Harness) -> None:
    hidden = prepare(h, 500)
    h.start()
    h.do(TEACHER, LaunchQuestion(Q), T0 + 10)
    h.refuse(STU_A1, AnswerQuestion(1 + hidden, pick(7)), T0 + 12, BadInput)
    h.refuse(STU_A1, AnswerQuestion(hidden, pick(0)), T0 + 12, NotFound)  # not shown yet
    h.refuse(STU_A1, AnswerQuestion(99, pick(0)), T0 + 12, NotFound)
    h.refuse(TEACHER, AnswerQuestion(1 + hidden, pick(1)), T0 + 12, NotPermitted)


def test_closed_question_refuses_students_who_were_there(h: Harness) -> None:
    h.start(join=(TEACHER, STU_A1))
    qid = of_type(h.do(TEACHER, LaunchQuestion(Q), T0 + 10), "question.shown").data["question_id"]
    h.do(TEACHER, CloseQuestion(qid), T0 + 40)
    h.refuse(TEACHER, CloseQuestion(qid), T0 + 41, InvalidState)
    h.refuse(STU_A1, AnswerQuestion(qid, pick(1)), T0 + 50, InvalidState)


def test_absent_student_catches_up_during_the_session(h: Harness) -> None:
    h.start(join=(TEACHER, STU_A1))
    qid = of_type(h.do(TEACHER, LaunchQuestion(Q), T0 + 10), "question.shown").data["question_id"]
    h.do(TEACHER, CloseQuestion(qid), T0 + 40)
    h.do(STU_B1, Join(), T0 + 100)  # arrives late: was not there when it was shown
    events = h.do(STU_B1, AnswerQuestion(qid, pick(1)), T0 + 110)
    data = of_type(events, "question.answered").data
    assert data["catch_up"] is True and data["latency"] is None and data["correct"] is True


def test_student_who_left_before_the_question_may_catch_up(h: Harness) -> None:
    h.start(join=(TEACHER, STU_A1, STU_A2))
    h.do(STU_A2, Leave(), T0 + 5)
    qid = of_type(h.do(TEACHER, LaunchQuestion(Q), T0 + 10), "question.shown").data["question_id"]
    h.do(TEACHER, CloseQuestion(qid), T0 + 40)
    h.do(STU_A2, Join(), T0 + 50)
    events = h.do(STU_A2, AnswerQuestion(qid, pick(0)), T0 + 60)
    assert of_type(events, "question.answered").data["catch_up"] is True


def test_catch_up_after_the_session(h: Harness) -> None:
    first = prepare(h, 300)
    second = prepare(h, 60, NUM)
    skipped = prepare(h, 900)
    h.start(join=(TEACHER, STU_A1))
    h.do(TEACHER, ShowQuestion(second), T0 + 65)
    h.do(TEACHER, ShowQuestion(first), T0 + 310)
    h.do(STU_A1, AnswerQuestion(first, pick(1)), T0 + 320)
    h.do(TEACHER, EndSession(), T0 + 1000)
    # the catch-up player lists shown questions in lesson-clock order, never the skipped one
    listing = h.session.catch_up_questions(STU_B2)
    assert [q["question_id"] for q in listing] == [second, first]
    assert [q["position"] for q in listing] == [65, 310]
    assert skipped not in [q["question_id"] for q in listing]
    assert all("correct" not in q for q in listing)
    assert listing[0]["mine"] is None
    late = h.do(STU_B2, AnswerQuestion(second, Answer(number=42)), T0 + 90_000)
    data = of_type(late, "question.answered").data
    assert data["catch_up"] is True and data["correct"] is True
    # a student who answered live cannot answer differently in catch-up
    h.refuse(STU_A1, AnswerQuestion(first, pick(0)), T0 + 90_000, Conflict)
    # a student present when it was shown but silent may still catch up after the end
    h.do(STU_A1, AnswerQuestion(second, Answer(number=41)), T0 + 90_001)
    results = h.session.question_results(second)
    assert results["live_answered"] == 0 and results["catch_up_answered"] == 2
    assert results["total"] == {
        "answered": 2,
        "correct": 1,
        "mean": 41.5,
        "median": 41.5,
        "min": 41,
        "max": 42,
    }
    mine = h.session.catch_up_questions(STU_B2)[0]["mine"]
    assert mine == {"value": 42.0, "correct": True, "catch_up": True}
    h.refuse(STU_B2, AnswerQuestion(skipped, pick(1)), T0 + 90_002, NotFound)


def test_question_results_scoped_with_per_student_rows(h: Harness) -> None:
    h.start()
    qid = of_type(h.do(TEACHER, LaunchQuestion(Q), T0 + 10), "question.shown").data["question_id"]
    h.do(STU_A1, AnswerQuestion(qid, pick(1)), T0 + 14)
    h.do(STU_B1, AnswerQuestion(qid, pick(2)), T0 + 20)
    h.do(REMOTE_STU, AnswerQuestion(qid, pick(1)), T0 + 30)
    lead = h.session.question_results(qid)
    answers = h.session.state.questions.answers(qid, None)
    assert lead["total"]["correct"] == 2 and lead["live_answered"] == 3
    assert {r["user_id"]: r["correct"] for r in answers} == {
        101: True,
        201: False,
        301: True,
    }
    assert {r["user_id"]: r["latency"] for r in answers} == {101: 4, 201: 10, 301: 20}
    sites = {r["site_id"]: r["correct"] for r in lead["sites"]}
    assert sites == {10: 1, 20: 0, None: 1}
    fac = h.session.question_results(qid, FAC_A.site_id)
    assert [r["user_id"] for r in h.session.state.questions.answers(qid, FAC_A.site_id)] == [101]
    assert fac["total"]["answered"] == 1
    snap = h.session.snapshot_for(FAC_A)["questions"][0]
    assert snap["correct"] is None and snap["results"]["total"]["answered"] == 1
    remote_tally = h.session.question_results(qid, "remote")
    assert remote_tally["total"]["answered"] == 1


def test_end_closes_open_questions(h: Harness) -> None:
    h.start()
    h.do(TEACHER, LaunchQuestion(Q), T0 + 10)
    h.do(TEACHER, EndSession(), T0 + 20)
    assert h.session.question_results(1)["status"] == "closed"
    h.refuse(TEACHER, PrepareQuestion(Q, 10), T0 + 30, InvalidState)
    h.refuse(TEACHER, ShowQuestion(1), T0 + 30, InvalidState)


def test_students_cannot_answer_before_the_session(h: Harness) -> None:
    prepare(h, 10)
    h.refuse(STU_A1, AnswerQuestion(1, pick(1)), T0 - 5, NotFound)


def test_question_limit() -> None:
    h = Harness(Limits(max_questions=2))
    prepare(h, 10)
    h.start()
    h.do(TEACHER, LaunchQuestion(Q), T0 + 5)
    h.refuse(TEACHER, LaunchQuestion(Q), T0 + 6, Conflict)
    h.refuse(TEACHER, PrepareQuestion(Q, 50), T0 + 6, Conflict)
    check_replay(h)


def test_snapshots_carry_when_questions_and_checks_appeared(h: Harness) -> None:
    """A client that resumes rebuilds from the snapshot: it needs these times to order the
    open items and run their timers, exactly as the live events gave them."""
    h.start()
    h.do(TEACHER, LaunchQuestion(Q), T0 + 10)
    h.do(TEACHER, OpenCheck("Can you see the slide?"), T0 + 20)
    snapshot = h.session.snapshot_for(STU_A1)
    assert [q["shown_at"] for q in snapshot["questions"]] == [T0 + 10]
    assert [c["opened_at"] for c in snapshot["checks"]] == [T0 + 20]
    check_replay(h)


def test_a_numeric_question_sends_the_leaders_its_class_median(h: Harness) -> None:
    h.start()
    qid = of_type(h.do(TEACHER, LaunchQuestion(NUM), T0 + 10), "question.shown").data["question_id"]
    h.do(STU_A1, AnswerQuestion(qid, Answer(number=40)), T0 + 20)
    h.do(STU_B1, AnswerQuestion(qid, Answer(number=42)), T0 + 21)
    events = h.do(REMOTE_STU, AnswerQuestion(qid, Answer(number=50)), T0 + 22)
    total = of_type(events, "question.total")
    assert total.audience == LEADERS
    assert total.data["answered"] == 3 and total.data["correct"] == 1
    assert total.data["median"] == 42
