"""Replay: a whole lesson through a JSON event log rebuilds identical state and views."""

from __future__ import annotations

import json

import pytest

from server.domain.errors import BadInput, DomainError
from server.domain.events import Event
from server.domain.live import DERIVED_EVENT_TYPES, EVENT_TYPES, LiveAggregate
from server.domain.live.commands import (
    Answer,
    AnswerCheck,
    AnswerPoll,
    AnswerQuestion,
    BringOnStage,
    ClosePoll,
    EndSession,
    Join,
    LaunchQuestion,
    Leave,
    OpenCheck,
    OpenPoll,
    PrepareQuestion,
    PromptSpec,
    QnaAsk,
    QnaHide,
    QnaUpvote,
    RaiseHand,
    RaiseSiteHand,
    RevealPoll,
    SendReaction,
    ShowQuestion,
    StartSession,
)

from .conftest import (
    EVERYBODY,
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
    event_from_json,
    event_to_json,
    views,
)

SPEC = PromptSpec("multiple", "Pick primes", ("2", "3", "4"), correct=Answer(choices=(0, 1)))


def lesson() -> Harness:
    h = Harness()
    h.do(
        TEACHER,
        PrepareQuestion(
            PromptSpec("numeric", "pi?", correct=Answer(number=3.14), tolerance=0.01), 30
        ),
        T0 - 600,
    )
    for actor in (TEACHER, FAC_A, STU_A1, STU_A2, STU_B1, REMOTE_STU):
        h.do(actor, Join(), T0 - 30)
    h.do(TEACHER, StartSession(), T0)
    h.do(TEACHER, OpenPoll(SPEC, anonymous=False), T0 + 10)
    h.do(STU_A1, AnswerPoll(1, Answer(choices=(0, 1))), T0 + 12)
    h.do(STU_B1, AnswerPoll(1, Answer(choices=(2,))), T0 + 13)
    h.do(STU_B1, AnswerPoll(1, Answer(choices=(1,))), T0 + 14)
    h.do(TEACHER, ClosePoll(1), T0 + 20)
    h.do(TEACHER, RevealPoll(1), T0 + 21)
    h.do(TEACHER, ShowQuestion(1), T0 + 31)
    h.do(STU_A2, AnswerQuestion(1, Answer(number=3.1415)), T0 + 35)
    h.do(STU_A1, Leave(), T0 + 40)
    h.do(STU_B2, Join(), T0 + 50)
    h.do(TEACHER, LaunchQuestion(PromptSpec("text", "Say hi", max_length=20)), T0 + 60)
    h.do(STU_B2, AnswerQuestion(2, Answer(text="hi")), T0 + 61)
    h.do(STU_A2, QnaAsk("Is 1 prime?"), T0 + 70)
    h.do(STU_B1, QnaUpvote(1), T0 + 71)
    h.do(FAC_A, QnaHide(1), T0 + 72)
    h.do(REMOTE_STU, RaiseHand(), T0 + 80)
    h.do(FAC_A, RaiseSiteHand(), T0 + 81)
    h.do(TEACHER, BringOnStage(user_id=REMOTE_STU.user_id), T0 + 82)
    h.do(STU_B1, SendReaction("clap"), T0 + 83)
    h.do(TEACHER, OpenCheck("All good?"), T0 + 90)
    h.do(STU_B1, AnswerCheck(1, True), T0 + 91)
    h.do(TEACHER, EndSession(), T0 + 600)
    h.do(STU_A1, AnswerQuestion(1, Answer(number=3.0)), T0 + 9000)  # catch-up
    return h


def test_whole_lesson_replays_identically() -> None:
    h = lesson()
    assert {e.type for e in h.log} >= {"poll.revealed", "question.answered", "stage.joined"}
    rebuilt = h.replayed()
    assert rebuilt.state == h.session.state
    assert views(rebuilt, T0 + 9999) == views(h.session, T0 + 9999)
    assert rebuilt.snapshot_for(TEACHER) == h.session.snapshot_for(TEACHER)
    assert rebuilt.attendance(T0 + 700) == h.session.attendance(T0 + 700)
    assert rebuilt.question_results(1) == h.session.question_results(1)
    # and the rebuilt session carries on exactly as the original would
    for session in (rebuilt, h.session):
        with pytest.raises(DomainError):
            session.handle(STU_A1, AnswerQuestion(1, Answer(number=3.5)), T0 + 9001)


def test_every_prefix_of_the_log_replays() -> None:
    h = lesson()
    for cut in range(len(h.log) + 1):
        replayed = LiveAggregate.replay(7, h.roster, h.log[:cut])
        again = LiveAggregate.replay(
            7, h.roster, [event_from_json(event_to_json(e)) for e in h.log[:cut]]
        )
        assert replayed.state == again.state


def test_events_are_json_safe_and_catalogued() -> None:
    h = lesson()
    for event in h.log:
        assert event.type in EVENT_TYPES
        text = event_to_json(event)  # allow_nan=False: no NaN/inf sneaks in
        assert event_from_json(text) == event  # lists, not tuples; no int keys
    assert DERIVED_EVENT_TYPES <= EVENT_TYPES


def test_replay_then_continue_matches(h: Harness) -> None:
    h.start()
    h.do(TEACHER, OpenPoll(SPEC), T0 + 10)
    rebuilt = h.replayed()
    a = h.session.handle(STU_A1, AnswerPoll(1, Answer(choices=(0,))), T0 + 11)
    b = rebuilt.handle(STU_A1, AnswerPoll(1, Answer(choices=(0,))), T0 + 11)
    assert a == b
    assert rebuilt.state == h.session.state
    h.log.extend(a)


def test_unknown_event_type_is_refused(h: Harness) -> None:
    with pytest.raises(BadInput):
        h.session.apply(Event("poll.exploded", {}))


def test_unknown_command_is_refused(h: Harness) -> None:
    h.refuse(TEACHER, object(), T0, BadInput)  # type: ignore[arg-type]


def test_snapshots_are_json_serialisable() -> None:
    h = lesson()
    for actor in EVERYBODY:
        json.dumps(h.session.snapshot_for(actor), allow_nan=False)
    json.dumps(h.session.attendance(T0 + 700), allow_nan=False)
    json.dumps(h.session.poll_results(1), allow_nan=False)
    check_replay(h)
