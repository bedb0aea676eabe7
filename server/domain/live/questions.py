"""Embedded questions: prepared for a lesson-clock position (or launched live), shown, closed,
answered once per student, and answered later in catch-up.

- ``question.prepared`` (with the key) goes to the leaders only; ``question.shown`` carries
  the public prompt to everyone and the lesson-clock time it appeared.
- An answer is live while the question is open. Otherwise it is a catch-up answer
  (``catch_up=True``): after the session, or during it by a student who was not connected
  when the question was shown. One answer per student: the same answer again is a no-op,
  a different one a Conflict (the student learns their correctness at once).
- ``question.answered`` (with correctness) goes to that student only; staff get per-site
  ``question.tally`` counts and read per-student rows through ``QuestionBook.answers``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound
from server.domain.events import EVERYONE, LEADERS, Event, to_user
from server.domain.live.answers import (
    SiteFilter,
    Spec,
    Value,
    adds_up,
    build_spec,
    is_correct,
    normalize_answer,
    results_by_site,
    site_matches,
    summarize,
    value_from_data,
    value_to_data,
)
from server.domain.live.commands import (
    AnswerQuestion,
    CloseQuestion,
    LaunchQuestion,
    PrepareQuestion,
    ShowQuestion,
)
from server.domain.live.context import Context, SessionStatus, check_id, tally_audience
from server.domain.live.limits import Limits
from server.domain.live.presence import PresenceBook
from server.domain.roles import Actor

QuestionCommand = PrepareQuestion | LaunchQuestion | ShowQuestion | CloseQuestion | AnswerQuestion

PREPARED, OPEN, CLOSED = "prepared", "open", "closed"


@dataclass(slots=True)
class QuestionAnswer:
    site_id: int | None
    value: Value
    correct: bool | None
    catch_up: bool
    at: float
    latency: float | None
    """Seconds from showing to answering (live answers only)."""


@dataclass(slots=True)
class Question:
    question_id: int
    spec: Spec
    position: float
    status: str = PREPARED
    shown_clock: float | None = None
    shown_at: float | None = None
    answers: dict[int, QuestionAnswer] = field(default_factory=dict)

    def entries(self) -> list[tuple[int | None, Value]]:
        return [(a.site_id, a.value) for a in self.answers.values()]


@dataclass(slots=True)
class QuestionBook:
    questions: dict[int, Question] = field(default_factory=dict)

    def get(self, question_id: object, *, shown_only: bool = False) -> Question:
        question = self.questions.get(check_id(question_id, "question_id"))
        if question is None or (shown_only and question.status == PREPARED):
            raise NotFound(f"no question {question_id}")
        return question

    # --- queries ---

    def due(self, clock: float) -> list[int]:
        """Prepared questions whose position has come, by position."""
        ready = [q for q in self.questions.values() if q.status == PREPARED and q.position <= clock]
        return [q.question_id for q in sorted(ready, key=lambda q: (q.position, q.question_id))]

    def next_position(self) -> float | None:
        """The earliest position of a prepared question (None when none waits)."""
        waiting = [q.position for q in self.questions.values() if q.status == PREPARED]
        return min(waiting) if waiting else None

    def catch_up(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Questions that were shown, ordered by when they appeared on the lesson clock, for a
        catch-up player; with ``user_id``, that student's own answer under ``mine``."""
        shown = [q for q in self.questions.values() if q.shown_clock is not None]
        shown.sort(key=lambda q: (q.shown_clock or 0.0, q.question_id))
        return [self.public_view(q, user_id) for q in shown]

    def public_view(self, question: Question, user_id: int | None) -> dict[str, Any]:
        view: dict[str, Any] = {
            "question_id": question.question_id,
            "status": question.status,
            "position": question.shown_clock,
            "planned_position": question.position,
            "shown_at": question.shown_at,
            **question.spec.public_data(),
        }
        if user_id is not None:
            mine = question.answers.get(user_id)
            view["mine"] = (
                None
                if mine is None
                else {
                    "value": value_to_data(mine.value),
                    "correct": mine.correct,
                    "catch_up": mine.catch_up,
                }
            )
        return view

    def leader_view(self, question: Question, limits: Limits, site: SiteFilter) -> dict[str, Any]:
        view = self.public_view(question, None)
        view["correct"] = value_to_data(question.spec.correct)
        view["results"] = results_by_site(question.spec, question.entries(), site, (), limits)
        return view

    def results(
        self,
        question_id: int,
        site_id: SiteFilter,
        known_sites: Iterable[int | None],
        limits: Limits,
    ) -> dict[str, Any]:
        question = self.get(question_id)
        kept = [a for a in question.answers.values() if site_matches(a.site_id, site_id)]
        return {
            "question_id": question.question_id,
            "kind": question.spec.kind.value,
            "status": question.status,
            "options": list(question.spec.options),
            "correct": value_to_data(question.spec.correct),
            "live_answered": sum(1 for a in kept if not a.catch_up),
            "catch_up_answered": sum(1 for a in kept if a.catch_up),
            **results_by_site(question.spec, question.entries(), site_id, known_sites, limits),
        }

    def answers(self, question_id: int, site_id: SiteFilter = None) -> list[dict[str, Any]]:
        """Per-student rows: value, correctness, live or catch-up, latency."""
        question = self.get(question_id)
        return [
            {
                "user_id": user_id,
                "site_id": a.site_id,
                "value": value_to_data(a.value),
                "correct": a.correct,
                "catch_up": a.catch_up,
                "latency": a.latency,
                "at": a.at,
            }
            for user_id, a in sorted(question.answers.items())
            if site_matches(a.site_id, site_id)
        ]

    def views_for(self, actor: Actor, limits: Limits) -> list[dict[str, Any]]:
        ordered = sorted(self.questions.values(), key=lambda q: (q.position, q.question_id))
        if actor.leads_session:
            return [self.leader_view(q, limits, None) for q in ordered]
        shown = [q for q in ordered if q.status != PREPARED]
        if actor.is_staff:
            return [self.leader_view(q, limits, actor.site_id) | {"correct": None} for q in shown]
        return [self.public_view(q, actor.user_id) for q in shown]

    # --- apply ---

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "question.prepared":
            spec = Spec.from_data(data["spec"])
            qid = data["question_id"]
            self.questions[qid] = Question(qid, spec, data["position"])
            return
        if event.type in ("question.tally", "question.total"):
            return  # derived notification, no state
        question = self.questions[data["question_id"]]
        if event.type == "question.shown":
            question.status = OPEN
            question.shown_clock = data["clock"]
            question.shown_at = event.at
        elif event.type == "question.closed":
            question.status = CLOSED
        elif event.type == "question.answered":
            value = value_from_data(question.spec.kind, data["value"])
            assert value is not None
            question.answers[data["user_id"]] = QuestionAnswer(
                data["site_id"],
                value,
                data["correct"],
                data["catch_up"],
                event.at,
                data["latency"],
            )

    def close_all(self) -> None:
        for question in self.questions.values():
            if question.status == OPEN:
                question.status = CLOSED


def decide(
    ctx: Context, book: QuestionBook, presence: PresenceBook, command: QuestionCommand
) -> list[Event]:
    if isinstance(command, AnswerQuestion):
        return _answer(ctx, book, presence, command)
    ctx.require_leader("manage embedded questions")
    if isinstance(command, PrepareQuestion | LaunchQuestion):
        if isinstance(command, PrepareQuestion):
            ctx.require_not_ended()
            position = _position(command.position, ctx)
        else:
            ctx.require_live()
            position = ctx.clock
        if len(book.questions) >= ctx.limits.max_questions:
            raise Conflict(f"this session already has {ctx.limits.max_questions} questions")
        spec = build_spec(command.spec, ctx.limits)
        qid = max(book.questions, default=0) + 1
        data = {
            "question_id": qid,
            "position": position,
            "spec": spec.full_data(),
            "by": ctx.actor.user_id,
        }
        events = [ctx.event("question.prepared", data, LEADERS)]
        if isinstance(command, LaunchQuestion):
            events.append(_shown(ctx, qid, spec))
        return events
    ctx.require_live()
    question = book.get(command.question_id)
    if isinstance(command, ShowQuestion):
        if question.status != PREPARED:
            raise InvalidState("the question was already shown")
        return [_shown(ctx, question.question_id, question.spec)]
    if question.status != OPEN:
        raise InvalidState("the question is not open")
    data = {"question_id": question.question_id, "by": ctx.actor.user_id}
    return [ctx.event("question.closed", data, EVERYONE)]


def _position(raw: object, ctx: Context) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise BadInput("position must be a number of seconds")
    position = float(raw)
    if not 0.0 <= position <= ctx.limits.max_position_seconds:  # also rejects NaN
        raise BadInput("position is outside the lesson")
    return position


def _shown(ctx: Context, question_id: int, spec: Spec) -> Event:
    data = {"question_id": question_id, "clock": ctx.clock, "spec": spec.public_data()}
    return ctx.event("question.shown", data, EVERYONE)


def _answer(
    ctx: Context, book: QuestionBook, presence: PresenceBook, command: AnswerQuestion
) -> list[Event]:
    actor = ctx.actor
    ctx.require_student("answer questions")
    question = book.get(command.question_id, shown_only=True)
    live = ctx.status == SessionStatus.LIVE and question.status == OPEN
    if not live and ctx.status != SessionStatus.ENDED:
        shown_at = question.shown_at if question.shown_at is not None else ctx.now
        if presence.was_present_at(actor.user_id, shown_at):
            raise InvalidState("the question is closed")
    value = normalize_answer(question.spec, command.answer, ctx.limits)
    previous = question.answers.get(actor.user_id)
    if previous is not None:
        if previous.value == value:
            return []
        raise Conflict("you already answered this question")
    correct = is_correct(question.spec, value)
    latency = None
    if live and question.shown_at is not None:
        latency = max(0.0, ctx.now - question.shown_at)
    data = {
        "question_id": question.question_id,
        "user_id": actor.user_id,
        "site_id": actor.site_id,
        "value": value_to_data(value),
        "correct": correct,
        "catch_up": not live,
        "latency": latency,
    }
    values = [a.value for a in question.answers.values() if a.site_id == actor.site_id]
    values.append(value)
    tally = {
        "question_id": question.question_id,
        "site_id": actor.site_id,
        **summarize(question.spec, values, ctx.limits),
    }
    events = [
        ctx.event("question.answered", data, to_user(actor.user_id)),
        ctx.event("question.tally", tally, tally_audience(actor.site_id)),
    ]
    if not adds_up(question.spec):
        everyone = [a.value for a in question.answers.values()] + [value]
        total = {
            "question_id": question.question_id,
            **summarize(question.spec, everyone, ctx.limits),
        }
        events.append(ctx.event("question.total", total, LEADERS))
    return events
