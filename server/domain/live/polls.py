"""Live polls: open -> closed -> revealed; one answer per student (a later one replaces it).

Privacy: ``poll.answered`` goes to the answering student only. Staff follow the poll through
``poll.tally`` (counts for one site, to that site's facilitators and the leaders; remote
students' tally to the leaders), and read who answered what through ``PollBook.answers``
(refused for anonymous polls). The answer key travels in ``poll.key``, to the leaders only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound, NotPermitted
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
from server.domain.live.commands import AnswerPoll, ClosePoll, OpenPoll, RevealPoll
from server.domain.live.context import Context, check_id, tally_audience
from server.domain.live.limits import Limits
from server.domain.roles import Actor, Role

PollCommand = OpenPoll | AnswerPoll | ClosePoll | RevealPoll

OPEN, CLOSED, REVEALED = "open", "closed", "revealed"


@dataclass(slots=True)
class PollAnswer:
    site_id: int | None
    value: Value
    at: float


@dataclass(slots=True)
class Poll:
    poll_id: int
    spec: Spec
    anonymous: bool
    opened_at: float
    status: str = OPEN
    answers: dict[int, PollAnswer] = field(default_factory=dict)

    def entries(self) -> list[tuple[int | None, Value]]:
        return [(a.site_id, a.value) for a in self.answers.values()]


@dataclass(slots=True)
class PollBook:
    polls: dict[int, Poll] = field(default_factory=dict)

    def get(self, poll_id: object) -> Poll:
        poll = self.polls.get(check_id(poll_id, "poll_id"))
        if poll is None:
            raise NotFound(f"no poll {poll_id}")
        return poll

    # --- queries ---

    def results(
        self, poll_id: int, site_id: SiteFilter, known_sites: Iterable[int | None], limits: Limits
    ) -> dict[str, Any]:
        poll = self.get(poll_id)
        return {
            "poll_id": poll.poll_id,
            "kind": poll.spec.kind.value,
            "status": poll.status,
            "anonymous": poll.anonymous,
            "options": list(poll.spec.options),
            "correct": value_to_data(poll.spec.correct),
            **results_by_site(poll.spec, poll.entries(), site_id, known_sites, limits),
        }

    def answers(self, poll_id: int, site_id: SiteFilter = None) -> list[dict[str, Any]]:
        """Who answered what (NotPermitted for an anonymous poll)."""
        poll = self.get(poll_id)
        if poll.anonymous:
            raise NotPermitted("the poll is anonymous")
        return [
            {
                "user_id": user_id,
                "site_id": a.site_id,
                "value": value_to_data(a.value),
                "correct": is_correct(poll.spec, a.value),
                "at": a.at,
            }
            for user_id, a in sorted(poll.answers.items())
            if site_matches(a.site_id, site_id)
        ]

    def view_for(self, actor: Actor, poll: Poll, limits: Limits) -> dict[str, Any]:
        """One poll as ``actor`` may see it in a snapshot."""
        view: dict[str, Any] = {
            "poll_id": poll.poll_id,
            "status": poll.status,
            "anonymous": poll.anonymous,
            "opened_at": poll.opened_at,
            **poll.spec.public_data(),
        }
        mine = poll.answers.get(actor.user_id)
        view["mine"] = None if mine is None else value_to_data(mine.value)
        if actor.leads_session:
            view["correct"] = value_to_data(poll.spec.correct)
            view["results"] = results_by_site(poll.spec, poll.entries(), None, (), limits)
        elif actor.role == Role.FACILITATOR:
            view["results"] = results_by_site(poll.spec, poll.entries(), actor.site_id, (), limits)
        elif poll.status == REVEALED:
            view["correct"] = value_to_data(poll.spec.correct)
            values = [v for _, v in poll.entries()]
            view["results"] = {"total": summarize(poll.spec, values, limits)}
        return view

    # --- apply ---

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "poll.opened":
            spec = Spec.from_data(data["spec"])
            self.polls[data["poll_id"]] = Poll(data["poll_id"], spec, data["anonymous"], event.at)
            return
        if event.type in ("poll.tally", "poll.total"):
            return  # derived notification, no state
        poll = self.polls[data["poll_id"]]
        if event.type == "poll.key":
            correct = value_from_data(poll.spec.kind, data["correct"])
            poll.spec = dataclasses.replace(poll.spec, correct=correct)
        elif event.type == "poll.answered":
            value = value_from_data(poll.spec.kind, data["value"])
            assert value is not None
            poll.answers[data["user_id"]] = PollAnswer(data["site_id"], value, event.at)
        elif event.type == "poll.closed":
            poll.status = CLOSED
        elif event.type == "poll.revealed":
            poll.status = REVEALED

    def close_all(self) -> None:
        for poll in self.polls.values():
            if poll.status == OPEN:
                poll.status = CLOSED


def decide(ctx: Context, book: PollBook, command: PollCommand) -> list[Event]:
    if isinstance(command, OpenPoll):
        return _open(ctx, book, command)
    if isinstance(command, AnswerPoll):
        return _answer(ctx, book, command)
    ctx.require_leader("close or reveal polls")
    ctx.require_live()
    poll = book.get(command.poll_id)
    by = ctx.actor.user_id
    if isinstance(command, ClosePoll):
        if poll.status != OPEN:
            raise InvalidState("the poll is not open")
        return [ctx.event("poll.closed", {"poll_id": poll.poll_id, "by": by}, EVERYONE)]
    if poll.status != CLOSED:
        raise InvalidState(
            "close the poll before revealing it"
            if poll.status == OPEN
            else "the poll is already revealed"
        )
    data = {
        "poll_id": poll.poll_id,
        "by": by,
        "correct": value_to_data(poll.spec.correct),
        "results": summarize(poll.spec, [v for _, v in poll.entries()], ctx.limits),
    }
    return [ctx.event("poll.revealed", data, EVERYONE)]


def _open(ctx: Context, book: PollBook, command: OpenPoll) -> list[Event]:
    ctx.require_leader("open polls")
    ctx.require_live()
    if not isinstance(command.anonymous, bool):
        raise BadInput("anonymous must be true or false")
    if len(book.polls) >= ctx.limits.max_polls:
        raise Conflict(f"this session already has {ctx.limits.max_polls} polls")
    spec = build_spec(command.spec, ctx.limits)
    poll_id = max(book.polls, default=0) + 1
    data = {
        "poll_id": poll_id,
        "anonymous": command.anonymous,
        "spec": spec.public_data(),
        "by": ctx.actor.user_id,
    }
    events = [ctx.event("poll.opened", data, EVERYONE)]
    if spec.correct is not None:
        key = {"poll_id": poll_id, "correct": value_to_data(spec.correct)}
        events.append(ctx.event("poll.key", key, LEADERS))
    return events


def _answer(ctx: Context, book: PollBook, command: AnswerPoll) -> list[Event]:
    actor = ctx.actor
    ctx.require_student("answer polls")
    ctx.require_live()
    poll = book.get(command.poll_id)
    if poll.status != OPEN:
        raise InvalidState("the poll is closed")
    value = normalize_answer(poll.spec, command.answer, ctx.limits)
    previous = poll.answers.get(actor.user_id)
    if previous is not None and previous.value == value and previous.site_id == actor.site_id:
        return []  # the same answer again (a retry): nothing new
    data = {
        "poll_id": poll.poll_id,
        "user_id": actor.user_id,
        "site_id": actor.site_id,
        "value": value_to_data(value),
        "replaced": previous is not None,
    }
    events = [ctx.event("poll.answered", data, to_user(actor.user_id))]
    after = dict(poll.answers)
    after[actor.user_id] = PollAnswer(actor.site_id, value, ctx.now)
    sites = {actor.site_id} | ({previous.site_id} if previous is not None else set())
    for site_id in sorted(sites, key=lambda s: (s is None, s or 0)):
        values = [a.value for a in after.values() if a.site_id == site_id]
        tally = {
            "poll_id": poll.poll_id,
            "site_id": site_id,
            **summarize(poll.spec, values, ctx.limits),
        }
        events.append(ctx.event("poll.tally", tally, tally_audience(site_id)))
    if not adds_up(poll.spec):
        values = [a.value for a in after.values()]
        total = {"poll_id": poll.poll_id, **summarize(poll.spec, values, ctx.limits)}
        events.append(ctx.event("poll.total", total, LEADERS))
    return events
