"""Fixtures for the live-session domain: a roster of two sites plus a remote student, and a
harness that records every event and, after each test, checks that replaying the JSON
round-tripped log rebuilds exactly the same state and views."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from server.domain.errors import DomainError
from server.domain.events import Audience, Event
from server.domain.live import Limits, LiveAggregate, Roster
from server.domain.live.commands import Command, Join, StartSession
from server.domain.roles import Actor, Role

T0 = 1_700_000_000.0

TEACHER = Actor(1, Role.TEACHER)
ADMIN = Actor(2, Role.ADMIN)
FAC_A = Actor(11, Role.FACILITATOR, site_id=10)
FAC_B = Actor(21, Role.FACILITATOR, site_id=20)
STU_A1 = Actor(101, Role.STUDENT, site_id=10)
STU_A2 = Actor(102, Role.STUDENT, site_id=10)
STU_B1 = Actor(201, Role.STUDENT, site_id=20)
STU_B2 = Actor(202, Role.STUDENT, site_id=20)
REMOTE_STU = Actor(301, Role.STUDENT, site_id=None)
OUTSIDER = Actor(999, Role.STUDENT, site_id=10)

EVERYBODY = (TEACHER, ADMIN, FAC_A, FAC_B, STU_A1, STU_A2, STU_B1, STU_B2, REMOTE_STU)
STUDENTS = (STU_A1, STU_A2, STU_B1, STU_B2, REMOTE_STU)


def event_to_json(event: Event) -> str:
    return json.dumps(
        {
            "type": event.type,
            "data": event.data,
            "audience": event.audience.as_dict(),
            "at": event.at,
        },
        allow_nan=False,
    )


def event_from_json(text: str) -> Event:
    raw = json.loads(text)
    return Event(raw["type"], raw["data"], Audience.from_dict(raw["audience"]), raw["at"])


class Harness:
    """A session plus its log. ``do`` runs a command; ``refuse`` asserts a typed refusal that
    changes nothing."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.roster = Roster(EVERYBODY)
        self.session = LiveAggregate(7, self.roster, limits)
        self.log: list[Event] = []
        self.limits = limits

    def do(self, actor: Actor, command: Command, now: float) -> list[Event]:
        events = self.session.handle(actor, command, now)
        self.log.extend(events)
        return events

    def refuse(
        self, actor: Actor, command: Command, now: float, error: type[DomainError]
    ) -> DomainError:
        before = copy.deepcopy(self.session.state)
        with pytest.raises(error) as caught:
            self.session.handle(actor, command, now)
        assert self.session.state == before, "a refused command changed the state"
        return caught.value

    def start(self, now: float = T0, join: tuple[Actor, ...] = EVERYBODY) -> None:
        for actor in join:
            self.do(actor, Join(), now - 60)
        self.do(TEACHER, StartSession(), now)

    def types(self, events: list[Event]) -> list[str]:
        return [e.type for e in events]

    def replayed(self) -> LiveAggregate:
        lines = [event_to_json(e) for e in self.log]
        events = [event_from_json(x) for x in lines]
        return LiveAggregate.replay(7, self.roster, events, self.limits)


def views(session: LiveAggregate, now: float) -> dict[str, Any]:
    return {
        "snapshots": {a.user_id: session.snapshot_for(a) for a in EVERYBODY},
        "attendance": session.attendance(now),
    }


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    check_replay(harness)


def check_replay(harness: Harness) -> None:
    rebuilt = harness.replayed()
    assert rebuilt.state == harness.session.state
    last = harness.log[-1].at if harness.log else T0
    assert views(rebuilt, last + 5) == views(harness.session, last + 5)


def of_type(events: list[Event], type_: str) -> Event:
    matches = [e for e in events if e.type == type_]
    assert len(matches) == 1, f"expected one {type_} in {[e.type for e in events]}"
    return matches[0]
