"""Every threshold of the engagement engine, in one frozen dataclass with documented defaults.

Times are seconds on the clock passed in; scores and shares are in [0, 1]. The server's pydantic
settings map onto this class field by field (same names), so a deployment can tune any of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from server.domain.errors import BadInput


@dataclass(frozen=True, slots=True)
class EngagementSettings:
    """Thresholds and weights for behaviour-based engagement fusion (never emotion inference)."""

    # --- explicit signals -------------------------------------------------------------------
    confused_expiry_s: float = 300.0
    """An "I'm confused" press counts for this long, unless the teacher acknowledges it first."""
    help_expiry_s: float = 600.0
    """A facilitator's "site needs help" stays raised this long unless acknowledged or cleared."""
    confused_weight: float = 1.0
    """Confused evidence while the student's "I'm confused" press is active."""
    hand_raised_weight: float = 0.25
    """Confused evidence while the student's hand is raised (a pending question; weak alone)."""

    # --- interaction (answers and polls) ------------------------------------------------------
    wrong_window_s: float = 240.0
    """Wrong answers on the same question group (concept) count together within this window."""
    wrong_answer_weight: float = 0.35
    """Confused evidence per wrong answer on one group in the window (2 wrong = 0.7 >= enter)."""
    slow_factor: float = 2.0
    """A wrong answer slower than this multiple of the class median is "slow and wrong"."""
    slow_min_samples: int = 5
    """The class median of a question is used only once this many answers have arrived."""
    slow_wrong_weight: float = 0.2
    """Extra confused evidence per slow-and-wrong answer in the wrong-answer window."""
    missed_poll_weight: float = 0.35
    """Disengaged evidence per poll missed in a row (2 in a row = 0.7 >= enter)."""
    no_input_s: float = 120.0
    """During an activity, this long without any input (answer, hand, keys) counts as no input."""
    no_input_weight: float = 0.7
    """Disengaged evidence while the student has given no input during an activity."""

    # --- attention telemetry -------------------------------------------------------------------
    hidden_weight: float = 0.7
    """Disengaged evidence while the lesson tab is hidden (smoothing absorbs short flicks)."""
    blurred_weight: float = 0.45
    """Disengaged evidence while the lesson window is visible but not focused (+ idle > enter)."""
    idle_s: float = 60.0
    """Reported idle time (no keyboard/mouse/touch) at or above this counts as idle."""
    idle_weight: float = 0.2
    """Disengaged evidence while idle (alone it stays below the leave threshold: watching is ok)."""
    attention_stale_s: float = 20.0
    """Attention telemetry older than this is ignored (the client went quiet: no evidence)."""
    face_presence_enabled: bool = False
    """Policy switch: accept on-device face *presence* (present/absent only). Off by default."""
    face_absent_weight: float = 0.5
    """Disengaged evidence while the on-device detector reports nobody in front of the camera."""
    telemetry_rate_per_s: float = 1.0
    """Sustained attention/client-media telemetry rate allowed per student (token bucket)."""
    telemetry_burst: int = 10
    """Telemetry burst allowed per student before the rate limit rejects signals."""
    explicit_rate_per_s: float = 0.5
    """Sustained explicit-signal rate (confused, hand, help) allowed per user."""
    explicit_burst: int = 6
    """Explicit-signal burst allowed per user."""

    # --- connection ----------------------------------------------------------------------------
    loss_fraction: float = 0.15
    """Packet loss at or above this fraction is connection trouble."""
    rtt_ms: float = 1000.0
    """Round-trip time at or above this (milliseconds) is connection trouble."""
    no_media_s: float = 4.0
    """This many seconds without media is connection trouble (a frozen link)."""
    freezes: int = 3
    """This many video freezes in one stats report is connection trouble."""
    media_stale_s: float = 30.0
    """A media-stats report older than this no longer counts (neither good nor bad)."""
    connection_grace_s: float = 30.0
    """After connection trouble ends, disengaged evidence stays suppressed this long."""

    # --- fusion (per student) ------------------------------------------------------------------
    smoothing_s: float = 6.0
    """Time constant of the exponential smoothing of confused/disengaged scores."""
    connection_smoothing_s: float = 2.0
    """Time constant of the exponential smoothing of the connection-trouble score."""
    enter_threshold: float = 0.6
    """A smoothed score at or above this, sustained, enters the label."""
    leave_threshold: float = 0.3
    """A smoothed score at or below this, sustained, leaves the label (hysteresis gap)."""
    enter_after_s: float = 8.0
    """How long a score must stay high before its label is entered."""
    leave_after_s: float = 20.0
    """How long a score must stay low before its label is left."""
    connection_enter_after_s: float = 2.0
    """How long the connection score must stay high before connection trouble is entered."""
    connection_leave_after_s: float = 10.0
    """How long the connection score must stay low before connection trouble is left."""
    min_dwell_s: float = 20.0
    """A student's state lasts at least this long before it may change again (unknown exempt)."""
    unknown_after_s: float = 60.0
    """A student with no signal of any kind for this long is unknown."""
    tick_resolution_s: float = 1.0
    """tick() re-evaluates a student not evaluated within this long (time-driven changes)."""

    # --- site pulse and alerts -----------------------------------------------------------------
    min_students: int = 3
    """A site share is judged only with at least this many students in the denominator."""
    wilson_z: float = 1.645
    """z of the Wilson lower bound used for shares (1.645 = one-sided 95 %)."""
    watch_share: float = 0.05
    """Wilson lower bound of a state's share at or above this: passive "watch" colour."""
    alert_share: float = 0.12
    """Wilson lower bound at or above this: "alert" level (3 of 9, 4 of 10, 7 of 30)."""
    alert_window_s: float = 300.0
    """At most one alert per site per state within this window."""
    max_alerts_per_minute: int = 6
    """Cap on alerts across all sites in any 60 seconds; extra alerts wait, they are not lost."""
    max_snooze_minutes: float = 120.0
    """Longest snooze accepted."""
    max_reasons: int = 4
    """Most reasons quoted in one alert or pulse text."""
    timeline_retention_days: float = 180.0
    """Stored timeline entries older than this are purged (see purge_cutoff)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise BadInput(f"engagement setting {f.name} must be a finite number >= 0")
        if not 0.0 < self.leave_threshold < self.enter_threshold <= 1.0:
            raise BadInput("engagement settings need 0 < leave_threshold < enter_threshold <= 1")
        if not 0.0 < self.watch_share <= self.alert_share <= 1.0:
            raise BadInput("engagement settings need 0 < watch_share <= alert_share <= 1")
        positive = ("smoothing_s", "connection_smoothing_s", "tick_resolution_s", "wilson_z")
        for name in positive:
            if getattr(self, name) <= 0:
                raise BadInput(f"engagement setting {name} must be > 0")
        if self.min_students < 1 or self.max_alerts_per_minute < 1 or self.telemetry_burst < 1:
            raise BadInput("min_students, max_alerts_per_minute and telemetry_burst must be >= 1")
        if self.explicit_burst < 1 or self.max_reasons < 1:
            raise BadInput("explicit_burst and max_reasons must be >= 1")

    def purge_cutoff(self, now: float) -> float:
        """Timeline entries with ``at`` before this time are due for deletion."""
        return now - self.timeline_retention_days * 86400.0
