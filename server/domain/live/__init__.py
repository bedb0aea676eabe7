"""The live-session domain: an event-sourced aggregate with one module per concern.

Commands live in ``server.domain.live.commands``.
Use ``LiveAggregate(session_id, roster).handle(actor, command, now)``; see ``session.py``.
"""

from server.domain.live.answers import REMOTE, Kind
from server.domain.live.commands import Answer, Command, PromptSpec
from server.domain.live.context import STATUS_AFTER, SessionStatus
from server.domain.live.event_types import DERIVED_EVENT_TYPES, EVENT_TYPES
from server.domain.live.limits import Limits
from server.domain.live.roster import Roster
from server.domain.live.session import LiveAggregate, SessionState

__all__ = [
    "DERIVED_EVENT_TYPES",
    "EVENT_TYPES",
    "REMOTE",
    "STATUS_AFTER",
    "Answer",
    "Command",
    "Kind",
    "Limits",
    "LiveAggregate",
    "PromptSpec",
    "Roster",
    "SessionState",
    "SessionStatus",
]
