"""How far each lesson's xAPI statements have been sent to the Learning Record Store."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class XapiCursor(SQLModel, table=True):
    """Statements come from the log in ``seq`` order; those from events up to ``sent_seq`` are
    stored by the LRS. Moved only after the LRS accepted a batch (a resend after a crash carries
    the same statement ids, which the LRS keeps once)."""

    __tablename__ = "xapi_cursor"
    session_id: int = Field(foreign_key="livesession.id", primary_key=True)
    sent_seq: int = 0
    sent: int = 0
    """Statements accepted so far."""
    updated_at: float = 0.0
    last_error: str | None = Field(default=None, max_length=300)
