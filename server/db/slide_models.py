"""Slide decks uploaded to a lesson: one row per PDF, its pages rendered to images on disk
(``server/services/slides.py``)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class SlideDeck(SQLModel, table=True):
    """``status``: "rendering" (``rendered`` of ``pages`` done), "ready", or "failed" with a
    reason in words (``error``)."""

    __tablename__ = "slide_deck"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="livesession.id", index=True)
    title: str = Field(max_length=200)
    pages: int
    rendered: int = 0
    status: str = Field(default="rendering", max_length=16)
    error: str | None = Field(default=None, max_length=300)
    bytes: int = 0
    created_at: float = 0.0
    created_by: int | None = None
