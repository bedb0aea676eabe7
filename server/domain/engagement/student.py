"""One student's fusion: smoothed scores, hysteresis per label, minimum dwell, and the state.

Each label (confused, disengaged, connection trouble) has a raw score computed from the facts
and a smoothed score that follows it exponentially on the passed-in clock (time constant
``smoothing_s``); the raw score is held between evaluations. A label is entered when its
smoothed score stays at or above ``enter_threshold`` for ``enter_after_s`` and left when it
stays at or below ``leave_threshold`` for ``leave_after_s``. The state is the most important
active label (connection trouble > unknown > confused > disengaged > engaged) and changes at
most once per ``min_dwell_s`` (leaving ``unknown`` is exempt). Connection trouble also
suppresses disengaged evidence, and ``connection_grace_s`` after it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.domain.engagement.evidence import Facts
from server.domain.engagement.reasons import Reason
from server.domain.engagement.settings import EngagementSettings
from server.domain.engagement.states import STATE_WORDS, StudentState


class Label:
    """A smoothed score with hysteresis. ``since`` times the pending enter or leave."""

    __slots__ = ("on", "raw", "score", "since")

    def __init__(self) -> None:
        self.on = False
        self.raw = 0.0
        self.score = 0.0
        self.since: float | None = None

    def step(
        self, now: float, s: EngagementSettings, enter_after: float, leave_after: float
    ) -> bool:
        """Apply hysteresis at ``now``; return True when ``on`` flipped."""
        if not self.on:
            if self.score >= s.enter_threshold:
                if self.since is None:
                    self.since = now
                if now - self.since >= enter_after:
                    self.on, self.since = True, None
                    return True
            else:
                self.since = None
        elif self.score <= s.leave_threshold:
            if self.since is None:
                self.since = now
            if now - self.since >= leave_after:
                self.on, self.since = False, None
                return True
        else:
            self.since = None
        return False


class StudentTracker:
    """Facts, labels and state of one registered student."""

    __slots__ = (
        "confused",
        "connection",
        "connection_left_at",
        "disengaged",
        "evaluated_at",
        "facts",
        "last_signal_at",
        "reasons",
        "site_id",
        "state",
        "state_since",
        "user_id",
    )

    def __init__(self, user_id: int, site_id: int | None, now: float) -> None:
        self.user_id = user_id
        self.site_id = site_id
        self.facts = Facts()
        self.confused = Label()
        self.disengaged = Label()
        self.connection = Label()
        self.connection_left_at: float | None = None
        self.last_signal_at: float | None = None
        self.evaluated_at = now
        self.state = StudentState.UNKNOWN
        self.state_since = now
        self.reasons: tuple[Reason, ...] = ()

    def advance(self, now: float, s: EngagementSettings) -> None:
        """Let the smoothed scores follow the held raw scores up to ``now``."""
        dt = now - self.evaluated_at
        if dt <= 0.0:
            return
        self.evaluated_at = now
        k = math.exp(-dt / s.smoothing_s)
        c = self.confused
        c.score = c.raw + (c.score - c.raw) * k
        d = self.disengaged
        d.score = d.raw + (d.score - d.raw) * k
        n = self.connection
        n.score = n.raw + (n.score - n.raw) * math.exp(-dt / s.connection_smoothing_s)

    def suppressed(self, now: float, s: EngagementSettings) -> bool:
        """Connection trouble (now, or within the grace period) hides disengaged evidence."""
        if self.connection.on or self.connection.raw > 0.0:
            return True
        left = self.connection_left_at
        return left is not None and now - left < s.connection_grace_s

    def evaluate(
        self, now: float, s: EngagementSettings, activity_since: float | None
    ) -> StudentState | None:
        """Advance, refresh raw scores, apply hysteresis and dwell; return a new state or None."""
        self.advance(now, s)
        facts = self.facts
        conn = self.connection
        conn.raw = facts.connection_raw(now, s)
        flipped = conn.step(now, s, s.connection_enter_after_s, s.connection_leave_after_s)
        if flipped and not conn.on:
            self.connection_left_at = now
        self.confused.raw = facts.confused_raw(now, s)
        self.confused.step(now, s, s.enter_after_s, s.leave_after_s)
        dis = self.disengaged
        dis.raw = 0.0 if self.suppressed(now, s) else facts.disengaged_raw(now, s, activity_since)
        dis.step(now, s, s.enter_after_s, s.leave_after_s)

        target = self._target(now, s)
        current = self.state
        if target is current:
            return None
        if current is not StudentState.UNKNOWN and now - self.state_since < s.min_dwell_s:
            return None
        self.reasons = self.explain(target, current, now, s, activity_since)
        self.state = target
        self.state_since = now
        return target

    def _target(self, now: float, s: EngagementSettings) -> StudentState:
        if self.connection.on:
            return StudentState.CONNECTION_TROUBLE
        last = self.last_signal_at
        if last is None or now - last >= s.unknown_after_s:
            return StudentState.UNKNOWN
        if self.confused.on:
            return StudentState.CONFUSED
        if self.disengaged.on:
            return StudentState.DISENGAGED
        return StudentState.ENGAGED

    def explain(
        self,
        state: StudentState,
        previous: StudentState,
        now: float,
        s: EngagementSettings,
        activity_since: float | None,
    ) -> tuple[Reason, ...]:
        """Why the student is in ``state``, in plain words."""
        facts = self.facts
        if state is StudentState.CONNECTION_TROUBLE:
            found = facts.explain_connection(now, s)
        elif state is StudentState.CONFUSED:
            found = facts.explain_confused(now, s)
        elif state is StudentState.DISENGAGED:
            found = facts.explain_disengaged(now, s, activity_since)
        elif state is StudentState.UNKNOWN:
            last = self.last_signal_at
            text = "no signal yet" if last is None else f"no signal for {now - last:.0f} s"
            found = [Reason("no_signals", text)]
        elif previous is StudentState.UNKNOWN:
            found = [Reason("signals_back", "sending signals")]
        else:
            found = [Reason("cleared", f"no longer {STATE_WORDS[previous]}")]
        if not found:
            found = [Reason("cleared", f"{STATE_WORDS[state]} signals faded")]
        return tuple(found)


@dataclass(frozen=True, slots=True)
class StudentSnapshot:
    """A read-only view of one student's fusion, for queries and tests."""

    user_id: int
    site_id: int | None
    state: StudentState
    since: float
    reasons: tuple[Reason, ...]
    confused_score: float
    disengaged_score: float
    connection_score: float
