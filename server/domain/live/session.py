"""``LiveAggregate``: the event-sourced aggregate of one live lesson.

``handle`` checks the actor against the roster, lets the concern's ``decide`` build events
(raising a DomainError, with nothing changed, if the command is refused), applies them and
returns them. ``apply`` is the only place state changes, so ``replay`` of the returned events
(for instance after a JSON round trip through the event log) rebuilds the same state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from server.domain.errors import BadInput, NotPermitted
from server.domain.events import Event
from server.domain.live import (
    captions,
    chat,
    checks,
    hands,
    moderation,
    polls,
    presence,
    qna,
    questions,
    reactions,
    recording,
    slides,
)
from server.domain.live.answers import REMOTE, SiteFilter
from server.domain.live.commands import Command, Leave, SendReaction
from server.domain.live.context import Context, SessionStatus
from server.domain.live.event_types import EVENT_TYPES
from server.domain.live.limits import Limits
from server.domain.live.roster import Roster
from server.domain.roles import Actor, Role


@dataclass(slots=True)
class SessionState:
    """Everything ``apply`` builds; equal states mean equal sessions (used by replay tests)."""

    presence: presence.PresenceBook = field(default_factory=presence.PresenceBook)
    polls: polls.PollBook = field(default_factory=polls.PollBook)
    questions: questions.QuestionBook = field(default_factory=questions.QuestionBook)
    qna: qna.QnaBook = field(default_factory=qna.QnaBook)
    hands: hands.HandBook = field(default_factory=hands.HandBook)
    reactions: reactions.ReactionBook = field(default_factory=reactions.ReactionBook)
    checks: checks.CheckBook = field(default_factory=checks.CheckBook)
    slides: slides.SlideBook = field(default_factory=slides.SlideBook)
    chat: chat.ChatBook = field(default_factory=chat.ChatBook)
    moderation: moderation.ModerationBook = field(default_factory=moderation.ModerationBook)
    recording: recording.RecordingBook = field(default_factory=recording.RecordingBook)
    captions: captions.CaptionBook = field(default_factory=captions.CaptionBook)


HAND_QUEUE_EVENTS = frozenset({"hand.raised", "hand.lowered", "hand.cleared"})


class LiveAggregate:
    def __init__(self, session_id: int, roster: Roster, limits: Limits | None = None) -> None:
        self.session_id = session_id
        self.roster = roster
        self.limits = limits if limits is not None else Limits()
        self.state = SessionState()

    @classmethod
    def replay(
        cls, session_id: int, roster: Roster, events: Iterable[Event], limits: Limits | None = None
    ) -> LiveAggregate:
        session = cls(session_id, roster, limits)
        for event in events:
            session.apply(event)
        return session

    # --- lifecycle facts ---

    @property
    def status(self) -> SessionStatus:
        return self.state.presence.status

    @property
    def started_at(self) -> float | None:
        return self.state.presence.started_at

    @property
    def ended_at(self) -> float | None:
        return self.state.presence.ended_at

    def lesson_clock(self, now: float) -> float:
        """Seconds since the session started (0 before; frozen at the end)."""
        start = self.started_at
        if start is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else now
        return max(0.0, end - start)

    # --- commands ---

    def handle(self, actor: Actor, command: Command, now: float) -> list[Event]:
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise BadInput("now must be a finite number of seconds")
        if not isinstance(actor, Actor):
            raise NotPermitted("no actor")
        known = self.roster.verify(actor)
        if actor.display_name and not known.display_name:  # the roster holds no names
            known = replace(known, display_name=actor.display_name)
        ctx = Context(known, float(now), self.status, self.started_at, self.limits, self.roster)
        events = self._decide(ctx, command)
        for event in events:
            self.apply(event)
        if any(e.type in ("presence.joined", "presence.left") for e in events):
            events.append(presence.counts_event(ctx, self.state.presence))
        if any(e.type in HAND_QUEUE_EVENTS for e in events):
            events.append(self.state.hands.count_event(ctx))
        return events

    def _decide(self, ctx: Context, command: Command) -> list[Event]:
        s = self.state
        if isinstance(command, Leave):
            ctx.require_not_ended()
            if not s.presence.is_present(ctx.actor.user_id):
                return []
            site = s.presence.site_of(ctx.actor.user_id)
            cleanup = s.hands.on_leave(ctx, ctx.actor.user_id, site)
            return cleanup + presence.decide(ctx, s.presence, command)
        if isinstance(command, presence.PresenceCommand):
            return presence.decide(ctx, s.presence, command)
        if isinstance(command, polls.PollCommand):
            return polls.decide(ctx, s.polls, command)
        if isinstance(command, questions.QuestionCommand):
            return questions.decide(ctx, s.questions, s.presence, command)
        if isinstance(command, qna.QnaCommand):
            return qna.decide(ctx, s.qna, command)
        if isinstance(command, hands.HandCommand):
            return hands.decide(ctx, s.hands, s.presence, command)
        if isinstance(command, SendReaction):
            return reactions.decide(ctx, s.reactions, command)
        if isinstance(command, checks.CheckCommand):
            return checks.decide(ctx, s.checks, command)
        if isinstance(command, slides.SlideCommand):
            return slides.decide(ctx, s.slides, command)
        if isinstance(command, chat.ChatCommand):
            return chat.decide(ctx, s.chat, command)
        if isinstance(command, captions.CaptionCommand):
            return captions.decide(ctx, s.captions, command)
        if isinstance(command, recording.RecordingCommand):
            return recording.decide(ctx, s.recording, command)
        if isinstance(command, moderation.ModerationCommand):
            events = moderation.decide(ctx, s.moderation, command)
            if any(e.type == "moderation.removed" for e in events):
                target = moderation.target_of(ctx, command.user_id)
                events += s.hands.on_leave(ctx, target.user_id, target.site_id)
            return events
        raise BadInput(f"unknown command {type(command).__name__}")

    # --- events ---

    def apply(self, event: Event) -> None:
        if event.type not in EVENT_TYPES:
            raise BadInput(f"unknown event type {event.type!r}")
        s = self.state
        prefix = event.type.split(".", 1)[0]
        if prefix in ("session", "presence"):
            s.presence.apply(event)
            if event.type == "session.ended":
                s.polls.close_all()
                s.questions.close_all()
                s.checks.close_all()
                s.hands.clear_all()
                s.recording.stop_at_end()
        elif prefix == "poll":
            s.polls.apply(event)
        elif prefix == "question":
            s.questions.apply(event)
        elif prefix == "qna":
            s.qna.apply(event)
        elif prefix in ("hand", "stage"):
            s.hands.apply(event)
        elif prefix == "reaction":
            s.reactions.apply(event)
        elif prefix == "slides":
            s.slides.apply(event)
        elif prefix == "chat":
            s.chat.apply(event)
        elif prefix == "moderation":
            s.moderation.apply(event)
        elif prefix == "recording":
            s.recording.apply(event)
        elif prefix == "caption":
            s.captions.apply(event)
        else:
            s.checks.apply(event)

    # --- queries ---

    def known_sites(self) -> list[int | None]:
        """Sites of the roster's students (None = remote), for per-site rows with no answer."""
        sites = {a.site_id for a in self.roster if a.role == Role.STUDENT}
        return sorted(sites, key=lambda s: (s is None, s or 0))

    def snapshot_for(self, actor: Actor) -> dict[str, Any]:
        """What ``actor`` may see right now (JSON-safe)."""
        me = self.roster.verify(actor)
        s = self.state
        people = s.presence.counts()
        if me.is_staff:
            people["users"] = [
                {"user_id": u, "site_id": s.presence.site_of(u), "role": s.presence.roles[u]}
                for u in s.presence.present_users()
                if me.leads_session or s.presence.site_of(u) == me.site_id
            ]
        return {
            "session_id": self.session_id,
            "status": self.status.value,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "me": {"user_id": me.user_id, "role": me.role.value, "site_id": me.site_id},
            "presence": people,
            "polls": [
                s.polls.view_for(me, p, self.limits) for _, p in sorted(s.polls.polls.items())
            ],
            "questions": s.questions.views_for(me, self.limits),
            "qna": s.qna.views_for(me),
            "hands": s.hands.view_for(me),
            "checks": s.checks.views_for(me),
            "reactions": s.reactions.view(),
            "slides": s.slides.view(self.status),
            "chat": s.chat.view_for(me, self.limits.chat_recent),
            "recording": s.recording.view(),
            "captions": s.captions.view_for(me, self.limits.captions_recent),
            "removed": s.moderation.view_for(me, {a.user_id: a.site_id for a in self.roster}),
        }

    @property
    def recording_on(self) -> bool:
        """Whether the teacher has the lesson recorded now (the relay follows this)."""
        return self.state.recording.on

    def is_removed(self, user_id: int) -> bool:
        """Whether the teacher removed this person from the lesson (their hello is refused)."""
        return self.state.moderation.is_removed(user_id)

    def poll_results(self, poll_id: int, site_id: SiteFilter = None) -> dict[str, Any]:
        """Totals and per-site rows. ``site_id``: None = all, an int = one site,
        "remote" = students at home."""
        return self.state.polls.results(poll_id, site_id, self.known_sites(), self.limits)

    def poll_answers(self, poll_id: int, site_id: SiteFilter = None) -> list[dict[str, Any]]:
        return self.state.polls.answers(poll_id, site_id)

    def question_results(self, question_id: int, site_id: SiteFilter = None) -> dict[str, Any]:
        return self.state.questions.results(question_id, site_id, self.known_sites(), self.limits)

    def catch_up_questions(self, actor: Actor) -> list[dict[str, Any]]:
        """Shown questions by lesson-clock position, with the actor's own answer (``mine``)."""
        known = self.roster.verify(actor)
        return self.state.questions.catch_up(known.user_id)

    def slide_at(self, position: float) -> dict[str, Any] | None:
        """The page on screen at ``position`` seconds of the lesson clock (None: no slide)."""
        change = self.state.slides.at_position(position)
        return None if change is None else {"deck_id": change.deck_id, "page": change.page}

    def due_questions(self, now: float) -> list[int]:
        """Prepared questions whose planned position has come (the session ticker shows them)."""
        if self.status is not SessionStatus.LIVE:
            return []
        return self.state.questions.due(self.lesson_clock(now))

    def next_question_in(self, now: float) -> float | None:
        """Seconds until the next prepared question is due (0 or less: due now); None when
        none waits or the session is not live (the lesson clock runs only while live)."""
        position = self.state.questions.next_position()
        if position is None or self.status is not SessionStatus.LIVE:
            return None
        return position - self.lesson_clock(now)

    def check_results(self, check_id: int, site_id: SiteFilter = None) -> dict[str, Any]:
        return self.state.checks.results(check_id, site_id, self.known_sites())

    def attendance(self, now: float) -> dict[str, Any]:
        """Seconds inside the live window per student and per site."""
        return self.state.presence.attendance(now)


__all__ = ["REMOTE", "LiveAggregate", "SessionState"]
