"""Loading what a lesson report is built from (the session's event log, its course's students,
the engagement timeline) and choosing the report's scope from who asks.

Scope: an admin and the course's teacher get every row; a facilitator their site's students;
a student their own rows. Whoever may not see the session gets NotFound (``visible_session``).
"""

from __future__ import annotations

import time

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.engagement_models import EngagementTimeline
from server.db.models import CourseSite, Enrolment, LiveSession, SessionEvent, Site, User
from server.domain.errors import NotFound
from server.domain.events import Event
from server.domain.reports import (
    ALL,
    LessonReport,
    Person,
    Scope,
    TimelineRow,
    build_lesson_report,
    site_scope,
    student_scope,
)
from server.domain.roles import Role
from server.services.access import visible_session
from server.services.principal import Principal


def scope_for(who: Principal) -> Scope:
    """The rows ``who`` may see of a session they can see."""
    if who.role in (Role.ADMIN, Role.TEACHER):
        return ALL
    if who.role == Role.FACILITATOR:
        if who.home_site_id is None:  # visible_session refuses them first; be safe anyway
            raise NotFound("no site")
        return site_scope(who.home_site_id)
    return student_scope(who.user_id)


async def _events(db: AsyncSession, session_id: int) -> list[Event]:
    """The log in order (plain columns, not ORM objects: a lesson has thousands of events;
    the audience does not matter to a report)."""
    rows = await db.exec(
        select(col(SessionEvent.type), col(SessionEvent.data), col(SessionEvent.at))
        .where(col(SessionEvent.session_id) == session_id)
        .order_by(col(SessionEvent.seq))
    )
    return [Event(type_, data, at=at) for type_, data, at in rows]


async def course_people(db: AsyncSession, course_id: int) -> list[Person]:
    rows = await db.exec(
        select(Enrolment, User)
        .where(col(Enrolment.course_id) == course_id)
        .where(col(Enrolment.student_id) == col(User.id))
    )
    return [Person(u.id or 0, u.display_name, e.site_id) for e, u in rows]


async def course_sites(db: AsyncSession, course_id: int) -> dict[int, str]:
    rows = await db.exec(
        select(Site)
        .where(col(CourseSite.course_id) == course_id)
        .where(col(CourseSite.site_id) == col(Site.id))
    )
    return {s.id or 0: s.name for s in rows}


async def _timeline(db: AsyncSession, session_id: int) -> list[TimelineRow]:
    rows = await db.exec(
        select(EngagementTimeline)
        .where(col(EngagementTimeline.session_id) == session_id)
        .order_by(col(EngagementTimeline.at), col(EngagementTimeline.id))
    )
    return [
        TimelineRow(r.at, r.scope, r.site_id, r.user_id, r.value, tuple(r.reasons)) for r in rows
    ]


async def lesson_report(db: AsyncSession, who: Principal, session_id: int) -> LessonReport:
    live: LiveSession = await visible_session(db, who, session_id)
    return await build_report(
        db,
        live,
        scope_for(who),
        await course_people(db, live.course_id),
        await course_sites(db, live.course_id),
    )


async def build_report(
    db: AsyncSession,
    live: LiveSession,
    scope: Scope,
    people: list[Person],
    sites: dict[int, str],
) -> LessonReport:
    """The report of a session the caller may see, with the scope chosen for them."""
    assert live.id is not None
    return build_lesson_report(
        session_id=live.id,
        title=live.title,
        events=await _events(db, live.id),
        people=people,
        timeline=await _timeline(db, live.id),
        sites=sites,
        now=time.time(),
        scope=scope,
    )
