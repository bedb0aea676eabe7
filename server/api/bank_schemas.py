"""Request and response bodies of the question bank and the join-link sheets."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from server.api.schemas import RowError


class BankItemIn(BaseModel):
    """A poll or embedded question. ``spec`` has the websocket protocol's shape: ``kind``
    (single, multiple, numeric, text), ``prompt``, ``options``, ``correct`` (``{"choices":
    [0]}``, ``{"number": 4}`` or ``{"text": "..."}``), ``min_value``, ``max_value``,
    ``tolerance``, ``max_length``; it is checked by the live session's own rules."""

    use: Literal["poll", "question"]
    anonymous: bool = False
    spec: dict[str, Any]


class BankItemOut(BaseModel):
    id: int
    course_id: int
    use: str
    anonymous: bool
    spec: dict[str, Any]
    lessons: list[int] = Field(default_factory=list)
    """The lessons the item is attached to."""


class BankImportReport(BaseModel):
    imported: bool
    rows: int
    added: int = 0
    unchanged: int = 0
    """Items already in the bank (the same use, prompt, options and key) are not added twice."""
    errors: list[RowError] = Field(default_factory=list)


class AttachIn(BaseModel):
    position: float | None = None
    """Seconds from the lesson's start at which an embedded question is due; none: by hand."""


class LessonItemOut(BaseModel):
    item_id: int
    position: float | None
    use: str
    anonymous: bool
    spec: dict[str, Any]


class SheetStudent(BaseModel):
    student_id: int
    display_name: str
    url: str
    qr_svg: str
    """The link as a QR code: an ``image/svg+xml`` data URI for an ``<img>``."""


class SheetSite(BaseModel):
    site_id: int | None
    site_name: str
    students: list[SheetStudent]


class JoinSheetOut(BaseModel):
    session_id: int
    title: str
    course_title: str
    scheduled_at: datetime | None
    expires_at: datetime
    catch_up_days: int
    sites: list[SheetSite]
