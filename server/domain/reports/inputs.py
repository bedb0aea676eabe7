"""What a lesson report is built from, as plain data: the people of the course, the engagement
timeline's rows, and who the report is for (its scope)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from server.domain.errors import BadInput

ScopeKind = Literal["all", "site", "student"]


@dataclass(frozen=True, slots=True)
class Person:
    """A student of the course (their enrolment's site; None = at home)."""

    user_id: int
    name: str
    site_id: int | None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One stored engagement timeline entry (see ``server.db.engagement_models``)."""

    at: float
    scope: str
    site_id: int | None
    user_id: int | None
    value: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose rows a report holds: everyone, one site's students, or one student."""

    kind: ScopeKind = "all"
    site_id: int | None = None
    user_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind == "site" and self.site_id is None:
            raise BadInput("a site scope needs a site")
        if self.kind == "student" and self.user_id is None:
            raise BadInput("a student scope needs a student")

    def keeps(self, user_id: int, site_id: int | None) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "site":
            return site_id == self.site_id
        return user_id == self.user_id

    def keeps_site(self, site_id: int | None) -> bool:
        """Site-level rows (alerts): everyone's for ``all``, one site's, none for a student."""
        if self.kind == "all":
            return True
        return self.kind == "site" and site_id == self.site_id

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "site_id": self.site_id, "user_id": self.user_id}


ALL = Scope()


def site_scope(site_id: int) -> Scope:
    return Scope("site", site_id=site_id)


def student_scope(user_id: int) -> Scope:
    return Scope("student", user_id=user_id)
