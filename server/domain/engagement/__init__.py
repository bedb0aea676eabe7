"""Behaviour-based engagement fusion (never emotion inference): pure, synchronous, clock passed in.

Use ``EngagementEngine``: register students, ``ingest`` signals, ``tick`` on a timer (and at
``next_expiry()``), and fan out the typed outputs (see ``outputs``). An explicit press is an
``ExplicitChanged`` at the same ``now``; inferred states and site alerts are smoothed. All
thresholds live in ``EngagementSettings``.
"""

from server.domain.engagement.engine import EngagementEngine
from server.domain.engagement.outputs import (
    Alert,
    AlertHandled,
    ExplicitChanged,
    Output,
    SitePulse,
    StudentStateChanged,
    TimelineEntry,
)
from server.domain.engagement.ratelimit import RateLimited
from server.domain.engagement.reasons import Reason
from server.domain.engagement.settings import EngagementSettings
from server.domain.engagement.signals import (
    ActivityChanged,
    AnswerResult,
    Attention,
    ConfusedPressed,
    FacePresence,
    HandChanged,
    MediaStats,
    PollMissed,
    Signal,
    SiteNeedsHelp,
)
from server.domain.engagement.states import AlertKind, Level, StudentState
from server.domain.engagement.student import StudentSnapshot

__all__ = [
    "ActivityChanged",
    "Alert",
    "AlertHandled",
    "AlertKind",
    "AnswerResult",
    "Attention",
    "ConfusedPressed",
    "EngagementEngine",
    "EngagementSettings",
    "ExplicitChanged",
    "FacePresence",
    "HandChanged",
    "Level",
    "MediaStats",
    "Output",
    "PollMissed",
    "RateLimited",
    "Reason",
    "Signal",
    "SiteNeedsHelp",
    "SitePulse",
    "StudentSnapshot",
    "StudentState",
    "StudentStateChanged",
    "TimelineEntry",
]
