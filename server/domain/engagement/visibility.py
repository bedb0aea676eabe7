"""Who sees what of the engagement state (pure): the sites' pulses and the students' states.

Leaders see every site that has students (remote students as site ``None``, listed last);
a facilitator sees their own site; a student sees no pulse and only their own state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.domain.roles import Actor, Role


@dataclass(frozen=True, slots=True)
class Visible:
    sites: list[int | None]
    """Sites whose pulse (and students' presses) the actor sees, in display order."""
    students: list[int]
    """User ids of the students whose state the actor sees."""


def visible_to(actor: Actor, roster: Iterable[Actor]) -> Visible:
    students = [a for a in roster if a.role is Role.STUDENT]
    sites: list[int | None]
    if actor.leads_session:
        found = {a.site_id for a in students}
        sites = sorted(found, key=lambda s: (s is None, s or 0))
    elif actor.role is Role.FACILITATOR:
        sites = [actor.site_id]
    else:
        sites = []
    if actor.role is Role.STUDENT:
        return Visible(sites, [actor.user_id])
    return Visible(sites, [a.user_id for a in students if a.site_id in sites])
