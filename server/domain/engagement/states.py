"""The labels the engine gives students and sites."""

from __future__ import annotations

from enum import StrEnum

from server.domain.errors import BadInput


class StudentState(StrEnum):
    """A student's fused, behaviour-based state."""

    ENGAGED = "engaged"
    CONFUSED = "confused"
    DISENGAGED = "disengaged"
    CONNECTION_TROUBLE = "connection_trouble"
    UNKNOWN = "unknown"


class Level(StrEnum):
    """A site's colour. Only ``alert`` may notify; ``calm`` and ``watch`` are passive colours."""

    CALM = "calm"
    WATCH = "watch"
    ALERT = "alert"


LEVEL_RANK = {Level.CALM: 0, Level.WATCH: 1, Level.ALERT: 2}


class AlertKind(StrEnum):
    """What an alert is about: a student state shared by many at a site, or a help request."""

    CONFUSED = "confused"
    DISENGAGED = "disengaged"
    CONNECTION_TROUBLE = "connection_trouble"
    HELP = "help"


ALERTABLE_STATES = (
    StudentState.CONFUSED,
    StudentState.DISENGAGED,
    StudentState.CONNECTION_TROUBLE,
)

STATE_WORDS = {
    StudentState.ENGAGED: "engaged",
    StudentState.CONFUSED: "confused",
    StudentState.DISENGAGED: "disengaged",
    StudentState.CONNECTION_TROUBLE: "with connection trouble",
    StudentState.UNKNOWN: "unknown",
}


def parse_kind(value: object) -> AlertKind:
    """Accept an AlertKind or its string value; anything else is bad input."""
    if isinstance(value, AlertKind):
        return value
    if isinstance(value, str):
        try:
            return AlertKind(value)
        except ValueError:
            pass
    raise BadInput("state must be one of: " + ", ".join(k.value for k in AlertKind))
