"""Tells the realtime layer (when one is running in this app) that a session started or ended."""

from __future__ import annotations

from typing import Any, Protocol

from server.db.models import LiveSession
from server.services.principal import Principal


class StatusListener(Protocol):
    async def session_status_changed(self, live: LiveSession, who: Principal) -> None: ...


async def notify_status(app: Any, live: LiveSession, who: Principal) -> None:
    listener: StatusListener | None = getattr(app.state, "status_listener", None)
    if listener is not None:
        await listener.session_status_changed(live, who)
