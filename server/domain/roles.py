"""Roles and the actor who issues a command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    TEACHER = "teacher"
    FACILITATOR = "facilitator"
    STUDENT = "student"


STAFF_ROLES = frozenset({Role.ADMIN, Role.TEACHER, Role.FACILITATOR})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user with a role, and the site they take part from (None = remote/home)."""

    user_id: int
    role: Role
    site_id: int | None = None
    display_name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def leads_session(self) -> bool:
        """The teacher (or an admin standing in) runs the session."""
        return self.role in (Role.TEACHER, Role.ADMIN)
