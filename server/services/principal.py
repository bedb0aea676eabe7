"""Who is calling: the authenticated user behind a request or a websocket."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: Role
    home_site_id: int | None
    display_name: str
    # A student who came in through a join link is limited to that one session.
    session_scope: int | None = None
