"""Tables: consortium -> schools -> sites; users; courses offered at sites; enrolments;
live sessions and their event log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from server.domain.live.context import SessionStatus
from server.domain.roles import Role


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), **kw))


def _enum(enum_cls: type[StrEnum], default: Any = None) -> Any:
    """A string column that loads as the enum (no database-side enum type to migrate)."""
    column: Column[Any] = Column(
        SAEnum(
            enum_cls,
            native_enum=False,
            create_constraint=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        nullable=False,
    )
    if default is None:
        return Field(sa_column=column)
    return Field(default=default, sa_column=column)


class Consortium(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)


class School(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("consortium_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    consortium_id: int = Field(foreign_key="consortium.id", index=True)
    name: str = Field(max_length=200)
    code: str = Field(max_length=64, unique=True)
    # IANA name (e.g. "Europe/London"): lesson times are shown in it. A school is in one
    # place, so its sites (rooms) share it; sites in other time zones belong to other schools.
    timezone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    # The OneRoster org (type school) it was imported from (docs/roster.md).
    sourced_id: str | None = Field(default=None, max_length=128, unique=True)


class Site(SQLModel, table=True):
    """A room at a school, with its camera, microphone and facilitators."""

    __table_args__ = (UniqueConstraint("school_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    name: str = Field(max_length=200)
    code: str = Field(max_length=64, unique=True)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=200)
    role: Role = _enum(Role)
    password_hash: str | None = Field(default=None, max_length=255)
    home_site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    sourced_id: str | None = Field(default=None, max_length=128, unique=True)
    is_active: bool = True
    # Carried in every token issued to the user; a password change raises it, so every
    # earlier token stops working (server.services.principal.load_principal).
    token_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Course(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    teacher_id: int = Field(foreign_key="user.id", index=True)
    # The OneRoster class it was imported from (docs/roster.md).
    sourced_id: str | None = Field(default=None, max_length=128, unique=True)


class CourseSite(SQLModel, table=True):
    """A course offered at a site."""

    course_id: int = Field(foreign_key="course.id", primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True)


class Enrolment(SQLModel, table=True):
    """A student in a course, attending from a site or (site_id None) remotely."""

    __table_args__ = (UniqueConstraint("course_id", "student_id"),)
    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    student_id: int = Field(foreign_key="user.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    # The OneRoster enrollment it was imported from (docs/roster.md).
    sourced_id: str | None = Field(default=None, max_length=128, unique=True)


class LiveSession(SQLModel, table=True):
    """A lesson. ``status``, ``started_at`` and ``ended_at`` are a projection of the session's
    event log (``session.started`` / ``session.ended``), written by its single writer."""

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    title: str = Field(max_length=200)
    status: SessionStatus = _enum(SessionStatus, SessionStatus.SCHEDULED)
    scheduled_at: datetime | None = _ts(nullable=True)
    started_at: datetime | None = _ts(nullable=True)
    ended_at: datetime | None = _ts(nullable=True)


class SessionEvent(SQLModel, table=True):
    """The per-session event log: gap-free ``seq`` from 1, used for resume, rebuild and reports."""

    __tablename__ = "session_event"
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        UniqueConstraint("session_id", "actor_id", "client_msg_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="livesession.id", index=True)
    seq: int
    type: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: float
    actor_id: int | None = None
    client_msg_id: str | None = Field(default=None, max_length=64)
    # The fingerprint of the command (type and canonical data) this row is the first event
    # of: a message id reused for another command is a conflict, also after a restart.
    command_hash: str | None = Field(default=None, max_length=64)


from server.db.bank_models import BankItem as BankItem  # noqa: E402
from server.db.bank_models import LessonItem as LessonItem  # noqa: E402
from server.db.engagement_models import EngagementTimeline as EngagementTimeline  # noqa: E402
from server.db.lti_models import LtiContext as LtiContext  # noqa: E402
from server.db.lti_models import LtiDeployment as LtiDeployment  # noqa: E402
from server.db.lti_models import LtiGrade as LtiGrade  # noqa: E402
from server.db.lti_models import LtiNonce as LtiNonce  # noqa: E402
from server.db.lti_models import LtiPlatform as LtiPlatform  # noqa: E402
from server.db.lti_models import LtiResourceLink as LtiResourceLink  # noqa: E402
from server.db.lti_models import LtiToolKey as LtiToolKey  # noqa: E402
from server.db.lti_models import LtiUserLink as LtiUserLink  # noqa: E402
from server.db.slide_models import SlideDeck as SlideDeck  # noqa: E402
from server.db.xapi_models import XapiCursor as XapiCursor  # noqa: E402
