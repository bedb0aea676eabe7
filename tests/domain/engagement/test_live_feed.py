"""The live feed: stored live-session events -> engagement signals, pure (no bridge, no I/O)."""

from __future__ import annotations

from server.domain.engagement import ActivityChanged, AnswerResult, HandChanged, PollMissed
from server.domain.engagement.live_feed import GROUP, Fed, LiveEventFeed
from server.domain.events import Event
from server.domain.live.commands import (
    Answer,
    AnswerPoll,
    ClearHands,
    ClosePoll,
    EndSession,
    LowerHand,
    OpenPoll,
    PromptSpec,
    RaiseHand,
    RaiseSiteHand,
)
from tests.domain.live.conftest import (
    FAC_A,
    REMOTE_STU,
    STU_A1,
    STU_A2,
    STU_B1,
    STU_B2,
    T0,
    TEACHER,
    Harness,
)

SPEC = PromptSpec("single", "2+2?", ("3", "4"), correct=Answer(choices=(1,)))


def fed(feed: LiveEventFeed, h: Harness, events: list[Event]) -> list[Fed]:
    return [f for e in events for f in feed.signals(e, h.session)]


def started() -> tuple[Harness, LiveEventFeed]:
    h = Harness()
    h.start()
    return h, LiveEventFeed()


def test_a_poll_starts_an_activity_and_answers_carry_correctness_and_time() -> None:
    h, feed = started()
    assert fed(feed, h, h.do(TEACHER, OpenPoll(SPEC), T0 + 10)) == [
        Fed(ActivityChanged(True, "poll 1"))
    ]
    right = fed(feed, h, h.do(STU_A1, AnswerPoll(1, Answer(choices=(1,))), T0 + 14))
    wrong = fed(feed, h, h.do(STU_A2, AnswerPoll(1, Answer(choices=(0,))), T0 + 16))
    assert right == [Fed(AnswerResult(STU_A1.user_id, "poll 1", GROUP, True, 4.0))]
    assert wrong == [Fed(AnswerResult(STU_A2.user_id, "poll 1", GROUP, False, 6.0))]
    # a changed answer is not a new first answer
    assert fed(feed, h, h.do(STU_A2, AnswerPoll(1, Answer(choices=(1,))), T0 + 17)) == []


def test_closing_a_poll_marks_present_students_who_did_not_answer() -> None:
    h, feed = started()
    fed(feed, h, h.do(TEACHER, OpenPoll(SPEC), T0 + 10))
    fed(feed, h, h.do(STU_A1, AnswerPoll(1, Answer(choices=(1,))), T0 + 12))
    closed = fed(feed, h, h.do(TEACHER, ClosePoll(1), T0 + 30))
    missed = {f.signal.user_id for f in closed if isinstance(f.signal, PollMissed)}
    assert missed == {STU_A2.user_id, STU_B1.user_id, STU_B2.user_id, REMOTE_STU.user_id}
    assert closed[-1] == Fed(ActivityChanged(False, "poll 1"))


def test_anonymous_polls_feed_nothing() -> None:
    h, feed = started()
    events = h.do(TEACHER, OpenPoll(SPEC, anonymous=True), T0 + 10)
    events += h.do(STU_A1, AnswerPoll(1, Answer(choices=(0,))), T0 + 12)
    events += h.do(TEACHER, ClosePoll(1), T0 + 20)
    assert fed(feed, h, events) == []


def test_student_hands_are_fed_as_the_student_and_site_hands_are_not() -> None:
    h, feed = started()
    raised = fed(feed, h, h.do(STU_B1, RaiseHand(), T0 + 5))
    assert raised == [Fed(HandChanged(STU_B1.user_id, True), STU_B1)]
    assert fed(feed, h, h.do(FAC_A, RaiseSiteHand(), T0 + 6)) == []
    assert fed(feed, h, h.do(STU_B1, LowerHand(), T0 + 7)) == [
        Fed(HandChanged(STU_B1.user_id, False), STU_B1)
    ]
    fed(feed, h, h.do(STU_A1, RaiseHand(), T0 + 8))
    cleared = fed(feed, h, h.do(TEACHER, ClearHands(), T0 + 9))
    assert cleared == [Fed(HandChanged(STU_A1.user_id, False), STU_A1)]


def test_the_end_of_the_session_ends_an_open_activity() -> None:
    h, feed = started()
    fed(feed, h, h.do(TEACHER, OpenPoll(SPEC), T0 + 10))
    ended = fed(feed, h, h.do(TEACHER, EndSession(), T0 + 20))
    assert ended[-1] == Fed(ActivityChanged(False))
