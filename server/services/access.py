"""Scope rules: which schools, sites, users, courses and sessions a principal may see or change.

Convention: a role that may never take an action gets NotPermitted (403); a resource outside
the caller's scope is NotFound (404), so its existence is not disclosed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import Course, CourseSite, Enrolment, LiveSession, User
from server.domain.errors import NotFound, NotPermitted
from server.domain.roles import Role
from server.services.principal import Principal


def require_role(who: Principal, roles: Iterable[Role], action: str) -> None:
    if who.role not in set(roles):
        raise NotPermitted(f"a {who.role.value} may not {action}")


def course_filter(who: Principal) -> ColumnElement[bool]:
    """SQL condition on Course for the courses ``who`` may see."""
    if who.role == Role.ADMIN:
        return true()
    if who.role == Role.TEACHER:
        return col(Course.teacher_id) == who.user_id
    if who.role == Role.FACILITATOR:
        if who.home_site_id is None:
            return false()
        return exists().where(
            col(CourseSite.course_id) == col(Course.id),
            col(CourseSite.site_id) == who.home_site_id,
        )
    cond = exists().where(
        col(Enrolment.course_id) == col(Course.id), col(Enrolment.student_id) == who.user_id
    )
    if who.session_scope is not None:
        scoped = exists().where(
            col(LiveSession.course_id) == col(Course.id), col(LiveSession.id) == who.session_scope
        )
        return cond & scoped
    return cond


def session_filter(who: Principal) -> ColumnElement[bool]:
    cond = exists().where(col(Course.id) == col(LiveSession.course_id), course_filter(who))
    if who.session_scope is not None:
        return cond & (col(LiveSession.id) == who.session_scope)
    return cond


async def visible_course(db: AsyncSession, who: Principal, course_id: int) -> Course:
    course = (
        await db.exec(select(Course).where(col(Course.id) == course_id, course_filter(who)))
    ).first()
    if course is None:
        raise NotFound(f"course {course_id} not found")
    return course


async def visible_session(db: AsyncSession, who: Principal, session_id: int) -> LiveSession:
    live = (
        await db.exec(
            select(LiveSession).where(col(LiveSession.id) == session_id, session_filter(who))
        )
    ).first()
    if live is None:
        raise NotFound(f"session {session_id} not found")
    return live


def require_course_owner(who: Principal, course: Course, action: str) -> None:
    """Admins and the course's own teacher may change a course and its sessions."""
    if who.role == Role.ADMIN:
        return
    if who.role == Role.TEACHER and course.teacher_id == who.user_id:
        return
    raise NotPermitted(f"only the course's teacher or an admin may {action}")


def user_filter(who: Principal) -> ColumnElement[bool]:
    """Admins see everyone; a teacher their courses' students, the facilitators of the sites
    their courses are offered at (named in the live lesson's views) and themselves; a
    facilitator the people of their site; a student only themselves."""
    me = col(User.id) == who.user_id
    if who.role == Role.ADMIN:
        return true()
    if who.role == Role.TEACHER:
        taught = exists().where(
            col(Enrolment.student_id) == col(User.id),
            col(Enrolment.course_id) == col(Course.id),
            col(Course.teacher_id) == who.user_id,
        )
        colleague = and_(
            col(User.role) == Role.FACILITATOR,
            exists().where(
                col(CourseSite.site_id) == col(User.home_site_id),
                col(CourseSite.course_id) == col(Course.id),
                col(Course.teacher_id) == who.user_id,
            ),
        )
        return or_(me, taught, colleague)
    if who.role == Role.FACILITATOR and who.home_site_id is not None:
        at_site = exists().where(
            col(Enrolment.student_id) == col(User.id), col(Enrolment.site_id) == who.home_site_id
        )
        return or_(me, col(User.home_site_id) == who.home_site_id, at_site)
    return me
