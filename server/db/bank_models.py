"""The question bank of a course, and the bank items attached to a lesson."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class BankItem(SQLModel, table=True):
    """A poll or embedded question prepared for a course (``server.domain.bank``): ``spec`` is
    the checked prompt with its key (``Spec.full_data``)."""

    __tablename__ = "bank_item"
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    use: str = Field(max_length=16)
    anonymous: bool = False
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class LessonItem(SQLModel, table=True):
    """A bank item attached to a lesson; embedded questions may have a lesson-clock position
    (seconds from the start)."""

    __tablename__ = "lesson_item"
    __table_args__ = (UniqueConstraint("session_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="livesession.id", index=True)
    item_id: int = Field(foreign_key="bank_item.id", index=True)
    position: float | None = None
