"""The course view across lessons: every started lesson's report (cut to the caller, as for
one lesson) projected into one row per student, with the falling-behind flag.

Who: admins and the course's teacher see every student; a facilitator of a site offering the
course their site's students; an enrolled student their own row (without the flag). A join
link opens one lesson only, so it does not open the course view (403). Whoever may not see the
course gets NotFound.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import LiveSession
from server.domain.errors import NotPermitted
from server.domain.reports import BehindSettings, CourseReport, build_course_report
from server.services.access import visible_course
from server.services.principal import Principal
from server.services.reports import build_report, course_people, course_sites, scope_for


async def course_report(
    db: AsyncSession, who: Principal, course_id: int, rules: BehindSettings
) -> CourseReport:
    course = await visible_course(db, who, course_id)
    if who.session_scope is not None:
        raise NotPermitted("a join link opens one lesson, not the course view; sign in instead")
    scope = scope_for(who)
    people = await course_people(db, course_id)
    sites = await course_sites(db, course_id)
    sessions = await db.exec(
        select(LiveSession)
        .where(col(LiveSession.course_id) == course_id)
        .order_by(col(LiveSession.id))
    )
    # Every session: whether one started is read from its log (a scheduled one's is empty).
    lessons = [await build_report(db, live, scope, people, sites) for live in sessions.all()]
    return build_course_report(
        course_id=course_id,
        title=course.title,
        people=people,
        lessons=lessons,
        sites=sites,
        scope=scope,
        rules=rules,
    )
