"""Quiet yes/no checks ("Can everyone hear me?"): each student answers privately (a later
answer replaces the earlier one); staff see yes/no counts per site through ``check.tally``
(to that site's facilitators and the leaders; remote students' tally to the leaders)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import BadInput, Conflict, InvalidState, NotFound
from server.domain.events import EVERYONE, Event, to_user
from server.domain.live.answers import SiteFilter, site_matches
from server.domain.live.commands import AnswerCheck, CloseCheck, OpenCheck
from server.domain.live.context import Context, check_id, site_order, tally_audience
from server.domain.roles import Actor
from server.domain.text import visible_text

CheckCommand = OpenCheck | AnswerCheck | CloseCheck

OPEN, CLOSED = "open", "closed"


@dataclass(slots=True)
class Check:
    check_id: int
    prompt: str
    opened_at: float
    status: str = OPEN
    answers: dict[int, tuple[int | None, bool]] = field(default_factory=dict)


def _counts(answers: Iterable[bool]) -> dict[str, int]:
    values = list(answers)
    return {"yes": sum(values), "no": len(values) - sum(values)}


@dataclass(slots=True)
class CheckBook:
    checks: dict[int, Check] = field(default_factory=dict)

    def get(self, check_id_: object) -> Check:
        check = self.checks.get(check_id(check_id_, "check_id"))
        if check is None:
            raise NotFound(f"no check {check_id_}")
        return check

    def results(
        self, check_id_: int, site_id: SiteFilter, known_sites: Iterable[int | None]
    ) -> dict[str, Any]:
        check = self.get(check_id_)
        kept = [(s, yes) for s, yes in check.answers.values() if site_matches(s, site_id)]
        grouped: dict[int | None, list[bool]] = {}
        for site, yes in kept:
            grouped.setdefault(site, []).append(yes)
        for site in known_sites:
            if site_matches(site, site_id):
                grouped.setdefault(site, [])
        return {
            "check_id": check.check_id,
            "prompt": check.prompt,
            "status": check.status,
            "total": _counts(yes for _, yes in kept),
            "sites": [{"site_id": s, **_counts(v)} for s, v in site_order(grouped)],
        }

    def views_for(self, actor: Actor) -> list[dict[str, Any]]:
        views = []
        for check in sorted(self.checks.values(), key=lambda c: c.check_id):
            view: dict[str, Any] = {
                "check_id": check.check_id,
                "prompt": check.prompt,
                "status": check.status,
                "opened_at": check.opened_at,
            }
            mine = check.answers.get(actor.user_id)
            view["mine"] = None if mine is None else mine[1]
            if actor.is_staff:
                site = None if actor.leads_session else actor.site_id
                view["results"] = self.results(check.check_id, site, ())
            views.append(view)
        return views

    def apply(self, event: Event) -> None:
        data = event.data
        if event.type == "check.opened":
            self.checks[data["check_id"]] = Check(data["check_id"], data["prompt"], event.at)
        elif event.type == "check.answered":
            check = self.checks[data["check_id"]]
            check.answers[data["user_id"]] = (data["site_id"], data["yes"])
        elif event.type == "check.closed":
            self.checks[data["check_id"]].status = CLOSED

    def close_all(self) -> None:
        for check in self.checks.values():
            check.status = CLOSED


def decide(ctx: Context, book: CheckBook, command: CheckCommand) -> list[Event]:
    ctx.require_live()
    actor = ctx.actor
    if isinstance(command, OpenCheck):
        ctx.require_leader("open a yes/no check")
        if len(book.checks) >= ctx.limits.max_checks:
            raise Conflict(f"this session already has {ctx.limits.max_checks} checks")
        prompt = visible_text(command.prompt, ctx.limits.max_prompt_length, "the prompt")
        cid = max(book.checks, default=0) + 1
        return [
            ctx.event(
                "check.opened", {"check_id": cid, "prompt": prompt, "by": actor.user_id}, EVERYONE
            )
        ]
    if isinstance(command, CloseCheck):
        ctx.require_leader("close a yes/no check")
    else:
        ctx.require_student("answer a yes/no check")
    check = book.get(command.check_id)
    if check.status != OPEN:
        raise InvalidState("the check is closed")
    if isinstance(command, CloseCheck):
        return [
            ctx.event("check.closed", {"check_id": check.check_id, "by": actor.user_id}, EVERYONE)
        ]
    if not isinstance(command.yes, bool):
        raise BadInput("yes must be true or false")
    previous = check.answers.get(actor.user_id)
    if previous == (actor.site_id, command.yes):
        return []
    data = {
        "check_id": check.check_id,
        "user_id": actor.user_id,
        "site_id": actor.site_id,
        "yes": command.yes,
        "replaced": previous is not None,
    }
    after = dict(check.answers)
    after[actor.user_id] = (actor.site_id, command.yes)
    tally = {
        "check_id": check.check_id,
        "site_id": actor.site_id,
        **_counts(yes for s, yes in after.values() if s == actor.site_id),
    }
    return [
        ctx.event("check.answered", data, to_user(actor.user_id)),
        ctx.event("check.tally", tally, tally_audience(actor.site_id)),
    ]
