"""Behavioural signals the engagement engine accepts (frozen, validated on construction).

Nothing here describes a face or a voice: the only camera-derived signal is on-device *presence*
(somebody in front of the camera or not), accepted only when policy enables it.
Out-of-range or mistyped values raise ``BadInput``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from server.domain.errors import BadInput

MAX_TEXT = 64
MAX_SECONDS = 86_400.0


def check_user(value: object, name: str = "user_id") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadInput(f"{name} must be a positive integer")


def check_site(value: object) -> None:
    if value is not None:
        check_user(value, "site_id")


def check_bool(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise BadInput(f"{name} must be true or false")


def check_number(value: object, name: str, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{name} must be a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise BadInput(f"{name} must be between {low:g} and {high:g}")


def check_text(value: object, name: str) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT or not value.isprintable():
        raise BadInput(f"{name} must be 1 to {MAX_TEXT} printable characters")


@dataclass(frozen=True, slots=True)
class ConfusedPressed:
    """The student pressed "I'm confused" (active=True) or withdrew it (active=False)."""

    user_id: int
    active: bool = True

    def __post_init__(self) -> None:
        check_user(self.user_id)
        check_bool(self.active, "active")


@dataclass(frozen=True, slots=True)
class HandChanged:
    """The student's hand went up (raised=True) or down."""

    user_id: int
    raised: bool

    def __post_init__(self) -> None:
        check_user(self.user_id)
        check_bool(self.raised, "raised")


@dataclass(frozen=True, slots=True)
class SiteNeedsHelp:
    """A facilitator raised (active=True) or cleared "site needs help" for their site."""

    site_id: int
    active: bool = True

    def __post_init__(self) -> None:
        check_user(self.site_id, "site_id")
        check_bool(self.active, "active")


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """The server marked one answer of the student (correctness is computed by the server)."""

    user_id: int
    question_id: str
    group: str
    correct: bool
    response_s: float

    def __post_init__(self) -> None:
        check_user(self.user_id)
        check_text(self.question_id, "question_id")
        check_text(self.group, "group")
        check_bool(self.correct, "correct")
        check_number(self.response_s, "response_s", 0.0, MAX_SECONDS)


@dataclass(frozen=True, slots=True)
class PollMissed:
    """A poll or question closed without an answer from the student."""

    user_id: int
    question_id: str

    def __post_init__(self) -> None:
        check_user(self.user_id)
        check_text(self.question_id, "question_id")


@dataclass(frozen=True, slots=True)
class ActivityChanged:
    """The teacher started (active=True) or ended an activity that expects input from everyone."""

    active: bool
    name: str = "activity"

    def __post_init__(self) -> None:
        check_bool(self.active, "active")
        check_text(self.name, "name")


@dataclass(frozen=True, slots=True)
class Attention:
    """Compact attention telemetry from the student's client (Page Visibility, focus, idle)."""

    user_id: int
    visible: bool
    focused: bool
    idle_s: float = 0.0

    def __post_init__(self) -> None:
        check_user(self.user_id)
        check_bool(self.visible, "visible")
        check_bool(self.focused, "focused")
        check_number(self.idle_s, "idle_s", 0.0, MAX_SECONDS)


MediaSource = Literal["server", "client"]


@dataclass(frozen=True, slots=True)
class MediaStats:
    """Media statistics of the student's link, from the server (RTCP) or the client (getStats)."""

    user_id: int
    loss_fraction: float = 0.0
    rtt_ms: float = 0.0
    no_media_s: float = 0.0
    freezes: int = 0
    source: MediaSource = "client"

    def __post_init__(self) -> None:
        check_user(self.user_id)
        check_number(self.loss_fraction, "loss_fraction", 0.0, 1.0)
        check_number(self.rtt_ms, "rtt_ms", 0.0, 600_000.0)
        check_number(self.no_media_s, "no_media_s", 0.0, MAX_SECONDS)
        if isinstance(self.freezes, bool) or not isinstance(self.freezes, int):
            raise BadInput("freezes must be an integer")
        check_number(self.freezes, "freezes", 0, 100_000)
        if self.source not in ("server", "client"):
            raise BadInput("source must be 'server' or 'client'")


@dataclass(frozen=True, slots=True)
class FacePresence:
    """On-device presence only: somebody is in front of the camera or not. Never emotion."""

    user_id: int
    present: bool

    def __post_init__(self) -> None:
        check_user(self.user_id)
        check_bool(self.present, "present")


Signal = (
    ConfusedPressed
    | HandChanged
    | SiteNeedsHelp
    | AnswerResult
    | PollMissed
    | ActivityChanged
    | Attention
    | MediaStats
    | FacePresence
)

TELEMETRY = (Attention, MediaStats, FacePresence)
EXPLICIT = (ConfusedPressed, HandChanged, SiteNeedsHelp)
