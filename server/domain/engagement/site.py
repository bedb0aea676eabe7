"""A site's tally of its students' states, kept incrementally, and its judged level.

Shares use the Wilson score lower bound, so a small room needs a clearer majority than a large
one, and below ``min_students`` nothing is judged at all (2 confused of 2 is not an alert).
The denominator is every student whose state is known (all but unknown). Students with
connection trouble stay in it on purpose: when most of a room is frozen, the few still
labelled must not make "2 of 3 confused" look like a majority (conservative: fewer false
alerts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.domain.engagement.settings import EngagementSettings
from server.domain.engagement.states import (
    ALERTABLE_STATES,
    LEVEL_RANK,
    AlertKind,
    Level,
    StudentState,
)


def wilson_lower(k: int, n: int, z: float) -> float:
    """Lower bound of the Wilson score interval for k successes in n trials (0 when n == 0)."""
    if n <= 0:
        return 0.0
    p = k / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z2 / n))


@dataclass(frozen=True, slots=True)
class Judgement:
    """A site's level overall and per alertable kind, and the state that drives it."""

    level: Level
    top_state: StudentState | None
    kinds: tuple[tuple[AlertKind, Level], ...]

    def kind_level(self, kind: AlertKind) -> Level:
        return dict(self.kinds).get(kind, Level.CALM)


class SiteTally:
    """Members of each state at one site, help request, and the last judgement."""

    __slots__ = ("help_at", "help_by", "judgement", "members", "name", "site_id")

    def __init__(self, site_id: int | None, name: str) -> None:
        self.site_id = site_id
        self.name = name
        self.members: dict[StudentState, set[int]] = {state: set() for state in StudentState}
        self.help_at: float | None = None
        self.help_by: int | None = None
        self.judgement = Judgement(Level.CALM, None, ())

    def add(self, user_id: int, state: StudentState) -> None:
        self.members[state].add(user_id)

    def remove(self, user_id: int, state: StudentState) -> None:
        self.members[state].discard(user_id)

    def move(self, user_id: int, old: StudentState, new: StudentState) -> None:
        self.members[old].discard(user_id)
        self.members[new].add(user_id)

    def count(self, state: StudentState) -> int:
        return len(self.members[state])

    @property
    def total(self) -> int:
        return sum(len(m) for m in self.members.values())

    def counts(self) -> tuple[tuple[StudentState, int], ...]:
        return tuple((state, len(m)) for state, m in self.members.items())

    def share(self, state: StudentState) -> tuple[int, int]:
        """(k, n): students in ``state`` and the denominator its share is judged against."""
        m = self.members
        return len(m[state]), self.total - len(m[StudentState.UNKNOWN])

    def help_active(self, now: float, s: EngagementSettings) -> bool:
        return self.help_at is not None and now - self.help_at < s.help_expiry_s

    def judge(self, now: float, s: EngagementSettings) -> Judgement:
        """Level per alertable state (Wilson lower bound vs settings) and overall."""
        kinds: list[tuple[AlertKind, Level]] = []
        best: tuple[int, float, StudentState | None] = (0, 0.0, None)
        for state in ALERTABLE_STATES:
            k, n = self.share(state)
            level = Level.CALM
            bound = 0.0
            if k and n >= s.min_students:
                bound = wilson_lower(k, n, s.wilson_z)
                if bound >= s.alert_share:
                    level = Level.ALERT
                elif bound >= s.watch_share:
                    level = Level.WATCH
            kinds.append((AlertKind(state.value), level))
            rank = LEVEL_RANK[level]
            if rank and (rank, bound) > best[:2]:
                best = (rank, bound, state)
        help_level = Level.ALERT if self.help_active(now, s) else Level.CALM
        kinds.append((AlertKind.HELP, help_level))
        overall = max((lv for _, lv in kinds), key=LEVEL_RANK.__getitem__)
        return Judgement(overall, best[2], tuple(kinds))
