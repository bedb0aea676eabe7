"""The engagement timeline: state changes of students and sites, alerts, acknowledgements and
snoozes of a live session, for reports (see docs/privacy.md). Purged after the retention."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class EngagementTimeline(SQLModel, table=True):
    """One ``TimelineEntry`` of the engagement engine, stored on the wall and lesson clocks.

    ``scope`` is "student" (``user_id`` set), "press" (a student's own "I'm confused", ``value``
    "pressed" or what cleared it), "site" or "alert"; ``site_id`` None means the
    remote students. ``at`` is seconds since the epoch, ``lesson_s`` seconds since the session
    started. No foreign keys on ``site_id``/``user_id``: rows are purged by age, and a
    person's rows can be deleted on request without touching the roster.
    """

    __tablename__ = "engagement_timeline"
    __table_args__ = (Index("ix_engagement_timeline_session_at", "session_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="livesession.id")
    at: float = Field(index=True)
    lesson_s: float
    scope: str = Field(max_length=16)
    site_id: int | None = None
    user_id: int | None = Field(default=None, index=True)
    value: str = Field(max_length=64)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
