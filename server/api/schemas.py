"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from server.api.time_zones import TimeZoneName, to_utc
from server.domain.live import SessionStatus
from server.domain.roles import Role
from server.domain.text import has_visible_text, trim_invisible
from server.services.ids import Id


def _visible(value: str) -> str:
    text = trim_invisible(value)
    if not has_visible_text(text):
        raise ValueError("has no visible characters")
    return text


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_visible),
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(In):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class JoinIn(In):
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class UserOut(Out):
    id: int
    email: str
    display_name: str
    role: Role
    home_site_id: int | None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut
    session_id: int | None = None
    session_status: SessionStatus | None = None
    session_title: str | None = None  # a join link's lesson, for the student's page


class SchoolIn(In):
    name: Name
    code: Code
    timezone: TimeZoneName = "UTC"


class SchoolUpdate(In):
    name: Name | None = None
    timezone: TimeZoneName | None = None


class SchoolOut(Out):
    id: int
    consortium_id: int
    name: str
    code: str
    timezone: str


class SiteIn(In):
    school_id: Id
    name: Name
    code: Code


class SiteOut(Out):
    id: int
    school_id: int
    name: str
    code: str


class UserIn(In):
    email: EmailStr
    display_name: Name
    role: Role
    password: Annotated[str, StringConstraints(min_length=10, max_length=256)] | None = None
    home_site_id: Id | None = None


class PasswordIn(In):
    password: Annotated[str, StringConstraints(min_length=10, max_length=256)]


class CourseIn(In):
    code: Code
    title: Name
    teacher_id: Id
    site_ids: list[Id] = Field(default_factory=list, max_length=200)


class CourseOut(Out):
    id: int
    code: str
    title: str
    teacher_id: int
    site_ids: list[int] = Field(default_factory=list)


class CourseSiteIn(In):
    site_id: Id


class EnrolmentIn(In):
    student_id: Id
    site_id: Id | None = None


class EnrolmentOut(Out):
    id: int
    course_id: int
    student_id: int
    site_id: int | None


class SessionIn(In):
    course_id: Id
    title: Name
    scheduled_at: datetime | None = None
    # The zone a ``scheduled_at`` without an offset is read in (the school's, as the page
    # shows it); a time with an offset ("...Z", "+01:00") needs none.
    timezone: TimeZoneName | None = None

    @model_validator(mode="after")
    def _scheduled_in_utc(self) -> SessionIn:
        if self.scheduled_at is not None:
            self.scheduled_at = to_utc(self.scheduled_at, self.timezone)
        return self


class SessionOut(Out):
    id: int
    course_id: int
    title: str
    status: SessionStatus
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None

    @field_validator("scheduled_at", "started_at", "ended_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC; SQLite gives them back without their zone."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class JoinLinkOut(BaseModel):
    student_id: int
    display_name: str
    site_id: int | None
    url: str
    token: str
    expires_at: datetime
    """The link works for the live lesson and catch-up until then (earlier if the lesson
    ends early: its end plus HYFLEX_CATCHUP_DAYS)."""


class RowError(BaseModel):
    line: int
    reason: str


class RosterReport(BaseModel):
    imported: bool
    rows: int
    users_created: int = 0
    users_updated: int = 0
    enrolments: int = 0
    errors: list[RowError] = Field(default_factory=list)


class NodeOut(BaseModel):
    url: str
    clustered: bool


class IceOut(BaseModel):
    """WebRTC ICE servers for one participant (``RTCPeerConnection({iceServers})``), with
    short-lived TURN credentials when TURN is configured; fetch again before ``expires_at``."""

    ice_servers: list[dict[str, Any]]
    expires_at: int
    refresh_after: int
