"""A session's captions as WebVTT: the ``caption.added`` events of its log (for whoever may see
the session; ``visible_session`` refuses everyone else with NotFound)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import SessionEvent
from server.domain.events import Event
from server.exports.captions_vtt import cues_from, to_webvtt
from server.services.access import visible_session
from server.services.principal import Principal


async def captions_vtt(db: AsyncSession, who: Principal, session_id: int) -> str:
    await visible_session(db, who, session_id)
    rows = await db.exec(
        select(col(SessionEvent.data), col(SessionEvent.at))
        .where(col(SessionEvent.session_id) == session_id)
        .where(col(SessionEvent.type) == "caption.added")
        .order_by(col(SessionEvent.seq))
    )
    return to_webvtt(cues_from(Event("caption.added", data, at=at) for data, at in rows))
