"""A virtual classroom around a real EngagementEngine: a clock, students, scripted telemetry.

No event loop and no sleeps: ``advance`` steps the virtual clock in whole seconds, sends each
student's attention snapshot every 2 s (staggered) and server media stats every 2 s, and ticks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from server.domain.engagement import (
    Alert,
    AnswerResult,
    Attention,
    EngagementEngine,
    EngagementSettings,
    MediaStats,
    Output,
    RateLimited,
    Signal,
    SitePulse,
    StudentState,
    StudentStateChanged,
)
from server.domain.roles import Actor, Role

TEACHER = Actor(1, Role.TEACHER, None, "Teacher")


@dataclass
class Behaviour:
    """What one student's client and link look like right now (scripts mutate this)."""

    visible: bool = True
    focused: bool = True
    idle_s: float = 3.0
    telemetry: bool = True  # False: the client sends nothing (frozen link, closed laptop)
    no_media_s: float = 0.0
    loss: float = 0.0


@dataclass
class Room:
    sites: dict[int | None, str]
    per_site: dict[int | None, int]
    settings: EngagementSettings = field(default_factory=EngagementSettings)
    now: float = 0.0
    outputs: list[Output] = field(default_factory=list)
    rejected: int = 0

    def __post_init__(self) -> None:
        self.engine = EngagementEngine(self.settings, self.sites)
        self.actors: dict[int, Actor] = {}
        self.behaviour: dict[int, Behaviour] = {}
        self.site_of: dict[int, int | None] = {}
        self.facilitators: dict[int, Actor] = {}
        uid = 1000
        for site_id, n in self.per_site.items():
            if site_id is not None:
                self.facilitators[site_id] = Actor(500 + site_id, Role.FACILITATOR, site_id)
            for _ in range(n):
                uid += 1
                self.engine.register_student(uid, site_id, self.now)
                self.actors[uid] = Actor(uid, Role.STUDENT, site_id)
                self.behaviour[uid] = Behaviour()
                self.site_of[uid] = site_id

    def students_at(self, site_id: int | None) -> list[int]:
        return [uid for uid, s in self.site_of.items() if s == site_id]

    def send(self, signal: Signal, actor: Actor | None) -> list[Output]:
        out = self.engine.ingest(signal, self.now, actor)
        self.outputs.extend(out)
        return out

    def as_student(self, uid: int, signal: Signal) -> list[Output]:
        return self.send(signal, self.actors[uid])

    def answer(
        self, uid: int, question: str, group: str, correct: bool, secs: float = 10.0
    ) -> None:
        self.send(AnswerResult(uid, question, group, correct, secs), None)

    def advance(self, seconds: int, each_second: Callable[[int], None] | None = None) -> None:
        """Step the clock one second at a time, ``seconds`` times (bounded)."""
        for _ in range(seconds):
            self.now += 1.0
            second = int(self.now)
            if each_second is not None:
                each_second(second)
            for uid, b in self.behaviour.items():
                if (second + uid) % 2:
                    continue
                self.send(MediaStats(uid, b.loss, 40.0, b.no_media_s, 0, "server"), None)
                if b.telemetry:
                    try:
                        self.as_student(uid, Attention(uid, b.visible, b.focused, b.idle_s))
                    except RateLimited:
                        self.rejected += 1
            self.outputs.extend(self.engine.tick(self.now))

    # --- reading the outputs ---------------------------------------------------------------

    def alerts(self, site_id: int | None = None, kind: str | None = None) -> list[Alert]:
        return [
            o
            for o in self.outputs
            if isinstance(o, Alert)
            and (site_id is None or o.site_id == site_id)
            and (kind is None or o.state.value == kind)
        ]

    def changes(self, uid: int) -> list[StudentStateChanged]:
        return [o for o in self.outputs if isinstance(o, StudentStateChanged) and o.user_id == uid]

    def states_seen(self, uid: int) -> list[StudentState]:
        return [c.state for c in self.changes(uid)]

    def pulses(self, site_id: int | None) -> list[SitePulse]:
        return [o for o in self.outputs if isinstance(o, SitePulse) and o.site_id == site_id]
