"""A lesson's life (scheduled -> live -> ended) has one source of truth: its event log.

Starting and ending go through the session's single writer (the live runtime, on its owner
node in a cluster) as the domain commands ``StartSession`` / ``EndSession``, stamped with the
time they were given. The ``livesession`` row's ``status``, ``started_at`` and ``ended_at`` are
a projection of the stored ``session.started`` / ``session.ended`` events (``project_status``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from server.db.models import LiveSession
from server.domain.live import SessionStatus
from server.domain.live.commands import EndSession, StartSession
from server.services.principal import Principal

LifecycleCommand = StartSession | EndSession


class LifecycleWriter(Protocol):
    async def run_lifecycle(
        self, session_id: int, who: Principal, command: LifecycleCommand, at: float
    ) -> None:
        """Give ``command`` to the session's writer as given by ``who`` at ``at``; raises the
        domain's refusal (e.g. InvalidState when the session is already live)."""


async def change_status(
    app: Any, session_id: int, who: Principal, command: LifecycleCommand, at: float
) -> None:
    writer: LifecycleWriter = app.state.lifecycle
    await writer.run_lifecycle(session_id, who, command, at)
    xapi = getattr(app.state, "xapi", None)
    if isinstance(command, EndSession) and xapi is not None:
        xapi.kick(session_id)  # the lesson's xAPI statements (docs/xapi.md)


def project_status(row: LiveSession, status: SessionStatus, at: float) -> bool:
    """Bring ``row`` up to ``status`` reached at ``at`` (seconds since the epoch); False when
    the row already shows it (a lesson's life never goes back)."""
    if status.rank <= row.status.rank:
        return False
    stamp = datetime.fromtimestamp(at, UTC)
    row.status = status
    if status is SessionStatus.LIVE:
        row.started_at = stamp
    elif status is SessionStatus.ENDED:
        row.ended_at = stamp
    return True
