"""Turns the live session's stored events into engagement signals (what the server observed).

- ``poll.answered`` -> ``AnswerResult``: correctness from the poll's answer key (an answer to a
  poll without a key counts as "not wrong"), response time from the poll's opening; the engine
  compares it with the class median of that poll. Anonymous polls feed nothing at all: nobody
  may learn who answered them, or how.
- ``question.answered`` (live, not catch-up) -> ``AnswerResult`` with the domain's correctness
  and latency.
- ``poll.closed`` / ``question.closed`` -> ``PollMissed`` for each student who was present when it
  opened, is still present, and did not answer.
- ``poll.opened`` / ``question.shown`` start an activity (input expected from everyone); the
  activity ends when the last open one closes (or the session ends).
- ``hand.raised`` / ``hand.lowered`` / ``hand.cleared`` of students -> ``HandChanged``, sent as the
  student (the live domain already checked who may raise or lower it).

All wrong answers of a lesson count as one topic (``GROUP``): prompts carry no concept tag yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.engagement.signals import (
    ActivityChanged,
    AnswerResult,
    HandChanged,
    PollMissed,
    Signal,
)
from server.domain.events import Event
from server.domain.live.answers import is_correct, value_from_data
from server.domain.live.session import LiveAggregate
from server.domain.roles import Actor, Role

GROUP = "recent questions"


@dataclass(frozen=True, slots=True)
class Fed:
    """One signal for the engine and who it comes from (None: the server itself)."""

    signal: Signal
    actor: Actor | None = None


class LiveEventFeed:
    """Per-session memory the mapping needs: open activities and raised student hands."""

    def __init__(self) -> None:
        self._activities: set[str] = set()
        self._raised: set[int] = set()

    def signals(self, event: Event, live: LiveAggregate) -> list[Fed]:
        data = event.data
        kind = event.type
        if kind == "poll.answered":
            return self._poll_answer(event, live)
        if kind == "question.answered":
            if data.get("catch_up") or data.get("latency") is None:
                return []
            correct = data.get("correct") is not False
            latency = float(data["latency"])
            qid = f"question {data['question_id']}"
            return [Fed(AnswerResult(data["user_id"], qid, GROUP, correct, latency))]
        if kind == "poll.opened":
            return [] if data.get("anonymous") else self._start(f"poll {data['poll_id']}")
        if kind == "question.shown":
            return self._start(f"question {data['question_id']}")
        if kind == "poll.closed":
            return self._poll_closed(data["poll_id"], live)
        if kind == "question.closed":
            return self._question_closed(data["question_id"], live)
        if kind == "session.ended":
            self._raised.clear()
            had = bool(self._activities)
            self._activities.clear()
            return [Fed(ActivityChanged(False))] if had else []
        if kind in ("hand.raised", "hand.lowered"):
            return self._hand(data, kind == "hand.raised", live)
        if kind == "hand.cleared":
            raised, self._raised = self._raised, set()
            return [f for uid in sorted(raised) for f in self._as_student(uid, False, live)]
        return []

    # --- activities ---

    def _start(self, key: str) -> list[Fed]:
        first = not self._activities
        self._activities.add(key)
        return [Fed(ActivityChanged(True, key))] if first else []

    def _end(self, key: str) -> list[Fed]:
        if key not in self._activities:
            return []
        self._activities.discard(key)
        return [] if self._activities else [Fed(ActivityChanged(False, key))]

    # --- answers ---

    def _poll_answer(self, event: Event, live: LiveAggregate) -> list[Fed]:
        data = event.data
        if data.get("replaced"):
            return []  # the engine marks a student's first answer to a question only
        poll = live.state.polls.polls.get(data["poll_id"])
        if poll is None or poll.anonymous:
            return []
        value = value_from_data(poll.spec.kind, data["value"])
        correct = value is None or is_correct(poll.spec, value) is not False
        response = max(0.0, event.at - poll.opened_at)
        qid = f"poll {poll.poll_id}"
        return [Fed(AnswerResult(data["user_id"], qid, GROUP, correct, response))]

    def _poll_closed(self, poll_id: int, live: LiveAggregate) -> list[Fed]:
        poll = live.state.polls.polls.get(poll_id)
        if poll is None or poll.anonymous:
            return []
        key = f"poll {poll_id}"
        out = self._missed(key, poll.opened_at, set(poll.answers), live)
        return out + self._end(key)

    def _question_closed(self, question_id: int, live: LiveAggregate) -> list[Fed]:
        question = live.state.questions.questions.get(question_id)
        key = f"question {question_id}"
        if question is None or question.shown_at is None:
            return self._end(key)
        out = self._missed(key, question.shown_at, set(question.answers), live)
        return out + self._end(key)

    @staticmethod
    def _missed(key: str, opened_at: float, answered: set[int], live: LiveAggregate) -> list[Fed]:
        presence = live.state.presence
        return [
            Fed(PollMissed(actor.user_id, key))
            for actor in live.roster
            if actor.role is Role.STUDENT
            and actor.user_id not in answered
            and presence.is_present(actor.user_id)
            and presence.was_present_at(actor.user_id, opened_at)
        ]

    # --- hands ---

    def _hand(self, data: dict[str, object], raised: bool, live: LiveAggregate) -> list[Fed]:
        user_id = data.get("user_id")
        if data.get("kind") != "user" or not isinstance(user_id, int):
            return []
        if raised:
            self._raised.add(user_id)
        elif user_id in self._raised:
            self._raised.discard(user_id)
        else:
            return []
        return self._as_student(user_id, raised, live)

    @staticmethod
    def _as_student(user_id: int, raised: bool, live: LiveAggregate) -> list[Fed]:
        actor = live.roster.get(user_id)
        if actor is None or actor.role is not Role.STUDENT:
            return []
        return [Fed(HandChanged(user_id, raised), actor)]
