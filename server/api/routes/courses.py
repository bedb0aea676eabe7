"""Courses, the sites they are offered at, and enrolments."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.deps import DB, Caller
from server.api.schemas import CourseIn, CourseOut, CourseSiteIn, EnrolmentIn, EnrolmentOut
from server.db.models import Course, CourseSite, Enrolment, Site, User
from server.domain.errors import BadInput, Conflict, NotFound, NotPermitted
from server.domain.roles import Role
from server.services.access import (
    course_filter,
    require_course_owner,
    require_role,
    visible_course,
)
from server.services.ids import PathId

router = APIRouter(prefix="/api/courses", tags=["courses"])


async def _site_ids(db: AsyncSession, course_id: int) -> list[int]:
    rows = await db.exec(select(CourseSite.site_id).where(col(CourseSite.course_id) == course_id))
    return sorted(rows)


async def _out(db: AsyncSession, course: Course) -> CourseOut:
    assert course.id is not None
    out = CourseOut.model_validate(course)
    out.site_ids = await _site_ids(db, course.id)
    return out


async def _require_site(db: AsyncSession, site_id: int) -> None:
    if await db.get(Site, site_id) is None:
        raise NotFound(f"site {site_id} not found")


@router.get("", response_model=list[CourseOut])
async def list_courses(who: Caller, db: DB) -> list[CourseOut]:
    courses = list(await db.exec(select(Course).where(course_filter(who)).order_by(col(Course.id))))
    offered: dict[int, list[int]] = {}
    rows = await db.exec(
        select(CourseSite).where(col(CourseSite.course_id).in_([c.id for c in courses]))
    )
    for row in rows:  # one query for every course's sites, not one per course
        offered.setdefault(row.course_id, []).append(row.site_id)
    return [
        CourseOut.model_validate(c).model_copy(
            update={"site_ids": sorted(offered.get(c.id or 0, []))}
        )
        for c in courses
    ]


@router.post("", response_model=CourseOut, status_code=status.HTTP_201_CREATED)
async def create_course(body: CourseIn, who: Caller, db: DB) -> CourseOut:
    require_role(who, {Role.ADMIN, Role.TEACHER}, "create courses")
    if who.role == Role.TEACHER and body.teacher_id != who.user_id:
        raise NotPermitted("a teacher may create courses only for themselves")
    teacher = await db.get(User, body.teacher_id)
    if teacher is None or teacher.role != Role.TEACHER:
        raise BadInput(f"user {body.teacher_id} is not a teacher")
    if (await db.exec(select(Course).where(col(Course.code) == body.code))).first():
        raise Conflict(f"a course coded {body.code!r} exists")
    for site_id in set(body.site_ids):
        await _require_site(db, site_id)
    course = Course(code=body.code, title=body.title, teacher_id=body.teacher_id)
    db.add(course)
    await db.flush()
    assert course.id is not None
    for site_id in sorted(set(body.site_ids)):
        db.add(CourseSite(course_id=course.id, site_id=site_id))
    await db.commit()
    return await _out(db, course)


@router.get("/{course_id}", response_model=CourseOut)
async def get_course(course_id: PathId, who: Caller, db: DB) -> CourseOut:
    return await _out(db, await visible_course(db, who, course_id))


@router.post("/{course_id}/sites", response_model=CourseOut)
async def offer_at_site(course_id: PathId, body: CourseSiteIn, who: Caller, db: DB) -> CourseOut:
    course = await visible_course(db, who, course_id)
    require_course_owner(who, course, "offer the course at a site")
    await _require_site(db, body.site_id)
    if await db.get(CourseSite, (course_id, body.site_id)) is None:
        db.add(CourseSite(course_id=course_id, site_id=body.site_id))
        await db.commit()
    return await _out(db, course)


@router.get("/{course_id}/enrolments", response_model=list[EnrolmentOut])
async def list_enrolments(course_id: PathId, who: Caller, db: DB) -> list[Enrolment]:
    require_role(who, {Role.ADMIN, Role.TEACHER, Role.FACILITATOR}, "list enrolments")
    await visible_course(db, who, course_id)
    query = select(Enrolment).where(col(Enrolment.course_id) == course_id)
    if who.role == Role.FACILITATOR:
        query = query.where(col(Enrolment.site_id) == who.home_site_id)
    return list(await db.exec(query.order_by(col(Enrolment.id))))


@router.post(
    "/{course_id}/enrolments", response_model=EnrolmentOut, status_code=status.HTTP_201_CREATED
)
async def enrol(course_id: PathId, body: EnrolmentIn, who: Caller, db: DB) -> Enrolment:
    course = await visible_course(db, who, course_id)
    require_course_owner(who, course, "enrol students")
    student = await db.get(User, body.student_id)
    if student is None or student.role != Role.STUDENT:
        raise BadInput(f"user {body.student_id} is not a student")
    if body.site_id is not None and body.site_id not in await _site_ids(db, course_id):
        raise BadInput(f"the course is not offered at site {body.site_id}")
    existing = (
        await db.exec(
            select(Enrolment).where(
                col(Enrolment.course_id) == course_id,
                col(Enrolment.student_id) == body.student_id,
            )
        )
    ).first()
    if existing is not None:
        raise Conflict(f"student {body.student_id} is already enrolled")
    enrolment = Enrolment(course_id=course_id, student_id=body.student_id, site_id=body.site_id)
    db.add(enrolment)
    await db.commit()
    return enrolment
